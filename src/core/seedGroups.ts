// Seed groups (a config with `seeds` or `repeats`): one run per seed, each an ordinary run folder
// whose manifest names the group (`Manifest.group`). Here: which seeds a config asks for, and the
// group's results over its runs — mean and sample standard deviation of every model's test errors
// and accuracy and of the gap closed — which the CLI, the Experiments tree and Compare all show.
// Pure: no fs, no vscode (the webviews use it too).
import type { DistillConfig } from './config/schema';
import { modelResult } from './modes';
import type { Manifest, ModelResult, RunGroup, RunResults, RunStatus } from './protocol';

/** The seeds of a grouped config, in order; undefined when the config is one run (`seed` alone). */
export function groupSeeds(config: Pick<DistillConfig, 'seed' | 'seeds' | 'repeats'>): number[] | undefined {
  if (config.seeds) return [...config.seeds];
  if (config.repeats !== undefined) return Array.from({ length: config.repeats }, (_, i) => config.seed + i);
  return undefined;
}

/** The config one seed of the group runs: that seed, no `seeds`/`repeats` (so its config.json reruns just it). */
export function configForSeed(config: DistillConfig, seed: number): DistillConfig {
  const { seeds: _seeds, repeats: _repeats, ...single } = config;
  return { ...single, seed };
}

/** Mean and sample standard deviation (n − 1) of n values; no std for a single value. */
export interface Spread {
  mean: number;
  std?: number;
  n: number;
}

export function meanStd(values: number[]): Spread | undefined {
  const n = values.length;
  if (!n) return undefined;
  const mean = values.reduce((a, v) => a + v, 0) / n;
  if (n < 2) return { mean, n };
  const ss = values.reduce((a, v) => a + (v - mean) ** 2, 0);
  return { mean, std: Math.sqrt(ss / (n - 1)), n };
}

/** Several runs' curves at each x: the mean, and the mean ± one sample std as a band's edges. */
export interface SpreadCurve {
  mean: (number | null)[];
  lower: (number | null)[];
  upper: (number | null)[];
}

/**
 * The mean ± std curve of several runs' curves on one x axis (a column per run, null where a run
 * has no value: one that stopped early has none past its end). Where one run has a value the band
 * is that value; where none has, all null.
 */
export function spreadCurve(columns: (number | null)[][]): SpreadCurve {
  const length = Math.max(0, ...columns.map((c) => c.length));
  const out: SpreadCurve = { mean: [], lower: [], upper: [] };
  for (let i = 0; i < length; i++) {
    const s = meanStd(columns.map((c) => c[i]).filter((v): v is number => typeof v === 'number' && Number.isFinite(v)));
    out.mean.push(s ? s.mean : null);
    out.lower.push(s ? s.mean - (s.std ?? 0) : null);
    out.upper.push(s ? s.mean + (s.std ?? 0) : null);
  }
  return out;
}

export interface GroupModelSummary {
  testErrors: Spread;
  testAccuracy: Spread;
  /** The test split's size, when it is the same in every run (it is unless the data changed). */
  testCount?: number;
}

/** What the aggregation reads of a run: a manifest, or the panels' RunInfo. */
export interface GroupMember {
  name: string;
  configPath: string;
  status: RunStatus;
  startedAt: string;
  seed?: number;
  group?: RunGroup;
  results: RunResults;
}

export interface SeedGroupSummary<T extends GroupMember = Manifest> {
  id: string;
  name: string;
  configPath: string;
  /** The seeds the group was to run, in order. */
  seeds: number[];
  /** Its runs found, in seed order (a seed not started yet, or never, has none). */
  runs: T[];
  /**
   * running while a run is; done when every seed's run is done; else failed or cancelled as the
   * run that stopped it was (all runs done but seeds missing: the group was stopped between runs).
   */
  status: RunStatus;
  /** When its first run started. */
  startedAt: string;
  /** Runs that finished (done): the statistics are over these. */
  finished: number;
  /** Per model — the headline teacher, baseline and student, and each model of the plan by id (peer1, gen2, …) — over the finished runs that have its result. */
  models: Record<string, GroupModelSummary>;
  /** Share of the baseline → teacher error gap closed, over the finished runs whose teacher beat their baseline. */
  gapRecovered?: Spread;
}

const isModelResult = (v: unknown): v is ModelResult =>
  typeof v === 'object' && v !== null && typeof (v as ModelResult).testErrors === 'number' && typeof (v as ModelResult).testCount === 'number';

/** A group's results from its runs' manifests (any order; runs of other groups must not be passed). */
export function summarizeSeedGroup<T extends GroupMember>(manifests: T[]): SeedGroupSummary<T> {
  const runs = [...manifests].sort((a, b) => (a.group?.index ?? 0) - (b.group?.index ?? 0) || a.startedAt.localeCompare(b.startedAt));
  const first = runs[0];
  // The seeds as the newest run knows them (all runs of a group carry the same list).
  const seeds = runs.at(-1)?.group?.seeds ?? runs.map((m) => m.seed ?? 0);
  const finished = runs.filter((m) => m.status === 'done');
  const models: Record<string, GroupModelSummary> = {};
  // The headline results (teacher, baseline, student) and every model of the plan by its id (peers, generations, exits).
  const names = [...new Set(finished.flatMap((m) => [...Object.keys(m.results).filter((k) => isModelResult(m.results[k as keyof typeof m.results])), ...Object.keys(m.results.models ?? {})]))];
  for (const name of names) {
    const results = finished.map((m) => modelResult(m.results, name)).filter(isModelResult);
    const counts = new Set(results.map((r) => r.testCount));
    models[name] = {
      testErrors: meanStd(results.map((r) => r.testErrors))!,
      testAccuracy: meanStd(results.map((r) => r.testAccuracy))!,
      ...(counts.size === 1 ? { testCount: results[0].testCount } : {}),
    };
  }
  // Only where the teacher beat its baseline: elsewhere there is no gap to close, and the ratio
  // (student's gain over a negative gap) would say nothing about distillation.
  const gaps = finished
    .filter((m) => m.results.teacher && m.results.baseline && m.results.teacher.testErrors < m.results.baseline.testErrors)
    .map((m) => m.results.gapRecovered)
    .filter((g): g is number => typeof g === 'number' && Number.isFinite(g));
  const gapRecovered = meanStd(gaps);
  return {
    id: first?.group?.id ?? '',
    name: first?.name ?? '',
    configPath: first?.configPath ?? '',
    seeds,
    runs,
    status: groupStatus(runs, seeds.length),
    startedAt: first?.startedAt ?? '',
    finished: finished.length,
    models,
    ...(gapRecovered ? { gapRecovered } : {}),
  };
}

function groupStatus(runs: GroupMember[], planned: number): RunStatus {
  if (runs.some((m) => m.status === 'running')) return 'running';
  const stopped = runs.find((m) => m.status === 'failed' || m.status === 'cancelled');
  if (stopped) return stopped.status;
  return runs.length >= planned ? 'done' : 'cancelled';
}

/** A listing's entries with each seed group's runs gathered into one, where its newest run was. */
export type GroupedEntry<T> = { kind: 'run'; entry: T } | { kind: 'group'; id: string; entries: T[] };

export function groupEntries<T>(entries: T[], manifestOf: (entry: T) => Pick<GroupMember, 'group'>): GroupedEntry<T>[] {
  const out: GroupedEntry<T>[] = [];
  const groups = new Map<string, T[]>();
  for (const entry of entries) {
    const id = manifestOf(entry).group?.id;
    if (!id) {
      out.push({ kind: 'run', entry });
      continue;
    }
    let members = groups.get(id);
    if (!members) {
      groups.set(id, (members = []));
      out.push({ kind: 'group', id, entries: members });
    }
    members.push(entry);
  }
  for (const members of groups.values()) members.sort((a, b) => (manifestOf(a).group?.index ?? 0) - (manifestOf(b).group?.index ?? 0));
  return out;
}

/** "72.7 ± 2.1" (one value: "72.0"): `digits` after the point for both. */
export function formatSpread(s: Spread, digits = 1, scale = 1): string {
  const mean = (s.mean * scale).toFixed(digits);
  return s.std === undefined ? mean : `${mean} ± ${(s.std * scale).toFixed(digits)}`;
}

/** The gap closed over a group, in whole percent: "40 ± 12%" (one run: "40%"). */
export function formatGapSpread(s: Spread): string {
  return `${formatSpread(s, 0, 100)}%`;
}

/** The seeds as written short: "1, 2, 3" (at most 6, then "…"). */
export function formatSeeds(seeds: number[]): string {
  return seeds.length > 6 ? `${seeds.slice(0, 5).join(', ')}, … ${seeds.at(-1)}` : seeds.join(', ');
}

/**
 * The one-line result of a group in a listing: "student 72.7 ± 2.1 errors · baseline 79.0 ± 1.0 ·
 * teacher 70.7 ± 0.6 · gap closed 40 ± 12% (3 of 3 seeds)".
 */
export function summarizeGroupLine(g: SeedGroupSummary<GroupMember>): string {
  const parts: string[] = [];
  for (const name of ['student', 'baseline', 'teacher', ...Object.keys(g.models).filter((k) => !['student', 'baseline', 'teacher'].includes(k))]) {
    const m = g.models[name];
    if (m) parts.push(`${name} ${formatSpread(m.testErrors)}${parts.length ? '' : ' errors'}`);
  }
  if (g.gapRecovered) parts.push(`gap closed ${formatGapSpread(g.gapRecovered)}${g.gapRecovered.n < g.finished ? ` (${g.gapRecovered.n} with a gap)` : ''}`);
  const seeds = `${g.finished} of ${g.seeds.length} seed${g.seeds.length === 1 ? '' : 's'}`;
  return parts.length ? `${parts.join(' · ')} (${seeds})` : seeds;
}
