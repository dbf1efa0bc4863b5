// Hinton's soft-target loss as RepDistiller distiller_zoo/KD.py (DistillKL):
// F.kl_div(log_softmax(y_s/T), softmax(y_t/T), reduction='sum') · T² / batch, i.e.
// T²·Σ_c p_t(c)·(log p_t(c) − log p_s(c)) summed over classes and averaged over the batch. Its
// gradient wrt the student's logits is T·(p_s − p_t)/batch.
import { obj } from '../schema/dsl';
import { temperatureField, termFields } from './fields';
import { defineLoss } from './types';
import { stopGradient, tap } from './util';

export default defineLoss({
  type: 'kd',
  title: 'Soft targets (KD)',
  paper: 'Hinton, Vinyals & Dean, 2015',
  reference: 'RepDistiller distiller_zoo/KD.py',
  knowledge: 'response',
  schema: obj(
    'Hinton\'s soft-target loss, as RepDistiller distiller_zoo/KD.py: T²·KL(softmax(z_t/T) ‖ softmax(z_s/T)), summed over classes, averaged over the batch.',
    { ...termFields, temperature: temperatureField },
  ),
  example: { type: 'kd', weight: 0.9 },
  uses: { teacher: true },
  compute(term, { tf, student, teacher, temperature }) {
    const T = term.temperature ?? temperature;
    const zs = tap(student, 'logits', 'student');
    const zt = stopGradient(tf, tap(teacher, 'logits', 'teacher'));
    const logPs = tf.logSoftmax(tf.div(zs, T));
    const logPt = tf.logSoftmax(tf.div(zt, T));
    // p_t = 0 gives 0·(finite) = 0, kl_div's convention.
    const kl = tf.sum(tf.mul(tf.exp(logPt), tf.sub(logPt, logPs)));
    return tf.mul(kl, (T * T) / zs.shape[0]);
  },
});
