import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Manifest, MetricRecord } from '../../src/core/protocol';
import {
  appendMetrics,
  createRunDir,
  hashConfig,
  listRuns,
  markRunEnded,
  readManifest,
  readMetrics,
  readTestPredictions,
  summarizeResults,
  writeJsonAtomic,
} from '../../src/core/runStore';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'distill-store-'));

const manifest = (id: string, startedAt: string, extra: Partial<Manifest> & { pid?: number } = {}): Manifest => ({
  id,
  name: 'x',
  configPath: '/c.distill.json',
  configHash: 'h',
  status: 'done',
  startedAt,
  versions: {},
  seed: 1,
  results: {},
  ...extra,
});

test('writeJsonAtomic replaces the file in one step and leaves no temp files', () => {
  const dir = tmp();
  const file = path.join(dir, 'sub', 'manifest.json');
  writeJsonAtomic(file, { a: 1 });
  writeJsonAtomic(file, { a: 2 });
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { a: 2 });
  assert.deepEqual(fs.readdirSync(path.dirname(file)), ['manifest.json']);
});

test('a writer killed mid-write never leaves a half-written manifest', () => {
  // A child process rewrites a large manifest in a loop and is SIGKILLed; the file must always parse.
  const dir = tmp();
  const file = path.join(dir, 'manifest.json');
  writeJsonAtomic(file, { n: -1 });
  const script = `
    const { writeJsonAtomic } = require(${JSON.stringify(path.resolve('src/core/runStore.ts'))});
    const big = Array.from({ length: 200000 }, (_, i) => i);
    for (let n = 0; ; n++) writeJsonAtomic(${JSON.stringify(file)}, { n, big });`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { timeout: 1500, killSignal: 'SIGKILL' });
  assert.equal(r.signal, 'SIGKILL');
  const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(parsed.n >= -1);
});

test('metrics.jsonl: records round-trip and a line cut short by a crash is skipped', () => {
  const dir = tmp();
  const rec: MetricRecord = { kind: 'step', stage: 'student', epoch: 1, step: 1, losses: { ce: 2.3, kd: 0.5 }, total: 0.68, lr: 0.05 };
  appendMetrics(dir, [rec, { ...rec, step: 2 }]);
  fs.appendFileSync(path.join(dir, 'metrics.jsonl'), '{"kind":"step","sta');
  assert.deepEqual(readMetrics(dir).map((r) => (r.kind === 'step' ? r.step : -1)), [1, 2]);
});

test('run ids are unique within the same second and runs list newest first', () => {
  const runs = tmp();
  const now = new Date('2026-11-28T06:00:00Z');
  const a = createRunDir(runs, 'Hinton MNIST!', now);
  const b = createRunDir(runs, 'Hinton MNIST!', now);
  assert.equal(a.id, '20261128-060000-hinton-mnist');
  assert.equal(b.id, '20261128-060000-hinton-mnist-2');
  writeJsonAtomic(path.join(a.dir, 'manifest.json'), manifest(a.id, '2026-11-28T06:00:00.000Z'));
  writeJsonAtomic(path.join(b.dir, 'manifest.json'), manifest(b.id, '2026-11-28T06:00:01.000Z'));
  fs.mkdirSync(path.join(runs, 'not-a-run'));
  assert.deepEqual(listRuns(runs).map((r) => r.manifest.id), [b.id, a.id]);
});

test('a run marked running whose trainer is gone reads as failed; markRunEnded records cancel', () => {
  const runs = tmp();
  const { id, dir } = createRunDir(runs, 'crash');
  const dead = spawnSync(process.execPath, ['-e', '0']).pid!; // a pid that has exited
  writeJsonAtomic(path.join(dir, 'manifest.json'), manifest(id, '2026-01-01T00:00:00Z', { status: 'running', pid: dead }));
  const m = readManifest(dir)!;
  assert.equal(m.status, 'failed');
  assert.match(m.error!, /exited without finishing/);
  writeJsonAtomic(path.join(dir, 'manifest.json'), manifest(id, '2026-01-01T00:00:00Z', { status: 'running', pid: process.pid }));
  assert.equal(readManifest(dir)!.status, 'running');
  markRunEnded(dir, 'cancelled');
  assert.equal(readManifest(dir)!.status, 'cancelled');
  assert.ok(readManifest(dir)!.endedAt);
});

test('config hash ignores key order and the summary line reads like the tree description', () => {
  assert.equal(hashConfig({ a: 1, b: { c: [1, 2] } }), hashConfig({ b: { c: [1, 2] }, a: 1 }));
  assert.notEqual(hashConfig({ a: 1 }), hashConfig({ a: 2 }));
  const r = { testAccuracy: 0, params: 1, flops: 1, latencyMs: 1, testCount: 2000 };
  const m = manifest('x', 'y', {
    results: { student: { ...r, testErrors: 38 }, baseline: { ...r, testErrors: 52 }, teacher: { ...r, testErrors: 30 } },
  });
  assert.equal(summarizeResults(m), 'student 1.9% err · baseline 2.6% · teacher 1.5%');
  // A new offline run (it records its models) reads the same.
  const models = [
    { id: 'teacher', role: 'teacher', label: 'teacher', trained: true },
    { id: 'baseline', role: 'baseline', label: 'baseline student', trained: true },
    { id: 'student', role: 'student', label: 'distilled student', trained: true, baseline: 'baseline' },
  ] as const;
  assert.equal(summarizeResults({ ...m, mode: 'offline', models: [...models] }), 'student 1.9% err · baseline 2.6% · teacher 1.5%');
  // An online run: its mode and each peer (the alone-trained controls are in the tree and the hover).
  const peers = [1, 2, 3].flatMap((i) => [
    { id: `peer${i}-alone`, role: 'baseline' as const, label: `peer ${i} alone`, trained: true },
    { id: `peer${i}`, role: 'peer' as const, label: `peer ${i}`, trained: true, stage: 'peers', baseline: `peer${i}-alone` },
  ]);
  const errors = [40, 38, 44, 36, 50, 47];
  const online = manifest('x', 'y', {
    mode: 'online',
    models: peers,
    results: { models: Object.fromEntries(peers.map((p, i) => [p.id, { ...r, testErrors: errors[i] }])) },
  });
  assert.equal(summarizeResults(online), 'online: peer1 1.9% · peer2 1.8% · peer3 2.4% err');
});

test('readTestPredictions: the file as written; missing, damaged or mis-shaped → undefined, never a throw', () => {
  const dir = tmp();
  const file = path.join(dir, 'test-predictions.json');
  assert.equal(readTestPredictions(dir), undefined, 'no file (an older run, nothing finished yet)');
  const good = { labels: [0, 2, 1], classes: 3, models: { teacher: [0, 2, 2], 'exit-conv1': [1, 2, 1] } };
  fs.writeFileSync(file, JSON.stringify(good));
  assert.deepEqual(readTestPredictions(dir), good);
  const damaged: [string, string][] = [
    ['cut short (a copy interrupted)', JSON.stringify(good).slice(0, 30)],
    ['empty', ''],
    ['an array', '[1, 2]'],
    ['no labels', JSON.stringify({ classes: 3, models: {} })],
    ['a model with fewer predictions than labels', JSON.stringify({ ...good, models: { teacher: [0, 2] } })],
    ['a class beyond `classes`', JSON.stringify({ ...good, models: { teacher: [0, 3, 1] } })],
    ['a label that is not a class index', JSON.stringify({ ...good, labels: [0, 1.5, 1] })],
    ['models not an object', JSON.stringify({ ...good, models: [[0, 2, 2]] })],
    ['no class count', JSON.stringify({ labels: good.labels, models: good.models })],
  ];
  for (const [what, text] of damaged) {
    fs.writeFileSync(file, text);
    assert.equal(readTestPredictions(dir), undefined, what);
  }
  fs.rmSync(file);
  fs.mkdirSync(file); // a folder where the file should be: unreadable, still no throw
  assert.equal(readTestPredictions(dir), undefined, 'a folder of that name');
});
