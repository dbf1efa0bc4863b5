// Factor transfer (Kim, Park & Kwak, NeurIPS 2018) as RepDistiller distiller_zoo/FT.py
// (FactorTransfer, p1 = 2, p2 = 1) with its helpers in models/util.py:
// - Paraphraser on the teacher's layer: an encoder of three 3×3 convs (C → C → ⌊C·rate⌋ →
//   ⌊C·rate⌋) and a decoder of three (⌊C·rate⌋ → ⌊C·rate⌋ → C → C), LeakyReLU(0.1) after each.
//   It is trained first, on the teacher alone, to reconstruct the layer (MSE; helper/pretrain.py,
//   init_epochs 30), then frozen; its encoder's output is the teacher's factor.
// - Translator on the student's layer: three 3×3 convs (Cs → Cs → ⌊C·rate⌋ → ⌊C·rate⌋), each
//   followed by a batch norm (the reference's use_bn=True; running averages for the probes) and
//   LeakyReLU(0.1), trained with the student; its output is the student's factor. The paraphraser
//   has no batch norm, as the reference's default (use_bn=False).
// - Loss, as factor_loss: the larger factor average-pooled to the smaller spatial size, each reduced
//   to factor(f) = normalize(mean_c |f|^p1) over the positions (|f|^p1 is the reference's f.pow(p1)
//   for even p1), then mean |factor(F_s) − factor(F_t)|^p2.
// Deviations: the decoder's stride-1, padding-1 ConvTranspose2d layers are 3×3 'same'
// convolutions (the same family of maps, up to a flip of each kernel). Dense layers use linear
// layers (and 1-d batch norms) in place of the convs, and as a vector has no positions to average
// over, factor(F) = F/‖F‖₂ (the paper's normalised factor) with p1 unused.
import { int, num, obj, opt } from '../schema/dsl';
import { createBatchNorm } from './batchNorm';
import { pairFields, termFields } from './fields';
import { alignMaps, isConv } from './spatial';
import { defineLoss, type Layer, type LossInputs, type LossState, type Tensor, type Tf, type Variable } from './types';
import { normalizeRows, pairTaps, stopGradient } from './util';

/** Layers with LeakyReLU(0.1) after each: 3×3 'same' convs on maps, linear layers on vectors. */
interface Stack {
  /** `training` picks the batch norms' statistics (a stack without them ignores it). */
  apply(x: Tensor, training: boolean): Tensor;
  variables: Variable[];
  dispose(): void;
}

interface FtState extends LossState {
  translator: Stack;
  encoder: Stack;
  decoder: Stack;
}

const schema = obj(
  'Factor transfer, as RepDistiller distiller_zoo/FT.py: a paraphraser (conv autoencoder) is first trained on the teacher layer alone (`initEpochs`), and its code, the teacher\'s factor, is matched by a translator on the student layer: mean |factor(F_s) − factor(F_t)|^p2, each factor reduced to normalize(mean_c |F|^p1) over positions. Conv or dense layers (linear layers in place of the convs); batch norms in the translator, as the reference.',
  {
    ...termFields,
    ...pairFields,
    rate: opt(num('Factor channels as a fraction of the teacher layer\'s channels, ⌊C·rate⌋ (Paraphraser/Translator k).', { exclusiveMinimum: 0, maximum: 1, default: 0.5 })),
    p1: opt(num('Exponent of the factor\'s spatial map mean_c |F|^p1 (FactorTransfer p1).', { exclusiveMinimum: 0, default: 2 })),
    p2: opt(num('Exponent of the difference: mean |·|^p2 (FactorTransfer p2; 1 is the paper\'s L1).', { exclusiveMinimum: 0, default: 1 })),
    initEpochs: opt(
      int('Epochs training the paraphraser to reconstruct the teacher layer before distillation (helper/pretrain.py, --init_epochs 30); the teacher and the student stay fixed.', {
        minimum: 0,
        maximum: 1000,
        default: 30,
      }),
    ),
  },
);

let created = 0;
const channels = (l: Layer) => l.shape[l.shape.length - 1];
const factorChannels = (l: Layer, rate: number) => Math.floor(channels(l) * rate);
const fmt = (l: Layer) => `${l.name} [${l.shape.join('×')}]`;

/**
 * `sizes` [in, out] per layer; kernels Glorot-uniform from `seed`, biases zero (torch's convs have
 * biases); with `batchNorm`, a batch norm between each layer and its LeakyReLU. Variables in layer
 * order: kernel, bias (, gamma, beta).
 */
function stack(tf: Tf, name: string, conv: boolean, sizes: number[][], seed: number, batchNorm = false): Stack {
  const variables: Variable[] = [];
  const layers = sizes.map(([cin, cout], k) => {
    const shape = conv ? [3, 3, cin, cout] : [cin, cout];
    const kernel = tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed: seed + k }).apply(shape)), true, `${name}/layer${k + 1}/kernel`);
    const bias = tf.variable(tf.zeros([cout]), true, `${name}/layer${k + 1}/bias`);
    const norm = batchNorm ? createBatchNorm(tf, `${name}/layer${k + 1}/bn`, cout) : undefined;
    variables.push(kernel, bias, ...(norm?.variables ?? []));
    return { kernel, bias, norm };
  });
  const apply = (x: Tensor, training: boolean) =>
    layers.reduce((h, { kernel, bias, norm }) => {
      const y = tf.add(conv ? tf.conv2d(h as never, kernel as never, 1, 'same') : tf.matMul(h as never, kernel as never), bias);
      return tf.leakyRelu(norm ? norm.apply(y, training) : y, 0.1);
    }, x);
  const dispose = () => {
    for (const { kernel, bias, norm } of layers) {
      kernel.dispose();
      bias.dispose();
      norm?.dispose();
    }
  };
  return { apply, variables, dispose };
}

/** conv: normalize(mean_c |F|^p1) over the positions, [B, h·w]; dense: F/‖F‖₂. */
function reduceFactor(tf: Tf, f: Tensor, p1: number): Tensor {
  if (f.rank === 2) return normalizeRows(tf, f);
  const map = tf.mean(tf.pow(tf.abs(f), p1), -1); // channels-last: torch's mean(1) is the last axis
  return normalizeRows(tf, tf.reshape(map, [f.shape[0], -1]));
}

type Term = { student: string; teacher: string; p1: number; p2: number };

/** The student's factor (translator) and the teacher's (frozen paraphraser encoder), at a common size. */
function factors(term: Term, inputs: LossInputs, state: FtState) {
  const { tf } = inputs;
  const taps = pairTaps(inputs, term);
  const teacher = stopGradient(tf, state.encoder.apply(stopGradient(tf, taps.teacher), false));
  const [student, t] = alignMaps(tf, state.translator.apply(taps.student, inputs.training), teacher);
  return { student, teacher: t };
}

export default defineLoss({
  type: 'ft',
  title: 'Factor transfer (FT)',
  paper: 'Kim, Park & Kwak, NeurIPS 2018',
  reference: 'RepDistiller distiller_zoo/FT.py',
  knowledge: 'feature',
  schema,
  example: { type: 'ft', weight: 200, student: 'conv2', teacher: 'conv2' },
  uses: { teacher: true },
  check(term, { pairs }) {
    const { student, teacher } = pairs[0];
    if (isConv(student) !== isConv(teacher))
      return [{ field: 'teacher', message: `ft needs two conv layers or two dense layers; student ${fmt(student)} is ${isConv(student) ? 'conv' : 'dense'}, teacher ${fmt(teacher)} is ${isConv(teacher) ? 'conv' : 'dense'}` }];
    if (factorChannels(teacher, term.rate) < 1)
      return [{ field: 'rate', message: `ft's factor has ⌊${channels(teacher)}·${term.rate}⌋ = 0 channels for teacher ${fmt(teacher)}; raise rate` }];
    return [];
  },
  createState(term, { tf, pairs, seed }): FtState {
    const id = ++created;
    const { student, teacher } = pairs[0];
    const conv = isConv(teacher);
    const [cs, c, k] = [channels(student), channels(teacher), factorChannels(teacher, term.rate)];
    const encoder = stack(tf, `ft${id}/paraphraser/encoder`, conv, [[c, c], [c, k], [k, k]], seed);
    const decoder = stack(tf, `ft${id}/paraphraser/decoder`, conv, [[k, k], [k, c], [c, c]], seed + 3);
    const translator = stack(tf, `ft${id}/translator`, conv, [[cs, cs], [cs, k], [k, k]], seed + 6, true);
    // Only the translator trains with the student; the paraphraser trains in the pre-training stage.
    return { translator, encoder, decoder, variables: translator.variables, dispose: () => [translator, encoder, decoder].forEach((s) => s.dispose()) };
  },
  compute(term, inputs, state) {
    const { tf } = inputs;
    const { student, teacher } = factors(term, inputs, state);
    const diff = tf.sub(reduceFactor(tf, student, term.p1), reduceFactor(tf, teacher, term.p1));
    return tf.mean(tf.pow(tf.abs(diff), term.p2));
  },
  maps: (term, inputs, state) => [{ ...factors(term, inputs, state), what: 'factors: the translator on the student, the paraphraser\'s encoder on the teacher' }],
  pretrain: {
    describe: 'FT: the paraphraser learns to reconstruct the teacher layer (MSE)',
    epochs: (term) => term.initEpochs,
    student: false,
    variables: (state) => [...state.encoder.variables, ...state.decoder.variables],
    compute(term, inputs, state) {
      const { tf } = inputs;
      const t = stopGradient(tf, pairTaps(inputs, term).teacher);
      return tf.mean(tf.squaredDifference(state.decoder.apply(state.encoder.apply(t, false), false), t));
    },
  },
});
