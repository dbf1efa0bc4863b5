// The training loop shared by every stage: the teacher and the baseline minimise cross-entropy,
// the distilled student the weighted sum of its configured terms. One loop, so the baseline and the
// student differ only in their loss — same seed, same data order, same optimiser.
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../core/config/schema';
import type { MetricRecord, StageName, TrainingOutcome } from '../core/protocol';
import { createRng, deriveSeed, shuffleInPlace } from '../core/random';
import { batchTensor, drawShifts, gatherLabels } from './batches';
import type { Dataset } from './data';
import { countCorrect, evaluate } from './evaluate';
import { evaluateTrained } from './finiteCheck';
import { stopGradient } from '../core/losses/util';
import type { LossInputs } from '../core/losses/types';
import { type ActiveTerm, studentLoss, termVariables } from './losses';
import type { TappedModel } from './models';
import { applyStep, createOptimizer, learningRateAt, setLearningRate } from './optim';
import { readAll } from './reads';
import { buildTeacherCache, teacherTapsUsed } from './teacherCache';
import { releaseGpuMemory } from './webgpu';

/** Every tap with its gradient stopped: a peer's predictions as a fixed target. */
function detachTaps(taps: Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  return new Map([...taps].map(([k, v]) => [k, stopGradient(tf, v)]));
}

/**
 * Each learner's loss on its forward pass `taps[i]`: its terms with the frozen teacher's taps, or
 * (online) averaged over its peers' detached taps — a peer's predictions are a fixed target here,
 * so the gradient reaches a peer only through its own loss. Run inside the gradient tape.
 */
export function learnerLosses(
  learners: Learner[],
  taps: Map<string, tf.Tensor>[],
  teacherTaps: Map<string, tf.Tensor> | undefined,
  shared: Omit<LossInputs, 'student' | 'teacher'>,
): { total: tf.Scalar; parts: Record<string, tf.Scalar> }[] {
  return learners.map((_, i) => learnerLoss(i, learners, taps, teacherTaps, shared));
}

/** Learner i's loss (see learnerLosses). */
function learnerLoss(
  i: number,
  learners: Learner[],
  taps: Map<string, tf.Tensor>[],
  teacherTaps: Map<string, tf.Tensor> | undefined,
  shared: Omit<LossInputs, 'student' | 'teacher'>,
): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  const l = learners[i];
  if (!l.peers) return studentLoss(l.terms, { ...shared, student: taps[i], teacher: teacherTaps });
  const byPeer = l.peers.map((p) => studentLoss(l.terms, { ...shared, student: taps[i], teacher: detachTaps(taps[learners.findIndex((o) => o.id === p)]) }));
  return meanLoss(byPeer);
}

/** The mean of several evaluations of the same terms (one per teaching peer), total and parts alike. */
function meanLoss(losses: { total: tf.Scalar; parts: Record<string, tf.Scalar> }[]): { total: tf.Scalar; parts: Record<string, tf.Scalar> } {
  if (losses.length === 1) return losses[0];
  const mean = (xs: tf.Scalar[]) => tf.div(tf.addN(xs), xs.length) as tf.Scalar;
  return {
    total: mean(losses.map((l) => l.total)),
    parts: Object.fromEntries(Object.keys(losses[0].parts).map((k) => [k, mean(losses.map((l) => l.parts[k]))])),
  };
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

/** One network a stage trains. */
export interface Learner {
  /** The model's id in the run: its metric and probe records carry it as their `stage`. */
  id: StageName;
  net: TappedModel;
  /** The loss terms with their state; the terms' variables train with `net`. */
  terms: ActiveTerm[];
  /**
   * Online distillation: the learners (ids in the same stage) whose detached predictions teach this
   * one. Its loss is the mean over them of its terms with that peer as the teacher (Deep Mutual
   * Learning: 1/(K−1) Σ_j KL(p_j ‖ p_i)). Absent: the stage's frozen `teacher` teaches it.
   */
  peers?: StageName[];
}

export interface StageSpec {
  /** The stage's name (a learner's id, or the name of a joint stage: `peers`, `exits`). */
  stage: string;
  /** The networks trained together, on the same batches, by one optimiser over all their variables (unless `inTurn`). */
  learners: Learner[];
  /**
   * The learners update one after another within each step, each with its own optimiser,
   * against the others' predictions recomputed after the updates before it (Deep Mutual Learning's
   * Algorithm 1). Otherwise one step updates all on their summed losses.
   */
  inTurn?: boolean;
  temperature: number;
  /** Frozen teacher for learners without `peers`; its taps are computed without gradients. */
  teacher?: TappedModel;
  /** What the optimiser updates, when not the learners' variables and their terms' (a loss's pre-training stage). */
  variables?: tf.Variable[];
  training: TrainingConfig;
  /** False: the loss gets no labels (a transfer set without labels); train accuracy still reads them. */
  labels?: boolean;
  /** Seeds the data order and jitter: stages given the same seed see the same batches. */
  seed: number;
  data: Dataset;
  /** False: no per-epoch evaluation at all (a loss's pre-training stage, which is logged, not charted). */
  validate?: boolean;
  /** Also evaluate the test split after every epoch, for curves only (`evaluation.testEveryEpoch`). */
  testEveryEpoch?: boolean;
}

type StepRecord = Extract<MetricRecord, { kind: 'step' }>;
type EpochRecord = Extract<MetricRecord, { kind: 'epoch' }>;

export interface StageHooks {
  isCancelled(): boolean;
  /** Each step: one record per learner, in `learners` order. */
  onStep(records: StepRecord[], steps: number): void;
  /** Called after each epoch's evaluation, once per learner, before the next epoch starts (awaited). */
  onEpoch(record: EpochRecord, learner: Learner): void | Promise<void>;
}

/** The learners' variables and their terms', each once (self-distillation exits share a backbone). */
function stageVariables(learners: Learner[]): tf.Variable[] {
  return [...new Set(learners.flatMap((l) => [...l.net.trainableVariables, ...termVariables(l.terms)]))];
}

/** Puts back weights read earlier (the best epoch's), in the order of `variables`. */
function restoreVariables(variables: tf.Variable[], values: Float32Array[]): void {
  variables.forEach((v, k) => tf.tidy(() => v.assign(tf.tensor(values[k], v.shape, v.dtype))));
}

/**
 * Trains the stage's learners for the configured epochs (or until early stopping), reporting every
 * step and epoch through `hooks`. Each epoch is evaluated on the validation split (and on the test
 * split only with `testEveryEpoch`, for curves): the test set is for the finished model.
 */
export async function trainStage(spec: StageSpec, hooks: StageHooks): Promise<TrainingOutcome> {
  const { learners, data, training } = spec;
  const inputShape = data.inputShape;
  const isImage = inputShape.length === 3;
  const rng = createRng(deriveSeed(spec.seed, 'train/batches'));
  // A black pixel after normalisation, for the border jitter uncovers (0 unless `standard`).
  const norm = data.normalization;
  const background = norm.method === 'standard' && typeof norm.mean === 'number' && typeof norm.std === 'number' ? -norm.mean / norm.std : 0;
  // In turn, each learner has its own optimiser (as DML's reference code): tfjs's Adam keeps its
  // moments by position in the variable list it is given, so one Adam over changing subsets would mix them.
  const optimizers = Array.from({ length: spec.inTurn ? learners.length : 1 }, () => createOptimizer(training.optimizer));
  const variables = spec.variables ?? stageVariables(learners);
  const decayed = training.optimizer.weightDecay > 0 ? variables.filter((v) => /kernel/.test(v.name)) : [];
  // L2 on kernels: ½·wd·‖W‖² has gradient wd·W, PyTorch's weight_decay for SGD.
  const withWeightDecay = (total: tf.Scalar, of: tf.Variable[]): tf.Scalar => {
    const mine = decayed.filter((v) => of.includes(v));
    if (!mine.length) return total;
    const l2 = tf.addN(mine.map((v) => tf.sum(tf.square(v))));
    return tf.add(total, tf.mul(0.5 * training.optimizer.weightDecay, l2)) as tf.Scalar;
  };
  const n = data.train.count;
  const batchSize = Math.min(training.batchSize, n);
  const steps = Math.ceil(n / batchSize);
  const order = Array.from({ length: n }, (_, i) => i);
  // With unaugmented inputs the frozen teacher's outputs are the same every epoch: computed once
  // (see teacherCache.ts; undefined above its memory bound, and the teacher then runs per step).
  const taughtByTeacher = learners.filter((l) => !l.peers).flatMap((l) => l.terms);
  const teacherCache =
    spec.teacher && !(isImage && training.jitter > 0) ? await buildTeacherCache(spec.teacher, data.train, inputShape, teacherTapsUsed(taughtByTeacher)) : undefined;

  // Choosing (the best epoch, when to stop) reads the validation errors; the checks ensure a split.
  const chooses = (training.keep === 'best' || !!training.earlyStopping) && spec.validate !== false;
  if (chooses && !data.validation.count) throw new Error(`${spec.stage}: keep "best" and earlyStopping choose on the validation split, but it is empty`);
  let best = { epoch: 0, errors: Infinity };
  let snapshot: Float32Array[] | undefined;
  let epochsRun = 0;
  let stoppedEarly = false;
  // A step's values are read while the next step is already queued: on a GPU each read waits for
  // the queue to drain, so reading a step before queueing the next left the GPU idle while the loop
  // turned the values into records and queued the next step. On the CPU backends the read is done
  // when readAll() is called; only the records come one step later. The records, checks and sums
  // are those of the step read; the finite check fails one step later than the step it names.
  type Pending = {
    epoch: number;
    step: number;
    lr: number;
    /** The epoch's running sums, which the step adds to. */
    sums: { total: number; correct: number; parts: Record<string, number> }[];
    yb: Int32Array;
    kept: { total: tf.Scalar; parts: Record<string, tf.Scalar>; logits: tf.Tensor }[];
    tensors: tf.Tensor[];
    reads: Promise<Float32Array[]>;
  };
  let pending: Pending | undefined;
  const settle = async ({ epoch, step, lr, sums, yb, kept, tensors, reads }: Pending): Promise<void> => {
    let values: Float32Array[];
    try {
      values = await reads;
    } finally {
      tf.dispose(tensors);
    }
    let at = 0;
    const records = kept.map((k, i): StepRecord => {
      const totalValue = values[at++][0];
      const logitsRead = values[at++];
      const losses: Record<string, number> = Object.fromEntries(Object.keys(k.parts).map((id) => [id, values[at++][0]]));
      const id = learners[i].id;
      if (!Number.isFinite(totalValue) || Object.values(losses).some((v) => !Number.isFinite(v))) {
        const bad = Object.entries(losses).map(([key, v]) => `${key}=${v}`).join(', ');
        throw new Error(`${id}: the loss became ${totalValue} at epoch ${epoch}, step ${step + 1} (${bad}); lower the learning rate or check the data normalisation`);
      }
      const sum = sums[i];
      sum.correct += countCorrect(logitsRead, yb, learners[i].net.numClasses);
      sum.total += totalValue;
      for (const [term, v] of Object.entries(losses)) sum.parts[term] = (sum.parts[term] ?? 0) + v;
      return { kind: 'step', stage: id, epoch, step: step + 1, losses, total: totalValue, lr };
    });
    hooks.onStep(records, steps);
  };
  try {
    for (let epoch = 1; epoch <= training.epochs; epoch++) {
      const started = performance.now();
      const lr = learningRateAt(training.schedule, training.optimizer.lr, epoch, training.epochs);
      for (const o of optimizers) setLearningRate(o, lr);
      shuffleInPlace(order, rng);
      const sums = learners.map(() => ({ total: 0, correct: 0, parts: {} as Record<string, number> }));

      for (let step = 0; step < steps; step++) {
        // Yield once per step so IPC (cancel in, progress out) is served while training.
        await new Promise((resolve) => setImmediate(resolve));
        if (hooks.isCancelled()) throw new CancelledError();
        const start = step * batchSize;
        const end = Math.min(n, start + batchSize);
        const shifts = isImage ? drawShifts(end - start, training.jitter, rng) : null;
        const yb = gatherLabels(data.train.y, order, start, end);

        const kept = tf.tidy(() => {
          const xs = batchTensor(data.train.x, inputShape, order, start, end, shifts, background);
          const labels = tf.tensor1d(yb, 'int32');
          const indices = tf.tensor1d(order.slice(start, end), 'int32');
          const teacherTaps = teacherCache ? teacherCache.taps(order, start, end) : spec.teacher?.forward(xs, false);
          const shared = { tf, labels: spec.labels === false ? undefined : labels, indices, temperature: spec.temperature, epoch, epochs: training.epochs, training: true };
          // variableGrads frees everything its callback made except the loss: keep what we log.
          const keep = (loss: { total: tf.Scalar; parts: Record<string, tf.Scalar> }, taps: Map<string, tf.Tensor>) => ({
            total: tf.keep(loss.total),
            parts: Object.fromEntries(Object.entries(loss.parts).map(([k, v]) => [k, tf.keep(v)])),
            logits: tf.keep(taps.get('logits')!),
          });
          if (spec.inTurn) {
            // Learner i's step sees every peer as it is now: the ones before it already updated.
            return learners.map((l, i) => {
              const own = stageVariables([l]);
              let out: ReturnType<typeof keep> | undefined;
              const { grads } = tf.variableGrads(() => {
                const taps = learners.map((m) => m.net.forward(xs, true));
                const loss = learnerLoss(i, learners, taps, teacherTaps, shared);
                out = keep(loss, taps[i]);
                return withWeightDecay(loss.total, own);
              }, own);
              applyStep(optimizers[i], grads, [l.net]);
              return out!;
            });
          }
          let out: ReturnType<typeof keep>[] = [];
          const { grads } = tf.variableGrads(() => {
            const taps = learners.map((l) => l.net.forward(xs, true));
            const losses = learnerLosses(learners, taps, teacherTaps, shared);
            out = losses.map((loss, i) => keep(loss, taps[i]));
            const total = losses.length === 1 ? losses[0].total : (tf.addN(losses.map((l) => l.total)) as tf.Scalar);
            return withWeightDecay(total, variables);
          }, variables);
          applyStep(optimizers[0], grads, learners.map((l) => l.net));
          return out;
        });

        // One read for the step, made now and used after the next step is queued (see settle).
        const tensors = kept.flatMap((k) => [k.total, k.logits, ...Object.values(k.parts)]);
        const reads = readAll(tensors);
        reads.catch(() => {}); // settled (and its error thrown) by settle()
        const previous = pending;
        pending = { epoch, step, lr, sums, yb, kept, tensors, reads };
        if (previous) await settle(previous);
      }
      if (pending) {
        const last = pending;
        pending = undefined;
        await settle(last);
      }

      const seconds = (performance.now() - started) / 1000;
      const at = { stage: spec.stage, epoch, lr };
      // The parameters are checked every epoch; the outputs wherever a split is evaluated.
      const evaluations = await evaluateTrained(at, variables, async () => {
        const out = [];
        for (const l of learners) {
          out.push({
            validation: spec.validate !== false && data.validation.count ? await evaluate(l.net, data.validation, inputShape) : undefined,
            test: spec.testEveryEpoch ? await evaluate(l.net, data.test, inputShape) : undefined,
          });
        }
        return out;
      });
      for (const [i, l] of learners.entries()) {
        const { validation, test } = evaluations[i];
        await hooks.onEpoch(
          {
            kind: 'epoch',
            stage: l.id,
            epoch,
            losses: Object.fromEntries(Object.entries(sums[i].parts).map(([k, v]) => [k, v / steps])),
            total: sums[i].total / steps,
            weights: Object.fromEntries(l.terms.map((t) => [t.id, t.term.weight])),
            trainAccuracy: sums[i].correct / n,
            ...(validation ? { validationAccuracy: validation.accuracy, validationErrors: validation.errors } : {}),
            ...(test ? { testAccuracy: test.accuracy, testErrors: test.errors } : {}),
            lr,
            seconds,
            examplesPerSecond: n / seconds,
          },
          l,
        );
      }
      epochsRun = epoch;
      if (!chooses) continue;
      const errors = evaluations.reduce((sum, e) => sum + e.validation!.errors, 0);
      if (errors < best.errors) {
        best = { epoch, errors };
        if (training.keep === 'best') snapshot = await readAll(variables);
      } else if (training.earlyStopping && epoch - best.epoch >= training.earlyStopping.patience) {
        stoppedEarly = true;
        break;
      }
    }
    if (snapshot && best.epoch !== epochsRun) restoreVariables(variables, snapshot);
    return {
      epochs: epochsRun,
      keptEpoch: training.keep === 'best' ? best.epoch : epochsRun,
      stoppedEarly,
      ...(chooses ? { validationErrors: best.errors, validationCount: data.validation.count } : {}),
    };
  } finally {
    if (pending) tf.dispose(pending.tensors);
    for (const o of optimizers) o.dispose();
    releaseGpuMemory();
  }
}
