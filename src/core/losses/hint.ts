// FitNet hint (Romero et al., 2015) as RepDistiller distiller_zoo/FitNet.py (HintLoss =
// nn.MSELoss()): the mean over all elements of (connector(f_s) − f_t)², with a trainable connector
// (RepDistiller's ConvReg) mapping the student layer onto the teacher's shape. Optionally FitNets'
// stage 1 first: the student (up to the hint layer) and the connector trained on the hint alone.
import { resolveConnector } from '../models';
import { int, obj, oneOf, opt } from '../schema/dsl';
import { connectorForPair, type Connector } from './connector';
import { pairFields, termFields } from './fields';
import { defineLoss, type LossInputs, type LossState } from './types';
import { pairTaps, stopGradient } from './util';

interface HintState extends LossState {
  connector: Connector;
}

const schema = obj('FitNet hint (RepDistiller HintLoss): mean squared error between a teacher layer and a student layer passed through a trainable connector.', {
  ...termFields,
  ...pairFields,
  connector: opt(
    oneOf(
      'Maps the student layer to the teacher\'s shape: `auto` picks `none` when shapes match, else `linear` (dense) or `conv1x1` (conv); `none` requires equal shapes.',
      ['auto', 'none', 'linear', 'conv1x1'],
      { default: 'auto' },
    ),
  ),
  stage1Epochs: opt(
    int('FitNets\' stage 1: epochs training the student and the connector on this hint alone before distillation (0: train jointly, as RepDistiller does).', {
      minimum: 0,
      maximum: 1000,
      default: 0,
    }),
  ),
});

function pair(inputs: LossInputs, term: { student: string; teacher: string }, state: HintState) {
  const { student, teacher } = pairTaps(inputs, term);
  return { student: state.connector.apply(student, inputs.training), teacher: stopGradient(inputs.tf, teacher) };
}

function mse(inputs: LossInputs, term: { student: string; teacher: string }, state: HintState) {
  const { tf } = inputs;
  const p = pair(inputs, term, state);
  return tf.mean(tf.squaredDifference(p.student, p.teacher));
}

export default defineLoss({
  type: 'hint',
  title: 'FitNet hint',
  paper: 'Romero et al., ICLR 2015',
  reference: 'RepDistiller distiller_zoo/FitNet.py',
  knowledge: 'feature',
  schema,
  example: { type: 'hint', weight: 100, student: 'fc1', teacher: 'fc2' },
  uses: { teacher: true },
  check(term, { pairs }) {
    const r = resolveConnector(term.connector, pairs[0].student, pairs[0].teacher);
    return 'error' in r ? [{ field: term.connector === 'auto' ? 'teacher' : 'connector', message: r.error }] : [];
  },
  createState(term, { tf, pairs, seed }): HintState {
    const connector = connectorForPair(tf, term.connector, pairs[0], seed);
    return { connector, variables: connector.variables, dispose: () => connector.dispose() };
  },
  compute: (term, inputs, state) => mse(inputs, term, state),
  maps: (term, inputs, state) => [{ ...pair(inputs, term, state), what: 'student after its connector' }],
  pretrain: {
    describe: 'FitNets stage 1: the student up to the hint layer and the connector, on the hint alone',
    epochs: (term) => term.stage1Epochs,
    student: true,
    variables: (state) => state.variables,
    compute: (term, inputs, state) => mse(inputs, term, state),
  },
});
