// Flow of solution procedure (Yim et al., CVPR 2017) as RepDistiller distiller_zoo/FSP.py: in each
// network, the flow matrix between two layers f (from, Ca channels) and g (to, Cb channels),
//   G[i, j] = Σ_positions f_i·g_j / (h·w),  [B, Ca, Cb]
// (the larger of the two maps average-pooled to the smaller spatial size first, as compute_fsp),
// and the loss mean (G_s − G_t)² over batch and entries, as fsp_loss. RepDistiller's layout is the
// transpose, [B, Cb, Ca]: the same entries, so the same loss.
//
// RepDistiller trains FSP only in its init stage (helper/pretrain.py: the student's feature layers
// on the FSP loss alone, init_epochs = 30) and has no FSP term afterwards (loss_kd = 0), so the
// example's weight is 0: after `initEpochs` the main stage is the other terms (CE/KD) alone.
import { int, obj, opt, req, str } from '../schema/dsl';
import { pairFields, termFields } from './fields';
import { alignMaps, convProblems } from './spatial';
import { defineLoss, type Layer, type LossInputs, type Tensor, type TermProblem } from './types';
import { stopGradient, tap } from './util';

const schema = obj(
  'FSP, as RepDistiller distiller_zoo/FSP.py: the mean squared difference of the flow matrices G = fᵀ·g / (h·w) between two layers of each network (student → studentTo, teacher → teacherTo). The paired layers need equal channel counts. As RepDistiller, the loss trains the student alone for `initEpochs` first; weight 0 (the reference) then leaves the main stage to the other terms (CE/KD).',
  {
    ...termFields,
    ...pairFields,
    studentTo: req(str('The student\'s second layer: the flow runs from `student` to `studentTo`.', { minLength: 1 })),
    teacherTo: req(str('The teacher\'s second layer, matched with `studentTo`.', { minLength: 1 })),
    initEpochs: opt(
      int('Epochs of RepDistiller\'s init stage (helper/pretrain.py, --init_epochs 30): the student trained on this loss alone before distillation; 0 skips it.', {
        minimum: 0,
        maximum: 1000,
        default: 30,
      }),
    ),
  },
);

type Term = { student: string; studentTo: string; teacher: string; teacherTo: string };

/** The flow matrix [B, Ca, Cb] of maps f [B, h, w, Ca] → g [B, h', w', Cb]. */
function flow(inputs: LossInputs, f: Tensor, g: Tensor): Tensor {
  const { tf } = inputs;
  const [a, b] = alignMaps(tf, f, g);
  const [B, h, w] = a.shape;
  const flat = (x: Tensor) => tf.reshape(x, [B, h * w, -1]); // channels-last: positions × channels
  return tf.div(tf.matMul(flat(a) as never, flat(b) as never, true, false), h * w);
}

function flows(term: Term, inputs: LossInputs) {
  const { tf } = inputs;
  const t = (name: string) => stopGradient(tf, tap(inputs.teacher, name, 'teacher'));
  return {
    student: flow(inputs, tap(inputs.student, term.student, 'student'), tap(inputs.student, term.studentTo, 'student')),
    teacher: flow(inputs, t(term.teacher), t(term.teacherTo)),
  };
}

function fspLoss(term: Term, inputs: LossInputs): Tensor {
  const { student, teacher } = flows(term, inputs);
  return inputs.tf.mean(inputs.tf.squaredDifference(student, teacher));
}

const fmt = (l: Layer) => `${l.name} [${l.shape.join('×')}]`;

export default defineLoss({
  type: 'fsp',
  title: 'Flow of solution procedure (FSP)',
  paper: 'Yim, Joo, Bae & Kim, CVPR 2017',
  reference: 'RepDistiller distiller_zoo/FSP.py',
  knowledge: 'feature',
  schema,
  example: { type: 'fsp', weight: 0, student: 'conv1', studentTo: 'conv2', teacher: 'conv1', teacherTo: 'conv2', initEpochs: 30 },
  // The example teacher's conv widths (32, 64) with a narrower dense head: FSP pairs need equal channels.
  templateStudent: { type: 'cnn', conv: [{ filters: 32, kernel: 3 }, { filters: 64, kernel: 3 }], hidden: [64] },
  uses: { teacher: true },
  check(_term, { pairs }) {
    const [from, to] = pairs;
    const conv = convProblems('fsp', [
      { field: 'student', who: 'student', layer: from.student },
      { field: 'studentTo', who: 'student', layer: to.student },
      { field: 'teacher', who: 'teacher', layer: from.teacher },
      { field: 'teacherTo', who: 'teacher', layer: to.teacher },
    ]);
    if (conv.length) return conv;
    const channels = (field: string, p: { student: Layer; teacher: Layer }): TermProblem[] => {
      const [cs, ct] = [p.student.shape[2], p.teacher.shape[2]];
      return cs === ct
        ? []
        : [{ field, message: `fsp compares the flow matrices entry by entry, so paired layers need equal channel counts (RepDistiller's FSP raises the same error): student ${fmt(p.student)} has ${cs}, teacher ${fmt(p.teacher)} has ${ct}` }];
    };
    return [...channels('teacher', from), ...channels('teacherTo', to)];
  },
  compute: (term, inputs) => fspLoss(term, inputs),
  maps: (term, inputs) => [
    { ...flows(term, inputs), what: 'flow matrix G = fᵀ·g / (h·w), from × to channels', label: { student: `${term.student}>${term.studentTo}`, teacher: `${term.teacher}>${term.teacherTo}` } },
  ],
  pretrain: {
    describe: 'RepDistiller\'s init stage: the student on the FSP loss alone',
    epochs: (term) => term.initEpochs,
    student: true,
    variables: () => [],
    compute: (term, inputs) => fspLoss(term, inputs),
  },
});
