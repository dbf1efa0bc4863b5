// Activation boundaries (Heo et al., AAAI 2019) as RepDistiller distiller_zoo/AB.py (ABLoss,
// margin 1): with s the student layer through its connector and t the teacher layer, the
// alternative L2 loss
//   Σ (s + m)²·[s > −m]·[t ≤ 0] + (s − m)²·[s ≤ m]·[t > 0]
// summed over every element, divided by the batch size and scaled by 3/1000 as the reference (its
// per-layer weights 2^(i−n+1) are 1 for a single layer; each term here is one layer pair). It
// pushes each student neuron beyond the margin on the side of the teacher's activation boundary.
//
// The connector is RepDistiller's Connector: none when the shapes are equal, else a 1×1 conv (or
// a linear map for dense layers) and a batch norm (its ConvReg with use_relu=False; the norm's
// running averages serve the probes); its strided convs for unequal spatial sizes are not offered
// (conv1x1 needs equal sizes, as for hint).
// RepDistiller reads pre-activation features (preact=True); our taps are after the activation.
// The teacher's boundary [t > 0] is the same either way for ReLU; the student's negative side is
// reached only through a connector.
//
// RepDistiller trains AB only in its init stage (helper/pretrain.py: the student's feature layers
// and the connector on this loss alone, init_epochs 30) and has no AB term afterwards
// (loss_kd = 0), so the example's weight is 0: after `initEpochs` the main stage is CE/KD alone.
import { resolveConnector } from '../models';
import { int, num, obj, oneOf, opt } from '../schema/dsl';
import { connectorForPair, type Connector } from './connector';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type LossState } from './types';
import { pairTaps, stopGradient } from './util';

interface AbState extends LossState {
  connector: Connector;
}

const schema = obj(
  'Activation-boundary transfer, as RepDistiller distiller_zoo/AB.py: a margin loss pushing each student neuron (through a trainable connector) to the teacher\'s side of the activation boundary. As RepDistiller, it trains the student and the connector alone for `initEpochs` first; weight 0 (the reference) then leaves the main stage to the other terms (CE/KD).',
  {
    ...termFields,
    ...pairFields,
    margin: opt(num('Margin m around the boundary (ABLoss margin).', { minimum: 0, default: 1 })),
    connector: opt(
      oneOf(
        'Maps the student layer to the teacher\'s shape (RepDistiller\'s Connector): `auto` picks `none` when shapes match, else `linear` (dense) or `conv1x1` (conv), each followed by a batch norm as the reference\'s ConvReg; `none` requires equal shapes.',
        ['auto', 'none', 'linear', 'conv1x1'],
        { default: 'auto' },
      ),
    ),
    initEpochs: opt(
      int('Epochs of RepDistiller\'s init stage (helper/pretrain.py, --init_epochs 30): the student and the connector trained on this loss alone before distillation; 0 skips it.', {
        minimum: 0,
        maximum: 1000,
        default: 30,
      }),
    ),
  },
);

type Term = { student: string; teacher: string; margin: number };

function pair(inputs: LossInputs, term: Term, state: AbState) {
  const { student, teacher } = pairTaps(inputs, term);
  return { student: state.connector.apply(student, inputs.training), teacher: stopGradient(inputs.tf, teacher) };
}

function abLoss(term: Term, inputs: LossInputs, state: AbState) {
  const { tf } = inputs;
  const { student: s, teacher: t } = pair(inputs, term, state);
  const m = term.margin;
  // tf.step(x) = [x > 0] with a zero gradient: the indicators select, they are not differentiated.
  const teacherOff = tf.sub(1, tf.step(t)); // [t ≤ 0]
  const below = tf.mul(tf.square(tf.add(s, m)), tf.mul(tf.step(tf.add(s, m)), teacherOff)); // s > −m while t ≤ 0
  const above = tf.mul(tf.square(tf.sub(s, m)), tf.mul(tf.sub(1, tf.step(tf.sub(s, m))), tf.step(t))); // s ≤ m while t > 0
  return tf.mul(tf.sum(tf.add(below, above)), 3 / 1000 / s.shape[0]);
}

export default defineLoss({
  type: 'ab',
  title: 'Activation boundaries (AB)',
  paper: 'Heo, Lee, Yun & Choi, AAAI 2019',
  reference: 'RepDistiller distiller_zoo/AB.py',
  knowledge: 'feature',
  schema,
  example: { type: 'ab', weight: 0, student: 'conv2', teacher: 'conv2', initEpochs: 30 },
  uses: { teacher: true },
  check(term, { pairs }) {
    const r = resolveConnector(term.connector, pairs[0].student, pairs[0].teacher);
    return 'error' in r ? [{ field: term.connector === 'auto' ? 'teacher' : 'connector', message: r.error }] : [];
  },
  createState(term, { tf, pairs, seed }): AbState {
    const connector = connectorForPair(tf, term.connector, pairs[0], seed, true);
    return { connector, variables: connector.variables, dispose: () => connector.dispose() };
  },
  compute: (term, inputs, state) => abLoss(term, inputs, state),
  maps: (term, inputs, state) => [{ ...pair(inputs, term, state), what: 'student after its connector (compared by sign against the margin)' }],
  pretrain: {
    describe: 'RepDistiller\'s init stage: the student and the connector on the AB loss alone',
    epochs: (term) => term.initEpochs,
    student: true,
    variables: (state) => state.variables,
    compute: (term, inputs, state) => abLoss(term, inputs, state),
  },
});
