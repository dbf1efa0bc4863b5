// What the CodeLens over each feature (`hint`) term says: the two layers' shapes and the
// connector that will bridge them — "student fc1 [64] → linear → teacher fc2 [128]" — or why
// the pair does not work. Pure (no vscode): unit tested.
import { findNodeAtLocation, getNodeValue } from 'jsonc-parser';
import type { ParseResult, ValidationEnv } from '../core/config/parse';
import { layerNamesFor, layersFor } from '../core/config/parse';
import type { LossTerm } from '../core/config/schema';
import { resolveConnector } from '../core/models';

export interface HintLens {
  /** Index of the term in distillation.losses. */
  index: number;
  /** Offset of the term's `{` in the parsed text. */
  offset: number;
  title: string;
  isError: boolean;
}

export const formatShape = (shape: number[]) => `[${shape.join('×')}]`;

/** `distillation.losses[2].student: the student has no…` → `the student has no…` (the lens sits on that term). */
const withoutPath = (message: string) => message.replace(/^[\w$.[\]]+: /, '');

type HintTerm = Extract<LossTerm, { type: 'hint' }>;

export function describeHints(result: ParseResult, env: ValidationEnv, configDir: string): HintLens[] {
  const losses = result.tree ? findNodeAtLocation(result.tree, ['distillation', 'losses']) : undefined;
  if (!losses || losses.type !== 'array' || !losses.children) return [];
  const config = result.config;
  const student = config && layersFor(config, 'student', env, configDir);
  const teacher = config && layersFor(config, 'teacher', env, configDir);
  const lenses: HintLens[] = [];

  losses.children.forEach((node, index) => {
    if (node.type !== 'object') return;
    const raw = getNodeValue(node) as { type?: unknown; student?: unknown; teacher?: unknown };
    if (raw.type !== 'hint') return;
    const add = (title: string, isError = false) => lenses.push({ index, offset: node.offset, title, isError });

    const problem = result.problems.find(
      (p) => p.severity === 'error' && p.path[0] === 'distillation' && p.path[1] === 'losses' && p.path[2] === index,
    );
    if (problem) return add(`⚠ ${withoutPath(problem.message)}`, true);
    if (!config) return add(`student ${String(raw.student)} → teacher ${String(raw.teacher)} · shapes appear once the config has no errors`);

    const term = config.distillation.losses[index] as HintTerm;
    const s = student?.find((l) => l.name === term.student);
    const t = teacher?.find((l) => l.name === term.teacher);
    if (s && t) {
      const r = resolveConnector(term.connector ?? 'auto', s, t);
      if ('error' in r) return add(`⚠ ${r.error}`, true);
      return add(`student ${s.name} ${formatShape(s.shape)} → ${r.connector} → teacher ${t.name} ${formatShape(t.shape)}`);
    }
    if (s && !teacher) {
      // A teacher loaded from a model.json or an earlier run: its shapes are known when it loads.
      const names = layerNamesFor(config, 'teacher', env, configDir);
      const connector = (term.connector ?? 'auto') === 'auto' ? 'connector chosen' : term.connector;
      const known = names ? '' : ' (layer names unknown until it loads)';
      return add(`student ${s.name} ${formatShape(s.shape)} → ${connector} → teacher ${term.teacher} · shape known when the teacher loads${known}`);
    }
    add(`student ${term.student} → teacher ${term.teacher} · shapes unknown until the data can be read`);
  });
  return lenses;
}
