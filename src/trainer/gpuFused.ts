// Parts of a training step that tfjs runs as several kernels, as fewer GPU programs on the webgpu
// backend (docs/architecture.md §5.2). On a GPU an MLP's step is bound by what each kernel costs
// the JS thread to encode and dispatch (the GPU's own work is well under a millisecond), so fewer
// dispatches is what makes it faster — 27 fewer a Hinton teacher step:
//
//   gpuMomentumStep   SGD with momentum: two programs per variable instead of four kernels,
//                       accumulation' = accumulation · m + g
//                       value'        = value − lr · accumulation'   (Nesterov: − lr · (g + m · accumulation'))
//   gpuMaxNorm        a max-norm constraint: two programs per kernel (each column's sum of squares;
//                     the scaling) instead of seven kernels.
//   gpuDropoutMask    a dropout mask drawn on the GPU — the same numbers as dropoutMask() on the
//                     CPU (mulberry32 is a hash of a counter: each element is computed alone) —
//                     instead of drawn in JS and uploaded (0.4 M values a Hinton teacher step).
//
// The formulas are tfjs's. A GPU compiler may fuse a multiply and an add, and the column sums add
// in row order, so the last bits can differ from tfjs's kernels: the webgpu tests compare them
// with the formulas and a training stage with the cpu backend's, within float tolerance.
import * as tf from '@tensorflow/tfjs';
import { type WebGPUBackend, type WebGPUProgram, webgpu_util } from '@tensorflow/tfjs-backend-webgpu';
import type { LeadingMaxNorm } from './kernels/fused';

type Uniform = { name: string; type: 'f32' | 'i32' | 'u32'; value: number };

/** One thread per output element over flat indices; `body` sets the output at `index` from the inputs A, B, C… and `uniforms.<name>`. */
class FlatProgram implements WebGPUProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly size = true;
  readonly uniforms: string;

  constructor(key: string, inputs: string[], uniforms: Uniform[], private readonly body: string, shape: number[]) {
    this.variableNames = inputs;
    this.outputShape = shape;
    this.shaderKey = `distill_${key}`;
    this.uniforms = uniforms.map((u) => `${u.name} : ${u.type},`).join('');
    this.dispatchLayout = webgpu_util.flatDispatchLayout(shape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          ${this.body}
        }
      }`;
  }
}

const UNIFORM_TYPES = { f32: 'float32', i32: 'int32', u32: 'uint32' } as const;

function run(key: string, inputs: tf.Tensor[], uniforms: Uniform[], body: string, shape: number[]): tf.Tensor {
  const backend = tf.backend() as unknown as WebGPUBackend;
  const program = new FlatProgram(key, inputs.map((_, i) => 'ABCD'[i]), uniforms, body, shape);
  const values = uniforms.map((u) => ({ type: UNIFORM_TYPES[u.type], data: [u.value] }));
  return tf.engine().makeTensorFromTensorInfo(backend.runWebGPUProgram(program, inputs, 'float32', values));
}

const onGpu = (...ts: tf.Tensor[]) => tf.getBackend() === 'webgpu' && ts.every((t) => t.dtype === 'float32');

/** One momentum step for `value` on the webgpu backend; false elsewhere (the caller runs tfjs's ops). */
export function gpuMomentumStep(value: tf.Variable, accumulation: tf.Variable, gradient: tf.Tensor, lr: number, momentum: number, nesterov: boolean): boolean {
  if (!onGpu(value, accumulation, gradient)) return false;
  const m = { name: 'm', type: 'f32', value: momentum } as const;
  const c = { name: 'c', type: 'f32', value: -lr } as const;
  const next = run('momentum_acc', [accumulation, gradient], [m], 'setOutputAtIndex(index, A[index] * uniforms.m + B[index]);', value.shape);
  const updated = nesterov
    ? run('momentum_nesterov', [value, next, gradient], [c, m], 'setOutputAtIndex(index, uniforms.c * (C[index] + B[index] * uniforms.m) + A[index]);', value.shape)
    : run('momentum_value', [value, next], [c], 'setOutputAtIndex(index, uniforms.c * B[index] + A[index]);', value.shape);
  accumulation.assign(next);
  value.assign(updated);
  tf.dispose([next, updated]);
  return true;
}

/**
 * tfjs-layers' MaxNorm over a kernel's leading axes on the webgpu backend:
 * w · clip(n, 0, max) / (ε + n), n each column's L2 norm. False off the webgpu backend.
 */
export function gpuMaxNorm(v: tf.Variable, norm: LeadingMaxNorm): boolean {
  if (!onGpu(v)) return false;
  const rows = { name: 'rows', type: 'i32', value: norm.rows } as const;
  const cols = { name: 'cols', type: 'i32', value: norm.cols } as const;
  const squares = run('column_squares', [v], [rows, cols], `
          var s = 0.0;
          for (var r = 0; r < uniforms.rows; r++) {
            let x = A[r * uniforms.cols + index];
            s = s + x * x;
          }
          setOutputAtIndex(index, s);`, [norm.cols]);
  const scaled = run('max_norm', [v, squares], [cols, { name: 'hi', type: 'f32', value: norm.maxValue }, { name: 'eps', type: 'f32', value: tf.backend().epsilon() }], `
          let n = sqrt(B[index % uniforms.cols]);
          setOutputAtIndex(index, A[index] * (min(max(n, 0.0), uniforms.hi) / (uniforms.eps + n)));`, v.shape);
  v.assign(scaled);
  tf.dispose([squares, scaled]);
  return true;
}

/**
 * dropoutMask(n, rate, seed)'s values (kernels/fused.ts) as a GPU tensor of `shape`: element i is
 * mulberry32's output for the counter seed + (i + 1)·0x6d2b79f5, kept (1/(1 − rate)) when it is at
 * least ⌈rate·2³²⌉, else 0. Undefined off the webgpu backend.
 */
export function gpuDropoutMask(shape: number[], rate: number, seed: number): tf.Tensor | undefined {
  if (tf.getBackend() !== 'webgpu') return undefined;
  const threshold = Math.ceil(rate * 4294967296);
  if (threshold > 4294967295) return tf.zeros(shape); // nothing is kept (rate within 2⁻³² of 1)
  const uniforms: Uniform[] = [
    { name: 'seed', type: 'u32', value: Math.floor(seed) % 4294967296 >>> 0 },
    { name: 'threshold', type: 'u32', value: threshold },
    { name: 'scale', type: 'f32', value: 1 / (1 - rate) },
  ];
  return run('dropout_mask', [], uniforms, `
          let s = uniforms.seed + (u32(index) + 1u) * 0x6d2b79f5u;
          var t = (s ^ (s >> 15u)) * (1u | s);
          t = (t + ((t ^ (t >> 7u)) * (61u | t))) ^ t;
          let u = t ^ (t >> 14u);
          setOutputAtIndex(index, select(0.0, uniforms.scale, u >= uniforms.threshold));`, shape);
}
