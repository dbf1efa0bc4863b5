// DIST (Huang et al., NeurIPS 2022) as MMRazor mmrazor/models/losses/dist_loss.py (DISTLoss):
// with y = softmax(z/τ) over classes, [B, C],
//   inter = 1 − mean_b ρ(y_s[b, :], y_t[b, :])   (each example's class ranking)
//   intra = 1 − mean_c ρ(y_s[:, c], y_t[:, c])   (each class's ranking of the batch)
//   DIST  = τ²·(β·inter + γ·intra),
// ρ the Pearson correlation: the cosine of the mean-centred vectors, eps 1e-8 on the norms' product.
import { num, obj, opt } from '../schema/dsl';
import { termFields } from './fields';
import { defineLoss, type Tensor, type Tf } from './types';
import { stopGradient, tap } from './util';

/**
 * ‖x‖ over the last axis (kept). The floor of 1e-30 under the root gives a zero row (a batch of
 * one in the intra-class relation) gradient 0, as torch's norm, rather than tf.sqrt's NaN.
 */
const norm = (tf: Tf, x: Tensor) => tf.sqrt(tf.maximum(tf.sum(tf.square(x), -1, true), 1e-30));

/** Mean over rows of 1 − Pearson correlation of a's and b's rows (MMRazor inter_class_relation). */
function relationLoss(tf: Tf, a: Tensor, b: Tensor): Tensor {
  const ca = tf.sub(a, tf.mean(a, -1, true));
  const cb = tf.sub(b, tf.mean(b, -1, true));
  const rho = tf.div(tf.sum(tf.mul(ca, cb), -1, true), tf.add(tf.mul(norm(tf, ca), norm(tf, cb)), 1e-8));
  return tf.sub(1, tf.mean(rho));
}

export default defineLoss({
  type: 'dist',
  title: 'DIST (correlation of predictions)',
  paper: 'Huang et al., NeurIPS 2022',
  reference: 'MMRazor mmrazor/models/losses/dist_loss.py',
  knowledge: 'response',
  schema: obj(
    'DIST, as MMRazor mmrazor/models/losses/dist_loss.py (DISTLoss): 1 − Pearson correlation between the student\'s and the teacher\'s softmax(z/τ), across classes per example (inter-class) and across the batch per class (intra-class), times τ². MMRazor\'s loss_weight (default 1; its ImageNet config uses 2) is this term\'s weight.',
    {
      ...termFields,
      interWeight: opt(num('Weight β of the inter-class relation (MMRazor inter_loss_weight, default 1).', { minimum: 0, default: 1 })),
      intraWeight: opt(num('Weight γ of the intra-class relation (MMRazor intra_loss_weight, default 1).', { minimum: 0, default: 1 })),
      tau: opt(num('Softmax temperature τ (MMRazor tau, default 1). Independent of distillation.temperature.', { exclusiveMinimum: 0, default: 1 })),
    },
  ),
  example: { type: 'dist', weight: 1 },
  uses: { teacher: true },
  compute(term, { tf, student, teacher }) {
    const { tau } = term;
    const ys = tf.softmax(tf.div(tap(student, 'logits', 'student'), tau));
    const yt = tf.softmax(tf.div(stopGradient(tf, tap(teacher, 'logits', 'teacher')), tau));
    const inter = relationLoss(tf, ys, yt);
    // The intra-class relation is the same measure on the transposes: rows become classes.
    const intra = relationLoss(tf, tf.transpose(ys), tf.transpose(yt));
    return tf.mul(tf.add(tf.mul(inter, term.interWeight), tf.mul(intra, term.intraWeight)), tau * tau);
  },
});
