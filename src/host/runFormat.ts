// How a run reads in the tree, the CodeLens, the status bar and notifications. Pure: unit tested.
import { trainingStages } from '../core/modes';
import type { Manifest, ModelResult, ModelRole, RunModel, StageName } from '../core/protocol';
import { gapClosedPercent, omittedClassLines, trainingOutcomeText, transferText } from '../core/resultFormat';
import { comparisonText, hasGapLine, type ModelRow, headlineNames, isClassicRun, modelRows, recordsModels, runMode, shortModelResults } from '../core/modelRows';
import { percentError } from '../core/runStore';
import { formatGapSpread, formatSeeds, formatSpread, type SeedGroupSummary } from '../core/seedGroups';
import type { ModelState } from './treeNodes';

/** A live run's latest progress (from the trainer's messages). */
export interface LiveProgress {
  stage?: StageName;
  epoch?: number;
  epochs?: number;
  step?: number;
  steps?: number;
  loss?: number;
  /** Estimated time left for the whole run (a seed group: all its seeds), in ms (see RunJob.eta). */
  etaMs?: number;
  /** A seed group: which of its runs this is (0-based) of how many. */
  seed?: { index: number; count: number };
}

export function firstLine(text: string): string {
  const line = text.split('\n').find((l) => l.trim()) ?? text;
  return line.length > 200 ? `${line.slice(0, 199)}…` : line;
}

/**
 * The one progress text every view shows (notification, status bar, CodeLens, tree), from the
 * same snapshot: "teacher · epoch 2/3 · step 120/469 · ~3 min left". `compact` (the tree, where
 * width is short): "teacher 2/3 · 120/469 · ~3 min left". A seed group's run starts with "seed 2/3 · ". The epoch counts from 1: a stage that
 * has just started is in its first epoch, at step 0.
 */
export function progressText(p: LiveProgress, compact = false): string {
  const parts: string[] = [];
  const epoch = p.epoch !== undefined && p.epochs !== undefined ? `${Math.max(1, p.epoch)}/${p.epochs}` : undefined;
  if (p.seed) parts.push(`seed ${p.seed.index + 1}/${p.seed.count}`);
  if (compact) {
    if (p.stage) parts.push(epoch ? `${p.stage} ${epoch}` : p.stage);
    if (p.steps) parts.push(`${p.step ?? 0}/${p.steps}`);
  } else {
    if (p.stage) parts.push(p.stage);
    if (epoch) parts.push(`epoch ${epoch}`);
    if (p.steps) parts.push(`step ${p.step ?? 0}/${p.steps}`);
  }
  if (p.etaMs !== undefined) parts.push(`~${formatDuration(p.etaMs, true)} left`);
  return parts.join(' · ');
}

/** "loss 0.4123", or '' before the first step. */
export function lossText(p: LiveProgress): string {
  return p.loss !== undefined && Number.isFinite(p.loss) ? `loss ${p.loss.toFixed(4)}` : '';
}

/**
 * The key result in a few characters, test error in %: "S 1.9 · B 2.6 · T 1.5 % err"
 * (student, baseline, teacher; those that finished). The tooltips spell it out.
 */
export function shortResults(m: Manifest): string {
  // Another mode: each distilled model by id ("peer1 24.0 · peer2 25.7 · peer3 26.7 % err").
  if (!isClassicRun(m)) return shortModelResults(m);
  const { student, baseline, teacher } = m.results;
  const pct = (r: ModelResult) => ((100 * r.testErrors) / r.testCount).toFixed(1);
  const parts = [
    ['S', student],
    ['B', baseline],
    ['T', teacher],
  ]
    .filter((x): x is [string, ModelResult] => !!x[1])
    .map(([k, r]) => `${k} ${pct(r)}`);
  return parts.length ? `${parts.join(' · ')} % err` : '';
}

/** The one line next to a run: its key result, its progress or its error (short: see runTooltip for the rest). */
export function runDescription(m: Manifest, live?: LiveProgress): string {
  const summary = shortResults(m);
  switch (m.status) {
    case 'running':
      return (live && progressText(live, true)) || (m.stage ? `${m.stage}…` : 'starting…');
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

/** `rough`: an estimate, so minutes without seconds past the first minute ("3 min", not "3 min 12 s"). */
export function formatDuration(ms: number, rough = false): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${rough ? Math.max(5, Math.round(s / 5) * 5) : s} s`;
  const m = rough ? Math.round(s / 60) : Math.floor(s / 60);
  if (m < 60) return rough ? `${m} min` : `${m} min ${s % 60} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * When a run started, as short as it can be told apart in a list: "14:02" today, "Nov 28 14:02"
 * this year, else "2025-11-28 14:02" (local time; the tooltip has the full timestamp).
 */
export function shortTime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const hm = `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  if (d.toDateString() === now.toDateString()) return hm;
  if (d.getFullYear() === now.getFullYear()) return `${MONTHS[d.getMonth()]} ${d.getDate()} ${hm}`;
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${hm}`;
}

export function runDuration(m: Manifest, now = Date.now()): string | undefined {
  const start = Date.parse(m.startedAt);
  const end = m.endedAt ? Date.parse(m.endedAt) : m.status === 'running' ? now : NaN;
  return Number.isFinite(start) && Number.isFinite(end) ? formatDuration(end - start) : undefined;
}

/** "student: 3.3% error (65/2000), 1,276,810 params, 0.59 ms", and which epoch it kept when it chose on the validation split. */
export function modelLine(name: string, r: ModelResult): string {
  const kept = r.training ? `; ${trainingOutcomeText(r.training)}` : '';
  return `${name}: ${percentError(r)} error (${r.testErrors}/${r.testCount}), ${r.params.toLocaleString('en-US')} params, ${r.latencyMs.toFixed(2)} ms${kept}`;
}

/** Markdown for a run's hover: id, status, timing, every result, the error. */
export function runTooltip(m: Manifest): string {
  const lines = [`**${m.name}** — \`${m.id}\``, '', `Status: **${m.status}**${m.status === 'running' && m.stage ? ` (${m.stage})` : ''}`];
  const duration = runDuration(m);
  lines.push(`Started ${formatTimestamp(m.startedAt)}${duration ? ` · ${duration}` : ''}${m.backend ? ` · backend ${m.versions?.backendDetails ?? m.backend}` : ''} · seed ${m.seed}`);
  const { teacher, baseline, student, ratios, gapRecovered, transfer } = m.results;
  if (recordsModels(m)) {
    // Every model of the plan that has finished, by label, with what it is measured against.
    if (runMode(m) !== 'offline') lines.push('', `Mode: ${runMode(m)}`);
    const rows = modelRows(m).filter((r) => r.result);
    if (rows.length) lines.push('', ...rows.map((r) => `- ${modelLine(r.model.label, r.result!)}${r.comparison ? `; ${comparisonText(r)}` : ''}`));
  } else {
    const models = [
      ['teacher', teacher],
      ['baseline', baseline],
      ['student', student],
    ] as const;
    const rows = models.filter(([, r]) => r).map(([n, r]) => `- ${modelLine(n, r!)}`);
    if (rows.length) lines.push('', ...rows);
  }
  const names = headlineNames(m);
  const classic = isClassicRun(m);
  if (ratios) {
    lines.push(
      '',
      classic
        ? `Student is ${ratios.params.toFixed(1)}× smaller and ${ratios.latency.toFixed(1)}× faster than the teacher.`
        : `${capitalize(names.student)} is ${ratios.params.toFixed(1)}× smaller and ${ratios.latency.toFixed(1)}× faster than ${names.teacher}.`,
    );
  }
  if (gapRecovered !== undefined && hasGapLine(m)) {
    lines.push(
      classic
        ? `Distillation closed ${gapClosedPercent(gapRecovered)} of the baseline → teacher error gap.`
        : `${capitalize(names.student)} closed ${gapClosedPercent(gapRecovered)} of the ${names.baseline} → ${names.teacher} error gap.`,
    );
  }
  if (transfer) lines.push('', `${transferText(transfer)}.`, ...transfer.notes.map((n) => `${n[0].toUpperCase()}${n.slice(1)}.`));
  // Named as the rows above name them: the classic three by id, the models of a plan by label.
  const omitted = omittedClassLines(modelRows(m).map((r) => [recordsModels(m) ? r.model.label : r.model.id, r.result] as const));
  if (omitted.length) lines.push('', ...omitted.map((l) => `- ${l}`));
  if (m.error) lines.push('', `Error: ${firstLine(m.error)}`);
  return lines.join('\n');
}

/**
 * A seed group's line in the tree: "S 72.7 ± 2.1 err · gap 40 ± 12%" (the student's test errors
 * and the gap closed, mean ± std over its finished runs), its progress while it runs.
 */
export function groupDescription(g: SeedGroupSummary, live?: LiveProgress): string {
  const student = g.models.student;
  const result = [student ? `S ${formatSpread(student.testErrors)} err` : '', g.gapRecovered ? `gap ${formatGapSpread(g.gapRecovered)}` : ''].filter(Boolean).join(' · ');
  const partial = g.finished < g.seeds.length ? `${g.finished}/${g.seeds.length} done` : '';
  if (live) return progressText(live, true) || 'starting…';
  switch (g.status) {
    case 'running':
      return [partial, result].filter(Boolean).join(' · ') || 'running…';
    case 'done':
      return result || 'done';
    case 'failed':
    case 'cancelled': {
      const error = g.runs.find((m) => m.status === 'failed')?.error;
      return [g.status === 'failed' ? `failed${error ? `: ${firstLine(error)}` : ''}` : 'cancelled', partial, result].filter(Boolean).join(' · ');
    }
  }
}

/** Markdown for a seed group's hover: its seeds, each model's mean ± std, each seed's errors. */
export function groupTooltip(g: SeedGroupSummary): string {
  const lines = [`**${g.name}** — seed group of ${g.seeds.length} (${formatSeeds(g.seeds)})`, '', `Status: **${g.status}** · ${g.finished} of ${g.seeds.length} runs done`];
  const names = Object.keys(g.models);
  if (names.length) {
    lines.push('', `Test errors, mean ± std (sample) over ${g.finished} run${g.finished === 1 ? '' : 's'}:`, '');
    for (const name of names) {
      const m = g.models[name];
      const rate = { ...m.testAccuracy, mean: 1 - m.testAccuracy.mean };
      lines.push(`- ${name}: ${formatSpread(m.testErrors)}${m.testCount !== undefined ? ` of ${m.testCount}` : ''} (${formatSpread(rate, 2, 100)}%)`);
    }
  }
  if (g.gapRecovered) lines.push('', `Distillation closed ${formatGapSpread(g.gapRecovered)} of the baseline → teacher error gap.`);
  lines.push('', ...g.runs.map((m) => `- seed ${m.seed}: ${m.status === 'done' ? shortResults(m) : m.status}`));
  return lines.join('\n');
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

/** "−2" / "+6" / "±0": a difference in test errors, signed. */
export const signedErrors = (delta: number): string => (delta < 0 ? `−${-delta}` : delta > 0 ? `+${delta}` : '±0');

/**
 * A model's line in the tree, next to its label: "24.0% err · −2 vs peer1-alone", or
 * where it stands when it has no result yet ("training…", "waiting", "not trained").
 */
export function modelDescription(row: ModelRow, state: ModelState): string {
  const r = row.result;
  if (!r) return state === 'training' ? 'training…' : state;
  const c = row.comparison;
  // Short: a side bar is narrow; the hover has the counts.
  return `${percentError(r)} err${c ? ` · ${signedErrors(c.deltaErrors)} vs ${c.against.id}` : ''}`;
}

const ROLE_TEXT: Record<ModelRole, string> = {
  teacher: 'the teacher',
  member: 'a member of the teacher ensemble',
  baseline: 'trained alone on the labels: the control',
  student: 'the distilled student',
  peer: 'an online peer: learns from the other peers while they learn from it',
  generation: 'a born-again generation, taught by the one before it',
  ensemble: 'an ensemble of other models of this run',
  exit: 'a self-distillation exit: the network up to this layer plus its own classifier',
};

/** Markdown for a model's hover: what it is, its result and costs, what it is measured against. */
export function modelTooltip(row: ModelRow, state: ModelState): string {
  const { model, result } = row;
  const lines = [`**${model.label}** — \`${model.id}\``, '', `${capitalize(ROLE_TEXT[model.role] ?? model.role)}.`];
  if (model.members?.length) lines.push(`Averages ${model.members.join(', ')}.`);
  if (model.trained && model.epochs !== undefined) lines.push(`Trained ${model.epochs} epoch${model.epochs === 1 ? '' : 's'}${model.stage ? ` in stage ${model.stage}, together with the others of that stage` : ''}.`);
  lines.push('', result ? modelLine('Test', result) : `No result yet: ${state}.`);
  if (row.comparison) lines.push('', `${capitalize(comparisonText(row))} (${percentError(row.comparison.result)} error).`);
  return lines.join('\n');
}

/**
 * What a config's mode trains, in order, for the CodeLens over `distillation.mode`: "peer1-alone →
 * peer2-alone → peers (peer1, peer2, peer3)"; computed models last ("then ensemble of gen1, gen2").
 */
export function planText(models: RunModel[]): string {
  const stages = trainingStages(models).map((s) => (s.models.length > 1 ? `${s.stage} (${s.models.join(', ')})` : s.stage));
  const computed = models.filter((m) => !m.trained && m.members?.length).map((m) => `${m.id} of ${m.members!.join(', ')}`);
  const loaded = models.filter((m) => !m.trained && !m.members?.length).map((m) => `${m.id} loaded`);
  return [[...loaded, ...stages].join(' → '), ...computed.map((c) => `then ${c}`)].filter(Boolean).join(', ');
}
