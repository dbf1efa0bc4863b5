// The experiment templates offered by "New Experiment": the three examples, bundled as JSON so
// the installed extension needs no file from the repository. Pure (no vscode): unit tested.
import fashionCnnHints from '../../examples/fashion-cnn-hints.distill.json';
import hintonMnist from '../../examples/hinton-mnist.distill.json';
import quickMnist from '../../examples/quick-mnist.distill.json';

export interface Template {
  id: string;
  label: string;
  detail: string;
  config: Record<string, unknown>;
}

export const TEMPLATES: readonly Template[] = [
  {
    id: 'quick-mnist',
    label: 'Quick MNIST',
    detail: 'Seconds: small MLPs on 4,000 digits, soft targets plus a FitNet hint.',
    config: quickMnist,
  },
  {
    id: 'hinton-mnist',
    label: 'Hinton MNIST',
    detail: 'Hinton, Vinyals & Dean (2015): a regularised 2×1200 teacher, a 2×800 student, T = 20.',
    config: hintonMnist,
  },
  {
    id: 'fashion-cnn-hints',
    label: 'Fashion-MNIST CNN with feature hints',
    detail: 'CNN teacher and thinner CNN student matched on conv maps through 1×1 connectors, T = 4.',
    config: fashionCnnHints,
  },
];

/**
 * JSON with 2-space indentation, but objects and lists that fit on one line stay on one line,
 * as in the hand-written examples (a model spec reads better as one line than as twelve).
 */
export function formatJson(value: unknown, indent = '', width = 120, prefix = 0): string {
  const oneLine = spaced(value);
  if (value === null || typeof value !== 'object' || indent.length + prefix + oneLine.length <= width) return oneLine;
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    return `[\n${value.map((v) => inner + formatJson(v, inner, width)).join(',\n')}\n${indent}]`;
  }
  const entries = Object.entries(value as Record<string, unknown>).map(([k, v]) => {
    const key = `${JSON.stringify(k)}: `;
    return inner + key + formatJson(v, inner, width, key.length);
  });
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

/** One-line JSON with a space after `:` and `,` and inside braces: `{ "a": 1, "b": [1, 2] }`. */
function spaced(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(spaced).join(', ')}]`;
  if (value !== null && typeof value === 'object') {
    const e = Object.entries(value as Record<string, unknown>);
    return e.length ? `{ ${e.map(([k, v]) => `${JSON.stringify(k)}: ${spaced(v)}`).join(', ')} }` : '{}';
  }
  return JSON.stringify(value);
}

/**
 * The text of a new config from a template, named `name`. The examples' `$schema` points into
 * the repository; the extension associates the schema by file name instead, so it is dropped.
 */
export function templateText(template: Template, name: string): string {
  const { $schema: _schema, ...rest } = template.config;
  return formatJson({ ...rest, name }) + '\n';
}
