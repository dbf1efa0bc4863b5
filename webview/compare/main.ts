// Compare panel: two or more runs' curves overlaid (any logged metric of any model the runs
// train) and their configs diffed, with each run's results side by side: the headline teacher,
// baseline and student, and a "models" cell with the run's other models (peers, generations, …);
// a seed group's runs as one row of mean ± std (src/core/seedGroups.ts), expandable to its seeds,
// and on the chart as one mean curve in a ± std band, or one curve per seed when expanded.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { CLASSIC_STAGES, type StageName } from '../../src/core/protocol';
import { gapClosedPercent } from '../../src/core/resultFormat';
import { formatGapSpread, formatSpread, type GroupModelSummary, groupEntries, summarizeSeedGroup } from '../../src/core/seedGroups';
import type { CompareRun, EpochMetric } from '../../src/core/webviewProtocol';
import { inPlanOrder, modelLabel } from '../shared/models';
import { post, saveUi, uiState } from '../shared/api';
import { hasEveryEpochTest } from '../shared/heldOut';
import { diffConfigs } from '../shared/configDiff';
import { frameScheduler, h } from '../shared/dom';
import { exportCsv, exportPng } from '../shared/exporter';
import { type Column, LineChart, type LineSeries, meanWithBand } from '../shared/lineChart';
import { seriesToggles, startShell } from '../shared/shell';
import { palette } from '../shared/theme';

let runs: CompareRun[] = [];
const ui = {
  stage: uiState<StageName>('stage', 'student'),
  metric: uiState('metric', 'validationAccuracy'),
  all: uiState('allSettings', false),
  /** Seed groups shown with their runs (ids). */
  expanded: uiState<string[]>('expandedGroups', []),
};
const schedule = frameScheduler(render);
let chartKey = '';

const shell = startShell({
  view: 'compare',
  title: 'Compare Runs',
  pickLabel: 'Add Runs…',
  follow: false,
  runLine: false,
  onMessage(m) {
    if (m.type === 'compare') {
      runs = m.runs;
      schedule();
    }
  },
  onTheme() {
    chartKey = '';
    schedule();
  },
});

const selectHolder = h('div', { class: 'field-holder' });
const allBox = h('vscode-checkbox', { id: 'all-settings', label: 'Show settings that are the same' }) as HTMLElement & { checked: boolean };
allBox.checked = ui.all;
allBox.addEventListener('change', () => {
  ui.all = allBox.checked;
  saveUi({ allSettings: ui.all });
  renderDiff();
});
shell.toolbar.append(selectHolder);
const chart = new LineChart({ id: 'compare-chart', title: 'Curves', xLabel: 'epoch', yLabel: '', height: 260 });
const toggles = h('div', { class: 'toggle-holder' });
const runTable = h('div', { id: 'runs' });
const diffHolder = h('div', { id: 'config-diff' });
const button = (id: string, label: string, onClick: () => void) => {
  const el = h('vscode-button', { id, secondary: true }, label);
  el.addEventListener('click', onClick);
  return el;
};
shell.main.append(
  h('section', { 'aria-labelledby': 'runs-title' }, h('h2', { id: 'runs-title' }, 'Runs'), runTable),
  h(
    'section',
    { class: 'chart-section' },
    chart.el,
    toggles,
    h(
      'div',
      { class: 'actions' },
      button('compare-csv', 'Export CSV', () => exportCsv(`compare-${ui.stage}-${ui.metric}.csv`, chart.toCsv())),
      button('compare-png', 'Export PNG', () => exportPng(`compare-${ui.stage}-${ui.metric}.png`, chart.toPng())),
    ),
  ),
  h('section', { 'aria-labelledby': 'diff-title' }, h('div', { class: 'section-head' }, h('h2', { id: 'diff-title' }, 'Config differences'), allBox), diffHolder),
);

/**
 * Metrics the compared runs log per epoch: validation accuracy and errors, test accuracy and errors
 * only where a run evaluated the test set every epoch (labelled so), train accuracy, the total and
 * every loss term.
 */
function metricOptions(): [string, string][] {
  const epochs = runs.flatMap((r) => r.epochs);
  const opts: [string, string][] = [
    ...(epochs.some((e) => e.validationAccuracy !== undefined) ? ([['validationAccuracy', 'validation accuracy'], ['validationErrors', 'validation errors']] as [string, string][]) : []),
    ...(hasEveryEpochTest(epochs) ? ([['testAccuracy', 'test accuracy (every epoch)'], ['testErrors', 'test errors (every epoch)']] as [string, string][]) : []),
    ['trainAccuracy', 'train accuracy'],
    ['total', 'total loss'],
  ];
  const terms = new Set<string>();
  for (const r of runs) for (const e of r.epochs) if (e.stage === ui.stage) Object.keys(e.losses).forEach((k) => terms.add(k));
  for (const t of [...terms].sort()) opts.push([`loss:${t}`, `loss term ${t} (raw)`]);
  return opts;
}

function valueOf(e: EpochMetric, metric: string): number | null {
  if (metric.startsWith('loss:')) return e.losses[metric.slice(5)] ?? null;
  const v = (e as unknown as Record<string, unknown>)[metric];
  return typeof v === 'number' ? v : null;
}

function select(id: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void): HTMLElement {
  const el = h('vscode-single-select', { id, label }) as HTMLElement & { value: string };
  for (const [v, text] of options) el.append(h('vscode-option', { value: v }, text));
  el.value = value;
  el.addEventListener('change', () => onChange(el.value));
  return h('div', { class: 'field' }, h('label', { for: id }, label), el);
}

let selectsKey = '';
/** Every model id with curves in any compared run, in the first run's plan order (then the others'). */
function stageOptions(): StageName[] {
  const ids = runs.flatMap((r) => inPlanOrder(r.run, r.epochs.map((e) => e.stage)));
  const order = runs.flatMap((r) => (r.run.models ?? []).map((m) => m.id));
  const rank = (id: StageName) => (order.includes(id) ? order.indexOf(id) : order.length);
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b));
}

/** A model's label in the first run that has it. */
function stageLabel(id: StageName): string {
  return modelLabel(runs.find((r) => r.run.models?.some((m) => m.id === id))?.run ?? runs[0]?.run, id);
}

function render(): void {
  if (!runs.length) return;
  const stages = stageOptions();
  if (stages.length && !stages.includes(ui.stage)) ui.stage = stages.includes('student') ? 'student' : stages[stages.length - 1];
  const options = metricOptions();
  if (!options.some(([v]) => v === ui.metric)) ui.metric = options[0][0];
  const key = `${stages.map((s) => `${s}=${stageLabel(s)}`).join(',')}|${ui.stage}|${ui.metric}|${options.map((o) => o[0]).join(',')}`;
  if (key !== selectsKey) {
    selectsKey = key;
    selectHolder.textContent = '';
    selectHolder.append(
      select('stage', 'Model', stages.map((s) => [s, stageLabel(s)]), ui.stage, (v) => {
        ui.stage = v as StageName;
        saveUi({ stage: v });
        schedule();
      }),
      select('metric', 'Metric', options, ui.metric, (v) => {
        ui.metric = v;
        saveUi({ metric: v });
        schedule();
      }),
    );
  }
  renderRuns();
  renderChart(options);
  renderDiff();
}

function runColor(i: number): string {
  const p = palette();
  return p.series[i % p.series.length];
}

/** A group's errors of one model: "72.7 ± 2.1 (7.3 ± 0.2%)". */
function groupErr(m: GroupModelSummary | undefined): string {
  if (!m) return '–';
  const rate = { ...m.testAccuracy, mean: 1 - m.testAccuracy.mean };
  return `${formatSpread(m.testErrors)} (${formatSpread(rate, 1, 100)}%)`;
}

function toggleGroup(id: string): void {
  ui.expanded = ui.expanded.includes(id) ? ui.expanded.filter((g) => g !== id) : [...ui.expanded, id];
  saveUi({ expandedGroups: ui.expanded });
  schedule();
}

function renderRuns(): void {
  runTable.textContent = '';
  const err = (r: { testErrors: number; testCount: number } | undefined) => (r ? `${r.testErrors} (${((100 * r.testErrors) / r.testCount).toFixed(1)}%)` : '–');
  const runRow = ({ run }: CompareRun, inGroup: boolean) => {
    const i = runs.findIndex((r) => r.run.dir === run.dir);
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = runColor(i);
    const remove = h('vscode-button', { secondary: true, 'aria-label': `Remove ${run.id} from the comparison` }, 'Remove');
    remove.addEventListener('click', () => post({ type: 'removeRun', runDir: run.dir }));
    return h(
      'tr',
      { 'data-run': run.id, ...(inGroup ? { class: 'seed-row', 'data-group-run': run.group!.id } : {}) },
      h('th', { scope: 'row', title: run.dir }, swatch, inGroup ? ` seed ${run.seed} · ${run.id}` : ` ${run.id}`),
      h('td', {}, run.status),
      h('td', {}, err(run.results.teacher)),
      h('td', {}, err(run.results.baseline)),
      h('td', {}, err(run.results.student)),
      h('td', {}, run.results.gapRecovered === undefined ? '–' : gapClosedPercent(run.results.gapRecovered)),
      h('td', { class: 'models-cell' }, ...modelCells(otherModels(run))),
      h('td', {}, runs.length > 2 ? remove : ''),
    );
  };
  const rows = groupEntries(runs, (r) => r.run).flatMap((e) => {
    if (e.kind === 'run') return [runRow(e.entry, false)];
    const g = summarizeSeedGroup(e.entries.map((r) => r.run));
    const open = ui.expanded.includes(e.id);
    const toggle = h(
      'vscode-button',
      { secondary: true, class: 'group-toggle', 'aria-expanded': String(open), 'aria-label': `${open ? 'Hide' : 'Show'} the ${e.entries.length} seeds of ${g.runs[0].id}` },
      open ? '▾' : '▸',
    );
    toggle.addEventListener('click', () => toggleGroup(e.id));
    const head = h(
      'tr',
      { 'data-group': e.id, class: 'group-row' },
      h('th', { scope: 'row', title: `mean ± std (sample) over ${g.finished} finished of ${g.seeds.length} seeds` }, toggle, ` ${g.runs[0].id} · ${e.entries.length} seeds`),
      h('td', {}, g.status),
      h('td', {}, groupErr(g.models.teacher)),
      h('td', {}, groupErr(g.models.baseline)),
      h('td', {}, groupErr(g.models.student)),
      h('td', {}, g.gapRecovered ? formatGapSpread(g.gapRecovered) : '–'),
      h('td', {}, ''),
      h('td', {}, ''),
    );
    return [head, ...(open ? e.entries.map((r) => runRow(r, true)) : [])];
  });
  const table = h(
    'table',
    { class: 'data-table' },
    h('caption', { class: 'sr-only' }, 'Compared runs and their test errors'),
    h(
      'thead',
      {},
      h('tr', {}, ...['run', 'status', 'teacher errors', 'baseline errors', 'student errors', 'gap closed', 'other models (test errors)', ''].map((c) => h('th', { scope: 'col' }, c))),
    ),
    h('tbody', {}, ...rows),
  );
  runTable.append(table);
}

/**
 * The run's models beyond the headline three, with their test errors: "peer 1 (teacher) 41 ·
 * peer 2 (student) 38 · peer 3 40". The headline columns of an online run are peers 1 and 2; of a
 * born-again run its teacher and last generation.
 */
function otherModels(run: CompareRun['run']): string[] {
  const results = run.results.models ?? {};
  return (run.models ?? []).filter((m) => !(CLASSIC_STAGES as readonly string[]).includes(m.id) && results[m.id]).map((m) => `${m.label} ${results[m.id].testErrors}`);
}

/** "a · b · c", each item kept on one line. */
function modelCells(items: string[]): (Node | string)[] {
  if (!items.length) return ['–'];
  return items.flatMap((t, i) => [...(i ? [' · '] : []), h('span', { class: 'model-result' }, t)]);
}

/**
 * The chart's curves: one per run, and a seed group's as its mean with a band of ± one sample std
 * while its row is collapsed (one curve per seed when expanded, as in the table). The group's
 * colour is its first seed's.
 */
function renderChart(options: [string, string][]): void {
  const epochs = [...new Set(runs.flatMap((r) => r.epochs.filter((e) => e.stage === ui.stage).map((e) => e.epoch)))].sort((a, b) => a - b);
  const pos = new Map(epochs.map((e, i) => [e, i]));
  const columnOf = (r: CompareRun) => {
    const col = new Array<number | null>(epochs.length).fill(null);
    for (const e of r.epochs) if (e.stage === ui.stage) col[pos.get(e.epoch)!] = valueOf(e, ui.metric);
    return col;
  };
  const label = options.find((o) => o[0] === ui.metric)?.[1] ?? ui.metric;
  const points = epochs.length < 40;
  const series: LineSeries[] = [];
  const ys: Column[] = [];
  const addRun = (r: CompareRun) => {
    series.push({ key: r.run.dir, label: r.run.id, color: runColor(runs.indexOf(r)), points });
    ys.push(columnOf(r));
  };
  for (const e of groupEntries(runs, (r) => r.run)) {
    if (e.kind === 'run' || ui.expanded.includes(e.id)) {
      (e.kind === 'run' ? [e.entry] : e.entries).forEach(addRun);
      continue;
    }
    const name = `${e.entries[0].run.id} · ${e.entries.length} seeds`;
    const color = runColor(runs.indexOf(e.entries[0]));
    const group = meanWithBand(
      { key: `group:${e.id}`, label: `${name}, mean ± std`, csvLabel: `${name} (mean)`, color, width: 2, points },
      { upper: { label: `${name} + std` }, lower: { label: `${name} − std` } },
      e.entries.map(columnOf),
    );
    series.push(...group.series);
    ys.push(...group.ys);
  }
  chart.setTitle(`${label} · ${stageLabel(ui.stage)}`);
  const key = `${ui.stage}|${ui.metric}|${series.map((s) => s.key + s.color).join(',')}`;
  if (key !== chartKey) {
    chartKey = key;
    chart.setAxisLabels('epoch', label);
    chart.setSeries(series, epochs, ys);
    toggles.textContent = '';
    const curves = series.filter((s) => !s.band);
    toggles.append(seriesToggles('compare-toggles', 'Show', curves.map((s) => ({ ...s, checked: chart.isShown(s.key) })), (k, on) => chart.setShow(k, on)));
  } else chart.setData(epochs, ys);
}

function renderDiff(): void {
  diffHolder.textContent = '';
  const rows = diffConfigs(runs.map((r) => r.run.config ?? {}));
  const shown = rows.filter((r) => ui.all || r.differs);
  const count = rows.filter((r) => r.differs).length;
  diffHolder.append(h('p', { id: 'diff-summary' }, count ? `${count} ${count === 1 ? 'setting differs' : 'settings differ'}.` : 'The configs are the same.'));
  if (!shown.length) return;
  diffHolder.append(
    h(
      'table',
      { class: 'data-table diff-table' },
      h('caption', { class: 'sr-only' }, 'Config settings per run'),
      h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'setting'), ...runs.map(({ run }) => h('th', { scope: 'col' }, run.id)))),
      h(
        'tbody',
        {},
        ...shown.map((r) =>
          h('tr', { class: r.differs && ui.all ? 'differs' : '' }, h('th', { scope: 'row' }, r.path), ...r.values.map((v) => h('td', {}, v === undefined ? '—' : v))),
        ),
      ),
    ),
  );
}
