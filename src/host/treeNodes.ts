// The elements of the Experiments tree — config → runs (a seed group → its runs) → artifacts — and what a run folder
// holds. Pure (no vscode): commands receive these elements from menus, tests read them.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type ModelRow, modelRows, recordsModels } from '../core/modelRows';
import { CLASSIC_STAGES, type Manifest, type StageName } from '../core/protocol';
import { CONFIG, LOG, MANIFEST, METRICS, MODELS, PROBES, type RunEntry } from '../core/runStore';
import type { RunJob } from './runJob';

export interface ExperimentNode {
  readonly kind: 'experiment';
  readonly configPath: string;
}

/** Runs whose config is not in the workspace (moved, deleted, or run from elsewhere). */
export interface OtherRunsNode {
  readonly kind: 'otherRuns';
}

export interface RunNode {
  readonly kind: 'run';
  /** Replaced when the manifest is re-read; the node object stays the same (tree identity). */
  entry: RunEntry;
  readonly parent: ExperimentNode | OtherRunsNode | SeedGroupNode;
}

/** A seed group (a config with `seeds` or `repeats`): one node with the group's mean ± std, its runs under it. */
export interface SeedGroupNode {
  readonly kind: 'seedGroup';
  /** The group id its runs' manifests carry. */
  readonly id: string;
  /** Its runs in seed order; replaced when manifests are re-read (the node object stays the same). */
  entries: RunEntry[];
  readonly parent: ExperimentNode | OtherRunsNode;
}

export interface QueuedNode {
  readonly kind: 'queued';
  readonly job: RunJob;
  readonly parent: ExperimentNode;
}

export type ArtifactType = 'metrics' | 'log' | 'manifest' | 'config' | 'probes' | 'probe' | 'model';

export interface ArtifactInfo {
  readonly type: ArtifactType;
  readonly label: string;
  /** The file to open (for a model its model.json; for probes the folder). */
  readonly path: string;
  readonly description?: string;
  readonly stage?: StageName;
}

export interface ArtifactNode extends ArtifactInfo {
  readonly kind: 'artifact';
  readonly parent: RunNode | ArtifactNode;
}

/** Where a model of a run stands. */
export type ModelState = 'done' | 'training' | 'waiting' | 'not trained';

/** One model of a run (a run that records its models: see `runChildren`). */
export interface ModelInfo {
  readonly row: ModelRow;
  readonly state: ModelState;
  /** Its saved model.json, when the run saved one (a computed ensemble has none). */
  readonly path?: string;
}

export interface ModelNode extends ModelInfo {
  readonly kind: 'model';
  readonly parent: RunNode;
}

/** A run folder whose manifest cannot be shown (not JSON, wrong shape): listed with the reason. */
export interface DamagedRunNode {
  readonly kind: 'damaged';
  readonly dir: string;
  readonly reason: string;
  readonly parent: OtherRunsNode;
}

export type TreeNode = ExperimentNode | OtherRunsNode | SeedGroupNode | RunNode | QueuedNode | ModelNode | ArtifactNode | DamagedRunNode;

const exists = (p: string) => fs.existsSync(p);

/**
 * A run's children in the tree. A run that records its models: one node per model of its plan
 * (training order), then its files; a saved network opens from its model's node. A run recorded
 * before N models: its files only, the saved models among them, exactly as such runs always showed.
 */
export function runChildren(entry: RunEntry): (ModelInfo | ArtifactInfo)[] {
  if (!recordsModels(entry.manifest)) return listArtifacts(entry.dir);
  const models = modelRows(entry.manifest).map((row): ModelInfo => {
    const file = path.join(entry.dir, MODELS, row.model.id, 'model.json');
    return { row, state: modelState(row, entry.manifest), ...(exists(file) ? { path: file } : {}) };
  });
  return [...models, ...listArtifacts(entry.dir, false)];
}

export const isModelInfo = (x: ModelInfo | ArtifactInfo): x is ModelInfo => 'row' in x;

function modelState(row: ModelRow, m: Manifest): ModelState {
  if (row.result) return 'done';
  if (m.status !== 'running') return 'not trained';
  return m.stage !== undefined && (row.model.stage ?? row.model.id) === m.stage ? 'training' : 'waiting';
}

/** What a run folder holds, in the order the tree shows it; absent files are left out. `models`: the saved classic three too. */
export function listArtifacts(runDir: string, models = true): ArtifactInfo[] {
  const out: ArtifactInfo[] = [];
  const file = (type: ArtifactType, label: string, name: string, description?: string) => {
    const p = path.join(runDir, name);
    if (exists(p)) out.push({ type, label, path: p, description: description ?? name });
  };
  file('metrics', 'Metrics', METRICS);
  file('log', 'Log', LOG);
  const probes = listProbeFiles(path.join(runDir, PROBES));
  if (probes.length) out.push({ type: 'probes', label: 'Probes', path: path.join(runDir, PROBES), description: `${probes.length} file${probes.length === 1 ? '' : 's'}` });
  for (const stage of models ? CLASSIC_STAGES : []) {
    const model = path.join(runDir, MODELS, stage, 'model.json');
    if (exists(model)) out.push({ type: 'model', label: `${stage[0].toUpperCase()}${stage.slice(1)} model`, path: model, stage, description: `models/${stage}` });
  }
  file('config', 'Config as run', CONFIG);
  file('manifest', 'Manifest', MANIFEST);
  return out;
}

/** Probe files, oldest first (stage, then epoch, as the names sort). */
export function listProbeFiles(probesDir: string): ArtifactInfo[] {
  let names: string[];
  try {
    names = fs.readdirSync(probesDir).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  const order: Record<string, number> = { teacher: 0, baseline: 1, student: 2 };
  const key = (f: string) => `${order[f.split('-')[0]] ?? 9}${f}`;
  return names
    .sort((a, b) => key(a).localeCompare(key(b)))
    .map((f) => ({ type: 'probe' as const, label: f.replace(/\.json$/, ''), path: path.join(probesDir, f) }));
}

/** The newest probe file of the last stage recorded, if any. */
export function latestProbeFile(runDir: string): string | undefined {
  return listProbeFiles(path.join(runDir, PROBES)).at(-1)?.path;
}

export const isRunNode = (x: unknown): x is RunNode => isNode(x) && x.kind === 'run';
export const isExperimentNode = (x: unknown): x is ExperimentNode => isNode(x) && x.kind === 'experiment';
export const isQueuedNode = (x: unknown): x is QueuedNode => isNode(x) && x.kind === 'queued';
export const isModelNode = (x: unknown): x is ModelNode => isNode(x) && x.kind === 'model';
export const isArtifactNode = (x: unknown): x is ArtifactNode => isNode(x) && x.kind === 'artifact';
export const isSeedGroupNode = (x: unknown): x is SeedGroupNode => isNode(x) && x.kind === 'seedGroup';

function isNode(x: unknown): x is TreeNode {
  return typeof x === 'object' && x !== null && typeof (x as { kind?: unknown }).kind === 'string';
}
