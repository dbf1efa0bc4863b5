// Relational KD (Park et al., CVPR 2019) as RepDistiller distiller_zoo/RKD.py (RKDLoss), on
// features flattened to [B, D]:
//   distance: d_ij = ‖f_i − f_j‖ / mean of the d_ij > 0;   L_d = smoothL1(d_s, d_t)
//   angle:    a_ijk = ⟨n_ij, n_ik⟩, n_ij = (f_j − f_i)/‖f_j − f_i‖;   L_a = smoothL1(a_s, a_t)
//   RKD = w_d·L_d + w_a·L_a,
// smoothL1 = torch's F.smooth_l1_loss (β 1, mean over all B² or B³ entries).
import { num, obj, opt } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type Tensor, type Tf } from './types';
import { flatten, normalizeRows, pairTaps, stopGradient } from './util';

/** RKDLoss.pdist (squared distances clamped at 1e-12 before the root, diagonal 0) over its mean > 0. */
function distances(tf: Tf, e: Tensor): Tensor {
  const sq = tf.sum(tf.square(e), 1);
  const d2 = tf.sub(tf.add(tf.expandDims(sq, 1), tf.expandDims(sq, 0)), tf.mul(tf.matMul(e as never, e as never, false, true), 2));
  const b = e.shape[0];
  const d = tf.mul(tf.sqrt(tf.maximum(d2, 1e-12)), tf.sub(1, tf.eye(b)));
  // torch's d[d > 0].mean(): the diagonal's zeros left out. d ≥ 0, so it is Σd over Σ sign(d)
  // (sign rather than a comparison, which the gradient tape cannot pass).
  return tf.div(d, tf.div(tf.sum(d), tf.sum(tf.sign(d))));
}

/** [B, B, B]: per anchor i, the cosines between f_j − f_i and f_k − f_i (F.normalize'd differences). */
function angles(tf: Tf, e: Tensor): Tensor {
  const diff = tf.sub(tf.expandDims(e, 0), tf.expandDims(e, 1)); // [i, j] = f_j − f_i
  // F.normalize (max(‖·‖, 1e-12)), zero-safe: no NaN gradient at the zero difference f_i − f_i.
  const n = normalizeRows(tf, diff);
  return tf.matMul(n as never, n as never, false, true);
}

/**
 * F.smooth_l1_loss (β 1): 0.5·z² below z = |a − b| = 1, z − 0.5 above, as 0.5·q² + z − q with
 * q = min(z, 1) (no comparison op, which the gradient tape cannot pass).
 */
function smoothL1(tf: Tf, a: Tensor, b: Tensor): Tensor {
  const z = tf.abs(tf.sub(a, b));
  const q = tf.minimum(z, 1);
  return tf.mean(tf.add(tf.mul(tf.square(q), 0.5), tf.sub(z, q)));
}

function features(inputs: LossInputs, term: { student: string; teacher: string }) {
  const { tf } = inputs;
  const { student, teacher } = pairTaps(inputs, term);
  return { student: flatten(tf, student), teacher: flatten(tf, stopGradient(tf, teacher)) };
}

export default defineLoss({
  type: 'rkd',
  title: 'Relational KD',
  paper: 'Park et al., CVPR 2019',
  reference: 'RepDistiller distiller_zoo/RKD.py',
  knowledge: 'relation',
  schema: obj(
    'Relational KD, as RepDistiller distiller_zoo/RKD.py: smooth-L1 between the student\'s and the teacher\'s pairwise distances (each over its mean) and between their triplet angles, over the batch. The layers may differ in size.',
    {
      ...termFields,
      ...pairFields,
      distanceWeight: opt(num('Weight of the distance loss (RepDistiller RKDLoss w_d, default 25).', { minimum: 0, default: 25 })),
      angleWeight: opt(num('Weight of the angle loss (RepDistiller RKDLoss w_a, default 50).', { minimum: 0, default: 50 })),
    },
  ),
  // RepDistiller: -b 1, on the penultimate features (feat[-1]).
  example: { type: 'rkd', weight: 1, student: 'fc2', teacher: 'fc2' },
  uses: { teacher: true },
  compute(term, inputs) {
    const { tf } = inputs;
    const f = features(inputs, term);
    // A batch of one has no pairs (the reference's mean over no distances is NaN).
    if (f.student.shape[0] < 2) return tf.scalar(0);
    const lossD = smoothL1(tf, distances(tf, f.student), distances(tf, f.teacher));
    const lossA = smoothL1(tf, angles(tf, f.student), angles(tf, f.teacher));
    return tf.add(tf.mul(lossD, term.distanceWeight), tf.mul(lossA, term.angleWeight));
  },
  relations(term, inputs) {
    const { tf } = inputs;
    const f = features(inputs, term);
    // The angles are B×B×B: the view shows one anchor's slice (the first probe sample's).
    const anchor = (e: Tensor) => tf.squeeze(tf.slice(angles(tf, e), [0, 0, 0], [1, -1, -1]), [0]);
    return [
      { name: 'distance (over its mean)', student: distances(tf, f.student), teacher: distances(tf, f.teacher) },
      { name: 'angle at the first sample (anchor)', student: anchor(f.student), teacher: anchor(f.teacher) },
    ];
  },
});
