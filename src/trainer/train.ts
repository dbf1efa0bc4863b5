// The training loop shared by every stage: the teacher and the baseline minimise cross-entropy,
// the distilled student the weighted sum of its configured terms. One loop, so the baseline and the
// student differ only in their loss — same seed, same data order, same optimiser.
import * as tf from '@tensorflow/tfjs';
import type { TrainingConfig } from '../core/config/schema';
import type { MetricRecord, StageName } from '../core/protocol';
import { createRng, deriveSeed, shuffleInPlace } from '../core/random';
import { gatherLabels, gatherRows, jitterImages } from './batches';
import type { Dataset } from './data';
import { countCorrect, evaluate } from './evaluate';
import { evaluateTrained } from './finiteCheck';
import { type ActiveTerm, studentLoss, termVariables } from './losses';
import { applyConstraints, type TappedModel } from './models';
import { createOptimizer, learningRateAt, setLearningRate } from './optim';
import { readAll } from './reads';
import { buildTeacherCache, teacherTapsUsed } from './teacherCache';
import { releaseGpuMemory } from './webgpu';

export class CancelledError extends Error {
  constructor() {
    super('cancelled');
  }
}

export interface StageSpec {
  stage: StageName;
  net: TappedModel;
  /** The loss terms with their state; the terms' variables train with `net`. */
  terms: ActiveTerm[];
  temperature: number;
  /** Frozen teacher for the distilled student; its taps are computed without gradients. */
  teacher?: TappedModel;
  /** What the optimiser updates, when not `net`'s variables and the terms' (a loss's pre-training stage). */
  variables?: tf.Variable[];
  training: TrainingConfig;
  /** False: the loss gets no labels (a transfer set without labels); train accuracy still reads them. */
  labels?: boolean;
  /** Seeds the data order and jitter: stages given the same seed see the same batches. */
  seed: number;
  data: Dataset;
}

export interface StageHooks {
  isCancelled(): boolean;
  onStep(record: Extract<MetricRecord, { kind: 'step' }>, steps: number): void;
  /** Called after each epoch's evaluation, before the next epoch starts (awaited). */
  onEpoch(record: Extract<MetricRecord, { kind: 'epoch' }>): void | Promise<void>;
}

/** Trains `spec.net` for the configured epochs, reporting every step and epoch through `hooks`. */
export async function trainStage(spec: StageSpec, hooks: StageHooks): Promise<void> {
  const { net, data, training } = spec;
  const inputShape = data.inputShape;
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  const isImage = inputShape.length === 3;
  const rng = createRng(deriveSeed(spec.seed, 'train/batches'));
  // A black pixel after normalisation, for the border jitter uncovers (0 unless `standard`).
  const norm = data.normalization;
  const background = norm.method === 'standard' && typeof norm.mean === 'number' && typeof norm.std === 'number' ? -norm.mean / norm.std : 0;
  const optimizer = createOptimizer(training.optimizer);
  const variables = spec.variables ?? [...net.trainableVariables, ...termVariables(spec.terms)];
  const decayed = training.optimizer.weightDecay > 0 ? variables.filter((v) => /kernel/.test(v.name)) : [];
  const weights = Object.fromEntries(spec.terms.map((t) => [t.id, t.term.weight]));
  const n = data.train.count;
  const batchSize = Math.min(training.batchSize, n);
  const steps = Math.ceil(n / batchSize);
  const order = Array.from({ length: n }, (_, i) => i);
  // With unaugmented inputs the frozen teacher's outputs are the same every epoch: computed once
  // (see teacherCache.ts; undefined above its memory bound, and the teacher then runs per step).
  const teacherCache =
    spec.teacher && !(isImage && training.jitter > 0) ? await buildTeacherCache(spec.teacher, data.train, inputShape, teacherTapsUsed(spec.terms)) : undefined;

  try {
    for (let epoch = 1; epoch <= training.epochs; epoch++) {
      const started = performance.now();
      const lr = learningRateAt(training.schedule, training.optimizer.lr, epoch, training.epochs);
      setLearningRate(optimizer, lr);
      shuffleInPlace(order, rng);
      const sums: Record<string, number> = {};
      let totalSum = 0;
      let correct = 0;

      for (let step = 0; step < steps; step++) {
        // Yield once per step so IPC (cancel in, progress out) is served while training.
        await new Promise((resolve) => setImmediate(resolve));
        if (hooks.isCancelled()) throw new CancelledError();
        const start = step * batchSize;
        const end = Math.min(n, start + batchSize);
        const xb = gatherRows(data.train.x, rowSize, order, start, end);
        if (isImage) jitterImages(xb, inputShape[0], inputShape[1], inputShape[2], training.jitter, rng, background);
        const yb = gatherLabels(data.train.y, order, start, end);

        const { total, parts, logits } = tf.tidy(() => {
          const xs = tf.tensor(xb, [end - start, ...inputShape]);
          const labels = tf.tensor1d(yb, 'int32');
          const indices = tf.tensor1d(order.slice(start, end), 'int32');
          const teacherTaps = teacherCache ? teacherCache.taps(order, start, end) : spec.teacher?.forward(xs, false);
          let kept: { parts: Record<string, tf.Scalar>; logits: tf.Tensor } | undefined;
          const { value, grads } = tf.variableGrads(() => {
            const taps = net.forward(xs, true);
            const loss = studentLoss(spec.terms, {
              tf,
              student: taps,
              teacher: teacherTaps,
              labels: spec.labels === false ? undefined : labels,
              indices,
              temperature: spec.temperature,
              epoch,
              epochs: training.epochs,
              training: true,
            });
            // variableGrads frees everything its callback made except the loss: keep what we log.
            kept = { parts: Object.fromEntries(Object.entries(loss.parts).map(([k, v]) => [k, tf.keep(v)])), logits: tf.keep(taps.get('logits')!) };
            if (!decayed.length) return loss.total;
            // L2 on kernels: ½·wd·‖W‖² has gradient wd·W, PyTorch's weight_decay for SGD.
            const l2 = tf.addN(decayed.map((v) => tf.sum(tf.square(v))));
            return tf.add(loss.total, tf.mul(0.5 * training.optimizer.weightDecay, l2)) as tf.Scalar;
          }, variables);
          optimizer.applyGradients(grads);
          return { total: value, ...kept! };
        });
        applyConstraints(net);

        // One read for the step (on a GPU each read waits for its queue to drain).
        const [totalRead, logitsRead, ...partReads] = await readAll([total, logits, ...Object.values(parts)]);
        const totalValue = totalRead[0];
        const losses: Record<string, number> = Object.fromEntries(Object.keys(parts).map((id, i) => [id, partReads[i][0]]));
        correct += countCorrect(logitsRead, yb, net.numClasses);
        tf.dispose([total, logits, ...Object.values(parts)]);

        if (!Number.isFinite(totalValue) || Object.values(losses).some((v) => !Number.isFinite(v))) {
          const bad = Object.entries(losses).map(([k, v]) => `${k}=${v}`).join(', ');
          throw new Error(
            `${spec.stage}: the loss became ${totalValue} at epoch ${epoch}, step ${step + 1} (${bad}); lower the learning rate or check the data normalisation`,
          );
        }
        totalSum += totalValue;
        for (const [id, v] of Object.entries(losses)) sums[id] = (sums[id] ?? 0) + v;
        hooks.onStep({ kind: 'step', stage: spec.stage, epoch, step: step + 1, losses, total: totalValue, lr }, steps);
      }

      const seconds = (performance.now() - started) / 1000;
      const test = await evaluateTrained({ stage: spec.stage, epoch, lr }, variables, () => evaluate(net, data.test, inputShape));
      const validation = data.validation.count ? await evaluate(net, data.validation, inputShape) : undefined;
      await hooks.onEpoch({
        kind: 'epoch',
        stage: spec.stage,
        epoch,
        losses: Object.fromEntries(Object.entries(sums).map(([k, v]) => [k, v / steps])),
        total: totalSum / steps,
        weights,
        trainAccuracy: correct / n,
        testAccuracy: test.accuracy,
        testErrors: test.errors,
        validationAccuracy: validation?.accuracy,
        lr,
        seconds,
        examplesPerSecond: n / seconds,
      });
    }
  } finally {
    optimizer.dispose();
    releaseGpuMemory();
  }
}
