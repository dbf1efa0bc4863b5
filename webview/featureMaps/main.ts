// Feature maps panel: for each matched layer pair, the teacher's map, the student's map after its
// connector and their absolute difference for the selected sample; the pair's matching loss over
// epochs; and the linear-CKA matrix of every teacher layer × every student layer (to pick pairs).
// Conv maps can be shown reduced over channels by mean, max or top-k (all three are recorded).
// Any model of the run whose probes hold maps can be shown (default: the distilled student).
import '@vscode-elements/elements/dist/vscode-option/index.js';
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import { type ChannelReduction, type PairProbe, pairMaps, type ProbeRecord, type StageName } from '../../src/core/protocol';
import type { EpochMetric } from '../../src/core/webviewProtocol';
import { saveUi, uiState } from '../shared/api';
import { fmt, frameScheduler, h } from '../shared/dom';
import { SampleGallery } from '../shared/gallery';
import { HeatmapView } from '../shared/heatmap';
import { LineChart } from '../shared/lineChart';
import { ProbeStore } from '../shared/probeStore';
import { epochScrubber } from '../shared/epochScrubber';
import { startShell } from '../shared/shell';
import { inPlanOrder, modelLabel, modelPicker } from '../shared/models';
import { palette } from '../shared/theme';

const ui = {
  sample: uiState('sample', 0),
  epoch: uiState('epoch', 0),
  atLatest: uiState('atLatest', true),
  reduction: uiState<ChannelReduction>('reduction', 'mean'),
  /** The model whose probes are shown ('' = the default). */
  model: uiState<StageName>('model', ''),
};
const metrics: { runDir: string; epochs: EpochMetric[] } = { runDir: '', epochs: [] };
const store = new ProbeStore(() => schedule());
const schedule = frameScheduler(render);
const scrubber = epochScrubber(ui, scrubEpochs, () => schedule());
const reductionHolder = h('div', { class: 'field-holder' });
const modelHolder = h('div', { class: 'field', hidden: true });
const pickModel = modelPicker(modelHolder, 'model', 'Model');

const shell = startShell({
  view: 'featureMaps',
  title: 'Feature Maps',
  pickLabel: 'Choose Run…',
  onMessage(m) {
    if (m.type === 'probeIndex') {
      const first = !store.index || store.index.runDir !== m.index.runDir;
      store.setIndex(m.index);
      if (first) {
        gallery.selected = ui.sample;
        gallery.build(m.index, (k) => String(m.index.labels[k]));
        ui.sample = gallery.selected;
        pairViews.clear();
        pairsHolder.textContent = '';
      }
      scrubber.follow();
      schedule();
    } else if (m.type === 'probes') {
      store.handle(m);
    } else if (m.type === 'metrics') {
      if (m.reset || m.runDir !== metrics.runDir) metrics.epochs = [];
      metrics.runDir = m.runDir;
      metrics.epochs.push(...m.epochs);
      schedule();
    } else if (m.type === 'run') {
      schedule();
    } else if (m.type === 'target') {
      if (m.empty || (store.index && m.target.runDir && store.index.runDir !== m.target.runDir)) store.index = undefined;
      schedule();
    }
  },
  onTheme() {
    for (const v of pairViews.values()) v.chart.restyle((s) => (s.key === 'train' ? palette().student : palette().teacher));
    schedule();
  },
});
shell.toolbar.append(scrubber.el, modelHolder, reductionHolder);

const gallery = new SampleGallery(
  'gallery',
  (k) => {
    ui.sample = k;
    saveUi({ sample: k });
    schedule();
  },
  1,
);
const note = h(
  'p',
  { class: 'note', id: 'reduction-note' },
  'Conv taps (height × width × channels) are reduced over channels to one map. Mean: the channels’ average at each position. Max: the largest channel value at each position. Top-k mean: the average of the k largest channel values at each position (k is probes.topK, at most the channel count); it keeps the few strongly responding channels that the mean washes out. Dense taps are laid out row by row on a near-square grid. Maps larger than probes.mapSize are average-pooled after the reduction; |teacher − student| is taken between the maps shown.',
);
const pairsHolder = h('div', { class: 'pairs', id: 'pairs' });
const emptyPairs = h('p', { class: 'note', id: 'no-pairs', hidden: true }, 'This run has no feature (hint) terms, so no layer pairs were recorded. The CKA matrix below shows which pairs would match best.');
const cka = new HeatmapView('cka');
const ckaHint = h('p', { id: 'cka-hint' });
const main = document.getElementById('content')!;
const waiting = h('p', { class: 'note', id: 'waiting' }, 'No probes recorded yet: the trainer writes them after each epoch.');
main.append(
  waiting,
  h('section', { class: 'gallery-section compact', 'aria-labelledby': 'gallery-title' }, h('h2', { id: 'gallery-title' }, 'Probe sample'), gallery.el),
  h('section', { 'aria-labelledby': 'pairs-title' }, h('h2', { id: 'pairs-title' }, 'Matched layer pairs'), note, emptyPairs, pairsHolder),
  h('section', { class: 'cka-section', 'aria-labelledby': 'cka-title' }, h('h2', { id: 'cka-title' }, 'Layer similarity (linear CKA)'), ckaHint, cka.el),
);

interface PairView {
  el: HTMLElement;
  title: HTMLElement;
  /** How this pair's maps are reduced (or why they are not). */
  how: HTMLElement;
  teacher: HeatmapView;
  student: HeatmapView;
  diff: HeatmapView;
  lossLine: HTMLElement;
  chart: LineChart;
}
const pairViews = new Map<string, PairView>();

function pairView(id: string): PairView {
  let v = pairViews.get(id);
  if (v) return v;
  const safe = id.replace(/[^a-z0-9]+/gi, '-');
  const title = h('h3', { id: `pair-${safe}-title` });
  const how = h('p', { class: 'pair-reduction' });
  const teacher = new HeatmapView('map-teacher');
  const student = new HeatmapView('map-student');
  const diff = new HeatmapView('map-diff');
  const lossLine = h('p', { class: 'pair-loss' });
  const chart = new LineChart({ id: `pair-${safe}-loss`, title: 'Matching loss over epochs', xLabel: 'epoch', yLabel: 'loss', height: 150 });
  const el = h(
    'article',
    { class: 'pair', 'data-pair': id, 'aria-labelledby': title.id },
    title,
    how,
    h('div', { class: 'maps' }, teacher.el, student.el, diff.el),
    lossLine,
    chart.el,
  );
  v = { el, title, how, teacher, student, diff, lossLine, chart };
  pairViews.set(id, v);
  pairsHolder.append(el);
  return v;
}

const REDUCTIONS: ChannelReduction[] = ['mean', 'max', 'topk'];

function reductionLabel(how: ChannelReduction, k?: number): string {
  return how === 'mean' ? 'Mean' : how === 'max' ? 'Max' : `Top-${k ?? 'k'} mean`;
}

/** The line under a pair's title: what its maps show. */
function reductionText(p: PairProbe, how: ChannelReduction): string {
  if (p.reduced && p.shape) {
    const c = p.shape[2];
    const what = how === 'mean' ? `the mean of its ${c} channels` : how === 'max' ? `the max of its ${c} channels` : `the mean of the ${p.reduced.k} largest of its ${c} channels`;
    return `Conv ${p.shape.join(' × ')}: each position shows ${what}.`;
  }
  if (p.shape?.length === 1) return `Dense (${p.shape[0]} units): shown as a grid; the channel reduction does not apply.`;
  return 'Shown as recorded: conv taps as the channel mean, dense taps as a grid (this run has no max or top-k maps).';
}

type SelectElement = HTMLElement & { value: string; disabled: boolean };
let reductionSelect: SelectElement;
let reductionK: number | undefined;

/** The Reduction select; rebuilt when k changes, since the Top-k option's label shows it. */
function buildReductionSelect(k: number | undefined): void {
  reductionK = k;
  // `label` names the select's inner combobox for screen readers; the <label> is for the eye.
  reductionSelect = h('vscode-single-select', { id: 'reduction', label: 'Channel reduction', disabled: true }) as SelectElement;
  for (const how of REDUCTIONS) reductionSelect.append(h('vscode-option', { value: how }, reductionLabel(how, k)));
  reductionSelect.value = ui.reduction;
  reductionSelect.addEventListener('change', () => {
    ui.reduction = reductionSelect.value as ChannelReduction;
    saveUi({ reduction: ui.reduction });
    schedule();
  });
  reductionHolder.replaceChildren(h('label', { for: 'reduction' }, 'Channel reduction'), reductionSelect);
}
buildReductionSelect(undefined);

/** Enabled when the shown epoch has conv pairs with max and top-k maps; otherwise it shows Mean. */
function updateReductionSelect(rec: ProbeRecord): void {
  const ks = new Set(rec.pairs.flatMap((p) => (p.reduced ? [p.reduced.k] : [])));
  const k = ks.size === 1 ? [...ks][0] : undefined;
  if (k !== reductionK) buildReductionSelect(k);
  const enabled = ks.size > 0;
  reductionSelect.disabled = !enabled;
  reductionSelect.title = enabled ? '' : 'This run recorded no max or top-k maps: conv maps are shown as the channel mean.';
  const value = enabled ? ui.reduction : 'mean';
  if (reductionSelect.value !== value) reductionSelect.value = value;
}

/** Models whose probes hold maps (pairs or CKA), in plan order. */
function mapModels(): StageName[] {
  const idx = store.index;
  return idx ? inPlanOrder(shell.run, idx.pairModels ?? Object.keys(idx.epochs)) : [];
}

/** The model shown: the chosen one, else the distilled student (pairs and CKA), else the first with maps, else the baseline (CKA only). */
function scrubStage(): StageName {
  const have = mapModels();
  if (have.includes(ui.model)) return ui.model;
  if (store.index?.epochs.student?.length) return 'student';
  return have[0] ?? 'baseline';
}

/** Epochs with maps of the shown model. */
function scrubEpochs(): number[] {
  return store.index?.epochs[scrubStage()] ?? [];
}

function render(): void {
  const idx = store.index;
  waiting.hidden = !!idx;
  for (const el of Array.from(main.children)) if (el !== waiting) (el as HTMLElement).hidden = !idx;
  if (!idx) return;
  const stage = scrubStage();
  pickModel(shell.run, mapModels(), stage, (v) => {
    ui.model = v;
    saveUi({ model: v });
    // Another model's pairs: their views are made afresh.
    pairViews.clear();
    pairsHolder.textContent = '';
    scrubber.follow();
    schedule();
  });
  const epochs = scrubEpochs();
  scrubber.update(`no ${modelLabel(shell.run, stage)} probes yet`);
  if (epochs.length) store.want(ui.epoch, [stage]);
  const rec = store.get(ui.epoch)?.[stage];
  gallery.update((k) => ({ caption: String(idx.labels[k]), wrong: false, label: `Sample ${k + 1}, test example ${idx.samples[k]}, label ${idx.labels[k]}` }));

  const k = ui.sample;
  const pairs: PairProbe[] = rec?.pairs ?? [];
  // The index lists the pairs of one model (the student's); another model's come with its records.
  const listed = stage === (idx.pairsOf ?? 'student') ? idx.pairs : pairs;
  emptyPairs.hidden = listed.length > 0;
  note.hidden = listed.length === 0;
  if (rec) updateReductionSelect(rec);
  for (const pair of listed) {
    const v = pairView(pair.id);
    const p = pairs.find((x) => x.id === pair.id);
    const lossId = pair.termId ?? pair.id;
    v.title.textContent = `${lossId.split(':')[0]}: student ${pair.student} → teacher ${pair.teacher}`;
    // Dense pairs and runs recorded before max/top-k have only the mean (or grid) maps.
    const how = p?.reduced ? ui.reduction : 'mean';
    v.how.textContent = p ? reductionText(p, how) : '';
    const shown = p && pairMaps(p, how);
    const t = shown?.teacherMaps[k];
    const s = shown?.studentMaps[k];
    if (!t || !s) {
      v.lossLine.textContent = rec ? 'Not recorded at this epoch.' : 'Loading…';
    } else {
      const lo = Math.min(...t.values, ...s.values);
      const hi = Math.max(...t.values, ...s.values);
      const reducedBy = p!.reduced ? ` (${reductionLabel(how, p!.reduced.k).toLowerCase()} over channels)` : '';
      v.teacher.render({ title: `Teacher ${pair.teacher}${reducedBy}`, rows: t.rows, cols: t.cols, values: t.values, domain: [lo, hi], size: 168, table: true });
      // Runs recorded before `what` existed were all FitNet hints, compared after the connector.
      v.student.render({ title: `Student ${pair.student} (${p!.what ?? 'after its connector'})${reducedBy}`, rows: s.rows, cols: s.cols, values: s.values, domain: [lo, hi], size: 168, table: true });
      const lossText = p!.loss === undefined ? 'no loss on test samples for this term' : `matching loss over the probe samples ${fmt(p!.loss)}`;
      if (s.rows === t.rows && s.cols === t.cols) {
        const d = t.values.map((x, i) => Math.abs(x - (s.values[i] ?? 0)));
        v.diff.el.hidden = false;
        v.diff.render({ title: '|teacher − student|', rows: t.rows, cols: t.cols, values: d, colormap: 'inferno', domain: [0, Math.max(...d, 1e-12)], size: 168, table: true });
        const mse = d.reduce((a, x) => a + x * x, 0) / Math.max(1, d.length);
        v.lossLine.textContent = `Epoch ${ui.epoch}: ${lossText}; this sample's displayed maps differ by mean squared ${fmt(mse)} (after reduction).`;
      } else {
        // The loss compares these maps through its own transform (e.g. a relation over the batch): no cell-wise difference.
        v.diff.el.hidden = true;
        v.lossLine.textContent = `Epoch ${ui.epoch}: ${lossText}; the two maps have different shapes, so no difference map.`;
      }
    }
    const rows = metrics.epochs.filter((e) => e.stage === stage && e.losses[lossId] !== undefined);
    const x = rows.map((r) => r.epoch);
    const train = rows.map((r) => r.losses[lossId]);
    const probe = x.map((e) => (e === ui.epoch && p?.loss !== undefined ? p.loss : null));
    const pal = palette();
    if (!v.chart.instance || v.chart.el.dataset.n !== String(x.length)) {
      v.chart.setSeries(
        [
          { key: 'train', label: 'training (epoch mean)', color: pal.student },
          { key: 'probe', label: `probe samples, epoch ${ui.epoch}`, color: pal.teacher, points: true },
        ],
        x,
        [train, probe],
      );
      v.chart.el.dataset.n = String(x.length);
    } else v.chart.setData(x, [train, probe]);
  }

  renderCka(rec);
}

function renderCka(rec: { cka?: { teacherLayers: string[]; studentLayers: string[]; matrix: number[][] } } | undefined): void {
  const c = rec?.cka;
  if (!c) {
    cka.el.hidden = true;
    ckaHint.textContent = store.index && scrubEpochs().length ? (rec ? 'No CKA matrix at this epoch (probes.cka is off).' : 'Loading…') : 'The CKA matrix appears once a student has trained an epoch.';
    return;
  }
  cka.el.hidden = false;
  const idx = store.index!;
  const highlight: [number, number][] = [];
  for (const p of idx.pairs) {
    const r = c.teacherLayers.indexOf(p.teacher);
    const k = c.studentLayers.indexOf(p.student);
    if (r >= 0 && k >= 0) highlight.push([r, k]);
  }
  cka.render({
    title: `CKA at epoch ${ui.epoch}: teacher layers (rows) × student layers (columns)`,
    rows: c.teacherLayers.length,
    cols: c.studentLayers.length,
    values: c.matrix.flat(),
    domain: [0, 1],
    rowLabels: c.teacherLayers,
    colLabels: c.studentLayers,
    rowTitle: 'teacher',
    colTitle: 'student',
    annotate: (v) => v.toFixed(2),
    highlight,
    size: 44 * Math.max(c.teacherLayers.length, c.studentLayers.length),
    table: true,
  });
  const best = c.studentLayers.map((s, k) => {
    let r = 0;
    c.teacherLayers.forEach((_, i) => c.matrix[i][k] > c.matrix[r][k] && (r = i));
    return `${s} ↔ ${c.teacherLayers[r]} (${c.matrix[r][k].toFixed(2)})`;
  });
  ckaHint.textContent = `Most similar teacher layer per student layer: ${best.join(', ')}. Outlined cells are the configured pairs.`;
}
