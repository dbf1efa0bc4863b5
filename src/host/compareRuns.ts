// "Compare Runs" until the results panel exists: a Markdown report with the runs side by side —
// their results, then every config setting that differs. Pure (no vscode): unit tested.
import * as path from 'node:path';
import type { Manifest, ModelResult } from '../core/protocol';
import { percentError } from '../core/runStore';
import { formatTimestamp, runDuration } from './runFormat';

export interface ComparedRun {
  manifest: Manifest;
  /** The resolved config as run (config.json's `config`), if readable. */
  config?: unknown;
}

/** Flattens a config into `path → JSON value`; lists of plain values stay one value. */
export function flattenConfig(value: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  const isPlain = (v: unknown) => v === null || typeof v !== 'object';
  if (Array.isArray(value) && !value.every(isPlain)) {
    value.forEach((v, i) => flattenConfig(v, `${prefix}[${i}]`, out));
  } else if (value && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flattenConfig(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, JSON.stringify(value));
  }
  return out;
}

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const row = (cells: string[]) => `| ${cells.map(cell).join(' | ')} |`;

function errorCell(r: ModelResult | undefined): string {
  return r ? `${percentError(r)} (${r.testErrors}/${r.testCount})` : '—';
}

export function compareRunsMarkdown(runs: ComparedRun[]): string {
  const head = ['', ...runs.map((r) => `\`${r.manifest.id}\``)];
  const lines = [`# Distill Lab: ${runs.length} runs compared`, '', row(head), row(head.map(() => '---'))];
  const add = (label: string, f: (m: Manifest) => string) => lines.push(row([`**${label}**`, ...runs.map((r) => f(r.manifest))]));
  add('config', (m) => path.basename(m.configPath));
  add('status', (m) => m.status + (m.error ? `: ${m.error.split('\n')[0]}` : ''));
  add('started', (m) => formatTimestamp(m.startedAt));
  add('duration', (m) => runDuration(m) ?? '—');
  add('backend', (m) => m.backend ?? '—');
  add('teacher error', (m) => errorCell(m.results.teacher));
  add('baseline error', (m) => errorCell(m.results.baseline));
  add('student error', (m) => errorCell(m.results.student));
  add('gap closed', (m) => (m.results.gapRecovered === undefined ? '—' : `${(100 * m.results.gapRecovered).toFixed(0)}%`));
  add('teacher ÷ student params', (m) => (m.results.ratios ? `${m.results.ratios.params.toFixed(1)}×` : '—'));
  add('student latency', (m) => (m.results.student ? `${m.results.student.latencyMs.toFixed(2)} ms` : '—'));

  lines.push('', '## Config differences', '');
  const flat = runs.map((r) => (r.config === undefined ? undefined : flattenConfig(r.config)));
  const keys = [...new Set(flat.flatMap((f) => (f ? [...f.keys()] : [])))].sort();
  const differing = keys.filter((k) => new Set(flat.map((f) => (f ? (f.get(k) ?? '—') : '?'))).size > 1);
  if (flat.some((f) => !f)) lines.push(`Some runs have no readable config.json (marked ?).`, '');
  if (!differing.length) {
    lines.push('The runs used the same config.');
  } else {
    lines.push(row(['setting', ...runs.map((r) => `\`${r.manifest.id}\``)]), row(['---', ...runs.map(() => '---')]));
    for (const k of differing) lines.push(row([`\`${k}\``, ...flat.map((f) => (f ? (f.get(k) ?? '—') : '?'))]));
  }
  return lines.join('\n') + '\n';
}
