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

function run(threads: number) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-threads-'));
  fs.writeFileSync(path.join(dir, 'threads.distill.json'), JSON.stringify(config));
  const r = spawnSync(process.execPath, [cli, 'run', 'threads.distill.json', '--backend', 'wasm'], {
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
  return { stdout: r.stdout, manifest, metrics };
}

test('the threaded wasm build trains with the threads asked for, and gives the single-threaded numbers', () => {
  const one = run(1);
  const two = run(2);
  assert.match(one.stdout, /backend: wasm \+ XNNPACK kernels, 1 thread \(/);
  assert.match(two.stdout, /backend: wasm \+ XNNPACK kernels, 2 threads \(/);
  assert.match(two.manifest.versions.backendDetails, /2 threads/);
  // Every loss of every step and epoch, and the results, are the same.
  const records = (m: string) => m.trim().split('\n').map((l) => { const r = JSON.parse(l); delete r.seconds; delete r.examplesPerSecond; return r; });
  assert.deepEqual(records(two.metrics), records(one.metrics));
  for (const model of ['teacher', 'baseline', 'student']) assert.equal(two.manifest.results[model].testErrors, one.manifest.results[model].testErrors, model);
});
