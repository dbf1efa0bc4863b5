// The README's config reference, generated from the same schema declaration as the types, the
// JSON Schema and the validator — so the documentation cannot drift from what is accepted.
import type { ObjectSchema, Schema, TaggedSchema } from './dsl';

function typeOf(s: Schema): string {
  switch (s.kind) {
    case 'number':
      return s.integer ? 'integer' : 'number';
    case 'string':
      return s.format === 'path' ? 'path' : 'string';
    case 'boolean':
      return 'boolean';
    case 'enum':
      return s.values.map((v) => `\`"${v}"\``).join(' \\| ');
    case 'array':
      return `list of ${typeOf(s.items)}`;
    case 'object':
      return 'object';
    case 'tagged':
      return `object, by \`${s.tag}\``;
  }
}

function bounds(s: Schema): string {
  if (s.kind !== 'number') return '';
  const parts: string[] = [];
  if (s.minimum !== undefined) parts.push(`≥ ${s.minimum}`);
  if (s.exclusiveMinimum !== undefined) parts.push(`> ${s.exclusiveMinimum}`);
  if (s.maximum !== undefined) parts.push(`≤ ${s.maximum}`);
  if (s.exclusiveMaximum !== undefined) parts.push(`< ${s.exclusiveMaximum}`);
  return parts.join(', ');
}

function objectLines(o: ObjectSchema, depth: number, prefix: string): string[] {
  const lines: string[] = [];
  const pad = '  '.repeat(depth);
  for (const [key, prop] of Object.entries(o.properties)) {
    if (key === '$schema') continue;
    const s = prop.schema;
    const facts = [typeOf(s), bounds(s), prop.required ? 'required' : 'default' in s && s.default !== undefined ? `default \`${JSON.stringify(s.default)}\`` : 'optional']
      .filter(Boolean)
      .join('; ');
    lines.push(`${pad}- \`${prefix}${key}\` (${facts}) — ${s.description}`);
    lines.push(...childLines(s, depth + 1, ''));
  }
  return lines;
}

function childLines(s: Schema, depth: number, prefix: string): string[] {
  if (s.kind === 'object') return objectLines(s, depth, prefix);
  if (s.kind === 'array' && (s.items.kind === 'object' || s.items.kind === 'tagged')) return childLines(s.items, depth, prefix);
  if (s.kind === 'tagged') return taggedLines(s, depth);
  return [];
}

function taggedLines(t: TaggedSchema, depth: number): string[] {
  const pad = '  '.repeat(depth);
  return Object.entries(t.variants).flatMap(([name, variant]) => [
    `${pad}- \`"${t.tag}": "${name}"\`${name === t.defaultVariant ? ' (the default when `' + t.tag + '` is left out)' : ''} — ${variant.description}`,
    ...objectLines(variant, depth + 1, ''),
  ]);
}

/** A nested Markdown list of every property: type, bounds, default or required, description. */
export function toMarkdownReference(schema: ObjectSchema): string {
  return objectLines(schema, 0, '').join('\n');
}
