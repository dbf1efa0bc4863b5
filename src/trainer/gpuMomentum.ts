// SGD with momentum on the webgpu backend in two GPU programs per variable instead of tfjs's four
// kernels (docs/architecture.md §5.2). On a GPU the step is bound by what each kernel costs the
// JS thread to encode and dispatch (the GPU's own work for an MLP step is well under a
// millisecond), so fewer dispatches is what makes it faster: 12 fewer a Hinton teacher step.
//
//   accumulation' = accumulation · m + g
//   value'        = value − lr · accumulation'              (Nesterov: value − lr · (g + m · accumulation'))
//
// The same formulas as tfjs's MomentumOptimizer; a GPU compiler may fuse a multiply and an add, so
// the last bit can differ from tfjs's separate kernels (the webgpu tests compare with the cpu
// backend within float tolerance).
import * as tf from '@tensorflow/tfjs';
import { type WebGPUBackend, type WebGPUProgram, webgpu_util } from '@tensorflow/tfjs-backend-webgpu';

class ElementwiseProgram implements WebGPUProgram {
  readonly variableNames: string[];
  readonly outputShape: number[];
  readonly shaderKey: string;
  readonly dispatchLayout: { x: number[] };
  readonly dispatch: [number, number, number];
  readonly workgroupSize: [number, number, number] = [128, 1, 1];
  readonly size = true;
  readonly uniforms: string;

  /** `expression`: WGSL over the inputs `A`, `B`, `C` at `index` and the f32 uniforms named. */
  constructor(key: string, inputs: string[], uniformNames: string[], private readonly expression: string, shape: number[]) {
    this.variableNames = inputs;
    this.outputShape = shape;
    this.shaderKey = `distill_${key}`;
    this.uniforms = uniformNames.map((u) => `${u} : f32,`).join('');
    this.dispatchLayout = webgpu_util.flatDispatchLayout(shape);
    this.dispatch = webgpu_util.computeDispatch(this.dispatchLayout, shape, this.workgroupSize);
  }

  getUserCode(): string {
    return `
      fn main(index : i32) {
        if (index < uniforms.size) {
          setOutputAtIndex(index, ${this.expression});
        }
      }`;
  }
}

/**
 * One momentum step for `value` on the webgpu backend, the new tensors assigned to the variables.
 * False when it does not apply (another backend, another dtype): the caller then runs tfjs's ops.
 */
export function gpuMomentumStep(value: tf.Variable, accumulation: tf.Variable, gradient: tf.Tensor, lr: number, momentum: number, nesterov: boolean): boolean {
  if (tf.getBackend() !== 'webgpu' || [value, accumulation, gradient].some((t) => t.dtype !== 'float32')) return false;
  const backend = tf.backend() as unknown as WebGPUBackend;
  const run = (program: ElementwiseProgram, inputs: tf.Tensor[], uniforms: number[]) =>
    tf.engine().makeTensorFromTensorInfo(backend.runWebGPUProgram(program, inputs, 'float32', uniforms.map((u) => ({ type: 'float32', data: [u] }))));
  const shape = value.shape;
  const next = run(new ElementwiseProgram('momentum_acc', ['A', 'B'], ['m'], 'A[index] * uniforms.m + B[index]', shape), [accumulation, gradient], [momentum]);
  const updated = nesterov
    ? run(new ElementwiseProgram('momentum_nesterov', ['A', 'B', 'C'], ['c', 'm'], 'uniforms.c * (C[index] + B[index] * uniforms.m) + A[index]', shape), [value, next, gradient], [-lr, momentum])
    : run(new ElementwiseProgram('momentum_value', ['A', 'B'], ['c'], 'uniforms.c * B[index] + A[index]', shape), [value, next], [-lr]);
  accumulation.assign(next);
  value.assign(updated);
  tf.dispose([next, updated]);
  return true;
}
