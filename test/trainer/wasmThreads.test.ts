// The threaded wasm build (src/trainer/wasmThreads.ts), which trains where the native addon is
// missing: it starts in Node with the thread count asked for, and a run's numbers do not depend on
// the thread count. Real CLI runs of the built bundle, the addon switched off.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const cli = path.resolve('dist/cli.js');

const config = {
  name: 'threads',
  seed: 3,
  data: { dataset: 'mnist', trainSize: 600, testSize: 300 },
  teacher: { model: { type: 'mlp', hidden: [128], dropout: 0.2, maxNorm: 3 }, training: { epochs: 2, batchSize: 64, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } } },
  student: { model: { type: 'mlp', hidden: [32] } },
  distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.5 }, { type: 'kd', weight: 0.5 }] },
  training: { epochs: 2, batchSize: 64, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } },
  probes: { samples: 4, cka: false },
};

function run(threads: number, bundle = cli) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-threads-'));
  fs.writeFileSync(path.join(dir, 'threads.distill.json'), JSON.stringify(config));
  const r = spawnSync(process.execPath, [bundle, 'run', 'threads.distill.json', '--backend', 'wasm'], {
    cwd: dir,
    encoding: 'utf8',
    env: { ...process.env, DISTILL_NATIVE: '0', DISTILL_WASM_THREADS: String(threads) },
    timeout: 180_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const runs = path.join(dir, '.distill', 'runs');
  const [id] = fs.readdirSync(runs);
  const manifest = JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8'));
  const metrics = fs.readFileSync(path.join(runs, id, 'metrics.jsonl'), 'utf8');
  return { stdout: r.stdout, stderr: r.stderr, manifest, metrics };
}

test('the threaded wasm build trains with the threads asked for, and gives the single-threaded numbers', () => {
  const one = run(1);
  const two = run(2);
  assert.match(one.stdout, /backend: wasm \+ SIMD sgemm, 1 thread \(/);
  assert.match(two.stdout, /backend: wasm \+ SIMD sgemm, 2 threads \(/);
  assert.match(two.manifest.versions.backendDetails, /2 threads/);
  // Every loss of every step and epoch, and the results, are the same.
  const records = (m: string) => m.trim().split('\n').map((l) => { const r = JSON.parse(l); delete r.seconds; delete r.examplesPerSecond; return r; });
  assert.deepEqual(records(two.metrics), records(one.metrics));
  for (const model of ['teacher', 'baseline', 'student']) assert.equal(two.manifest.results[model].testErrors, one.manifest.results[model].testErrors, model);
});

test('a threaded glue file that does not parse: one line says so, and the run trains on one thread', () => {
  // The bundle and its wasm files copied, with the threaded glue cut in half (a broken download).
  const dist = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-dist-'));
  for (const f of fs.readdirSync('dist')) {
    if (/\.(js|wasm)$/.test(f) && !f.endsWith('.map')) fs.copyFileSync(path.join('dist', f), path.join(dist, f));
  }
  fs.symlinkSync(path.resolve('dist/data'), path.join(dist, 'data'));
  const glue = path.join(dist, 'tfjs-backend-wasm-threaded-simd.js');
  const text = fs.readFileSync(glue, 'utf8');
  fs.writeFileSync(glue, text.slice(0, text.length >> 1));
  const r = run(2, path.join(dist, 'cli.js'));
  assert.match(r.stdout, /backend: wasm \+ SIMD sgemm, 1 thread \(/);
  assert.match(r.stderr + r.stdout, /the threaded wasm build is unusable \(.*tfjs-backend-wasm-threaded-simd\.js: .*\); training on one thread/);
  assert.equal(r.manifest.status, 'done');
  fs.rmSync(dist, { recursive: true, force: true });
});
