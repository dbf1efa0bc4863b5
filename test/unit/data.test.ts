import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import type { DataConfig } from '../../src/core/config/schema';
import { createRng, deriveSeed, permutation, shuffleInPlace } from '../../src/core/random';
import { CACHE_LAYOUT, describeDataSource, encodeIdxUbyte, loadDataset, parseIdxHeader, readIdxFile, readIdxFileHeader, splitSizes, type Dataset } from '../../src/trainer/data';
import { makeBars } from '../fixtures/data/make-fixtures';

const FIXTURES = path.join(__dirname, '..', 'fixtures', 'data');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-data-test-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

let fileNo = 0;
function tmpFile(name: string, content: string | Uint8Array): string {
  const dir = path.join(tmp, `f${fileNo++}`);
  fs.mkdirSync(dir);
  const p = path.join(dir, name);
  fs.writeFileSync(p, content);
  return p;
}

const opts = (seed = 42, cacheDir = path.join(tmp, 'cache')) => ({ configDir: FIXTURES, seed, cacheDir });

type Variant<K> = Extract<DataConfig, { dataset: K }>;

const idxConfig = (over: Partial<Variant<'idx'>> = {}): Variant<'idx'> => ({
  dataset: 'idx',
  trainImages: 'bars-train-images-idx3-ubyte.gz',
  trainLabels: 'bars-train-labels-idx1-ubyte.gz',
  testImages: 'bars-test-images-idx3-ubyte',
  testLabels: 'bars-test-labels-idx1-ubyte',
  validationSize: 0,
  normalize: 'unit',
  ...over,
});

const csvConfig = (over: Partial<Variant<'csv'>> = {}): Variant<'csv'> => ({
  dataset: 'csv',
  trainFile: 'bars-train.csv',
  testFile: 'bars-test.csv',
  labelColumn: 0,
  header: true,
  validationSize: 0,
  normalize: 'unit',
  ...over,
});

const mnistConfig = (over: Partial<Variant<'mnist'>> = {}): Variant<'mnist'> => ({
  dataset: 'mnist',
  validationSize: 0,
  normalize: 'unit',
  testFraction: 0.2,
  ...over,
});

function range(s: { x: Float32Array }): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of s.x) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

function histogram(labels: ArrayLike<number>, k: number): number[] {
  const h = new Array<number>(k).fill(0);
  for (let i = 0; i < labels.length; i++) h[labels[i]]++;
  return h;
}

// ---- random -------------------------------------------------------------------------------------

test('createRng: same seed same stream, different seeds differ, values in [0, 1)', () => {
  const a = createRng(7);
  const b = createRng(7);
  const c = createRng(8);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(xs, Array.from({ length: 1000 }, () => b()));
  assert.notDeepEqual(xs.slice(0, 10), Array.from({ length: 10 }, () => c()));
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
  assert.notEqual(deriveSeed(42, 'data/train'), deriveSeed(42, 'data/test'));
  assert.notEqual(deriveSeed(42, 'data/train'), deriveSeed(43, 'data/train'));
  assert.equal(deriveSeed(42, 'x'), deriveSeed(42, 'x'));
});

test('shuffleInPlace permutes arrays and typed arrays deterministically', () => {
  const arr = Array.from({ length: 50 }, (_, i) => i);
  shuffleInPlace(arr, createRng(1));
  assert.notDeepEqual(arr, Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual([...arr].sort((x, y) => x - y), Array.from({ length: 50 }, (_, i) => i));
  assert.deepEqual(Array.from(permutation(50, createRng(1))), arr);
});

// ---- IDX ----------------------------------------------------------------------------------------

test('IDX: parses the header of images and labels', () => {
  const h = parseIdxHeader(encodeIdxUbyte([2, 3, 4], new Uint8Array(24)));
  assert.deepEqual([h.dtype, h.dims, h.headerBytes, h.dataBytes], ['ubyte', [2, 3, 4], 16, 24]);
  // the real MNIST magic numbers
  assert.deepEqual(parseIdxHeader(Buffer.from([0, 0, 8, 3, 0, 0, 0xea, 0x60, 0, 0, 0, 28, 0, 0, 0, 28])).dims, [60000, 28, 28]);
  assert.deepEqual(parseIdxHeader(Buffer.from([0, 0, 8, 1, 0, 0, 0x27, 0x10])).dims, [10000]);
});

test('IDX: reads raw and gzipped files alike, detecting gzip by its magic bytes, not the name', () => {
  const bars = makeBars(120, 1);
  const gz = readIdxFile(path.join(FIXTURES, 'bars-train-images-idx3-ubyte.gz'));
  assert.deepEqual(gz.dims, [120, 8, 8]);
  assert.deepEqual(Buffer.from(gz.data as Uint8Array), Buffer.from(bars.images));
  assert.deepEqual(Buffer.from(readIdxFile(path.join(FIXTURES, 'bars-train-labels-idx1-ubyte.gz')).data as Uint8Array), Buffer.from(bars.labels));

  const raw = encodeIdxUbyte([3, 2, 2], Uint8Array.from({ length: 12 }, (_, i) => i * 20));
  const rawNamedGz = tmpFile('images.gz', raw);
  const gzNamedRaw = tmpFile('images-idx3-ubyte', zlib.gzipSync(raw));
  for (const f of [rawNamedGz, gzNamedRaw]) {
    const a = readIdxFile(f);
    assert.deepEqual(a.dims, [3, 2, 2]);
    assert.equal(a.data[11], 220);
    assert.deepEqual(readIdxFileHeader(f).dims, [3, 2, 2]);
  }
});

test('IDX: the header alone of a large gzipped file is read without decompressing it', () => {
  // Only the first KB of the gzip stream is kept: the whole file could not be decompressed, so a
  // reader that gets the dims must have stopped after the header.
  const gz = zlib.gzipSync(encodeIdxUbyte([20000, 28, 28], Uint8Array.from({ length: 20000 * 784 }, (_, i) => (i * 7919) % 251)));
  const truncated = tmpFile('big.gz', gz.subarray(0, 1024));
  assert.throws(() => zlib.gunzipSync(fs.readFileSync(truncated)));
  const h = readIdxFileHeader(truncated);
  assert.deepEqual(h.dims, [20000, 28, 28]);
});

test('IDX: 4-D images [n, h, w, c] give inputShape [h, w, c]; 3-D give [h, w, 1]', async () => {
  const n = 6;
  const images = Uint8Array.from({ length: n * 4 * 4 * 3 }, (_, i) => i % 256);
  const labels = Uint8Array.from({ length: n }, (_, i) => i % 2);
  const dir = path.dirname(tmpFile('train-images', encodeIdxUbyte([n, 4, 4, 3], images)));
  fs.writeFileSync(path.join(dir, 'train-labels'), encodeIdxUbyte([n], labels));
  fs.writeFileSync(path.join(dir, 'test-images'), zlib.gzipSync(encodeIdxUbyte([n, 4, 4, 3], images)));
  fs.writeFileSync(path.join(dir, 'test-labels'), encodeIdxUbyte([n], labels));
  const cfg = idxConfig({ trainImages: 'train-images', trainLabels: 'train-labels', testImages: 'test-images', testLabels: 'test-labels', normalize: 'none' });
  const info = describeDataSource(cfg, dir);
  assert.deepEqual(info, { inputShape: [4, 4, 3], numClasses: 2, trainAvailable: n, testAvailable: n });
  const ds = await loadDataset(cfg, { ...opts(), configDir: dir });
  assert.deepEqual(ds.inputShape, [4, 4, 3]);
  // rows are copied whole: row r of the split is source row indices[r]
  const r = ds.train.indices![0];
  assert.deepEqual(Array.from(ds.train.x.subarray(0, 48)), Array.from(images.subarray(r * 48, r * 48 + 48)));

  assert.deepEqual(describeDataSource(idxConfig(), FIXTURES), { inputShape: [8, 8, 1], numClasses: 3, trainAvailable: 120, testAvailable: 30 });
});

test('IDX: a wrong magic number is a clear error', () => {
  const f = tmpFile('bad-idx3-ubyte', Buffer.from([0x50, 0x4b, 3, 4, 1, 2, 3, 4]));
  assert.throws(() => readIdxFile(f), /bad-idx3-ubyte: not an IDX file \(magic number 0x504b0304/);
  assert.throws(() => readIdxFileHeader(f), /not an IDX file/);
  const badType = tmpFile('badtype', Buffer.from([0, 0, 0x07, 1, 0, 0, 0, 1, 5]));
  assert.throws(() => readIdxFile(badType), /unknown IDX element type 0x07/);
  const truncated = tmpFile('short', encodeIdxUbyte([10, 2, 2], new Uint8Array(40)).subarray(0, 30));
  assert.throws(() => readIdxFile(truncated), /truncated.*\[10, 2, 2\]/);
  assert.throws(() => readIdxFileHeader(truncated), /truncated/);
});

test('IDX: image count different from label count is a clear error', async () => {
  const dir = path.dirname(tmpFile('imgs', encodeIdxUbyte([5, 2, 2], new Uint8Array(20))));
  fs.writeFileSync(path.join(dir, 'labels'), zlib.gzipSync(encodeIdxUbyte([4], new Uint8Array(4))));
  const cfg = idxConfig({ trainImages: 'imgs', trainLabels: 'labels', testImages: 'imgs', testLabels: 'labels' });
  await assert.rejects(loadDataset(cfg, { ...opts(), configDir: dir }), /imgs has 5 images but .*labels has 4 labels/);
  assert.throws(() => describeDataSource(cfg, dir), /has 5 images but .* has 4 labels/);
});

test('IDX: loads the fixture, normalised by 1/255, labels intact', async () => {
  const ds = await loadDataset(idxConfig(), opts());
  const bars = makeBars(120, 1);
  assert.equal(ds.train.count, 120);
  assert.equal(ds.test.count, 30);
  assert.equal(ds.numClasses, 3);
  for (let i = 0; i < ds.train.count; i++) {
    const r = ds.train.indices![i];
    assert.equal(ds.train.y[i], bars.labels[r]);
    assert.equal(ds.train.x[i * 64 + 5], Math.fround(bars.images[r * 64 + 5] / 255));
  }
  const [lo, hi] = range(ds.train);
  assert.ok(lo >= 0 && hi <= 1 && hi > 0.9);
  assert.deepEqual(ds.normalization, { method: 'unit', mean: 0, std: 255 });
});

// ---- CSV ----------------------------------------------------------------------------------------

test('CSV: header row, label first; the same examples as the IDX fixture', async () => {
  const a = await loadDataset(csvConfig(), opts());
  const b = await loadDataset(idxConfig(), opts());
  assert.deepEqual(a.inputShape, [64]);
  assert.equal(a.numClasses, 3);
  assert.deepEqual(a.train.indices, b.train.indices);
  assert.deepEqual(Array.from(a.train.x), Array.from(b.train.x));
  assert.deepEqual(Array.from(a.test.y), Array.from(b.test.y));
  assert.deepEqual(describeDataSource(csvConfig(), FIXTURES), { inputShape: [64], numClasses: 3, trainAvailable: 120, testAvailable: 30 });
  const img = await loadDataset(csvConfig({ imageShape: [8, 8, 1] }), opts());
  assert.deepEqual(img.inputShape, [8, 8, 1]);
});

test('CSV: no header, label in the last column, blank lines and CRLF ignored', async () => {
  const train = tmpFile('train.csv', '1.5,2,0\r\n3,4,1\r\n\r\n5,6e0,2\r\n 7 ,"8",1\r\n');
  const test = path.join(path.dirname(train), 'test.csv');
  fs.writeFileSync(test, '9,10,4\n11,12,0\n');
  const cfg = csvConfig({ trainFile: 'train.csv', testFile: 'test.csv', header: false, labelColumn: 2, normalize: 'none' });
  const ds = await loadDataset(cfg, { ...opts(), configDir: path.dirname(train) });
  assert.deepEqual(ds.inputShape, [2]);
  assert.equal(ds.numClasses, 5, 'max label + 1 across train and test');
  const rows = ds.train.indices!.map((r, i) => [r, ds.train.y[i], ds.train.x[2 * i], ds.train.x[2 * i + 1]]).sort((p, q) => p[0] - q[0]);
  assert.deepEqual(rows, [
    [0, 0, 1.5, 2],
    [1, 1, 3, 4],
    [2, 2, 5, 6],
    [3, 1, 7, 8],
  ]);
  assert.deepEqual(describeDataSource(cfg, path.dirname(train)), { inputShape: [2], numClasses: 5, trainAvailable: 4, testAvailable: 2 });
  // with a header the first line is skipped
  const withHeader = await loadDataset({ ...cfg, header: true }, { ...opts(), configDir: path.dirname(train) });
  assert.equal(withHeader.train.count, 3);
});

test('CSV: imageShape that does not match the feature count is a clear error', async () => {
  const cfg = csvConfig({ imageShape: [28, 28, 1] });
  await assert.rejects(loadDataset(cfg, opts()), /data\.imageShape \[28, 28, 1\] needs 784 values per example, but .*bars-train\.csv has 64 feature columns/);
  assert.throws(() => describeDataSource(cfg, FIXTURES), /imageShape \[28, 28, 1\] needs 784/);
});

test('CSV: a non-numeric cell is an error naming file:line', async () => {
  const train = tmpFile('bad.csv', 'label,a,b\n0,1,2\n\n1,3,x7\n');
  const dir = path.dirname(train);
  fs.writeFileSync(path.join(dir, 'ok.csv'), 'label,a,b\n0,1,2\n');
  const cfg = csvConfig({ trainFile: 'bad.csv', testFile: 'ok.csv' });
  await assert.rejects(loadDataset(cfg, { ...opts(), configDir: dir }), (e: Error) => {
    assert.match(e.message, /bad\.csv:4: column 2 \(zero-based\) is "x7", not a number/);
    assert.ok(e.message.startsWith(train));
    return true;
  });
  fs.writeFileSync(path.join(dir, 'badlabel.csv'), 'label,a,b\n0,1,2\ncat,3,4\n');
  const bad = csvConfig({ trainFile: 'badlabel.csv', testFile: 'ok.csv' });
  await assert.rejects(loadDataset(bad, { ...opts(), configDir: dir }), /badlabel\.csv:3: the label in column 0 .* is "cat", not a class index/);
  assert.throws(() => describeDataSource(bad, dir), /badlabel\.csv:3: the label/);
  fs.writeFileSync(path.join(dir, 'ragged.csv'), 'label,a,b\n0,1,2\n1,3\n');
  await assert.rejects(loadDataset(csvConfig({ trainFile: 'ragged.csv', testFile: 'ok.csv' }), { ...opts(), configDir: dir }), /ragged\.csv:3: 2 columns, but line 2 has 3/);
});

test('CSV: standard normalisation is per feature with training statistics', async () => {
  const ds = await loadDataset(csvConfig({ normalize: 'standard' }), opts());
  const n = ds.train.count;
  for (const k of [0, 9, 63]) {
    let s = 0;
    let sq = 0;
    for (let i = 0; i < n; i++) s += ds.train.x[i * 64 + k];
    for (let i = 0; i < n; i++) sq += (ds.train.x[i * 64 + k] - s / n) ** 2;
    assert.ok(Math.abs(s / n) < 1e-5, `feature ${k} mean ${s / n}`);
    assert.ok(Math.abs(Math.sqrt(sq / n) - 1) < 1e-4);
  }
  assert.equal((ds.normalization.mean as number[]).length, 64);
  // a constant feature does not produce NaN
  const f = tmpFile('const.csv', 'y,a,b\n0,5,1\n1,5,2\n');
  fs.writeFileSync(path.join(path.dirname(f), 'const-test.csv'), 'y,a,b\n0,5,3\n');
  const c = await loadDataset(csvConfig({ trainFile: 'const.csv', testFile: 'const-test.csv', normalize: 'standard' }), { ...opts(), configDir: path.dirname(f) });
  assert.ok(Array.from(c.train.x).every(Number.isFinite));
  assert.ok(Array.from(c.test.x).every(Number.isFinite));
});

// ---- splits -------------------------------------------------------------------------------------

function disjoint(...lists: number[][]): boolean {
  const seen = new Set<number>();
  for (const l of lists) for (const v of l) {
    if (seen.has(v)) return false;
    seen.add(v);
  }
  return true;
}

test('splits: same seed same split, different seed different split; sizes honoured; no overlap', async () => {
  const cfg = idxConfig({ trainSize: 80, validationSize: 25, testSize: 20 });
  const a = await loadDataset(cfg, opts(1));
  const b = await loadDataset(cfg, opts(1));
  const c = await loadDataset(cfg, opts(2));
  assert.deepEqual([a.train.count, a.validation.count, a.test.count], [80, 25, 20]);
  assert.equal(a.train.x.length, 80 * 64);
  for (const s of ['train', 'validation', 'test'] as const) {
    assert.deepEqual(a[s].indices, b[s].indices);
    assert.deepEqual(a[s].x, b[s].x);
    assert.notDeepEqual(a[s].indices, c[s].indices);
  }
  assert.ok(disjoint(a.train.indices!, a.validation.indices!), 'train and validation come from the same file and must not overlap');
  assert.ok(disjoint(a.test.indices!));
  // a smaller trainSize is a prefix of a larger one, with the same validation and test
  const d = await loadDataset(idxConfig({ trainSize: 40, validationSize: 25, testSize: 20 }), opts(1));
  assert.deepEqual(d.train.indices, a.train.indices!.slice(0, 40));
  assert.deepEqual(d.validation.indices, a.validation.indices);
  assert.deepEqual(d.test.indices, a.test.indices);
});

test('splits: sizes larger than available throw, naming the field and the count', async () => {
  await assert.rejects(loadDataset(idxConfig({ testSize: 31 }), opts()), /data\.testSize is 31 but only 30 test examples/);
  await assert.rejects(loadDataset(idxConfig({ validationSize: 121 }), opts()), /data\.validationSize is 121 but only 120 examples/);
  await assert.rejects(loadDataset(idxConfig({ validationSize: 20, trainSize: 101 }), opts()), /data\.trainSize is 101 but only 100 examples are available for training/);
  await assert.rejects(loadDataset(idxConfig({ validationSize: 120 }), opts()), /No examples are left for training/);
  await assert.rejects(loadDataset(mnistConfig({ testSize: 10001 }), opts()), /data\.testSize is 10,001 but only 10,000 examples are in mnist/);
  await assert.rejects(loadDataset(mnistConfig({ validationSize: 1000, trainSize: 7001 }), opts()), /data\.trainSize is 7,001 but only 7,000 examples/);
});

test('splitSizes: the loader\'s sizes and errors, from describeDataSource alone (for the validator)', () => {
  const mnist = mnistConfig();
  const info = describeDataSource(mnist, '.');
  assert.deepEqual([info.inputShape, info.numClasses, info.trainAvailable, info.testAvailable, info.sharedPool], [[28, 28, 1], 10, 8000, 10000, true]);
  assert.equal(describeDataSource(mnistConfig({ testSize: 500 }), '.').trainAvailable, 9500);
  assert.deepEqual(splitSizes(mnist, info), { train: 8000, validation: 0, test: 2000 });
  const m2 = mnistConfig({ testFraction: 0.1, validationSize: 500 });
  assert.deepEqual(splitSizes(m2, describeDataSource(m2, '.')), { train: 8500, validation: 500, test: 1000 });
  const f: DataConfig = { dataset: 'fashion-mnist', validationSize: 5000, trainSize: 55001, normalize: 'unit' };
  assert.throws(() => splitSizes(f, describeDataSource(f, '.')), /data\.trainSize is 55,001 but only 55,000 examples are available for training \(60,000 training examples in fashion-mnist, minus validationSize 5,000\)/);
  const i = idxConfig({ testSize: 31 });
  assert.throws(() => splitSizes(i, describeDataSource(i, FIXTURES)), /data\.testSize is 31 but only 30 test examples are in bars-train-images-idx3-ubyte\.gz/);
});

// ---- built-ins ----------------------------------------------------------------------------------

let mnistFirst: Dataset | undefined;

test('mnist: 10,000 real digits, about 1,000 per class, split 8,000 / 2,000, converted once then cached', async (t) => {
  const cacheDir = path.join(tmp, 'mnist-cache');
  const t0 = performance.now();
  const ds = await loadDataset(mnistConfig(), opts(42, cacheDir));
  t.diagnostic(`mnist first load (conversion) ${(performance.now() - t0).toFixed(0)} ms, convertMs ${ds.cache?.convertMs}`);
  mnistFirst = ds;
  assert.equal(ds.cache?.hit, false);
  assert.deepEqual([ds.train.count, ds.validation.count, ds.test.count], [8000, 0, 2000]);
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  assert.equal(ds.train.x.length, 8000 * 784);
  assert.ok(disjoint(ds.train.indices!, ds.test.indices!));
  const all = [...ds.train.y, ...ds.test.y];
  const h = histogram(all, 10);
  assert.equal(all.length, 10000);
  assert.ok(h.every((k) => k > 850 && k < 1150), `class counts ${h}`);
  const [lo, hi] = range(ds.train);
  assert.equal(lo, 0);
  assert.equal(hi, 1);
  const mean = ds.train.x.reduce((s, v) => s + v, 0) / ds.train.x.length;
  assert.ok(mean > 0.1 && mean < 0.16, `mean pixel ${mean} (MNIST ≈ 0.13)`);

  const dir = path.join(cacheDir, CACHE_LAYOUT.mnist.dir);
  const files = fs.readdirSync(dir).sort();
  assert.deepEqual(files, ['images-idx3-ubyte', 'labels-idx1-ubyte', 'meta.json']);
  assert.deepEqual(fs.readdirSync(cacheDir), [CACHE_LAYOUT.mnist.dir], 'no temporary folders left');
  const mtime = fs.statSync(path.join(dir, 'images-idx3-ubyte')).mtimeMs;
  assert.deepEqual(readIdxFileHeader(path.join(dir, 'images-idx3-ubyte')).dims, [10000, 28, 28]);

  const t1 = performance.now();
  const again = await loadDataset(mnistConfig(), opts(42, cacheDir));
  t.diagnostic(`mnist cached load ${(performance.now() - t1).toFixed(0)} ms`);
  assert.equal(again.cache?.hit, true);
  assert.equal(fs.statSync(path.join(dir, 'images-idx3-ubyte')).mtimeMs, mtime);
  assert.deepEqual(again.train.indices, ds.train.indices);
  assert.deepEqual(again.test.x, ds.test.x);

  // a damaged cache (here: a truncated image file) is rebuilt, not trusted
  fs.truncateSync(path.join(dir, 'images-idx3-ubyte'), 1000);
  const repaired = await loadDataset(mnistConfig(), opts(42, cacheDir));
  assert.equal(repaired.cache?.hit, false);
  assert.deepEqual(repaired.test.x, ds.test.x);
});

test('mnist: validation carved after the test split; standard normalisation uses training statistics', async () => {
  const cacheDir = path.join(tmp, 'mnist-cache');
  const ds = await loadDataset(mnistConfig({ testSize: 1000, validationSize: 500, trainSize: 2000, normalize: 'standard' }), opts(42, cacheDir));
  assert.deepEqual([ds.train.count, ds.validation.count, ds.test.count], [2000, 500, 1000]);
  assert.ok(disjoint(ds.train.indices!, ds.validation.indices!, ds.test.indices!));
  const x = ds.train.x;
  const m = x.reduce((s, v) => s + v, 0) / x.length;
  const sd = Math.sqrt(x.reduce((s, v) => s + (v - m) ** 2, 0) / x.length);
  assert.ok(Math.abs(m) < 1e-4 && Math.abs(sd - 1) < 1e-3, `train mean ${m} std ${sd}`);
  const { mean, std } = ds.normalization as { mean: number; std: number };
  assert.ok(mean > 25 && mean < 40 && std > 70 && std < 90, `global scalar mean ${mean} std ${std} in raw 0–255 units`);
  // test values use the same (training) statistics: raw 0 maps to −mean/std
  assert.ok(Math.abs(range(ds.test)[0] - -mean / std) < 1e-5);
  // the test split with testSize 1,000 is a prefix of the default 2,000
  assert.deepEqual(ds.test.indices, mnistFirst!.test.indices!.slice(0, 1000));
});

test('fashion-mnist: 60,000 / 10,000 images with labels 0–9, class names, cached after the first load', async (t) => {
  const cacheDir = path.join(tmp, 'fashion-cache');
  const t0 = performance.now();
  const ds = await loadDataset({ dataset: 'fashion-mnist', validationSize: 0, normalize: 'none' }, opts(42, cacheDir));
  t.diagnostic(`fashion-mnist first load (conversion) ${(performance.now() - t0).toFixed(0)} ms, convertMs ${ds.cache?.convertMs}`);
  assert.equal(ds.cache?.hit, false);
  assert.deepEqual([ds.train.count, ds.validation.count, ds.test.count], [60000, 0, 10000]);
  assert.deepEqual(ds.inputShape, [28, 28, 1]);
  assert.equal(ds.classNames?.[9], 'Ankle boot');
  assert.deepEqual(histogram(ds.train.y, 10), new Array(10).fill(6000));
  assert.deepEqual(histogram(ds.test.y, 10), new Array(10).fill(1000));
  assert.deepEqual(range(ds.test), [0, 255]);
  assert.deepEqual(describeDataSource({ dataset: 'fashion-mnist', validationSize: 0, normalize: 'unit' }, '.'), {
    inputShape: [28, 28, 1],
    numClasses: 10,
    trainAvailable: 60000,
    testAvailable: 10000,
    classNames: ds.classNames,
  });

  const t1 = performance.now();
  const again = await loadDataset({ dataset: 'fashion-mnist', validationSize: 5000, trainSize: 10000, testSize: 2000, normalize: 'unit' }, opts(42, cacheDir));
  t.diagnostic(`fashion-mnist cached load ${(performance.now() - t1).toFixed(0)} ms`);
  assert.equal(again.cache?.hit, true);
  assert.deepEqual([again.train.count, again.validation.count, again.test.count], [10000, 5000, 2000]);
  assert.ok(disjoint(again.train.indices!, again.validation.indices!));
  assert.deepEqual(again.test.indices, ds.test.indices!.slice(0, 2000));
});
