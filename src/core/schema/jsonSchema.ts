// JSON Schema (draft-07) from a DSL schema, shaped for VS Code's JSON language service: every
// node has `description` and `markdownDescription` (hover), defaults (completion inserts them),
// `additionalProperties: false` (unknown keys are flagged), and a tagged union becomes `allOf`
// of `if {tag: const} then {variant}` blocks. The service follows if/then for completion, hover
// and validation, so once `"type": "cnn"` is written it offers exactly the CNN's properties; the
// default variant's `if` does not require the tag, so it also applies while the tag is absent.
import type { ArraySchema, NumberSchema, ObjectSchema, Props, Schema, TaggedSchema } from './dsl';

export type JsonSchema = { [key: string]: unknown };

export interface JsonSchemaOptions {
  /** Put on the root, with `$schema` (draft-07). */
  title?: string;
}

const DRAFT_07 = 'http://json-schema.org/draft-07/schema#';

/** Plain-text description: the DSL writes markdown (backticks), which plain hovers show literally. */
const plain = (markdown: string) => markdown.replace(/`/g, '');

function docs(description: string, defaultValue?: unknown): JsonSchema {
  const md = defaultValue === undefined ? description : `${description}\n\nDefault: \`${JSON.stringify(defaultValue)}\``;
  return { description: plain(description), markdownDescription: md };
}

function numberBounds(s: NumberSchema): JsonSchema {
  const out: JsonSchema = {};
  if (s.minimum !== undefined) out.minimum = s.minimum;
  if (s.exclusiveMinimum !== undefined) out.exclusiveMinimum = s.exclusiveMinimum;
  if (s.maximum !== undefined) out.maximum = s.maximum;
  if (s.exclusiveMaximum !== undefined) out.exclusiveMaximum = s.exclusiveMaximum;
  return out;
}

function convert(s: Schema): JsonSchema {
  switch (s.kind) {
    case 'number':
      return { type: s.integer ? 'integer' : 'number', ...docs(s.description, s.default), ...numberBounds(s), ...withDefault(s.default) };
    case 'string':
      return { type: 'string', ...docs(s.description, s.default), ...(s.minLength !== undefined ? { minLength: s.minLength } : {}), ...withDefault(s.default) };
    case 'boolean':
      return { type: 'boolean', ...docs(s.description, s.default), ...withDefault(s.default) };
    case 'enum':
      return { type: 'string', ...docs(s.description, s.default), enum: [...s.values], ...withDefault(s.default) };
    case 'array':
      return arraySchema(s);
    case 'object':
      return { ...objectBody(s.properties), ...docs(s.description), ...withDefault(s.default) };
    case 'tagged':
      return taggedSchema(s);
  }
}

const withDefault = (d: unknown): JsonSchema => (d === undefined ? {} : { default: d });

function arraySchema(s: ArraySchema): JsonSchema {
  const out: JsonSchema = { type: 'array', ...docs(s.description, s.default), items: convert(s.items) };
  if (s.minItems !== undefined) out.minItems = s.minItems;
  if (s.maxItems !== undefined) out.maxItems = s.maxItems;
  return { ...out, ...withDefault(s.default) };
}

/** `type`, `properties`, `required`, `additionalProperties: false`; `extra` goes first (a union's tag). */
function objectBody(props: Props, extra: Record<string, JsonSchema> = {}, extraRequired: string[] = []): JsonSchema {
  const properties: Record<string, JsonSchema> = { ...extra };
  const required = [...extraRequired];
  for (const [key, prop] of Object.entries(props)) {
    properties[key] = convert(prop.schema);
    if (prop.required) required.push(key);
  }
  return { type: 'object', properties, ...(required.length ? { required } : {}), additionalProperties: false };
}

function taggedSchema(s: TaggedSchema): JsonSchema {
  const names = Object.keys(s.variants);
  const dflt = s.defaultVariant;
  const tagText = `Which kind: ${names.map((n) => `\`${n}\``).join(', ')}.${dflt ? ` When left out: \`${dflt}\`.` : ''}`;
  const tagProperty: JsonSchema = {
    type: 'string',
    ...docs(tagText),
    enum: names,
    enumDescriptions: names.map((n) => plain(s.variants[n].description)),
    markdownEnumDescriptions: names.map((n) => s.variants[n].description),
    ...(dflt ? { default: dflt } : {}),
  };
  const variant = (name: string, v: ObjectSchema): JsonSchema => ({
    if: { properties: { [s.tag]: { const: name } }, ...(name === dflt ? {} : { required: [s.tag] }) },
    then: {
      ...docs(v.description),
      ...objectBody(
        v.properties,
        { [s.tag]: { ...docs(tagText), enum: [name], markdownEnumDescriptions: [v.description] } },
        name === dflt ? [] : [s.tag],
      ),
    },
  });
  return {
    type: 'object',
    ...docs(s.description, s.default),
    properties: { [s.tag]: tagProperty },
    ...(dflt ? {} : { required: [s.tag] }),
    allOf: names.map((n) => variant(n, s.variants[n])),
    ...withDefault(s.default),
    defaultSnippets: names.map((n) => ({
      label: n === dflt ? `${n} (default)` : n,
      description: plain(s.variants[n].description),
      body: s.variants[n].example ?? snippetBody(s.tag, n, s.variants[n].properties),
    })),
  };
}

/** A snippet for one variant: the tag and every required property, with tab stops. */
function snippetBody(tag: string, name: string, props: Props): Record<string, unknown> {
  let stop = 1;
  const body: Record<string, unknown> = { [tag]: name };
  for (const [key, prop] of Object.entries(props)) {
    if (!prop.required) continue;
    const k = prop.schema.kind;
    // Strings starting with ^ are inserted raw by VS Code, so numbers and arrays stay unquoted.
    body[key] = k === 'number' ? `^\${${stop++}}` : k === 'array' ? `^[\${${stop++}}]` : k === 'object' || k === 'tagged' ? {} : `\${${stop++}}`;
  }
  return body;
}

/** The draft-07 JSON Schema for `schema`. */
export function toJsonSchema(schema: Schema, options: JsonSchemaOptions = {}): JsonSchema {
  return { $schema: DRAFT_07, ...(options.title ? { title: options.title } : {}), ...convert(schema) };
}

/** Pretty and stable: two-space indent, keys in declaration order, final newline. */
export function formatJsonSchema(schema: JsonSchema): string {
  return `${JSON.stringify(schema, null, 2)}\n`;
}

// ---- the editor's schema: completion and hover, no validation ---------------------------------

/** Keywords by which VS Code's JSON language service reports problems. */
const VALIDATION_KEYWORDS = ['required', 'additionalProperties', 'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'minLength', 'minItems', 'maxItems'];

/**
 * The schema VS Code gets for `*.distill.json` (package.json `jsonValidation`): the full schema's
 * properties, descriptions, defaults, snippets and if/then variants — so completion and hover are
 * unchanged — without anything the JSON language service would report. Distill Lab's own
 * validator reports every mistake once, with a did-you-mean and a quick fix; the service checking
 * the same schema reported most of them a second time (5 mistakes gave 9 problems).
 * An `enum` becomes one snippet per value (with its description), `type` only a hint for what
 * completion inserts; `if` conditions stay whole (they select a variant and report nothing).
 */
export function toEditorJsonSchema(full: JsonSchema): JsonSchema {
  return strip(full) as JsonSchema;
}

function strip(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strip);
  if (!node || typeof node !== 'object') return node;
  const s = node as JsonSchema;
  const out: JsonSchema = {};
  for (const [k, v] of Object.entries(s)) {
    if (VALIDATION_KEYWORDS.includes(k) || k === 'type' || k === 'enum' || k === 'enumDescriptions' || k === 'markdownEnumDescriptions') continue;
    if (k === 'if') out[k] = v;
    else if (k === 'properties' || k === 'definitions') out[k] = Object.fromEntries(Object.entries(v as JsonSchema).map(([p, sub]) => [p, strip(sub)]));
    else out[k] = strip(v);
  }
  const snippets: JsonSchema[] = Array.isArray(out.defaultSnippets) ? [...(out.defaultSnippets as JsonSchema[])] : [];
  if (Array.isArray(s.enum)) {
    const docs = (s.markdownEnumDescriptions ?? s.enumDescriptions) as string[] | undefined;
    s.enum.forEach((value, i) => snippets.push({ label: JSON.stringify(value), ...(docs?.[i] ? { markdownDescription: docs[i] } : {}), body: value }));
  } else if (s.type === 'boolean') {
    snippets.push({ label: 'true', body: true }, { label: 'false', body: false });
  }
  if (snippets.length) out.defaultSnippets = snippets;
  return out;
}
