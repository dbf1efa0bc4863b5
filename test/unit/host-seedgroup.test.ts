// A seed group as one job of the host (RunJob, no VS Code): its progress over all seeds, the time
// left for the seeds to come, the progress text, its outcome, and its row in the tree.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Manifest, RunGroup, TrainerToHost } from '../../src/core/protocol';
import { summarizeSeedGroup } from '../../src/core/seedGroups';
import { groupDescription, groupTooltip, progressText } from '../../src/host/runFormat';
import { RunJob } from '../../src/host/runJob';

function fakeJob() {
  let now = 0;
  let send!: (m: TrainerToHost) => void;
  let resolveDone!: (d: Extract<TrainerToHost, { type: 'done' }>) => void;
  const job = new RunJob(
    '/x.distill.json',
    'fake',
    [
      { stage: 'teacher', epochs: 1 },
      { stage: 'student', epochs: 1 },
    ],
    (_request, opts) => {
      send = (m) => opts.onMessage?.(m);
      return { process: undefined as never, done: new Promise((r) => (resolveDone = r)), cancel: () => {} };
    },
    () => now,
  );
  job.start({ request: { type: 'start', configPath: 'x', runsDir: '/tmp', backend: 'cpu' }, trainerScript: 'unused' });
  return { job, send: (m: TrainerToHost) => send(m), setNow: (t: number) => (now = t), end: (d: Extract<TrainerToHost, { type: 'done' }>) => resolveDone(d) };
}

const group = (index: number): RunGroup => ({ id: 'g', index, seeds: [1, 2, 3] });

test('a seed group is one job: the fraction runs over all seeds, the time left counts the seeds to come', async () => {
  const { job, send, setNow, end } = fakeJob();
  // (Time 0 means "not started" to the estimate: the clock starts at 1 s.)
  setNow(1000);
  send({ type: 'runCreated', runId: 'r1', runDir: '/runs/r1', group: group(0) });
  assert.equal(job.fraction(), 0);
  send({ type: 'stage', stage: 'teacher', epochs: 1, stepsPerEpoch: 100 });
  setNow(6000);
  send({ type: 'progress', stage: 'teacher', epoch: 1, epochs: 1, step: 50, steps: 100, loss: 1 });
  // Seed 1 of 3, half of its first of two stages: 1/4 of a run = 1/12 of the group.
  assert.ok(Math.abs(job.fraction() - 1 / 12) < 1e-12);
  // 100 ms a step: 50 teacher steps + 100 student steps left = 15 s; the run so far 5 s, so
  // a run takes ~20 s, and two more seeds are to come: 15 + 2 × 20 = 55 s.
  assert.equal(Math.round(job.progress.etaMs!), 55_000);
  assert.equal(progressText(job.progress, true), 'seed 1/3 · teacher 1/1 · 50/100 · ~55 s left');
  send({ type: 'done', runId: 'r1', status: 'done', results: {} });

  // Seed 2 starts 20 s after seed 1: runs now take 20 s as measured.
  setNow(21_000);
  send({ type: 'runCreated', runId: 'r2', runDir: '/runs/r2', group: group(1) });
  assert.equal(job.runDir, '/runs/r2');
  assert.ok(Math.abs(job.fraction() - 1 / 3) < 1e-12);
  send({ type: 'stage', stage: 'student', epochs: 1, stepsPerEpoch: 100 });
  setNow(26_000);
  send({ type: 'progress', stage: 'student', epoch: 1, epochs: 1, step: 50, steps: 100, loss: 1 });
  // 50 student steps at 100 ms + one more seed of 20 s.
  assert.equal(Math.round(job.progress.etaMs!), 25_000);
  assert.ok(Math.abs(job.fraction() - (1 + 0.75) / 3) < 1e-12);
  assert.equal(progressText(job.progress), 'seed 2/3 · student · epoch 1/1 · step 50/100 · ~25 s left');

  end({ type: 'done', runId: 'r2', status: 'cancelled', results: {} });
  const outcome = await job.done;
  assert.equal(outcome.status, 'cancelled');
  assert.deepEqual(outcome.groupRunDirs, ['/runs/r1', '/runs/r2']);
  assert.equal(outcome.runDir, '/runs/r2');
});

test('a single run has no seed in its progress and no group in its outcome', async () => {
  const { job, send, end } = fakeJob();
  send({ type: 'runCreated', runId: 'r1', runDir: '/runs/r1' });
  send({ type: 'stage', stage: 'teacher', epochs: 1, stepsPerEpoch: 10 });
  assert.equal(progressText(job.progress, true), 'teacher 1/1 · 0/10');
  end({ type: 'done', runId: 'r1', status: 'done', results: {} });
  assert.equal((await job.done).groupRunDirs, undefined);
});

test('the tree row of a group: the student errors and the gap closed as mean ± std; progress while it runs', () => {
  const result = (t: number, b: number, s: number) => {
    const m = (e: number) => ({ testErrors: e, testCount: 500, testAccuracy: 1 - e / 500, params: 1, flops: 1, latencyMs: 1 });
    return { teacher: m(t), baseline: m(b), student: m(s), gapRecovered: (b - s) / (b - t) };
  };
  const manifest = (index: number, status: 'done' | 'running' | 'failed', results = {}, error?: string): Manifest => ({
    id: `r${index}`, name: 'g', configPath: '/x', configHash: 'h', status, startedAt: `2026-01-01T00:0${index}:00Z`, versions: {},
    seed: index + 1, group: group(index), results, ...(error ? { error } : {}),
  });
  // student 20, 24 → 22 ± 2.83; gaps (30−20)/(30−10) = 0.5 and (30−24)/(30−10) = 0.3 → 40 ± 14%.
  const two = [manifest(0, 'done', result(10, 30, 20)), manifest(1, 'done', result(10, 30, 24))];
  const running = summarizeSeedGroup([...two, manifest(2, 'running')]);
  assert.equal(groupDescription(running), '2/3 done · S 22.0 ± 2.8 err · gap 40 ± 14%');
  assert.equal(groupDescription(running, { stage: 'student', epoch: 1, epochs: 2, step: 3, steps: 10, seed: { index: 2, count: 3 } }), 'seed 3/3 · student 1/2 · 3/10');
  const failed = summarizeSeedGroup([...two, manifest(2, 'failed', {}, 'disk full\nmore')]);
  assert.equal(groupDescription(failed), 'failed: disk full · 2/3 done · S 22.0 ± 2.8 err · gap 40 ± 14%');
  const done = summarizeSeedGroup([...two, manifest(2, 'done', result(10, 30, 22))]);
  // student 20, 24, 22 → 22 ± 2; gaps 0.5, 0.3, 0.4 → 40 ± 10%.
  assert.equal(groupDescription(done), 'S 22.0 ± 2.0 err · gap 40 ± 10%');
  const tooltip = groupTooltip(done);
  assert.match(tooltip, /seed group of 3 \(1, 2, 3\)/);
  assert.match(tooltip, /- student: 22\.0 ± 2\.0 of 500 \(4\.40 ± 0\.40%\)/);
  assert.match(tooltip, /- teacher: 10\.0 ± 0\.0 of 500/);
  assert.match(tooltip, /- seed 2: S 4\.8 · B 6\.0 · T 2\.0 % err/);
});
