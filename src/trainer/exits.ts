// Self-distillation's early exits (Zhang et al. 2019, Be Your Own Teacher; reference
// luanyunteng/pytorch-be-your-own-teacher models/resnet.py): a head on a shallow layer of the
// network that maps it to the size of the network's deepest features, then classifies them.
//
// BYOT's head is a bottleneck — 1×1 conv to C/4 channels, a k×k conv of stride k that brings the
// map down to the last stage's spatial size, 1×1 conv to the C channels of the deepest features
// (each with BatchNorm and ReLU) — then global average pooling to the C-vector the final
// classifier reads, and a linear classifier: the exit is brought to the last stage's shape and then
// classified the way the network classifies that stage. Ours, for the small CNNs and MLPs of
// models.ts, does the same:
//  - conv/pool layer: BYOT's bottleneck to the shape of the network's last conv map [H, W, C]
//    (1×1 conv to C/4, k×k stride k to H×W, 1×1 conv to C), then what the network does after that
//    map: flatten and a dense ReLU layer of the deepest features' width D (the network's last hidden
//    layer) when it has hidden layers — those are the exit's features — else the map is the
//    features; then a dense layer to the logits. (Global average pooling, BYOT's, is what a ResNet
//    does after its last map; ours flattens, and GAP heads here barely learned: 87 % errors after
//    2 epochs where the network had 25 %.)
//  - dense layer → one dense ReLU layer of D units, then the logits.
// No BatchNorm: the networks here have none (the backbone would not match its own head's scale).
//
// Each exit is a TappedModel view over the backbone's own layers plus its head: its taps are the
// backbone's up to the exit layer, then `features` (the head's output, what the feature hint
// compares with the deepest features) and `logits`. It computes only that prefix of the network,
// so its params, FLOPs, latency and saved model are those of the sub-network a deployer would run.
import * as tf from '@tensorflow/tfjs';
import { makeTapped, modelFlops, type TapInfo, type TappedModel } from './models';

/** The tap name of an exit's head output (compared with the deepest features by the hint). */
export const EXIT_FEATURES = 'features';

export interface Exit {
  /** The backbone layer the exit branches from. */
  layer: string;
  /** Backbone prefix + head, sharing the backbone's variables. */
  net: TappedModel;
}

/** The tap the network's logits read: its deepest features (the last hidden layer, or the last conv map). */
export function deepestFeatures(net: TappedModel): TapInfo {
  if (net.taps.length < 2) throw new Error('the network has no layer before its logits to exit from');
  return net.taps[net.taps.length - 2];
}

/**
 * The kernel = stride k bringing a map of size `from` down to `to`: BYOT's exact k = from/to
 * ('valid'), else the smallest k that covers the map with padding ('same': ceil(from/k) = to), else
 * the largest that drops a border ('valid': floor(from/k) = to).
 */
function strideTo(from: number, to: number): { k: number; padding: 'valid' | 'same' } {
  if (from % to === 0) return { k: from / to, padding: 'valid' };
  const up = Math.ceil(from / to);
  if (Math.ceil(from / up) === to) return { k: up, padding: 'same' };
  const down = Math.floor(from / to);
  if (down >= 1 && Math.floor(from / down) === to) return { k: down, padding: 'valid' };
  throw new Error(`no stride brings a map of size ${from} to ${to}`);
}

interface HeadPlan {
  features: tf.layers.Layer[];
  classifier: tf.layers.Layer[];
}

function headLayers(layer: string, from: number[], target: number[], lastMap: number[] | undefined, numClasses: number, seed: number): HeadPlan {
  let s = 0;
  const he = () => tf.initializers.heNormal({ seed: seed + s++ });
  const name = (part: string) => `exit_${layer}_${part}`;
  const logits = tf.layers.dense({ name: name('logits'), units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 99 }) });
  const hidden = () => tf.layers.dense({ name: name('fc'), units: target[0], activation: 'relu', kernelInitializer: he() });
  if (from.length === 1) {
    if (target.length !== 1) throw new Error(`exit ${layer}: a dense layer cannot exit to the deepest features' map [${target.join('×')}]`);
    return { features: [hidden()], classifier: [logits] };
  }
  const [h, w] = from;
  const [toH, toW, channels] = lastMap!;
  const middle = Math.max(1, Math.round(channels / 4));
  const sh = strideTo(h, toH);
  const sw = strideTo(w, toW);
  if (sh.padding !== sw.padding) throw new Error(`exit ${layer}: no one stride brings its ${h}×${w} map to ${toH}×${toW}`);
  const conv = (part: string, filters: number, kernel: number[], padding: 'valid' | 'same' = 'valid') =>
    tf.layers.conv2d({ name: name(part), filters, kernelSize: kernel, strides: kernel, padding, activation: 'relu', kernelInitializer: he() });
  const bottleneck = [conv('reduce', middle, [1, 1]), conv('stride', middle, [sh.k, sw.k], sh.padding), conv('expand', channels, [1, 1])];
  // The network's deepest features are its last conv map: the bottleneck's output is the exit's.
  if (target.length === 3) return { features: bottleneck, classifier: [tf.layers.flatten({ name: name('flatten') }), logits] };
  // Else the network's own classifier after that map: flatten, a dense layer of the deepest features' width.
  return { features: [...bottleneck, tf.layers.flatten({ name: name('flatten') }), hidden()], classifier: [logits] };
}

/**
 * An exit on each of `layers` (shallowest first) of `backbone`, built from `seed`. `dropoutSeed` must
 * be the seed the backbone was built with, so that in a training step every exit sees the backbone
 * prefix under the same dropout masks as the deepest exit (BYOT's single forward pass). The exits
 * share the backbone's variables; `dispose` frees only the heads' (the backbone's owner frees its own).
 */
export function buildExits(backbone: TappedModel, layers: string[], seed: number, dropoutSeed: number): { exits: Exit[]; dispose(): void } {
  const target = deepestFeatures(backbone).shape;
  const input = backbone.model.inputs[0];
  const heads: tf.layers.Layer[] = [];
  const exits = layers.map((layer, e): Exit => {
    const at = backbone.taps.findIndex((t) => t.name === layer);
    if (at < 0 || at >= backbone.taps.length - 1) throw new Error(`the network has no layer "${layer}" to exit from`);
    const from = backbone.taps[at].shape;
    // The network's last conv map: the spatial size BYOT's bottleneck brings the exit to.
    const lastMap = backbone.taps.filter((t) => t.shape.length === 3).at(-1)?.shape;
    const plan = headLayers(layer, from, target, lastMap, backbone.numClasses, seed + 1000 * (e + 1));
    heads.push(...plan.features, ...plan.classifier);
    let h = backbone.model.outputs[at];
    for (const l of plan.features) h = l.apply(h) as tf.SymbolicTensor;
    const features = h;
    for (const l of plan.classifier) h = l.apply(h) as tf.SymbolicTensor;
    const prefix = backbone.model.outputs.slice(0, at + 1);
    const taps: TapInfo[] = [
      ...backbone.taps.slice(0, at + 1),
      { name: EXIT_FEATURES, kind: features.shape.length === 2 ? 'dense' : 'conv', shape: features.shape.slice(1) as number[] },
      { name: 'logits', kind: 'logits', shape: [backbone.numClasses] },
    ];
    const model = tf.model({ inputs: input, outputs: [...prefix, features, h], name: `exit_${layer}` });
    const logitsModel = tf.model({ inputs: input, outputs: h, name: `exit_${layer}_logits` });
    const net = makeTapped(model, logitsModel, taps, dropoutSeed, { params: logitsModel.countParams(), flops: modelFlops(logitsModel) });
    // The backbone's owner frees the shared layers; the view frees nothing.
    net.dispose = () => {};
    return { layer, net };
  });
  return { exits, dispose: () => heads.forEach((l) => l.dispose()) };
}
