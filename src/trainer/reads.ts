// Reading tensor values back to JavaScript on every backend. The webgpu backend cannot read
// synchronously in Node (its dataSync() draws through an OffscreenCanvas, which Node lacks), and
// every read there waits for the GPU's queue to drain: so values are read with one `await data()`
// for all the tensors a step needs. Backends that read synchronously (wasm, cpu, tensorflow) keep
// reading each tensor with dataSync(), exactly as before.
import * as tf from '@tensorflow/tfjs';

/** Whether the active backend must be read asynchronously. */
function asyncOnly(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** Each tensor's values (float32, row-major), in the order given; the tensors are not disposed. */
export async function readAll(tensors: tf.Tensor[]): Promise<Float32Array[]> {
  const asFloat = (v: tf.TypedArray | string[]) => (v instanceof Float32Array ? v : Float32Array.from(v as ArrayLike<number>));
  if (!asyncOnly()) return tensors.map((t) => asFloat(t.dataSync()));
  if (tensors.length === 1) return [asFloat(await tensors[0].data())];
  const flat = tf.tidy(() => tf.concat(tensors.map((t) => tf.reshape(t.dtype === 'float32' ? t : tf.cast(t, 'float32'), [-1]))));
  let all: Float32Array;
  try {
    all = asFloat(await flat.data());
  } finally {
    flat.dispose();
  }
  let offset = 0;
  return tensors.map((t) => all.subarray(offset, (offset += t.size)));
}

/** The first value of each tensor (scalars: losses), read together. */
export async function readScalars(tensors: tf.Tensor[]): Promise<number[]> {
  return (await readAll(tensors)).map((v) => v[0]);
}
