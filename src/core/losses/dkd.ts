// Decoupled KD (Zhao et al., CVPR 2022) as mdistiller mdistiller/distillers/DKD.py (dkd_loss):
//   TCKD = T²/B · Σ_b KL(b_t ‖ b_s), b = [p(y), 1 − p(y)]  (target vs all other classes)
//   NCKD = T²/B · Σ KL(p̂_t ‖ p̂_s), p̂ = softmax(z/T − 1000·onehot(y))  (the non-target classes)
//   DKD  = min(epoch / warmup, 1) · (α·TCKD + β·NCKD), p = softmax(z/T), epoch 1-based.
// mdistiller adds its own CE (CE_WEIGHT 1) next to this: write a `ce` term with weight 1 beside it.
import { int, num, obj, opt } from '../schema/dsl';
import { temperatureField, termFields } from './fields';
import { defineLoss, type Tensor, type Tf } from './types';
import { stopGradient, tap } from './util';

/**
 * log [p(y), Σ_{c≠y} p(c)] per row, [B, 2], from logits z/T already divided. mdistiller takes
 * torch.log of the summed probabilities; the log-sum-exp form is the same value without the
 * underflow of a confident net's 1 − p(y).
 */
function binaryLogProbs(tf: Tf, z: Tensor, notTarget: Tensor, onehot: Tensor): Tensor {
  const logAll = tf.logSumExp(z, -1, true);
  const logTarget = tf.sub(tf.sum(tf.mul(z, onehot), -1, true), logAll);
  const logOthers = tf.sub(tf.logSumExp(notTarget, -1, true), logAll);
  return tf.concat([logTarget, logOthers], 1);
}

/** Σ p·(log p − log q) from log-probabilities (p = 0 contributes 0, kl_div's convention). */
const kl = (tf: Tf, logP: Tensor, logQ: Tensor) => tf.sum(tf.mul(tf.exp(logP), tf.sub(logP, logQ)));

export default defineLoss({
  type: 'dkd',
  title: 'Decoupled KD',
  paper: 'Zhao et al., CVPR 2022',
  reference: 'mdistiller mdistiller/distillers/DKD.py',
  knowledge: 'response',
  schema: obj(
    'Decoupled knowledge distillation, as mdistiller mdistiller/distillers/DKD.py: α·TCKD (target vs non-target probability) + β·NCKD (the distribution over the non-target classes), both T²-scaled KL divergences, ramped up linearly over the first `warmup` epochs. mdistiller trains it beside a cross-entropy term of weight 1.',
    {
      ...termFields,
      alpha: opt(num('Weight α of TCKD, the target-class KL (mdistiller DKD.ALPHA, default 1).', { minimum: 0, default: 1 })),
      beta: opt(num('Weight β of NCKD, the non-target-class KL (mdistiller DKD.BETA, default 8).', { minimum: 0, default: 8 })),
      temperature: temperatureField,
      warmup: opt(
        int('Epochs over which the term ramps up linearly: factor min(epoch / warmup, 1) (mdistiller DKD.WARMUP, default 20; 0: no ramp).', {
          minimum: 0,
          default: 20,
        }),
      ),
    },
  ),
  // mdistiller's CIFAR-100 default: DKD weight 1 (with CE_WEIGHT 1, T = 4).
  example: { type: 'dkd', weight: 1, temperature: 4 },
  uses: { teacher: true, labels: true },
  compute(term, { tf, student, teacher, labels, temperature, epoch }) {
    if (!labels) throw new Error('a dkd term needs the labels');
    const T = term.temperature ?? temperature;
    const zs = tf.div(tap(student, 'logits', 'student'), T);
    const zt = tf.div(stopGradient(tf, tap(teacher, 'logits', 'teacher')), T);
    const onehot = tf.oneHot(tf.cast(labels, 'int32'), zs.shape[1]!).asType('float32');
    // mdistiller's mask: −1000 on the target logit takes it out of the softmax.
    const ms = tf.sub(zs, tf.mul(onehot, 1000));
    const mt = tf.sub(zt, tf.mul(onehot, 1000));
    const tckd = kl(tf, binaryLogProbs(tf, zt, mt, onehot), binaryLogProbs(tf, zs, ms, onehot));
    const nckd = kl(tf, tf.logSoftmax(mt), tf.logSoftmax(ms));
    const scale = (T * T) / zs.shape[0];
    // Outside training (epoch 0) the value is the unramped DKD.
    const ramp = epoch > 0 && term.warmup > 0 ? Math.min(epoch / term.warmup, 1) : 1;
    return tf.mul(tf.add(tf.mul(tckd, term.alpha), tf.mul(nckd, term.beta)), scale * ramp);
  },
});
