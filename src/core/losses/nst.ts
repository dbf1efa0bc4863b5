// Neuron selectivity transfer (Huang & Wang, 2017) as RepDistiller distiller_zoo/NST.py (NSTLoss):
// each channel's map over the h·w positions is one sample, L2-normalised over the positions; the
// loss is the squared MMD between the student's and the teacher's channel samples under the
// polynomial kernel k(x, y) = (xᵀy)²:
//   mean k(t, t') + mean k(s, s') − 2·mean k(s, t),
// each mean over the batch and all channel pairs (the teacher's term is a constant). The larger map
// is average-pooled to the smaller spatial size first; the channel counts may differ.
import { obj } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { alignMaps, pairConvProblems } from './spatial';
import { defineLoss, type LossInputs, type Tensor } from './types';
import { normalizeRows, pairTaps, stopGradient } from './util';

const schema = obj(
  'Neuron selectivity transfer, as RepDistiller distiller_zoo/NST.py: squared MMD with the polynomial kernel (xᵀy)² between the two layers\' channel maps, each L2-normalised over positions; the larger map is average-pooled to the smaller size first. Needs conv layers.',
  { ...termFields, ...pairFields },
);

/**
 * The pair pooled to a common size, each channel's map L2-normalised over the positions, still
 * channels-last [B, h, w, C]: the normalisation runs over h·w, so a transpose puts the positions last.
 */
function samples(inputs: LossInputs, term: { student: string; teacher: string }): { student: Tensor; teacher: Tensor } {
  const { tf } = inputs;
  const taps = pairTaps(inputs, term);
  const norm = (f: Tensor) => {
    const [B, h, w, C] = f.shape;
    const perChannel = normalizeRows(tf, tf.transpose(tf.reshape(f, [B, h * w, C]), [0, 2, 1])); // [B, C, h·w]
    return tf.reshape(tf.transpose(perChannel, [0, 2, 1]), [B, h, w, C]);
  };
  const [s, t] = alignMaps(tf, taps.student, stopGradient(tf, taps.teacher));
  return { student: norm(s), teacher: norm(t) };
}

/** mean over b, i, j of (a_bi · b_bj)² for a, b: [B, h, w, C] holding C samples of h·w positions. */
function meanPolyKernel(inputs: LossInputs, a: Tensor, b: Tensor): Tensor {
  const { tf } = inputs;
  const flat = (x: Tensor) => tf.reshape(x, [x.shape[0], x.shape[1]! * x.shape[2]!, -1]); // [B, h·w, C]
  const dots = tf.matMul(flat(a) as never, flat(b) as never, true, false); // [B, Ca, Cb]
  return tf.mean(tf.square(dots));
}

export default defineLoss({
  type: 'nst',
  title: 'Neuron selectivity transfer',
  paper: 'Huang & Wang, 2017 (arXiv:1707.01219)',
  reference: 'RepDistiller distiller_zoo/NST.py',
  knowledge: 'feature',
  schema,
  example: { type: 'nst', weight: 50, student: 'conv2', teacher: 'conv2' },
  uses: { teacher: true },
  check: (_term, { pairs }) => pairConvProblems('nst', pairs[0]),
  compute(term, inputs) {
    const { tf } = inputs;
    const { student: s, teacher: t } = samples(inputs, term);
    const k = (a: Tensor, b: Tensor) => meanPolyKernel(inputs, a, b);
    return tf.sub(tf.add(k(t, t), k(s, s)), tf.mul(2, k(s, t)));
  },
  maps: (term, inputs) => [{ ...samples(inputs, term), what: 'channel maps L2-normalised over positions, at a common size' }],
});
