// Loss split panel: every loss term of a stage on its own curve (hard CE, soft KD with its T²
// factor, each feature term), with its weight and the weighted total; per step or per epoch; the
// validation accuracy (or errors) of every model the run trains (teacher, baseline and student;
// peers, generations, exits, ensemble members), and the test curves only where the run evaluated
// the test set every epoch (heldOut.ts); toggles per series; CSV and PNG. For one seed of a seed
// group, per epoch, every curve can be the group's mean in a ± std band instead (the host sends
// the group's epoch records: `group`).
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import type { StageName } from '../../src/core/protocol';
import { type CompareRun, decimateSteps, type EpochMetric, type RunInfo, type StepSeries } from '../../src/core/webviewProtocol';
import { saveUi, uiState } from '../shared/api';
import { curveTitle, curveValue, type EpochCurve, hasEveryEpochTest, primaryCurve } from '../shared/heldOut';
import { fmt, frameScheduler, h } from '../shared/dom';
import { exportCsv, exportPng } from '../shared/exporter';
import { type Column, LineChart, type LineSeries, meanWithBand } from '../shared/lineChart';
import { seriesToggles, startShell } from '../shared/shell';
import { inPlanOrder, modelColors, modelLabel, modelOf } from '../shared/models';
import { palette } from '../shared/theme';

const STEP_BUDGET = 4000;

const data = {
  runDir: '',
  epochs: [] as EpochMetric[],
  steps: new Map<StageName, StepSeries>(),
  /** The seed group of the run `groupRunDir` (every seed's run, this one included), or none. */
  groupRunDir: '',
  group: [] as CompareRun[],
};

const ui = {
  stage: uiState<StageName | ''>('stage', ''),
  per: uiState<'epoch' | 'step'>('per', 'epoch'),
  weighted: uiState('weighted', false),
  log: uiState('log', false),
  errors: uiState('errors', false),
  /** Draw the seed group's mean ± std (per epoch) rather than this run's curves. */
  groupMean: uiState('groupMean', false),
  hidden: new Set(uiState<string[]>('hidden', [])),
};

const schedule = frameScheduler(render);
let structureKey = '';

const shell = startShell({
  view: 'lossSplit',
  title: 'Loss Split',
  pickLabel: 'Choose Run…',
  onMessage(m) {
    if (m.type === 'metrics') {
      if (m.reset || m.runDir !== data.runDir) {
        data.runDir = m.runDir;
        data.epochs = [];
        data.steps.clear();
        structureKey = '';
      }
      data.epochs.push(...m.epochs);
      for (const s of m.steps) appendSteps(s);
      schedule();
    } else if (m.type === 'group') {
      data.groupRunDir = m.runDir;
      data.group = m.members;
      structureKey = '';
      accKey = '';
      schedule();
    } else if (m.type === 'run') {
      schedule();
    }
  },
  onTheme() {
    structureKey = '';
    schedule();
  },
});

function appendSteps(s: StepSeries): void {
  const have = data.steps.get(s.stage);
  if (!have) {
    data.steps.set(s.stage, { stage: s.stage, x: [...s.x], total: [...s.total], losses: Object.fromEntries(Object.entries(s.losses).map(([k, v]) => [k, [...v]])) });
    return;
  }
  const n = have.x.length;
  have.x.push(...s.x);
  have.total.push(...s.total);
  for (const k of new Set([...Object.keys(have.losses), ...Object.keys(s.losses)])) {
    const col = (have.losses[k] ??= new Array<number>(n).fill(NaN));
    col.push(...(s.losses[k] ?? new Array<number>(s.x.length).fill(NaN)));
  }
  if (have.x.length > 2 * STEP_BUDGET) data.steps.set(s.stage, decimateSteps(have, STEP_BUDGET));
}

// ---- controls -------------------------------------------------------------------------------

const select = (id: string, label: string, options: [string, string][], value: string, onChange: (v: string) => void) => {
  const el = h('vscode-single-select', { id, label }) as HTMLElement & { value: string };
  for (const [v, text] of options) el.append(h('vscode-option', { value: v }, text));
  el.value = value;
  el.addEventListener('change', () => onChange(el.value));
  return h('div', { class: 'field' }, h('label', { for: id }, label), el);
};
const checkbox = (id: string, label: string, checked: boolean, onChange: (v: boolean) => void) => {
  const el = h('vscode-checkbox', { id, label }) as HTMLElement & { checked: boolean };
  el.checked = checked;
  el.addEventListener('change', () => onChange(el.checked));
  return el;
};
const button = (id: string, label: string, onClick: () => void) => {
  const el = h('vscode-button', { id, secondary: true }, label);
  el.addEventListener('click', onClick);
  return el;
};

const stageHolder = h('div', { class: 'field-holder' });
const groupHolder = h('div', { class: 'field-holder', id: 'group-holder' });
shell.toolbar.append(
  stageHolder,
  groupHolder,
  select('per', 'Per', [['epoch', 'epoch'], ['step', 'step']], ui.per, (v) => {
    ui.per = v === 'step' ? 'step' : 'epoch';
    saveUi({ per: ui.per });
    structureKey = '';
    schedule();
  }),
  checkbox('weighted', 'Weighted (w · term)', ui.weighted, (v) => {
    ui.weighted = v;
    saveUi({ weighted: v });
    structureKey = '';
    schedule();
  }),
  checkbox('log-scale', 'Log scale', ui.log, (v) => {
    ui.log = v;
    saveUi({ log: v });
    lossChart.setLogY(v);
  }),
);

const lossChart = new LineChart({ id: 'loss-chart', title: 'Loss terms', xLabel: 'epoch', yLabel: 'loss', height: 260, logY: ui.log });
const accChart = new LineChart({ id: 'accuracy-chart', title: 'Validation accuracy', xLabel: 'epoch', yLabel: 'accuracy', height: 200 });
const lossToggles = h('div', { class: 'toggle-holder' });
const accToggles = h('div', { class: 'toggle-holder' });
const weightsLine = h('p', { class: 'weights', id: 'weights' });
const fileStem = () => (shell.run ? `${shell.run.id}` : 'run');

shell.main.append(
  h(
    'section',
    { class: 'chart-section', 'aria-labelledby': 'loss-chart-caption' },
    weightsLine,
    lossChart.el,
    lossToggles,
    h(
      'div',
      { class: 'actions' },
      button('loss-csv', 'Export CSV', () => exportCsv(`${fileStem()}-${currentStage()}-losses.csv`, lossChart.toCsv())),
      button('loss-png', 'Export PNG', () => exportPng(`${fileStem()}-${currentStage()}-losses.png`, lossChart.toPng())),
    ),
  ),
  h(
    'section',
    { class: 'chart-section', 'aria-labelledby': 'accuracy-chart-caption' },
    accChart.el,
    h(
      'div',
      { class: 'accuracy-options' },
      checkbox('show-errors', 'Show errors instead of accuracy', ui.errors, (v) => {
        ui.errors = v;
        saveUi({ errors: v });
        accKey = '';
        schedule();
      }),
    ),
    accToggles,
    h(
      'div',
      { class: 'actions' },
      button('acc-csv', 'Export CSV', () => exportCsv(`${fileStem()}-accuracy.csv`, accChart.toCsv())),
      button('acc-png', 'Export PNG', () => exportPng(`${fileStem()}-accuracy.png`, accChart.toPng())),
    ),
  ),
);

// ---- model ----------------------------------------------------------------------------------

/** The shown run's seed group (two or more runs), or none. */
function groupMembers(): CompareRun[] {
  return data.groupRunDir === data.runDir && data.group.length >= 2 ? data.group : [];
}

/** Whether the curves are the group's mean ± std: asked for, and the run is one seed of a group. */
function showingGroup(): boolean {
  return ui.groupMean && groupMembers().length > 0;
}

/** The epochs any member recorded for `stages`, ascending. */
function groupEpochs(members: CompareRun[], stages: StageName[]): number[] {
  return [...new Set(members.flatMap((g) => g.epochs.filter((e) => stages.includes(e.stage)).map((e) => e.epoch)))].sort((a, b) => a - b);
}

/** A member's values of `stage` at each epoch of `x` (null where it recorded none). */
function memberColumn(g: CompareRun, stage: StageName, x: number[], value: (r: EpochMetric) => number | null): Column {
  const byEpoch = new Map(g.epochs.filter((e) => e.stage === stage).map((e) => [e.epoch, e]));
  return x.map((e) => (byEpoch.has(e) ? value(byEpoch.get(e)!) : null));
}

/** `base` drawn as the group's mean in a ± std band, from one column per member (the mean keeps `base`'s key and toggle). */
function spreadSeries(base: LineSeries, columns: Column[]): { series: LineSeries[]; ys: Column[] } {
  const csv = base.csvLabel ?? base.label;
  return meanWithBand(
    { ...base, label: `${base.label} · mean ± std`, csvLabel: `${csv} (mean of ${columns.length} seeds)` },
    { upper: { label: `${base.label} + std`, csvLabel: `${csv} (mean + std)` }, lower: { label: `${base.label} − std`, csvLabel: `${csv} (mean - std)` } },
    columns,
  );
}

/** The models with curves, in the run's plan order. */
function stagesWithData(): StageName[] {
  return inPlanOrder(shell.run, [...data.epochs.map((e) => e.stage), ...data.steps.keys()]);
}

function currentStage(): StageName {
  const have = stagesWithData();
  if (ui.stage && have.includes(ui.stage)) return ui.stage;
  // The distilled student, an online run's peer 2, else the last model trained (a born-again run's last generation).
  return have.find((s) => s === 'student') ?? have.find((s) => s === 'peer2') ?? have.at(-1) ?? 'student';
}

/** The stage's terms in a stable order (ce, kd, then feature terms) with their weights. */
function termsOf(stage: StageName, run: RunInfo | undefined): { id: string; weight?: number }[] {
  const rows = data.epochs.filter((e) => e.stage === stage);
  const ids = new Set<string>();
  for (const r of rows) Object.keys(r.losses).forEach((k) => ids.add(k));
  const steps = data.steps.get(stage);
  if (steps) Object.keys(steps.losses).forEach((k) => ids.add(k));
  const lastWeights = rows.at(-1)?.weights ?? {};
  const order = (id: string) => (id === 'ce' ? 0 : id === 'kd' ? 1 : 2);
  return [...ids]
    .sort((a, b) => order(a) - order(b) || a.localeCompare(b))
    .map((id) => ({ id, weight: lastWeights[id] ?? (distilled(stage, run) ? run?.terms.find((t) => t.id === id)?.weight : id === 'ce' ? 1 : undefined) }));
}

/** Whether a model learns with the config's distillation terms (a student, a peer, a generation). */
function distilled(stage: StageName, run: RunInfo | undefined): boolean {
  const role = modelOf(run, stage)?.role;
  return role ? role === 'student' || role === 'peer' || role === 'generation' : stage === 'student';
}

/** The legend: "ce (hard labels) · weight 0.5" over raw values, "0.5 × ce (hard labels)" over weighted ones. */
function termLabel(id: string, weight: number | undefined, run: RunInfo | undefined): string {
  let name: string;
  if (id === 'ce') name = 'ce (hard labels)';
  else if (id === 'kd') {
    const T = run?.terms.find((t) => t.id === 'kd')?.temperature ?? run?.temperature;
    name = `kd (soft: T²·KL${T ? `, T = ${T}` : ''})`;
  } else {
    const m = /^hint:(.+)<-(.+)$/.exec(id);
    name = m ? `hint ${m[1]} ← ${m[2]}` : id;
  }
  if (weight === undefined) return name;
  return ui.weighted ? `${fmt(weight)} × ${name}` : `${name} · weight ${fmt(weight)}`;
}

/**
 * A plain CSV header (ASCII, no ×, ², Σ or ←) that says whether the column holds the raw term or
 * the weighted one: "kd raw (includes T^2)", "hint fc1 from fc2 weighted (0.5 * raw)".
 */
function termCsvLabel(id: string, weight: number | undefined): string {
  const m = /^hint:(.+)<-(.+)$/.exec(id);
  const name = m ? `hint ${m[1]} from ${m[2]}` : id;
  const how = ui.weighted ? `weighted (${weight === undefined ? 'weight' : fmt(weight)} * raw)` : 'raw';
  return `${name} ${how}${id === 'kd' ? ' (includes T^2)' : ''}`;
}

// ---- rendering ------------------------------------------------------------------------------

let accKey = '';

function render(): void {
  const run = shell.run;
  const stages = stagesWithData();
  renderStageSelect(stages);
  renderGroupToggle();
  if (!stages.length) {
    weightsLine.textContent = 'No metrics recorded yet.';
    return;
  }
  renderLosses(currentStage(), run);
  renderAccuracy();
}

let groupToggleKey = '';
function renderGroupToggle(): void {
  const n = groupMembers().length;
  const key = `${n}|${ui.groupMean}`;
  if (key === groupToggleKey) return;
  groupToggleKey = key;
  groupHolder.replaceChildren(
    ...(n
      ? [
          checkbox('group-mean', `Mean ± std of the seed group (${n} seeds, per epoch)`, ui.groupMean, (v) => {
            ui.groupMean = v;
            saveUi({ groupMean: v });
            structureKey = '';
            accKey = '';
            groupToggleKey = '';
            schedule();
          }),
        ]
      : []),
  );
}

let stageSelectKey = '';
function renderStageSelect(stages: StageName[]): void {
  const key = stages.map((s) => `${s}=${modelLabel(shell.run, s)}`).join(',') + '|' + currentStage();
  if (key === stageSelectKey) return;
  stageSelectKey = key;
  stageHolder.textContent = '';
  stageHolder.append(
    select(
      'stage',
      'Model',
      stages.map((s) => [s, modelLabel(shell.run, s)]),
      currentStage(),
      (v) => {
        ui.stage = v as StageName;
        saveUi({ stage: v });
        structureKey = '';
        stageSelectKey = '';
        schedule();
      },
    ),
  );
}

function renderLosses(stage: StageName, run: RunInfo | undefined): void {
  const p = palette();
  const terms = termsOf(stage, run);
  const colors = [p.series[4], p.series[0], p.series[2], p.series[3], p.series[5], p.series[1]];
  const series: LineSeries[] = [
    ...terms.map((t, i) => ({ key: t.id, label: termLabel(t.id, t.weight, run), csvLabel: termCsvLabel(t.id, t.weight), color: colors[i % colors.length], show: !ui.hidden.has(t.id) })),
    { key: 'total', label: 'total Σ w·term', csvLabel: 'total (weighted sum of the terms)', color: p.fg, width: 2, dash: [6, 3], show: !ui.hidden.has('total') },
  ];
  let x: number[];
  let ys: Column[];
  const group = showingGroup();
  if (group) {
    // Per epoch whatever `per` says: the seeds' step records are not kept side by side.
    const members = groupMembers();
    x = groupEpochs(members, [stage]);
    const values = [...terms.map((t) => (r: EpochMetric) => val(r.losses[t.id], ui.weighted ? t.weight : 1)), (r: EpochMetric) => val(r.total, 1)];
    const spread = series.map((s, i) => spreadSeries(s, members.map((g) => memberColumn(g, stage, x, values[i]))));
    series.splice(0, series.length, ...spread.flatMap((p) => p.series));
    ys = spread.flatMap((p) => p.ys);
  } else if (ui.per === 'epoch') {
    const rows = data.epochs.filter((e) => e.stage === stage);
    x = rows.map((r) => r.epoch);
    ys = [...terms.map((t) => rows.map((r) => val(r.losses[t.id], ui.weighted ? t.weight : 1))), rows.map((r) => r.total)];
  } else {
    const s = data.steps.get(stage);
    x = s?.x ?? [];
    ys = [...terms.map((t) => (s?.losses[t.id] ?? []).map((v) => val(v, ui.weighted ? t.weight : 1))), s?.total.map((v) => val(v, 1)) ?? []];
  }
  const per = group ? 'epoch' : ui.per;
  // Dots on the epochs while they are few (as the accuracy chart): a one-epoch run's curve is a point.
  const points = per === 'epoch' && x.length < 40;
  for (const s of series) if (!s.band) s.points = points;
  const key = `${stage}|${per}|${group}|${points}|${ui.weighted}|${series.map((s) => s.label + s.color).join(',')}`;
  const over = group ? ` · mean ± std of ${groupMembers().length} seeds` : '';
  lossChart.setTitle(`${ui.weighted ? 'Weighted loss terms' : 'Loss terms (raw)'} · ${modelLabel(run, stage)} · per ${per}${over}`);
  if (key !== structureKey) {
    structureKey = key;
    lossChart.setAxisLabels(per === 'epoch' ? 'epoch' : 'logged step', ui.weighted ? 'weight × loss' : 'loss');
    lossChart.setSeries(series, x, ys);
    showToggles(lossToggles, 'loss-toggles', lossChart, series);
  } else {
    lossChart.setData(x, ys);
  }
  const w = terms.filter((t) => t.weight !== undefined).map((t) => `${t.id} ${fmt(t.weight)}`);
  weightsLine.textContent = w.length ? `Weights: ${w.join(' · ')}. The total is Σ weight × term${terms.some((t) => t.id === 'kd') ? '; kd already includes its T² factor' : ''}.` : '';
}

/** Rebuilds a chart's Show checkboxes; a series the user hides stays hidden (saved in the webview state). */
function showToggles(holder: HTMLElement, id: string, chart: LineChart, series: LineSeries[]): void {
  // A band's edges go with their mean's toggle.
  const curves = series.filter((s) => !s.band);
  holder.replaceChildren(
    seriesToggles(id, 'Show', curves.map((s) => ({ key: s.key, label: s.label, color: s.color, checked: s.show !== false })), (k, on) => {
      chart.setShow(k, on);
      if (on) ui.hidden.delete(k);
      else ui.hidden.add(k);
      saveUi({ hidden: [...ui.hidden] });
    }),
  );
}

function val(v: number | undefined, w: number | undefined): number | null {
  return v === undefined || !Number.isFinite(v) ? null : v * (w ?? 1);
}

function renderAccuracy(): void {
  const p = palette();
  // One line per model with epoch records, in plan order; a dashed test line per model where the
  // run also evaluated the test set every epoch.
  const group = showingGroup();
  const members = groupMembers();
  const stages = inPlanOrder(shell.run, (group ? members.flatMap((g) => g.epochs) : data.epochs).map((e) => e.stage));
  const epochs = [...new Set(data.epochs.map((e) => e.epoch))].sort((a, b) => a - b);
  const pos = new Map(epochs.map((e, i) => [e, i]));
  const color = modelColors(shell.run, stages, p);
  const curve = primaryCurve(data.epochs);
  const curves: EpochCurve[] = curve === 'validation' && hasEveryEpochTest(data.epochs) ? ['validation', 'test'] : [curve];
  const series: LineSeries[] = curves.flatMap((c, ci) =>
    stages.map((s) => {
      const key = ci === 0 ? `acc-${s}` : `acc-${c}-${s}`;
      const label = ci === 0 ? modelLabel(shell.run, s) : `${modelLabel(shell.run, s)} · test (every epoch)`;
      return { key, label, color: color.get(s)!, dash: ci === 0 ? undefined : [6, 4], points: epochs.length < 40, show: !ui.hidden.has(key) };
    }),
  );
  let ys: Column[] = series.map(() => new Array<number | null>(epochs.length).fill(null));
  for (const r of data.epochs) {
    const si = stages.indexOf(r.stage);
    curves.forEach((c, ci) => (ys[ci * stages.length + si][pos.get(r.epoch)!] = curveValue(r, c, ui.errors)));
  }
  let x = epochs;
  if (group) {
    // Each model's curve as the seeds' mean ± std, on the epochs any seed has recorded.
    x = groupEpochs(members, stages);
    const spread = series.map((s, i) => {
      const [stage, c] = [stages[i % stages.length], curves[Math.floor(i / stages.length)]];
      return spreadSeries(s, members.map((g) => memberColumn(g, stage, x, (r) => curveValue(r, c, ui.errors))));
    });
    series.splice(0, series.length, ...spread.flatMap((p) => p.series));
    ys = spread.flatMap((p) => p.ys);
  }
  const title = curveTitle(curve, ui.errors) + (group ? ` · mean ± std of ${members.length} seeds` : '');
  accChart.setTitle(title);
  const key = `${title}|${series.map((s) => s.label + s.color).join(',')}`;
  if (key !== accKey) {
    accKey = key;
    accChart.setAxisLabels('epoch', curveTitle(curve, ui.errors).replace(/ \(.*\)$/, '').toLowerCase());
    accChart.setSeries(series, x, ys);
    showToggles(accToggles, 'accuracy-toggles', accChart, series);
  } else {
    accChart.setData(x, ys);
  }
}
