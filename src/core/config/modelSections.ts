// The teacher's and the student's layers from a config that may be wrong elsewhere: editor
// features (layer-name completion, the layer quick fix, the Model Layers view) need the models
// while the user is still typing, and a model does not depend on `seed`, the loss terms or the
// training settings. Each model section is validated on its own. Pure (no vscode): unit tested.
import * as nodePath from 'path';
import { findNodeAtLocation, getNodeValue, type Node, parseTree } from 'jsonc-parser';
import type { ValidationEnv } from './env';
import { modelJsonLayerNames, specLayerNames } from './layers';
import { parseConfig } from './parse';
import { type DistillConfig, type ModelSpec, modelSchema } from './schema';
import { validateStructure } from './validate';

export type ModelSide = 'teacher' | 'student';

/** A model spec that validates on its own (defaults filled in), or undefined. */
function specAt(tree: Node, at: (string | number)[]): ModelSpec | undefined {
  const node = findNodeAtLocation(tree, at);
  if (!node) return undefined;
  const { value, issues } = validateStructure(node, modelSchema);
  return value !== undefined && !issues.some((i) => i.severity === 'error') ? (value as ModelSpec) : undefined;
}

/**
 * The layer names of one side, read from the text even when other sections have errors: from the
 * model spec (`student.model`, `teacher.model`), or for `teacher.source: "file"` from the
 * model.json it names. Undefined when unknown (a teacher from a run, a spec with errors).
 */
export function sideLayerNames(textOrTree: string | Node | undefined, side: ModelSide, configFile: string, env: ValidationEnv): string[] | undefined {
  const tree = typeof textOrTree === 'string' ? parseTree(textOrTree) : textOrTree;
  if (!tree || tree.type !== 'object') return undefined;
  if (side === 'teacher') {
    const source = findNodeAtLocation(tree, ['teacher', 'source'])?.value ?? 'train';
    if (source === 'file') {
      const p = findNodeAtLocation(tree, ['teacher', 'path'])?.value;
      const text = typeof p === 'string' ? env.readText?.(nodePath.resolve(nodePath.dirname(configFile), p)) : undefined;
      return text === undefined ? undefined : modelJsonLayerNames(text);
    }
    if (source !== 'train') return undefined;
  }
  const spec = specAt(tree, [side, 'model']);
  return spec && specLayerNames(spec);
}

/** A valid stand-in for the sections the models do not depend on. */
const STAND_INS = {
  name: 'models',
  distillation: { temperature: 1, losses: [{ type: 'ce', weight: 1 }] },
  training: { epochs: 1, optimizer: { type: 'sgd', lr: 0.1 } },
};

/**
 * The config with only `data`, `teacher` and `student` taken from the text and every other section
 * replaced by a valid stand-in: undefined unless those three sections are valid together. With it,
 * the layers and their shapes (core's `layersFor`) are known whenever the models are, whatever
 * else is wrong (`"seed": "1"`, a misspelt loss term, a bad optimizer).
 */
export function modelsConfig(text: string, file: string, env: ValidationEnv): DistillConfig | undefined {
  const tree = parseTree(text);
  if (!tree || tree.type !== 'object') return undefined;
  const value = getNodeValue(tree) as Record<string, unknown>;
  const copy = { ...STAND_INS, data: value.data, teacher: value.teacher, student: value.student };
  return parseConfig(JSON.stringify(copy), file, env).config;
}
