// Self-distillation (Be Your Own Teacher): each exit is the network's prefix plus its own head
// (sizes counted here by hand), exits see the same dropout masks as the deepest exit in a step,
// every exit trains, the deepest exit teaches through detached outputs, and a real CLI run reports
// every exit.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, ModelSpec, TrainingConfig } from '../../src/core/config/schema';
import type { Dataset } from '../../src/core/data/types';
import { describeModel } from '../../src/core/models';
import { tinyImageData } from './tinyImages';
import { buildExits } from '../../src/trainer/exits';
import { activateTerms } from '../../src/trainer/losses';
import { buildModel, type TappedModel } from '../../src/trainer/models';
import { DEEPEST_EXIT, exitLearners } from '../../src/trainer/modes/self';
import { trainStage } from '../../src/trainer/train';

before(async () => {
  await tf.setBackend('cpu');
  await tf.ready();
});

const disposers: (() => void)[] = [];
after(() => disposers.forEach((d) => d()));

// conv1 [8,8,4] → pool1 [4,4,4] → conv2 [4,4,8] → pool2 [2,2,8] → fc1 [12] → logits [4]
const CNN: ModelSpec = {
  type: 'cnn',
  conv: [
    { filters: 4, kernel: 3, stride: 1, pool: 2 },
    { filters: 8, kernel: 3, stride: 1, pool: 2 },
  ],
  hidden: [12],
  activation: 'relu',
  dropout: 0.3,
} as ModelSpec;

function network(spec: ModelSpec, layers: string[], inputShape = [8, 8, 1]) {
  const net = buildModel(spec, inputShape, 4, 7);
  const { exits, dispose } = buildExits(net, layers, 11, 7);
  disposers.push(() => {
    dispose();
    net.dispose();
  });
  return { net, exits };
}

// Costs counted as describeModel counts them: 2 × multiply-adds; pooling one per input value.
const conv = (k: number, cin: number, cout: number, out: number) => ({ params: k * k * cin * cout + cout, flops: 2 * k * k * cin * cout * out * out });
const dense = (n: number, m: number) => ({ params: n * m + m, flops: 2 * n * m });
const sum = (parts: { params: number; flops: number }[]) => parts.reduce((a, p) => ({ params: a.params + p.params, flops: a.flops + p.flops }), { params: 0, flops: 0 });

test('each exit is the network up to its layer plus a BYOT bottleneck to the last conv map, then the network\'s own kind of classifier', () => {
  const { net, exits } = network(CNN, ['conv1', 'pool1', 'conv2']);
  const conv1 = conv(3, 1, 4, 8);
  const pool1 = { params: 0, flops: 8 * 8 * 4 };
  const conv2 = conv(3, 4, 8, 4);
  // Head from C channels on an s×s map: BYOT's bottleneck to the last conv map pool2 [2,2,8] (1×1 to 8/4 = 2,
  // k×k stride k down to 2×2, 1×1 to 8), then as the network: flatten (32), dense to fc1's 12, dense 12 → 4.
  const head = (c: number, s: number) => sum([conv(1, c, 2, s), conv(s / 2, 2, 2, 2), conv(1, 2, 8, 2), dense(32, 12), dense(12, 4)]);
  const expected = {
    conv1: sum([conv1, head(4, 8)]),
    pool1: sum([conv1, pool1, head(4, 4)]),
    conv2: sum([conv1, pool1, conv2, head(8, 4)]),
  };
  for (const e of exits) {
    const want = expected[e.layer as keyof typeof expected];
    assert.equal(e.net.paramCount, want.params, `${e.layer} params`);
    assert.equal(e.net.flops, want.flops, `${e.layer} FLOPs`);
    // the saved/timed classifier is exactly that sub-network
    assert.equal(e.net.logitsModel.countParams(), want.params);
    const upTo = net.taps.findIndex((t) => t.name === e.layer);
    assert.deepEqual(
      e.net.taps.map((t) => [t.name, t.shape]),
      [...net.taps.slice(0, upTo + 1).map((t) => [t.name, t.shape]), ['features', [12]], ['logits', [4]]],
    );
  }
  // the deepest exit is the network itself
  const whole = describeModel(CNN, [8, 8, 1], 4);
  assert.equal(net.paramCount, whole.params);
});

test('a CNN without hidden layers: heads end on the last conv map itself; a dense exit gets one dense layer', () => {
  const noHidden = { ...CNN, hidden: [] } as ModelSpec;
  const { exits } = network(noHidden, ['conv1']);
  // 8×8 → the deepest map pool2 [2,2,8]: 1×1 to 2, 4×4 stride 4, 1×1 to 8, then flatten (32) → 4
  const want = sum([conv(3, 1, 4, 8), conv(1, 4, 2, 8), conv(4, 2, 2, 2), conv(1, 2, 8, 2), dense(32, 4)]);
  assert.deepEqual(exits[0].net.tapShapes.get('features'), [2, 2, 8]);
  assert.equal(exits[0].net.paramCount, want.params);
  assert.equal(exits[0].net.flops, want.flops);

  const mlp = { type: 'mlp', hidden: [10, 6], activation: 'relu' } as ModelSpec;
  const { exits: dense1 } = network(mlp, ['fc1'], [5]);
  assert.equal(dense1[0].net.paramCount, sum([dense(5, 10), dense(10, 6), dense(6, 4)]).params);
});

test('exits share the backbone: same prefix activations, and in training the same dropout masks as the deepest exit', () => {
  const mlp = { type: 'mlp', hidden: [16, 8], activation: 'relu', inputDropout: 0.5, dropout: 0.5 } as ModelSpec;
  const { net, exits } = network(mlp, ['fc1'], [20]);
  const x = tf.randomUniform([6, 20], 0, 1, 'float32', 3);
  const fc1 = (m: TappedModel, training: boolean) => {
    const taps = m.forward(x, training);
    const v = taps.get('fc1')!.arraySync();
    tf.dispose([...taps.values()]);
    return v;
  };
  assert.deepEqual(fc1(exits[0].net, false), fc1(net, false));
  // Step by step, in the order a stage runs its learners: exit, then the network.
  const first = [fc1(exits[0].net, true), fc1(net, true)];
  const second = [fc1(exits[0].net, true), fc1(net, true)];
  assert.deepEqual(first[0], first[1]);
  assert.deepEqual(second[0], second[1]);
  assert.notDeepEqual(first[0], second[0], 'masks change from step to step');
  x.dispose();
});

const DATA: Dataset = tinyImageData(32, 8);

/** One SGD step of the stage on all 32 examples; each variable's change, by layer name. */
async function oneStep(losses: LossTerm[], featureWeight: number): Promise<{ changed: Map<string, boolean>; learners: ReturnType<typeof exitLearners> }> {
  const { net, exits } = network(CNN, ['conv1', 'conv2']);
  const learners = exitLearners(net, exits, losses, featureWeight, (terms, student, teacher) =>
    activateTerms(terms, { studentLayers: student.taps, teacherLayers: teacher?.taps, numClasses: 4, trainCount: 32, seed: 3 }),
  );
  const variables = [...new Set(learners.flatMap((l) => l.net.trainableVariables))];
  const before = variables.map((v) => v.dataSync().slice());
  const training = { epochs: 1, batchSize: 32, optimizer: { type: 'sgd', lr: 0.5, momentum: 0, weightDecay: 0 }, schedule: { type: 'constant' }, jitter: 0 } as TrainingConfig;
  await trainStage({ stage: 'exits', learners, temperature: 3, training, seed: 1, data: DATA }, { isCancelled: () => false, onStep: () => {}, onEpoch: () => {} });
  const changed = new Map<string, boolean>();
  variables.forEach((v, i) => {
    const after = v.dataSync();
    changed.set(v.name, after.some((a, j) => a !== before[i][j]));
  });
  return { changed, learners };
}

const layerOf = (name: string) => name.split('/')[0];
const changedIn = (changed: Map<string, boolean>, layer: string) => [...changed].filter(([n]) => layerOf(n) === layer).map(([, c]) => c);

test('the stage: shallow exits learn from the deepest (KD + feature hint), the deepest from the labels; all train', async () => {
  const { changed, learners } = await oneStep([{ type: 'ce', weight: 0.9 }, { type: 'kd', weight: 0.1 }] as LossTerm[], 0.03);
  assert.deepEqual(
    learners.map((l) => [l.id, l.terms.map((t) => `${t.id}×${t.term.weight}`), l.peers]),
    [
      ['exit-conv1', ['ce×0.9', 'kd×0.1', 'hint:features<-fc1×0.03'], [DEEPEST_EXIT]],
      ['exit-conv2', ['ce×0.9', 'kd×0.1', 'hint:features<-fc1×0.03'], [DEEPEST_EXIT]],
      [DEEPEST_EXIT, ['ce×0.9'], undefined],
    ],
  );
  // every variable of the network and of both heads moved
  for (const [name, c] of changed) assert.ok(c, `${name} did not train`);
  assert.ok(changedIn(changed, 'exit_conv1_reduce').length && changedIn(changed, 'exit_conv2_logits').length);
});

test('the teacher side is detached: with the deepest exit\'s own loss at weight 0, only the exits\' heads and prefixes move', async () => {
  // The deepest exit's CE at weight 0: any change to a layer only it uses (pool2 → fc1 → logits)
  // would have to come through the shallow exits' KD or hint targets.
  const { changed } = await oneStep([{ type: 'ce', weight: 0 }, { type: 'kd', weight: 1 }] as LossTerm[], 1);
  for (const layer of ['fc1', 'logits']) assert.deepEqual(changedIn(changed, layer), [false, false], `${layer} got a gradient from a shallow exit`);
  // each shallow exit still trains its head and its prefix of the backbone (conv1 for both, conv2 for exit-conv2)
  for (const layer of ['conv1', 'conv2', 'exit_conv1_reduce', 'exit_conv1_stride', 'exit_conv1_expand', 'exit_conv1_logits', 'exit_conv2_expand', 'exit_conv2_logits']) {
    assert.deepEqual(changedIn(changed, layer), [true, true], `${layer} did not train`);
  }
});

test('a real CLI run of mode self reports every exit with its own cost, saves each as a classifier and records its test predictions', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-self-'));
  const config = {
    name: 'byot-tiny',
    seed: 1,
    baseline: true,
    data: { dataset: 'fashion-mnist', trainSize: 300, testSize: 200 },
    student: { model: { type: 'cnn', conv: [{ filters: 4, kernel: 3 }, { filters: 8, kernel: 3 }], hidden: [16] } },
    distillation: { mode: 'self', exits: ['pool1', 'pool2'], temperature: 3, losses: [{ type: 'ce', weight: 0.9 }, { type: 'kd', weight: 0.1 }] },
    training: { epochs: 1, batchSize: 64, optimizer: { type: 'adam', lr: 0.002 } },
  };
  fs.writeFileSync(path.join(dir, 'byot.distill.json'), JSON.stringify(config, null, 2));
  const r = spawnSync(process.execPath, [path.resolve('dist/cli.js'), 'run', 'byot.distill.json'], { cwd: dir, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout);
  const runDir = path.join(dir, '.distill', 'runs', fs.readdirSync(path.join(dir, '.distill', 'runs'))[0]);
  const manifest = JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8'));
  const ids = ['baseline', 'exit-pool1', 'exit-pool2', 'exit-logits'];
  assert.deepEqual(Object.keys(manifest.results.models), ids);
  // the config's model with its defaults written out (stride 1, pool 2)
  const spec = { type: 'cnn', conv: [{ filters: 4, kernel: 3, stride: 1, pool: 2 }, { filters: 8, kernel: 3, stride: 1, pool: 2 }], hidden: [16] } as ModelSpec;
  const whole = describeModel(spec, [28, 28, 1], 10);
  const models = manifest.results.models;
  assert.equal(models['exit-logits'].params, whole.params);
  assert.equal(models['exit-logits'].flops, whole.flops);
  assert.deepEqual(manifest.results.student, models['exit-logits']);
  // pool1 [14,14,4] → 1×1 to 8/4 = 2, 2×2 stride 2 to the last map (7×7), 1×1 to 8, flatten (392), dense 16, dense 16 → 10
  const pool1Exit = sum([conv(3, 1, 4, 28), { params: 0, flops: 28 * 28 * 4 }, conv(1, 4, 2, 14), conv(2, 2, 2, 7), conv(1, 2, 8, 7), dense(392, 16), dense(16, 10)]);
  assert.equal(models['exit-pool1'].params, pool1Exit.params);
  assert.equal(models['exit-pool1'].flops, pool1Exit.flops);
  for (const id of ids) {
    assert.equal(models[id].testCount, 200);
    assert.ok(models[id].latencyMs > 0);
    assert.ok(fs.existsSync(path.join(runDir, 'models', id, 'model.json')), `${id} saved`);
    assert.match(r.stdout, new RegExp(`^${id}\\s+${models[id].testErrors} / 200`, 'm'));
  }
  // Each exit's predicted classes are in test-predictions.json: their mismatches with the labels are its errors.
  const predictions = JSON.parse(fs.readFileSync(path.join(runDir, 'test-predictions.json'), 'utf8'));
  assert.equal(predictions.labels.length, 200);
  assert.deepEqual(Object.keys(predictions.models), ids);
  for (const id of ids) assert.equal(predictions.models[id].filter((c: number, i: number) => c !== predictions.labels[i]).length, models[id].testErrors, id);
  // the saved exit is a plain classifier: one input, ten logits
  const saved = JSON.parse(fs.readFileSync(path.join(runDir, 'models', 'exit-pool1', 'model.json'), 'utf8'));
  assert.deepEqual(saved.modelTopology.config.output_layers, [['exit_pool1_logits', 0, 0]]);
});
