import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { DataFacts, formatProblem, layerNamesFor, layersFor, loadConfigFile, parseConfig, PROBLEM_CODES, ValidationEnv } from '../../src/core/config/parse';
import { didYouMean, sortProblems } from '../../src/core/config/problems';
import type { DataConfig } from '../../src/core/config/schema';
import { defaultValidationSize, resolveSplitSizes } from '../../src/core/data/split';

// All configs live in /cfg so that relative paths resolve to /cfg/...
const FILE = '/cfg/x.distill.json';
const anyFile: ValidationEnv = { fileExists: () => true };

/** Problems as the CLI prints them (1-based line:col). */
function printed(text: string, env: ValidationEnv = anyFile): string[] {
  return parseConfig(text, FILE, env).problems.map(formatProblem);
}

// Hinton's MNIST recipe, one thing per line. Line numbers (1-based) that the tests refer to:
//  1 {                        10 "distillation": {
//  2 "name"                   11   "temperature"
//  3 "seed"                   12   "losses": [
//  4 "data"                   13     ce
//  5 "teacher": {             14     kd
//  6   "model"                15   ]
//  7   "training"             16 },
//  8 },                       17 "training"
//  9 "student"                18 }
const HINTON = `{
  "name": "hinton-mnist",
  "seed": 1,
  "data": { "dataset": "mnist", "testSize": 2000 },
  "teacher": {
    "model": { "type": "mlp", "hidden": [1200, 1200], "inputDropout": 0.2, "dropout": 0.5, "maxNorm": 3.5 },
    "training": { "epochs": 30, "batchSize": 128, "optimizer": { "type": "sgd", "lr": 0.05, "momentum": 0.9 }, "jitter": 2 }
  },
  "student": { "model": { "type": "mlp", "hidden": [800, 800] } },
  "distillation": {
    "temperature": 20,
    "losses": [
      { "type": "ce", "weight": 0.1 },
      { "type": "kd", "weight": 0.9 }
    ]
  },
  "training": { "epochs": 30, "optimizer": { "type": "sgd", "lr": 0.05 } }
}
`;

/** HINTON with one substring replaced (on one line, so line numbers stay as listed above). */
function hinton(from: string, to: string): string {
  assert.ok(HINTON.includes(from), `HINTON has no ${from}`);
  return HINTON.replace(from, to);
}

// ---- the valid config -----------------------------------------------------------------------

test('the Hinton MNIST config parses with every default filled in', () => {
  const { config, problems } = parseConfig(HINTON, FILE, anyFile);
  assert.deepEqual(problems, []);
  assert.ok(config);
  assert.equal(config.seed, 1);
  assert.deepEqual(config.teacher, {
    source: 'train',
    model: { type: 'mlp', hidden: [1200, 1200], activation: 'relu', inputDropout: 0.2, dropout: 0.5, maxNorm: 3.5 },
    training: {
      epochs: 30,
      batchSize: 128,
      optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0 },
      schedule: { type: 'constant' },
      jitter: 2,
      keep: 'last',
    },
  });
  assert.deepEqual(config.student.model, { type: 'mlp', hidden: [800, 800], activation: 'relu', inputDropout: 0, dropout: 0 });
  assert.deepEqual(config.training, {
    epochs: 30,
    batchSize: 128,
    optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0 },
    schedule: { type: 'constant' },
    jitter: 0,
    keep: 'last',
  });
  // No validationSize: the loader takes the default split (10 % of the training pool).
  assert.deepEqual(config.data, { dataset: 'mnist', testSize: 2000, normalize: 'unit', testFraction: 0.2 });
  assert.deepEqual(config.distillation, { mode: 'offline', temperature: 20, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] });
  assert.equal(config.baseline, true);
  assert.deepEqual(config.probes, { samples: 16, every: 1, cka: true, ckaSamples: 256, mapSize: 16, topK: 4 });
  assert.deepEqual(config.evaluation, { testEveryEpoch: false });
});

test('seed defaults to 42 and a defaulted object is filled from its default', () => {
  const { config } = parseConfig(hinton('  "seed": 1,\n', ''), FILE, anyFile);
  assert.equal(config?.seed, 42);
  assert.equal(config?.probes.samples, 16);
});

// ---- JSON syntax ----------------------------------------------------------------------------

test('JSON syntax: a missing comma is reported where it is, and nothing else is checked', () => {
  assert.deepEqual(printed(hinton('"seed": 1,', '"seed": 1')), ['/cfg/x.distill.json:4:3: error: invalid JSON: expected a comma']);
  assert.deepEqual(printed(hinton('"seed": 1,', '"seed": 01,')), ['/cfg/x.distill.json:3:12: error: invalid JSON: numbers cannot start with 0 (leading zeros are not allowed)']);
  assert.deepEqual(printed(''), ['/cfg/x.distill.json:1:1: error: invalid JSON: the file is empty; expected an object']);
  assert.deepEqual(printed('{\n  "name": "x",\n  "seed": 1\n'), ['/cfg/x.distill.json:4:1: error: invalid JSON: unexpected end of file; expected "}"']);
  assert.deepEqual(printed(hinton('"seed": 1,', "'seed': 1,")), ['/cfg/x.distill.json:3:3: error: invalid JSON: strings and property names need double quotes, not single quotes']);
  assert.deepEqual(printed(hinton('"seed": 1,', 'seed: 1,')), ['/cfg/x.distill.json:3:3: error: invalid JSON: property names need double quotes: "seed"']);
  assert.deepEqual(printed(hinton('"seed": 1,', '"seed": tru,')), [
    '/cfg/x.distill.json:3:11: error: invalid JSON: unexpected "tru"; expected a value (a number, a string in double quotes, true, false, null, an object or an array)',
  ]);
  assert.deepEqual(printed(`${HINTON}x`), ['/cfg/x.distill.json:19:1: error: invalid JSON: unexpected text after the end of the config object']);
});

test('JSON syntax: comments and trailing commas are errors (strict JSON), but the rest is still checked', () => {
  const text = hinton('"seed": 1,', '"seed": 1, // fixed').replace('{ "type": "kd", "weight": 0.9 }', '{ "type": "kd", "weight": 0.9, }').replace('"temperature": 20', '"temperature": 0');
  assert.deepEqual(printed(text), [
    '/cfg/x.distill.json:3:14: error: invalid JSON: comments are not allowed (a *.distill.json file is plain JSON)',
    '/cfg/x.distill.json:11:20: error: distillation.temperature: must be at least 0.01, got 0',
    '/cfg/x.distill.json:14:36: error: invalid JSON: trailing comma before the closing bracket',
  ]);
  assert.deepEqual(printed(hinton('[1200, 1200]', '[1200, 1200, ]')), ['/cfg/x.distill.json:6:52: error: invalid JSON: trailing comma before the closing bracket']);
  const { config, problems } = parseConfig(hinton('"seed": 1,', '"seed": 1, /* x */'), FILE, anyFile);
  assert.equal(config, undefined);
  assert.equal(problems[0].code, 'json-syntax');
});

test('positions are counted as an editor shows them: CRLF line ends, no byte-order mark', () => {
  const text = `\uFEFF${hinton('"temperature": 20', '"temperature": 0').replace(/\n/g, '\r\n')}`;
  assert.deepEqual(printed(text), ['/cfg/x.distill.json:11:20: error: distillation.temperature: must be at least 0.01, got 0']);
});

// ---- structure ------------------------------------------------------------------------------

test('unknown keys point at the key and suggest the closest known one', () => {
  assert.deepEqual(printed(hinton('"temperature": 20', '"temprature": 20')), [
    '/cfg/x.distill.json:11:5: error: unknown property "temprature" in distillation; did you mean "temperature"?',
  ]);
  assert.deepEqual(printed(hinton('"seed": 1,', '"sed": 1, "colour": 1,')), [
    '/cfg/x.distill.json:3:3: error: unknown property "sed"; did you mean "seed"?',
    '/cfg/x.distill.json:3:13: error: unknown property "colour"',
  ]);
  const p = parseConfig(hinton('"temperature": 20', '"temprature": 20'), FILE, anyFile).problems[0];
  assert.equal(p.code, 'unknown-key');
  assert.deepEqual(p.path, ['distillation', 'temprature']);
  assert.deepEqual(p.range, { start: { line: 10, col: 4 }, end: { line: 10, col: 16 } });
});

test('a key of another variant says which tag it belongs to', () => {
  assert.deepEqual(printed(hinton('"type": "mlp", "hidden": [800, 800]', '"type": "mlp", "hidden": [800, 800], "conv": []')), [
    '/cfg/x.distill.json:9:64: error: unknown property "conv" in student.model for "type": "mlp"; "conv" belongs to "type": "cnn"',
  ]);
  assert.deepEqual(printed(hinton('"teacher": {', '"teacher": { "path": "t/model.json",')), [
    '/cfg/x.distill.json:5:16: error: unknown property "path" in teacher for "source": "train" (the default); "path" belongs to "source": "file"',
  ]);
});

test('wrong types say what was expected and what was found', () => {
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testSize": "2000"')), [
    '/cfg/x.distill.json:4:45: error: data.testSize: expected an integer, got a string ("2000")',
  ]);
  assert.deepEqual(printed(hinton('"temperature": 20', '"temperature": null')), ['/cfg/x.distill.json:11:20: error: distillation.temperature: expected a number, got null']);
  assert.deepEqual(printed(hinton('"student": { "model": { "type": "mlp", "hidden": [800, 800] } }', '"student": [800, 800]')), [
    '/cfg/x.distill.json:9:14: error: student: expected an object, got an array',
  ]);
  assert.deepEqual(printed(hinton('"hidden": [800, 800]', '"hidden": 800')), ['/cfg/x.distill.json:9:52: error: student.model.hidden: expected an array, got a number (800)']);
  assert.deepEqual(printed('[]'), ['/cfg/x.distill.json:1:1: error: config: expected an object, got an array']);
});

test('enums list the allowed values and suggest one', () => {
  assert.deepEqual(printed(hinton('"hidden": [800, 800]', '"hidden": [800, 800], "activation": "rleu"')), [
    '/cfg/x.distill.json:9:78: error: student.model.activation: unknown value "rleu"; did you mean "relu"? (allowed: relu, tanh, sigmoid, elu)',
  ]);
  assert.deepEqual(printed(hinton('"temperature": 20,', '"temperature": 20, "mode": "ofline",')), [
    '/cfg/x.distill.json:11:32: error: distillation.mode: unknown value "ofline"; did you mean "offline"? (allowed: offline, online, born-again, self)',
  ]);
});

test('integers: a fraction where a count is needed', () => {
  assert.deepEqual(printed(hinton('"training": { "epochs": 30, "optimizer"', '"training": { "epochs": 2.5, "optimizer"')), [
    '/cfg/x.distill.json:17:27: error: training.epochs: expected an integer, got 2.5',
  ]);
});

test('out-of-range values: T ≤ 0, negative weights, batch size < 1, dropout ≥ 1 — all reported at once', () => {
  const text = hinton('"temperature": 20', '"temperature": -1')
    .replace('{ "type": "ce", "weight": 0.1 }', '{ "type": "ce", "weight": -0.1 }')
    .replace('"batchSize": 128', '"batchSize": 0')
    .replace('"dropout": 0.5', '"dropout": 1');
  assert.deepEqual(printed(text), [
    '/cfg/x.distill.json:6:87: error: teacher.model.dropout: must be less than 1, got 1',
    '/cfg/x.distill.json:7:46: error: teacher.training.batchSize: must be at least 1, got 0',
    '/cfg/x.distill.json:11:20: error: distillation.temperature: must be at least 0.01, got -1',
    '/cfg/x.distill.json:13:33: error: distillation.losses[0].weight: must be at least 0, got -0.1',
  ]);
  assert.deepEqual(printed(hinton('"jitter": 2', '"jitter": 9')), ['/cfg/x.distill.json:7:122: error: teacher.training.jitter: must be at most 8, got 9']);
  assert.deepEqual(printed(hinton('"name": "hinton-mnist"', '"name": ""')), ['/cfg/x.distill.json:2:11: error: name: must not be empty']);
  assert.deepEqual(printed(hinton('"losses": [', '"losses": [], "x": [')), [
    '/cfg/x.distill.json:12:15: error: distillation.losses: needs at least 1 item, got 0',
    '/cfg/x.distill.json:12:19: error: unknown property "x" in distillation',
  ]);
});

test('missing required properties point at the parent key, or the opening brace', () => {
  // teacher.training is missing: the problem sits on the "teacher" key (line 5).
  const text = HINTON.replace(
    '    "training": { "epochs": 30, "batchSize": 128, "optimizer": { "type": "sgd", "lr": 0.05, "momentum": 0.9 }, "jitter": 2 }\n',
    '',
  ).replace('"maxNorm": 3.5 },', '"maxNorm": 3.5 }');
  assert.deepEqual(printed(text), ['/cfg/x.distill.json:5:3: error: missing required property "training" in teacher']);
  const p = parseConfig(text, FILE, anyFile).problems[0];
  assert.deepEqual([p.code, p.path], ['missing-property', ['teacher', 'training']]);
  // the root has no key: its opening brace (line 1)
  assert.deepEqual(printed(hinton('"name": "hinton-mnist",', '')), ['/cfg/x.distill.json:1:1: error: missing required property "name"']);
  // an array item: its opening brace
  assert.deepEqual(printed(hinton('{ "type": "kd", "weight": 0.9 }', '{ "type": "kd" }')), [
    '/cfg/x.distill.json:14:7: error: missing required property "weight" in distillation.losses[1]',
  ]);
  // optimizer has no default variant problem: lr is required
  assert.deepEqual(printed(hinton('"optimizer": { "type": "sgd", "lr": 0.05 }', '"optimizer": {}')), [
    '/cfg/x.distill.json:17:31: error: missing required property "lr" in training.optimizer',
  ]);
});

test('tagged unions: unknown tag values suggest one; a missing tag without a default is an error', () => {
  assert.deepEqual(printed(hinton('"type": "mlp", "hidden": [800, 800]', '"type": "mlpp", "hidden": [800, 800]')), [
    '/cfg/x.distill.json:9:35: error: student.model.type: unknown type "mlpp"; did you mean "mlp"? (allowed: mlp, cnn)',
  ]);
  assert.deepEqual(printed(hinton('"dataset": "mnist"', '"dataset": "minst"')), [
    '/cfg/x.distill.json:4:24: error: data.dataset: unknown dataset "minst"; did you mean "mnist"? (allowed: mnist, fashion-mnist, idx, csv)',
  ]);
  // The list of loss types is the registry's, whatever it holds.
  const missing = printed(hinton('{ "type": "kd", "weight": 0.9 }', '{ "weight": 0.9 }'));
  assert.equal(missing.length, 1);
  assert.match(missing[0], /^\/cfg\/x\.distill\.json:14:7: error: missing "type" in distillation\.losses\[1\]: one of ce, kd, .* or \w+$/);
  assert.deepEqual(printed(hinton('"teacher": {', '"teacher": { "source": 3,')), [
    '/cfg/x.distill.json:5:26: error: teacher.source: expected one of "train", "file", "run" or "ensemble", got a number (3)',
  ]);
});

test('duplicate keys are errors at the second key', () => {
  assert.deepEqual(printed(hinton('"seed": 1,', '"seed": 1, "seed": 2,')), ['/cfg/x.distill.json:3:14: error: duplicate property "seed"']);
});

// ---- loss terms -----------------------------------------------------------------------------

test('all loss weights zero is an error; no teacher term is a warning', () => {
  const zero = hinton('"weight": 0.1', '"weight": 0').replace('"weight": 0.9', '"weight": 0');
  assert.deepEqual(printed(zero), ['/cfg/x.distill.json:12:5: error: distillation.losses: every loss term has weight 0, so the student would learn nothing']);
  assert.deepEqual(printed(hinton('"weight": 0.9', '"weight": 0')), [
    '/cfg/x.distill.json:12:5: warning: distillation.losses: no term with a weight above 0 uses the teacher (add a "kd" term or a feature or relation term); the student would train like the baseline',
  ]);
  assert.ok(parseConfig(hinton('"weight": 0.9', '"weight": 0'), FILE, anyFile).config, 'a warning does not withhold the config');
});

test('duplicate loss terms point at the second one', () => {
  assert.deepEqual(printed(hinton('{ "type": "ce", "weight": 0.1 }', '{ "type": "kd", "weight": 0.1 }')), [
    '/cfg/x.distill.json:14:17: error: distillation.losses[1]: duplicate loss term "kd" (the same as losses[0]); give one term the combined weight, or each its own "id"',
  ]);
  const hints = hinton(
    '{ "type": "ce", "weight": 0.1 }',
    '{ "type": "hint", "weight": 1, "student": "fc1", "teacher": "fc1" }, { "type": "hint", "weight": 2, "student": "fc1", "teacher": "fc1" }',
  );
  assert.deepEqual(printed(hints), [
    '/cfg/x.distill.json:13:86: error: distillation.losses[1]: duplicate loss term "hint:fc1<-fc1" (the same as losses[0]); give one term the combined weight, or each its own "id"',
  ]);
});

// ---- layers and connectors ------------------------------------------------------------------

const hint = (student: string, teacher: string, connector?: string) =>
  hinton('{ "type": "kd", "weight": 0.9 }', `{ "type": "hint", "weight": 1, "student": "${student}", "teacher": "${teacher}"${connector ? `, "connector": "${connector}"` : ''} }`);

test('hint layers must exist: student and teacher are checked separately, listing the valid names', () => {
  assert.deepEqual(printed(hint('fc3', 'fc2')), [
    '/cfg/x.distill.json:14:49: error: distillation.losses[1].student: the student has no layer "fc3"; did you mean "fc1"? (its layers: fc1, fc2, logits)',
  ]);
  assert.deepEqual(printed(hint('fc2', 'conv1')), [
    '/cfg/x.distill.json:14:67: error: distillation.losses[1].teacher: the teacher has no layer "conv1" (its layers: fc1, fc2, logits)',
  ]);
  assert.deepEqual(printed(hint('fc2', 'fc2')).length, 0, 'fc2 [800] → fc2 [1200] gets a linear connector');
});

test('a hint pair whose shapes differ needs a connector; the message gives both shapes', () => {
  assert.deepEqual(printed(hint('fc1', 'fc2', 'none')), [
    '/cfg/x.distill.json:14:87: error: distillation.losses[1]: shapes differ: student fc1 [800] vs teacher fc2 [1200]; use a connector',
  ]);
  // no connector maps a dense layer onto a conv layer: points at the teacher layer when no connector is written
  const cnnTeacher = hint('fc1', 'conv1').replace(
    '"model": { "type": "mlp", "hidden": [1200, 1200], "inputDropout": 0.2, "dropout": 0.5, "maxNorm": 3.5 },',
    '"model": { "type": "cnn", "conv": [{ "filters": 8 }], "hidden": [64] },',
  );
  assert.deepEqual(printed(cnnTeacher), [
    '/cfg/x.distill.json:14:67: error: distillation.losses[1]: no connector maps student fc1 [800] onto teacher conv1 [28×28×8] (one is dense, the other conv)',
  ]);
  assert.deepEqual(printed(hint('fc1', 'fc1', 'conv1x1')), [
    '/cfg/x.distill.json:14:87: error: distillation.losses[1]: a conv1x1 connector needs two conv layers, got student fc1 [800] and teacher fc1 [1200]',
  ]);
});

test('a teacher from a model.json: layer names come from its modelTopology; unknown layers skip the checks', () => {
  const modelJson = JSON.stringify({
    modelTopology: { class_name: 'Sequential', config: { name: 's', layers: [{ class_name: 'Dense', config: { name: 'fc1', units: 1200 } }, { class_name: 'Dense', config: { name: 'logits', units: 10 } }] } },
    weightsManifest: [],
  });
  const teacherFile = (text: string) =>
    text.replace(
      /"teacher": \{\n.*\n.*\n {2}\},/,
      '"teacher": {\n    "source": "file",\n    "path": "teachers/model.json"\n  },',
    );
  const env: ValidationEnv = { fileExists: () => true, readText: (p) => (p === '/cfg/teachers/model.json' ? modelJson : undefined) };
  assert.deepEqual(printed(teacherFile(hint('fc1', 'fc2')), env), [
    '/cfg/x.distill.json:14:67: error: distillation.losses[1].teacher: the teacher (teachers/model.json) has no layer "fc2"; did you mean "fc1"? (its layers: fc1, logits)',
  ]);
  // a name that exists: shapes are unknown, so no connector check (even with "none")
  assert.deepEqual(printed(teacherFile(hint('fc1', 'fc1', 'none')), env), []);
  // model.json unreadable: names unknown, nothing to check
  assert.deepEqual(printed(teacherFile(hint('fc1', 'anything')), anyFile), []);
  // a teacher from an earlier run: nothing known either
  const fromRun = hint('fc1', 'anything').replace(/"teacher": \{\n.*\n.*\n {2}\},/, '"teacher": {\n    "source": "run",\n    "run": "latest"\n  },');
  assert.deepEqual(printed(fromRun), []);
});

// ---- data -----------------------------------------------------------------------------------

test('sizes beyond the data: mnist shares its 10,000 digits between test and train', () => {
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testSize": 2000, "trainSize": 9000')), [
    '/cfg/x.distill.json:4:64: error: data.trainSize: 9,000 is more than the 8,000 training examples available (the built-in mnist has 10,000 digits, shared with the 2,000 test examples)',
  ]);
  assert.deepEqual(printed(hinton('"testSize": 2000', '"trainSize": 7000, "validationSize": 2000')), [
    '/cfg/x.distill.json:4:46: error: data.trainSize: trainSize + validationSize = 7,000 + 2,000 = 9,000 is more than the 8,000 training examples available (the built-in mnist has 10,000 digits, shared with the 2,000 test examples)',
  ]);
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testSize": 10000')), [
    '/cfg/x.distill.json:4:45: error: data.testSize: 10,000 test examples leave none for training (the built-in mnist has 10,000 digits shared between test and train)',
  ]);
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testSize": 2000, "testFraction": 0.5')), [
    '/cfg/x.distill.json:4:67: warning: data.testFraction: ignored because data.testSize is given',
  ]);
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testFraction": 0.5, "trainSize": 6000')), [
    '/cfg/x.distill.json:4:67: error: data.trainSize: 6,000 is more than the 5,000 training examples available (the built-in mnist has 10,000 digits, shared with the 5,000 test examples)',
  ]);
});

test('the default validation split: 10 % of the training pool, at most 5,000, no more than trainSize leaves', () => {
  // Expected sizes worked out by hand from the rule.
  assert.equal(defaultValidationSize(8_000, undefined), 800);
  assert.equal(defaultValidationSize(60_000, undefined), 5_000);
  assert.equal(defaultValidationSize(8_000, 7_500), 500);
  assert.equal(defaultValidationSize(8_000, 4_000), 800);
  assert.equal(defaultValidationSize(8_000, 8_000), 0);
  assert.deepEqual(resolveSplitSizes({ trainCount: 10_000, testCount: 10_000, pool: true, label: 'mnist' }, { testSize: 2_000 }), { train: 7_200, validation: 800, test: 2_000 });
  assert.deepEqual(resolveSplitSizes({ trainCount: 10_000, testCount: 10_000, pool: true, label: 'mnist' }, { testSize: 2_000, validationSize: 0 }), { train: 8_000, validation: 0, test: 2_000 });
  assert.deepEqual(resolveSplitSizes({ trainCount: 60_000, testCount: 10_000, label: 'fashion-mnist' }, { trainSize: 6_000 }), { train: 6_000, validation: 5_000, test: 10_000 });
});

test('keep "best" and early stopping choose on the validation split: without one they are errors at their line', () => {
  const keepBest = '"training": { "epochs": 30, "optimizer": { "type": "sgd", "lr": 0.05 }, "keep": "best", "earlyStopping": { "patience": 3 } }';
  const plain = '"training": { "epochs": 30, "optimizer": { "type": "sgd", "lr": 0.05 } }';
  assert.deepEqual(printed(hinton(plain, keepBest)), [], 'the default validation split is there to choose on');
  const none = hinton(plain, keepBest).replace('"testSize": 2000', '"testSize": 2000, "validationSize": 0');
  const why = 'is chosen on the validation split, but there is none (data.validationSize is 0 or trainSize leaves no examples for it); give data.validationSize — never choose on the test set';
  assert.deepEqual(printed(none), [`/cfg/x.distill.json:17:83: error: training.keep: the best epoch ${why}`, `/cfg/x.distill.json:17:108: error: training.earlyStopping: when to stop ${why}`]);
  // trainSize that takes the whole pool leaves no default split either; the teacher's training is checked too.
  const teacherBest = hinton('"jitter": 2 }', '"jitter": 2, "keep": "best" }').replace('"testSize": 2000', '"testSize": 2000, "trainSize": 8000');
  assert.deepEqual(printed(teacherBest), [`/cfg/x.distill.json:7:133: error: teacher.training.keep: the best epoch ${why}`]);
  assert.deepEqual(printed(hinton(plain, keepBest.replace('"patience": 3', '"patience": 30'))), [
    '/cfg/x.distill.json:17:122: warning: training.earlyStopping.patience: a patience of 30 is not less than the 30 epochs, so training never stops early',
  ]);
});

test('sizes beyond the data: fashion-mnist has 60,000 + 10,000; user data asks env.describeData', () => {
  assert.deepEqual(printed(hinton('"dataset": "mnist", "testSize": 2000', '"dataset": "fashion-mnist", "testSize": 20000')), [
    '/cfg/x.distill.json:4:53: error: data.testSize: 20,000 is more than the 10,000 test examples available',
  ]);
  assert.deepEqual(printed(hinton('"dataset": "mnist", "testSize": 2000', '"dataset": "fashion-mnist", "validationSize": 60000')), [
    '/cfg/x.distill.json:4:59: error: data.validationSize: 60,000 leaves no training examples of the 60,000 available',
  ]);
  const idx = hinton(
    '"dataset": "mnist", "testSize": 2000',
    '"dataset": "idx", "trainImages": "a", "trainLabels": "b", "testImages": "c", "testLabels": "d", "trainSize": 600',
  );
  const seen: [DataConfig, string][] = [];
  const facts: DataFacts = { inputShape: [28, 28, 1], numClasses: 10, trainAvailable: 500, testAvailable: 100 };
  const env: ValidationEnv = { fileExists: () => true, describeData: (d, dir) => (seen.push([d, dir]), facts) };
  assert.deepEqual(printed(idx, env), ['/cfg/x.distill.json:4:122: error: data.trainSize: 600 is more than the 500 training examples available']);
  assert.equal(seen[0][1], '/cfg');
  assert.equal(seen[0][0].dataset, 'idx');
  assert.deepEqual(printed(idx, anyFile), [], 'unknown facts: no size checks');
  const throwing: ValidationEnv = {
    fileExists: () => true,
    describeData: () => {
      throw new Error('a: not an IDX file (magic 0x1234)');
    },
  };
  assert.deepEqual(printed(idx, throwing), ['/cfg/x.distill.json:4:3: error: data: a: not an IDX file (magic 0x1234)']);
});

test('missing data and model files, resolved relative to the config file', () => {
  const exists = new Set(['/cfg/data/train.gz', '/cfg/data/train-labels.gz']);
  const env: ValidationEnv = { fileExists: (p) => exists.has(p) };
  const idx = hinton(
    '"dataset": "mnist", "testSize": 2000',
    '"dataset": "idx", "trainImages": "data/train.gz", "trainLabels": "data/train-labels.gz", "testImages": "data/test.gz", "testLabels": "/abs/t.gz"',
  );
  assert.deepEqual(printed(idx, env), [
    '/cfg/x.distill.json:4:116: error: data.testImages: file not found: data/test.gz (looked for /cfg/data/test.gz)',
    '/cfg/x.distill.json:4:146: error: data.testLabels: file not found: /abs/t.gz',
  ]);
  const fileTeacher = HINTON.replace(/"teacher": \{\n.*\n.*\n {2}\},/, '"teacher": {\n    "source": "file",\n    "path": "../models/t.json"\n  },');
  assert.deepEqual(printed(fileTeacher, env), ['/cfg/x.distill.json:7:13: error: teacher.path: file not found: ../models/t.json (looked for /models/t.json)']);
});

test('a CNN needs image data: CSV without imageShape, or user data that is flat vectors', () => {
  const cnnStudent = '"student": { "model": { "type": "cnn", "conv": [{ "filters": 8 }] } }';
  const csv = hinton('"dataset": "mnist", "testSize": 2000', '"dataset": "csv", "trainFile": "train.csv", "testFile": "test.csv"').replace(
    '"student": { "model": { "type": "mlp", "hidden": [800, 800] } }',
    cnnStudent,
  );
  assert.deepEqual(printed(csv), [
    '/cfg/x.distill.json:9:35: error: student.model.type: a CNN needs image inputs, but the CSV data has no imageShape; add "imageShape": [height, width, channels] to data',
  ]);
  const withShape = csv.replace('"testFile": "test.csv"', '"testFile": "test.csv", "imageShape": [28, 28, 1]');
  assert.deepEqual(printed(withShape), []);
  const idx = hinton('"dataset": "mnist", "testSize": 2000', '"dataset": "idx", "trainImages": "a", "trainLabels": "b", "testImages": "c", "testLabels": "d"').replace(
    '"student": { "model": { "type": "mlp", "hidden": [800, 800] } }',
    cnnStudent,
  );
  const flat: ValidationEnv = { fileExists: () => true, describeData: () => ({ inputShape: [784], numClasses: 10, trainAvailable: 100, testAvailable: 10 }) };
  assert.deepEqual(printed(idx, flat), ['/cfg/x.distill.json:9:35: error: student.model.type: a CNN needs image inputs [height, width, channels], but the data gives vectors of [784]']);
  // pooling a 28×28 image six times leaves nothing
  const tooDeep = hinton('"student": { "model": { "type": "mlp", "hidden": [800, 800] } }', `"student": { "model": { "type": "cnn", "conv": [${Array(6).fill('{ "filters": 4 }').join(', ')}] } }`);
  assert.deepEqual(printed(tooDeep), ['/cfg/x.distill.json:9:16: error: student.model: pool5 shrinks a 1×1 map to nothing']);
});

// ---- schedules and probes -------------------------------------------------------------------

test('step-schedule milestones at or beyond the last epoch are warnings', () => {
  const text = hinton('"optimizer": { "type": "sgd", "lr": 0.05 } }', '"optimizer": { "type": "sgd", "lr": 0.05 }, "schedule": { "type": "step", "milestones": [20, 10, 30] } }');
  assert.deepEqual(printed(text), [
    '/cfg/x.distill.json:17:124: warning: training.schedule.milestones[1]: milestones should increase, but 10 follows 20',
    '/cfg/x.distill.json:17:128: warning: training.schedule.milestones[2]: milestone 30 is not before the last epoch (30), so the rate never drops there',
  ]);
  const { config } = parseConfig(text, FILE, anyFile);
  assert.deepEqual(config?.training.schedule, { type: 'step', milestones: [20, 10, 30], gamma: 0.1 });
});

test('probes.samples beyond the test examples is a warning (the trainer clamps)', () => {
  const text = hinton('"testSize": 2000', '"testSize": 10').replace('"training": { "epochs": 30, "optimizer"', '"probes": { "samples": 32 }, "training": { "epochs": 30, "optimizer"');
  assert.deepEqual(printed(text), ['/cfg/x.distill.json:17:26: warning: probes.samples: 32 probe samples but only 10 test examples; 10 will be used']);
  assert.deepEqual(printed(hinton('"testSize": 2000', '"testSize": 10')), [], 'defaults are clamped quietly');
});

// ---- many problems at once ------------------------------------------------------------------

test('problems in different sections are all reported, sorted by position', () => {
  const text = hinton('"seed": 1,', '"seed": -1,')
    .replace('"dataset": "mnist", "testSize": 2000', '"dataset": "mnist", "testSize": 2000, "trainSize": 9000')
    .replace('"type": "mlp", "hidden": [800, 800]', '"type": "mlp", "hiden": [800, 800]')
    .replace('{ "type": "kd", "weight": 0.9 }', '{ "type": "hint", "weight": 1, "student": "fc1", "teacher": "fc9" }')
    .replace('"optimizer": { "type": "sgd", "lr": 0.05 } }', '"optimizer": { "type": "sgd", "lr": 0.05 }, "schedule": { "type": "step", "milestones": [40] } }');
  assert.deepEqual(printed(text), [
    '/cfg/x.distill.json:3:11: error: seed: must be at least 0, got -1',
    '/cfg/x.distill.json:4:64: error: data.trainSize: 9,000 is more than the 8,000 training examples available (the built-in mnist has 10,000 digits, shared with the 2,000 test examples)',
    '/cfg/x.distill.json:9:42: error: unknown property "hiden" in student.model; did you mean "hidden"?',
    // the student is broken, so its layers are not checked; the teacher's are
    '/cfg/x.distill.json:14:67: error: distillation.losses[1].teacher: the teacher has no layer "fc9"; did you mean "fc1"? (its layers: fc1, fc2, logits)',
    '/cfg/x.distill.json:17:120: warning: training.schedule.milestones[0]: milestone 40 is not before the last epoch (30), so the rate never drops there',
  ]);
  assert.equal(parseConfig(text, FILE, anyFile).config, undefined);
});

test('sortProblems orders by line, then column, errors before warnings', () => {
  const mk = (line: number, col: number, severity: 'error' | 'warning', message: string) => ({
    file: 'f',
    message,
    severity,
    range: { start: { line, col }, end: { line, col } },
    path: [],
    code: 'wrong-type' as const,
  });
  assert.deepEqual(
    sortProblems([mk(2, 0, 'error', 'c'), mk(1, 5, 'warning', 'b'), mk(1, 5, 'error', 'a'), mk(0, 9, 'error', 'first')]).map((p) => p.message),
    ['first', 'a', 'b', 'c'],
  );
});

// ---- helpers for the editor and the CLI -----------------------------------------------------

test('formatProblem prints 1-based positions; every code is listed', () => {
  const [p] = parseConfig(hinton('"temperature": 20', '"temperature": "hot"'), FILE, anyFile).problems;
  assert.deepEqual(p.range, { start: { line: 10, col: 19 }, end: { line: 10, col: 24 } });
  assert.equal(formatProblem(p), '/cfg/x.distill.json:11:20: error: distillation.temperature: expected a number, got a string ("hot")');
  assert.ok(PROBLEM_CODES.includes(p.code));
});

test('didYouMean finds typos, swaps and case slips, and keeps quiet otherwise', () => {
  assert.equal(didYouMean('temprature', ['temperature', 'losses', 'mode']), 'temperature');
  assert.equal(didYouMean('minst', ['mnist', 'fashion-mnist', 'idx', 'csv']), 'mnist');
  assert.equal(didYouMean('MLP', ['mlp', 'cnn']), 'mlp');
  assert.equal(didYouMean('colour', ['seed', 'name', 'data']), undefined);
});

test('layersFor gives shapes for the editor; layerNamesFor also reads a teacher model.json', () => {
  const { config } = parseConfig(HINTON, FILE, anyFile);
  assert.ok(config);
  assert.deepEqual(
    layersFor(config, 'teacher', anyFile, '/cfg')?.map((l) => `${l.name} ${l.shape.join('×')}`),
    ['fc1 1200', 'fc2 1200', 'logits 10'],
  );
  assert.deepEqual(layersFor(config, 'student', anyFile, '/cfg')?.map((l) => l.name), ['fc1', 'fc2', 'logits']);
  const fromFile = { ...config, teacher: { source: 'file' as const, path: 'm/model.json' } };
  assert.equal(layersFor(fromFile, 'teacher', anyFile, '/cfg'), undefined);
  const env: ValidationEnv = {
    fileExists: () => true,
    readText: (p) => (p === '/cfg/m/model.json' ? JSON.stringify({ modelTopology: { model_config: { config: { layers: [{ config: { name: 'fc1' } }, { config: { name: 'logits' } }] } } } }) : undefined),
  };
  assert.deepEqual(layerNamesFor(fromFile, 'teacher', env, '/cfg'), ['fc1', 'logits']);
});

test('loadConfigFile reads through the env; defaultNodeEnv checks paths relative to the config on disk', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-config-'));
  try {
    fs.mkdirSync(path.join(dir, 'teachers'));
    // a functional model as tfjs saves it: input, dropout and the final softmax are not taps; the output is `logits`
    const layers = [
      { class_name: 'InputLayer', config: { name: 'input' } },
      { class_name: 'Dense', config: { name: 'fc1', activation: 'relu' } },
      { class_name: 'Dropout', config: { name: 'fc1_dropout' } },
      { class_name: 'Dense', config: { name: 'out', activation: 'linear' } },
      { class_name: 'Activation', config: { name: 'probs', activation: 'softmax' } },
    ];
    fs.writeFileSync(path.join(dir, 'teachers', 'model.json'), JSON.stringify({ modelTopology: { class_name: 'Model', config: { layers } }, weightsManifest: [] }));
    const file = path.join(dir, 'x.distill.json');
    const text = hint('fc1', 'fc2').replace(/"teacher": \{\n.*\n.*\n {2}\},/, '"teacher": {\n    "source": "file",\n    "path": "teachers/model.json"\n  },');
    fs.writeFileSync(file, text);
    assert.deepEqual(loadConfigFile(file, defaultNodeEnv()).problems.map(formatProblem), [
      `${file}:14:67: error: distillation.losses[1].teacher: the teacher (teachers/model.json) has no layer "fc2"; did you mean "fc1"? (its layers: fc1, logits)`,
    ]);
    const missing = path.join(dir, 'nope.distill.json');
    assert.deepEqual(loadConfigFile(missing, defaultNodeEnv()).problems.map(formatProblem), [`${missing}:1:1: error: cannot read the config file ${missing}`]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('student.init from a file: its weights must add up to the student\'s parameters, reported on its path', () => {
  const line = '  "student": { "model": { "type": "mlp", "hidden": [800, 800] }, "init": { "source": "file", "path": "pre/model.json" } },';
  const text = hinton('  "student": { "model": { "type": "mlp", "hidden": [800, 800] } },', line);
  const col = line.indexOf('"pre/model.json"') + 1;
  const modelJson = (shapes: number[][]) => JSON.stringify({ modelTopology: {}, weightsManifest: [{ paths: ['weights.bin'], weights: shapes.map((shape, i) => ({ name: `w${i}`, shape, dtype: 'float32' })) }] });
  const env = (json: string): ValidationEnv => ({ fileExists: () => true, readText: (p) => (p === '/cfg/pre/model.json' ? json : undefined) });
  // 784·800 + 800 + 800·800 + 800 + 800·10 + 10 = 1,276,810: the student's own shapes fit.
  assert.deepEqual(printed(text, env(modelJson([[784, 800], [800], [800, 800], [800], [800, 10], [10]]))), []);
  // A 784-300-10 net's 238,510 do not.
  assert.deepEqual(printed(text, env(modelJson([[784, 300], [300], [300, 10], [10]]))), [
    `/cfg/x.distill.json:9:${col}: error: student.init.path: pre/model.json holds 238,510 parameters, the student 1,276,810: the weights must be of the student's architecture (student.model)`,
  ]);
  assert.deepEqual(printed(text, env('{"format": "something else"}')), [`/cfg/x.distill.json:9:${col}: error: student.init.path: pre/model.json is not a tfjs model.json with a weightsManifest`]);
  assert.deepEqual(printed(text, { fileExists: () => false }), [`/cfg/x.distill.json:9:${col}: error: student.init.path: file not found: pre/model.json (looked for /cfg/pre/model.json)`]);
  // From an earlier run: found (and checked) when the run starts.
  assert.deepEqual(printed(hinton('  "student": { "model": { "type": "mlp", "hidden": [800, 800] } },', '  "student": { "model": { "type": "mlp", "hidden": [800, 800] }, "init": { "source": "run", "run": "latest" } },')), []);
});

test('distillation.peerUpdates belongs to online runs: elsewhere it is reported as ignored', () => {
  const line = '    "temperature": 20, "peerUpdates": "in-turn",';
  const text = hinton('    "temperature": 20,', line);
  assert.deepEqual(printed(text), [`/cfg/x.distill.json:11:${line.indexOf('"peerUpdates"') + 1}: error: distillation.peerUpdates is read only in mode "online" (this config's mode is "offline")`]);
});
