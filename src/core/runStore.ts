// The run store (docs/architecture.md §3): `<runsDir>/<run-id>/` holds plain files any tool can read.
//   manifest.json   status, times, backend, versions, results         (rewritten atomically)
//   config.json     the resolved config as run, with its hash          (written once)
//   metrics.jsonl   one MetricRecord per line                          (appended)
//   probes/<stage>-epoch-NNNN.json                                      (written atomically)
//   test-predictions.json  each finished model's predicted class per test example (rewritten atomically)
//   models/{teacher,baseline,student}/model.json + weights.bin
//   trainer.log
// JSON files are written to a temp file and renamed, so a crash never leaves half a file (a failed
// write removes its temp file; a killed writer's are removed once its run is over); an append that
// fails (disk full) is cut back, and a trailing partial line (crash mid-append) is skipped by the reader.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { isProcessRunning } from './processIdentity';
import { isClassicRun, runMode, summaryRows } from './modelRows';
import { CLASSIC_STAGES, type Manifest, type MetricRecord, type ProbeRecord, type StageName, type TestPredictions } from './protocol';

export const MANIFEST = 'manifest.json';
export const CONFIG = 'config.json';
export const METRICS = 'metrics.jsonl';
export const PROBES = 'probes';
export const MODELS = 'models';
export const LOG = 'trainer.log';
export const TEST_PREDICTIONS = 'test-predictions.json';

/** Temp files of atomic writes: `<file>.<pid>.<hex>.tmp` here, `.<file>.<pid>.<rand>.tmp` in modelIO. */
const TEMP_FILE = /\.(\d+)\.[0-9a-z]+\.tmp$/;

/**
 * Writes JSON through a temp file and a rename; indented for people, `compact` for bulk data (probes).
 * Creates the file's folder (a run's probes/) but not the folders above it: a run folder moved or
 * deleted while a write was starting must make the write fail, not come back as a stub.
 */
export function writeJsonAtomic(file: string, value: unknown, compact = false): void {
  try {
    fs.mkdirSync(path.dirname(file));
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(value, null, compact ? undefined : 2) + '\n');
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true }); // a full disk must not also leave a half-written temp file
    throw e;
  }
}

/**
 * The last resort when the disk is full and no temp file fits: overwrite `file` where it is, in
 * the blocks it already holds (a manifest grows by a few hundred bytes at most at its end). Not
 * atomic; used only where the alternative is recording nothing.
 */
export function overwriteJsonInPlace(file: string, value: unknown): void {
  const fd = fs.openSync(file, 'r+');
  try {
    const data = Buffer.from(JSON.stringify(value, null, 2) + '\n');
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off, off);
    fs.ftruncateSync(fd, data.length);
  } finally {
    fs.closeSync(fd);
  }
}

/** Whether a write failed for want of space (disk full or quota). */
export function isOutOfSpace(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

/** A write error as one plain line: "disk full" rather than an errno string. */
export function describeWriteError(e: unknown, file?: string): string {
  const where = file ? ` writing ${file}` : '';
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOSPC') return `disk full (no space left on device)${where}`;
  if (code === 'EDQUOT') return `disk quota exceeded${where}`;
  if (code === 'EROFS') return `read-only file system${where}`;
  return `${e instanceof Error ? e.message : String(e)}${file && !String(e).includes(file) ? where : ''}`;
}

/** Removes temp files left in a run folder by writers that are gone (killed mid-write). */
export function removeStaleTempFiles(runDir: string): void {
  const modelDirs = (() => {
    try {
      return fs.readdirSync(path.join(runDir, MODELS)).map((s) => path.join(runDir, MODELS, s));
    } catch {
      return [];
    }
  })();
  for (const dir of [runDir, path.join(runDir, PROBES), ...modelDirs]) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      const m = TEMP_FILE.exec(name);
      if (m && !isProcessRunning({ pid: Number(m[1]) })) fs.rmSync(path.join(dir, name), { force: true });
    }
  }
}

/** Stable hash of a value: keys sorted, so key order in the file does not change it. */
export function hashConfig(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(canonical)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]))
        : v;
  return crypto.createHash('sha256').update(JSON.stringify(canonical(value))).digest('hex').slice(0, 16);
}

function slug(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 40) || 'run';
}

/** Creates `<runsDir>/<yyyymmdd-hhmmss>-<name>[-n]/` and returns its id and path. */
export function createRunDir(runsDir: string, name: string, now = new Date()): { id: string; dir: string } {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  fs.mkdirSync(runsDir, { recursive: true });
  for (let n = 1; ; n++) {
    const id = `${stamp}-${slug(name)}${n > 1 ? `-${n}` : ''}`;
    const dir = path.join(runsDir, id);
    try {
      fs.mkdirSync(dir); // fails if it exists: two runs started in the same second get -2, -3…
      return { id, dir };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
  }
}

export function probeFileName(stage: StageName, epoch: number): string {
  return `${stage}-epoch-${String(epoch).padStart(4, '0')}.json`;
}

/**
 * Appends metric records, one JSON object per line. A failed append (disk full) is cut back to the
 * last whole line, so the file never ends in a broken record that a later append would glue onto.
 */
export function appendMetrics(runDir: string, records: MetricRecord[]): void {
  if (!records.length) return;
  const data = Buffer.from(records.map((r) => JSON.stringify(r) + '\n').join(''));
  const fd = fs.openSync(path.join(runDir, METRICS), 'a');
  let size = -1;
  try {
    size = fs.fstatSync(fd).size;
    for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off, data.length - off);
  } catch (e) {
    if (size >= 0) {
      try {
        fs.ftruncateSync(fd, size);
      } catch {
        /* the reader skips a cut last line anyway */
      }
    }
    throw e;
  } finally {
    fs.closeSync(fd);
  }
}

export function readMetrics(runDir: string): MetricRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, METRICS), 'utf8');
  } catch {
    return [];
  }
  const out: MetricRecord[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch {
      // A line cut short by a crash: everything before it is still good.
    }
  }
  return out;
}

export function readProbes(runDir: string, stage?: StageName): ProbeRecord[] {
  const dir = path.join(runDir, PROBES);
  let files: string[];
  try {
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && (!stage || (f.startsWith(`${stage}-epoch-`) && /^\d+\.json$/.test(f.slice(stage.length + 7)))));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ProbeRecord);
}

const isClassIndex = (v: unknown, classes: number): boolean => Number.isInteger(v) && (v as number) >= 0 && (v as number) < classes;

/**
 * Whether a parsed test-predictions.json has the shape every reader relies on: labels and each
 * model's predictions as long as one another, every entry a class index below `classes`.
 */
export function isTestPredictions(v: unknown): v is TestPredictions {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const r = v as Record<string, unknown>;
  const classes = r.classes;
  if (!Number.isInteger(classes) || (classes as number) < 1) return false;
  const column = (a: unknown): boolean => Array.isArray(a) && a.every((x) => isClassIndex(x, classes as number));
  if (!column(r.labels)) return false;
  const n = (r.labels as unknown[]).length;
  const models = r.models;
  if (typeof models !== 'object' || models === null || Array.isArray(models)) return false;
  return Object.values(models).every((p) => column(p) && (p as unknown[]).length === n);
}

/**
 * A run's test-predictions.json, or undefined when it has none (an older run, none finished yet)
 * or the file is damaged: a reader never throws over it, the views fall back to the probe set.
 */
export function readTestPredictions(runDir: string): TestPredictions | undefined {
  try {
    const value: unknown = JSON.parse(fs.readFileSync(path.join(runDir, TEST_PREDICTIONS), 'utf8'));
    return isTestPredictions(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the trainer a manifest names still runs: its pid, with its start time and boot where recorded. */
export function isTrainerRunning(m: Pick<Manifest, 'pid' | 'pidStartTime' | 'bootId'>): boolean {
  return m.pid !== undefined && isProcessRunning({ pid: m.pid, startTime: m.pidStartTime, bootId: m.bootId });
}

const STATUSES = new Set(['running', 'done', 'failed', 'cancelled']);

/** Why a parsed manifest cannot be shown, or undefined when it has the fields every reader uses. */
export function manifestProblem(m: unknown): string | undefined {
  if (typeof m !== 'object' || m === null || Array.isArray(m)) return `manifest.json holds ${m === null ? 'null' : Array.isArray(m) ? 'an array' : `a ${typeof m}`}, not a run's manifest`;
  const r = m as Record<string, unknown>;
  const missing = ['id', 'startedAt', 'status', 'results'].filter((k) => r[k] === undefined);
  if (missing.length) return `manifest.json has no ${missing.join(', ')}`;
  if (typeof r.id !== 'string' || !r.id) return 'manifest.json: id is not a string';
  if (typeof r.startedAt !== 'string') return 'manifest.json: startedAt is not a string';
  if (typeof r.status !== 'string' || !STATUSES.has(r.status)) return `manifest.json: status ${JSON.stringify(r.status)} is not one of running, done, failed, cancelled`;
  if (typeof r.results !== 'object' || r.results === null || Array.isArray(r.results)) return 'manifest.json: results is not an object';
  const results = r.results as Record<string, unknown>;
  const models = results.models;
  if (models !== undefined && (typeof models !== 'object' || models === null || Array.isArray(models))) return 'manifest.json: results.models is not an object';
  const entries = [
    ...Object.entries(results).filter(([k]) => (CLASSIC_STAGES as readonly string[]).includes(k)),
    ...Object.entries((models ?? {}) as Record<string, unknown>).map(([k, v]) => [`models.${k}`, v] as const),
  ];
  for (const [stage, v] of entries) {
    const res = v as Record<string, unknown> | null;
    if (typeof res !== 'object' || res === null || typeof res.testErrors !== 'number' || typeof res.testCount !== 'number') {
      return `manifest.json: results.${stage} has no test errors and count`;
    }
  }
  if (r.models !== undefined && (!Array.isArray(r.models) || r.models.some((m) => typeof m?.id !== 'string' || typeof m?.label !== 'string'))) {
    return 'manifest.json: models is not a list of models with ids and labels';
  }
  if (r.group !== undefined) {
    // The views gather a group's runs by it and read its seeds: a malformed one would mislead them.
    const g = r.group as Record<string, unknown> | null;
    const ok = typeof g === 'object' && g !== null && typeof g.id === 'string' && Number.isInteger(g.index) && Array.isArray(g.seeds) && g.seeds.every(Number.isInteger);
    if (!ok) return 'manifest.json: group is not { id, index, seeds }';
  }
  for (const k of ['name', 'configPath', 'endedAt', 'error', 'stage'] as const) {
    if (r[k] !== undefined && typeof r[k] !== 'string') return `manifest.json: ${k} is not a string`;
  }
  return undefined;
}

/** A run folder as read: its manifest, or why it could not be shown. */
export type RunFolderState = { manifest: Manifest } | { damaged: string };

/**
 * Reads a run folder's manifest: undefined when the folder has none (not a run), `damaged` with
 * the reason when it cannot be read or has the wrong shape. A run still marked `running` whose
 * trainer is gone crashed without a word (killed, power loss): it is reported as failed, so no
 * view shows it spinning forever, and its leftover temp files are removed.
 */
export function readRunFolder(runDir: string): RunFolderState | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(runDir, MANIFEST), 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? undefined : { damaged: `manifest.json cannot be read (${code ?? String(e)})` };
  }
  let m: Manifest;
  try {
    m = JSON.parse(text);
  } catch (e) {
    return { damaged: text.trim() ? `manifest.json is not valid JSON (${(e as Error).message})` : 'manifest.json is empty' };
  }
  const problem = manifestProblem(m);
  if (problem) return { damaged: problem };
  if (m.status === 'running' && m.pid !== undefined && !isTrainerRunning(m)) {
    try {
      removeStaleTempFiles(runDir);
    } catch {
      /* a read-only folder: nothing to tidy */
    }
    return { manifest: { ...m, status: 'failed', error: m.error ?? 'the trainer process exited without finishing the run' } };
  }
  return { manifest: m };
}

/** A run's manifest, or undefined when it has none or it is damaged (see readRunFolder). */
export function readManifest(runDir: string): Manifest | undefined {
  const state = readRunFolder(runDir);
  return state && 'manifest' in state ? state.manifest : undefined;
}

export interface RunEntry {
  dir: string;
  manifest: Manifest;
}

export interface DamagedRun {
  dir: string;
  reason: string;
}

/**
 * Every run folder in `runsDir`: the readable runs newest first, and the damaged ones with the
 * reason. Two folders with one run id (a folder copied or moved aside while its run went on) list
 * once, as the folder named after the id; the other is listed as damaged.
 */
export function scanRuns(runsDir: string): { runs: RunEntry[]; damaged: DamagedRun[] } {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return { runs: [], damaged: [] };
  }
  return collectRuns(names.map((name) => path.join(runsDir, name)).map((dir) => ({ dir, state: readRunFolder(dir) })));
}

/**
 * Run folders as read (`readRunFolder`) → the readable runs newest first and the damaged ones.
 * Two folders with one run id (a folder copied or moved aside while its run went on) list once, as
 * the folder named after the id; the other is listed as damaged.
 */
export function collectRuns(folders: { dir: string; state: RunFolderState | undefined }[]): { runs: RunEntry[]; damaged: DamagedRun[] } {
  const runs: RunEntry[] = [];
  const damaged: DamagedRun[] = [];
  for (const { dir, state } of [...folders].sort((x, y) => x.dir.localeCompare(y.dir))) {
    if (!state) continue;
    if ('damaged' in state) damaged.push({ dir, reason: state.damaged });
    else runs.push({ dir, manifest: state.manifest });
  }
  const byId = new Map<string, RunEntry>();
  for (const run of runs) {
    const other = byId.get(run.manifest.id);
    if (!other) {
      byId.set(run.manifest.id, run);
      continue;
    }
    const [keep, drop] = path.basename(run.dir) === run.manifest.id ? [run, other] : [other, run];
    byId.set(run.manifest.id, keep);
    damaged.push({ dir: drop.dir, reason: `a second copy of run ${run.manifest.id} (${keep.dir})` });
  }
  return {
    runs: [...byId.values()].sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.manifest.id.localeCompare(a.manifest.id)),
    damaged,
  };
}

/** Every readable run in `runsDir`, newest first (damaged folders left out: see scanRuns). */
export function listRuns(runsDir: string): RunEntry[] {
  return scanRuns(runsDir).runs;
}

/** Percent error with one decimal, e.g. "1.9%". */
export function percentError(r: { testErrors: number; testCount: number }): string {
  return `${((100 * r.testErrors) / r.testCount).toFixed(1)}%`;
}

/** The one-line result a list, tree or CodeLens shows: "student 1.9% err · baseline 2.6% · teacher 1.5%". */
export function summarizeResults(m: Manifest): string {
  // Another mode: its mode and every distilled model ("online: peer1 24.0% · peer2 25.7% err").
  if (!isClassicRun(m)) {
    const rows = summaryRows(m);
    return rows.length ? `${runMode(m)}: ${rows.map((r) => `${r.model.id} ${percentError(r.result!)}`).join(' · ')} err` : '';
  }
  const { student, baseline, teacher } = m.results;
  const parts: string[] = [];
  if (student) parts.push(`student ${percentError(student)} err`);
  if (baseline) parts.push(`baseline ${percentError(baseline)}`);
  if (teacher) parts.push(`teacher ${percentError(teacher)}`);
  return parts.join(' · ');
}

/**
 * Writes a run's final manifest: atomically, else (disk full) in place. Never throws; says why
 * nothing could be written.
 */
export function writeFinalManifest(runDir: string, manifest: Manifest): { ok: true } | { ok: false; reason: string } {
  const file = path.join(runDir, MANIFEST);
  try {
    writeJsonAtomic(file, manifest);
    return { ok: true };
  } catch (e) {
    if (isOutOfSpace(e)) {
      try {
        overwriteJsonInPlace(file, manifest);
        return { ok: true };
      } catch {
        /* reported below */
      }
    }
    return { ok: false, reason: `the run's status could not be recorded: ${describeWriteError(e, file)}` };
  }
}

/**
 * Marks a run that its trainer could not finish itself (killed after a cancel, crashed): the
 * manifest keeps everything recorded so far and gets the final status; temp files the trainer
 * left are removed. Never throws (it runs in exit handlers): says why when nothing could be written.
 */
export function markRunEnded(runDir: string, status: 'cancelled' | 'failed', error?: string): { ok: true } | { ok: false; reason: string } {
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(runDir, MANIFEST), 'utf8'));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { ok: false, reason: code === 'ENOENT' ? `the run folder has no manifest (${runDir})` : `its manifest cannot be read (${code ?? 'not JSON'})` };
  }
  try {
    removeStaleTempFiles(runDir);
  } catch {
    /* nothing to tidy */
  }
  if (manifestProblem(m) || m.status !== 'running') return { ok: true };
  return writeFinalManifest(runDir, { ...m, status, error, endedAt: new Date().toISOString() });
}
