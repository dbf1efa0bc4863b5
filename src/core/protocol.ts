// The one typed protocol shared by the host (extension or CLI), the trainer child process and,
// later, the webviews. Records written to the run store use the same types, so what a view
// receives live is exactly what it would read back from disk.

export type Backend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | Backend;
/** Every name `--backend` and `distillLab.backend` accept (package.json's enum lists the same). */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow', 'webgpu'];
/**
 * A model's id within a run, and the name of the stage that trains it: `teacher`, `baseline`,
 * `student` in an offline run; `teacher1`…, `peer1`…, `gen1`…, `exit-conv1`… in the others
 * (see `RunModel`). Lower-case letters, digits and `-` only: it names files and folders.
 */
export type StageName = string;
/** The three stages every run had before runs of N models; old runs hold only these. */
export const CLASSIC_STAGES = ['teacher', 'baseline', 'student'] as const;
/** What the views call the classic three when a run has no plan to label them. */
export const CLASSIC_LABELS: Record<string, string> = { teacher: 'teacher', baseline: 'baseline student', student: 'distilled student' };
/** What a model is in its run. */
export type ModelRole =
  /** The frozen (offline) teacher; with an ensemble, the averaged ensemble (not a network of its own). */
  | 'teacher'
  /** One member of a teacher ensemble. */
  | 'member'
  /** A network trained alone on cross-entropy: the control a distilled model is measured against. */
  | 'baseline'
  /** The distilled student. */
  | 'student'
  /** An online (mutual-learning) peer: learns from the other peers while they learn from it. */
  | 'peer'
  /** A born-again generation, taught by the generation before it. */
  | 'generation'
  /** An ensemble computed from other models of the run (born-again generations). */
  | 'ensemble'
  /** A self-distillation exit: the network up to one layer plus its own classifier head. */
  | 'exit';

/** One model of a run, in the order the run trains them. */
export interface RunModel {
  id: StageName;
  role: ModelRole;
  /** What views call it: "distilled student", "peer 2", "generation 3", "exit conv1". */
  label: string;
  /** Trained in this run, with curves and probes (not a loaded teacher or a computed ensemble). */
  trained: boolean;
  /** Its training epochs, when trained (the progress plan). */
  epochs?: number;
  /**
   * The stage that trains it, when it is trained together with others in one stage (online peers:
   * `peers`; self-distillation exits: `exits`); otherwise its own id. Progress counts stages.
   */
  stage?: string;
  /** The model it is measured against: a peer's or a student's own alone-trained baseline. */
  baseline?: StageName;
  /** The models a computed ensemble averages. */
  members?: StageName[];
}
export type RunStatus = 'running' | 'done' | 'failed' | 'cancelled';

/** One network's outcome on the test split, plus what it costs to run. */
export interface ModelResult {
  testAccuracy: number;
  testErrors: number;
  testCount: number;
  params: number;
  /** Forward-pass FLOPs for one example. */
  flops: number;
  /** Measured single-example inference latency (median, ms) on the run's backend. */
  latencyMs: number;
  /** Trainable parameters of the loss terms' own modules (connectors, embeddings): trained with the student, not exported. */
  lossParams?: number;
  /** Runs with omitted classes (distillation.transfer.omitClasses): the test examples of those classes. */
  omitted?: OmittedClassResult;
  /** The student with a logit bias added to the omitted classes (distillation.transfer.biasCorrection). */
  biasCorrected?: BiasCorrectedResult;
  /** How its training ended, when it chose on the validation split (`keep: "best"`, `earlyStopping`). */
  training?: TrainingOutcome;
}

/** How a network's training ended: which epoch's weights it kept, and what that was chosen on. */
export interface TrainingOutcome {
  /** Epochs trained (fewer than configured when early stopping ended the stage). */
  epochs: number;
  /** The epoch whose weights it ends with: the last, or (`keep: "best"`) the one with the fewest validation errors. */
  keptEpoch: number;
  stoppedEarly: boolean;
  /** When it chose on the validation split: the fewest validation errors of any epoch (the best epoch's; a joint stage's summed over its networks) and the split's size. */
  validationErrors?: number;
  validationCount?: number;
}

/** How a model did on the test examples of the classes its transfer set left out. */
export interface OmittedClassResult {
  classes: number[];
  correct: number;
  count: number;
}

export interface BiasCorrectedResult {
  /** Added to the omitted classes' logits. */
  bias: number;
  /** Where the bias was chosen (never the test set). */
  chosenOn: 'validation' | 'left-out';
  testErrors: number;
  testAccuracy: number;
  omitted: OmittedClassResult;
}

/** The transfer set the baseline and the student learned on (distillation.transfer). */
export interface TransferSummary {
  /** Examples in the transfer set, of the training split's `trainCount`. */
  count: number;
  trainCount: number;
  omitClasses: number[];
  labels: boolean;
  /** What the run did differently because of it, e.g. no baseline without labels. */
  notes: string[];
}

/** What a finished (or partly finished) run reports; any stage not reached is absent. */
export interface RunResults {
  /**
   * The headline three: the teacher (an ensemble's average; a born-again run's generation 0; an
   * online run's first peer), the distilled student's alone-trained baseline, and the distilled
   * student (an online run's second peer, a born-again run's last generation, a self-distilled
   * network's deepest exit). The ratios and the gap closed are computed from these.
   */
  teacher?: ModelResult;
  baseline?: ModelResult;
  student?: ModelResult;
  /** Every model's result by id, the headline three included (absent in runs before N models). */
  models?: Record<StageName, ModelResult>;
  /** teacher ÷ student: how much smaller and faster the student is. */
  ratios?: { params: number; flops: number; latency: number };
  /** Share of the baseline→teacher error gap that distillation closed (1 = all of it). */
  gapRecovered?: number;
  /** Present when the student learned on a transfer set other than the whole training split. */
  transfer?: TransferSummary;
}

/**
 * `test-predictions.json` in a run folder: every finished model's predicted class (the argmax of
 * its logits) for each test example, in the test split's order, beside the true labels. Rewritten
 * (atomically) after each model is recorded, so it holds exactly the models `results.models` has;
 * the Logits panel's agreement matrix over the whole test set is computed from it.
 */
export interface TestPredictions {
  /** The test split's true labels, in split order. */
  labels: number[];
  /** Classes the models choose among (every label and prediction is below it). */
  classes: number;
  /** Per model id: its predicted class for each test example (as long as `labels`). */
  models: Record<StageName, number[]>;
}

/**
 * A run's place in its seed group (a config with `seeds` or `repeats`, src/trainer/seedGroup.ts):
 * every run of the group has the same id and the group's seeds; `index` is this run's seed's.
 */
export interface RunGroup {
  id: string;
  /** 0-based: `seeds[index]` is this run's seed. */
  index: number;
  seeds: number[];
}

export interface Manifest {
  id: string;
  name: string;
  /** Absolute path of the config file the run came from. */
  configPath: string;
  configHash: string;
  status: RunStatus;
  startedAt: string;
  endedAt?: string;
  backend?: Backend;
  versions: Record<string, string>;
  seed: number;
  /** Set when the run is one seed of a group. */
  group?: RunGroup;
  /** The stage running now (or when the run stopped). */
  stage?: StageName;
  /** The run's models in training order (absent in runs before N models: see `runModels`). */
  models?: RunModel[];
  /** The distillation scheme (absent in older runs: offline). */
  mode?: string;
  error?: string;
  /** The trainer's process id while running: lets readers tell a crashed run from a live one. */
  pid?: number;
  /** The trainer's start time (Linux /proc/<pid>/stat field 22): a reused pid is not the trainer. */
  pidStartTime?: string;
  /** The boot the trainer ran in (Linux boot_id): after a reboot no run is still running. */
  bootId?: string;
  results: RunResults;
}

/** One line of metrics.jsonl. Every loss term is logged under its own key, unweighted. */
export type MetricRecord =
  | {
      kind: 'step';
      stage: StageName;
      epoch: number;
      step: number;
      /** Raw (unweighted) value of each term, keyed by term id (`ce`, `kd`, `hint:fc1<-fc2`). */
      losses: Record<string, number>;
      /** Σ weight·term: the loss the optimiser minimised. */
      total: number;
      lr: number;
    }
  | {
      kind: 'epoch';
      stage: StageName;
      epoch: number;
      /** Mean over the epoch's steps of each raw term. */
      losses: Record<string, number>;
      total: number;
      weights: Record<string, number>;
      trainAccuracy: number;
      /** On the validation split (absent without one): what the curves show and what a run chooses on. */
      validationAccuracy?: number;
      validationErrors?: number;
      /**
       * On the test split: only with `evaluation.testEveryEpoch` (curves, labelled as test curves),
       * and in runs made before the test set was evaluated once, at the end.
       */
      testAccuracy?: number;
      testErrors?: number;
      lr: number;
      seconds: number;
      examplesPerSecond: number;
    };

/** A feature map or vector reduced for display: row-major `rows × cols`. */
export interface Heatmap {
  rows: number;
  cols: number;
  values: number[];
}

/** How a conv map [h, w, c] is reduced over its channels to one [h, w] map. */
export type ChannelReduction = 'mean' | 'max' | 'topk';

/** Per probe sample: the teacher's map and the student's map after its connector. */
export interface PairMaps {
  teacherMaps: Heatmap[];
  studentMaps: Heatmap[];
}

/**
 * One hint pair at one probe. `teacherMaps`/`studentMaps` show a conv tap reduced by the channel
 * mean and a dense tap laid out as a grid (as in every run, old or new).
 */
export interface PairProbe extends PairMaps {
  /** The map's id: its term's id, with `#n` when a term shows several maps. */
  id: string;
  /** The term whose loss curve goes with these maps (older runs: the same as `id`). */
  termId?: string;
  student: string;
  teacher: string;
  /** What the maps are as the loss compares them ("student after its connector", "attention map"). */
  what?: string;
  /**
   * The compared tap's shape per example (the teacher's; the student's after its connector is the
   * same): [h, w, c] for a conv tap, [units] for a dense one. Absent in runs recorded before it was.
   */
  shape?: number[];
  /**
   * Conv pairs only (absent for dense pairs and in older runs): the same maps reduced over channels
   * by the max, and by the mean of the `k` largest values (k = min(probes.topK, channels)).
   */
  reduced?: { k: number; max: PairMaps; topk: PairMaps };
  /** The student map's shape when it differs from the teacher's (no difference map then). */
  studentShape?: number[];
  /** The term's loss over the probe samples (absent for a loss over training-set indices, CRD). */
  loss?: number;
}

/** One relation term's matrices over the probe samples (SP's Gram, RKD's distances, …). */
export interface RelationProbe {
  /** The term's id. */
  id: string;
  type: string;
  /** Which relation ("distance", "angle", …). */
  name: string;
  student: Heatmap;
  teacher: Heatmap;
}

/** A pair's maps under a channel reduction: the channel mean when that reduction was not recorded. */
export function pairMaps(pair: PairProbe, how: ChannelReduction): PairMaps {
  return (how !== 'mean' && pair.reduced?.[how]) || pair;
}

/** One probes/<stage>-epoch-NNNN.json file. */
export interface ProbeRecord {
  stage: StageName;
  epoch: number;
  /** Indices into the test split of the probe samples (fixed for the whole run). */
  samples: number[];
  labels: number[];
  /**
   * The probe samples' inputs for display, when they are images: one grey map per sample, values
   * scaled to 0–1 per image (channels averaged), [height, width] in `shape`. The samples never
   * change within a run, so only each stage's first and last probe records carry them.
   */
  images?: { shape: number[]; pixels: number[][] };
  /** Logits per probe sample, [sample][class]. Teacher logits are those of the frozen teacher. */
  teacherLogits?: number[][];
  studentLogits: number[][];
  pairs: PairProbe[];
  relations?: RelationProbe[];
  cka?: { teacherLayers: string[]; studentLayers: string[]; matrix: number[][] };
}

// ---- messages -------------------------------------------------------------------------------

export interface StartRequest {
  type: 'start';
  configPath: string;
  /** Folder holding run folders (`<workspace>/.distill/runs`). */
  runsDir: string;
  backend: BackendPreference;
  /** Overrides the config's probe sample count when set (a host setting). */
  probeSamples?: number;
  /** Where converted built-in datasets are cached (default: ~/.cache/distill-lab). */
  cacheDir?: string;
}

export type HostToTrainer = StartRequest | { type: 'cancel' };

export type TrainerToHost =
  | { type: 'ready'; backend: Backend; /** e.g. "wasm + OpenBLAS 0.3.21 sgemm (2 threads)" */ details: string }
  | { type: 'runCreated'; runId: string; runDir: string; group?: RunGroup }
  | { type: 'plan'; models: RunModel[] }
  | { type: 'stage'; stage: StageName; epochs: number; stepsPerEpoch: number }
  | { type: 'progress'; stage: StageName; epoch: number; epochs: number; step: number; steps: number; loss: number }
  | { type: 'metrics'; record: MetricRecord }
  | { type: 'probe'; record: ProbeRecord }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string }
  | { type: 'done'; runId: string; status: RunStatus; results: RunResults; error?: string }
  /**
   * A seed group ended: after its last run's `done` (each run sends its own). `status` is the
   * group's: done when every seed's run is; else that of the run that stopped it (later seeds are
   * not run), or cancelled when a cancel came between two runs.
   */
  | { type: 'groupDone'; groupId: string; seeds: number[]; runIds: string[]; status: RunStatus; error?: string };

export function isTrainerMessage(m: unknown): m is TrainerToHost {
  return typeof m === 'object' && m !== null && typeof (m as { type?: unknown }).type === 'string';
}
export function isHostMessage(m: unknown): m is HostToTrainer {
  const t = typeof m === 'object' && m !== null ? (m as { type?: unknown }).type : undefined;
  return t === 'start' || t === 'cancel';
}

export { termId } from './losses/termId';
