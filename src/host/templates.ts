// The experiment templates offered by "New Experiment": the examples, bundled as JSON so the
// installed extension needs no file from the repository. Pure (no vscode): unit tested.
import byotFashionCnn from '../../examples/byot-fashion-cnn.distill.json';
import dmlMnist from '../../examples/dml-mnist.distill.json';
import fashionCnnHints from '../../examples/fashion-cnn-hints.distill.json';
import hintonEnsemble from '../../examples/hinton-ensemble.distill.json';
import hintonMnist from '../../examples/hinton-mnist.distill.json';
import omitted3 from '../../examples/omitted-3.distill.json';
import quickMnist from '../../examples/quick-mnist.distill.json';
import { methodTemplates } from './methodTemplates';

export interface Template {
  id: string;
  label: string;
  /** One short line: the quick pick cuts what does not fit its width (about 60 characters). */
  detail: string;
  config: Record<string, unknown>;
}

export const TEMPLATES: readonly Template[] = [
  {
    id: 'quick-mnist',
    label: 'Quick MNIST',
    detail: 'Seconds: small MLPs, soft targets + a FitNet hint',
    config: quickMnist,
  },
  {
    id: 'hinton-mnist',
    label: 'Hinton MNIST',
    detail: 'Hinton et al. 2015: 2×1200 → 2×800 MLPs, T 20',
    config: hintonMnist,
  },
  {
    id: 'fashion-cnn-hints',
    label: 'Fashion-MNIST CNN with feature hints',
    detail: 'CNNs matched on conv maps, T 4; teacher ≈5 min',
    config: fashionCnnHints,
  },
  {
    id: 'hinton-ensemble',
    label: 'Hinton MNIST, ensemble teacher',
    detail: 'Three 2×1200 teachers averaged into one 2×800 student',
    config: hintonEnsemble,
  },
  {
    id: 'omitted-3',
    label: 'Hinton omitted-3 transfer set',
    detail: 'The student never sees a 3; accuracy on the test 3s',
    config: omitted3,
  },
  {
    id: 'dml-mnist',
    label: 'Deep Mutual Learning (online)',
    detail: 'Two MLPs learn together, each against itself alone',
    config: dmlMnist,
  },
  {
    id: 'byot-fashion-cnn',
    label: 'Be Your Own Teacher (self-distillation)',
    detail: 'Fashion CNN with early exits: accuracy vs cost',
    config: byotFashionCnn,
  },
  ...methodTemplates(),
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
 * The text of a new config from a template, named `name`. A `$schema` is dropped should an
 * example carry one: the extension associates the schema by file name, and a relative `$schema`
 * copied into a user's folder resolves nowhere (and switches completion off).
 */
export function templateText(template: Template, name: string): string {
  const { $schema: _schema, ...rest } = template.config;
  return formatJson({ ...rest, name }) + '\n';
}
