// What the model-layers panel shows for a config's text, before anything trains: the teacher's
// and the student's layers (core's `layersFor`), and every layer pair with its connector or the
// validator's objection. Any error makes the whole config invalid, so the layers are worked out
// from the text's model sections alone (`modelsConfig`): the models depend on nothing else.
// Pure (no vscode): unit tested.
import * as path from 'node:path';
import { findNodeAtLocation, getNodeValue, type Node } from 'jsonc-parser';
import { modelsConfig } from '../../core/config/modelSections';
import { layerNamesFor, layersFor, parseConfig, type ValidationEnv } from '../../core/config/parse';
import { requestedConnector, termPairFields } from '../../core/losses';
import { type LayerInfo, resolveConnector } from '../../core/models';
import type { LayerPair, LayersPayload } from '../../core/webviewProtocol';

/** `distillation.losses[2].student: the student has no…` → `the student has no…`. */
const withoutPath = (message: string) => message.replace(/^[\w$.[\]]+: /, '');

const lineOf = (text: string, offset: number) => {
  let line = 0;
  for (let i = 0; i < offset && i < text.length; i++) if (text.charCodeAt(i) === 10) line++;
  return line;
};

const isLossProblem = (p: { path: (string | number)[] }) => p.path[0] === 'distillation' && p.path[1] === 'losses' && typeof p.path[2] === 'number';

export function layersPayload(text: string, file: string, env: ValidationEnv): LayersPayload {
  const configDir = path.dirname(file);
  const result = parseConfig(text, file, env);
  const losses = result.tree ? findNodeAtLocation(result.tree, ['distillation', 'losses']) : undefined;
  const config = result.config ?? modelsConfig(text, file, env);

  const sides = (which: 'teacher' | 'student'): { layers?: LayerInfo[]; note?: string } => {
    if (!config) return { note: 'The layers appear once the data, teacher and student sections have no errors.' };
    const layers = layersFor(config, which, env, configDir);
    if (layers) return { layers };
    const names = layerNamesFor(config, which, env, configDir);
    const source = which === 'teacher' ? config.teacher?.source : 'train';
    const why =
      source === 'file'
        ? 'The teacher is loaded from a model.json: its shapes are known once it loads.'
        : source === 'run'
          ? 'The teacher comes from an earlier run: its layers are known once it loads.'
          : source === 'ensemble'
            ? 'The teacher is an ensemble: it teaches through its averaged predictions (logits) only.'
            : source === undefined
              ? 'This mode has no separate teacher.'
              : 'The shapes are unknown until the data can be read.';
    return { layers: names?.map((name) => ({ name, kind: name === 'logits' ? 'logits' : 'dense', shape: [], params: 0, flops: 0 })), note: why };
  };
  const teacher = sides('teacher');
  const student = sides('student');

  const pairs: LayerPair[] = [];
  (losses?.type === 'array' ? (losses.children ?? []) : []).forEach((node: Node, index) => {
    if (node.type !== 'object') return;
    const raw = getNodeValue(node) as { type?: unknown; weight?: unknown; connector?: unknown };
    const problem = result.problems.find((p) => p.severity === 'error' && isLossProblem(p) && p.path[2] === index);
    // Only a term with a connector (FitNet's hint) bridges shapes; the others compare as they are.
    const requested = requestedConnector(raw);
    for (const fields of termPairFields(raw)) {
      const pair: LayerPair = {
        index,
        type: String(raw.type),
        student: fields.student.name,
        teacher: fields.teacher.name,
        weight: typeof raw.weight === 'number' ? raw.weight : undefined,
        line: lineOf(text, node.offset),
      };
      if (problem) pair.error = withoutPath(problem.message);
      const s = student.layers?.find((l) => l.name === pair.student && l.shape.length);
      const t = teacher.layers?.find((l) => l.name === pair.teacher && l.shape.length);
      if (requested && s && t) {
        const r = resolveConnector(requested as 'auto', s, t);
        if ('error' in r) pair.error ??= r.error;
        else pair.connector = r.connector;
      } else if (requested && !pair.error && config) {
        pair.connector = requested === 'auto' ? 'connector chosen when the teacher loads' : requested;
      }
      pairs.push(pair);
    }
  });

  const problems = result.problems
    .filter((p) => p.severity === 'error' && !(isLossProblem(p) && pairs.some((x) => x.index === p.path[2])))
    .map((p) => ({ message: p.message, line: p.range.start.line }));
  return { configPath: file, teacher: teacher.layers, student: student.layers, teacherNote: teacher.note, studentNote: student.note, pairs, problems };
}
