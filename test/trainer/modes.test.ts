// Runs of several models: deep mutual learning's joint loss (each peer learns from the others'
// detached predictions only), the ensemble teacher's averaging, and born-again and online runs end
// to end through the real CLI (dist/cli.js, after `npm run build`). Expectations come from the
// formulas, computed here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DataConfig } from '../../src/core/config/schema';
import type { Manifest } from '../../src/core/protocol';
import { loadDataset } from '../../src/trainer/data';
import { ensembleModel } from '../../src/trainer/ensemble';
import { activateTerms } from '../../src/trainer/losses';
import { loadLayersModel } from '../../src/trainer/modelIO';
import { buildModel, type TappedModel, wrapLoadedModel } from '../../src/trainer/models';
import { type Learner, learnerLosses, trainStage } from '../../src/trainer/train';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5) => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < a.length; i++) assert.ok(Math.abs(a[i] - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `[${i}] ${a[i]} vs ${b[i]}`);
};

const softmaxRows = (z: number[][], t: number) =>
  z.map((r) => {
    const m = Math.max(...r.map((x) => x / t));
    const e = r.map((x) => Math.exp(x / t - m));
    const s = e.reduce((a, b) => a + b, 0);
    return e.map((x) => x / s);
  });

test('online: each peer minimises CE + T²·KL(others ‖ itself) over the others\' detached predictions, and gets gradients only from its own loss', async () => {
  await tf.setBackend('cpu');
  const T = 2;
  const spec = (h: number) => ({ type: 'mlp', hidden: [h], activation: 'tanh' }) as never;
  const nets = [buildModel(spec(5), [4], 3, 1), buildModel(spec(4), [4], 3, 2), buildModel(spec(3), [4], 3, 3)];
  const losses = [
    { type: 'ce', weight: 1 },
    { type: 'kd', weight: 1 },
  ] as never;
  const ids = ['peer1', 'peer2', 'peer3'];
  const learners: Learner[] = nets.map((net, i) => ({
    id: ids[i],
    net,
    terms: activateTerms(losses, { studentLayers: net.taps, numClasses: 3, trainCount: 6, seed: 1 }),
    peers: ids.filter((_, j) => j !== i),
  }));
  const x = tf.tensor2d([0.1, -0.4, 0.8, 0.3, -0.9, 0.2, 0.5, -0.1, 0.7, 0.7, -0.3, -0.6, 0.05, 0.9, -0.2, 0.4], [4, 4]);
  const y = [2, 0, 1, 2];
  const labels = tf.tensor1d(y, 'int32');
  const shared = { tf, labels, temperature: T, epoch: 1, epochs: 1, training: false };

  // The code's joint loss and its gradients over every peer's variables at once.
  const variables = nets.flatMap((n) => n.trainableVariables);
  const joint = tf.variableGrads(() => {
    const taps = nets.map((n) => n.forward(x, false));
    return tf.addN(learnerLosses(learners, taps, undefined, shared).map((l) => l.total)) as tf.Scalar;
  }, variables);

  // From the formula: peer i's loss with the others' logits as constants (read out, not taped).
  const logits = nets.map((n) => n.predict(x).arraySync() as number[][]);
  let expectedTotal = 0;
  for (const [i, net] of nets.entries()) {
    const others = logits.filter((_, j) => j !== i);
    const own = logits[i];
    const ce = -y.reduce((a, c, r) => a + Math.log(softmaxRows(own, 1)[r][c]), 0) / y.length;
    const kl = others
      .map((o) => {
        const p = softmaxRows(o, T);
        const q = softmaxRows(own, T);
        return (T * T * p.reduce((a, pr, r) => a + pr.reduce((b, pv, c) => b + pv * Math.log(pv / q[r][c]), 0), 0)) / y.length;
      })
      .reduce((a, b) => a + b, 0);
    expectedTotal += ce + kl / others.length;

    // Its gradient with the others as constant tensors: equal to the joint gradient on its own variables.
    const constants = others.map((o) => tf.tensor2d(o));
    const own_ = tf.variableGrads(() => {
      const z = net.predict(x);
      const ceT = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, 3), z);
      const klT = constants.map((c) => {
        const p = tf.softmax(tf.div(c, T));
        return tf.mul(T * T, tf.mean(tf.sum(tf.mul(p, tf.sub(tf.log(p), tf.logSoftmax(tf.div(z, T)))), 1)));
      });
      return tf.add(ceT, tf.div(tf.addN(klT), klT.length)) as tf.Scalar;
    }, net.trainableVariables);
    for (const v of net.trainableVariables) close(joint.grads[v.name].dataSync(), own_.grads[v.name].dataSync(), 1e-4);
  }
  close([joint.value.dataSync()[0]], [expectedTotal], 1e-5);
});

test('online in turn (DML\'s Algorithm 1): peer 2 steps against peer 1\'s predictions after peer 1\'s step, each by its own loss', async () => {
  await tf.setBackend('cpu');
  const T = 2;
  const lr = 0.5;
  const spec = (h: number) => ({ type: 'mlp', hidden: [h], activation: 'tanh', inputDropout: 0, dropout: 0 }) as never;
  const nets = [buildModel(spec(5), [4], 3, 1), buildModel(spec(4), [4], 3, 2)];
  const losses = [
    { type: 'ce', weight: 1 },
    { type: 'kd', weight: 1 },
  ] as never;
  const xs = [0.1, -0.4, 0.8, 0.3, -0.9, 0.2, 0.5, -0.1, 0.7, 0.7, -0.3, -0.6, 0.05, 0.9, -0.2, 0.4];
  const y = [2, 0, 1, 2];
  const split = { x: Float32Array.from(xs), y: Uint8Array.from(y), count: 4 };
  const data = { name: 'four', inputShape: [4], numClasses: 3, train: split, validation: { x: new Float32Array(0), y: new Uint8Array(0), count: 0 }, test: split, normalization: { method: 'none' } } as never;
  const learners: Learner[] = nets.map((net, i) => ({
    id: `peer${i + 1}`,
    net,
    terms: activateTerms(losses, { studentLayers: net.taps, numClasses: 3, trainCount: 4, seed: 1 }),
    peers: [`peer${2 - i}`],
  }));
  const before = nets.map((n) => n.trainableVariables.map((v) => v.arraySync() as number[] | number[][]));

  // One step (the whole batch) in turn, SGD without momentum.
  const training = { epochs: 1, batchSize: 4, optimizer: { type: 'sgd', lr, momentum: 0, nesterov: false, weightDecay: 0 }, schedule: { type: 'constant' }, jitter: 0, keep: 'last' } as never;
  await trainStage({ stage: 'peers', learners, inTurn: true, temperature: T, training, seed: 1, data, validate: false }, { isCancelled: () => false, onStep: () => {}, onEpoch: () => {} });
  const after = nets.map((n) => n.trainableVariables.map((v) => Array.from(v.dataSync())));

  // From the formulas: z = tanh(x·W1 + b1)·W2 + b2; L_i = CE(z_i, y) + T²·KL(softmax(z_j/T) ‖ softmax(z_i/T)), batch means.
  const x = tf.tensor2d(xs, [4, 4]);
  const onehot = tf.oneHot(tf.tensor1d(y, 'int32'), 3);
  const logits = (w: tf.Tensor[]) => tf.add(tf.matMul(tf.tanh(tf.add(tf.matMul(x, w[0]), w[1])), w[2]), w[3]);
  const loss = (w: tf.Tensor[], target: tf.Tensor) => {
    const z = logits(w);
    const ce = tf.neg(tf.mean(tf.sum(tf.mul(onehot, tf.logSoftmax(z)), 1)));
    const p = tf.softmax(tf.div(target, T));
    const kl = tf.mul(T * T, tf.mean(tf.sum(tf.mul(p, tf.sub(tf.log(p), tf.logSoftmax(tf.div(z, T)))), 1)));
    return tf.add(ce, kl) as tf.Scalar;
  };
  const step = (w: tf.Tensor[], target: tf.Tensor) => {
    const g = tf.grads((...ws: tf.Tensor[]) => loss(ws, target))(w);
    return w.map((wi, k) => tf.sub(wi, tf.mul(lr, g[k])));
  };
  const w1 = before[0].map((a) => tf.tensor(a));
  const w2 = before[1].map((a) => tf.tensor(a));
  const w1Next = step(w1, logits(w2));
  const w2InTurn = step(w2, logits(w1Next)); // peer 1 already updated
  const w2Together = step(w2, logits(w1)); // what one joint step would give
  w1Next.forEach((w, k) => close(after[0][k], w.dataSync(), 1e-5));
  w2InTurn.forEach((w, k) => close(after[1][k], w.dataSync(), 1e-5));
  const apart = Math.max(...w2Together.map((w, k) => Math.max(...Array.from(w.dataSync()).map((v, j) => Math.abs(v - after[1][k][j])))));
  assert.ok(apart > 1e-4, `the test tells in turn from together: peer 2 differs by ${apart}`);
  nets.forEach((n) => n.dispose());
});

test('ensemble teacher: softmax(tap / T) is the members\' mean soft target; predictions average probabilities at T = 1, or logits', async () => {
  await tf.setBackend('cpu');
  const members = [1, 2, 3].map((s) => buildModel({ type: 'mlp', hidden: [4] } as never, [3], 5, s));
  const x = tf.tensor2d([0.3, -0.2, 0.9, -0.7, 0.4, 0.1], [2, 3]);
  const z = members.map((m) => m.predict(x).arraySync() as number[][]);
  const T = 4;
  const mean = (t: number) => softmaxRows(z[0], t).map((r, i) => r.map((_, c) => z.reduce((a, zk) => a + softmaxRows(zk, t)[i][c], 0) / z.length));

  const probs = ensembleModel(members, 'probabilities', T);
  const tap = probs.forward(x, true).get('logits')!;
  close(tf.softmax(tf.div(tap, T)).dataSync(), mean(T).flat());
  close(tf.softmax(probs.predict(x)).dataSync(), mean(1).flat());
  assert.equal(probs.paramCount, members.reduce((a, m) => a + m.paramCount, 0));
  assert.deepEqual(probs.trainableVariables, []);

  const byLogits = ensembleModel(members, 'logits', T);
  const meanLogits = z[0].map((r, i) => r.map((_, c) => z.reduce((a, zk) => a + zk[i][c], 0) / z.length));
  close(byLogits.predict(x).dataSync(), meanLogits.flat());
});

// ---- whole runs through the CLI ------------------------------------------------------------------

const cli = path.resolve('dist/cli.js');
const DATA = { dataset: 'mnist', trainSize: 400, testSize: 200 };
const training = { epochs: 1, batchSize: 50, optimizer: { type: 'sgd', lr: 0.1 } };

function run(config: object): { dir: string; manifest: Manifest; stdout: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-modes-'));
  fs.writeFileSync(path.join(dir, 'm.distill.json'), JSON.stringify({ seed: 3, data: DATA, training, probes: { samples: 2, cka: false }, ...config }, null, 2));
  const r = spawnSync(process.execPath, [cli, 'run', 'm.distill.json', '--backend', 'cpu'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runs = path.join(dir, '.distill', 'runs');
  const [id] = fs.readdirSync(runs);
  return { dir: path.join(runs, id), manifest: JSON.parse(fs.readFileSync(path.join(runs, id, 'manifest.json'), 'utf8')), stdout: r.stdout };
}

test('born-again run with an ensemble teacher: every planned model has a result, and the generations\' ensemble is their averaged probabilities', async () => {
  const { dir, manifest } = run({
    name: 'ban',
    teacher: {
      source: 'ensemble',
      members: [
        { model: { type: 'mlp', hidden: [32] }, training },
        { model: { type: 'mlp', hidden: [24] }, training },
      ],
    },
    student: { model: { type: 'mlp', hidden: [16] } },
    distillation: { mode: 'born-again', generations: 2, temperature: 4, losses: [{ type: 'ce', weight: 0.5 }, { type: 'kd', weight: 0.5 }] },
  });
  assert.equal(manifest.status, 'done');
  assert.equal(manifest.mode, 'born-again');
  assert.deepEqual(
    manifest.models!.map((m) => `${m.id}:${m.role}`),
    ['teacher1:member', 'teacher2:member', 'teacher:teacher', 'baseline:baseline', 'gen1:generation', 'gen2:generation', 'ensemble:ensemble'],
  );
  assert.deepEqual(Object.keys(manifest.results.models!).sort(), ['baseline', 'ensemble', 'gen1', 'gen2', 'teacher', 'teacher1', 'teacher2']);
  assert.deepEqual(manifest.results.student, manifest.results.models!.gen2, 'the headline student is the last generation');
  assert.ok(fs.existsSync(path.join(dir, 'models', 'gen1', 'model.json')) && !fs.existsSync(path.join(dir, 'models', 'ensemble')));

  // The ensembles' errors, recomputed from the saved members on the same test split.
  await tf.setBackend('cpu');
  const data = await loadDataset({ ...DATA, normalize: 'unit', testFraction: 0.2 } as DataConfig, { configDir: '.', seed: 3, cacheDir: path.join(os.tmpdir(), `distill-modes-${process.pid}`) });
  const load = async (id: string): Promise<TappedModel> => wrapLoadedModel(await loadLayersModel(path.join(dir, 'models', id, 'model.json')));
  const errorsOfMeanProbs = async (ids: string[]) => {
    const nets = await Promise.all(ids.map(load));
    const x = tf.tensor(data.test.x, [data.test.count, ...data.inputShape]);
    const p = tf.div(tf.addN(nets.map((n) => tf.softmax(n.predict(x)))), nets.length);
    const predicted = tf.argMax(p, 1).dataSync();
    return Array.from(data.test.y).filter((c, i) => predicted[i] !== c).length;
  };
  assert.equal(manifest.results.models!.ensemble.testErrors, await errorsOfMeanProbs(['gen1', 'gen2']));
  assert.equal(manifest.results.models!.teacher.testErrors, await errorsOfMeanProbs(['teacher1', 'teacher2']));
});

test('online run: peers and their alone-trained baselines, each peer\'s curves under its own id', () => {
  const { dir, manifest } = run({
    name: 'dml',
    teacher: { model: { type: 'mlp', hidden: [32] }, training },
    student: { model: { type: 'mlp', hidden: [16] } },
    distillation: { mode: 'online', temperature: 1, peers: [{ model: { type: 'mlp', hidden: [8] } }], losses: [{ type: 'ce', weight: 1 }, { type: 'kd', weight: 1 }] },
  });
  assert.deepEqual(
    manifest.models!.map((m) => [m.id, m.stage ?? m.id, m.baseline]),
    [
      ['peer1-alone', 'peer1-alone', undefined],
      ['peer2-alone', 'peer2-alone', undefined],
      ['peer3-alone', 'peer3-alone', undefined],
      ['peer1', 'peers', 'peer1-alone'],
      ['peer2', 'peers', 'peer2-alone'],
      ['peer3', 'peers', 'peer3-alone'],
    ],
  );
  const epochs = fs
    .readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l))
    .filter((r) => r.kind === 'epoch');
  assert.deepEqual(epochs.map((r) => r.stage), ['peer1-alone', 'peer2-alone', 'peer3-alone', 'peer1', 'peer2', 'peer3']);
  for (const r of epochs.slice(3)) assert.deepEqual(Object.keys(r.losses).sort(), ['ce', 'kd']);
  // The test set is evaluated once per finished model, not during training: the epochs carry validation numbers only.
  for (const r of epochs) {
    assert.equal(r.testErrors, undefined);
    assert.ok(Number.isInteger(r.validationErrors) && Number.isInteger(manifest.results.models![r.stage].testErrors));
  }
});
