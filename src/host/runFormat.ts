// How a run reads in the tree, the CodeLens, the status bar and notifications. Pure: unit tested.
import type { Manifest, ModelResult, StageName } from '../core/protocol';
import { percentError, summarizeResults } from '../core/runStore';

/** A live run's latest progress (from the trainer's messages). */
export interface LiveProgress {
  stage?: StageName;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loss?: number;
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/** "teacher · epoch 2/3 · loss 0.4123" (as much as is known). */
export function progressText(p: LiveProgress): string {
  const parts: string[] = [];
  if (p.stage) parts.push(p.stage);
  if (p.epoch !== undefined && p.epochs !== undefined) parts.push(`epoch ${p.epoch}/${p.epochs}`);
  if (p.loss !== undefined && Number.isFinite(p.loss)) parts.push(`loss ${p.loss.toFixed(4)}`);
  return parts.join(' · ');
}

/** The one line next to a run: its key result, its progress or its error. */
export function runDescription(m: Manifest, live?: LiveProgress): string {
  const summary = summarizeResults(m);
  switch (m.status) {
    case 'running':
      return (live && progressText(live)) || (m.stage ? `${m.stage}…` : 'starting…');
    case 'done':
      return summary || 'done';
    case 'failed':
      return `failed: ${firstLine(m.error ?? 'unknown error')}`;
    case 'cancelled':
      return summary ? `cancelled · ${summary}` : 'cancelled';
  }
}

const pad = (n: number) => String(n).padStart(2, '0');

/** Local time as `2025-11-28 06:36:12`: sortable, unambiguous, the same in every locale. */
export function formatTimestamp(iso: string): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

export function formatDuration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function runDuration(m: Manifest, now = Date.now()): string | undefined {
  const start = Date.parse(m.startedAt);
  const end = m.endedAt ? Date.parse(m.endedAt) : m.status === 'running' ? now : NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? formatDuration(end - start) : undefined;
}

export function modelLine(name: string, r: ModelResult): string {
  return `${name}: ${percentError(r)} error (${r.testErrors}/${r.testCount}), ${r.params.toLocaleString('en-US')} params, ${r.latencyMs.toFixed(2)} ms`;
}

/** Markdown for a run's hover: id, status, timing, every result, the error. */
export function runTooltip(m: Manifest): string {
  const lines = [`**${m.name}** — \`${m.id}\``, '', `Status: **${m.status}**${m.status === 'running' && m.stage ? ` (${m.stage})` : ''}`];
  const duration = runDuration(m);
  lines.push(`Started ${formatTimestamp(m.startedAt)}${duration ? ` · ${duration}` : ''}${m.backend ? ` · backend ${m.versions?.backendDetails ?? m.backend}` : ''} · seed ${m.seed}`);
  const { teacher, baseline, student, ratios, gapRecovered } = m.results;
  const models = [
    ['teacher', teacher],
    ['baseline', baseline],
    ['student', student],
  ] as const;
  const rows = models.filter(([, r]) => r).map(([n, r]) => `- ${modelLine(n, r!)}`);
  if (rows.length) lines.push('', ...rows);
  if (ratios) lines.push('', `Student is ${ratios.params.toFixed(1)}× smaller and ${ratios.latency.toFixed(1)}× faster than the teacher.`);
  if (gapRecovered !== undefined) lines.push(`Distillation closed ${(100 * gapRecovered).toFixed(0)}% of the baseline → teacher error gap.`);
  if (m.error) lines.push('', `Error: ${firstLine(m.error)}`);
  return lines.join('\n');
}
