// Attention transfer (Zagoruyko & Komodakis, ICLR 2017) as RepDistiller distiller_zoo/AT.py
// (Attention, p = 2): each map's attention a(f) = normalize(mean_c |f|^p) over the h·w positions
// (L2, eps 1e-12), and the loss mean over batch and positions of (a(f_s) − a(f_t))². The larger map
// is average-pooled to the smaller spatial size first, as at_loss does. |f|^p is the paper's F(A);
// the reference's f.pow(p) is the same for even p.
import { num, obj, opt } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { alignMaps, pairConvProblems } from './spatial';
import { defineLoss, type LossInputs, type Tensor } from './types';
import { normalizeRows, pairTaps, stopGradient } from './util';

const schema = obj(
  'Attention transfer, as RepDistiller distiller_zoo/AT.py: the squared difference of the two layers\' attention maps (channel mean of |f|^p, L2-normalised over positions), the larger map average-pooled to the smaller size first. Needs conv layers.',
  {
    ...termFields,
    ...pairFields,
    p: opt(num('Exponent of the attention map mean_c |f|^p (RepDistiller Attention(p=2)).', { exclusiveMinimum: 0, default: 2 })),
  },
);

/** [B, h, w, C] → the attention map [B, h·w]: channel mean of |f|^p, each row L2-normalised. */
function attention(inputs: LossInputs, f: Tensor, p: number): Tensor {
  const { tf } = inputs;
  const a = tf.mean(tf.pow(tf.abs(f), p), -1); // channels-last: torch's mean(1) is the last axis here
  return normalizeRows(tf, tf.reshape(a, [f.shape[0], -1]));
}

function attentionPair(inputs: LossInputs, term: { student: string; teacher: string; p: number }) {
  const taps = pairTaps(inputs, term);
  const [s, t] = alignMaps(inputs.tf, taps.student, stopGradient(inputs.tf, taps.teacher));
  return { student: attention(inputs, s, term.p), teacher: attention(inputs, t, term.p), size: s.shape.slice(1, 3) as number[] };
}

export default defineLoss({
  type: 'at',
  title: 'Attention transfer',
  paper: 'Zagoruyko & Komodakis, ICLR 2017',
  reference: 'RepDistiller distiller_zoo/AT.py',
  knowledge: 'feature',
  schema,
  example: { type: 'at', weight: 1000, student: 'conv2', teacher: 'conv2' },
  uses: { teacher: true },
  check: (_term, { pairs }) => pairConvProblems('at', pairs[0]),
  compute(term, inputs) {
    const { student, teacher } = attentionPair(inputs, term);
    return inputs.tf.mean(inputs.tf.squaredDifference(student, teacher));
  },
  maps(term, inputs) {
    const { tf } = inputs;
    const { student, teacher, size } = attentionPair(inputs, term);
    const shape = [student.shape[0], size[0], size[1], 1];
    return [{ student: tf.reshape(student, shape), teacher: tf.reshape(teacher, shape), what: 'attention map (channel mean of |f|^p, L2-normalised)' }];
  },
});
