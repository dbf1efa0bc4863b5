// Parts of a training step that tfjs runs as several kernels, each a pass over memory and a fresh
// tensor, done in one pass on the wasm heap (docs/architecture.md §5), and on webgpu in fewer GPU
// programs (../gpuFused.ts). Each picks the active backend's way here:
//
//   dropoutMaskTensor   the dropout mask written straight into a wasm tensor (no JS array, no
//                       copy); drawn on the GPU on webgpu;
//   FusedMomentum       SGD with momentum updating each variable and its accumulation with
//                       fusedMomentumStep(): in place on the wasm heap, or two GPU programs;
//                       with the addon, a max-normed kernel's constraint in the same call
//                       (fusedMomentumMaxNormStep()), and each accumulation kept scaled so that
//                       a dense layer's backward product adds its kernel's gradient straight
//                       into it (scaledMomentumStep(), gradientAccumulation());
//   fusedMaxNorm        the max-norm constraint: in place on the wasm heap, or two GPU programs.
//
// On wasm the passes are the native addon's when it is loaded, else the SIMD WebAssembly module's
// (./stepSimd.ts), else (a wasm build that exposes no memory) JS's masks and tfjs's own ops. Each
// gives exactly the numbers of the path it replaces: the same mask stream, each operation rounded
// to float in tfjs's order, the norms' sums as the Sum kernel adds them. On webgpu the masks are
// the same too; momentum and max-norm agree with tfjs's within float tolerance. Elsewhere (other
// backends, a tensor whose memory is shared) they leave the work to tfjs.
import * as tf from '@tensorflow/tfjs';
import { gpuDropoutMask, gpuMaxNorm, gpuMomentumStep } from '../gpuFused';
import { wasmKernelsBlas } from './index';
import { dropPackedCopies } from './matmul';
import { type StepKernels, simdKernels } from './stepSimd';
import { type BackendWasm, f32 } from './wasm';

const wasmBackend = (): BackendWasm | undefined => (tf.getBackend() === 'wasm' ? (tf.backend() as unknown as BackendWasm) : undefined);

/** The step passes on the wasm heap: the native addon's, else the SIMD module's. */
const stepKernels = (backend: BackendWasm): StepKernels | undefined => wasmKernelsBlas() ?? simdKernels(backend);

/**
 * A dropout keep-mask of n values: 1/(1 − rate) with probability 1 − rate, else 0, drawn from a
 * mulberry32 stream seeded with `seed` (reproducible, one pass, no allocation but the output).
 * The native addon's dropoutMask computes the same numbers.
 */
export function dropoutMask(n: number, rate: number, seed: number): Float32Array {
  return fillDropoutMask(new Float32Array(n), rate, seed);
}

/** dropoutMask() into `out` (any length): for a mask written into memory it did not allocate. */
export function fillDropoutMask(out: Float32Array, rate: number, seed: number): Float32Array {
  const scale = 1 / (1 - rate);
  // Kept ⇔ u / 2^32 ≥ rate ⇔ u ≥ rate·2^32 (both exact in a double); compared as int32 (u − 2^31
  // against ⌈rate·2^32⌉ − 2^31), which keeps the loop in integers: 3× faster than the division.
  const threshold = Math.ceil(rate * 4294967296) - 2147483648;
  let s = Math.floor(seed) % 4294967296 | 0;
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = (t ^ (t >>> 14) ^ -2147483648) >= threshold ? scale : 0;
  }
  return out;
}

/** A dropout keep-mask tensor of `shape`: dropoutMask()'s values, written into the tensor's memory on wasm, drawn on the GPU on webgpu. */
export function dropoutMaskTensor(shape: number[], rate: number, seed: number): tf.Tensor {
  const gpu = gpuDropoutMask(shape, rate, seed);
  if (gpu) return gpu;
  const backend = wasmBackend();
  if (!backend) return tf.tensor(dropoutMask(tf.util.sizeFromShape(shape), rate, seed), shape);
  const info = backend.makeOutput(shape, 'float32');
  const out = f32(backend, info);
  const kernels = stepKernels(backend);
  if (kernels) kernels.dropoutMask(out, rate, Math.floor(seed) % 4294967296);
  else fillDropoutMask(out, rate, seed);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/** The memory of `t` when `t` alone uses it: only then may it be written in place. */
function ownHeap(backend: BackendWasm, t: tf.Tensor): Float32Array | undefined {
  return t.dtype === 'float32' && backend.refCount(t.dataId) === 1 ? f32(backend, t) : undefined;
}

type NamedTensor = { name: string; tensor: tf.Tensor };

/**
 * One SGD-with-momentum step for one variable, done by a backend's own fused code; false when it
 * does not apply to these tensors (FusedMomentum then runs tfjs's ops).
 */
export type MomentumStep = (value: tf.Variable, accumulation: tf.Variable, gradient: tf.Tensor, lr: number, momentum: number, nesterov: boolean) => boolean;

/**
 * The momentum step on the wasm heap: one pass updating the variable and its accumulation in place,
 * with tfjs's rounding — for the Hinton teacher's 2.4 M weights about 3.6 → 1.7 ms a step with the
 * addon. Only where both own their wasm memory (reference count 1).
 */
export function wasmMomentumStep(kernels: StepKernels): MomentumStep {
  return (value, accumulation, gradient, lr, momentum, nesterov) =>
    // g is a tensor's view here (null only for a null gradient).
    updateInPlace(value, accumulation, gradient, (w, a, g) => kernels.momentum(w, a, g!, lr, momentum, nesterov));
}

/**
 * Runs `update` on the wasm heap views of a variable, its accumulation and its gradient (null
 * stays null: a scaled step with the gradient already added), where both variables own their
 * memory (reference count 1); false, and nothing run, otherwise.
 */
function updateInPlace(value: tf.Variable, accumulation: tf.Variable, gradient: tf.Tensor | null, update: (w: Float32Array, a: Float32Array, g: Float32Array | null, backend: BackendWasm) => void): boolean {
  const backend = wasmBackend();
  // Views taken after every allocation (an allocation may grow the heap and detach them).
  const w = backend && ownHeap(backend, value);
  const a = backend && ownHeap(backend, accumulation);
  const g = gradient === null ? null : backend && gradient.dtype === 'float32' ? f32(backend, gradient) : undefined;
  if (!(w && a) || g === undefined) return false;
  update(w, a, g, backend);
  dropPackedCopies(backend, value);
  return true;
}

/**
 * A momentum step followed by the variable's max-norm, done together (false where it does not
 * apply: FusedMomentum then steps and constrains separately).
 */
export type MomentumMaxNormStep = (...args: [...Parameters<MomentumStep>, norm: LeadingMaxNorm]) => boolean;

/**
 * The step and the max-norm in two passes over the kernel instead of three, on the wasm heap with
 * the native addon (its momentumMaxNorm: the norms summed as the update writes); undefined elsewhere.
 */
export function fusedMomentumMaxNormStep(): MomentumMaxNormStep | undefined {
  const blas = wasmBackend() && wasmKernelsBlas();
  if (!blas) return undefined;
  return (value, accumulation, gradient, lr, momentum, nesterov, norm) =>
    updateInPlace(value, accumulation, gradient, (w, a, g, backend) =>
      blas.momentumMaxNorm(w, a, g, lr, momentum, nesterov, norm.rows, norm.cols, norm.maxValue, backend.epsilon()));
}

/**
 * One momentum step where the accumulation holds m·a between steps (not Nesterov): a ← s + g,
 * w ← w − lr·a, and m·a stored; `gradient` null when the product already added the gradient into
 * the accumulation. With `norm`, the max-norm in the same call. False where it does not apply.
 */
export type ScaledMomentumStep = (value: tf.Variable, accumulation: tf.Variable, gradient: tf.Tensor | null, lr: number, momentum: number, norm?: LeadingMaxNorm) => boolean;

/**
 * The scaled momentum step on the wasm heap with the native addon; undefined elsewhere.
 * Why scaled: sgemm with beta 1 onto a stored m·a computes tfjs's m·a + g with the same roundings
 * (the product's sums are the same; one addition onto m·a), so a dense layer's backward pass can
 * add its kernel's gradient straight into the accumulation (gradientAccumulation()). That saves
 * OpenBLAS's zeroing pass over the gradient and the update's read of it: two of the five passes
 * over each kernel's memory in a step.
 */
export function scaledMomentumStep(): ScaledMomentumStep | undefined {
  const backend = wasmBackend();
  const blas = backend && wasmKernelsBlas();
  if (!blas) return undefined;
  return (value, accumulation, gradient, lr, momentum, norm) =>
    updateInPlace(value, accumulation, gradient, (w, a, g) =>
      norm
        ? blas.momentumMaxNorm(w, a, g, lr, momentum, false, norm.rows, norm.cols, norm.maxValue, backend.epsilon(), true)
        : blas.momentum(w, a, g, lr, momentum, false, true));
}

/**
 * Kernels whose gradient a dense layer's backward pass may add straight into their scaled
 * accumulation, by the kernel's data id (FusedMomentum keeps it current): the accumulation, and
 * zeros of the kernel's shape for the tape to carry in the gradient's place.
 */
const summedGradients = new Map<object, { accumulation: tf.Variable; zeros: tf.Tensor }>();

/**
 * Where `kernel`'s gradient may be added straight into its momentum accumulation: that
 * accumulation's heap view (m·a: sgemm with beta 1 makes it m·a + g), and the zeros to hand the
 * tape instead of the gradient; undefined where the gradient must be a tensor of its own.
 */
export function gradientAccumulation(kernel: tf.Tensor): { into: Float32Array; zeros: tf.Tensor } | undefined {
  const target = summedGradients.get(kernel.dataId);
  const backend = target && wasmBackend();
  const into = backend && ownHeap(backend, target.accumulation);
  return into ? { into, zeros: target.zeros } : undefined;
}

/** The active backend's fused momentum step: one pass on the wasm heap, two GPU programs on webgpu; undefined elsewhere. */
export function fusedMomentumStep(): MomentumStep | undefined {
  const backend = wasmBackend();
  const kernels = backend && stepKernels(backend);
  if (kernels) return wasmMomentumStep(kernels);
  return tf.getBackend() === 'webgpu' ? gpuMomentumStep : undefined;
}

/**
 * SGD with momentum as tfjs's MomentumOptimizer computes it (same update), each variable updated
 * by a backend's fused step (fusedMomentumStep()) instead of four to six tfjs kernels; where the
 * step does not apply, by tfjs's own ops.
 */
export class FusedMomentum extends tf.Optimizer {
  static readonly className = 'FusedMomentum';
  private readonly accumulations = new Map<string, tf.Variable>();
  /** With `scaledStep`: the accumulations hold m·a between steps (scaledMomentumStep()). */
  private readonly scaledStep?: ScaledMomentumStep;
  /** A kernel's zeros for the tape (gradientAccumulation()), and the data id it is registered under. */
  private readonly summed = new Map<string, { zeros: tf.Tensor; key: object }>();

  constructor(
    private readonly step: MomentumStep,
    public learningRate: number,
    private readonly momentum: number,
    private readonly nesterov = false,
    private readonly stepWithMaxNorm?: MomentumMaxNormStep,
    scaledStep?: ScaledMomentumStep,
  ) {
    super();
    this.scaledStep = nesterov ? undefined : scaledStep;
  }

  setLearningRate(lr: number): void {
    this.learningRate = lr;
  }

  /**
   * The update. `afterEach`, when given, runs on each variable as soon as it is updated; where
   * `maxNormOf` names a max-norm for the variable and the backend can, the step applies it too
   * (`constrained` true), else the caller's `afterEach` must.
   */
  applyGradients(
    grads: tf.NamedTensorMap | NamedTensor[],
    afterEach?: (value: tf.Variable, constrained: boolean) => void,
    maxNormOf?: (value: tf.Variable) => LeadingMaxNorm | undefined,
  ): void {
    const list: NamedTensor[] = Array.isArray(grads) ? grads : Object.entries(grads).map(([name, tensor]) => ({ name, tensor }));
    if (this.scaledStep) {
      this.applyScaled(this.scaledStep, list, afterEach, maxNormOf);
      this.incrementIterations();
      return;
    }
    for (const { name, tensor: gradient } of list) {
      const { value, acc } = this.variableAndAccumulation(name);
      const norm = maxNormOf?.(value);
      if (norm && this.stepWithMaxNorm?.(value, acc, gradient, this.learningRate, this.momentum, this.nesterov, norm)) {
        afterEach?.(value, true);
        continue;
      }
      if (!this.step(value, acc, gradient, this.learningRate, this.momentum, this.nesterov)) {
        // tfjs's own arithmetic (MomentumOptimizer.applyGradients).
        tf.tidy(() => {
          const m = tf.scalar(this.momentum);
          const c = tf.scalar(-this.learningRate);
          const next = tf.add(tf.mul(acc, m), gradient);
          acc.assign(next);
          value.assign(this.nesterov ? tf.add(tf.mul(c, tf.add(gradient, tf.mul(next, m))), value) : tf.add(tf.mul(c, next), value));
        });
      }
      afterEach?.(value, false);
    }
    this.incrementIterations();
  }

  /** The variable `name` and its accumulation (zeros, made at its first step). */
  private variableAndAccumulation(name: string): { value: tf.Variable; acc: tf.Variable } {
    const value = tf.engine().registeredVariables[name];
    if (value == null) throw new Error(`FusedMomentum: no variable ${name}`);
    let acc = this.accumulations.get(name);
    if (!acc) {
      acc = tf.tidy(() => tf.variable(tf.zerosLike(value), false));
      this.accumulations.set(name, acc);
    }
    return { value, acc };
  }

  /**
   * applyGradients() with scaled accumulations. A kernel (rank 2) gets zeros of its shape and is
   * registered for gradientAccumulation(): from its second step on, a dense layer's backward pass
   * adds the gradient into the accumulation and the tape carries those zeros. A gradient that is
   * those zeros is not read; one that is not (a first step, another layer, a second term such as
   * weight decay summed by the tape) is added as momentum() adds it.
   */
  private applyScaled(
    scaledStep: ScaledMomentumStep,
    list: NamedTensor[],
    afterEach?: (value: tf.Variable, constrained: boolean) => void,
    maxNormOf?: (value: tf.Variable) => LeadingMaxNorm | undefined,
  ): void {
    for (const { name, tensor: gradient } of list) {
      const { value, acc } = this.variableAndAccumulation(name);
      let summed = this.summed.get(name);
      if (!summed && value.rank === 2) {
        summed = { zeros: tf.tidy(() => tf.keep(tf.zerosLike(value))), key: value.dataId };
        this.summed.set(name, summed);
      }
      const norm = maxNormOf?.(value);
      const g = summed && gradient.dataId === summed.zeros.dataId ? null : gradient;
      const done = scaledStep(value, acc, g, this.learningRate, this.momentum, norm);
      if (!done) {
        // tfjs's ops on the scaled accumulation: a = s + g, w + (−lr)·a, m·a kept.
        tf.tidy(() => {
          const next = g ? tf.add(acc, g) : acc.clone();
          value.assign(tf.add(tf.mul(tf.scalar(-this.learningRate), next), value));
          acc.assign(tf.mul(next, tf.scalar(this.momentum)));
        });
      }
      if (summed) {
        // The kernel's data id changes when tfjs assigns it (the step above, or anything else).
        summedGradients.delete(summed.key);
        summed.key = value.dataId;
        summedGradients.set(summed.key, { accumulation: acc, zeros: summed.zeros });
      }
      afterEach?.(value, done && norm !== undefined);
    }
  }

  /** The accumulations as tfjs's MomentumOptimizer keeps them (a; scaled ones divided by m: the last bit may differ). */
  override async getWeights(): Promise<NamedTensor[]> {
    const m = this.momentum;
    return [
      await this.saveIterations(),
      ...[...this.accumulations].map(([name, acc]) => ({ name: `${name}/momentum`, tensor: this.scaledStep ? tf.div(acc, m) : acc })),
    ];
  }

  override async setWeights(weights: NamedTensor[]): Promise<void> {
    const rest = await this.extractIterations(weights);
    for (const { name, tensor } of rest) {
      const variable = name.replace(/\/momentum$/, '');
      this.accumulations.get(variable)?.dispose();
      this.accumulations.set(variable, tf.tidy(() => tf.variable(this.scaledStep ? tf.mul(tensor, this.momentum) : tensor, false)));
      this.forgetSummed(variable);
    }
  }

  /** Stops adding `name`'s gradient into an accumulation (its accumulation is being replaced or disposed). */
  private forgetSummed(name: string): void {
    const summed = this.summed.get(name);
    if (!summed) return;
    summedGradients.delete(summed.key);
    summed.zeros.dispose();
    this.summed.delete(name);
  }

  getConfig(): tf.serialization.ConfigDict {
    return { learningRate: this.learningRate, momentum: this.momentum, useNesterov: this.nesterov };
  }

  override dispose(): void {
    super.dispose();
    for (const name of [...this.summed.keys()]) this.forgetSummed(name);
    for (const a of this.accumulations.values()) a.dispose();
    this.accumulations.clear();
  }
}

/** A max-norm over a kernel's leading axes, as the kernel's rows × columns. */
export interface LeadingMaxNorm {
  maxValue: number;
  rows: number;
  cols: number;
}

/**
 * A tfjs-layers MaxNorm constraint over a kernel's leading axes (a dense kernel's inputs, a conv
 * kernel's window and input channels): what the fused max-norms compute; undefined for another
 * constraint or axis.
 */
export function leadingMaxNorm(v: tf.Tensor, constraint: ReturnType<typeof tf.constraints.maxNorm>): LeadingMaxNorm | undefined {
  if (constraint.getClassName() !== 'MaxNorm' || v.rank < 2) return undefined;
  const { maxValue, axis } = constraint.getConfig() as { maxValue: number; axis: number | number[] };
  const axes = tf.util.parseAxisParam(axis, v.shape).sort((a, b) => a - b);
  if (!(axes.length === v.rank - 1 && axes.every((a, i) => a === i))) return undefined;
  const cols = v.shape[v.rank - 1];
  return { maxValue, rows: v.size / cols, cols };
}

/**
 * Applies a tfjs-layers MaxNorm constraint over a kernel's leading axes to `v`: in place on the
 * wasm heap, as two GPU programs on webgpu. False when tfjs must (another constraint or
 * axis, another backend, a wasm build without the kernels, shared memory).
 */
export function fusedMaxNorm(v: tf.Variable, constraint: ReturnType<typeof tf.constraints.maxNorm>): boolean {
  const norm = leadingMaxNorm(v, constraint);
  return norm !== undefined && (maxNormInPlace(v, norm) || gpuMaxNorm(v, norm));
}

function maxNormInPlace(v: tf.Variable, norm: LeadingMaxNorm): boolean {
  const backend = wasmBackend();
  const kernels = backend && stepKernels(backend);
  const w = kernels && ownHeap(backend, v);
  if (!w) return false;
  kernels.maxNorm(w, norm.rows, norm.cols, norm.maxValue, backend.epsilon());
  dropPackedCopies(backend, v);
  return true;
}
