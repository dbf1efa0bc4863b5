import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'fs';
import * as path from 'path';
import { parseConfig } from '../../src/core/config/parse';
import { configReferenceMarkdown, DISTILL_SCHEMA_PATH, distillSchemaText, EDITOR_SCHEMA_PATH, editorSchemaText, README_PATH, withConfigReference } from '../../src/core/config/schemaFile';
import { bool, int, obj, opt, req, tagged, withDefault } from '../../src/core/schema/dsl';
import { JsonSchema, toJsonSchema } from '../../src/core/schema/jsonSchema';

const root = path.join(__dirname, '..', '..');

test('schemas/distill.schema.json is up to date (regenerate with: npm run schema)', () => {
  const committed = fs.readFileSync(path.join(root, DISTILL_SCHEMA_PATH), 'utf8');
  assert.equal(committed, distillSchemaText());
});

test('the README config reference is up to date and documents every key (regenerate with: npm run schema)', () => {
  const readme = fs.readFileSync(path.join(root, README_PATH), 'utf8');
  assert.equal(readme, withConfigReference(readme, configReferenceMarkdown()));
  for (const key of ['temperature', 'maxNorm', 'jitter', 'connector', 'trainImages', 'labelColumn', 'ckaSamples', 'milestones']) {
    assert.match(readme, new RegExp('`' + key + '`'), key);
  }
});

test('package.json points jsonValidation at the generated editor schema, which is up to date', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.contributes.jsonValidation, [{ fileMatch: '*.distill.json', url: `./${EDITOR_SCHEMA_PATH}` }]);
  assert.equal(fs.readFileSync(path.join(root, EDITOR_SCHEMA_PATH), 'utf8'), editorSchemaText());
});

test('the editor schema keeps completion and hover but nothing VS Code would report a second time', () => {
  const full = JSON.parse(distillSchemaText()) as JsonSchema;
  const editor = JSON.parse(editorSchemaText()) as JsonSchema;
  const validating = ['required', 'additionalProperties', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'minItems', 'maxItems', 'type', 'enum'];
  // Every property path of the full schema (through properties, items, allOf/then) is in the editor's,
  // with its description; no validating keyword is left outside an `if`.
  const walk = (a: JsonSchema, b: JsonSchema | undefined, where: string) => {
    assert.ok(b, `${where} missing from the editor schema`);
    assert.equal(b.description, a.description, `${where}.description`);
    assert.deepEqual(b.if, a.if, `${where}.if kept whole`);
    for (const k of validating) assert.ok(!(k in b), `${where}.${k} left in the editor schema`);
    for (const [p, sub] of Object.entries((a.properties ?? {}) as Record<string, JsonSchema>)) walk(sub, (b.properties as Record<string, JsonSchema>)?.[p], `${where}.${p}`);
    if (a.items) walk(a.items as JsonSchema, b.items as JsonSchema, `${where}[]`);
    ((a.allOf ?? []) as JsonSchema[]).forEach((v, i) => v.then && walk(v.then as JsonSchema, ((b.allOf as JsonSchema[])?.[i]?.then) as JsonSchema, `${where}.allOf[${i}]`));
  };
  walk(full, editor, 'config');
  // An enum offers its values as snippets, with their descriptions.
  const optimizer = (editor.properties as Record<string, JsonSchema>).training;
  const tags = ((optimizer.properties as Record<string, JsonSchema>).optimizer.properties as Record<string, JsonSchema>).type;
  const labels = (tags.defaultSnippets as { label: string; body: unknown }[]).map((s) => s.body);
  assert.ok(labels.includes('sgd') && labels.includes('adam'), JSON.stringify(labels));
});

test('objects, numbers and defaults map onto draft-07 keywords', () => {
  const s = toJsonSchema(
    obj('Root.', {
      epochs: req(int('Passes.', { minimum: 1 })),
      rate: opt(int('Rate `r`.', { exclusiveMinimum: 0, maximum: 8, default: 2 })),
      flag: opt(bool('Flag.', { default: true })),
    }),
    { title: 'T' },
  );
  assert.deepEqual(s, {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'T',
    type: 'object',
    properties: {
      epochs: { type: 'integer', description: 'Passes.', markdownDescription: 'Passes.', minimum: 1 },
      rate: { type: 'integer', description: 'Rate r.', markdownDescription: 'Rate `r`.\n\nDefault: `2`', exclusiveMinimum: 0, maximum: 8, default: 2 },
      flag: { type: 'boolean', description: 'Flag.', markdownDescription: 'Flag.\n\nDefault: `true`', default: true },
    },
    required: ['epochs'],
    additionalProperties: false,
    description: 'Root.',
    markdownDescription: 'Root.',
  });
});

test('a tagged union is allOf if/then on the tag; the default variant applies when the tag is absent', () => {
  const s = toJsonSchema(
    withDefault(
      tagged('Schedule.', 'type', { constant: obj('Keep.', {}), step: obj('Step.', { every: req(int('Every.', { minimum: 1 })) }) }, 'constant'),
      { type: 'constant' },
    ),
  );
  const allOf = s.allOf as JsonSchema[];
  assert.deepEqual((s.properties as JsonSchema).type, {
    type: 'string',
    description: 'Which kind: constant, step. When left out: constant.',
    markdownDescription: 'Which kind: `constant`, `step`. When left out: `constant`.',
    enum: ['constant', 'step'],
    enumDescriptions: ['Keep.', 'Step.'],
    markdownEnumDescriptions: ['Keep.', 'Step.'],
    default: 'constant',
  });
  assert.equal(s.required, undefined, 'the tag may be left out');
  assert.deepEqual(s.default, { type: 'constant' });
  assert.deepEqual(allOf[0].if, { properties: { type: { const: 'constant' } } }, 'the default variant matches a missing tag');
  assert.deepEqual(allOf[1].if, { properties: { type: { const: 'step' } }, required: ['type'] });
  const step = allOf[1].then as JsonSchema;
  assert.deepEqual(Object.keys(step.properties as object), ['type', 'every']);
  assert.deepEqual(step.required, ['type', 'every']);
  assert.equal(step.additionalProperties, false);
  assert.deepEqual((s.defaultSnippets as JsonSchema[]).map((d) => [d.label, d.body]), [
    ['constant (default)', { type: 'constant' }],
    ['step', { type: 'step', every: '^${1}' }],
  ]);
});

// ---- the JSON Schema and the validator agree (checked with ajv when it is installed) ----------

type Validate = ((data: unknown) => boolean) & { errors?: unknown[] | null };
function loadAjv(): { compile(schema: object): Validate } | undefined {
  try {
    // ajv arrives with the dev tools (vsce); it is not a dependency of ours, so skip without it.
    const Ajv = require('ajv') as { default: new (o: object) => { compile(schema: object): Validate } };
    return new Ajv.default({ strict: false, allErrors: true });
  } catch {
    return undefined;
  }
}
const ajv = loadAjv();

const HINTON = {
  name: 'hinton-mnist',
  seed: 1,
  data: { dataset: 'mnist', testSize: 2000 },
  teacher: {
    model: { type: 'mlp', hidden: [1200, 1200], inputDropout: 0.2, dropout: 0.5, maxNorm: 3.5 },
    training: { epochs: 30, batchSize: 128, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 }, jitter: 2 },
  },
  student: { model: { type: 'mlp', hidden: [800, 800] } },
  distillation: { temperature: 20, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
  training: { epochs: 30, optimizer: { type: 'sgd', lr: 0.05 } },
};

test('the JSON Schema accepts and rejects the same configs as the validator', { skip: ajv ? false : 'ajv is not installed' }, () => {
  const validate = ajv!.compile(JSON.parse(distillSchemaText()));
  const variants: [string, (c: any) => void][] = [
    ['valid', () => {}],
    ['unknown key', (c) => (c.distillation.temprature = 1)],
    ['T = 0', (c) => (c.distillation.temperature = 0)],
    ['string for an integer', (c) => (c.data.testSize = '2000')],
    ['fractional epochs', (c) => (c.training.epochs = 2.5)],
    ['unknown tag', (c) => (c.student.model.type = 'mlpp')],
    ['other variant\'s key', (c) => (c.student.model.conv = [])],
    ['teacher from a file', (c) => (c.teacher = { source: 'file', path: 'model.json' })],
    ['file teacher with a model', (c) => (c.teacher = { source: 'file', path: 'model.json', model: c.student.model })],
    ['missing tag, no default', (c) => delete c.distillation.losses[1].type],
    ['missing tag, default variant', (c) => delete c.training.optimizer.type],
    ['adam with momentum', (c) => (c.training.optimizer = { type: 'adam', lr: 0.001, momentum: 0.9 })],
    ['step schedule', (c) => (c.training.schedule = { type: 'step', milestones: [10, 20] })],
    ['step schedule without milestones', (c) => (c.training.schedule = { type: 'step' })],
    ['dropout 1', (c) => (c.teacher.model.dropout = 1)],
    ['csv', (c) => (c.data = { dataset: 'csv', trainFile: 'a.csv', testFile: 'b.csv', imageShape: [28, 28, 1] })],
    ['csv imageShape of 2', (c) => (c.data = { dataset: 'csv', trainFile: 'a.csv', testFile: 'b.csv', imageShape: [28, 28] })],
    ['probes', (c) => (c.probes = { samples: 300 })],
    ['missing name', (c) => delete c.name],
  ];
  for (const [label, change] of variants) {
    const config = structuredClone(HINTON);
    change(config);
    const ours = parseConfig(JSON.stringify(config, null, 2), '/cfg/x.distill.json', { fileExists: () => true }).problems.filter(
      (p) => p.severity === 'error',
    );
    assert.equal(validate(config), ours.length === 0, `${label}: JSON Schema says ${JSON.stringify(validate.errors)}, validator says ${JSON.stringify(ours.map((p) => p.message))}`);
  }
});
