// Probabilistic knowledge transfer (Passalis & Tefas, ECCV 2018) as RepDistiller
// distiller_zoo/PKT.py (PKT.cosine_similarity_loss), on features flattened to [B, D]:
//   x̂ = x / (‖x‖ + 1e-7),  K = (x̂·x̂ᵀ + 1)/2,  P_ij = K_ij / Σ_j K_ij  (row-conditional probabilities)
//   PKT = mean_ij P_t·log((P_t + 1e-7) / (P_s + 1e-7))   (mean over all B² entries).
import { obj } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type Tensor, type Tf } from './types';
import { flatten, pairTaps, stopGradient } from './util';

const EPS = 1e-7;

/**
 * The conditional probability matrix of one side. The norm's floor of 1e-30 under the root gives a
 * zero row (all-zero ReLU features) gradient 0 instead of tf.sqrt's NaN at 0; the reference's
 * NaN-to-0 fix-up after the division is not needed, as x / (‖x‖ + eps) is never NaN for finite x.
 */
function probabilities(tf: Tf, x: Tensor): Tensor {
  const norm = tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-30));
  const xn = tf.div(x, tf.add(norm, EPS));
  const k = tf.div(tf.add(tf.matMul(xn as never, xn as never, false, true), 1), 2);
  return tf.div(k, tf.sum(k, 1, true));
}

function matrices(inputs: LossInputs, term: { student: string; teacher: string }) {
  const { tf } = inputs;
  const { student, teacher } = pairTaps(inputs, term);
  return { student: probabilities(tf, flatten(tf, student)), teacher: probabilities(tf, flatten(tf, stopGradient(tf, teacher))) };
}

export default defineLoss({
  type: 'pkt',
  title: 'Probabilistic KT',
  paper: 'Passalis & Tefas, ECCV 2018',
  reference: 'RepDistiller distiller_zoo/PKT.py',
  knowledge: 'relation',
  schema: obj(
    'Probabilistic knowledge transfer, as RepDistiller distiller_zoo/PKT.py: KL divergence between the teacher\'s and the student\'s conditional probability matrices built from cosine similarities over the batch (mean over the B² entries). The layers may differ in size.',
    { ...termFields, ...pairFields },
  ),
  // RepDistiller: -b 30000, on the penultimate features (feat[-1]).
  example: { type: 'pkt', weight: 30000, student: 'fc2', teacher: 'fc2' },
  uses: { teacher: true },
  compute(term, inputs) {
    const { tf } = inputs;
    const p = matrices(inputs, term);
    return tf.mean(tf.mul(p.teacher, tf.log(tf.div(tf.add(p.teacher, EPS), tf.add(p.student, EPS)))));
  },
  relations: (term, inputs) => [{ name: 'conditional probability', ...matrices(inputs, term) }],
});
