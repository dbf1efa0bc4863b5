// The text of schemas/distill.schema.json (and of the editor's copy without validation keywords),
// generated from the config schema (scripts/gen-schema.ts writes them; a unit test checks the
// committed files are up to date).
import { formatJsonSchema, toEditorJsonSchema, toJsonSchema } from '../schema/jsonSchema';
import { toMarkdownReference } from '../schema/markdown';
import { allLosses, termPairs } from '../losses';
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
  return `${lossTableMarkdown()}\n\n${toMarkdownReference(configSchema)}`;
}

/** Every loss of the registry in one table: what a `distillation.losses` term's `type` can be. */
function lossTableMarkdown(): string {
  const rows = allLosses().map((d) => {
    const layers = termPairs(d.example).map((p) => `${p.student} ← ${p.teacher}`).join(', ');
    return `| \`${d.type}\` | ${d.title} | ${d.knowledge} | ${d.paper} | ${d.reference} | ${String(d.example.weight)}${layers ? ` (e.g. ${layers})` : ''} |`;
  });
  return [
    'Loss terms (`distillation.losses[].type`), each with the weight its reference uses by default:',
    '',
    '| type | method | knowledge | paper | matches | default weight |',
    '|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** `readme` with the text between the config-reference markers replaced by `reference`. */
export function withConfigReference(readme: string, reference: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`${README_PATH} lacks the ${START} … ${END} markers`);
  return `${readme.slice(0, a + START.length)}\n${reference}\n${readme.slice(b)}`;
}
