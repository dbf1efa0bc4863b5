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

/** A tiny real run: mnist, 600 training examples, 2 epochs (a few seconds). */
function tinyConfig(distillation: object, teacher?: object) {
  const mlp = (hidden: number[]) => ({ model: { type: 'mlp', hidden } });
  const sgd = { epochs: 2, optimizer: { type: 'sgd', lr: 0.05 } };
  return {
    name: 'tiny',
    seed: 1,
    data: { dataset: 'mnist', trainSize: 600, testSize: 300 },
    teacher: teacher ?? { ...mlp([64]), training: sgd },
    student: mlp([32]),
    distillation: { temperature: 2, losses: [{ type: 'ce', weight: 0.5 }, { type: 'kd', weight: 0.5 }], ...distillation },
    training: { ...sgd, batchSize: 64 },
  };
}

/** The result table's rows by model id: [test errors, the rest of the line]. */
function tableRows(stdout: string): Map<string, { errors: number; count: number; note: string }> {
  const table = stdout.slice(stdout.lastIndexOf('\nmodel '));
  const rows = new Map<string, { errors: number; count: number; note: string }>();
  for (const line of table.split('\n')) {
    const m = /^(\S+)\s+(\d+) \/ (\d+)\s+\S+%\s+\S+\s+\S+\s+\S+ ms {2}(.*)$/.exec(line);
    if (m) rows.set(m[1], { errors: Number(m[2]), count: Number(m[3]), note: m[4] });
  }
  return rows;
}

/**
 * The run's test-predictions.json against what else the run recorded: one label per test example
 * (`testCount`), labels in split order (the probe files name test indices with their labels), and
 * for every model with a result, predictions whose mismatches with the labels are its test errors.
 */
function assertTestPredictions(runDir: string, results: { models: Record<string, { testErrors: number; testCount: number }> }, testCount: number): void {
  const file = JSON.parse(fs.readFileSync(path.join(runDir, 'test-predictions.json'), 'utf8'));
  assert.equal(file.labels.length, testCount);
  assert.deepEqual(Object.keys(file.models).sort(), Object.keys(results.models).sort(), 'every recorded model, nothing else');
  for (const name of fs.readdirSync(path.join(runDir, 'probes'))) {
    const probe = JSON.parse(fs.readFileSync(path.join(runDir, 'probes', name), 'utf8'));
    probe.samples.forEach((testIndex: number, k: number) => assert.equal(file.labels[testIndex], probe.labels[k], `${name}: label of test example ${testIndex}`));
  }
  for (const [model, r] of Object.entries(results.models)) {
    const predicted: number[] = file.models[model];
    assert.equal(predicted.length, testCount, model);
    let wrong = 0;
    for (let i = 0; i < testCount; i++) if (predicted[i] !== file.labels[i]) wrong++;
    assert.equal(wrong, r.testErrors, `${model}: mismatches with the labels are its test errors`);
    assert.equal(r.testCount, testCount);
  }
}

test('run: an online run of 3 peers lists each peer against itself trained alone; export takes any model id', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  const config = tinyConfig({ mode: 'online', peers: [{ model: { type: 'mlp', hidden: [16] } }] });
  fs.writeFileSync(path.join(dir, 'dml.distill.json'), JSON.stringify(config));
  const r = distill(['run', 'dml.distill.json'], dir);
  assert.equal(r.status, 0, r.stderr);
  // The joint stage is announced once, naming the peers it trains.
  assert.match(r.stdout, /── peers: 2 epochs × 10 steps \(peer1, peer2, peer3\)/);
  const [id] = fs.readdirSync(path.join(dir, '.distill', 'runs'));
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, '.distill', 'runs', id, 'manifest.json'), 'utf8'));
  const rows = tableRows(r.stdout);
  assert.deepEqual([...rows.keys()], ['peer1-alone', 'peer2-alone', 'peer3-alone', 'peer1', 'peer2', 'peer3']);
  for (const [model, row] of rows) {
    assert.equal(row.errors, manifest.results.models[model].testErrors, model);
    assert.equal(row.count, 300);
  }
  for (const i of [1, 2, 3]) {
    const delta = rows.get(`peer${i}`)!.errors - rows.get(`peer${i}-alone`)!.errors;
    const words = delta === 0 ? 'as many errors' : `${Math.abs(delta)} ${delta < 0 ? 'fewer' : 'more'} error${Math.abs(delta) === 1 ? '' : 's'}`;
    assert.match(rows.get(`peer${i}`)!.note, new RegExp(`^peer ${i}.*; ${words} than peer${i}-alone$`));
    assert.match(rows.get(`peer${i}-alone`)!.note, new RegExp(`^peer ${i}.* alone$`));
  }
  assert.match(r.stdout, /peer 1 \(teacher\) ÷ peer 2 \(student\): [\d.]+× params/);
  assert.doesNotMatch(r.stdout, /error gap/);

  const list = distill(['list'], dir);
  const pct = (m: string) => `${((100 * manifest.results.models[m].testErrors) / 300).toFixed(1)}%`;
  assert.match(list.stdout, new RegExp(`done\\s+online: peer1 ${pct('peer1')} · peer2 ${pct('peer2')} · peer3 ${pct('peer3')} err`));

  const out = path.join(dir, 'peer3-export');
  const exported = distill(['export', 'latest', out, '--model', 'peer3'], dir);
  assert.equal(exported.status, 0, exported.stderr);
  assert.deepEqual(fs.readFileSync(path.join(out, 'model.json')), fs.readFileSync(path.join(dir, '.distill', 'runs', id, 'models', 'peer3', 'model.json')));
  const missing = distill(['export', 'latest', path.join(dir, 'x'), '--model', 'student'], dir);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /has no saved student model \(saved: peer1-alone, peer2-alone, peer3-alone, peer1, peer2, peer3\)/);
  const escape = distill(['export', 'latest', path.join(dir, 'y'), '--model', '../../x'], dir);
  assert.equal(escape.status, 2);
  assert.match(escape.stderr, /--model takes a model id/);
});

test('run: a born-again run lists the teacher ensemble and its members, each generation and the generations\' ensemble, and writes each one\'s test predictions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  const member = (hidden: number[]) => ({ model: { type: 'mlp', hidden }, training: { epochs: 2, optimizer: { type: 'sgd', lr: 0.05 } } });
  const config = tinyConfig({ mode: 'born-again', generations: 2 }, { source: 'ensemble', members: [member([64]), member([48])] });
  fs.writeFileSync(path.join(dir, 'ba.distill.json'), JSON.stringify(config));
  const r = distill(['run', 'ba.distill.json'], dir);
  assert.equal(r.status, 0, r.stderr);
  const [id] = fs.readdirSync(path.join(dir, '.distill', 'runs'));
  const results = JSON.parse(fs.readFileSync(path.join(dir, '.distill', 'runs', id, 'manifest.json'), 'utf8')).results;
  const rows = tableRows(r.stdout);
  assert.deepEqual([...rows.keys()], ['teacher1', 'teacher2', 'teacher', 'baseline', 'gen1', 'gen2', 'ensemble']);
  for (const [model, row] of rows) assert.equal(row.errors, results.models[model].testErrors, model);
  const best = (ids: string[]) => ids.reduce((a, b) => (results.models[b].testErrors < results.models[a].testErrors ? b : a));
  assert.match(rows.get('ensemble')!.note, new RegExp(`^ensemble of 2 generations; .* than its best member, ${best(['gen1', 'gen2'])}$`));
  assert.match(rows.get('teacher')!.note, new RegExp(`; .* than its best member, ${best(['teacher1', 'teacher2'])}$`));
  assert.match(rows.get('gen2')!.note, /^generation 2; .* than baseline$/);
  assert.match(r.stdout, /ensemble of 2 teachers \(generation 0\) ÷ generation 2: /);
  // The gap line speaks of the last generation against the baseline.
  assert.match(r.stdout, /\n(generation 2 closed -?\d+% of the baseline student → ensemble of 2 teachers \(generation 0\) error gap|distillation did not help here: generation 2 made .* baseline student)\n/);
  // The ensembles (teacher, ensemble) are never saved as models, but are recorded like any other.
  assertTestPredictions(path.join(dir, '.distill', 'runs', id), results, 300);
});

test('run: epochs show validation errors, not test errors; keep "best" and early stopping are reported with the model', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-cli-'));
  const config = { ...tinyConfig({}), training: { epochs: 8, batchSize: 64, optimizer: { type: 'sgd', lr: 0.3, momentum: 0.9 }, keep: 'best', earlyStopping: { patience: 2 } } };
  config.data = { ...config.data, validationSize: 200 } as typeof config.data;
  fs.writeFileSync(path.join(dir, 'pick.distill.json'), JSON.stringify(config));
  const r = distill(['run', 'pick.distill.json'], dir);
  assert.equal(r.status, 0, r.stderr);
  const epochLines = r.stdout.split('\n').filter((l) => /^\S+ +epoch +\d+ {2}loss/.test(l));
  assert.ok(epochLines.length >= 2 + 3 + 3, epochLines.join('\n'));
  for (const l of epochLines) {
    assert.match(l, /validation errors \d+/);
    assert.doesNotMatch(l, /test errors/, 'the test set is not evaluated during training');
  }
  const [id] = fs.readdirSync(path.join(dir, '.distill', 'runs'));
  const runDir = path.join(dir, '.distill', 'runs', id);
  const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8'));
  const epochs = fs.readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)).filter((m) => m.kind === 'epoch');
  assert.equal(manifest.results.models.teacher.training, undefined, 'the teacher chose nothing');
  for (const model of ['baseline', 'student']) {
    const errors: number[] = epochs.filter((e) => e.stage === model).map((e) => e.validationErrors);
    const best = Math.min(...errors);
    const keptEpoch = errors.indexOf(best) + 1;
    const outcome = manifest.results.models[model].training;
    assert.deepEqual(outcome, { epochs: errors.length, keptEpoch, stoppedEarly: errors.length < 8, validationErrors: best, validationCount: 200 }, model);
    const line = `${model}: kept epoch ${keptEpoch} of ${errors.length}${keptEpoch !== errors.length ? ` (fewest validation errors: ${best} of 200)` : ''}${errors.length < 8 ? ', stopped early' : ''}`;
    assert.ok(r.stdout.includes(line), `${line}\nin\n${r.stdout}`);
  }
  assert.match(fs.readFileSync(path.join(runDir, 'trainer.log'), 'utf8'), /data mnist: 600 train \/ 200 validation \/ 300 test/);
});
