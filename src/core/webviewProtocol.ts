// The typed contract between the result panels' hosts (src/host/panels) and their webview apps
// (webview/*): one discriminated union each way, with guards, after gitlens' protocol.ts and
// vscode-dvc's webview contract. Pure TypeScript (no vscode, no DOM): imported by both sides.
//
// Sequence (docs/architecture.md §4): the webview posts `ready` first; the host answers with the panel's
// `target` and then the data (`run`, `metrics`, `probeIndex`, `testPredictions`, `layers` or `compare`); live
// changes follow as the same messages (metrics with `reset: false` append), at most ~10 Hz.
// Requests from the webview carry a `requestId` that the answer repeats.
import type { LayerInfo } from './models';
import type { MetricRecord, ProbeRecord, RunGroup, RunModel, RunResults, RunStatus, StageName, TestPredictions } from './protocol';

// ---- panels ---------------------------------------------------------------------------------

export type PanelKind = 'logits' | 'lossSplit' | 'featureMaps' | 'relations' | 'modelLayers' | 'compare';
export const PANEL_KINDS: readonly PanelKind[] = ['logits', 'lossSplit', 'featureMaps', 'relations', 'modelLayers', 'compare'];

/** `WebviewPanel.viewType`s: also the `onWebviewPanel:<viewType>` activation events. */
export const VIEW_TYPES: Record<PanelKind, string> = {
  logits: 'distillLab.logits',
  lossSplit: 'distillLab.lossSplit',
  featureMaps: 'distillLab.featureMaps',
  relations: 'distillLab.relations',
  modelLayers: 'distillLab.modelLayers',
  compare: 'distillLab.compare',
};

export const PANEL_TITLES: Record<PanelKind, string> = {
  logits: 'Logits',
  lossSplit: 'Loss Split',
  featureMaps: 'Feature Maps',
  relations: 'Relations',
  modelLayers: 'Model Layers',
  compare: 'Compare Runs',
};

/** The bundle (dist/webview/<app>.js) each panel loads. */
export const PANEL_APPS: Record<PanelKind, string> = {
  logits: 'logits',
  lossSplit: 'lossSplit',
  featureMaps: 'featureMaps',
  relations: 'relations',
  modelLayers: 'modelLayers',
  compare: 'compare',
};

/**
 * A model id as runs name them (`teacher`, `peer2`, `gen1`, `exit-conv1`, `peer1-alone`): lower-case
 * letters, digits and `-`. It names probe files, so the host only reads files of such names.
 */
export const MODEL_ID = /^[a-z0-9][a-z0-9-]{0,63}$/;
export const isStage = (v: unknown): v is StageName => typeof v === 'string' && MODEL_ID.test(v);

/**
 * What a panel shows. `follow`: the latest run (or, for modelLayers, the text) of the active
 * `*.distill.json`, `configPath` being the last one followed; otherwise pinned to `runDir`
 * (or `configPath` for modelLayers), or to `runDirs` (compare).
 */
export interface PanelTarget {
  follow: boolean;
  configPath?: string;
  runDir?: string;
  runDirs?: string[];
}

/** What the webview keeps with `setState` and the panel serializer hands back after a reload. */
export interface PanelState {
  view: PanelKind;
  target: PanelTarget;
  /** The view's own UI choices (selected sample, epoch, T, toggles): restored as they were. */
  ui?: Record<string, unknown>;
}

// ---- data -----------------------------------------------------------------------------------

export interface TermInfo {
  /** As logged: the term's `id`, else `ce`, `kd`, `hint:<student><-<teacher>`, … */
  id: string;
  type: string;
  /** The loss's name and its kind of knowledge, from the registry ("Attention transfer", feature). */
  title?: string;
  knowledge?: string;
  weight: number;
  /** For `kd`: the temperature used (its T² factor is part of the logged value). */
  temperature?: number;
  student?: string;
  teacher?: string;
  connector?: string;
}

/** A run as the panels show it: the manifest's essentials plus what the config says. */
export interface RunInfo {
  dir: string;
  id: string;
  name: string;
  configPath: string;
  status: RunStatus;
  stage?: StageName;
  startedAt: string;
  endedAt?: string;
  /** The manifest's backend details (the GPU adapter for webgpu), else its backend name. */
  backend?: string;
  error?: string;
  results: RunResults;
  /** distillation.temperature of the run's config. */
  temperature?: number;
  /** The distilled student's loss terms with their weights (from the config as run). */
  terms: TermInfo[];
  /** Epochs configured per trained model (absent: not trained in this run). */
  epochs: Partial<Record<StageName, number>>;
  /**
   * The run's models in training order with their roles and labels (`runModels`: a run recorded
   * before N models gets the classic teacher, baseline and student).
   */
  models: RunModel[];
  /** The distillation scheme: offline (also every older run), online, born-again, self. */
  mode: string;
  /** Class names when the dataset has them (built-ins); else classes are shown by index. */
  classNames?: string[];
  /** The resolved config as run (config.json's `config`): compare diffs it. */
  config?: unknown;
  /** The run's seed, and its seed group when it is one seed of a group (Compare shows a group as one row). */
  seed?: number;
  group?: RunGroup;
}

export type EpochMetric = Extract<MetricRecord, { kind: 'epoch' }>;

/**
 * Step records of one stage, column-wise: `x` is the fractional epoch (epoch − 1 + step/steps),
 * `losses[id][i]` the raw term at `x[i]`. A long history arrives bucket-averaged (see
 * `decimateSteps`); live appends are raw.
 */
export interface StepSeries {
  stage: StageName;
  x: number[];
  total: number[];
  losses: Record<string, number[]>;
}

export interface ProbeIndex {
  runDir: string;
  /** Epochs with a probe file, per model id (only models with probes are keys), ascending. */
  epochs: Record<StageName, number[]>;
  samples: number[];
  labels: number[];
  /** The probe samples' pixels (from the first probe file that has them). */
  images?: { shape: number[]; pixels: number[][] };
  /**
   * The layer pairs recorded in the probes of `pairsOf` (the distilled student when it has any;
   * every layer-pair term's maps). Another model's records carry their own `pairs`.
   */
  pairs: { id: string; termId?: string; student: string; teacher: string; what?: string }[];
  /** The relation terms recorded in `pairsOf`'s probes, and the matrices each shows. */
  relations?: { id: string; type: string; names: string[] }[];
  /** The model `pairs` and `relations` were read from. */
  pairsOf?: StageName;
  /** Models whose probes hold layer pairs, relation matrices or a CKA matrix (Feature Maps, Relations), in plan order. */
  pairModels?: StageName[];
  classes: number;
}

/** The layers view of one config, before any run. */
export interface LayersPayload {
  configPath: string;
  /** Undefined when unknown before training (a teacher from a file or an earlier run). */
  teacher?: LayerInfo[];
  student?: LayerInfo[];
  /** Why a side has no layers (e.g. "the teacher is loaded from model.json"). */
  teacherNote?: string;
  studentNote?: string;
  /** Layer-pair terms in config order, with the connector or the validator's objection. */
  pairs: LayerPair[];
  /** Errors in the config that are not about a pair (count and the first few). */
  problems: { message: string; line: number }[];
}

export interface LayerPair {
  /** Index in distillation.losses. */
  index: number;
  /** The term's loss type (`hint`, `at`, …). */
  type?: string;
  student: string;
  teacher: string;
  weight?: number;
  connector?: string;
  error?: string;
  /** 0-based line of the term in the config text (for "reveal in editor"). */
  line: number;
}

export interface CompareRun {
  run: RunInfo;
  epochs: EpochMetric[];
}

// ---- host → webview -------------------------------------------------------------------------

export type HostToWebview =
  | { type: 'target'; target: PanelTarget; /** Shown when there is nothing to show (no run yet…). */ empty?: string }
  | { type: 'run'; run: RunInfo }
  | { type: 'metrics'; runDir: string; reset: boolean; epochs: EpochMetric[]; steps: StepSeries[] }
  | { type: 'probeIndex'; index: ProbeIndex }
  | { type: 'probes'; requestId: number; runDir: string; epoch: number; records: Partial<Record<StageName, ProbeRecord>> }
  /**
   * The run's test-predictions.json (Logits: the agreement over the whole test set); absent while
   * no model has finished, in runs recorded before it, or when the file is damaged.
   */
  | { type: 'testPredictions'; runDir: string; predictions?: TestPredictions }
  | { type: 'layers'; layers: LayersPayload }
  | { type: 'compare'; runs: CompareRun[] }
  /**
   * Loss Split: the shown run's seed group, every seed's run (the shown one included) with its
   * epoch records, oldest seed first, for its mean ± std view; sent again as any of them changes.
   * `members` is empty when the run is not one seed of a group.
   */
  | { type: 'group'; runDir: string; members: CompareRun[] }
  | { type: 'exported'; requestId: number; path?: string; error?: string };

export type HostToWebviewType = HostToWebview['type'];

// ---- webview → host -------------------------------------------------------------------------

export type WebviewToHost =
  | { type: 'ready'; view: PanelKind }
  /** The probe files of one epoch, for the given stages (images left out: they are in the index). */
  | { type: 'getProbes'; requestId: number; runDir: string; epoch: number; stages: StageName[] }
  | { type: 'setFollow'; follow: boolean }
  /** Ask the host to let the user pick the run (or, for compare, runs to add). */
  | { type: 'pickRun' }
  | { type: 'removeRun'; runDir: string }
  /** Start a run of the shown config (empty state's button). */
  | { type: 'runExperiment' }
  /** Reveal a loss term of the config in the editor (layers view). */
  | { type: 'revealTerm'; index: number }
  | { type: 'export'; requestId: number; format: 'csv' | 'png'; suggestedName: string; /** CSV text, or a PNG `data:` URL. */ data: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export type WebviewToHostType = WebviewToHost['type'];

const isObj = (m: unknown): m is Record<string, unknown> => typeof m === 'object' && m !== null && !Array.isArray(m);
const isInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v);
const isStr = (v: unknown): v is string => typeof v === 'string';

/** Field checks per message type: a webview is untrusted input, so every field is checked. */
const webviewChecks: { [K in WebviewToHostType]: (m: Record<string, unknown>) => boolean } = {
  ready: (m) => PANEL_KINDS.includes(m.view as PanelKind),
  getProbes: (m) => isInt(m.requestId) && isStr(m.runDir) && isInt(m.epoch) && Array.isArray(m.stages) && m.stages.every(isStage),
  setFollow: (m) => typeof m.follow === 'boolean',
  pickRun: () => true,
  removeRun: (m) => isStr(m.runDir),
  runExperiment: () => true,
  revealTerm: (m) => isInt(m.index) && (m.index as number) >= 0,
  export: (m) =>
    isInt(m.requestId) &&
    (m.format === 'csv' || m.format === 'png') &&
    isStr(m.suggestedName) &&
    isStr(m.data) &&
    (m.format === 'csv' || (m.data as string).startsWith('data:image/png;base64,')),
  log: (m) => (m.level === 'info' || m.level === 'warn' || m.level === 'error') && isStr(m.message),
};

export function isWebviewToHost(m: unknown): m is WebviewToHost {
  if (!isObj(m) || !isStr(m.type) || !Object.prototype.hasOwnProperty.call(webviewChecks, m.type)) return false;
  return webviewChecks[m.type as WebviewToHostType](m);
}

/** `is()` guard for one message type, as gitlens' IpcMessage types offer. */
export function isWebviewMessage<T extends WebviewToHostType>(m: unknown, type: T): m is Extract<WebviewToHost, { type: T }> {
  return isWebviewToHost(m) && m.type === type;
}

/** Every host message type (a record, so that a new type cannot be left out). */
const HOST_TYPES: Record<HostToWebviewType, true> = {
  target: true,
  run: true,
  metrics: true,
  probeIndex: true,
  probes: true,
  testPredictions: true,
  layers: true,
  compare: true,
  group: true,
  exported: true,
};

/** The webview's guard for what arrives on `window.message` (other frames may post too). */
export function isHostToWebview(m: unknown): m is HostToWebview {
  return isObj(m) && isStr(m.type) && Object.prototype.hasOwnProperty.call(HOST_TYPES, m.type);
}

export function isHostMessageOf<T extends HostToWebviewType>(m: unknown, type: T): m is Extract<HostToWebview, { type: T }> {
  return isHostToWebview(m) && m.type === type;
}

export function isPanelState(s: unknown): s is PanelState {
  if (!isObj(s) || !PANEL_KINDS.includes(s.view as PanelKind) || !isObj(s.target)) return false;
  const t = s.target;
  return (
    typeof t.follow === 'boolean' &&
    (t.configPath === undefined || isStr(t.configPath)) &&
    (t.runDir === undefined || isStr(t.runDir)) &&
    (t.runDirs === undefined || (Array.isArray(t.runDirs) && t.runDirs.every(isStr))) &&
    (s.ui === undefined || isObj(s.ui))
  );
}

// ---- the step series on the wire ------------------------------------------------------------

/**
 * Bucket-averages a step series down to at most `max` points (x, total and every term averaged
 * within a bucket). A long run's 60,000 steps become a curve a chart can draw at 60 fps; the
 * averaging is what a smoothing slider would do anyway. Returns the input when it is short enough.
 */
export function decimateSteps(s: StepSeries, max: number): StepSeries {
  const n = s.x.length;
  if (n <= max || max < 1) return s;
  const size = Math.ceil(n / max);
  const mean = (a: number[]) => {
    const out: number[] = [];
    for (let i = 0; i < n; i += size) {
      let sum = 0;
      let count = 0;
      for (let j = i; j < Math.min(n, i + size); j++) {
        const v = a[j];
        if (Number.isFinite(v)) {
          sum += v;
          count++;
        }
      }
      out.push(count ? sum / count : NaN);
    }
    return out;
  };
  return {
    stage: s.stage,
    x: mean(s.x),
    total: mean(s.total),
    losses: Object.fromEntries(Object.entries(s.losses).map(([k, v]) => [k, mean(v)])),
  };
}
