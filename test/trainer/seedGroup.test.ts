// Seed groups in the real trainer child process (dist/trainer.js) on real MNIST digits: one run
// folder per seed, each marked with the group; `done` per run, then `groupDone`; a cancel or a
// failed seed ends the group there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { TrainerToHost } from '../../src/core/protocol';
import { CONFIG, readManifest } from '../../src/core/runStore';
import { summarizeSeedGroup } from '../../src/core/seedGroups';
import { startTrainer } from '../../src/core/trainerClient';

const trainerScript = path.resolve('dist/trainer.js');
const env = { DISTILL_CACHE_DIR: path.resolve('.cache/datasets') };

function writeConfig(dir: string, group: Record<string, unknown>, epochs = 1, trainSize = 300): string {
  const file = path.join(dir, 'group.distill.json');
  const training = { epochs, batchSize: 50, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } };
  fs.writeFileSync(
    file,
    JSON.stringify({
      name: 'group',
      ...group,
      data: { dataset: 'mnist', trainSize, testSize: 200 },
      teacher: { model: { type: 'mlp', hidden: [64] }, training },
      student: { model: { type: 'mlp', hidden: [16] } },
      distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
      training,
      probes: { samples: 2, cka: false },
    }),
  );
  return file;
}

function run(configPath: string, runsDir: string, onMessage: (m: TrainerToHost, handle: ReturnType<typeof startTrainer>) => void = () => {}) {
  const messages: TrainerToHost[] = [];
  const handle: ReturnType<typeof startTrainer> = startTrainer(
    { type: 'start', configPath, runsDir, backend: 'auto' },
    { trainerScript, env, onMessage: (m) => (messages.push(m), onMessage(m, handle)) },
  );
  return { handle, messages };
}

const created = (messages: TrainerToHost[]) => messages.flatMap((m) => (m.type === 'runCreated' ? [m] : []));

test('seeds [5, 6]: two complete run folders, one group, done per run, then groupDone', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-group-'));
  const { handle, messages } = run(writeConfig(dir, { seed: 1, seeds: [5, 6] }), path.join(dir, 'runs'));
  const done = await handle.done;
  assert.equal(done.status, 'done', done.error);

  const types = messages.map((m) => m.type).filter((t) => t === 'runCreated' || t === 'done' || t === 'groupDone');
  assert.deepEqual(types, ['runCreated', 'done', 'runCreated', 'done', 'groupDone']);
  const runs = created(messages);
  const groupId = runs[0].group!.id;
  assert.deepEqual(runs.map((r) => r.group), [
    { id: groupId, index: 0, seeds: [5, 6] },
    { id: groupId, index: 1, seeds: [5, 6] },
  ]);
  const last = messages.at(-1)!;
  assert.deepEqual(last, { type: 'groupDone', groupId, seeds: [5, 6], runIds: runs.map((r) => r.runId), status: 'done' });
  // The client's `done` is the last run's, with the group's status.
  assert.equal(done.runId, runs[1].runId);

  const manifests = runs.map((r) => readManifest(r.runDir)!);
  assert.deepEqual(manifests.map((m) => [m.status, m.seed, m.group?.index]), [['done', 5, 0], ['done', 6, 1]]);
  for (const r of runs) {
    // Each run folder is an ordinary run of its one seed: its config reruns it alone.
    const { config } = JSON.parse(fs.readFileSync(path.join(r.runDir, CONFIG), 'utf8'));
    assert.equal(config.seed, readManifest(r.runDir)!.seed);
    assert.ok(!('seeds' in config) && !('repeats' in config));
    for (const model of ['teacher', 'baseline', 'student']) assert.ok(fs.existsSync(path.join(r.runDir, 'models', model, 'model.json')));
  }
  // Different seeds: different splits and weights, so the errors differ somewhere (4 of 6 numbers equal by chance at most).
  const errs = manifests.map((m) => [m.results.teacher!.testErrors, m.results.baseline!.testErrors, m.results.student!.testErrors]);
  assert.notDeepEqual(errs[0], errs[1]);
  // The group's mean is the mean of what the two runs recorded.
  const g = summarizeSeedGroup(manifests);
  assert.equal(g.status, 'done');
  assert.equal(g.models.student.testErrors.mean, (errs[0][2] + errs[1][2]) / 2);
  assert.ok(Math.abs(g.models.student.testErrors.std! - Math.abs(errs[0][2] - errs[1][2]) / Math.SQRT2) < 1e-9);
});

test('a cancel during the first seed stops the group: no later seed starts', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-group-cancel-'));
  const { handle, messages } = run(writeConfig(dir, { repeats: 3 }, 20, 2000), path.join(dir, 'runs'), (m, h) => {
    if (m.type === 'progress' && m.epoch === 2) h.cancel(5000);
  });
  const done = await handle.done;
  assert.equal(done.status, 'cancelled');
  const runs = created(messages);
  assert.equal(runs.length, 1);
  assert.deepEqual(runs[0].group!.seeds, [42, 43, 44]);
  assert.equal(readManifest(runs[0].runDir)!.status, 'cancelled');
  assert.deepEqual(messages.at(-1), { type: 'groupDone', groupId: runs[0].group!.id, seeds: [42, 43, 44], runIds: [runs[0].runId], status: 'cancelled' });
  assert.deepEqual(fs.readdirSync(path.join(dir, 'runs')), [runs[0].runId]);
});

test('a seed that fails fails the group there, with a message that says which seed and what was not run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-group-fail-'));
  // The first seed's run folder deleted under it: that run fails (nothing more can be recorded).
  const { handle, messages } = run(writeConfig(dir, { seeds: [1, 2, 3] }, 20, 2000), path.join(dir, 'runs'), (m) => {
    if (m.type === 'progress' && m.epoch === 2) {
      const first = created(messages)[0];
      if (fs.existsSync(first.runDir)) fs.rmSync(first.runDir, { recursive: true, force: true });
    }
  });
  const done = await handle.done;
  assert.equal(done.status, 'failed');
  assert.match(done.error!, /^seed 1 \(1 of 3\) failed: the run folder .* was deleted or moved while the run was going; nothing more is recorded; 2 later seeds not run$/);
  assert.equal(created(messages).length, 1);
  assert.equal(messages.filter((m) => m.type === 'done').length, 1);
});

test('distill run prints each seed and the mean ± std table; distill list shows the group as one line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-group-cli-'));
  writeConfig(dir, { seeds: [1, 2] });
  const cli = (args: string[]) => spawnSync(process.execPath, [path.resolve('dist/cli.js'), ...args], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  const r = cli(['run', 'group.distill.json']);
  assert.equal(r.status, 0, r.stderr);
  const seedLines = r.stdout.split('\n').filter((l) => /^seed \d: /.test(l));
  assert.equal(seedLines.length, 2, r.stdout);
  // Each seed's line as its run ends, with the numbers its manifest recorded.
  const runsDir = path.join(dir, '.distill', 'runs');
  const manifests = fs.readdirSync(runsDir).sort().map((id) => readManifest(path.join(runsDir, id))!);
  manifests.forEach((m, i) => {
    const { teacher, baseline, student } = m.results;
    assert.ok(seedLines[i].startsWith(`seed ${i + 1}: teacher ${teacher!.testErrors} · baseline ${baseline!.testErrors} · student ${student!.testErrors} test errors of 200`), seedLines[i]);
  });
  // The table: mean ± sample std computed here from the two runs.
  const mean = (k: 'teacher' | 'baseline' | 'student') => (manifests[0].results[k]!.testErrors + manifests[1].results[k]!.testErrors) / 2;
  const std = (k: 'teacher' | 'baseline' | 'student') => Math.abs(manifests[0].results[k]!.testErrors - manifests[1].results[k]!.testErrors) / Math.SQRT2;
  assert.match(r.stdout, /over 2 of 2 seeds \(1, 2\): mean ± std \(sample, n − 1\)/);
  for (const k of ['teacher', 'baseline', 'student'] as const) {
    assert.match(r.stdout, new RegExp(`^${k}\\s+${mean(k).toFixed(1)} ± ${std(k).toFixed(1)} / 200\\s`, 'm'));
  }
  const list = cli(['list']);
  assert.equal(list.status, 0);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 1, list.stdout);
  assert.match(lines[0], new RegExp(`^${manifests[0].id}\\s+done, 2 seeds\\s+student ${mean('student').toFixed(1)} ± ${std('student').toFixed(1)} errors · baseline .* \\(2 of 2 seeds\\)$`));
  const withSeeds = cli(['list', '--seeds']).stdout.trim().split('\n');
  assert.equal(withSeeds.length, 3);
  assert.match(withSeeds[2], new RegExp(`^  ${manifests[1].id}\\s+done\\s+seed 2: student `));
});

test('an online group\'s table lists every peer and its alone-trained twin by id and label, mean ± std from the manifests', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-group-online-'));
  // group.distill.json with the online mode (the spread keeps every other field as writeConfig writes it).
  const file = writeConfig(dir, { seeds: [1, 2] });
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.distillation = { mode: 'online', temperature: 1, losses: [{ type: 'ce', weight: 1 }, { type: 'kd', weight: 1 }] };
  fs.writeFileSync(file, JSON.stringify(config));
  const r = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'run', 'group.distill.json'], { cwd: dir, encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, r.stderr);
  const runsDir = path.join(dir, '.distill', 'runs');
  const manifests = fs.readdirSync(runsDir).sort().map((id) => readManifest(path.join(runsDir, id))!);
  const table = r.stdout.slice(r.stdout.indexOf('over 2 of 2 seeds'));
  const labels: Record<string, string> = { 'peer1-alone': 'peer 1 (teacher) alone', 'peer2-alone': 'peer 2 (student) alone', peer1: 'peer 1 (teacher)', peer2: 'peer 2 (student)' };
  const rows = table.split('\n').filter((l) => /^peer/.test(l));
  assert.deepEqual(rows.map((l) => l.split(/\s+/)[0]), Object.keys(labels), table);
  for (const row of rows) {
    const id = row.split(/\s+/)[0];
    const [a, b] = manifests.map((m) => m.results.models![id].testErrors);
    assert.ok(row.includes(`${((a + b) / 2).toFixed(1)} ± ${(Math.abs(a - b) / Math.SQRT2).toFixed(1)} / 200`), row);
    assert.ok(row.endsWith(`  ${labels[id]}`), row);
  }
  assert.doesNotMatch(table, /no gap to close/, 'online peers have no baseline → teacher gap to speak of');
  fs.rmSync(dir, { recursive: true, force: true });
});
