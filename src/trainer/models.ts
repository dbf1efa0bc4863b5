// Networks with named taps: one tfjs functional model whose outputs are every named layer
// (conv1, pool1, fc1, …, logits), so a single forward pass yields all the activations the feature
// losses, probes and CKA need. The names and shapes are exactly those `describeModel` (core)
// promises the editor and the validator; `buildModel` checks that before returning.
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '../core/config/schema';
import { describeModel, type LayerInfo, type LayerKind } from '../core/models';
import { dropoutMaskTensor, fusedMaxNorm } from './kernels/fused';
import { denseRelu, dropout } from './kernels/layers';

export { dropoutMask } from './kernels/fused';

export interface TapInfo {
  name: string;
  kind: LayerKind | 'other';
  /** Output shape without the batch dimension. */
  shape: number[];
}

export interface TappedModel {
  /** Multi-output model: `model.outputs[i]` is the tap `taps[i].name`; the last tap is `logits`. */
  readonly model: tf.LayersModel;
  /**
   * Single-output model (logits) over the same layers and weights: use it for `predict`, for
   * latency measurement and for saving (a plain classifier any tfjs user can load).
   */
  readonly logitsModel: tf.LayersModel;
  /** The taps in output order. */
  readonly taps: TapInfo[];
  /** Tap name → output shape without the batch dimension. */
  readonly tapShapes: Map<string, number[]>;
  /** Input shape without the batch dimension. */
  readonly inputShape: number[];
  readonly numClasses: number;
  /** Parameter count (trainable and not). */
  readonly paramCount: number;
  /** Forward-pass FLOPs for one example (2 × multiply-adds of dense and conv layers, + pooling). */
  readonly flops: number;
  /** One forward pass; every tap by name. `training` switches dropout on. Caller disposes (see tidyTaps). */
  forward(x: tf.Tensor, training: boolean): Map<string, tf.Tensor>;
  /** Logits only (inference mode unless `training`). */
  logits(x: tf.Tensor, training?: boolean): tf.Tensor2D;
  /** Logits in inference mode (dropout off): `logits(x, false)`. */
  predict(x: tf.Tensor): tf.Tensor2D;
  /**
   * The tf.Variables the optimiser updates (kernels and biases of every trainable layer), read
   * afresh on each access; empty when `model.trainable` is false.
   */
  readonly trainableVariables: tf.Variable[];
  /** Frees the weights (shared by `model` and `logitsModel`). */
  dispose(): void;
}

// Max-norm over each filter's incoming weights [kh, kw, cin]; tfjs's types say number, its code takes a list.
const CONV_AXES = [0, 1, 2] as unknown as number;

// Deterministic, distinct initialiser seeds per layer.
const layerSeed = (seed: number, index: number) => (seed % 1_000_000) * 1000 + index + 1;

function kernelInit(activation: string, seed: number): ReturnType<typeof tf.initializers.glorotUniform> {
  return activation === 'relu' || activation === 'elu' ? tf.initializers.heNormal({ seed }) : tf.initializers.glorotUniform({ seed });
}

/**
 * Builds `spec` for inputs of `inputShape` (without the batch dimension). Layer names follow
 * describeModel: conv<i> (conv + activation), pool<i>, fc<i> (dense + activation), logits (linear).
 * Helper layers are named input, flatten, input_dropout, fc<i>_dropout. Initialisation is
 * deterministic in `seed` (He-normal for relu/elu, Glorot-uniform otherwise and for logits), and so
 * are the dropout masks: the i-th training-mode forward pass of two models built with the same seed
 * draws the same masks.
 *
 * maxNorm: a max-norm constraint (each unit's incoming weight vector has L2 norm ≤ maxNorm) on every
 * dense kernel (axis 0) and every conv kernel (axes 0,1,2). tfjs only enforces constraints inside
 * `fit`; the training loop applies them after each optimiser step (applyStep() in ./optim.ts).
 */
export function buildModel(spec: ModelSpec, inputShape: number[], numClasses: number, seed: number): TappedModel {
  const summary = describeModel(spec, inputShape, numClasses);
  const activation = spec.activation ?? 'relu';
  const dropout = spec.dropout ?? 0;
  const maxNorm = spec.maxNorm;
  let seedIndex = 0;
  const nextSeed = () => layerSeed(seed, seedIndex++);

  const input = tf.input({ shape: inputShape, name: 'input' });
  const tapOutputs: tf.SymbolicTensor[] = [];
  let h: tf.SymbolicTensor = input;

  if (spec.type === 'cnn') {
    if (inputShape.length !== 3) throw new Error(`a CNN needs image inputs [height, width, channels], got [${inputShape.join(', ')}]`);
    spec.conv.forEach((block, i) => {
      const conv = tf.layers.conv2d({
        name: `conv${i + 1}`,
        filters: block.filters,
        kernelSize: block.kernel ?? 3,
        strides: block.stride ?? 1,
        padding: 'same',
        activation,
        kernelInitializer: kernelInit(activation, nextSeed()),
        biasInitializer: 'zeros',
        kernelConstraint: maxNorm !== undefined ? tf.constraints.maxNorm({ maxValue: maxNorm, axis: CONV_AXES }) : undefined,
      });
      h = conv.apply(h) as tf.SymbolicTensor;
      tapOutputs.push(h);
      const pool = block.pool ?? 2;
      if (pool > 1) {
        h = tf.layers.maxPooling2d({ name: `pool${i + 1}`, poolSize: pool, strides: pool, padding: 'valid' }).apply(h) as tf.SymbolicTensor;
        tapOutputs.push(h);
      }
    });
  }
  if (h.shape.length > 2) h = tf.layers.flatten({ name: 'flatten' }).apply(h) as tf.SymbolicTensor;
  const inputDropout = spec.type === 'mlp' ? spec.inputDropout ?? 0 : 0;
  if (inputDropout > 0) h = tf.layers.dropout({ name: 'input_dropout', rate: inputDropout }).apply(h) as tf.SymbolicTensor;

  const denseConstraint = () => (maxNorm !== undefined ? tf.constraints.maxNorm({ maxValue: maxNorm, axis: 0 }) : undefined);
  (spec.hidden ?? []).forEach((units, i) => {
    h = tf.layers
      .dense({
        name: `fc${i + 1}`,
        units,
        activation,
        kernelInitializer: kernelInit(activation, nextSeed()),
        biasInitializer: 'zeros',
        kernelConstraint: denseConstraint(),
      })
      .apply(h) as tf.SymbolicTensor;
    tapOutputs.push(h);
    if (dropout > 0) h = tf.layers.dropout({ name: `fc${i + 1}_dropout`, rate: dropout }).apply(h) as tf.SymbolicTensor;
  });
  const logits = tf.layers
    .dense({
      name: 'logits',
      units: numClasses,
      activation: 'linear',
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
      biasInitializer: 'zeros',
      kernelConstraint: denseConstraint(),
    })
    .apply(h) as tf.SymbolicTensor;
  tapOutputs.push(logits);

  const model = tf.model({ inputs: input, outputs: tapOutputs, name: `${spec.type}` });
  const taps: TapInfo[] = tapOutputs.map((t) => ({ name: t.sourceLayer.name, kind: 'other', shape: t.shape.slice(1) as number[] }));
  assertMatchesSummary(taps, summary.layers);
  summary.layers.forEach((l, i) => (taps[i].kind = l.kind));
  const logitsModel = tf.model({ inputs: input, outputs: logits, name: `${spec.type}_logits` });
  return makeTapped(model, logitsModel, taps, seed, { params: summary.params, flops: summary.flops });
}

function assertMatchesSummary(taps: TapInfo[], layers: LayerInfo[]): void {
  const fmt = (xs: { name: string; shape: number[] }[]) => xs.map((l) => `${l.name}[${l.shape.join('×')}]`).join(', ');
  const same =
    taps.length === layers.length &&
    taps.every((t, i) => t.name === layers[i].name && t.shape.length === layers[i].shape.length && t.shape.every((d, j) => d === layers[i].shape[j]));
  if (!same) throw new Error(`built model does not match describeModel: built ${fmt(taps)}; described ${fmt(layers)}`);
}

interface SeededDropout {
  seed?: number;
  rate: number;
  noiseShape?: number[];
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[];
}

/**
 * Makes a tfjs Dropout layer draw its training-mode mask with dropoutMask() (kernels/fused.ts) from its `seed`.
 * Why: tfjs draws the mask with tf.randomUniform — one seedrandom call per element in JS — and
 * then runs three more ops to turn it into a mask; in the Hinton teacher (dropout on 784 + 2×1200
 * units) that was ~7 % of a training step. Same semantics as tfjs's (keep with probability
 * 1 − rate, scale kept values), another random stream. The layer stays a plain tfjs Dropout
 * (class and config), so a saved model loads anywhere; inference is tfjs's own (identity).
 */
function useFastMask(layer: SeededDropout): void {
  const tfjsCall = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const rate = layer.rate;
    if (!kwargs?.training || !(rate > 0 && rate < 1) || layer.noiseShape != null) return tfjsCall(inputs, kwargs);
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const seed = layer.seed ?? 0;
    // One kernel where the addon is loaded (kernels/layers.ts), else the mask times x.
    return dropout(x, rate, seed) ?? tf.tidy(() => tf.mul(x, dropoutMaskTensor(x.shape, rate, seed)));
  };
}

interface DenseInternals {
  kernel: { read(): tf.Tensor } | null;
  bias: { read(): tf.Tensor } | null;
  useBias: boolean;
  activation: { getClassName(): string };
  call(inputs: tf.Tensor | tf.Tensor[], kwargs: { training?: boolean }): tf.Tensor | tf.Tensor[];
}

/**
 * Makes a Dense layer with ReLU run its training-mode pass as one kernel with its own gradient
 * where the native addon is loaded (denseRelu in kernels/layers.ts): the same numbers as tfjs's
 * BatchMatMul, Add and Relu, a third of the kernels and tape entries. Inference is tfjs's own.
 */
function useFusedDense(layer: DenseInternals): void {
  const tfjsCall = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = Array.isArray(inputs) ? inputs[0] : inputs;
    const fused = kwargs?.training && layer.kernel ? denseRelu(x, layer.kernel.read(), layer.useBias && layer.bias ? layer.bias.read() : undefined) : undefined;
    return fused ?? tfjsCall(inputs, kwargs);
  };
}

/**
 * A TappedModel over `model` (outputs = `taps` in order, the last `logits`) and `logitsModel`.
 * Views built over the same layers (self-distillation's exits) with the same `seed` draw the same
 * dropout masks on their n-th training pass, as one network would.
 */
export function makeTapped(model: tf.LayersModel, logitsModel: tf.LayersModel, taps: TapInfo[], seed: number, cost: { params: number; flops: number }): TappedModel {
  const dropouts = model.layers.filter((l) => l.getClassName() === 'Dropout') as unknown as SeededDropout[];
  dropouts.forEach(useFastMask);
  const denseRelus = model.layers.filter((l) => l.getClassName() === 'Dense' && (l as unknown as DenseInternals).activation.getClassName() === 'relu');
  (denseRelus as unknown as DenseInternals[]).forEach(useFusedDense);
  let trainingCalls = 0;
  // Each Dropout draws its mask from its `seed` (useFastMask). Setting a fresh seed per call
  // makes the masks reproducible and still different from step to step.
  const reseedDropout = () => {
    trainingCalls++;
    dropouts.forEach((d, i) => (d.seed = (seed % 1_000_000) * 7919 + trainingCalls * 131 + i + 1));
  };
  const logitsOf = (x: tf.Tensor, training: boolean) => {
    if (training) reseedDropout();
    return logitsModel.apply(x, { training }) as tf.Tensor2D;
  };
  return {
    model,
    logitsModel,
    taps,
    tapShapes: new Map(taps.map((t) => [t.name, t.shape])),
    inputShape: model.inputs[0].shape.slice(1) as number[],
    numClasses: taps[taps.length - 1].shape[0],
    paramCount: cost.params,
    flops: cost.flops,
    forward(x, training) {
      if (training) reseedDropout();
      const out = model.apply(x, { training });
      const list = Array.isArray(out) ? (out as tf.Tensor[]) : [out as tf.Tensor];
      const map = new Map<string, tf.Tensor>();
      taps.forEach((t, i) => map.set(t.name, list[i]));
      return map;
    },
    logits: (x, training = false) => logitsOf(x, training),
    predict: (x) => logitsOf(x, false),
    get trainableVariables() {
      return model.trainableWeights.map((w) => w.read() as tf.Variable);
    },
    dispose() {
      model.dispose();
    },
  };
}

/**
 * tf.tidy for a function returning taps: tidy keeps only tensors inside arrays/plain objects, never
 * inside a Map, so `tf.tidy(() => m.forward(x, false))` would not even type-check (and at run time
 * would dispose every tap). Use `tidyTaps(() => m.forward(x, false))`: intermediates are freed, the
 * taps are returned alive (the caller disposes them, e.g. `tf.dispose([...taps.values()])`).
 */
export function tidyTaps(f: () => Map<string, tf.Tensor>): Map<string, tf.Tensor> {
  let keys: string[] = [];
  const values = tf.tidy(() => {
    const m = f();
    keys = [...m.keys()];
    return [...m.values()];
  });
  return new Map(keys.map((k, i) => [k, values[i]]));
}

type Constraint = ReturnType<typeof tf.constraints.maxNorm>;

/** The layers' kernel/bias constraints (e.g. max-norm), by the name of the variable each constrains. */
export function weightConstraints(net: tf.LayersModel | TappedModel): Map<string, { variable: tf.Variable; constraint: Constraint }> {
  const model = net instanceof tf.LayersModel ? net : net.model;
  const out = new Map<string, { variable: tf.Variable; constraint: Constraint }>();
  for (const w of model.trainableWeights) {
    if (w.constraint == null) continue;
    const variable = w.read() as tf.Variable;
    out.set(variable.name, { variable, constraint: w.constraint });
  }
  return out;
}

/** Enforces `constraint` on the current weights of `v`: in place where a fused max-norm applies. */
export function constrainWeights(v: tf.Variable, constraint: Constraint): void {
  tf.tidy(() => {
    if (!fusedMaxNorm(v, constraint)) v.assign(constraint.apply(v));
  });
}

// Layers whose output is the same data as their input (at inference) are not taps.
const NOT_TAPS = new Set(['InputLayer', 'Dropout', 'Flatten', 'Reshape']);

/**
 * Wraps a loaded tfjs LayersModel (a teacher from a file or an earlier run) as a TappedModel: taps
 * are the outputs of every layer by its layer name (except input, dropout, flatten and reshape
 * layers) and `logits` is the model's output. A model whose output is a probability distribution
 * is turned back into logits: a final Dense with softmax activation is rebuilt with a linear
 * activation (same weights); a final Softmax/Activation('softmax') layer is skipped. Any other final
 * softmax raises an error. A multi-output model must have a layer named `logits`.
 */
export function wrapLoadedModel(model: tf.LayersModel): TappedModel {
  if (model.inputs.length !== 1) throw new Error(`a teacher model must have one input, this one has ${model.inputs.length}`);
  let out: tf.SymbolicTensor;
  if (model.outputs.length === 1) out = model.outputs[0];
  else {
    const named = model.layers.find((l) => l.name === 'logits');
    if (!named) throw new Error(`a model with ${model.outputs.length} outputs needs a layer named "logits" to use as its output`);
    out = named.output as tf.SymbolicTensor;
  }
  let last = out.sourceLayer as tf.layers.Layer;
  const cls = last.getClassName();
  const config = last.getConfig();
  let dropped: tf.layers.Layer | undefined;
  if (cls === 'Softmax' || (cls === 'Activation' && config.activation === 'softmax')) {
    dropped = last;
    out = last.input as tf.SymbolicTensor;
    last = out.sourceLayer as tf.layers.Layer;
  } else if (config.activation === 'softmax') {
    if (cls !== 'Dense') throw new Error(`the model ends in a ${cls} layer with softmax activation; only a final Dense softmax can be turned back into logits`);
    const { batchInputShape: _b, inputShape: _i, ...rest } = config as Record<string, unknown>;
    // Serialized initialiser/constraint dicts in `rest` are accepted by the Dense constructor.
    const linear = tf.layers.dense({ ...rest, activation: 'linear', name: last.name } as unknown as Parameters<typeof tf.layers.dense>[0]);
    const rebuilt = linear.apply(last.input as tf.SymbolicTensor) as tf.SymbolicTensor;
    linear.setWeights(last.getWeights());
    dropped = last;
    last = linear;
    out = rebuilt;
  }
  const logitsModel = tf.model({ inputs: model.inputs, outputs: out });
  const tapLayers = logitsModel.layers.filter((l) => !NOT_TAPS.has(l.getClassName()) && l !== dropped && l !== last);
  const outputs: tf.SymbolicTensor[] = [];
  const taps: TapInfo[] = [];
  for (const l of tapLayers) {
    if (l.inboundNodes.length !== 1) continue; // shared layers have no single output
    const o = l.output as tf.SymbolicTensor;
    if (Array.isArray(o)) continue;
    outputs.push(o);
    taps.push({ name: l.name, kind: tapKind(l), shape: o.shape.slice(1) as number[] });
  }
  outputs.push(out);
  taps.push({ name: 'logits', kind: 'logits', shape: out.shape.slice(1) as number[] });
  const tapped = tf.model({ inputs: model.inputs, outputs });
  return makeTapped(tapped, logitsModel, taps, 0, { params: logitsModel.countParams(), flops: modelFlops(logitsModel) });
}

/** One example's forward FLOPs of a tfjs model's layers, counted as describeModel counts them. */
export const modelFlops = (model: tf.LayersModel): number => model.layers.reduce((a, l) => a + layerFlops(l), 0);

/** One example's forward FLOPs of a loaded layer, counted as describeModel counts them. */
function layerFlops(l: tf.layers.Layer): number {
  const shapeOf = (s: unknown) => (Array.isArray(s) && Array.isArray(s[0]) ? (s[0] as number[]) : (s as number[]));
  // batch dimension dropped
  const size = (s: (number | null)[]) => s.slice(1).reduce<number>((a, b) => a * (b ?? 1), 1);
  const cls = l.getClassName();
  try {
    const input = l.input;
    const inShape = (Array.isArray(input) ? input[0] : input).shape;
    const outShape = shapeOf(l.outputShape);
    if (cls === 'Dense') return 2 * (inShape[inShape.length - 1] ?? 0) * size(outShape);
    if (cls === 'Conv2D' || cls === 'Conv1D') {
      const kernel = l.getWeights()[0];
      // kernel [.., cin, cout]: every output cell costs kernel.size / cout multiply-adds
      const perOutput = kernel.size / kernel.shape[kernel.shape.length - 1];
      return 2 * perOutput * size(outShape);
    }
    if (cls.includes('Pooling')) return size(inShape);
  } catch {
    /* layers with several inputs/outputs: not counted */
  }
  return 0;
}

function tapKind(l: tf.layers.Layer): TapInfo['kind'] {
  const c = l.getClassName();
  if (c === 'Dense') return 'dense';
  if (c.startsWith('Conv')) return 'conv';
  if (c.includes('Pooling')) return 'pool';
  return 'other';
}
