// Correlation congruence (Peng et al., ICCV 2019) as RepDistiller distiller_zoo/CC.py
// (Correlation), with train_student.py's trainable LinearEmbed heads embed_s / embed_t mapping
// each side's flattened features to featDim:
//   δ = |e_s − e_t|  [B, F],   CC = mean_{i<B−1} Σ_d δ_{i,d}·δ_{i+1,d}.
// This is what RepDistiller's code (the authors' own, it says) computes: a product of consecutive
// examples' embedding differences, not the paper's Taylor-expanded Gaussian-kernel correlation
// matrix. We implement the code.
import { int, obj, opt } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type LossState } from './types';
import { gram, pairTaps, stopGradient } from './util';
import { applyLinear, type Linear, linear } from './linear';

interface CcState extends LossState {
  embedS: Linear;
  embedT: Linear;
}

let created = 0;


const apply = applyLinear;

function embeddings(inputs: LossInputs, term: { student: string; teacher: string }, state: CcState) {
  const { tf } = inputs;
  const { student, teacher } = pairTaps(inputs, term);
  return { student: apply(tf, state.embedS, student), teacher: apply(tf, state.embedT, stopGradient(tf, teacher)) };
}

export default defineLoss({
  type: 'cc',
  title: 'Correlation congruence',
  paper: 'Peng et al., ICCV 2019',
  reference: 'RepDistiller distiller_zoo/CC.py',
  knowledge: 'relation',
  schema: obj(
    'Correlation congruence, as RepDistiller distiller_zoo/CC.py with train_student.py\'s trainable linear embeddings of both sides: the mean over consecutive examples i, i+1 of Σ_d |e_s − e_t|_{i,d}·|e_s − e_t|_{i+1,d}. This is the code RepDistiller runs (the authors\' own), not the paper\'s Taylor-expanded Gaussian kernel.',
    {
      ...termFields,
      ...pairFields,
      featDim: opt(int('Size of the two linear embeddings (RepDistiller --feat_dim, default 128).', { minimum: 1, maximum: 4096, default: 128 })),
    },
  ),
  // RepDistiller: -b 0.02, on the penultimate features (feat[-1]).
  example: { type: 'cc', weight: 0.02, student: 'fc2', teacher: 'fc2' },
  uses: { teacher: true },
  createState(term, { tf, pairs, seed }): CcState {
    const id = ++created;
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const embedS = linear(tf, `cc${id}/embedS`, size(pairs[0].student.shape), term.featDim, seed);
    const embedT = linear(tf, `cc${id}/embedT`, size(pairs[0].teacher.shape), term.featDim, seed + 2);
    const variables = [embedS.kernel, embedS.bias, embedT.kernel, embedT.bias];
    return { embedS, embedT, variables, dispose: () => variables.forEach((v) => v.dispose()) };
  },
  compute(term, inputs, state) {
    const { tf } = inputs;
    const e = embeddings(inputs, term, state);
    const b = e.student.shape[0];
    // A batch of one has no consecutive pair (the reference's mean over nothing is NaN).
    if (b < 2) return tf.scalar(0);
    const delta = tf.abs(tf.sub(e.student, e.teacher));
    const dim = e.student.shape[1]!;
    const products = tf.mul(tf.slice(delta, [0, 0], [b - 1, dim]), tf.slice(delta, [1, 0], [b - 1, dim]));
    return tf.mean(tf.sum(products, 1));
  },
  // CC.py computes no matrix: the view shows the embeddings' batch Gram e·eᵀ (the paper's bilinear-pool kernel).
  relations(term, inputs, state) {
    const { tf } = inputs;
    const e = embeddings(inputs, term, state);
    return [{ name: 'Gram of the embeddings', student: gram(tf, e.student), teacher: gram(tf, e.teacher) }];
  },
});
