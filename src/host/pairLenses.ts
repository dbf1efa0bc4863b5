// What the CodeLens over each layer-pair term says: the loss, the two layers' shapes and, for a
// term with a connector, the connector that bridges them — "hint: student fc1 [64] → linear →
// teacher fc2 [128]" — or why the pair does not work. Pure (no vscode): unit tested.
import { findNodeAtLocation, getNodeValue } from 'jsonc-parser';
import type { ParseResult, ValidationEnv } from '../core/config/parse';
import { layerNamesFor, layersFor } from '../core/config/parse';
import { requestedConnector, termPairFields } from '../core/losses';
import { type LayerInfo, resolveConnector } from '../core/models';

export interface PairLens {
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

export function describePairs(result: ParseResult, env: ValidationEnv, configDir: string): PairLens[] {
  const losses = result.tree ? findNodeAtLocation(result.tree, ['distillation', 'losses']) : undefined;
  if (!losses || losses.type !== 'array' || !losses.children) return [];
  const config = result.config;
  const student = config && layersFor(config, 'student', env, configDir);
  const teacher = config && layersFor(config, 'teacher', env, configDir);
  const lenses: PairLens[] = [];

  losses.children.forEach((node, index) => {
    if (node.type !== 'object') return;
    const raw = getNodeValue(node) as { type?: unknown; connector?: unknown };
    const pairs = termPairFields(raw);
    if (!pairs.length) return;
    const type = String(raw.type);
    const add = (title: string, isError = false) => lenses.push({ index, offset: node.offset, title: `${type}: ${title}`, isError });
    const names = pairs.map((p) => `student ${p.student.name} → teacher ${p.teacher.name}`).join(' · ');

    const problem = result.problems.find(
      (p) => p.severity === 'error' && p.path[0] === 'distillation' && p.path[1] === 'losses' && p.path[2] === index,
    );
    if (problem) return add(`⚠ ${withoutPath(problem.message)}`, true);
    if (!config) return add(`${names} · shapes appear once the config has no errors`);

    const connector = requestedConnector(raw) as 'auto' | undefined;
    const describe = (s: LayerInfo, t: LayerInfo) => {
      if (!connector) return `student ${s.name} ${formatShape(s.shape)} ↔ teacher ${t.name} ${formatShape(t.shape)}`;
      const r = resolveConnector(connector, s, t);
      return 'error' in r ? `⚠ ${r.error}` : `student ${s.name} ${formatShape(s.shape)} → ${r.connector} → teacher ${t.name} ${formatShape(t.shape)}`;
    };
    const parts = pairs.map((p) => ({ s: student?.find((l) => l.name === p.student.name), t: teacher?.find((l) => l.name === p.teacher.name), p }));
    if (parts.every((x) => x.s && x.t)) {
      const titles = parts.map((x) => describe(x.s!, x.t!));
      return add(titles.join(' · '), titles.some((t) => t.startsWith('⚠')));
    }
    if (student && !teacher) {
      // A teacher loaded from a model.json or an earlier run: its shapes are known when it loads.
      const known = layerNamesFor(config, 'teacher', env, configDir) ? '' : ' (layer names unknown until it loads)';
      const via = connector ? ` → ${connector === 'auto' ? 'connector chosen' : connector} →` : ' ↔';
      const titles = parts.map((x) => `student ${x.p.student.name}${x.s ? ` ${formatShape(x.s.shape)}` : ''}${via} teacher ${x.p.teacher.name}`);
      return add(`${titles.join(' · ')} · shape known when the teacher loads${known}`);
    }
    add(`${names} · shapes unknown until the data can be read`);
  });
  return lenses;
}
