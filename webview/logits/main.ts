// Logits panel: the probe samples as a gallery; for the selected one the teacher's, the distilled
// student's and the baseline's logits side by side with their probabilities at temperature T
// (the T slider recomputes softmax(z/T) here, so "dark knowledge" appears as T grows); the soft
// target's entropy; an epoch scrubber; the teacher-vs-student agreement matrix over the probe set.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { StageName } from '../../src/core/protocol';
import type { ProbeIndex } from '../../src/core/webviewProtocol';
import { saveUi, uiState } from '../shared/api';
import { BarChart } from '../shared/barChart';
import { fmt, frameScheduler, h, pct, slider } from '../shared/dom';
import { SampleGallery } from '../shared/gallery';
import { HeatmapView } from '../shared/heatmap';
import { type EpochProbes, ProbeStore, stagesAt } from '../shared/probeStore';
import { epochScrubber } from '../shared/epochScrubber';
import { startShell } from '../shared/shell';
import { agreementMatrix, agreementRate, argmax, entropy, normalizedEntropy, softmax } from '../shared/softmax';
import { palette } from '../shared/theme';

type Model = 'teacher' | 'student' | 'baseline';
const MODELS: Model[] = ['teacher', 'student', 'baseline'];
const MODEL_LABEL: Record<Model, string> = { teacher: 'Teacher', student: 'Distilled student', baseline: 'Baseline student' };

const ui = {
  sample: uiState('sample', 0),
  epoch: uiState('epoch', 0),
  T: uiState('T', 4),
  versus: uiState<'student' | 'baseline'>('versus', 'student'),
  atLatest: uiState('atLatest', true),
};
/** A saved T wins over the run's temperature. */
let tTouched = uiState<number | undefined>('T', undefined) !== undefined;

const store = new ProbeStore(() => schedule());
const schedule = frameScheduler(render);
const scrubber = epochScrubber(ui, scrubEpochs, () => schedule());

const shell = startShell({
  view: 'logits',
  title: 'Logits',
  pickLabel: 'Choose Run…',
  onMessage(m) {
    if (m.type === 'probeIndex') {
      const first = !store.index || store.index.runDir !== m.index.runDir;
      store.setIndex(m.index);
      if (first) buildGallery(m.index);
      scrubber.follow();
      schedule();
    } else if (m.type === 'probes') {
      store.handle(m);
    } else if (m.type === 'run') {
      // The class names come with the run, which may arrive after the probe index: caption again.
      if (store.index && (m.run.classNames ?? []).join() !== (galleryNames ?? []).join()) buildGallery(store.index);
      if (!tTouched) ui.T = m.run.temperature ?? 4;
      tSlider.set(ui.T);
      schedule();
    } else if (m.type === 'target') {
      if (m.empty || (store.index && m.target.runDir && store.index.runDir !== m.target.runDir)) store.index = undefined;
      schedule();
    }
  },
  onTheme: () => schedule(),
});

// ---- controls -------------------------------------------------------------------------------

const tSlider = slider({
  id: 'temperature',
  label: 'Temperature T',
  min: 0.5,
  max: 40,
  step: 0.5,
  value: ui.T,
  format: (v) => `T = ${v}`,
  onInput(v) {
    ui.T = v;
    tTouched = true;
    saveUi({ T: v });
    renderDetail();
  },
});
const versus = h('vscode-single-select', { id: 'versus', label: 'Compare the teacher with' }) as HTMLElement & { value: string };
versus.append(h('vscode-option', { value: 'student' }, 'distilled student'), h('vscode-option', { value: 'baseline' }, 'baseline student'));
versus.value = ui.versus;
versus.addEventListener('change', () => {
  ui.versus = versus.value === 'baseline' ? 'baseline' : 'student';
  saveUi({ versus: ui.versus });
  renderAgreement();
});
shell.toolbar.append(scrubber.el, tSlider.el);

// ---- layout ---------------------------------------------------------------------------------

const gallery = new SampleGallery('gallery', (k) => {
  ui.sample = k;
  saveUi({ sample: k });
  schedule();
});
const detailTitle = h('h2', { id: 'detail-title' }, 'Sample');
const entropyLine = h('p', { class: 'entropy', id: 'entropy', 'aria-live': 'polite' });
const columns = h('div', { class: 'model-columns' });
const charts: Record<Model, { col: HTMLElement; logits: BarChart; probs: BarChart; note: HTMLElement }> = {} as never;
for (const m of MODELS) {
  const logits = new BarChart(`logits-${m}`);
  const probs = new BarChart(`probs-${m}`);
  const note = h('p', { class: 'model-note' });
  const col = h('section', { class: 'model-col', id: `col-${m}`, 'aria-label': MODEL_LABEL[m] }, h('h3', {}, MODEL_LABEL[m]), logits.el, probs.el, note);
  charts[m] = { col, logits, probs, note };
  columns.append(col);
}
const agreement = new HeatmapView('agreement');
const agreementLine = h('p', { id: 'agreement-rate' });
const waiting = h('p', { class: 'note', id: 'waiting' }, 'No probes recorded yet: the trainer writes them after each epoch.');
shell.main.append(
  waiting,
  h('section', { class: 'gallery-section', 'aria-labelledby': 'gallery-title' }, h('h2', { id: 'gallery-title' }, 'Probe samples'), gallery.el),
  h('section', { class: 'detail', 'aria-labelledby': 'detail-title' }, detailTitle, entropyLine, columns),
  h(
    'section',
    { class: 'agreement-section', 'aria-labelledby': 'agreement-title' },
    h('div', { class: 'section-head' }, h('h2', { id: 'agreement-title' }, 'Agreement over the probe set'), h('label', { for: 'versus' }, 'Teacher vs'), versus),
    agreementLine,
    agreement.el,
  ),
);

// ---- data helpers ---------------------------------------------------------------------------

/** The epochs the scrubber walks: the students' (baseline and distilled) once they exist, else the teacher's. */
function scrubEpochs(): number[] {
  const idx = store.index;
  if (!idx) return [];
  const students = [...new Set([...idx.epochs.student, ...idx.epochs.baseline])].sort((a, b) => a - b);
  return students.length ? students : idx.epochs.teacher;
}

function teacherOnly(): boolean {
  const idx = store.index;
  return !!idx && !idx.epochs.student.length && !idx.epochs.baseline.length;
}

/** Logits per model at the current epoch: [sample][class], or undefined where not recorded. */
function logitsAt(recs: EpochProbes | undefined): Partial<Record<Model, number[][]>> {
  if (!recs) return {};
  if (teacherOnly()) return { teacher: recs.teacher?.studentLogits };
  return {
    teacher: recs.student?.teacherLogits ?? recs.baseline?.teacherLogits,
    student: recs.student?.studentLogits,
    baseline: recs.baseline?.studentLogits,
  };
}

/** Bar labels: the dataset's class names where it has them (Fashion-MNIST's "Sneaker"), else 0…n−1. */
function classLabels(n: number): string[] {
  return Array.from({ length: n }, (_, i) => className(i));
}

function className(i: number): string {
  return shell.run?.classNames?.[i] ?? String(i);
}

// ---- gallery --------------------------------------------------------------------------------

/** The class names the gallery's captions were made with. */
let galleryNames: string[] | undefined;

function buildGallery(index: ProbeIndex): void {
  galleryNames = shell.run?.classNames;
  gallery.selected = ui.sample;
  gallery.build(index, (k) => className(index.labels[k]));
  ui.sample = gallery.selected;
}

// ---- rendering ------------------------------------------------------------------------------

function render(): void {
  const idx = store.index;
  waiting.hidden = !!idx;
  for (const el of Array.from(shell.main.children)) if (el !== waiting) (el as HTMLElement).hidden = !idx;
  if (!idx) return;
  scrubber.update('–');
  const stages = stagesAt(idx, ui.epoch).filter((s: StageName) => (teacherOnly() ? s === 'teacher' : s !== 'teacher'));
  store.want(ui.epoch, stages);
  renderGallery();
  renderDetail();
  renderAgreement();
}

function renderGallery(): void {
  const idx = store.index!;
  const L = logitsAt(store.get(ui.epoch));
  gallery.update((k) => {
    const label = idx.labels[k];
    const preds = MODELS.filter((m) => L[m]?.[k]).map((m) => ({ m, p: argmax(L[m]![k]) }));
    const wrong = preds.some((x) => x.p !== label);
    return {
      caption: `${className(label)}${wrong ? ' ✕' : ''}`,
      wrong,
      label: `Sample ${k + 1}, test example ${idx.samples[k]}, label ${className(label)}` + preds.map((x) => `; ${MODEL_LABEL[x.m]} says ${className(x.p)}`).join(''),
    };
  });
}

function renderDetail(): void {
  const idx = store.index;
  if (!idx) return;
  const k = ui.sample;
  const recs = store.get(ui.epoch);
  const L = logitsAt(recs);
  const classes = idx.classes;
  const labels = classLabels(classes);
  const p = palette();
  const color: Record<Model, string> = { teacher: p.teacher, student: p.student, baseline: p.baseline };
  detailTitle.textContent = `Sample ${k + 1} (test example ${idx.samples[k] ?? '?'}), label ${className(idx.labels[k])} · epoch ${ui.epoch}${recs ? '' : ' (loading…)'}`;
  const all = MODELS.flatMap((m) => L[m]?.[k] ?? []);
  const domain: [number, number] = [Math.min(0, ...all), Math.max(0, ...all)];
  for (const m of MODELS) {
    const z = L[m]?.[k];
    const c = charts[m];
    c.col.hidden = !z && !(m === 'teacher' || !teacherOnly());
    if (!z) {
      c.logits.el.hidden = c.probs.el.hidden = true;
      c.note.textContent = teacherOnly() && m !== 'teacher' ? '' : `No ${MODEL_LABEL[m].toLowerCase()} logits at epoch ${ui.epoch}.`;
      continue;
    }
    c.logits.el.hidden = c.probs.el.hidden = false;
    const q = softmax(z, ui.T);
    c.logits.render({ title: `${MODEL_LABEL[m]} logits z`, values: z, labels, color: color[m], domain, mark: idx.labels[k], valueName: 'logit' });
    c.probs.render({
      title: `${MODEL_LABEL[m]} softmax(z / ${ui.T})`,
      values: q,
      labels,
      color: color[m],
      domain: [0, 1],
      mark: idx.labels[k],
      valueName: `p at T=${ui.T}`,
      tableExtra: { name: 'logit', values: z },
    });
    c.note.textContent = `predicts ${className(argmax(z))} · entropy ${fmt(entropy(q), 3)} nats`;
  }
  const zt = L.teacher?.[k];
  if (zt) {
    const q = softmax(zt, ui.T);
    const second = [...q].sort((a, b) => b - a)[1] ?? 0;
    entropyLine.textContent = `Soft target at T = ${ui.T}: entropy ${fmt(entropy(q), 4)} nats (${pct(normalizedEntropy(q), 0)} of the maximum log ${classes}); runner-up class holds ${pct(second, 1)}.`;
    entropyLine.dataset.entropy = String(entropy(q));
  } else {
    entropyLine.textContent = recs ? 'No teacher logits at this epoch.' : '';
    delete entropyLine.dataset.entropy;
  }
}

function renderAgreement(): void {
  const idx = store.index;
  if (!idx) return;
  const L = logitsAt(store.get(ui.epoch));
  const other = teacherOnly() ? undefined : L[ui.versus];
  if (!L.teacher || !other) {
    agreement.el.hidden = true;
    agreementLine.textContent = teacherOnly() ? 'The agreement matrix appears once a student trains.' : '';
    return;
  }
  agreement.el.hidden = false;
  const m = agreementMatrix(L.teacher, other, idx.classes);
  const rate = agreementRate(m);
  const agree = m.reduce((a, row, i) => a + row[i], 0);
  const n = Math.min(L.teacher.length, other.length);
  agreementLine.textContent = `At epoch ${ui.epoch} the ${MODEL_LABEL[ui.versus].toLowerCase()} predicts the teacher's class for ${agree} of ${n} samples (${pct(rate, 0)}).`;
  const labels = classLabels(idx.classes);
  agreement.render({
    title: `Teacher (rows) vs ${MODEL_LABEL[ui.versus].toLowerCase()} (columns): predicted classes`,
    rows: idx.classes,
    cols: idx.classes,
    values: m.flat(),
    colormap: 'viridis',
    domain: [0, Math.max(1, ...m.flat())],
    rowLabels: labels,
    colLabels: labels,
    rowTitle: 'teacher',
    colTitle: ui.versus === 'student' ? 'distilled student' : 'baseline',
    annotate: (v) => (v ? String(v) : ''),
    size: 22 * idx.classes,
    table: true,
  });
}
