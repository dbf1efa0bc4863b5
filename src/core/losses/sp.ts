// Similarity-preserving KD (Tung & Mori, ICCV 2019) as RepDistiller distiller_zoo/SP.py
// (Similarity): with f flattened per example to [B, D],
//   G = normalize_rows(f·fᵀ),  SP = ‖G_t − G_s‖²_F / B²,
// normalize_rows being torch's F.normalize(dim=1): each row over max(‖row‖, 1e-12).
// Flattening a channels-last [B, H, W, C] map orders its entries differently from PyTorch's
// [B, C, H, W], but f·fᵀ sums over all of them, so G is the same.
import { obj } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type Tensor } from './types';
// util's normalizeRows is F.normalize's max(‖row‖, 1e-12), zero-safe: a row of dead ReLU features gets gradient 0.
import { flatten, gram, normalizeRows, pairTaps, stopGradient } from './util';

function grams(inputs: LossInputs, term: { student: string; teacher: string }) {
  const { tf } = inputs;
  const { student, teacher } = pairTaps(inputs, term);
  const of = (f: Tensor) => normalizeRows(tf, gram(tf, flatten(tf, f)));
  return { student: of(student), teacher: of(stopGradient(tf, teacher)) };
}

export default defineLoss({
  type: 'sp',
  title: 'Similarity-preserving',
  paper: 'Tung & Mori, ICCV 2019',
  reference: 'RepDistiller distiller_zoo/SP.py',
  knowledge: 'relation',
  schema: obj(
    'Similarity-preserving KD, as RepDistiller distiller_zoo/SP.py: the squared Frobenius distance between the student\'s and the teacher\'s row-normalised batch Gram matrices f·fᵀ, over B². The layers may differ in size: only the B×B matrices are compared.',
    { ...termFields, ...pairFields },
  ),
  // RepDistiller: -b 3000, on the last conv stage's output (feat[-2]).
  example: { type: 'sp', weight: 3000, student: 'conv2', teacher: 'conv2' },
  uses: { teacher: true },
  compute(term, inputs) {
    const { tf } = inputs;
    const g = grams(inputs, term);
    return tf.div(tf.sum(tf.squaredDifference(g.teacher, g.student)), g.student.shape[0] ** 2);
  },
  relations: (term, inputs) => [{ name: 'Gram (row-normalised)', ...grams(inputs, term) }],
});
