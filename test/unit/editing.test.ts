// The editor's help on configs, in core: layer names read from a config with errors elsewhere
// (completion, the layer quick fix), the models-only config (the Model Layers view), and the
// did-you-mean a quick fix applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { modelsConfig, sideLayerNames } from '../../src/core/config/modelSections';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { layersFor, parseConfig } from '../../src/core/config/parse';
import { suggestedIn } from '../../src/core/config/problems';
import { describeDataSource } from '../../src/core/data/describe';
import { TEMPLATES } from '../../src/host/templates';

const env = defaultNodeEnv({ describeData: describeDataSource });
const file = path.join(os.tmpdir(), 'edit.distill.json');
const fashion = TEMPLATES.find((t) => t.id === 'fashion-cnn-hints')!.config as Record<string, any>;

test('layer names of each side, with unrelated sections wrong', () => {
  const broken = { ...fashion, seed: 'one', training: { epochs: 0 }, distillation: { temperature: 4, losses: [{ type: 'hnit' }] } };
  const text = JSON.stringify(broken, null, 2);
  assert.equal(parseConfig(text, file, env).config, undefined, 'the config has errors');
  assert.deepEqual(sideLayerNames(text, 'student', file, env), ['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'logits']);
  assert.deepEqual(sideLayerNames(text, 'teacher', file, env), ['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'logits']);
  // A side whose own spec is wrong has none; a teacher from a run is unknown before it loads.
  const badStudent = JSON.stringify({ ...broken, student: { model: { type: 'mlp', hidden: 'x' } } });
  assert.equal(sideLayerNames(badStudent, 'student', file, env), undefined);
  assert.equal(sideLayerNames(JSON.stringify({ ...broken, teacher: { source: 'run', run: 'latest' } }), 'teacher', file, env), undefined);
  assert.equal(sideLayerNames('{ "student": ', 'student', file, env), undefined);
});

test('the models-only config: layers and shapes whatever else is wrong, none when a model section is', () => {
  const text = JSON.stringify({ ...fashion, seed: 'one', probes: { samples: -1 } });
  const config = modelsConfig(text, file, env);
  assert.ok(config, 'data, teacher and student are valid');
  const student = layersFor(config, 'student', env, os.tmpdir());
  assert.deepEqual(student?.find((l) => l.name === 'conv2')?.shape, [14, 14, 16]);
  assert.equal(modelsConfig(JSON.stringify({ ...fashion, student: { model: { type: 'cnn' } } }), file, env), undefined);
});

test('the did-you-mean of a message, as the quick fix applies it', () => {
  assert.equal(suggestedIn('distillation.losses[2].student: the student has no layer "fc3"; did you mean "fc2"? (its layers: fc1, fc2)'), 'fc2');
  assert.equal(suggestedIn('unknown property "optimiser"; did you mean "optimizer"?'), 'optimizer');
  assert.equal(suggestedIn('unknown value "x" (allowed: a, b)'), undefined);
});
