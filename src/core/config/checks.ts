// Checks of meaning, on top of the structure: things the schema cannot say (loss weights that add
// up to nothing, layer names that do not exist, shapes no connector can bridge, sizes beyond the
// data). Each check runs only on sections that are structurally valid, so several problems in
// different sections are all reported at once.
import * as nodePath from 'path';
import { lossDefinition, termId, termPairFields, usesTeacher } from '../losses';
import { describeModel } from '../models';
import { defaultValidationSize } from '../data/split';
import { dataFacts, DataFacts, MNIST_TOTAL, mnistTestCount, testCount, ValidationEnv } from './env';
import { MODES, modeOf } from '../modes';
import { inputShapeOf, layerNamesFor, layersWithFacts, specLayerNames } from './layers';
import { formatPath, JsonPath, ProblemCode, Severity, suggestion } from './problems';
import { type DistillConfig, type DistillMode, MAX_SEED, type ModelSpec, type TrainingConfig } from './schema';

export interface CheckContext {
  env: ValidationEnv;
  configDir: string;
  /** True when no error concerns this path, anything inside it or anything containing it. */
  ok(path: JsonPath): boolean;
  /** Whether a problem with this code was reported at or inside this path. */
  has(path: JsonPath, code: ProblemCode): boolean;
  /** Whether the config file itself has a value at this path (rather than a default). */
  written(path: JsonPath): boolean;
  /** Where the value at this path starts in the file, when it is written: tells which of two was written second. */
  offset(path: JsonPath): number | undefined;
  /**
   * `at` is where to point in the file when it differs from `path` (e.g. the value the user wrote);
   * `anchor` points at the property's key (or an object's brace) instead of its whole value.
   */
  report(p: { path: JsonPath; at?: JsonPath; anchor?: boolean; code: ProblemCode; message: string; severity?: Severity }): void;
}

const count = (n: number) => n.toLocaleString('en-US');

/** Class labels are 0 … n−1; a label far above this is a wrong labelColumn or a corrupt file. */
export const MAX_CLASSES = 100_000;
/**
 * Parameters one model may have. Training keeps weights, gradients and optimiser state (3–4 floats
 * per parameter) in the trainer's memory, and the wasm backend's heap is at most 4 GB.
 */
export const MAX_PARAMS = 100_000_000;
/** Values one layer's output may hold for a whole batch (2^28 floats = 1 GB). */
export const MAX_BATCH_ACTIVATIONS = 2 ** 28;

export function checkMeaning(config: DistillConfig, c: CheckContext): void {
  const facts = describe(config, c);
  checkLosses(config, c);
  checkData(config, facts, c);
  checkModels(config, facts, c);
  checkLayers(config, facts, c);
  const validation = validationCount(config, facts, c);
  const trainings = [{ training: config.training, path: ['training'] as JsonPath }, ...trainedTeachers(config, c).map((t) => ({ training: t.training, path: [...t.path, 'training'] }))];
  for (const { training, path } of trainings) {
    checkSchedule(training, path, c);
    checkSelection(training, path, validation, c);
  }
  checkMode(config, c);
  checkProbes(config, facts, c);
  checkTransfer(config, facts, c);
  checkSeeds(config, c);
  checkStudentInit(config, facts, c);
}

/** The data's facts, if the data section is valid, its files exist and the facts are known. */
function describe(config: DistillConfig, c: CheckContext): DataFacts | undefined {
  if (!c.ok(['data']) || c.has(['data'], 'missing-file')) return undefined;
  let facts: DataFacts | undefined;
  try {
    facts = dataFacts(config.data, c.configDir, c.env);
  } catch (e) {
    c.report({ path: ['data'], anchor: true, code: 'bad-data', message: `data: ${(e as Error).message}` });
    return undefined;
  }
  if (facts && facts.numClasses > MAX_CLASSES) {
    c.report({
      path: ['data'],
      anchor: true,
      code: 'bad-data',
      message: `data: the largest label is ${count(facts.numClasses - 1)}, so the models would need ${count(facts.numClasses)} output classes (at most ${count(MAX_CLASSES)}); labels must be class indices 0 … n−1 (is labelColumn right?)`,
    });
    return undefined;
  }
  return facts;
}

// ---- loss terms -----------------------------------------------------------------------------

function checkLosses(config: DistillConfig, c: CheckContext) {
  const lossesPath = ['distillation', 'losses'];
  if (!c.ok(lossesPath)) return;
  const losses = config.distillation.losses;
  if (losses.length === 0) return;
  if (losses.every((t) => t.weight === 0)) {
    c.report({ path: lossesPath, code: 'all-weights-zero', message: 'distillation.losses: every loss term has weight 0, so the student would learn nothing' });
  } else if (!usesTeacher(losses.filter((t) => t.weight > 0 || (lossDefinition(t.type).pretrain?.epochs(t) ?? 0) > 0))) {
    c.report({
      path: lossesPath,
      code: 'no-teacher-term',
      severity: 'warning',
      message: 'distillation.losses: no term with a weight above 0 uses the teacher (add a "kd" term or a feature or relation term); the student would train like the baseline',
    });
  }
  const first = new Map<string, number>();
  losses.forEach((term, i) => {
    const id = termId(term);
    const earlier = first.get(id);
    if (earlier === undefined) first.set(id, i);
    else
      c.report({
        path: [...lossesPath, i],
        at: c.written([...lossesPath, i, 'id']) ? [...lossesPath, i, 'id'] : [...lossesPath, i, 'type'],
        code: 'duplicate-loss',
        message: `distillation.losses[${i}]: duplicate loss term "${id}" (the same as losses[${earlier}]); give one term the combined weight, or each its own "id"`,
      });
  });
}

// ---- data sizes -----------------------------------------------------------------------------

function checkData(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  if (!c.ok(['data'])) return;
  const data = config.data;
  let trainPool: number | undefined = facts?.trainAvailable;
  let poolNote = '';
  if (data.dataset === 'mnist') {
    if (data.testSize !== undefined && c.written(['data', 'testFraction'])) {
      c.report({ path: ['data', 'testFraction'], code: 'ignored-property', severity: 'warning', message: 'data.testFraction: ignored because data.testSize is given' });
    }
    const tc = mnistTestCount(data);
    if (tc < 1) {
      c.report({
        path: ['data', 'testFraction'],
        code: 'not-enough-data',
        message: `data.testFraction: ${data.testFraction} of the ${count(MNIST_TOTAL)} digits rounds to 0 test examples; use at least ${1 / MNIST_TOTAL} (or give testSize)`,
      });
      return;
    }
    poolNote = ` (the built-in mnist has ${count(MNIST_TOTAL)} digits, shared with the ${count(tc)} test examples)`;
    if (tc >= MNIST_TOTAL) {
      const at: JsonPath = data.testSize !== undefined ? ['data', 'testSize'] : ['data', 'testFraction'];
      c.report({
        path: at,
        code: 'not-enough-data',
        message: `${formatPath(at)}: ${count(tc)} test examples leave none for training (the built-in mnist has ${count(MNIST_TOTAL)} digits shared between test and train)`,
      });
      return;
    }
    trainPool = MNIST_TOTAL - tc;
  } else if (facts && data.testSize !== undefined && data.testSize > facts.testAvailable) {
    c.report({
      path: ['data', 'testSize'],
      code: 'not-enough-data',
      message: `data.testSize: ${count(data.testSize)} is more than the ${count(facts.testAvailable)} test examples available`,
    });
  }
  if (trainPool === undefined) return;
  // The default validation split always fits (it takes no more than trainSize leaves).
  const val = data.validationSize ?? 0;
  if (data.trainSize !== undefined) {
    if (data.trainSize + val > trainPool) {
      c.report({
        path: ['data', 'trainSize'],
        code: 'not-enough-data',
        message:
          val > 0
            ? `data.trainSize: trainSize + validationSize = ${count(data.trainSize)} + ${count(val)} = ${count(data.trainSize + val)} is more than the ${count(trainPool)} training examples available${poolNote}`
            : `data.trainSize: ${count(data.trainSize)} is more than the ${count(trainPool)} training examples available${poolNote}`,
      });
    }
  } else if (val >= trainPool) {
    c.report({
      path: ['data', 'validationSize'],
      code: 'not-enough-data',
      message: `data.validationSize: ${count(val)} leaves no training examples of the ${count(trainPool)} available${poolNote}`,
    });
  }
}

// ---- models ---------------------------------------------------------------------------------

/** The teachers this run trains (one, or an ensemble's trained members), each with its config path. */
function trainedTeachers(config: DistillConfig, c: CheckContext): { model: ModelSpec; training: TrainingConfig; path: JsonPath }[] {
  const t = config.teacher;
  if (!t || !c.ok(['teacher'])) return [];
  if (t.source === 'train') return [{ model: t.model, training: t.training, path: ['teacher'] }];
  if (t.source !== 'ensemble') return [];
  return t.members.flatMap((m, i) => (m.source === 'train' ? [{ model: m.model, training: m.training, path: ['teacher', 'members', i] }] : []));
}

// ---- the scheme (distillation.mode) and its own fields -----------------------------------------

/** Fields of `distillation` that only one mode reads. */
const MODE_FIELDS: { field: 'peers' | 'peerUpdates' | 'generations' | 'exits' | 'exitFeatureWeight'; mode: DistillMode }[] = [
  { field: 'peers', mode: 'online' },
  { field: 'peerUpdates', mode: 'online' },
  { field: 'generations', mode: 'born-again' },
  { field: 'exits', mode: 'self' },
  { field: 'exitFeatureWeight', mode: 'self' },
];

function checkMode(config: DistillConfig, c: CheckContext) {
  if (!c.ok(['distillation'])) return;
  const mode = modeOf(config);
  const def = MODES[mode];
  const modePath = ['distillation', 'mode'];
  for (const { field, mode: owner } of MODE_FIELDS) {
    if (owner !== mode && c.written(['distillation', field])) {
      c.report({ path: ['distillation', field], anchor: true, code: 'ignored-property', message: `distillation.${field} is read only in mode "${owner}" (this config's mode is "${mode}")` });
    }
  }
  if (def.needsTeacher && !config.teacher && !c.written(['teacher'])) {
    c.report({ path: c.written(modePath) ? modePath : ['distillation'], anchor: !c.written(modePath), code: 'mode-needs-teacher', message: `${def.title} needs a teacher: add a "teacher" section` });
    return;
  }
  if (!def.needsTeacher && config.teacher) {
    c.report({ path: ['teacher'], anchor: true, code: 'ignored-property', severity: 'warning', message: `${def.title} has no separate teacher (the network's deepest exit teaches): "teacher" is not used` });
  }
  if (mode === 'online' && c.ok(['teacher']) && config.teacher && config.teacher.source !== 'train') {
    c.report({ path: ['teacher', 'source'], code: 'mode-needs-teacher', message: `online distillation trains its peers together from scratch: the teacher must have "source": "train" (not "${config.teacher.source}")` });
  }
  // Online peers step together, so they share one schedule: the teacher's own would be silently unused.
  if (mode === 'online' && c.ok(['teacher']) && c.ok(['training']) && config.teacher?.source === 'train' && JSON.stringify(config.teacher.training) !== JSON.stringify(config.training)) {
    c.report({
      path: ['teacher', 'training'],
      anchor: true,
      code: 'ignored-property',
      severity: 'warning',
      message: 'online peers train together, and alone as their baselines, with "training": teacher.training is not used',
    });
  }
  // Peers and exits teach each other through their predictions; their layers need not correspond.
  if ((mode === 'online' || mode === 'self') && c.ok(['distillation', 'losses'])) {
    config.distillation.losses.forEach((t, i) => {
      if (termPairFields(t).length) {
        c.report({
          path: ['distillation', 'losses', i, 'type'],
          code: 'mode-loss',
          message: `${t.type} compares teacher and student layers, but in mode "${mode}" the models teach each other through their predictions: use ce, kd, dkd or dist`,
        });
      }
    });
  }
  if (mode === 'self' && c.ok(['student']) && config.distillation.exits) {
    const names = specLayerNames(config.student.model).filter((n) => n !== 'logits');
    const seen = new Set<string>();
    config.distillation.exits.forEach((layer, i) => {
      const p = ['distillation', 'exits', i];
      if (!names.includes(layer)) c.report({ path: p, code: 'unknown-layer', message: `${formatPath(p)}: the student has no layer "${layer}" to exit from${suggestion(layer, names)} (its layers: ${names.join(', ')})` });
      else if (seen.has(layer)) c.report({ path: p, code: 'bad-exits', message: `${formatPath(p)}: "${layer}" has an exit already` });
      else if ([...seen].some((s) => names.indexOf(s) > names.indexOf(layer))) c.report({ path: p, code: 'bad-exits', message: `${formatPath(p)}: exits go shallowest first; "${layer}" comes before ${[...seen].join(', ')}` });
      seen.add(layer);
    });
  }
}

/** The models built from specs, each with the batch size it trains at (when that is valid). */
function modelsToCheck(config: DistillConfig, c: CheckContext): { spec: ModelSpec; path: JsonPath; batchSize?: number }[] {
  const out: { spec: ModelSpec; path: JsonPath; batchSize?: number }[] = [];
  for (const t of trainedTeachers(config, c)) out.push({ spec: t.model, path: [...t.path, 'model'], batchSize: t.training.batchSize });
  if (c.ok(['student'])) out.push({ spec: config.student.model, path: ['student', 'model'], batchSize: c.ok(['training']) ? config.training.batchSize : undefined });
  return out;
}

/** Why a model this size cannot train, or undefined. */
function tooLarge(summary: ReturnType<typeof describeModel>, batchSize: number | undefined): string | undefined {
  if (summary.params > MAX_PARAMS) {
    return `${count(summary.params)} parameters is more than the trainer can train (at most ${count(MAX_PARAMS)}: weights, gradients and optimiser state must fit in its memory); use fewer or narrower layers`;
  }
  if (batchSize === undefined) return undefined;
  const widest = summary.layers.reduce((a, l) => (l.shape.reduce((x, y) => x * y, 1) > a.shape.reduce((x, y) => x * y, 1) ? l : a));
  const values = widest.shape.reduce((x, y) => x * y, 1) * batchSize;
  if (values > MAX_BATCH_ACTIVATIONS) {
    return `layer ${widest.name} [${widest.shape.join('×')}] outputs ${count(values)} values per batch of ${count(batchSize)} (at most ${count(MAX_BATCH_ACTIVATIONS)}); use a smaller batchSize or a smaller layer`;
  }
  return undefined;
}

function checkModels(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  if (!c.ok(['data'])) return;
  const data = config.data;
  for (const { spec, path, batchSize } of modelsToCheck(config, c)) {
    const typePath = [...path, 'type'];
    if (spec.type === 'cnn') {
      if (data.dataset === 'csv' && !data.imageShape) {
        c.report({
          path: typePath,
          code: 'cnn-needs-images',
          message: `${formatPath(typePath)}: a CNN needs image inputs, but the CSV data has no imageShape; add "imageShape": [height, width, channels] to data`,
        });
        continue;
      }
      if (facts && inputShapeOf(data, facts).length !== 3) {
        c.report({
          path: typePath,
          code: 'cnn-needs-images',
          message: `${formatPath(typePath)}: a CNN needs image inputs [height, width, channels], but the data gives vectors of [${inputShapeOf(data, facts).join('×')}]`,
        });
        continue;
      }
    }
    if (!facts) continue;
    let summary: ReturnType<typeof describeModel>;
    try {
      summary = describeModel(spec, inputShapeOf(data, facts), facts.numClasses);
    } catch (e) {
      c.report({ path, anchor: true, code: 'model-invalid', message: `${formatPath(path)}: ${(e as Error).message}` });
      continue;
    }
    const why = tooLarge(summary, batchSize);
    if (why) c.report({ path, anchor: true, code: 'model-too-large', message: `${formatPath(path)}: ${why}` });
  }
}

// ---- layer-pair terms: layer names, then each loss's own misuse checks ----------------------

function checkLayers(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  const lossesPath = ['distillation', 'losses'];
  if (!c.ok(lossesPath)) return;
  const terms = config.distillation.losses.map((t, i) => ({ t, i, pairs: termPairFields(t) })).filter((x) => x.pairs.length);
  if (terms.length === 0) return;
  const side = (which: 'teacher' | 'student') => {
    if (!c.ok([which])) return undefined;
    const names = layerNamesFor(config, which, c.env, c.configDir);
    const layers = layersWithFacts(config, which, facts);
    const label =
      which === 'student'
        ? 'the student'
        : config.teacher?.source === 'file'
          ? `the teacher (${config.teacher.path})`
          : config.teacher?.source === 'ensemble'
            ? 'the teacher ensemble (it teaches through its averaged predictions)'
            : 'the teacher';
    return { names, layers, label };
  };
  const sides = { student: side('student'), teacher: side('teacher') };
  const trainCount = studentTrainCount(config, facts, c);
  for (const { t, i, pairs } of terms) {
    const termPath = [...lossesPath, i];
    let namesOk = true;
    for (const pair of pairs) {
      for (const which of ['student', 'teacher'] as const) {
        const s = sides[which];
        const { field, name } = pair[which];
        if (!s?.names || s.names.includes(name)) continue;
        namesOk = false;
        const p = [...termPath, field];
        c.report({
          path: p,
          code: 'unknown-layer',
          message: `${formatPath(p)}: ${s.label} has no layer "${name}"${suggestion(name, s.names)} (its layers: ${s.names.join(', ')})`,
        });
      }
    }
    const check = lossDefinition(t.type).check;
    if (!namesOk || !check || !sides.student?.layers || !sides.teacher?.layers) continue;
    const resolved = pairs.map((p) => ({
      student: sides.student!.layers!.find((l) => l.name === p.student.name)!,
      teacher: sides.teacher!.layers!.find((l) => l.name === p.teacher.name)!,
    }));
    if (resolved.some((p) => !p.student || !p.teacher)) continue;
    for (const problem of check(t, { pairs: resolved, trainCount, numClasses: facts?.numClasses })) {
      const at = [...termPath, problem.field];
      c.report({
        path: termPath,
        at: c.written(at) || pairs.some((p) => p.student.field === problem.field || p.teacher.field === problem.field) ? at : [...termPath, 'type'],
        code: 'loss-misuse',
        message: `${formatPath(termPath)}: ${problem.message}`,
      });
    }
  }
}

// ---- schedules and probes -------------------------------------------------------------------

function checkSchedule(training: TrainingConfig, path: JsonPath, c: CheckContext) {
  if (!c.ok([...path, 'schedule']) || !c.ok([...path, 'epochs'])) return;
  const schedule = training.schedule;
  if (schedule.type !== 'step') return;
  schedule.milestones.forEach((m, j) => {
    const p = [...path, 'schedule', 'milestones', j];
    if (m >= training.epochs) {
      c.report({
        path: p,
        code: 'milestone-beyond-epochs',
        severity: 'warning',
        message: `${formatPath(p)}: milestone ${m} is not before the last epoch (${training.epochs}), so the rate never drops there`,
      });
    } else if (j > 0 && m <= schedule.milestones[j - 1]) {
      c.report({
        path: p,
        code: 'milestones-unsorted',
        severity: 'warning',
        message: `${formatPath(p)}: milestones should increase, but ${m} follows ${schedule.milestones[j - 1]}`,
      });
    }
  });
}

/** `keep: "best"` and early stopping choose on the validation split: there must be one. */
function checkSelection(training: TrainingConfig, path: JsonPath, validation: number | undefined, c: CheckContext) {
  if (!c.ok(path)) return;
  const choices = [
    ...(training.keep === 'best' && c.ok([...path, 'keep']) ? [{ field: 'keep', what: 'the best epoch' }] : []),
    ...(training.earlyStopping && c.ok([...path, 'earlyStopping']) ? [{ field: 'earlyStopping', what: 'when to stop' }] : []),
  ];
  for (const { field, what } of validation === 0 ? choices : []) {
    const p = [...path, field];
    c.report({
      path: p,
      code: 'needs-validation',
      message: `${formatPath(p)}: ${what} is chosen on the validation split, but there is none (data.validationSize is 0 or trainSize leaves no examples for it); give data.validationSize — never choose on the test set`,
    });
  }
  const stop = training.earlyStopping;
  if (stop && c.ok([...path, 'earlyStopping']) && c.ok([...path, 'epochs']) && stop.patience >= training.epochs) {
    const p = [...path, 'earlyStopping', 'patience'];
    c.report({
      path: p,
      code: 'patience-beyond-epochs',
      severity: 'warning',
      message: `${formatPath(p)}: a patience of ${stop.patience} is not less than the ${training.epochs} epochs, so training never stops early`,
    });
  }
}

function checkProbes(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  if (!c.ok(['probes']) || !c.ok(['data'])) return;
  const tests = testCount(config.data, facts);
  if (tests === undefined) return;
  // Only values the user wrote: a default larger than a small test split is clamped quietly.
  const check = (key: 'samples' | 'ckaSamples', what: string) => {
    const p = ['probes', key];
    const n = config.probes[key];
    if (!c.written(p) || n <= tests) return;
    c.report({
      path: p,
      code: 'probes-exceed-test',
      severity: 'warning',
      message: `${formatPath(p)}: ${n} ${what} but only ${count(tests)} test examples; ${count(tests)} will be used`,
    });
  };
  check('samples', 'probe samples');
  check('ckaSamples', 'CKA samples');
}

// ---- the transfer set (distillation.transfer) -----------------------------------------------

/** Examples in the training pool (before the validation split), if known. */
function trainPoolCount(config: DistillConfig, facts: DataFacts | undefined): number | undefined {
  const data = config.data;
  return data.dataset === 'mnist' ? MNIST_TOTAL - mnistTestCount(data) : facts?.trainAvailable;
}

/** Examples in the validation split, if known. */
function validationCount(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext): number | undefined {
  if (!c.ok(['data'])) return undefined;
  const data = config.data;
  if (data.validationSize !== undefined) return data.validationSize;
  const pool = trainPoolCount(config, facts);
  return pool === undefined ? undefined : defaultValidationSize(pool, data.trainSize);
}

/** Examples in the training split, if known. */
function trainSplitCount(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext): number | undefined {
  if (!c.ok(['data'])) return undefined;
  const pool = trainPoolCount(config, facts);
  const validation = validationCount(config, facts, c);
  return config.data.trainSize ?? (pool === undefined || validation === undefined ? undefined : pool - validation);
}

/** Examples the student learns on (the transfer set's), if known: what indexes a memory bank (CRD). */
function studentTrainCount(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext): number | undefined {
  const transfer = c.ok(['distillation', 'transfer']) ? config.distillation.transfer : undefined;
  if (transfer?.size !== undefined) return transfer.size;
  // How many examples the omitted classes take is known only once the data is loaded.
  if (transfer?.omitClasses?.length) return undefined;
  return trainSplitCount(config, facts, c);
}

function checkTransfer(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  const base = ['distillation', 'transfer'];
  const transfer = config.distillation?.transfer;
  if (!transfer || !c.ok(base)) return;
  const lossesPath = ['distillation', 'losses'];
  if (!transfer.labels && c.ok(lossesPath)) {
    config.distillation.losses.forEach((term, i) => {
      if (!lossDefinition(term.type).uses.labels) return;
      const p = [...lossesPath, i];
      c.report({
        path: p,
        at: [...p, 'type'],
        code: 'needs-labels',
        message: `${formatPath(p)}: a "${term.type}" term reads the labels, but distillation.transfer.labels is false (the student gets soft targets only); remove the term or set labels to true`,
      });
    });
  }
  const omit = transfer.omitClasses ?? [];
  const numClasses = c.ok(['data']) ? facts?.numClasses : undefined;
  const seen = new Set<number>();
  omit.forEach((cls, j) => {
    const p = [...base, 'omitClasses', j];
    if (numClasses !== undefined && cls >= numClasses) {
      c.report({ path: p, code: 'bad-transfer', message: `${formatPath(p)}: class ${cls} does not exist (the data has classes 0 … ${numClasses - 1})` });
    } else if (seen.has(cls)) {
      c.report({ path: p, code: 'bad-transfer', message: `${formatPath(p)}: class ${cls} is listed twice` });
    }
    seen.add(cls);
  });
  if (numClasses !== undefined && omit.length && [...seen].filter((cls) => cls < numClasses).length >= numClasses) {
    c.report({
      path: [...base, 'omitClasses'],
      code: 'not-enough-data',
      message: `${formatPath([...base, 'omitClasses'])}: every class (0 … ${numClasses - 1}) is omitted, so the transfer set would be empty`,
    });
  }
  const trainCount = trainSplitCount(config, facts, c);
  if (transfer.size !== undefined && trainCount !== undefined && transfer.size > trainCount) {
    c.report({
      path: [...base, 'size'],
      code: 'not-enough-data',
      message: `${formatPath([...base, 'size'])}: ${count(transfer.size)} is more than the ${count(trainCount)} training examples${omit.length ? ' (before the omitted classes are removed)' : ''}`,
    });
  }
  if (transfer.biasCorrection) {
    const p = [...base, 'biasCorrection'];
    if (!omit.length) {
      c.report({ path: p, code: 'bad-transfer', message: `${formatPath(p)}: the bias is added to the omitted classes, but distillation.transfer.omitClasses lists none` });
    } else if (validationCount(config, facts, c) === 0 && transfer.size === undefined) {
      c.report({
        path: p,
        code: 'bad-transfer',
        message:
          `${formatPath(p)}: nothing to choose the bias on: without a validation split it is chosen on the training examples the transfer set left out, ` +
          'which here are only those of the omitted classes; set data.validationSize (or a transfer size that leaves other examples out)',
      });
    }
  }
}

// ---- seed groups ----------------------------------------------------------------------------

function checkSeeds(config: DistillConfig, c: CheckContext) {
  if (config.seeds !== undefined && config.repeats !== undefined && c.ok(['seeds']) && c.ok(['repeats'])) {
    // At the one written second: the first one is what the user meant until the second came.
    const second = (c.offset(['repeats']) ?? 0) > (c.offset(['seeds']) ?? 0) ? 'repeats' : 'seeds';
    const first = second === 'repeats' ? 'seeds' : 'repeats';
    c.report({
      path: [second],
      anchor: true,
      code: 'conflicting-properties',
      message: `${second}: give either seeds (the list) or repeats (seed, seed+1, …), not both; ${first} is already given`,
    });
    return;
  }
  if (config.seeds !== undefined && c.ok(['seeds'])) {
    const first = new Map<number, number>();
    config.seeds.forEach((s, i) => {
      const earlier = first.get(s);
      if (earlier === undefined) first.set(s, i);
      else c.report({ path: ['seeds', i], code: 'duplicate-seed', message: `seeds[${i}]: seed ${s} is already seeds[${earlier}]; a repeated seed repeats the same run` });
    });
    if (c.written(['seed'])) c.report({ path: ['seed'], anchor: true, code: 'ignored-property', severity: 'warning', message: 'seed: ignored because seeds is given' });
  }
  if (config.repeats !== undefined && c.ok(['repeats']) && c.ok(['seed']) && config.seed + config.repeats - 1 > MAX_SEED) {
    c.report({
      path: ['repeats'],
      code: 'out-of-range',
      message: `repeats: seeds ${config.seed} … ${config.seed + config.repeats - 1} go past the largest seed, ${MAX_SEED}; use a smaller seed`,
    });
  }
}

// ---- the student's initial weights ------------------------------------------------------------

/**
 * Parameters stored in a tfjs model.json (the sum of its weightsManifest's shapes); undefined when
 * the text is not such a file.
 */
export function modelJsonParams(text: string): number | undefined {
  try {
    const manifest = (JSON.parse(text) as { weightsManifest?: { weights?: { shape?: unknown }[] }[] }).weightsManifest;
    if (!Array.isArray(manifest)) return undefined;
    let n = 0;
    for (const group of manifest) for (const w of group.weights ?? []) n += Array.isArray(w.shape) ? w.shape.reduce((a: number, d) => a * Number(d), 1) : NaN;
    return Number.isFinite(n) ? n : undefined;
  } catch {
    return undefined;
  }
}

/**
 * student.init from a file must hold weights of the student's architecture: its parameter count is
 * checked here, against the student the data's facts give (each weight's shape when it loads).
 */
function checkStudentInit(config: DistillConfig, facts: DataFacts | undefined, c: CheckContext) {
  const at: JsonPath = ['student', 'init', 'path'];
  if (!facts || !c.ok(['student']) || !c.ok(['data']) || c.has(at, 'missing-file')) return;
  const init = config.student.init;
  if (init?.source !== 'file') return;
  const text = c.env.readText?.(nodePath.resolve(c.configDir, init.path));
  if (text === undefined) return;
  const saved = modelJsonParams(text);
  if (saved === undefined) {
    c.report({ path: at, code: 'init-mismatch', message: `student.init.path: ${init.path} is not a tfjs model.json with a weightsManifest` });
    return;
  }
  let student: number;
  try {
    student = describeModel(config.student.model, inputShapeOf(config.data, facts), facts.numClasses).params;
  } catch {
    return; // the model's own problem is reported at student.model
  }
  if (saved !== student) {
    c.report({
      path: at,
      code: 'init-mismatch',
      message: `student.init.path: ${init.path} holds ${count(saved)} parameters, the student ${count(student)}: the weights must be of the student's architecture (student.model)`,
    });
  }
}
