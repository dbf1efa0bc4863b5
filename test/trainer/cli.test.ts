// The `distill` command line as a user types it (dist/cli.js, built by `npm test` first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRunDir, writeJsonAtomic } from '../../src/core/runStore';

const cli = path.resolve('dist/cli.js');
const distill = (args: string[], cwd: string) => spawnSync(process.execPath, [cli, ...args], { cwd, encoding: 'utf8' });

test('validate: each problem is one file:line:col line, exit code 1; a valid config exits 0', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  const bad = JSON.parse(fs.readFileSync('examples/quick-mnist.distill.json', 'utf8'));
  bad.distillation.temperature = 0;
  bad.distillation.losses[2].teacher = 'fc9';
  fs.writeFileSync(path.join(dir, 'bad.distill.json'), JSON.stringify(bad, null, 2));
  const r = distill(['validate', 'bad.distill.json'], dir);
  assert.equal(r.status, 1);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 2, r.stderr);
  const text = fs.readFileSync(path.join(dir, 'bad.distill.json'), 'utf8').split('\n');
  const tLine = text.findIndex((l) => l.includes('"temperature"')) + 1;
  const hLine = text.findIndex((l) => l.includes('"fc9"')) + 1;
  assert.match(lines[0], new RegExp(`^bad\\.distill\\.json:${tLine}:\\d+: error: .*temperature.*at least 0.01`));
  assert.match(lines[1], new RegExp(`^bad\\.distill\\.json:${hLine}:\\d+: error: .*fc9.*fc1, fc2, logits`));

  const ok = distill(['validate', path.resolve('examples/hinton-mnist.distill.json')], dir);
  assert.equal(ok.status, 0, ok.stderr);
});

test('run on an invalid config prints the problems and trains nothing', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  fs.writeFileSync(path.join(dir, 'x.distill.json'), '{ "name": "x" ');
  const r = distill(['run', 'x.distill.json'], dir);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /^x\.distill\.json:1:\d+: error: /);
  assert.equal(fs.existsSync(path.join(dir, '.distill')), false);
});

test('list shows runs newest first with status and result; usage errors exit 2', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  const runs = path.join(dir, '.distill', 'runs');
  const r = { testAccuracy: 0.98, params: 1, flops: 1, latencyMs: 1, testCount: 1000 };
  for (const [i, status] of (['done', 'cancelled'] as const).entries()) {
    const { id, dir: runDir } = createRunDir(runs, `exp${i}`, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
    writeJsonAtomic(path.join(runDir, 'manifest.json'), {
      id, name: `exp${i}`, configPath: '/x', configHash: 'h', status, startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      versions: {}, seed: 1, results: status === 'done' ? { student: { ...r, testErrors: 19 }, teacher: { ...r, testErrors: 15 } } : {},
    });
  }
  const out = distill(['list'], dir);
  assert.equal(out.status, 0);
  const lines = out.stdout.trim().split('\n');
  assert.match(lines[0], /^20260101-000001-exp1\s+cancelled/);
  assert.match(lines[1], /^20260101-000000-exp0\s+done\s+student 1\.9% err · teacher 1\.5%/);
  assert.equal(distill(['frobnicate'], dir).status, 2);
});
