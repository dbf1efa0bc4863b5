import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseConfig, type ValidationEnv } from '../../src/core/config/parse';
import type { Manifest, ModelResult, RunStatus } from '../../src/core/protocol';
import { manifestProblem } from '../../src/core/runStore';
import { configForSeed, formatGapSpread, formatSpread, groupEntries, groupSeeds, meanStd, spreadCurve, summarizeGroupLine, summarizeSeedGroup } from '../../src/core/seedGroups';

const FILE = '/cfg/x.distill.json';
const anyFile: ValidationEnv = { fileExists: () => true };

/** A small valid config with `extra` as its first keys (line 2 on). */
const config = (extra: string) => `{
${extra}
  "name": "g",
  "data": { "dataset": "mnist", "testSize": 500 },
  "teacher": { "model": { "type": "mlp", "hidden": [32] }, "training": { "epochs": 1, "optimizer": { "type": "sgd", "lr": 0.1 } } },
  "student": { "model": { "type": "mlp", "hidden": [16] } },
  "distillation": { "temperature": 4, "losses": [{ "type": "kd", "weight": 1 }] },
  "training": { "epochs": 1, "optimizer": { "type": "sgd", "lr": 0.1 } }
}`;
const printed = (extra: string) => parseConfig(config(extra), FILE, anyFile).problems.map(formatProblem);

// ---- config ---------------------------------------------------------------------------------

test('seeds and repeats give the group seeds; without them a config is one run', () => {
  const parse = (extra: string) => parseConfig(config(extra), FILE, anyFile).config!;
  assert.deepEqual(groupSeeds(parse('"seeds": [3, 1, 2],')), [3, 1, 2]);
  assert.deepEqual(groupSeeds(parse('"seed": 7, "repeats": 3,')), [7, 8, 9]);
  assert.deepEqual(groupSeeds(parse('"repeats": 2,')), [42, 43]); // from the default seed
  assert.equal(groupSeeds(parse('"seed": 7,')), undefined);
  const one = configForSeed(parse('"seeds": [5, 6],'), 6);
  assert.equal(one.seed, 6);
  assert.ok(!('seeds' in one) && !('repeats' in one));
});

test('seeds: both seeds and repeats is an error at the second; repeated seeds, bounds, an ignored seed', () => {
  assert.deepEqual(printed('"seeds": [1, 2], "repeats": 3,'), [
    '/cfg/x.distill.json:2:18: error: repeats: give either seeds (the list) or repeats (seed, seed+1, …), not both; seeds is already given',
  ]);
  assert.deepEqual(printed('"repeats": 3, "seeds": [1, 2],'), [
    '/cfg/x.distill.json:2:15: error: seeds: give either seeds (the list) or repeats (seed, seed+1, …), not both; repeats is already given',
  ]);
  assert.deepEqual(printed('"seeds": [1, 2, 1],'), ['/cfg/x.distill.json:2:17: error: seeds[2]: seed 1 is already seeds[0]; a repeated seed repeats the same run']);
  assert.deepEqual(printed('"seed": 4, "seeds": [1],'), ['/cfg/x.distill.json:2:1: warning: seed: ignored because seeds is given']);
  assert.match(printed('"seeds": [],')[0], /seeds: .*at least 1/);
  assert.match(printed(`"seeds": [${Array.from({ length: 21 }, (_, i) => i).join(', ')}],`)[0], /seeds: .*at most 20/);
  assert.match(printed('"repeats": 0,')[0], /repeats: .*at least 1/);
  assert.match(printed('"seeds": [1.5],')[0], /seeds\[0\]: .*integer/);
  assert.deepEqual(printed('"seed": 4294967295, "repeats": 2,'), [
    '/cfg/x.distill.json:2:32: error: repeats: seeds 4294967295 … 4294967296 go past the largest seed, 4294967295; use a smaller seed',
  ]);
});

// ---- aggregation ----------------------------------------------------------------------------

const model = (testErrors: number, testCount = 1000): ModelResult => ({
  testErrors,
  testCount,
  testAccuracy: 1 - testErrors / testCount,
  params: 1,
  flops: 1,
  latencyMs: 1,
});

function run(index: number, status: RunStatus, errors?: { t: number; b: number; s: number }, gap?: number, group = 'g1', seeds = [1, 2, 3]): Manifest {
  return {
    id: `run-${group}-${index}`,
    name: 'g',
    configPath: '/cfg/x.distill.json',
    configHash: 'h',
    status,
    startedAt: `2026-01-01T00:0${index}:00.000Z`,
    versions: {},
    seed: seeds[index],
    group: { id: group, index, seeds },
    results: errors ? { teacher: model(errors.t), baseline: model(errors.b), student: model(errors.s), ...(gap !== undefined ? { gapRecovered: gap } : {}) } : {},
  };
}

test('meanStd is the mean and the sample (n − 1) standard deviation', () => {
  // 70, 72, 77: mean 73; deviations −3, −1, 4; squares 9 + 1 + 16 = 26; 26 / 2 = 13.
  const s = meanStd([70, 72, 77])!;
  assert.equal(s.mean, 73);
  assert.ok(Math.abs(s.std! - Math.sqrt(13)) < 1e-12);
  assert.equal(s.n, 3);
  assert.deepEqual(meanStd([5]), { mean: 5, n: 1 });
  assert.equal(meanStd([]), undefined);
});

test('a group summary: mean ± std of each model and of the gap closed, over the finished runs', () => {
  // Given out of order: the summary puts runs in seed order.
  const g = summarizeSeedGroup([
    run(2, 'done', { t: 66, b: 80, s: 77 }, 0.75),
    run(0, 'done', { t: 64, b: 84, s: 70 }, 0.5),
    run(1, 'done', { t: 65, b: 82, s: 72 }, 0.25),
  ]);
  assert.equal(g.id, 'g1');
  assert.deepEqual(g.seeds, [1, 2, 3]);
  assert.deepEqual(g.runs.map((m) => m.seed), [1, 2, 3]);
  assert.equal(g.status, 'done');
  assert.equal(g.finished, 3);
  // student 70, 72, 77 → 73 ± √13; baseline 84, 82, 80 → 82 ± 2 (deviations ±2, 0: 8 / 2 = 4);
  // teacher 64, 65, 66 → 65 ± 1; gap 0.5, 0.25, 0.75 → 0.5 ± 0.25 (0.0625 · 2 / 2).
  assert.equal(g.models.student.testErrors.mean, 73);
  assert.ok(Math.abs(g.models.student.testErrors.std! - 3.605551275463989) < 1e-12);
  assert.deepEqual(g.models.baseline.testErrors, { mean: 82, std: 2, n: 3 });
  assert.deepEqual(g.models.teacher.testErrors, { mean: 65, std: 1, n: 3 });
  assert.equal(g.models.student.testCount, 1000);
  assert.ok(Math.abs(g.models.student.testAccuracy.mean - 0.927) < 1e-12);
  assert.ok(Math.abs(g.models.student.testAccuracy.std! - Math.sqrt(13) / 1000) < 1e-12);
  assert.deepEqual(g.gapRecovered, { mean: 0.5, std: 0.25, n: 3 });
  assert.equal(formatSpread(g.models.student.testErrors), '73.0 ± 3.6');
  assert.equal(formatGapSpread(g.gapRecovered!), '50 ± 25%');
  assert.equal(summarizeGroupLine(g), 'student 73.0 ± 3.6 errors · baseline 82.0 ± 2.0 · teacher 65.0 ± 1.0 · gap closed 50 ± 25% (3 of 3 seeds)');
});

test('a group still going, stopped or failed: its status, and statistics over the finished runs only', () => {
  const going = summarizeSeedGroup([run(0, 'done', { t: 64, b: 84, s: 70 }, 0.7), run(1, 'running')]);
  assert.equal(going.status, 'running');
  assert.equal(going.finished, 1);
  assert.deepEqual(going.models.student.testErrors, { mean: 70, n: 1 });
  assert.equal(formatSpread(going.models.student.testErrors), '70.0');
  assert.equal(summarizeGroupLine(going), 'student 70.0 errors · baseline 84.0 · teacher 64.0 · gap closed 70% (1 of 3 seeds)');
  // A cancelled run keeps its partial results out of the statistics.
  const cancelled = summarizeSeedGroup([run(0, 'done', { t: 64, b: 84, s: 70 }), run(1, 'cancelled', { t: 1, b: 1, s: 1 })]);
  assert.equal(cancelled.status, 'cancelled');
  assert.equal(cancelled.models.teacher.testErrors.mean, 64);
  assert.equal(summarizeSeedGroup([run(0, 'done', { t: 64, b: 84, s: 70 }), run(1, 'failed')]).status, 'failed');
  // The gap closed is averaged only where the teacher beat its baseline (run 1: 90 > 84, no gap).
  const noGap = summarizeSeedGroup([run(0, 'done', { t: 64, b: 84, s: 70 }, 0.7), run(1, 'done', { t: 90, b: 84, s: 80 }, -0.67), run(2, 'done', { t: 60, b: 80, s: 70 }, 0.5)]);
  assert.deepEqual(noGap.gapRecovered?.n, 2);
  assert.ok(Math.abs(noGap.gapRecovered!.mean - 0.6) < 1e-12);
  assert.match(summarizeGroupLine(noGap), /gap closed 60 ± 14% \(2 with a gap\) \(3 of 3 seeds\)$/);
  // Every run there is done but seeds are missing: stopped between two runs.
  assert.equal(summarizeSeedGroup([run(0, 'done', { t: 64, b: 84, s: 70 })]).status, 'cancelled');
});

test('groupEntries gathers each group where its newest run is and keeps single runs in place', () => {
  const single: Manifest = { ...run(0, 'done'), id: 'single', group: undefined };
  // Newest first, as listings are.
  const listed = [run(1, 'running', undefined, undefined, 'g2'), run(0, 'done', undefined, undefined, 'g2'), single, run(2, 'done'), run(0, 'done'), run(1, 'done')];
  const grouped = groupEntries(listed, (m) => m);
  assert.deepEqual(
    grouped.map((e) => (e.kind === 'run' ? e.entry.id : `${e.id}: ${e.entries.map((m) => m.group!.index).join(',')}`)),
    ['g2: 0,1', 'single', 'g1: 0,1,2'],
  );
});

test('a manifest whose group is malformed is damaged, with the reason; a well-formed one is not', () => {
  assert.equal(manifestProblem(run(0, 'done')), undefined);
  for (const group of ['g', null, { id: 1, index: 0, seeds: [1] }, { id: 'g', index: 0.5, seeds: [1] }, { id: 'g', index: 0, seeds: '1,2' }, { id: 'g', index: 0, seeds: [1, 'x'] }]) {
    assert.equal(manifestProblem({ ...run(0, 'done'), group }), 'manifest.json: group is not { id, index, seeds }', JSON.stringify(group));
  }
});

test('spreadCurve: per x the mean and mean ± sample std over the runs that have a value', () => {
  // x0: 0.90, 0.92, 0.97 → mean 0.93, std √((0.03² + 0.01² + 0.04²)/2) = √0.0013; x1: one run left; x2: none.
  const c = spreadCurve([
    [0.9, null, null],
    [0.92, 0.5],
    [0.97, NaN],
  ]);
  const std = Math.sqrt((0.03 ** 2 + 0.01 ** 2 + 0.04 ** 2) / 2);
  assert.ok(Math.abs(c.mean[0]! - 0.93) < 1e-12);
  assert.ok(Math.abs(c.lower[0]! - (0.93 - std)) < 1e-12 && Math.abs(c.upper[0]! - (0.93 + std)) < 1e-12);
  assert.deepEqual([c.mean[1], c.lower[1], c.upper[1]], [0.5, 0.5, 0.5]);
  assert.deepEqual([c.mean[2], c.lower[2], c.upper[2]], [null, null, null]);
  assert.deepEqual(spreadCurve([]), { mean: [], lower: [], upper: [] });
});
