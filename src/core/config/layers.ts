// The layers of the teacher and the student as far as the config tells them: names always for
// models built from a spec, shapes when the data's input shape is known, and names only for a
// teacher loaded from a model.json. Used by the validator and by the editor's CodeLens.
import * as nodePath from 'path';
import { describeModel, LayerInfo } from '../models';
import { dataFacts, DataFacts, ValidationEnv } from './env';
import type { DataConfig, DistillConfig, ModelSpec } from './schema';

/** Layer names a spec produces, in order; the same names `describeModel` gives, without needing shapes. */
export function specLayerNames(spec: ModelSpec): string[] {
  const names: string[] = [];
  if (spec.type === 'cnn') {
    spec.conv.forEach((block, i) => {
      names.push(`conv${i + 1}`);
      if (block.pool > 1) names.push(`pool${i + 1}`);
    });
  }
  spec.hidden.forEach((_, i) => names.push(`fc${i + 1}`));
  names.push('logits');
  return names;
}

/** Layer classes the trainer does not tap (see wrapLoadedModel in src/trainer/models.ts). */
const NOT_TAPS = new Set(['InputLayer', 'Dropout', 'Flatten', 'Reshape']);

/**
 * The tap names the trainer will give a teacher loaded from this model.json (`modelTopology`,
 * Sequential or functional, with or without the `model_config` wrapper): every layer but inputs,
 * dropout, flatten and reshape, with the output layer (a final softmax dropped) called `logits`.
 * Undefined if the text is not such a file. Read from the JSON without tfjs, so it follows the
 * layer order in the file; the trainer checks the real graph when it loads the model.
 */
export function modelJsonLayerNames(text: string): string[] | undefined {
  try {
    const json = JSON.parse(text) as { modelTopology?: unknown };
    let topo = json.modelTopology as { model_config?: unknown; config?: unknown } | undefined;
    if (!topo || typeof topo !== 'object') return undefined;
    if (topo.model_config && typeof topo.model_config === 'object') topo = topo.model_config as typeof topo;
    const config = topo.config as { layers?: unknown } | unknown[] | undefined;
    const raw = Array.isArray(config) ? config : (config as { layers?: unknown } | undefined)?.layers;
    if (!Array.isArray(raw)) return undefined;
    type RawLayer = { class_name?: unknown; name?: unknown; config?: { name?: unknown; activation?: unknown } };
    let layers = (raw as RawLayer[])
      .map((l) => ({ cls: String(l?.class_name ?? ''), name: l?.config?.name ?? l?.name, activation: l?.config?.activation }))
      .filter((l): l is { cls: string; name: string; activation: unknown } => typeof l.name === 'string' && l.cls !== 'InputLayer');
    const named = layers.findIndex((l) => l.name === 'logits');
    if (named >= 0) layers = layers.slice(0, named + 1);
    let last = layers.pop();
    if (last && (last.cls === 'Softmax' || (last.cls === 'Activation' && last.activation === 'softmax'))) last = layers.pop();
    if (!last) return undefined;
    return [...layers.filter((l) => !NOT_TAPS.has(l.cls)).map((l) => l.name), 'logits'];
  } catch {
    return undefined;
  }
}

/** The input shape the models see: a CSV's declared imageShape wins over the facts' flat vector. */
export function inputShapeOf(data: DataConfig, facts: DataFacts): number[] {
  return data.dataset === 'csv' && data.imageShape ? data.imageShape : facts.inputShape;
}

function specFor(config: DistillConfig, which: 'teacher' | 'student'): ModelSpec | undefined {
  if (which === 'student') return config.student.model;
  return config.teacher?.source === 'train' ? config.teacher.model : undefined;
}

/**
 * The layers (names, shapes, parameters) of the teacher or the student, or undefined when they are
 * not known before training: a teacher from a file or an earlier run, data whose shape is unknown,
 * or a spec that cannot be built on that data.
 */
export function layersFor(config: DistillConfig, which: 'teacher' | 'student', env: ValidationEnv, configDir = '.'): LayerInfo[] | undefined {
  if (!specFor(config, which)) return undefined;
  try {
    return layersWithFacts(config, which, dataFacts(config.data, configDir, env));
  } catch {
    return undefined;
  }
}

/** `layersFor` when the data facts are already known. */
export function layersWithFacts(config: DistillConfig, which: 'teacher' | 'student', facts: DataFacts | undefined): LayerInfo[] | undefined {
  const spec = specFor(config, which);
  if (!spec || !facts) return undefined;
  try {
    return describeModel(spec, inputShapeOf(config.data, facts), facts.numClasses).layers;
  } catch {
    return undefined;
  }
}

/**
 * Just the layer names of the teacher or student: from the spec, or for a teacher loaded from a file
 * from its model.json (read through `env.readText`). Undefined when unknown (a teacher from a run).
 */
export function layerNamesFor(config: DistillConfig, which: 'teacher' | 'student', env: ValidationEnv, configDir = '.'): string[] | undefined {
  const spec = specFor(config, which);
  if (spec) return specLayerNames(spec);
  if (which === 'teacher' && config.teacher?.source === 'file') {
    const text = env.readText?.(nodePath.resolve(configDir, config.teacher.path));
    return text === undefined ? undefined : modelJsonLayerNames(text);
  }
  // An ensemble teaches through its averaged predictions only.
  if (which === 'teacher' && config.teacher?.source === 'ensemble') return ['logits'];
  return undefined;
}
