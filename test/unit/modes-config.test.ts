// The distillation modes' config checks: each mode's own fields, its teacher, its losses and
// (self) its exits, reported at the line:col of the offending value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatProblem, parseConfig, type ValidationEnv } from '../../src/core/config/parse';
import { planModels } from '../../src/core/modes';

const FILE = '/cfg/m.distill.json';
const env: ValidationEnv = { fileExists: () => true };
const training = { epochs: 2, optimizer: { type: 'sgd', lr: 0.1 } };
const base = {
  name: 'm',
  data: { dataset: 'mnist' },
  teacher: { model: { type: 'mlp', hidden: [64] }, training },
  student: { model: { type: 'cnn', conv: [{ filters: 4 }, { filters: 8 }], hidden: [16] } },
  distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.5 }, { type: 'kd', weight: 0.5 }] },
  training,
};
/** The config as a file, one key per line, and its problems as the CLI prints them. */
function problems(config: object): string[] {
  const text = JSON.stringify(config, null, 1);
  return parseConfig(text, FILE, env).problems.map(formatProblem);
}
const withDistillation = (d: object, rest: object = {}) => ({ ...base, ...rest, distillation: { ...base.distillation, ...d } });
/** 1-based line of the first line containing `needle` in the printed config. */
const lineOf = (config: object, needle: string) => JSON.stringify(config, null, 1).split('\n').findIndex((l) => l.includes(needle)) + 1;

test('each mode\'s own field is an error in another mode, at the field', () => {
  const c = withDistillation({ generations: 3 });
  assert.deepEqual(problems(c), [`${FILE}:${lineOf(c, '"generations"')}:3: error: distillation.generations is read only in mode "born-again" (this config's mode is "offline")`]);
  assert.deepEqual(problems(withDistillation({ mode: 'born-again', generations: 3 })), []);
});

test('a mode that needs a teacher says so; self-distillation warns that a teacher is unused', () => {
  const { teacher: _t, ...noTeacher } = base;
  assert.match(problems(noTeacher).join('\n'), /error: Offline distillation needs a teacher: add a "teacher" section/);
  const self = withDistillation({ mode: 'self', exits: ['conv1'] });
  assert.match(problems(self).join('\n'), /warning: Self-distillation .* "teacher" is not used/);
  assert.deepEqual(problems({ ...self, teacher: undefined }), []);
});

test('online: the teacher must be trained here; feature losses are refused; a separate teacher schedule is flagged', () => {
  const fileTeacher = withDistillation({ mode: 'online' }, { teacher: { source: 'file', path: 't/model.json' } });
  assert.match(problems(fileTeacher).join('\n'), /error: online distillation trains its peers together from scratch: the teacher must have "source": "train"/);
  const hint = withDistillation({ mode: 'online', losses: [{ type: 'ce', weight: 1 }, { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc1' }] });
  const out = problems(hint);
  assert.ok(out.some((p) => p.startsWith(`${FILE}:${lineOf(hint, '"hint"')}:`) && p.includes('hint compares teacher and student layers')), out.join('\n'));
  const own = withDistillation({ mode: 'online' }, { teacher: { model: base.teacher.model, training: { ...training, epochs: 5 } } });
  assert.match(problems(own).join('\n'), /warning: online peers train together.*teacher.training is not used/);
});

test('self: exits must be student layers other than logits, once each, shallowest first', () => {
  const c = withDistillation({ mode: 'self', exits: ['conv2', 'conv1', 'conv9', 'conv2'] }, { teacher: undefined });
  const out = problems(c).map((p) => p.replace(/^[^ ]+ /, ''));
  assert.deepEqual(out, [
    'error: distillation.exits[1]: exits go shallowest first; "conv1" comes before conv2',
    'error: distillation.exits[2]: the student has no layer "conv9" to exit from; did you mean "conv1"? (its layers: conv1, pool1, conv2, pool2, fc1)',
    'error: distillation.exits[3]: "conv2" has an exit already',
  ]);
});

test('an ensemble teacher teaches through its averaged predictions: a hint naming its layers is refused', () => {
  const c = withDistillation(
    { losses: [{ type: 'ce', weight: 1 }, { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc1' }] },
    { teacher: { source: 'ensemble', members: [{ model: { type: 'mlp', hidden: [8] }, training }, { source: 'file', path: 'a/model.json' }] } },
  );
  assert.match(problems(c).join('\n'), /the teacher ensemble \(it teaches through its averaged predictions\) has no layer "fc1"/);
});

test('the plan of each mode lists its models in training order', () => {
  const ids = (config: object) => {
    const parsed = parseConfig(JSON.stringify(config), FILE, env).config;
    assert.ok(parsed);
    return planModels(parsed).map((m) => m.id);
  };
  assert.deepEqual(ids(base), ['teacher', 'baseline', 'student']);
  assert.deepEqual(ids(withDistillation({ mode: 'online', peers: [{ model: { type: 'mlp', hidden: [8] } }] })), ['peer1-alone', 'peer2-alone', 'peer3-alone', 'peer1', 'peer2', 'peer3']);
  assert.deepEqual(ids(withDistillation({ mode: 'born-again', generations: 3 })), ['teacher', 'baseline', 'gen1', 'gen2', 'gen3', 'ensemble']);
  assert.deepEqual(ids({ ...withDistillation({ mode: 'self', exits: ['conv1', 'conv2'] }), teacher: undefined }), ['baseline', 'exit-conv1', 'exit-conv2', 'exit-logits']);
});
