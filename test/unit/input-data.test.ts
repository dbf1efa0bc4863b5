// Bad data files (issue 9) that used to pass `validate` and fail only when the trainer loaded
// them: CSV feature cells that are not numbers, a truncated .gz IDX, 0×0 images, NaN pixels. The
// validator's scan (synchronous for the CLI, asynchronous for the editor) now catches each, with
// the file and where in it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import type { DataConfig } from '../../src/core/config/schema';
import { CsvScanner, readCsvFile, summarizeCsvFile } from '../../src/core/data/csv';
import { describeDataSource, describeDataSourceAsync } from '../../src/core/data/describe';
import { encodeIdxUbyte, IdxScanner, readIdxFile } from '../../src/core/data/idx';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-input-data-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
/** A fresh folder with these files. */
function folder(files: Record<string, string | Uint8Array>): string {
  const dir = path.join(tmp, `d${n++}`);
  fs.mkdirSync(dir);
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), content);
  return dir;
}

const csv = (over: Partial<Extract<DataConfig, { dataset: 'csv' }>> = {}): DataConfig => ({
  dataset: 'csv',
  trainFile: 'train.csv',
  testFile: 'test.csv',
  labelColumn: 0,
  header: true,
  validationSize: 0,
  normalize: 'unit',
  ...over,
});
const idx: DataConfig = { dataset: 'idx', trainImages: 'ti', trainLabels: 'tl', testImages: 'si', testLabels: 'sl', validationSize: 0, normalize: 'unit' };

/** Both describe paths must fail with the same message. */
async function rejectsBoth(config: DataConfig, dir: string, message: RegExp): Promise<void> {
  assert.throws(() => describeDataSource(config, dir), message);
  await assert.rejects(describeDataSourceAsync(config, dir), message);
}

const GOOD_TEST = 'label,a,b\n0,1,2\n1,3,4\n';

test('CSV feature cells that are not numbers (abc, empty, NaN, Infinity) fail validation with file:line', async () => {
  for (const [cell, shown] of [
    ['abc', '"abc"'],
    ['', 'an empty cell'],
    ['NaN', '"NaN"'],
    ['Infinity', '"Infinity"'],
    ['-Infinity', '"-Infinity"'],
    ['1e999', '"1e999"'],
  ]) {
    const dir = folder({ 'train.csv': `label,a,b\n0,1,2\n1,${cell},4\n2,5,6\n`, 'test.csv': GOOD_TEST });
    const file = path.join(dir, 'train.csv');
    const message = new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: column 1 \\(zero-based\\) is ${shown}, not a number$`);
    await rejectsBoth(csv(), dir, message);
    // The loader says the same thing, so the validator is not stricter than the run.
    assert.throws(() => readCsvFile(file, { labelColumn: 0, header: true }), message);
  }
});

test('the CSV scan gives the same summary whatever the chunking (lines cut anywhere, CRLF, BOM)', () => {
  const text = '\ufefflabel,x,y\r\n3,0.5,-1\r\n\r\n1,"2",1e3\r\n0, 7 ,8';
  const bytes = new TextEncoder().encode(text);
  const whole = new CsvScanner('f.csv', { labelColumn: 0, header: true });
  whole.push(bytes);
  const expected = whole.end();
  assert.deepEqual(expected, { rows: 3, columns: 3, features: 2, maxLabel: 3 });
  for (let size = 1; size <= 7; size++) {
    const s = new CsvScanner('f.csv', { labelColumn: 0, header: true });
    for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
    assert.deepEqual(s.end(), expected, `chunks of ${size} bytes`);
  }
  // Fed from one reused read buffer, as summarizeCsvFile does: the cut line must have been copied.
  const reused = Buffer.alloc(5);
  const s = new CsvScanner('f.csv', { labelColumn: 0, header: true });
  for (let i = 0; i < bytes.length; i += reused.length) {
    const n = Buffer.from(bytes.subarray(i, i + reused.length)).copy(reused);
    s.push(reused.subarray(0, n));
  }
  assert.deepEqual(s.end(), expected, 'a reused Buffer');
});

test('a valid CSV describes the same through the synchronous and the asynchronous scan', async () => {
  const dir = folder({ 'train.csv': 'label,a,b\n0,1,2\n4,3,4\n2,5,6\n', 'test.csv': GOOD_TEST });
  const expected = { inputShape: [2], numClasses: 5, trainAvailable: 3, testAvailable: 2 };
  assert.deepEqual(await describeDataSourceAsync(csv(), dir), expected);
  assert.deepEqual(describeDataSource(csv(), dir), expected);
  assert.deepEqual(summarizeCsvFile(path.join(dir, 'test.csv'), { labelColumn: 0, header: true }), { rows: 2, columns: 3, features: 2, maxLabel: 1 });
});

const images = (count: number, h = 2, w = 2) => encodeIdxUbyte([count, h, w], Uint8Array.from({ length: count * h * w }, (_, i) => i % 256));
const labels = (count: number) => encodeIdxUbyte([count], Uint8Array.from({ length: count }, (_, i) => i % 3));

test('a truncated .gz IDX image file fails validation, not the run', async () => {
  const gz = zlib.gzipSync(images(50));
  const dir = folder({ ti: gz.subarray(0, gz.length - 40), tl: labels(50), si: images(10), sl: labels(10) });
  const ti = path.join(dir, 'ti');
  await rejectsBoth(idx, dir, new RegExp(`${ti.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (IDX file truncated|looks gzipped .* cannot be decompressed)`));
  assert.throws(() => readIdxFile(ti)); // the loader would have failed on it too
  // The whole file gzipped is fine.
  fs.writeFileSync(ti, gz);
  assert.deepEqual(describeDataSource(idx, dir), { inputShape: [2, 2, 1], numClasses: 3, trainAvailable: 50, testAvailable: 10 });
  assert.deepEqual(await describeDataSourceAsync(idx, dir), { inputShape: [2, 2, 1], numClasses: 3, trainAvailable: 50, testAvailable: 10 });
});

test('a gzipped IDX whose inflated data is short of its header is truncated', async () => {
  const whole = images(20);
  const dir = folder({ ti: zlib.gzipSync(whole.subarray(0, whole.length - 5)), tl: labels(20), si: images(10), sl: labels(10) });
  await rejectsBoth(idx, dir, /ti: IDX file truncated: header declares ubyte\[20, 2, 2\] = 96 bytes in all, the file has 91$/);
});

test('0×0 IDX images and files with no examples are refused', async () => {
  const zero = folder({ ti: encodeIdxUbyte([5, 0, 0], new Uint8Array(0)), tl: labels(5), si: images(10), sl: labels(10) });
  await rejectsBoth(idx, zero, /ti: IDX images of shape \[0, 0\] hold no values/);
  const empty = folder({ ti: images(0), tl: labels(0), si: images(10), sl: labels(10) });
  await rejectsBoth(idx, empty, /ti holds no examples/);
});

/** A float32 IDX file (type 0x0D) of these values, big-endian. */
function floatIdx(dims: number[], values: number[]): Buffer {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header[2] = 0x0d;
  header[3] = dims.length;
  dims.forEach((d, i) => header.writeUInt32BE(d, 4 + 4 * i));
  const body = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => body.writeFloatBE(v, 4 * i));
  return Buffer.concat([header, body]);
}

test('NaN or Infinity pixels in a float IDX file fail validation, naming the example', async () => {
  for (const bad of [NaN, Infinity, -Infinity]) {
    const values = Array.from({ length: 3 * 4 }, (_, i) => i / 10);
    values[9] = bad; // example 2 (4 values per example)
    const dir = folder({ ti: floatIdx([3, 2, 2], values), tl: labels(3), si: floatIdx([1, 2, 2], [0, 0, 0, 0]), sl: labels(1) });
    await rejectsBoth(idx, dir, /ti: value 9 \(example 2\) is NaN or Infinity/);
  }
  const ok = folder({ ti: floatIdx([3, 2, 2], Array.from({ length: 12 }, (_, i) => -i * 1e30)), tl: labels(3), si: floatIdx([1, 2, 2], [0, 0, 0, 0]), sl: labels(1) });
  assert.deepEqual(describeDataSource(idx, ok), { inputShape: [2, 2, 1], numClasses: 3, trainAvailable: 3, testAvailable: 1 });
});

test('the IDX scan finds a NaN whatever the chunking (an element cut between chunks)', () => {
  const values = [1, 2, NaN, 4];
  const bytes = floatIdx([4, 1], values);
  for (let size = 1; size <= 9; size++) {
    const s = new IdxScanner('f');
    assert.throws(() => {
      for (let i = 0; i < bytes.length; i += size) s.push(bytes.subarray(i, i + size));
      s.end();
    }, /value 2 \(example 2\) is NaN/, `chunks of ${size}`);
  }
});

test('a FIFO or a folder given as a data file is an error, not a hang', async () => {
  const dir = folder({ 'test.csv': GOOD_TEST });
  fs.mkdirSync(path.join(dir, 'train.csv'));
  await rejectsBoth(csv(), dir, /train\.csv: not a regular file/);
});
