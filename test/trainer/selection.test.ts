// Choosing on the validation split, never the test set: `keep: "best"` ends a stage with the
// weights of the epoch with the fewest validation errors, early stopping ends it `patience` epochs
// after the last improvement, and the test split is evaluated during training only when asked
// (`testEveryEpoch`). The expectations come from the epoch records and weights the test itself
// captures, with the rules re-stated here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, TrainingConfig } from '../../src/core/config/schema';
import type { Dataset } from '../../src/core/data/types';
import type { MetricRecord } from '../../src/core/protocol';
import { createRng } from '../../src/core/random';
import { activateTerms } from '../../src/trainer/losses';
import { buildModel } from '../../src/trainer/models';
import { trainStage } from '../../src/trainer/train';

type EpochRecord = Extract<MetricRecord, { kind: 'epoch' }>;

/** Two overlapping Gaussian blobs in 8 dimensions, a fifth of the training labels flipped: validation errors wander. */
function blobs(count: number, seed: number, flip: number): Dataset['train'] {
  const rng = createRng(seed);
  const x = new Float32Array(count * 8);
  const y = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const c = rng() < 0.5 ? 0 : 1;
    for (let d = 0; d < 8; d++) x[i * 8 + d] = (c ? 0.35 : -0.35) + (rng() + rng() + rng() - 1.5);
    y[i] = rng() < flip ? 1 - c : c;
  }
  return { x, y, count };
}

const DATA: Dataset = {
  name: 'blobs',
  inputShape: [8],
  numClasses: 2,
  train: blobs(256, 1, 0.2),
  validation: blobs(200, 2, 0),
  test: blobs(100, 3, 0),
  normalization: { method: 'none', mean: 0, std: 1 },
};

const CE: LossTerm[] = [{ type: 'ce', weight: 1 }];

function training(extra: Partial<TrainingConfig>): TrainingConfig {
  return { epochs: 12, batchSize: 16, optimizer: { type: 'sgd', lr: 0.8, momentum: 0.9, nesterov: false, weightDecay: 0 }, schedule: { type: 'constant' }, jitter: 0, keep: 'last', ...extra } as TrainingConfig;
}

/** Trains a fresh MLP for one stage; every epoch's record and weights, and the weights it ends with. */
async function run(t: TrainingConfig, testEveryEpoch = false) {
  const net = buildModel({ type: 'mlp', hidden: [32], activation: 'relu', inputDropout: 0, dropout: 0 }, [8], 2, 7);
  const terms = activateTerms(CE, { studentLayers: net.taps, numClasses: 2, trainCount: DATA.train.count, seed: 1 });
  const records: EpochRecord[] = [];
  const weights: Float32Array[][] = [];
  const testErrors: number[] = [];
  const outcome = await trainStage(
    { stage: 'student', learners: [{ id: 'student', net, terms }], temperature: 1, training: t, seed: 5, data: DATA, testEveryEpoch },
    {
      isCancelled: () => false,
      onStep: () => {},
      onEpoch: (r) => {
        records.push(r);
        weights.push(net.trainableVariables.map((v) => v.dataSync().slice() as Float32Array));
        // The test errors counted here, from the network's own predictions.
        const pred = (net.predict(tf.tensor2d(DATA.test.x, [DATA.test.count, 8])) as tf.Tensor).argMax(1).dataSync();
        testErrors.push(Array.from(pred).filter((p, i) => p !== DATA.test.y[i]).length);
      },
    },
  );
  const final = net.trainableVariables.map((v) => v.dataSync().slice() as Float32Array);
  net.dispose();
  return { outcome, records, weights, final, testErrors };
}

test('by default each epoch is evaluated on the validation split only; testEveryEpoch adds the test split, labelled apart', async () => {
  const plain = await run(training({}));
  assert.equal(plain.records.length, 12);
  for (const r of plain.records) {
    assert.equal(r.testErrors, undefined, 'no test evaluation during training');
    assert.equal(r.testAccuracy, undefined);
    assert.ok(Number.isInteger(r.validationErrors) && r.validationAccuracy === 1 - r.validationErrors! / DATA.validation.count);
  }
  assert.deepEqual(plain.outcome, { epochs: 12, keptEpoch: 12, stoppedEarly: false });
  const withTest = await run(training({}), true);
  assert.deepEqual(withTest.records.map((r) => r.testErrors), withTest.testErrors);
  assert.deepEqual(withTest.records.map((r) => r.validationErrors), plain.records.map((r) => r.validationErrors), 'evaluating the test set changes nothing else');
});

test('keep "best": the stage ends with the weights of the first epoch with the fewest validation errors', async () => {
  const { outcome, records, weights, final } = await run(training({ keep: 'best' }));
  const errors = records.map((r) => r.validationErrors!);
  const best = errors.indexOf(Math.min(...errors)) + 1;
  assert.notEqual(best, records.length, `the data should make the last epoch not the best (validation errors ${errors.join(', ')})`);
  assert.deepEqual(outcome, { epochs: 12, keptEpoch: best, stoppedEarly: false, validationErrors: Math.min(...errors), validationCount: 200 });
  assert.deepEqual(final, weights[best - 1], 'the best epoch’s weights are restored');
  assert.notDeepEqual(final, weights[records.length - 1]);
});

test('early stopping ends the stage `patience` epochs after the last new fewest validation errors', async () => {
  const full = await run(training({}));
  const errors = full.records.map((r) => r.validationErrors!);
  // The rule, re-stated: track the best so far; stop at the first epoch that is `patience` past it.
  const patience = 2;
  let best = Infinity;
  let bestEpoch = 0;
  let stopAt = errors.length;
  for (const [i, e] of errors.entries()) {
    if (e < best) [best, bestEpoch] = [e, i + 1];
    else if (i + 1 - bestEpoch >= patience) {
      stopAt = i + 1;
      break;
    }
  }
  assert.ok(stopAt < errors.length, `the data should stop early (validation errors ${errors.join(', ')})`);
  const stopped = await run(training({ earlyStopping: { patience } }));
  assert.equal(stopped.records.length, stopAt);
  assert.deepEqual(stopped.records.map((r) => r.validationErrors), errors.slice(0, stopAt), 'the same epochs until it stops');
  assert.deepEqual(stopped.outcome, { epochs: stopAt, keptEpoch: stopAt, stoppedEarly: true, validationErrors: best, validationCount: 200 });
  assert.deepEqual(stopped.final, stopped.weights[stopAt - 1], 'keep "last": the weights of the epoch it stopped at');
  const both = await run(training({ earlyStopping: { patience }, keep: 'best' }));
  assert.equal(both.outcome.keptEpoch, bestEpoch);
  assert.deepEqual(both.final, both.weights[bestEpoch - 1]);
});
