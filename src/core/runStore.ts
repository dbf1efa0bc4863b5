// The run store (docs/architecture.md §3): `<runsDir>/<run-id>/` holds plain files any tool can read.
//   manifest.json   status, times, backend, versions, results         (rewritten atomically)
//   config.json     the resolved config as run, with its hash          (written once)
//   metrics.jsonl   one MetricRecord per line                          (appended)
//   probes/<stage>-epoch-NNNN.json                                      (written atomically)
//   models/{teacher,baseline,student}/model.json + weights.bin
//   trainer.log
// JSON files are written to a temp file and renamed, so a crash never leaves half a file; a
// trailing partial line in metrics.jsonl (crash mid-append) is skipped by the reader.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Manifest, MetricRecord, ProbeRecord, StageName } from './protocol';

export const MANIFEST = 'manifest.json';
export const CONFIG = 'config.json';
export const METRICS = 'metrics.jsonl';
export const PROBES = 'probes';
export const MODELS = 'models';
export const LOG = 'trainer.log';

/** Writes JSON through a temp file and a rename; indented for people, `compact` for bulk data (probes). */
export function writeJsonAtomic(file: string, value: unknown, compact = false): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, compact ? undefined : 2) + '\n');
  fs.renameSync(tmp, file);
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

/** Appends metric records, one JSON object per line. */
export function appendMetrics(runDir: string, records: MetricRecord[]): void {
  if (records.length) fs.appendFileSync(path.join(runDir, METRICS), records.map((r) => JSON.stringify(r) + '\n').join(''));
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
    files = fs.readdirSync(dir).filter((f) => f.endsWith('.json') && (!stage || f.startsWith(`${stage}-`)));
  } catch {
    return [];
  }
  return files.sort().map((f) => JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8')) as ProbeRecord);
}

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Reads a run's manifest. A run still marked `running` whose trainer process is gone crashed
 * without a word (killed, power loss): it is reported as failed, so no view shows it spinning forever.
 */
export function readManifest(runDir: string): Manifest | undefined {
  let m: Manifest & { pid?: number };
  try {
    m = JSON.parse(fs.readFileSync(path.join(runDir, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
  if (m.status === 'running' && m.pid !== undefined && !isAlive(m.pid)) {
    return { ...m, status: 'failed', error: m.error ?? 'the trainer process exited without finishing the run' };
  }
  return m;
}

export interface RunEntry {
  dir: string;
  manifest: Manifest;
}

/** Every readable run in `runsDir`, newest first. */
export function listRuns(runsDir: string): RunEntry[] {
  let names: string[];
  try {
    names = fs.readdirSync(runsDir);
  } catch {
    return [];
  }
  const runs: RunEntry[] = [];
  for (const name of names) {
    const dir = path.join(runsDir, name);
    const manifest = readManifest(dir);
    if (manifest) runs.push({ dir, manifest });
  }
  return runs.sort((a, b) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.manifest.id.localeCompare(a.manifest.id));
}

/** Percent error with one decimal, e.g. "1.9%". */
export function percentError(r: { testErrors: number; testCount: number }): string {
  return `${((100 * r.testErrors) / r.testCount).toFixed(1)}%`;
}

/** The one-line result a list, tree or CodeLens shows: "student 1.9% err · baseline 2.6% · teacher 1.5%". */
export function summarizeResults(m: Manifest): string {
  const { student, baseline, teacher } = m.results;
  const parts: string[] = [];
  if (student) parts.push(`student ${percentError(student)} err`);
  if (baseline) parts.push(`baseline ${percentError(baseline)}`);
  if (teacher) parts.push(`teacher ${percentError(teacher)}`);
  return parts.join(' · ');
}

/**
 * Marks a run that its trainer could not finish itself (killed after a cancel, crashed): the
 * manifest keeps everything recorded so far and gets the final status.
 */
export function markRunEnded(runDir: string, status: 'cancelled' | 'failed', error?: string): void {
  let m: Manifest;
  try {
    m = JSON.parse(fs.readFileSync(path.join(runDir, MANIFEST), 'utf8'));
  } catch {
    return;
  }
  if (m.status !== 'running') return;
  writeJsonAtomic(path.join(runDir, MANIFEST), { ...m, status, error, endedAt: new Date().toISOString() });
}
