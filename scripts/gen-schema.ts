// Writes schemas/distill.schema.json, schemas/distill.editor.schema.json and the README's config reference from the config schema in
// src/core/config/schema.ts. Usage: npm run schema  (or: npx tsx scripts/gen-schema.ts [--check])
import * as fs from 'fs';
import * as path from 'path';
import { configReferenceMarkdown, distillSchemaText, DISTILL_SCHEMA_PATH, EDITOR_SCHEMA_PATH, editorSchemaText, README_PATH, withConfigReference } from '../src/core/config/schemaFile';

const root = path.join(__dirname, '..');
const targets = [
  { rel: DISTILL_SCHEMA_PATH, make: () => distillSchemaText() },
  { rel: EDITOR_SCHEMA_PATH, make: () => editorSchemaText() },
  { rel: README_PATH, make: (current = '') => withConfigReference(current, configReferenceMarkdown()) },
];

let stale = false;
for (const { rel, make } of targets) {
  const file = path.join(root, rel);
  const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
  const text = make(current);
  if (current === text) {
    console.log(`${rel} is up to date`);
  } else if (process.argv.includes('--check')) {
    console.error(`${rel} is out of date; run: npm run schema`);
    stale = true;
  } else {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, text);
    console.log(`wrote ${rel} (${text.length} bytes)`);
  }
}
process.exit(stale ? 1 : 0);
