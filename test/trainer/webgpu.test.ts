// The webgpu backend (src/trainer/webgpu.ts) against the cpu backend, which is the reference:
// every op the models, losses, optimisers and probes use, forward and gradients, on the same
// inputs, within 1e-4 relative; a check that a real training stage runs no kernel those cases
// leave out; the same stage trained on both backends; no GPU memory leak over 100 steps; and a
// whole run of the trainer process on webgpu.
//
// Without a GPU this runs on Mesa's software OpenGL ES adapter (llvmpipe; Debian packages
// libegl1 libgles2 libegl-mesa0, installed by .ci/setup.sh): slow, so the shapes are small. It is
// skipped, with the reason, only where no adapter at all can be created, and never in CI.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import type { LossTerm, TrainingConfig } from '../../src/core/config/schema';
import type { Dataset } from '../../src/core/data/types';
import type { TrainerToHost } from '../../src/core/protocol';
import { createRng } from '../../src/core/random';
import { tinyImageData } from './tinyImages';
import { readManifest, readMetrics, readProbes } from '../../src/core/runStore';
import { startTrainer } from '../../src/core/trainerClient';
import { backendDetails, initBackend } from '../../src/trainer/backend';
import { type ActiveTerm, activateTerms, disposeTerms } from '../../src/trainer/losses';
import { gpuDropoutMask } from '../../src/trainer/gpuFused';
import { dropoutMask, FusedMomentum, fusedMaxNorm } from '../../src/trainer/kernels/fused';
import { buildModel, type TappedModel } from '../../src/trainer/models';
import { createOptimizer } from '../../src/trainer/optim';
import { readAll } from '../../src/trainer/reads';
import { trainStage } from '../../src/trainer/train';
import { gpuMemory, releaseGpuMemory } from '../../src/trainer/webgpu';

const TOLERANCE = 1e-4;

let unavailable: string | undefined;
before(async () => {
  try {
    await initBackend('webgpu');
    console.log(`# ${backendDetails()}`);
  } catch (e) {
    unavailable = (e as Error).message;
    // CI installs Mesa's OpenGL ES (.ci/setup.sh): there the tests must run, not skip.
    if (process.env.CI) throw new Error(`no WebGPU adapter in CI: ${unavailable}`);
    console.log(`# webgpu tests skipped: no WebGPU adapter (${unavailable})`);
  }
});

/** Fixed pseudo-random values in [-1, 1), so a failure reproduces. */
function values(n: number, seed: number): Float32Array {
  const rng = createRng(seed);
  return Float32Array.from({ length: n }, () => rng() * 2 - 1);
}

/** The largest |a − b| relative to the largest |reference| (1 when the reference is all zeros). */
function relativeError(got: Float32Array, want: Float32Array): number {
  assert.equal(got.length, want.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < want.length; i++) {
    diff = Math.max(diff, Math.abs(got[i] - want[i]));
    scale = Math.max(scale, Math.abs(want[i]));
  }
  return diff / (scale || 1);
}

function close(got: Float32Array[], want: Float32Array[], what: string, tolerance = TOLERANCE): void {
  assert.equal(got.length, want.length, what);
  got.forEach((g, i) => {
    const err = relativeError(g, want[i]);
    assert.ok(err <= tolerance, `${what} [${i}]: relative error ${err.toExponential(2)} > ${tolerance}`);
  });
}

// ── op cases ─────────────────────────────────────────────────────────────────────────────────
// Each case builds its inputs from fixed values and computes one output; its gradients are those
// of sum(output · w) for a fixed random w, with respect to every input.

interface OpCase {
  name: string;
  shapes: number[][];
  f(xs: tf.Tensor[]): tf.Tensor;
  /** Inputs that get no gradient (labels, teacher tensors). */
  constant?: number[];
  /** Transforms input i's values (e.g. labels, positive inputs). */
  input?(i: number, v: Float32Array): tf.Tensor;
}

const labels = (v: Float32Array) => tf.tensor1d(Array.from(v, (x) => Math.floor((x + 1) * 5) % 10), 'int32');

const T = 4;
const OP_CASES: OpCase[] = [
  { name: 'matMul', shapes: [[6, 5], [5, 7]], f: ([a, b]) => tf.matMul(a, b) },
  { name: 'matMul transposed', shapes: [[5, 6], [7, 5]], f: ([a, b]) => tf.matMul(a, b, true, true) },
  { name: 'dense: x·W + b, relu', shapes: [[6, 5], [5, 7], [7]], f: ([x, w, b]) => tf.relu(tf.add(tf.matMul(x, w), b)) },
  ...(['linear', 'relu', 'sigmoid', 'elu'] as const).map(
    (activation): OpCase => ({
      name: `fused dense (layers): x·W + b, ${activation}`,
      shapes: [[6, 5], [5, 7], [7]],
      f: ([x, w, b]) => tf.fused.matMul({ a: x as tf.Tensor2D, b: w as tf.Tensor2D, bias: b, activation }),
    }),
  ),
  {
    name: 'fused conv2d (layers): same, + bias, relu',
    shapes: [[2, 6, 6, 2], [3, 3, 2, 3], [3]],
    f: ([x, w, b]) => tf.fused.conv2d({ x: x as tf.Tensor4D, filter: w as tf.Tensor4D, strides: 1, pad: 'same', bias: b, activation: 'relu' }),
  },
  {
    name: 'dropout mask: x · floor(u + keep) / keep',
    shapes: [[4, 9], [4, 9]],
    constant: [1],
    f: ([x, u]) => tf.div(tf.mul(x, tf.floor(tf.add(tf.div(tf.add(u, 1), 2), 0.7))), 0.7),
  },
  { name: 'tanh', shapes: [[4, 9]], f: ([x]) => tf.tanh(tf.mul(x, 2)) },
  { name: 'sigmoid', shapes: [[4, 9]], f: ([x]) => tf.sigmoid(tf.mul(x, 3)) },
  { name: 'elu', shapes: [[4, 9]], f: ([x]) => tf.elu(tf.mul(x, 2)) },
  {
    name: 'conv2d same, stride 1, + bias',
    shapes: [[2, 7, 7, 3], [3, 3, 3, 4], [4]],
    f: ([x, w, b]) => tf.add(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same'), b),
  },
  { name: 'conv2d same, stride 2, kernel 5', shapes: [[2, 8, 8, 2], [5, 5, 2, 3]], f: ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 2, 'same') },
  { name: 'conv2d 1×1 (conv connector)', shapes: [[2, 4, 4, 3], [1, 1, 3, 5]], f: ([x, w]) => tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, 1, 'same') },
  { name: 'maxPool 2×2 valid', shapes: [[2, 6, 6, 3]], f: ([x]) => tf.maxPool(x as tf.Tensor4D, 2, 2, 'valid') },
  { name: 'flatten (reshape)', shapes: [[2, 3, 3, 2]], f: ([x]) => tf.reshape(tf.mul(x, x), [2, -1]) },
  { name: 'softmax / T', shapes: [[5, 10]], f: ([z]) => tf.softmax(tf.div(z, T)) },
  {
    name: 'cross-entropy (logSoftmax, oneHot, mean)',
    shapes: [[6, 10], [6]],
    constant: [1],
    input: (i, v) => (i === 1 ? labels(v) : tf.tensor2d(v, [6, 10])),
    f: ([z, y]) => tf.neg(tf.mean(tf.sum(tf.mul(tf.oneHot(tf.cast(y, 'int32'), 10).asType('float32'), tf.logSoftmax(z as tf.Tensor2D)), -1))),
  },
  {
    name: 'KD: T²·KL(softmax(t/T) ‖ softmax(s/T)) / batch',
    shapes: [[6, 10], [6, 10]],
    constant: [1],
    f: ([s, t]) => {
      const logPs = tf.logSoftmax(tf.div(s, T) as tf.Tensor2D);
      const logPt = tf.logSoftmax(tf.div(t, T) as tf.Tensor2D);
      return tf.mul(tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs))), (T * T) / 6);
    },
  },
  { name: 'hint MSE (squaredDifference, mean)', shapes: [[4, 12], [4, 12]], f: ([s, t]) => tf.mean(tf.squaredDifference(s, t)) },
  {
    name: 'weight decay ½‖W‖² (square, sum, addN)',
    shapes: [[5, 4], [3, 3]],
    f: ([a, b]) => tf.mul(0.5, tf.addN([tf.sum(tf.square(a)), tf.sum(tf.square(b))])),
  },
  {
    name: 'max-norm constraint (norm, clip, divide)',
    shapes: [[6, 5]],
    f: ([w]) => {
      const norms = tf.sqrt(tf.sum(tf.square(w), 0, true));
      return tf.mul(w, tf.div(tf.clipByValue(norms, 0, 1.5), tf.add(1e-7, norms)));
    },
  },
  {
    name: 'CKA Gram (centre, XXᵀ)',
    shapes: [[8, 6]],
    f: ([x]) => {
      const xc = tf.sub(x, tf.mean(x, 0, true));
      return tf.matMul(xc, xc, false, true);
    },
  },
  { name: 'concat (batched reads)', shapes: [[3], [2, 2]], f: ([a, b]) => tf.concat([tf.reshape(a, [-1]), tf.reshape(b, [-1])]) },
];

async function runCase(c: OpCase, seed: number): Promise<{ out: Float32Array[]; grads: Float32Array[] }> {
  const xs = c.shapes.map((shape, i) => {
    const v = values(tf.util.sizeFromShape(shape), seed + i);
    return c.input ? c.input(i, v) : tf.tensor(v, shape);
  });
  const varying = xs.map((_, i) => i).filter((i) => !c.constant?.includes(i));
  const out = tf.tidy(() => c.f(xs));
  const w = tf.tensor(values(out.size, seed + 100), out.shape);
  const grads = tf.grads((...v: tf.Tensor[]) => {
    const all = xs.slice();
    varying.forEach((k, j) => (all[k] = v[j]));
    return tf.sum(tf.mul(c.f(all), w));
  })(varying.map((i) => xs[i]));
  const read = await readAll([out, ...grads]);
  tf.dispose([...xs, out, w, ...grads]);
  return { out: read.slice(0, 1), grads: read.slice(1) };
}

/** Kernels a function runs, on the current backend. */
async function kernelsOf(f: () => Promise<unknown>): Promise<Set<string>> {
  const info = await tf.profile(async () => {
    await f();
    return [];
  });
  return new Set(info.kernelNames);
}

// ── a real training stage ────────────────────────────────────────────────────────────────────

const DATA: Dataset = tinyImageData(48, 16);

const TRAINING = (optimizer: TrainingConfig['optimizer']): TrainingConfig =>
  ({ epochs: 1, batchSize: 16, optimizer, schedule: { type: 'constant' }, jitter: 1 }) as TrainingConfig;

const TERMS: LossTerm[] = [
  { type: 'ce', weight: 0.1 },
  { type: 'kd', weight: 0.9 },
  { type: 'hint', weight: 0.5, student: 'conv1', teacher: 'conv1', connector: 'conv1x1' },
  { type: 'hint', weight: 0.5, student: 'fc1', teacher: 'fc1', connector: 'linear' },
] as LossTerm[];

interface StageRun {
  steps: number[][];
  epoch: { total: number; trainAccuracy: number; testErrors: number };
  weights: Float32Array[];
}

/** The teacher (CE, dropout, max-norm, weight decay, momentum) then a student (CE + KD + hints, Adam). */
async function trainBoth(onBackend: 'cpu' | 'webgpu'): Promise<{ teacher: StageRun; student: StageRun }> {
  assert.equal(await initBackend(onBackend), onBackend);
  const teacher = buildModel({ type: 'cnn', conv: [{ filters: 4, kernel: 3, stride: 1, pool: 2 }], hidden: [12], activation: 'relu', dropout: 0.3, maxNorm: 2 } as never, [8, 8, 1], 4, 5);
  const student = buildModel({ type: 'cnn', conv: [{ filters: 2, kernel: 3, stride: 1, pool: 2 }], hidden: [6], activation: 'tanh', dropout: 0 } as never, [8, 8, 1], 4, 6);
  const setup = { studentLayers: student.taps, numClasses: 4, trainCount: DATA.train.count, seed: 7 };
  const ceOnly = activateTerms([{ type: 'ce', weight: 1 }], setup);
  const distilled = activateTerms(TERMS, { ...setup, teacherLayers: teacher.taps });
  const run = async (net: TappedModel, terms: ActiveTerm[], training: TrainingConfig, withTeacher?: TappedModel): Promise<StageRun> => {
    const steps: number[][] = [];
    let epoch: StageRun['epoch'] | undefined;
    await trainStage(
      { stage: withTeacher ? 'student' : 'teacher', learners: [{ id: withTeacher ? 'student' : 'teacher', net, terms }], temperature: 4, teacher: withTeacher, training, seed: 3, data: DATA, testEveryEpoch: true },
      {
        isCancelled: () => false,
        onStep: ([r]) => steps.push([r.total, ...Object.values(r.losses)]),
        onEpoch: (r) => void (epoch = { total: r.total, trainAccuracy: r.trainAccuracy, testErrors: r.testErrors! }),
      },
    );
    return { steps, epoch: epoch!, weights: await readAll(net.trainableVariables) };
  };
  const t = await run(teacher, ceOnly, { ...TRAINING({ type: 'sgd', lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4 } as never) });
  const s = await run(student, distilled, TRAINING({ type: 'adam', lr: 0.01 } as never), teacher);
  teacher.dispose();
  student.dispose();
  disposeTerms(distilled);
  return { teacher: t, student: s };
}

describe('webgpu backend vs cpu', () => {
  const covered = new Set<string>();

  for (const [i, c] of OP_CASES.entries()) {
    test(`${c.name}: forward and gradients`, async (t) => {
      if (unavailable) return t.skip(unavailable);
      await initBackend('cpu');
      let want: Awaited<ReturnType<typeof runCase>> | undefined;
      for (const k of await kernelsOf(async () => (want = await runCase(c, 1000 * i)))) covered.add(k);
      await initBackend('webgpu');
      const got = await runCase(c, 1000 * i);
      close(got.out, want!.out, `${c.name}: forward`);
      close(got.grads, want!.grads, `${c.name}: gradients`);
    });
  }

  let cpuRun: Awaited<ReturnType<typeof trainBoth>> | undefined;
  test('a training stage runs no kernel the cases above leave out', async (t) => {
    if (unavailable) return t.skip(unavailable);
    const used = await kernelsOf(async () => (cpuRun = await trainBoth('cpu')));
    // Data movement and bookkeeping that every case runs implicitly, or which has no numerics.
    const plumbing = new Set(['Identity', 'Reshape', 'Cast', 'Fill', 'ZerosLike', 'OnesLike']);
    // tf.profile also lists scope names ("fusedMatMul__op", "unnamed scope", the scope a custom
    // gradient's forward pass runs in): only names the cpu backend has a kernel for are kernels.
    const isKernel = (k: string) => tf.getKernel(k, 'cpu') !== undefined;
    const missing = [...used].filter((k) => !covered.has(k) && !plumbing.has(k) && isKernel(k));
    assert.deepEqual(missing, [], `kernels with no parity case: ${missing.join(', ')}`);
  });

  test('the same two stages trained on webgpu: same losses, accuracies and weights', async (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.ok(cpuRun, 'the cpu run above did not finish');
    const gpuRun = await trainBoth('webgpu');
    for (const stage of ['teacher', 'student'] as const) {
      const got: StageRun = gpuRun[stage];
      const want: StageRun = cpuRun[stage];
      assert.equal(got.steps.length, want.steps.length);
      // Float rounding differs between the backends and compounds over the steps: the first step
      // is held to the op tolerance, the later ones (after 2 optimiser updates) to 10× that.
      got.steps.forEach((s, k) => close([Float32Array.from(s)], [Float32Array.from(want.steps[k])], `${stage} step ${k + 1} losses`, k === 0 ? TOLERANCE : 10 * TOLERANCE));
      close(got.weights, want.weights, `${stage} weights after the stage`, 10 * TOLERANCE);
      assert.equal(got.epoch.testErrors, want.epoch.testErrors, `${stage} test errors`);
      assert.equal(got.epoch.trainAccuracy, want.epoch.trainAccuracy, `${stage} train accuracy`);
    }
  });

  test('momentum on the GPU (two programs per variable) is tfjs\'s update, plain and Nesterov', async (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.equal(await initBackend('webgpu'), 'webgpu');
    const [n, lr, m] = [1000, 0.05, 0.9];
    for (const nesterov of [false, true]) {
      const w0 = values(n, 1), g1 = values(n, 2), g2 = values(n, 3);
      const value = tf.variable(tf.tensor1d(w0), true, `gpu-momentum-${nesterov}`);
      const optimizer = createOptimizer({ type: 'sgd', lr, momentum: m, nesterov, weightDecay: 0 });
      assert.ok(optimizer instanceof FusedMomentum);
      // Two steps, so the accumulation carries over; the expectation from the formulas, in doubles.
      const w = Float64Array.from(w0), a = new Float64Array(n);
      for (const g of [g1, g2]) {
        const gt = tf.tensor1d(g);
        optimizer.applyGradients({ [value.name]: gt });
        gt.dispose();
        for (let i = 0; i < n; i++) {
          a[i] = a[i] * m + g[i];
          w[i] -= lr * (nesterov ? g[i] + m * a[i] : a[i]);
        }
      }
      const [got] = await readAll([value]);
      assert.ok(relativeError(got, Float32Array.from(w)) < 1e-6, `nesterov=${nesterov}: ${relativeError(got, Float32Array.from(w))}`);
      optimizer.dispose();
      value.dispose();
    }
  });

  test('max-norm on the GPU (two programs per kernel) is tfjs-layers\' MaxNorm, dense and conv', async (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.equal(await initBackend('webgpu'), 'webgpu');
    const maxValue = 2;
    for (const shape of [[37, 6], [3, 3, 2, 5]]) {
      const cols = shape[shape.length - 1];
      const rows = shape.reduce((a, b) => a * b, 1) / cols;
      // Column c scaled by c: norms from 0 to well past the bound.
      const w0 = values(rows * cols, 7).map((x, i) => x * (i % cols));
      const v = tf.variable(tf.tensor(w0, shape), true, `gpu-max-norm-${shape.length}`);
      // Every axis but the last (tfjs types `axis` as one number; its MaxNorm takes a list).
      const axis = shape.map((_, i) => i).slice(0, -1) as unknown as number;
      assert.ok(fusedMaxNorm(v, tf.constraints.maxNorm({ maxValue, axis })));
      const eps = tf.backend().epsilon();
      const want = new Float32Array(w0.length);
      for (let c = 0; c < cols; c++) {
        let s = 0;
        for (let r = 0; r < rows; r++) s += w0[r * cols + c] ** 2;
        const n = Math.sqrt(s);
        for (let r = 0; r < rows; r++) want[r * cols + c] = (w0[r * cols + c] * Math.min(Math.max(n, 0), maxValue)) / (eps + n);
      }
      const [got] = await readAll([v]);
      assert.ok(relativeError(got, want) < 1e-6, `${shape}: ${relativeError(got, want)}`);
      v.dispose();
    }
  });

  test('dropout masks drawn on the GPU are dropoutMask()\'s, bit for bit', async (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.equal(await initBackend('webgpu'), 'webgpu');
    for (const [n, rate, seed] of [[1000, 0.5, 0], [12_345, 0.2, 123_456_789], [777, 0.8, 4_000_000_000]]) {
      const mask = gpuDropoutMask([n], rate, seed)!;
      const [got] = await readAll([mask]);
      mask.dispose();
      assert.deepEqual(got, dropoutMask(n, rate, seed), `n=${n} rate=${rate} seed=${seed}`);
    }
  });

  test('no GPU memory grows over 100 training steps, and a stage gives the pool back', async (t) => {
    if (unavailable) return t.skip(unavailable);
    assert.equal(await initBackend('webgpu'), 'webgpu');
    const net = buildModel({ type: 'mlp', hidden: [32], activation: 'relu', inputDropout: 0, dropout: 0.2 } as never, [64], 4, 9);
    // The optimiser the trainer makes (on webgpu: the fused GPU momentum step).
    const optimizer = createOptimizer({ type: 'sgd', lr: 0.05, momentum: 0.9, nesterov: false, weightDecay: 0 });
    assert.ok(optimizer instanceof FusedMomentum);
    const x = tf.tensor2d(DATA.train.x.subarray(0, 16 * 64), [16, 64]);
    const y = tf.oneHot(tf.tensor1d(Array.from(DATA.train.y.subarray(0, 16)), 'int32'), 4).asType('float32');
    const step = async () => {
      const { value, grads } = tf.variableGrads(() => tf.losses.softmaxCrossEntropy(y, net.logits(x, true)) as tf.Scalar, net.trainableVariables);
      optimizer.applyGradients(grads);
      await readAll([value]);
      tf.dispose([value, ...Object.values(grads)]);
    };
    for (let i = 0; i < 10; i++) await step();
    const [tensors, memory] = [tf.memory().numTensors, gpuMemory()!];
    for (let i = 0; i < 100; i++) await step();
    assert.equal(tf.memory().numTensors, tensors, 'live tensors after 100 more steps');
    assert.equal(gpuMemory()!.used, memory.used, 'GPU bytes in live tensors');
    assert.ok(gpuMemory()!.allocated <= memory.allocated, `GPU bytes held grew from ${memory.allocated} to ${gpuMemory()!.allocated}`);
    tf.dispose([x, y]);
    optimizer.dispose();
    net.dispose();
    assert.ok(gpuMemory()!.allocated > gpuMemory()!.used, 'freed buffers are pooled before the release');
    releaseGpuMemory();
    assert.equal(gpuMemory()!.allocated, gpuMemory()!.used, 'the pool is empty after releaseGpuMemory()');
  });
});

test('auto takes a hardware GPU only, else says why in one line and trains on the next backend', () => {
  // A separate process: a process keeps the first webgpu adapter it finds.
  const script = `require('./src/trainer/backend').initBackend('auto').then((name) => console.log(JSON.stringify({ name, details: require('./src/trainer/backend').backendDetails() })));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: path.resolve(__dirname, '..', '..'), encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const { name, details } = JSON.parse(r.stdout.trim().split('\n').pop()!);
  const ours = r.stderr.split('\n').filter((l) => /GPU/.test(l) && !/^\s*at |^Warning/.test(l));
  if (name === 'webgpu') {
    assert.doesNotMatch(details, /software/, 'auto must not pick a software adapter');
    assert.deepEqual(ours, []);
  } else {
    assert.notEqual(name, 'cpu');
    assert.equal(ours.length, 1, r.stderr);
    assert.match(ours[0], new RegExp(`^no GPU used \\(webgpu: .+\\); training on ${name}$`));
  }
});

describe('a whole run on webgpu (the trainer process)', () => {
  const TINY = (training: object) => ({
    name: 'tiny',
    seed: 3,
    data: { dataset: 'mnist', trainSize: 300, testSize: 100 },
    teacher: { model: { type: 'mlp', hidden: [32] }, training },
    student: { model: { type: 'mlp', hidden: [16] } },
    distillation: {
      temperature: 4,
      losses: [
        { type: 'ce', weight: 0.1 },
        { type: 'kd', weight: 0.9 },
        { type: 'hint', weight: 0.5, student: 'fc1', teacher: 'fc1' },
      ],
    },
    training,
    probes: { samples: 4, ckaSamples: 32 },
  });

  async function runTrainer(dir: string, backend: 'webgpu' | 'wasm') {
    const file = path.join(dir, 'tiny.distill.json');
    fs.writeFileSync(file, JSON.stringify(TINY({ epochs: 2, batchSize: 50, optimizer: { type: 'sgd', lr: 0.05, momentum: 0.9 } })));
    const messages: TrainerToHost[] = [];
    const job = startTrainer(
      { type: 'start', configPath: file, runsDir: path.join(dir, 'runs'), backend },
      { trainerScript: path.resolve('dist/trainer.js'), env: { DISTILL_CACHE_DIR: path.resolve('.cache/datasets') }, onMessage: (m) => messages.push(m) },
    );
    const done = await job.done;
    assert.equal(done.status, 'done', done.error);
    const ready = messages.find((m) => m.type === 'ready') as Extract<TrainerToHost, { type: 'ready' }>;
    const created = messages.find((m) => m.type === 'runCreated') as Extract<TrainerToHost, { type: 'runCreated' }>;
    return { ready, runDir: created.runDir, manifest: readManifest(created.runDir)! };
  }

  test('trains, records the adapter, every metric and probe; results as on wasm', { timeout: 240_000 }, async (t) => {
    if (unavailable) return t.skip(unavailable);
    if (!fs.existsSync('dist/trainer.js')) return t.skip('dist/trainer.js is not built (npm run build)');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-webgpu-'));
    const gpu = await runTrainer(dir, 'webgpu');
    assert.equal(gpu.ready.backend, 'webgpu');
    assert.match(gpu.ready.details, /^webgpu on \S/);
    assert.equal(gpu.manifest.backend, 'webgpu');
    assert.equal(gpu.manifest.versions.backendDetails, gpu.ready.details);
    const steps = readMetrics(gpu.runDir).filter((m) => m.kind === 'step');
    assert.equal(steps.length, 3 * 2 * 6, 'three stages × 2 epochs × 6 steps');
    assert.ok(steps.every((s) => Number.isFinite(s.total)));
    const probe = readProbes(gpu.runDir, 'student').at(-1);
    assert.ok(probe?.cka && probe.pairs.length === 1 && probe.studentLogits.length === 4 && probe.teacherLogits?.length === 4);

    // The same run on wasm: float rounding differs, so a few test examples may flip, no more.
    const wasm = await runTrainer(dir, 'wasm');
    for (const stage of ['teacher', 'baseline', 'student'] as const) {
      const [g, w] = [gpu.manifest.results[stage]!, wasm.manifest.results[stage]!];
      assert.equal(g.testCount, 100);
      assert.ok(Math.abs(g.testErrors - w.testErrors) <= 3, `${stage}: ${g.testErrors} errors on webgpu, ${w.testErrors} on wasm`);
      assert.ok(g.latencyMs > 0);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
