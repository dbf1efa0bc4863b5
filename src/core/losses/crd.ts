// Contrastive representation distillation (Tian et al., ICLR 2020) as RepDistiller
// crd/criterion.py (CRDLoss, ContrastLoss, Embed) and crd/memory.py (ContrastMemory):
//   v_s = normalize(W_s·f_s + b_s), v_t = normalize(W_t·f_t + b_t)   (trainable Embed heads, [B, F])
//   for each example i (its training-set index y_i) and K sampled indices n_1..n_K:
//     out_s[i, k] = exp(⟨M_t[j_k], v_s[i]⟩ / τ) / Z_s,  out_t[i, k] = exp(⟨M_s[j_k], v_t[i]⟩ / τ) / Z_t,
//     j_0 = y_i (the positive), j_k = n_k;  M_s, M_t the student's and the teacher's memory banks
//   ContrastLoss(x) = −(Σ_i log(x_i0 / (x_i0 + K/N + 1e-7)) + Σ_{i,k≥1} log((K/N) / (x_ik + K/N + 1e-7))) / B
//   CRD = ContrastLoss(out_s) + ContrastLoss(out_t).
// Z = mean(out)·N of the first training batch, then fixed. After each training step the banks'
// rows y_i move to normalize(m·M[y_i] + (1 − m)·v) (momentum m). Negatives are uniform over the N
// training examples, with replacement (the reference's AliasMethod over uniform weights).
import { createRng, type Rng } from '../random';
import { int, num, obj, opt } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossState, type Tensor, type Tf, type Variable } from './types';
import { pairTaps, stopGradient } from './util';
import { applyLinear, type Linear, linear } from './linear';

export interface CrdState extends LossState {
  embedS: Linear;
  embedT: Linear;
  /** The memory banks [N, F] of student and teacher embeddings (memory.py's memory_v1, memory_v2). */
  memoryS: Variable;
  memoryT: Variable;
  /** The normalisation constants Z of out_s and out_t (memory.py's params[2], params[3]); −1 until set. */
  zS: Variable;
  zT: Variable;
  /**
   * K negative indices per example, [batch·K] row-major. Training draws advance the state's seeded
   * stream; other calls draw a fixed sample (the same each time), so they change nothing.
   */
  negatives(batch: number, training: boolean): Int32Array;
}

let created = 0;


/** Rows over their L2 norm (crd's Normalize: no epsilon). */
const normalize = (tf: Tf, x: Tensor) => tf.div(x, tf.sqrt(tf.sum(tf.square(x), -1, true)));

/** Embed: flatten, linear, L2-normalise. */
const embed = (tf: Tf, l: Linear, x: Tensor) => normalize(tf, applyLinear(tf, l, x));

/** ContrastLoss over x [B, K+1] (column 0 the positive), noise probability 1/N. */
function contrastLoss(tf: Tf, x: Tensor, n: number): Tensor {
  const [b, k1] = x.shape;
  const mPn = (k1! - 1) / n;
  const pos = tf.slice(x, [0, 0], [b, 1]);
  const neg = tf.slice(x, [0, 1], [b, k1! - 1]);
  const logD1 = tf.log(tf.div(pos, tf.add(pos, mPn + 1e-7)));
  const logD0 = tf.log(tf.div(mPn, tf.add(neg, mPn + 1e-7)));
  return tf.div(tf.neg(tf.add(tf.sum(logD1), tf.sum(logD0))), b);
}

const tooManyNegatives = (k: number, n: number) => `crd draws its negatives from the training examples: negatives ${k} must be below the ${n} training examples`;

export default defineLoss({
  type: 'crd',
  title: 'Contrastive representation (CRD)',
  paper: 'Tian, Krishnan & Isola, ICLR 2020',
  reference: 'RepDistiller crd/criterion.py, crd/memory.py',
  knowledge: 'relation',
  schema: obj(
    'Contrastive representation distillation, as RepDistiller crd/criterion.py (CRDLoss) and crd/memory.py (ContrastMemory): trainable linear + L2-normalise embeddings of both layers, contrasted by NCE against momentum memory banks over the training examples (each example\'s own bank entry is the positive, `negatives` uniformly drawn entries the negatives), in both directions.',
    {
      ...termFields,
      ...pairFields,
      featDim: opt(int('Size of the two embeddings (RepDistiller --feat_dim, default 128).', { minimum: 1, maximum: 4096, default: 128 })),
      negatives: opt(
        int('Negatives K per example (RepDistiller --nce_k is 16384; the default here is 4096, so a small training split still has more examples than negatives). Must be below the number of training examples.', {
          minimum: 1,
          default: 4096,
        }),
      ),
      tau: opt(num('NCE temperature τ (RepDistiller --nce_t, default 0.07).', { exclusiveMinimum: 0, default: 0.07 })),
      momentum: opt(num('Momentum of the memory banks\' update (RepDistiller --nce_m, default 0.5).', { minimum: 0, maximum: 1, default: 0.5 })),
    },
  ),
  // RepDistiller: -b 0.8, on the penultimate features (feat[-1]). 2048 negatives, below the
  // default 4096, so that the term also fits a 4,000-example quick run.
  example: { type: 'crd', weight: 0.8, student: 'fc2', teacher: 'fc2', negatives: 2048 },
  uses: { teacher: true, indices: true },
  check(term, { trainCount }) {
    return trainCount !== undefined && term.negatives >= trainCount ? [{ field: 'negatives', message: tooManyNegatives(term.negatives, trainCount) }] : [];
  },
  createState(term, { tf, pairs, trainCount: n, seed }): CrdState {
    if (term.negatives >= n) throw new Error(tooManyNegatives(term.negatives, n));
    const id = ++created;
    const f = term.featDim;
    const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
    const embedS = linear(tf, `crd${id}/embedS`, size(pairs[0].student.shape), f, seed);
    const embedT = linear(tf, `crd${id}/embedT`, size(pairs[0].teacher.shape), f, seed + 2);
    // memory.py: banks start U(±1/√(F/3)); they are state, not trained (trainable = false).
    const stdv = 1 / Math.sqrt(f / 3);
    const memoryS = tf.variable(tf.randomUniform([n, f], -stdv, stdv, 'float32', seed + 4), false, `crd${id}/memoryS`);
    const memoryT = tf.variable(tf.randomUniform([n, f], -stdv, stdv, 'float32', seed + 5), false, `crd${id}/memoryT`);
    const zS = tf.variable(tf.scalar(-1), false, `crd${id}/zS`);
    const zT = tf.variable(tf.scalar(-1), false, `crd${id}/zT`);
    const stream = createRng(seed + 6);
    const draw = (rng: Rng, count: number) => Int32Array.from({ length: count }, () => Math.floor(rng() * n));
    const variables = [embedS.kernel, embedS.bias, embedT.kernel, embedT.bias];
    return {
      embedS,
      embedT,
      memoryS,
      memoryT,
      zS,
      zT,
      variables,
      negatives: (batch, training) => draw(training ? stream : createRng(seed + 7), batch * term.negatives),
      dispose: () => [...variables, memoryS, memoryT, zS, zT].forEach((v) => v.dispose()),
    };
  },
  compute(term, inputs, state) {
    const { tf, indices, training } = inputs;
    if (!indices) throw new Error('a crd term needs the examples\' training-set indices');
    const { student, teacher } = pairTaps(inputs, term);
    const vS = embed(tf, state.embedS, student);
    const vT = embed(tf, state.embedT, stopGradient(tf, teacher));
    const b = vS.shape[0];
    const f = term.featDim;
    const n = state.memoryS.shape[0];
    const k = term.negatives;
    const y = tf.reshape(tf.cast(indices, 'int32'), [b, 1]);
    // Per example: its own bank row (the positive), then its K negatives.
    const idx = tf.reshape(tf.concat([y, tf.tensor2d(state.negatives(b, training), [b, k], 'int32')], 1), [-1]);
    // Each side's embedding against the other side's bank rows: [B, K+1, F]·[B, F, 1].
    const scores = (memory: Variable, v: Tensor) => {
      const rows = tf.reshape(tf.gather(memory, idx), [b, k + 1, f]);
      const dots = tf.matMul(rows as never, tf.reshape(v, [b, f, 1]) as never);
      return tf.exp(tf.div(tf.reshape(dots, [b, k + 1]), term.tau));
    };
    const outS = scores(state.memoryT, vS);
    const outT = scores(state.memoryS, vT);
    // Z: set once, from the first training batch, as a constant (memory.py reads it with .item()).
    const zOf = (z: Variable, out: Tensor) => tf.where(tf.less(z, 0), stopGradient(tf, tf.mul(tf.mean(out), n)), z);
    const zS = zOf(state.zS, outS);
    const zT = zOf(state.zT, outT);
    const loss = tf.add(contrastLoss(tf, tf.div(outS, zS), n), contrastLoss(tf, tf.div(outT, zT), n));
    if (training) {
      state.zS.assign(zS);
      state.zT.assign(zT);
      const update = (memory: Variable, v: Tensor) => {
        const moved = tf.add(tf.mul(tf.gather(memory, tf.reshape(y, [-1])), term.momentum), tf.mul(stopGradient(tf, v), 1 - term.momentum));
        memory.assign(tf.tensorScatterUpdate(memory, y, normalize(tf, moved)));
      };
      update(state.memoryS, vS);
      update(state.memoryT, vT);
    }
    return loss;
  },
});
