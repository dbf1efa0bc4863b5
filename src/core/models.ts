// The layers a model spec produces — names, output shapes, parameter counts and FLOPs — computed
// without tfjs. The trainer builds exactly these layers (and checks it does); the validator and the
// editor use this to check feature pairs and show shapes before anything trains.
import type { ModelSpec } from './config/schema';

export type LayerKind = 'dense' | 'conv' | 'pool' | 'logits';

export interface LayerInfo {
  /** Stable name used in configs, probes and views: conv1, pool1, fc1, logits. */
  name: string;
  kind: LayerKind;
  /** Output shape without the batch dimension: [units] or [height, width, channels]. */
  shape: number[];
  params: number;
  /** Multiply-adds × 2 for one example's forward pass through this layer. */
  flops: number;
}

export interface ModelSummary {
  layers: LayerInfo[];
  params: number;
  flops: number;
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * Describes the layers built from `spec` for inputs of `inputShape` ([h, w, c] for images, [n] for
 * feature vectors). Conv layers use `same` padding, so a stride-1 conv keeps the spatial size and
 * pooling floors it.
 */
export function describeModel(spec: ModelSpec, inputShape: number[], numClasses: number): ModelSummary {
  const layers: LayerInfo[] = [];
  let shape = inputShape.slice();
  if (spec.type === 'cnn') {
    if (shape.length !== 3) throw new Error(`a CNN needs image inputs [height, width, channels], got [${shape.join(', ')}]`);
    spec.conv.forEach((block, i) => {
      const [h, w, c] = shape;
      const out = [Math.ceil(h / block.stride), Math.ceil(w / block.stride), block.filters];
      const params = block.kernel * block.kernel * c * block.filters + block.filters;
      layers.push({ name: `conv${i + 1}`, kind: 'conv', shape: out, params, flops: 2 * (params - block.filters) * out[0] * out[1] });
      shape = out;
      if (block.pool > 1) {
        const pooled = [Math.floor(shape[0] / block.pool), Math.floor(shape[1] / block.pool), shape[2]];
        if (pooled[0] < 1 || pooled[1] < 1) throw new Error(`pool${i + 1} shrinks a ${shape[0]}×${shape[1]} map to nothing`);
        layers.push({ name: `pool${i + 1}`, kind: 'pool', shape: pooled, params: 0, flops: size(shape) });
        shape = pooled;
      }
    });
  }
  let width = size(shape);
  spec.hidden.forEach((units, i) => {
    layers.push({ name: `fc${i + 1}`, kind: 'dense', shape: [units], params: (width + 1) * units, flops: 2 * width * units });
    width = units;
  });
  layers.push({ name: 'logits', kind: 'logits', shape: [numClasses], params: (width + 1) * numClasses, flops: 2 * width * numClasses });
  return {
    layers,
    params: layers.reduce((a, l) => a + l.params, 0),
    flops: layers.reduce((a, l) => a + l.flops, 0),
  };
}

export type ConnectorKind = 'none' | 'linear' | 'conv1x1';

/**
 * The connector that maps a student layer onto a teacher layer, or an error message. Dense taps
 * use a linear map; conv taps a 1×1 conv (FitNet's regressor), which needs equal spatial sizes.
 */
export function resolveConnector(
  requested: 'auto' | ConnectorKind,
  student: Pick<LayerInfo, 'name' | 'shape'>,
  teacher: Pick<LayerInfo, 'name' | 'shape'>,
): { connector: ConnectorKind } | { error: string } {
  const same = student.shape.length === teacher.shape.length && student.shape.every((d, i) => d === teacher.shape[i]);
  const fmt = (l: Pick<LayerInfo, 'name' | 'shape'>) => `${l.name} [${l.shape.join('×')}]`;
  const bothDense = student.shape.length === 1 && teacher.shape.length === 1;
  const bothConv = student.shape.length === 3 && teacher.shape.length === 3;
  const sameSpatial = bothConv && student.shape[0] === teacher.shape[0] && student.shape[1] === teacher.shape[1];
  const kind = requested === 'auto' ? (same ? 'none' : bothDense ? 'linear' : bothConv ? 'conv1x1' : undefined) : requested;
  switch (kind) {
    case 'none':
      return same ? { connector: 'none' } : { error: `shapes differ: student ${fmt(student)} vs teacher ${fmt(teacher)}; use a connector` };
    case 'linear':
      return bothDense ? { connector: 'linear' } : { error: `a linear connector needs two dense layers, got student ${fmt(student)} and teacher ${fmt(teacher)}` };
    case 'conv1x1':
      if (!bothConv) return { error: `a conv1x1 connector needs two conv layers, got student ${fmt(student)} and teacher ${fmt(teacher)}` };
      return sameSpatial
        ? { connector: 'conv1x1' }
        : { error: `a conv1x1 connector keeps the spatial size, but student ${fmt(student)} and teacher ${fmt(teacher)} differ` };
    default:
      return { error: `no connector maps student ${fmt(student)} onto teacher ${fmt(teacher)} (one is dense, the other conv)` };
  }
}
