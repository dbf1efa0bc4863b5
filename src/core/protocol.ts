// The one typed protocol shared by the host (extension or CLI), the trainer child process and,
// later, the webviews. Records written to the run store use the same types, so what a view
// receives live is exactly what it would read back from disk.

export type Backend = 'tensorflow' | 'webgpu' | 'wasm' | 'cpu';
export type BackendPreference = 'auto' | Backend;
/** Every name `--backend` and `distillLab.backend` accept (package.json's enum lists the same). */
export const BACKEND_PREFERENCES: readonly BackendPreference[] = ['auto', 'wasm', 'cpu', 'tensorflow', 'webgpu'];
export type StageName = 'teacher' | 'baseline' | 'student';
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
}

/** What a finished (or partly finished) run reports; any stage not reached is absent. */
export interface RunResults {
  teacher?: ModelResult;
  baseline?: ModelResult;
  student?: ModelResult;
  /** teacher ÷ student: how much smaller and faster the student is. */
  ratios?: { params: number; flops: number; latency: number };
  /** Share of the baseline→teacher error gap that distillation closed (1 = all of it). */
  gapRecovered?: number;
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
      testAccuracy: number;
      testErrors: number;
      validationAccuracy?: number;
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
