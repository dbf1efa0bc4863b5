// The host's pure logic: run descriptions, hint CodeLens texts, the comparison report, templates,
// where runs live, throttling.
import { test } from 'node:test';
import * as fs from 'node:fs';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { parseConfig } from '../../src/core/config/parse';
import type { Manifest, ModelResult } from '../../src/core/protocol';
import { gapClosedPercent } from '../../src/core/resultFormat';
import { describePairs } from '../../src/host/pairLenses';
import { firstLine, formatDuration, progressText, runDescription, runTooltip, shortResults, shortTime } from '../../src/host/runFormat';
import { configStem, isConfigPath, isInside, resolveRunsDir } from '../../src/host/runsLocation';
import { formatJson, TEMPLATES, templateText } from '../../src/host/templates';
import { throttle } from '../../src/host/throttle';
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
