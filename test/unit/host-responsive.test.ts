// The editor stays responsive (issue 9): run listings are read asynchronously and cached by
// manifest mtime, only file events that can change a listing trigger a re-read, and data facts
// for the validator come from an asynchronous scan whose end revalidates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { parseConfig } from '../../src/core/config/parse';
import type { DataConfig } from '../../src/core/config/schema';
import type { Manifest } from '../../src/core/protocol';
import { encodeIdxUbyte } from '../../src/core/data/idx';
import { writeJsonAtomic } from '../../src/core/runStore';

/** A run folder's manifest, the folder made first (writeJsonAtomic makes only the file's own folder). */
function writeManifest(file: string, value: unknown): void {
  fs.mkdirSync(path.dirname(path.dirname(file)), { recursive: true });
  writeJsonAtomic(file, value);
}
import { DataFactsCache } from '../../src/host/dataFacts';
import { affectsListing, RunListing } from '../../src/host/runListing';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-responsive-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

const manifest = (id: string, extra: Partial<Manifest & { pid: number }> = {}): Manifest => ({
  id,
  name: 'x',
  configPath: '/ws/x.distill.json',
  configHash: 'h',
  status: 'done',
  startedAt: `2026-01-01T00:00:${id.padStart(2, '0')}.000Z`,
  versions: {},
  seed: 1,
  results: {},
  ...extra,
});

test('affectsListing: manifests and run folders coming or going, not metrics appends, probes or temp files', () => {
  const runs = '/ws/.distill/runs';
  assert.ok(affectsListing(`${runs}/r1/manifest.json`, [runs]));
  assert.ok(affectsListing(`${runs}/r2`, [runs]), 'a new run folder');
  assert.ok(affectsListing(runs, [runs]), 'the runs folder itself');
  assert.ok(affectsListing('/ws/.distill', [runs]), 'a folder above it (created in one go)');
  for (const quiet of ['metrics.jsonl', 'trainer.log', 'probes', 'probes/student-epoch-0001.json', 'manifest.json.123.ab12cd34.tmp', 'config.json', 'test-predictions.json']) {
    assert.equal(affectsListing(`${runs}/r1/${quiet}`, [runs]), false, quiet);
  }
  assert.equal(affectsListing('/ws/other/file.txt', [runs]), false);
});

test('RunListing reads each manifest once until it changes; removed runs drop out', async () => {
  const dir = path.join(tmp, 'runs1');
  for (let i = 1; i <= 5; i++) writeManifest(path.join(dir, `r${i}`, 'manifest.json'), manifest(String(i)));
  fs.mkdirSync(path.join(dir, 'not-a-run'));
  const listing = new RunListing();
  const first = (await listing.list(dir)).runs;
  assert.deepEqual(first.map((e) => e.manifest.id), ['5', '4', '3', '2', '1']);
  assert.equal(listing.reads, 5);
  assert.deepEqual((await listing.list(dir)).runs.map((e) => e.manifest.id), ['5', '4', '3', '2', '1']);
  assert.equal(listing.reads, 5, 'nothing changed: nothing re-read');
  // A manifest rewritten (a later mtime, a different size): only it is read again.
  writeManifest(path.join(dir, 'r3', 'manifest.json'), manifest('3', { status: 'failed', error: 'boom' }));
  fs.utimesSync(path.join(dir, 'r3', 'manifest.json'), new Date(), new Date(Date.now() + 5000));
  const after = (await listing.list(dir)).runs;
  assert.equal(listing.reads, 6);
  assert.equal(after.find((e) => e.manifest.id === '3')?.manifest.status, 'failed');
  fs.rmSync(path.join(dir, 'r5'), { recursive: true });
  assert.deepEqual((await listing.list(dir)).runs.map((e) => e.manifest.id), ['4', '3', '2', '1']);
  assert.deepEqual(listing.listSync(dir).runs.map((e) => e.manifest.id), ['4', '3', '2', '1']);
  assert.equal(listing.reads, 6, 'the synchronous listing shares the cache');
  assert.deepEqual(await listing.list(path.join(tmp, 'nowhere')), { runs: [], damaged: [] });
});

test('RunListing re-reads a run marked running, so a dead trainer shows as failed without a file change', async () => {
  const dir = path.join(tmp, 'runs2');
  writeManifest(path.join(dir, 'r1', 'manifest.json'), manifest('1', { status: 'running', pid: process.pid }));
  const listing = new RunListing();
  assert.equal((await listing.list(dir)).runs[0].manifest.status, 'running');
  await listing.list(dir);
  assert.equal(listing.reads, 2, 'a running run is read on every listing');
  // A pid that is not alive: readManifest reports the run failed.
  writeManifest(path.join(dir, 'r2', 'manifest.json'), manifest('2', { status: 'running', pid: 2 ** 22 + 12345 }));
  const { runs } = await listing.list(dir);
  assert.equal(runs.find((e) => e.manifest.id === '2')?.manifest.status, 'failed');
});

test('RunListing yields to the event loop while listing 1,000 runs', async () => {
  const dir = path.join(tmp, 'runs3');
  for (let i = 0; i < 1000; i++) writeManifest(path.join(dir, `r${i}`, 'manifest.json'), manifest(String(i)));
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  const { runs } = await new RunListing().list(dir);
  clearInterval(timer);
  assert.equal(runs.length, 1000);
  assert.ok(ticks > 0, 'timers ran while the listing was read');
});

const csvData = (trainFile: string): DataConfig => ({ dataset: 'csv', trainFile, testFile: 'test.csv', labelColumn: 0, header: true, validationSize: 0, normalize: 'unit' });

test('DataFactsCache: unknown while scanning, then the facts (or the error), and one scan per file state', async () => {
  const dir = path.join(tmp, 'data1');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'train.csv'), 'y,a\n0,1\n2,3\n');
  fs.writeFileSync(path.join(dir, 'test.csv'), 'y,a\n1,1\n');
  const cache = new DataFactsCache();
  let changes = 0;
  cache.onDidChange(() => changes++);
  assert.equal(cache.describe(csvData('train.csv'), dir), undefined, 'unknown at first');
  assert.equal(cache.describe(csvData('train.csv'), dir), undefined, 'still scanning');
  assert.equal(cache.scanning, 1, 'one scan for both asks');
  await waitFor(() => changes === 1);
  assert.deepEqual(cache.describe(csvData('train.csv'), dir), { inputShape: [1], numClasses: 3, trainAvailable: 2, testAvailable: 1 });
  // Sizes and normalisation do not change the facts: no new scan.
  assert.ok(cache.describe({ ...csvData('train.csv'), trainSize: 1, normalize: 'none' } as DataConfig, dir));
  // The file changes: a new scan, which finds the bad cell.
  fs.writeFileSync(path.join(dir, 'train.csv'), 'y,a\n0,1\n2,abc\n');
  fs.utimesSync(path.join(dir, 'train.csv'), new Date(), new Date(Date.now() + 5000));
  assert.equal(cache.describe(csvData('train.csv'), dir), undefined);
  await waitFor(() => changes === 2);
  assert.throws(() => cache.describe(csvData('train.csv'), dir), /train\.csv:3: column 1 \(zero-based\) is "abc", not a number/);
  cache.dispose();
});

test('DataFactsCache: IDX facts from the headers first, then the whole-file check (a truncated .gz)', async () => {
  const dir = path.join(tmp, 'data3');
  fs.mkdirSync(dir);
  const images = (n: number) => encodeIdxUbyte([n, 2, 2], Uint8Array.from({ length: n * 4 }, (_, i) => i % 256));
  const labels = (n: number) => encodeIdxUbyte([n], Uint8Array.from({ length: n }, (_, i) => i % 4));
  const gz = zlib.gzipSync(images(40));
  fs.writeFileSync(path.join(dir, 'ti'), gz.subarray(0, gz.length - 30));
  fs.writeFileSync(path.join(dir, 'tl'), labels(40));
  fs.writeFileSync(path.join(dir, 'si'), images(8));
  fs.writeFileSync(path.join(dir, 'sl'), labels(8));
  const data: DataConfig = { dataset: 'idx', trainImages: 'ti', trainLabels: 'tl', testImages: 'si', testLabels: 'sl', validationSize: 0, normalize: 'unit' };
  const cache = new DataFactsCache();
  const seen: string[] = [];
  cache.onDidChange(() => {
    try {
      seen.push(JSON.stringify(cache.describe(data, dir)));
    } catch (e) {
      seen.push(`error: ${(e as Error).message}`);
    }
  });
  assert.equal(cache.describe(data, dir), undefined);
  await waitFor(() => seen.length === 2);
  assert.deepEqual(JSON.parse(seen[0]), { inputShape: [2, 2, 1], numClasses: 4, trainAvailable: 40, testAvailable: 8 });
  assert.match(seen[1], /^error: .*ti: (looks gzipped .* cannot be decompressed|IDX file truncated)/);
  cache.dispose();
});

test('the editor validator: other problems at once, the data problem when the scan ends', async () => {
  const dir = path.join(tmp, 'data2');
  fs.mkdirSync(dir);
  fs.writeFileSync(path.join(dir, 'train.csv'), 'y,a,b\n0,1,2\n1,NaN,3\n');
  fs.writeFileSync(path.join(dir, 'test.csv'), 'y,a,b\n1,1,2\n');
  const cache = new DataFactsCache();
  const env = defaultNodeEnv({ describeData: (d, c) => cache.describe(d, c) });
  const text = JSON.stringify({
    name: 'x',
    data: { dataset: 'csv', trainFile: 'train.csv', testFile: 'test.csv' },
    teacher: { model: { type: 'mlp', hidden: [8] }, training: { epochs: 1, optimizer: { lr: 20 } } },
    student: { model: { type: 'mlp', hidden: [4] } },
    distillation: { temperature: 4, losses: [{ type: 'kd', weight: 1 }] },
    training: { epochs: 1, optimizer: { lr: 0.1 } },
  });
  const file = path.join(dir, 'x.distill.json');
  const before = parseConfig(text, file, env).problems.map((p) => p.code);
  assert.deepEqual(before, ['out-of-range'], 'the lr problem is reported without waiting for the scan');
  let done = false;
  cache.onDidChange(() => (done = true));
  await waitFor(() => done);
  const after = parseConfig(text, file, env).problems;
  assert.deepEqual(after.map((p) => p.code).sort(), ['bad-data', 'out-of-range']);
  assert.match(after.find((p) => p.code === 'bad-data')!.message, /train\.csv:3: column 1 \(zero-based\) is "NaN", not a number/);
  cache.dispose();
});

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}
