// Checks of meaning, on top of the structure: things the schema cannot say (loss weights that add
// up to nothing, layer names that do not exist, shapes no connector can bridge, sizes beyond the
// data). Each check runs only on sections that are structurally valid, so several problems in
// different sections are all reported at once.
import { lossDefinition, termId, termPairFields, usesTeacher } from '../losses';
import { describeModel } from '../models';
import { dataFacts, DataFacts, MNIST_TOTAL, mnistTestCount, testCount, ValidationEnv } from './env';
import { inputShapeOf, layerNamesFor, layersWithFacts } from './layers';
import { formatPath, JsonPath, ProblemCode, Severity, suggestion } from './problems';
import { type DistillConfig, MAX_SEED, type ModelSpec, type TrainingConfig } from './schema';

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
  checkSchedule(config.training, ['training'], c);
  if (c.ok(['teacher', 'source']) && config.teacher.source === 'train') checkSchedule(config.teacher.training, ['teacher', 'training'], c);
  checkProbes(config, facts, c);
  checkSeeds(config, c);
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
  const val = data.validationSize;
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

/** The models built from specs, each with the batch size it trains at (when that is valid). */
function modelsToCheck(config: DistillConfig, c: CheckContext): { spec: ModelSpec; path: JsonPath; batchSize?: number }[] {
  const out: { spec: ModelSpec; path: JsonPath; batchSize?: number }[] = [];
  if (c.ok(['teacher']) && config.teacher.source === 'train') out.push({ spec: config.teacher.model, path: ['teacher', 'model'], batchSize: config.teacher.training.batchSize });
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
      which === 'student' ? 'the student' : config.teacher.source === 'file' ? `the teacher (${config.teacher.path})` : 'the teacher';
    return { names, layers, label };
  };
  const sides = { student: side('student'), teacher: side('teacher') };
  const trainCount = c.ok(['data']) ? (config.data.trainSize ?? facts?.trainAvailable) : undefined;
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
