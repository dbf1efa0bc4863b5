// Bad config input (issue 9): text that used to crash the validator, and values that validated but
// failed later in the trainer. Each is one clear problem now, reported where it is.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_NESTING, parseConfig, tooDeepAt, type DataFacts, type ValidationEnv } from '../../src/core/config/parse';

const FILE = '/cfg/x.distill.json';
const anyFile: ValidationEnv = { fileExists: () => true };

const BASE = {
  name: 'x',
  data: { dataset: 'mnist', testSize: 2000 },
  teacher: { model: { type: 'mlp', hidden: [64] }, training: { epochs: 2, optimizer: { type: 'sgd', lr: 0.05 } } },
  student: { model: { type: 'mlp', hidden: [32] } },
  distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
  training: { epochs: 2, optimizer: { type: 'sgd', lr: 0.05 } },
};

/** BASE with `edit` applied to a deep copy, as JSON text; `raw` replaces a placeholder string with literal JSON. */
function config(edit: (c: any) => void, raw?: Record<string, string>): string {
  const c = structuredClone(BASE) as any;
  edit(c);
  let text = JSON.stringify(c, null, 2);
  for (const [k, v] of Object.entries(raw ?? {})) text = text.replace(JSON.stringify(k), v);
  return text;
}

const problemsOf = (text: string, env: ValidationEnv = anyFile) => parseConfig(text, FILE, env).problems;

test('the base config is valid (so each case below fails for its one reason)', () => {
  assert.deepEqual(problemsOf(config(() => {})), []);
});

test('5,000 nested objects or 8,000 nested arrays: one "too deep" problem, no stack overflow', () => {
  for (const text of ['{"a":'.repeat(5000) + '1' + '}'.repeat(5000), '['.repeat(8000) + ']'.repeat(8000), config((c) => (c.description = 'x'), { x: '['.repeat(8000) + ']'.repeat(8000) })]) {
    const { problems, config: parsed } = parseConfig(text, FILE, anyFile);
    assert.equal(parsed, undefined);
    assert.equal(problems.length, 1);
    assert.equal(problems[0].code, 'too-deep');
    assert.match(problems[0].message, /nested more than 64 levels/);
  }
});

test('the depth guard skips brackets inside strings and lets real configs through', () => {
  assert.equal(tooDeepAt(JSON.stringify({ s: '['.repeat(1000) + '\\"{'.repeat(500) })), -1);
  assert.equal(tooDeepAt('['.repeat(MAX_NESTING) + ']'.repeat(MAX_NESTING)), -1);
  assert.equal(tooDeepAt('['.repeat(MAX_NESTING + 1)), MAX_NESTING);
  const description = config((c) => (c.description = '{{{{ [[[[ "quoted" \\ ]]]]'));
  assert.deepEqual(problemsOf(description), []);
});

test('1e400 (Infinity) is not a number for weight, temperature or lr', () => {
  for (const [where, edit] of [
    ['distillation.losses[1].weight', (c: any) => (c.distillation.losses[1].weight = 'BIG')],
    ['distillation.temperature', (c: any) => (c.distillation.temperature = 'BIG')],
    ['training.optimizer.lr', (c: any) => (c.training.optimizer.lr = 'BIG')],
    ['teacher.model.maxNorm', (c: any) => (c.teacher.model.maxNorm = 'BIG')],
  ] as const) {
    for (const literal of ['1e400', '-1e400']) {
      const problems = problemsOf(config(edit, { BIG: literal }));
      assert.equal(problems.length, 1, `${where} = ${literal}: ${problems.map((p) => p.message).join('; ')}`);
      assert.equal(problems[0].code, 'not-finite');
      assert.match(problems[0].message, new RegExp(`^${where.replace(/[.[\]]/g, '\\$&')}: expected a finite number`));
    }
  }
});

test('absurd values are refused by the schema: hidden 1e9, temperature 5e-324, lr 1e6, epochs 1e9', () => {
  const cases: [string, (c: any) => void, RegExp][] = [
    ['student.model.hidden[0]', (c) => (c.student.model.hidden = [1e9]), /must be at most 65536, got 1000000000/],
    ['distillation.temperature', (c) => (c.distillation.temperature = 5e-324), /must be at least 0\.01/],
    ['training.optimizer.lr', (c) => (c.training.optimizer.lr = 1e6), /must be at most 10/],
    ['training.epochs', (c) => (c.training.epochs = 1e9), /must be at most 100000/],
    ['training.batchSize', (c) => (c.training.batchSize = 1e7), /must be at most 65536/],
  ];
  for (const [where, edit, message] of cases) {
    const problems = problemsOf(config(edit));
    assert.equal(problems.length, 1, where);
    assert.equal(problems[0].code, 'out-of-range');
    assert.ok(problems[0].message.startsWith(`${where}: `), problems[0].message);
    assert.match(problems[0].message, message);
  }
});

test('testFraction 0.00001 would leave 0 test examples: an error at testFraction', () => {
  const problems = problemsOf(config((c) => (c.data = { dataset: 'mnist', testFraction: 0.00001 })));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'not-enough-data');
  assert.match(problems[0].message, /^data\.testFraction: 0\.00001 of the 10,000 digits rounds to 0 test examples/);
  assert.deepEqual(problemsOf(config((c) => (c.data = { dataset: 'mnist', testFraction: 0.0001 }))), []);
});

test('a model too large to train is refused with its parameter count', () => {
  const problems = problemsOf(config((c) => (c.teacher.model.hidden = [60000, 60000])));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'model-too-large');
  assert.match(problems[0].message, /^teacher\.model: 3,647,\d{3},\d{3} parameters is more than the trainer can train \(at most 100,000,000/);
});

test('a layer whose batch of outputs cannot be held is refused, naming the layer and the batch', () => {
  const cnn = { type: 'cnn', conv: [{ filters: 4096, pool: 0 }] };
  const problems = problemsOf(config((c) => ((c.student.model = cnn), (c.training.batchSize = 4096))));
  assert.equal(problems.length, 1);
  assert.equal(problems[0].code, 'model-too-large');
  assert.match(problems[0].message, /^student\.model: layer conv1 \[28×28×4096\] outputs 13,153,337,344 values per batch of 4,096/);
});

test('labels up to 2e9 (2,000,000,001 classes) are bad data, not a logits layer of 2e9 units', () => {
  const facts: DataFacts = { inputShape: [4], numClasses: 2e9 + 1, trainAvailable: 100, testAvailable: 10 };
  const env: ValidationEnv = { fileExists: () => true, describeData: () => facts };
  const problems = problemsOf(config((c) => (c.data = { dataset: 'csv', trainFile: 'a.csv', testFile: 'b.csv' })), env);
  assert.equal(problems.length, 1, problems.map((p) => p.message).join('\n'));
  assert.equal(problems[0].code, 'bad-data');
  assert.match(problems[0].message, /^data: the largest label is 2,000,000,000, so the models would need 2,000,000,001 output classes \(at most 100,000\)/);
});
