// The loss registry as the editor, the validator and the templates see it: every registered loss
// has a template whose config validates with no error, a schema variant with its example as the
// completion snippet, and layer-pair misuse is reported on the term's line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { formatProblem, parseConfig } from '../../src/core/config/parse';
import { distillSchemaText } from '../../src/core/config/schemaFile';
import { describeDataSource } from '../../src/core/data/describe';
import { allLosses, termId, termPairFields } from '../../src/core/losses';
import { TEMPLATES, templateText } from '../../src/host/templates';

const env = defaultNodeEnv({ describeData: describeDataSource });
const file = path.join(os.tmpdir(), 'method.distill.json');

test('every loss but ce has a template, and each template validates without errors', () => {
  for (const def of allLosses()) {
    if (def.type === 'ce') continue;
    const t = TEMPLATES.find((x) => x.id === `method-${def.type}`);
    assert.ok(t, `no template for ${def.type}`);
    const r = parseConfig(templateText(t, `m-${def.type}`), file, env);
    const errors = r.problems.filter((p) => p.severity === 'error').map(formatProblem);
    assert.deepEqual(errors, [], `${def.type}'s template`);
    assert.ok(t.detail.includes(def.paper), `${def.type}: the detail names the paper`);
  }
});

test('the JSON schema offers each loss with its example (reference default weight) as the snippet', () => {
  const schema = JSON.parse(distillSchemaText());
  const snippets = JSON.stringify(schema);
  for (const def of allLosses()) {
    assert.ok(snippets.includes(`"label":"${def.type}"`), `${def.type}: offered`);
    assert.ok(snippets.includes(JSON.stringify(def.example)), `${def.type}: snippet body is its example`);
  }
});

test('term ids: written id first, else type and layers; two-layer terms name both', () => {
  assert.equal(termId({ type: 'kd' }), 'kd');
  assert.equal(termId({ type: 'hint', student: 'fc1', teacher: 'fc2' }), 'hint:fc1<-fc2');
  assert.equal(termId({ type: 'fsp', student: 'conv1', studentTo: 'conv2', teacher: 'conv1', teacherTo: 'conv2' }), 'fsp:conv1>conv2<-conv1>conv2');
  assert.equal(termId({ type: 'hint', student: 'fc1', teacher: 'fc2', id: 'mine' }), 'mine');
  assert.deepEqual(
    termPairFields({ type: 'fsp', student: 'a', studentTo: 'b', teacher: 'c', teacherTo: 'd' }).map((p) => [p.student.field, p.teacher.field]),
    [
      ['student', 'teacher'],
      ['studentTo', 'teacherTo'],
    ],
  );
});

test('two terms of one type on different layers are fine; the same layers twice need an id', () => {
  const base = TEMPLATES.find((t) => t.id === 'quick-mnist')!.config as { distillation: { losses: unknown[] } };
  const config = structuredClone(base);
  config.distillation.losses.push({ type: 'hint', weight: 0.5, student: 'fc2', teacher: 'fc2' });
  const ok = parseConfig(JSON.stringify(config, null, 2), file, env);
  assert.deepEqual(ok.problems.filter((p) => p.severity === 'error'), []);
  config.distillation.losses.push({ type: 'hint', weight: 0.5, student: 'fc2', teacher: 'fc2' });
  const dup = parseConfig(JSON.stringify(config, null, 2), file, env).problems.filter((p) => p.code === 'duplicate-loss');
  assert.equal(dup.length, 1);
  assert.match(dup[0].message, /duplicate loss term "hint:fc2<-fc2".*its own "id"/);
  (config.distillation.losses[4] as { id?: string }).id = 'second-hint';
  assert.deepEqual(parseConfig(JSON.stringify(config, null, 2), file, env).problems.filter((p) => p.severity === 'error'), []);
});
