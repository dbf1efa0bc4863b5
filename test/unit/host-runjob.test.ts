// RunJob and RunQueue — the run manager's logic without VS Code — driving core's real
// startTrainer (fork + IPC + cancel-then-kill) against a small fake trainer script.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readManifest } from '../../src/core/runStore';
import { type JobChange, planStages, RunJob } from '../../src/host/runJob';
import { RunQueue } from '../../src/host/runQueue';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-host-job-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

// FAKE_MODE: ok (two stages, done) | crash (exits after creating the run) | stubborn (ignores cancel) | slow (runs until cancelled)
const fakeTrainer = path.join(tmp, 'fake-trainer.js');
fs.writeFileSync(
  fakeTrainer,
  `
const fs = require('fs'), path = require('path');
const mode = process.env.FAKE_MODE;
const send = (m) => process.send(m);
let runDir;
const manifest = (status, extra) => fs.writeFileSync(path.join(runDir, 'manifest.json'), JSON.stringify({ id: 'r1', name: 'fake', configPath: 'c', configHash: 'h', status, startedAt: new Date().toISOString(), versions: {}, seed: 1, results: {}, pid: process.pid, ...extra }));
process.on('message', async (m) => {
  if (m.type === 'cancel') {
    if (mode === 'stubborn') return;
    manifest('cancelled');
    send({ type: 'done', runId: 'r1', status: 'cancelled', results: {} });
    setTimeout(() => process.exit(0), 20);
    return;
  }
  runDir = path.join(m.runsDir, 'r1');
  fs.mkdirSync(runDir, { recursive: true });
  manifest('running');
  send({ type: 'ready', backend: 'cpu' });
  send({ type: 'runCreated', runId: 'r1', runDir });
  send({ type: 'log', level: 'info', message: 'hello from the fake' });
  process.stderr.write('a warning\\nsplit ');
  process.stderr.write('line\\n');
  if (mode === 'crash') setTimeout(() => process.exit(7), 50);
  if (mode === 'slow' || mode === 'stubborn') {
    send({ type: 'stage', stage: 'teacher', epochs: 100, stepsPerEpoch: 10 });
    setInterval(() => send({ type: 'progress', stage: 'teacher', epoch: 1, epochs: 100, step: 1, steps: 10, loss: 1 }), 50);
    return;
  }
  if (mode !== 'ok') return;
  for (const stage of ['teacher', 'student']) {
    send({ type: 'stage', stage, epochs: 2, stepsPerEpoch: 4 });
    for (let e = 1; e <= 2; e++) for (let s = 1; s <= 4; s++) send({ type: 'progress', stage, epoch: e, epochs: 2, step: s, steps: 4, loss: 1 / s });
  }
  const results = { student: { testAccuracy: 0.98, testErrors: 2, testCount: 100, params: 10, flops: 10, latencyMs: 0.1 } };
  manifest('done', { results });
  send({ type: 'done', runId: 'r1', status: 'done', results });
  setTimeout(() => process.exit(0), 20);
});
`,
);

const plan = [
  { stage: 'teacher' as const, epochs: 2 },
  { stage: 'student' as const, epochs: 2 },
];

function launch(job: RunJob, mode: string, runsDir = fs.mkdtempSync(path.join(tmp, 'runs-'))) {
  const logs: string[] = [];
  const stderr: string[] = [];
  job.start({
    request: { type: 'start', configPath: path.join(tmp, 'x.distill.json'), runsDir, backend: 'cpu' },
    trainerScript: fakeTrainer,
    env: { FAKE_MODE: mode },
    onLog: (level, m) => logs.push(`${level}:${m}`),
    onStderr: (t) => stderr.push(t),
  });
  return { logs, stderr, runsDir };
}

test('a run goes queued → running → ended, with its run folder, progress and log', async () => {
  const job = new RunJob('/x.distill.json', 'fake', plan);
  const changes: JobChange[] = [];
  job.onDidChange((c) => changes.push(c));
  const messages: string[] = [];
  job.onDidMessage((m) => messages.push(m.type));
  const fractions: number[] = [];
  job.onDidChange((c) => c === 'progress' && fractions.push(job.fraction()));
  assert.equal(job.state, 'queued');
  const { logs, stderr } = launch(job, 'ok');
  const outcome = await job.done;
  assert.equal(outcome.status, 'done');
  assert.equal(outcome.runId, 'r1');
  assert.ok(outcome.runDir?.endsWith('r1'));
  assert.equal(job.state, 'ended');
  assert.equal(job.backend, 'cpu');
  assert.deepEqual(logs, ['info:hello from the fake']);
  assert.equal(stderr.join(''), 'a warning\nsplit line\n');
  assert.ok(changes.includes('run') && changes.includes('stage'));
  assert.equal(changes[0], 'state');
  assert.equal(changes.at(-1), 'state');
  // Over both stages the fraction rises monotonically to 1.
  assert.deepEqual(fractions, [...fractions].sort((a, b) => a - b));
  assert.equal(fractions.at(-1), 1);
  assert.equal(fractions[3], 0.25); // teacher epoch 1, step 4 of 4 = 1 of 4 planned epochs
  // Every trainer message is passed on, in order (the result panels wake up on them).
  assert.deepEqual(messages.slice(0, 4), ['ready', 'runCreated', 'log', 'stage']);
  assert.equal(messages.filter((t) => t === 'progress').length, 16);
  assert.equal(messages.at(-1), 'done');
});

test('a trainer crash ends the run as failed with the reason, and marks its manifest', async () => {
  const job = new RunJob('/x.distill.json', 'fake', plan);
  const { runsDir } = launch(job, 'crash');
  const outcome = await job.done;
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.error ?? '', /exited unexpectedly \(code 7\)/);
  assert.equal(readManifest(path.join(runsDir, 'r1'))?.status, 'failed');
});

test('cancel: a cooperative trainer stops at once; a stubborn one is killed within 2 s', async () => {
  const polite = new RunJob('/x.distill.json', 'fake', plan);
  launch(polite, 'slow');
  await new Promise<void>((r) => polite.onDidChange((c) => c === 'progress' && r()));
  let t0 = Date.now();
  polite.cancel();
  assert.equal(polite.cancelling, true);
  assert.equal((await polite.done).status, 'cancelled');
  assert.ok(Date.now() - t0 < 1000, `took ${Date.now() - t0} ms`);

  const stubborn = new RunJob('/x.distill.json', 'fake', plan);
  const { runsDir } = launch(stubborn, 'stubborn');
  await new Promise<void>((r) => stubborn.onDidChange((c) => c === 'progress' && r()));
  t0 = Date.now();
  stubborn.cancel();
  const outcome = await stubborn.done;
  const ms = Date.now() - t0;
  assert.equal(outcome.status, 'cancelled');
  assert.ok(ms >= 1900 && ms < 3000, `killed after ${ms} ms`);
  assert.equal(readManifest(path.join(runsDir, 'r1'))?.status, 'cancelled');
});

test('a queued job cancelled before it starts never forks a trainer', async () => {
  let started = 0;
  const job = new RunJob('/x.distill.json', 'fake', plan, () => {
    started++;
    throw new Error('must not start');
  });
  job.cancel();
  assert.equal((await job.done).status, 'cancelled');
  job.start({ request: { type: 'start', configPath: 'x', runsDir: tmp, backend: 'cpu' }, trainerScript: fakeTrainer });
  assert.equal(started, 0);
});

test('a trainer that cannot be started fails the job instead of throwing', async () => {
  const job = new RunJob('/x.distill.json', 'fake', plan, () => {
    throw new Error('spawn EACCES');
  });
  job.start({ request: { type: 'start', configPath: 'x', runsDir: tmp, backend: 'cpu' }, trainerScript: fakeTrainer });
  const outcome = await job.done;
  assert.equal(outcome.status, 'failed');
  assert.match(outcome.error ?? '', /cannot start the trainer: spawn EACCES/);
});

test('the queue runs at most `concurrency` jobs, in order, and skips cancelled ones', async () => {
  const started: string[] = [];
  const finishers = new Map<string, () => void>();
  const fakeStart = (name: string) => () => {
    started.push(name);
    let exit!: () => void;
    const done = new Promise<{ type: 'done'; runId: string; status: 'done'; results: object }>((r) => (exit = () => r({ type: 'done', runId: name, status: 'done', results: {} })));
    finishers.set(name, exit);
    return { process: undefined as never, done, cancel: () => exit() };
  };
  const jobs = ['a', 'b', 'c', 'd'].map((n) => new RunJob(`/${n}.distill.json`, n, plan, fakeStart(n)));
  const queue = new RunQueue(2, (job) => job.start({ request: { type: 'start', configPath: job.configPath, runsDir: tmp, backend: 'cpu' }, trainerScript: '' }));
  jobs.forEach((j) => queue.enqueue(j));
  assert.deepEqual(started, ['a', 'b']);
  assert.equal(queue.position(jobs[2]), 0);
  assert.equal(queue.position(jobs[3]), 1);
  jobs[2].cancel(); // c leaves the queue without starting
  finishers.get('a')!();
  await jobs[0].done;
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(started, ['a', 'b', 'd']);
  assert.equal((await jobs[2].done).status, 'cancelled');
  queue.setConcurrency(1);
  finishers.get('b')!();
  finishers.get('d')!();
  await Promise.all(jobs.map((j) => j.done));
  await new Promise((r) => setImmediate(r));
  assert.equal(queue.jobs.length, 0);
  queue.dispose();
});

test('planStages: teacher (if trained), baseline (if asked), student; online peers train as one stage', () => {
  const training = { epochs: 3 };
  const base = { teacher: { source: 'train', training: { epochs: 5 } }, training, baseline: true, distillation: {} };
  assert.deepEqual(planStages(base as never), [
    { stage: 'teacher', epochs: 5 },
    { stage: 'baseline', epochs: 3 },
    { stage: 'student', epochs: 3 },
  ]);
  assert.deepEqual(planStages({ ...base, teacher: { source: 'file' }, baseline: false } as never), [{ stage: 'student', epochs: 3 }]);
  const online = { ...base, distillation: { mode: 'online', peers: [{}] } };
  assert.deepEqual(planStages(online as never), [
    { stage: 'peer1-alone', epochs: 3 },
    { stage: 'peer2-alone', epochs: 3 },
    { stage: 'peer3-alone', epochs: 3 },
    { stage: 'peers', epochs: 3 },
  ]);
});

test('the time left: the current stage at its pace, plus the stages still to come', () => {
  let now = 0;
  let send!: (m: import('../../src/core/protocol').TrainerToHost) => void;
  const job = new RunJob(
    '/x.distill.json',
    'fake',
    [
      { stage: 'teacher', epochs: 2 },
      { stage: 'baseline', epochs: 1 },
      { stage: 'student', epochs: 1 },
    ],
    (_request, opts) => {
      send = (m) => opts.onMessage?.(m);
      return { process: undefined as never, done: new Promise(() => {}), cancel: () => {} };
    },
    () => now,
  );
  job.start({ request: { type: 'start', configPath: 'x', runsDir: tmp, backend: 'cpu' }, trainerScript: fakeTrainer });
  now = 1000;
  send({ type: 'stage', stage: 'teacher', epochs: 2, stepsPerEpoch: 100 });
  now = 1500;
  send({ type: 'progress', stage: 'teacher', epoch: 1, epochs: 2, step: 10, steps: 100, loss: 1 });
  assert.equal(job.progress.etaMs, undefined, 'no estimate from half a second');
  now = 1000 + 5000;
  send({ type: 'progress', stage: 'teacher', epoch: 1, epochs: 2, step: 50, steps: 100, loss: 1 });
  // 100 ms a step: 150 teacher steps left + 2 later epochs of 100 steps.
  assert.equal(Math.round(job.progress.etaMs!), 35_000);
});

test("the trainer's plan replaces the job's: progress counts its stages, a joint stage once", () => {
  let send!: (m: import('../../src/core/protocol').TrainerToHost) => void;
  const job = new RunJob('/x.distill.json', 'fake', [{ stage: 'student', epochs: 1 }], (_request, opts) => {
    send = (m) => opts.onMessage?.(m);
    return { process: undefined as never, done: new Promise(() => {}), cancel: () => {} };
  });
  job.start({ request: { type: 'start', configPath: 'x', runsDir: tmp, backend: 'cpu' }, trainerScript: fakeTrainer });
  const models = [
    ...[1, 2, 3].map((i) => ({ id: `peer${i}-alone`, role: 'baseline' as const, label: `peer ${i} alone`, trained: true, epochs: 2 })),
    ...[1, 2, 3].map((i) => ({ id: `peer${i}`, role: 'peer' as const, label: `peer ${i}`, trained: true, epochs: 2, stage: 'peers', baseline: `peer${i}-alone` })),
  ];
  send({ type: 'plan', models });
  assert.deepEqual(job.models, models);
  assert.deepEqual(job.plan, [
    { stage: 'peer1-alone', epochs: 2 },
    { stage: 'peer2-alone', epochs: 2 },
    { stage: 'peer3-alone', epochs: 2 },
    { stage: 'peers', epochs: 2 },
  ]);
  // Halfway through the joint stage: 3 alone stages of 2 epochs done and 1 of its 2 epochs, of 8.
  send({ type: 'stage', stage: 'peers', epochs: 2, stepsPerEpoch: 10 });
  send({ type: 'progress', stage: 'peers', epoch: 2, epochs: 2, step: 0, steps: 10, loss: 1 });
  assert.equal(job.fraction(), 7 / 8);
});
