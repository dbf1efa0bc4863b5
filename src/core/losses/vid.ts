// Variational information distillation (Ahn et al., CVPR 2019) as RepDistiller
// distiller_zoo/VID.py (VIDLoss): a regressor (1×1 conv → ReLU → 1×1 conv → ReLU → 1×1 conv, no
// biases) predicts the teacher's layer from the student's as the mean μ of a Gaussian whose
// variance is learned per teacher channel, σ²_c = softplus(α_c) + eps, α_c starting at
// log(exp(initPredVar − eps) − 1) so that σ² = initPredVar; the loss is the Gaussian NLL without
// its constant, mean over batch, positions and channels of ½·((μ − t)²/σ² + log σ²). The larger
// map is average-pooled to the smaller spatial size first. A 1×1 convolution is a matrix product
// over the channels at each position, so one [in, out] kernel serves both: dense pairs get the
// same regressor as linear layers (RepDistiller has conv layers only).
import { int, num, obj, opt } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { alignMaps, isConv } from './spatial';
import { defineLoss, type Layer, type LossInputs, type LossState, type Tensor, type Variable } from './types';
import { pairTaps, stopGradient } from './util';

interface VidState extends LossState {
  kernels: Variable[];
  logScale: Variable;
}

const schema = obj(
  'Variational information distillation, as RepDistiller distiller_zoo/VID.py: the Gaussian negative log-likelihood of the teacher layer under a mean predicted from the student layer by a trainable regressor (three 1×1 convs, or linear layers for dense pairs) and a learned variance per teacher channel; the larger map is average-pooled to the smaller size first.',
  {
    ...termFields,
    ...pairFields,
    midChannels: opt(int('Channels (units) of the regressor\'s hidden layers. Default: the teacher layer\'s channels, as RepDistiller\'s VIDLoss(s, t, t).', { minimum: 1 })),
    initPredVar: opt(num('Initial predicted variance σ² of every teacher channel (VIDLoss init_pred_var).', { exclusiveMinimum: 0, default: 5 })),
    eps: opt(num('Floor added to the variance, σ² = softplus(α) + eps (VIDLoss eps).', { minimum: 0, default: 1e-5 })),
  },
);

let created = 0;
const channels = (l: Layer) => l.shape[l.shape.length - 1];
const fmt = (l: Layer) => `${l.name} [${l.shape.join('×')}]`;

/** The regressor on a map [B, h, w, C] or a batch [B, C]: per position x·W₁ → ReLU → ·W₂ → ReLU → ·W₃. */
function regress(inputs: LossInputs, x: Tensor, [w1, w2, w3]: Variable[]): Tensor {
  const { tf } = inputs;
  const rows = tf.reshape(x, [-1, x.shape[x.rank - 1]]) as never; // every position a row: a 1×1 conv is a matMul
  const hidden = tf.relu(tf.matMul(tf.relu(tf.matMul(rows, w1 as never)), w2 as never));
  return tf.reshape(tf.matMul(hidden, w3 as never), [...x.shape.slice(0, -1), w3.shape[1]!]);
}

function predicted(inputs: LossInputs, term: { student: string; teacher: string }, state: VidState) {
  const taps = pairTaps(inputs, term);
  const [s, t] = alignMaps(inputs.tf, taps.student, stopGradient(inputs.tf, taps.teacher));
  return { student: regress(inputs, s, state.kernels), teacher: t };
}

export default defineLoss({
  type: 'vid',
  title: 'Variational information distillation',
  paper: 'Ahn, Hu, Damianou, Lawrence & Dai, CVPR 2019',
  reference: 'RepDistiller distiller_zoo/VID.py',
  knowledge: 'feature',
  schema,
  example: { type: 'vid', weight: 1, student: 'conv2', teacher: 'conv2' },
  uses: { teacher: true },
  check(_term, { pairs }) {
    const { student, teacher } = pairs[0];
    return isConv(student) === isConv(teacher)
      ? []
      : [{ field: 'teacher', message: `vid needs two conv layers or two dense layers; student ${fmt(student)} is ${isConv(student) ? 'conv' : 'dense'}, teacher ${fmt(teacher)} is ${isConv(teacher) ? 'conv' : 'dense'}` }];
  },
  createState(term, { tf, pairs, seed }): VidState {
    const id = ++created;
    const [cin, cout] = [channels(pairs[0].student), channels(pairs[0].teacher)];
    const mid = term.midChannels ?? cout;
    const sizes = [
      [cin, mid],
      [mid, mid],
      [mid, cout],
    ];
    const kernels = sizes.map((shape, k) =>
      tf.variable(tf.tidy(() => tf.initializers.glorotUniform({ seed: seed + k }).apply(shape)), true, `vid${id}/regressor${k + 1}/kernel`),
    );
    const alpha = Math.log(Math.exp(term.initPredVar - term.eps) - 1);
    const logScale = tf.variable(tf.fill([cout], alpha), true, `vid${id}/logScale`);
    const variables = [...kernels, logScale];
    return { kernels, logScale, variables, dispose: () => variables.forEach((v) => v.dispose()) };
  },
  compute(term, inputs, state) {
    const { tf } = inputs;
    const { student: mean, teacher } = predicted(inputs, term, state);
    const variance = tf.add(tf.softplus(state.logScale), term.eps); // [C]: broadcasts over the last (channel) axis
    const nll = tf.mul(0.5, tf.add(tf.div(tf.squaredDifference(mean, teacher), variance), tf.log(variance)));
    return tf.mean(nll);
  },
  maps: (term, inputs, state) => [{ ...predicted(inputs, term, state), what: 'student through the regressor (the predicted mean), at a common size' }],
});
