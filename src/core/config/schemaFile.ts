// The text of schemas/distill.schema.json (and of the editor's copy without validation keywords),
// generated from the config schema (scripts/gen-schema.ts writes them; a unit test checks the
// committed files are up to date).
import { formatJsonSchema, toEditorJsonSchema, toJsonSchema } from '../schema/jsonSchema';
import { toMarkdownReference } from '../schema/markdown';
import { configSchema } from './schema';

/** Where the generated schema lives, relative to the repository root (see package.json `jsonValidation`). */
export const DISTILL_SCHEMA_PATH = 'schemas/distill.schema.json';

export function distillSchemaText(): string {
  return formatJsonSchema(toJsonSchema(configSchema, { title: 'Distill Lab experiment (*.distill.json)' }));
}

/** The schema VS Code's JSON service gets (package.json `jsonValidation`): completion and hover only; the extension validates. */
export const EDITOR_SCHEMA_PATH = 'schemas/distill.editor.schema.json';

export function editorSchemaText(): string {
  return formatJsonSchema(toEditorJsonSchema(toJsonSchema(configSchema, { title: 'Distill Lab experiment (*.distill.json), for completion and hover' })));
}

export const README_PATH = 'README.md';
const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';

export function configReferenceMarkdown(): string {
  return toMarkdownReference(configSchema);
}

/** `readme` with the text between the config-reference markers replaced by `reference`. */
export function withConfigReference(readme: string, reference: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${README_PATH} lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${reference}\n${readme.slice(b)}`;
}
