// The host's pure logic: run descriptions, hint CodeLens texts, the comparison report, templates,
// where runs live, throttling.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { parseConfig } from '../../src/core/config/parse';
import { comparisonText, hasGapLine, headlineModels, headlineNames, modelRows } from '../../src/core/modelRows';
import type { Manifest, ModelResult, RunModel } from '../../src/core/protocol';
import { gapClosedPercent } from '../../src/core/resultFormat';
import { describePairs } from '../../src/host/pairLenses';
import { firstLine, formatDuration, modelDescription, modelTooltip, planText, progressText, runDescription, runTooltip, shortResults, shortTime } from '../../src/host/runFormat';
import { configStem, isConfigPath, isInside, resolveRunsDir } from '../../src/host/runsLocation';
import { formatJson, TEMPLATES, templateText } from '../../src/host/templates';
import { throttle } from '../../src/host/throttle';
import { isModelInfo, listArtifacts, runChildren } from '../../src/host/treeNodes';
import { describeDataSource } from '../../src/core/data/describe';

const env = defaultNodeEnv({ describeData: describeDataSource });
const result = (errors: number, count = 1000): ModelResult => ({ testAccuracy: 1 - errors / count, testErrors: errors, testCount: count, params: 1000, flops: 2000, latencyMs: 0.5 });
const manifest = (extra: Partial<Manifest> = {}): Manifest => ({
  id: '20250101-120000-quick',
  name: 'quick',
  configPath: '/ws/quick.distill.json',
  configHash: 'h',
  status: 'done',
  startedAt: '2025-01-01T12:00:00.000Z',
  endedAt: '2025-01-01T12:01:05.000Z',
  versions: {},
  seed: 1,
  results: { teacher: result(15), baseline: result(26), student: result(19) },
  ...extra,
});

test('runDescription: a short result, progress, error, cancellation', () => {
  assert.equal(runDescription(manifest()), 'S 1.9 · B 2.6 · T 1.5 % err');
  assert.equal(shortResults(manifest({ results: { teacher: result(15) } })), 'T 1.5 % err');
  assert.equal(runDescription(manifest({ status: 'running', stage: 'baseline', results: {} })), 'baseline…');
  assert.equal(runDescription(manifest({ status: 'running', results: {} }), { stage: 'teacher', epoch: 2, epochs: 3, step: 5, steps: 10, loss: 0.41234 }), 'teacher 2/3 · 5/10');
  assert.equal(runDescription(manifest({ status: 'failed', error: 'Error: out of memory\n    at x.js:1' })), 'failed: Error: out of memory');
  assert.equal(runDescription(manifest({ status: 'cancelled', results: { teacher: result(15) } })), 'cancelled · T 1.5 % err');
  assert.equal(progressText({}), '');
  // One text for the notification, status bar and CodeLens; a stage just started is in epoch 1, at step 0.
  assert.equal(progressText({ stage: 'teacher', epoch: 0, epochs: 6, step: 0, steps: 469 }), 'teacher · epoch 1/6 · step 0/469');
  assert.equal(progressText({ stage: 'student', epoch: 2, epochs: 6, step: 120, steps: 469, etaMs: 192_000 }), 'student · epoch 2/6 · step 120/469 · ~3 min left');
  assert.equal(progressText({ stage: 'student', epoch: 2, epochs: 6, step: 120, steps: 469, etaMs: 42_000 }, true), 'student 2/6 · 120/469 · ~40 s left');
  // Start times as short as a list needs.
  const now = new Date(2025, 10, 28, 18, 0);
  assert.equal(shortTime(new Date(2025, 10, 28, 14, 2).toISOString(), now), '14:02');
  assert.equal(shortTime(new Date(2025, 10, 3, 9, 5).toISOString(), now), 'Nov 3 09:05');
  assert.equal(shortTime(new Date(2024, 0, 9, 9, 5).toISOString(), now), '2024-01-09 09:05');
  assert.equal(firstLine('\n\nsecond\nthird'), 'second');
  assert.equal(formatDuration(65_000), '1 min 5 s');
  assert.equal(formatDuration(3_720_000), '1 h 2 min');
  const tip = runTooltip(manifest({ results: { ...manifest().results, gapRecovered: 0.64, ratios: { params: 10, flops: 10, latency: 3 } } }));
  assert.match(tip, /student: 1\.9% error \(19\/1000\)/);
  assert.match(tip, /closed 64% of the baseline → teacher error gap/);
  assert.match(tip, /1 min 5 s/);
  // A model that chose on the validation split says which epoch it kept, and on what.
  const student = { ...manifest().results.student!, training: { epochs: 9, keptEpoch: 6, stoppedEarly: true, validationErrors: 31, validationCount: 800 } };
  const chose = runTooltip(manifest({ results: { ...manifest().results, student, models: { ...manifest().results.models, student } } }));
  assert.match(chose, /student: 1\.9% error \(19\/1000\), .* ms; kept epoch 6 of 9 \(fewest validation errors: 31 of 800\), stopped early/);
});

function hints(config: object, file = path.join(os.tmpdir(), 'h.distill.json')) {
  const r = parseConfig(JSON.stringify(config, null, 2), file, env);
  return describePairs(r, env, path.dirname(file));
}

const quick = TEMPLATES.find((t) => t.id === 'quick-mnist')!.config as Record<string, any>;

test('hint CodeLens: the two layers and the connector, from the quick example', () => {
  const [h] = hints(quick);
  assert.equal(h.title, 'hint: student fc1 [64] → linear → teacher fc2 [128]');
  assert.equal(h.isError, false);
  assert.equal(h.index, 2);
});

test('hint CodeLens: conv pairs get a 1×1 conv; equal shapes need none', () => {
  const fashion = TEMPLATES.find((t) => t.id === 'fashion-cnn-hints')!.config;
  assert.equal(hints(fashion)[0].title, 'hint: student conv2 [14×14×16] → conv1x1 → teacher conv2 [14×14×64]');
  const same = structuredClone(quick);
  same.distillation.losses[2] = { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc2' };
  same.student.model.hidden = [128];
  assert.equal(hints(same)[0].title, 'hint: student fc1 [128] → none → teacher fc2 [128]');
});

test('hint CodeLens: an unknown layer or an impossible connector shows the error', () => {
  const bad = structuredClone(quick);
  bad.distillation.losses[2].student = 'fc9';
  const [h] = hints(bad);
  assert.equal(h.isError, true);
  assert.match(h.title, /^hint: ⚠ the student has no layer "fc9"/);
  const mismatch = structuredClone(quick);
  mismatch.distillation.losses[2].connector = 'none';
  assert.match(hints(mismatch)[0].title, /^hint: ⚠ shapes differ/);
  // An error elsewhere: no shapes, but the pair is still named.
  const other = structuredClone(quick);
  other.training.epochs = 0;
  assert.equal(hints(other)[0].title, 'hint: student fc1 → teacher fc2 · shapes appear once the config has no errors');
  // Offsets point at the term's `{`.
  const text = JSON.stringify(quick, null, 2);
  const r = parseConfig(text, '/tmp/q.distill.json', env);
  const [lens] = describePairs(r, env, '/tmp');
  assert.equal(text[lens.offset], '{');
  assert.match(text.slice(lens.offset, lens.offset + 40), /"type": "hint"/);
});

test('the gap closed reads the same everywhere: rounded half away from zero', () => {
  assert.equal(gapClosedPercent(-0.125), '-13%');
  assert.equal(gapClosedPercent(0.125), '13%');
  assert.equal(gapClosedPercent(0.5912), '59%');
  assert.equal(gapClosedPercent(0), '0%');
});

test('templates: the examples, then one per method, valid, renamed, without a $schema, with details that fit the pick', () => {
  const examples = TEMPLATES.filter((t) => !t.id.startsWith('method-'));
  assert.deepEqual(examples.map((t) => t.id), ['quick-mnist', 'hinton-mnist', 'fashion-cnn-hints', 'hinton-ensemble', 'omitted-3', 'dml-mnist', 'byot-fashion-cnn']);
  assert.ok(TEMPLATES.slice(examples.length).every((t) => t.id.startsWith('method-')));
  const files = fs.readdirSync('examples').filter((f) => f.endsWith('.distill.json')).map((f) => f.replace('.distill.json', ''));
  assert.deepEqual(files.filter((f) => !examples.some((t) => t.id === f)), [], 'every example is offered as a template');
  for (const t of TEMPLATES) {
    // A relative $schema copied into a user's folder resolves nowhere and switches completion off.
    assert.equal(t.config.$schema, undefined, `examples/${t.id}.distill.json carries a $schema`);
    assert.ok(t.detail.length <= 60, `${t.id}: detail is ${t.detail.length} characters`);
    const text = templateText(t, 'my-exp');
    const parsed = JSON.parse(text);
    assert.equal(parsed.name, 'my-exp');
    assert.equal(parsed.$schema, undefined);
    assert.deepEqual({ ...parsed, name: t.config.name }, Object.fromEntries(Object.entries(t.config).filter(([k]) => k !== '$schema')));
    const r = parseConfig(text, path.join(os.tmpdir(), 'my-exp.distill.json'), env);
    assert.deepEqual(r.problems, [], t.id);
    assert.ok(Object.keys(parsed).indexOf('name') === 0, 'name keeps its place');
  }
  assert.equal(formatJson({ a: [1, 2], b: { c: 'd' } }), '{ "a": [1, 2], "b": { "c": "d" } }');
  assert.equal(formatJson({ a: 'x'.repeat(130) }), `{\n  "a": "${'x'.repeat(130)}"\n}`);
});

test('runs location: the setting, relative to the workspace folder, else to the config', () => {
  assert.equal(resolveRunsDir(undefined, '/ws', '/ws/sub'), path.resolve('/ws/.distill/runs'));
  assert.equal(resolveRunsDir('  ', '/ws', '/ws/sub'), path.resolve('/ws/.distill/runs'));
  assert.equal(resolveRunsDir('out/runs', '/ws', '/ws/sub'), path.resolve('/ws/out/runs'));
  assert.equal(resolveRunsDir('/abs/runs', '/ws', '/ws/sub'), '/abs/runs');
  assert.equal(resolveRunsDir(undefined, undefined, '/loose'), path.resolve('/loose/.distill/runs'));
  assert.equal(resolveRunsDir('~/runs', '/ws', '/ws'), path.join(os.homedir(), 'runs'));
  assert.ok(isConfigPath('/a/B.Distill.JSON'));
  assert.ok(!isConfigPath('/a/b.json'));
  assert.equal(configStem('/a/quick.distill.json'), 'quick');
  assert.ok(isInside('/ws', '/ws/.distill/runs'));
  assert.ok(!isInside('/ws', '/wsx/runs'));
});

test('throttle: first call at once, a burst folds into one trailing call', async () => {
  let calls = 0;
  const t = throttle(() => calls++, 50);
  t();
  t();
  t();
  assert.equal(calls, 1);
  await new Promise((r) => setTimeout(r, 80));
  assert.equal(calls, 2);
  t();
  t.dispose();
  await new Promise((r) => setTimeout(r, 80));
  assert.ok(calls <= 3);
});

// ---- runs of N models ------------------------------------------------------------------------

/** An online run with 3 peers and their alone-trained baselines, as the trainer records it. */
function onlineManifest(extra: Partial<Manifest> = {}): Manifest {
  const peers = [1, 2, 3].map((i) => ({ i, label: `peer ${i}${i === 1 ? ' (teacher)' : i === 2 ? ' (student)' : ''}` }));
  const models: RunModel[] = [
    ...peers.map(({ i, label }): RunModel => ({ id: `peer${i}-alone`, role: 'baseline', label: `${label} alone`, trained: true, epochs: 2 })),
    ...peers.map(({ i, label }): RunModel => ({ id: `peer${i}`, role: 'peer', label, trained: true, epochs: 2, stage: 'peers', baseline: `peer${i}-alone` })),
  ];
  const errors: Record<string, number> = { 'peer1-alone': 74, 'peer2-alone': 71, 'peer3-alone': 81, peer1: 72, peer2: 77, peer3: 80 };
  const byId = Object.fromEntries(Object.entries(errors).map(([id, e]) => [id, result(e, 300)]));
  return manifest({
    mode: 'online',
    models,
    results: { models: byId, teacher: byId.peer1, baseline: byId['peer2-alone'], student: byId.peer2, ratios: { params: 2, flops: 2, latency: 1 }, gapRecovered: 6 },
    ...extra,
  });
}

/** A born-again run: an ensemble teacher of two members, a baseline, two generations and their ensemble. */
function bornAgainManifest(): Manifest {
  const models: RunModel[] = [
    { id: 'teacher1', role: 'member', label: 'teacher 1', trained: true, epochs: 2 },
    { id: 'teacher2', role: 'member', label: 'teacher 2', trained: true, epochs: 2 },
    { id: 'teacher', role: 'teacher', label: 'teacher (generation 0)', trained: false, members: ['teacher1', 'teacher2'] },
    { id: 'baseline', role: 'baseline', label: 'baseline student', trained: true, epochs: 2 },
    { id: 'gen1', role: 'generation', label: 'generation 1', trained: true, epochs: 2, baseline: 'baseline' },
    { id: 'gen2', role: 'generation', label: 'generation 2', trained: true, epochs: 2, baseline: 'baseline' },
    { id: 'ensemble', role: 'ensemble', label: 'ensemble of 2 generations', trained: false, members: ['gen1', 'gen2'] },
  ];
  const errors: Record<string, number> = { teacher1: 100, teacher2: 108, teacher: 91, baseline: 80, gen1: 76, gen2: 75, ensemble: 70 };
  const byId = Object.fromEntries(Object.entries(errors).map(([id, e]) => [id, result(e, 300)]));
  return manifest({ mode: 'born-again', models, results: { models: byId, teacher: byId.teacher, baseline: byId.baseline, student: byId.gen2, gapRecovered: 5 / 11 } });
}

test('an old run (no models) reads exactly as before: classic rows, no per-model lines', () => {
  const old = manifest({ results: { ...manifest().results, gapRecovered: 0.64, ratios: { params: 10, flops: 10, latency: 3 } } });
  assert.deepEqual(
    modelRows(old).map((r) => [r.model.id, r.model.label, r.result?.testErrors, r.comparison?.deltaErrors]),
    [
      ['teacher', 'teacher', 15, undefined],
      ['baseline', 'baseline student', 26, undefined],
      ['student', 'distilled student', 19, -7],
    ],
  );
  const tip = runTooltip(old).split('\n');
  assert.deepEqual(tip.slice(5, 8), [
    '- teacher: 1.5% error (15/1000), 1,000 params, 0.50 ms',
    '- baseline: 2.6% error (26/1000), 1,000 params, 0.50 ms',
    '- student: 1.9% error (19/1000), 1,000 params, 0.50 ms',
  ]);
  assert.equal(tip.at(-2), 'Student is 10.0× smaller and 3.0× faster than the teacher.');
  assert.equal(tip.at(-1), 'Distillation closed 64% of the baseline → teacher error gap.');
  assert.deepEqual(headlineNames(old), { teacher: 'teacher', baseline: 'baseline', student: 'student' });
});

test('an online run of 3 peers: each peer against itself trained alone; no gap line (peers move together)', () => {
  const m = onlineManifest();
  const rows = modelRows(m);
  assert.deepEqual(
    rows.map((r) => [r.model.id, r.comparison?.against.id, r.comparison?.deltaErrors]),
    [
      ['peer1-alone', undefined, undefined],
      ['peer2-alone', undefined, undefined],
      ['peer3-alone', undefined, undefined],
      ['peer1', 'peer1-alone', 72 - 74],
      ['peer2', 'peer2-alone', 77 - 71],
      ['peer3', 'peer3-alone', 80 - 81],
    ],
  );
  assert.equal(comparisonText(rows[3]), '2 fewer errors than peer1-alone');
  assert.equal(comparisonText(rows[4]), '6 more errors than peer2-alone');
  assert.equal(comparisonText(rows[5]), '1 fewer error than peer3-alone');
  assert.equal(modelDescription(rows[3], 'done'), '24.0% err · −2 vs peer1-alone');
  assert.equal(modelDescription(rows[4], 'done'), '25.7% err · +6 vs peer2-alone');
  assert.equal(modelDescription(rows[0], 'done'), '24.7% err');
  assert.equal(shortResults(m), 'peer1 24.0 · peer2 25.7 · peer3 26.7 % err');
  assert.equal(runDescription(m), 'peer1 24.0 · peer2 25.7 · peer3 26.7 % err');
  const tip = runTooltip(m);
  assert.match(tip, /Mode: online/);
  assert.match(tip, /- peer 3: 26\.7% error \(80\/300\), 1,000 params, 0\.50 ms; 1 fewer error than peer3-alone/);
  assert.match(tip, /- peer 2 \(student\) alone: 23\.7% error/);
  assert.match(tip, /Peer 2 \(student\) is 2\.0× smaller and 1\.0× faster than peer 1 \(teacher\)\./);
  assert.doesNotMatch(tip, /gap/);
  assert.equal(headlineModels(m).student?.id, 'peer2');
  assert.equal(headlineModels(m).baseline?.id, 'peer2-alone');
  assert.equal(planText(m.models!), 'peer1-alone → peer2-alone → peer3-alone → peers (peer1, peer2, peer3)');
  // Mid-run: no results yet, the joint stage's models say where they stand.
  const live = onlineManifest({ status: 'running', stage: 'peers', results: {} });
  assert.equal(shortResults(live), '');
  assert.equal(runDescription(live), 'peers…');
});

test('a born-again run: generations against the baseline, both ensembles against their best member, the gap against generation 0', () => {
  const m = bornAgainManifest();
  const rows = modelRows(m);
  const byId = Object.fromEntries(rows.map((r) => [r.model.id, r]));
  assert.equal(comparisonText(byId.teacher), '9 fewer errors than its best member, teacher1');
  assert.equal(comparisonText(byId.ensemble), '5 fewer errors than its best member, gen2');
  assert.equal(comparisonText(byId.gen1), '4 fewer errors than baseline');
  assert.equal(byId.teacher1.comparison, undefined);
  assert.equal(shortResults(m), 'teacher 30.3 · gen1 25.3 · gen2 25.0 · ensemble 23.3 % err');
  const tip = runTooltip(m);
  assert.match(tip, /Mode: born-again/);
  assert.match(tip, /- ensemble of 2 generations: 23\.3% error \(70\/300\).*; 5 fewer errors than its best member, gen2/);
  assert.match(tip, /Generation 2 closed 45% of the baseline student → teacher \(generation 0\) error gap\./);
  assert.equal(planText(m.models!), 'teacher1 → teacher2 → baseline → gen1 → gen2, then teacher of teacher1, teacher2, then ensemble of gen1, gen2');
  assert.match(modelTooltip(byId.ensemble, 'done'), /Averages gen1, gen2\./);
});

test("a run's children in the tree: an old run its files as before; an online run one node per peer and baseline, then its files", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-tree-'));
  try {
    const folder = (name: string, m: Manifest, saved: string[]) => {
      const run = path.join(dir, name);
      for (const id of saved) {
        fs.mkdirSync(path.join(run, 'models', id), { recursive: true });
        fs.writeFileSync(path.join(run, 'models', id, 'model.json'), '{}');
      }
      for (const f of ['metrics.jsonl', 'trainer.log', 'config.json']) fs.writeFileSync(path.join(run, f), '');
      fs.writeFileSync(path.join(run, 'manifest.json'), JSON.stringify(m));
      return { dir: run, manifest: m };
    };
    const labelOf = (c: ReturnType<typeof runChildren>[number]) => (isModelInfo(c) ? `${c.row.model.label}|${c.state}|${c.path ? 'saved' : ''}` : c.label);

    const old = folder('old', manifest(), ['teacher', 'baseline', 'student']);
    assert.deepEqual(runChildren(old).map(labelOf), ['Metrics', 'Log', 'Teacher model', 'Baseline model', 'Student model', 'Config as run', 'Manifest']);
    assert.deepEqual(runChildren(old), listArtifacts(old.dir));

    const ids = ['peer1-alone', 'peer2-alone', 'peer3-alone', 'peer1', 'peer2', 'peer3'];
    const online = folder('online', onlineManifest(), ids);
    assert.deepEqual(runChildren(online).map(labelOf), [
      'peer 1 (teacher) alone|done|saved',
      'peer 2 (student) alone|done|saved',
      'peer 3 alone|done|saved',
      'peer 1 (teacher)|done|saved',
      'peer 2 (student)|done|saved',
      'peer 3|done|saved',
      'Metrics',
      'Log',
      'Config as run',
      'Manifest',
    ]);
    const peer3 = runChildren(online)[5];
    assert.ok(isModelInfo(peer3));
    assert.equal(peer3.path, path.join(online.dir, 'models', 'peer3', 'model.json'));

    // While the peers train together: the alone-trained ones are done, all three peers training.
    const { results } = onlineManifest();
    const partial = { ...results, models: Object.fromEntries(ids.slice(0, 3).map((id) => [id, results.models![id]])) };
    const live = folder('live', onlineManifest({ status: 'running', stage: 'peers', results: partial }), ids.slice(0, 3));
    assert.deepEqual(runChildren(live).filter(isModelInfo).map((c) => c.state), ['done', 'done', 'done', 'training', 'training', 'training']);
    const stopped = folder('stopped', onlineManifest({ status: 'cancelled', stage: 'peers', results: partial }), ids.slice(0, 3));
    assert.equal(modelDescription(runChildren(stopped).filter(isModelInfo)[4].row, 'not trained'), 'not trained');
    assert.deepEqual(runChildren(stopped).filter(isModelInfo).map((c) => c.state).slice(3), ['not trained', 'not trained', 'not trained']);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a self-distillation run (from its plan): each exit against the network alone, its own costs, no teacher lines', () => {
  const models: RunModel[] = [
    { id: 'baseline', role: 'baseline', label: 'network alone', trained: true, epochs: 2 },
    { id: 'exit-conv1', role: 'exit', label: 'exit conv1', trained: true, epochs: 2, stage: 'exits', baseline: 'baseline' },
    { id: 'exit-logits', role: 'exit', label: 'deepest exit (the network)', trained: true, epochs: 2, stage: 'exits', baseline: 'baseline' },
  ];
  const cost = (errors: number, params: number) => ({ ...result(errors, 1000), params, flops: 2 * params, latencyMs: params / 1e4 });
  const byId = { baseline: cost(30, 9000), 'exit-conv1': cost(45, 3000), 'exit-logits': cost(27, 9000) };
  const m = manifest({ mode: 'self', models, results: { models: byId, baseline: byId.baseline, student: byId['exit-logits'] } });
  assert.equal(headlineModels(m).teacher, undefined);
  assert.equal(hasGapLine(m), false);
  assert.equal(shortResults(m), 'exit-conv1 4.5 · exit-logits 2.7 % err');
  const tip = runTooltip(m);
  assert.match(tip, /- exit conv1: 4\.5% error \(45\/1000\), 3,000 params, 0\.30 ms; 15 more errors than baseline/);
  assert.match(tip, /- deepest exit \(the network\): 2\.7% error .*; 3 fewer errors than baseline/);
  assert.doesNotMatch(tip, /teacher|gap/);
  assert.equal(planText(models), 'baseline → exits (exit-conv1, exit-logits)');
});
