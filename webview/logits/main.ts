// Logits panel: the probe samples as a gallery; for the selected one two models of the run side by
// side (by default the teacher and the distilled student — an online run's peer 1 and peer 2, a
// self-distilled network's deepest and a shallow exit), plus the second one's alone-trained baseline,
// with their probabilities at temperature T (the T slider recomputes softmax(z/T) here, so "dark
// knowledge" appears as T grows); the first model's soft-target entropy; an epoch scrubber; the
// agreement matrix of the two over the whole test set once both are finished (the run's
// test-predictions.json), over the probe samples of the shown epoch until then.
import '@vscode-elements/elements/dist/vscode-single-select/index.js';
import '@vscode-elements/elements/dist/vscode-option/index.js';
import type { StageName, TestPredictions } from '../../src/core/protocol';
import type { ProbeIndex, RunInfo } from '../../src/core/webviewProtocol';
import { saveUi, uiState } from '../shared/api';
import { BarChart } from '../shared/barChart';
import { fmt, frameScheduler, h, pct, slider } from '../shared/dom';
import { SampleGallery } from '../shared/gallery';
import { HeatmapView } from '../shared/heatmap';
import { type EpochProbes, ProbeStore, stagesAt } from '../shared/probeStore';
import { epochScrubber } from '../shared/epochScrubber';
import { startShell } from '../shared/shell';
import { classAgreementMatrix, correctness } from '../shared/agreement';
import { agreementMatrix, agreementRate, argmax, entropy, normalizedEntropy, softmax } from '../shared/softmax';
import { inPlanOrder, modelColors, modelLabel, modelOf } from '../shared/models';
import { palette } from '../shared/theme';

/** A model's name at the start of a sentence or a column ("Distilled student", "Peer 2 (student)"). */
const title = (id: StageName) => capitalize(modelLabel(shell.run, id));
const lower = (id: StageName) => modelLabel(shell.run, id);
const capitalize = (t: string) => t.charAt(0).toUpperCase() + t.slice(1);
/** "the distilled student", "the teacher"; but "peer 3", "generation 2", "exit conv1" (names of their own). */
const the = (id: StageName) => (/^(peer|generation|exit|teacher \d)/.test(lower(id)) ? lower(id) : `the ${lower(id)}`);

const ui = {
  sample: uiState('sample', 0),
  epoch: uiState('epoch', 0),
  T: uiState('T', 4),
  /** The two models compared ('' = the run's default pair). */
  a: uiState<StageName>('a', ''),
  b: uiState<StageName>('b', ''),
  atLatest: uiState('atLatest', true),
};
/** A saved T wins over the run's temperature. */
let tTouched = uiState<number | undefined>('T', undefined) !== undefined;

const store = new ProbeStore(() => schedule());
/** The shown run's test-predictions.json as the host last sent it (undefined: none, or another run's). */
let testPredictions: { runDir: string; predictions?: TestPredictions } | undefined;
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
    } else if (m.type === 'testPredictions') {
      testPredictions = { runDir: m.runDir, predictions: m.predictions };
      schedule();
    } else if (m.type === 'run') {
      // The class names come with the run, which may arrive after the probe index: caption again.
      if (store.index && (m.run.classNames ?? []).join() !== (galleryNames ?? []).join()) buildGallery(store.index);
      if (!tTouched) ui.T = m.run.temperature ?? 4;
      tSlider.set(ui.T);
      choicesKey = '';
      schedule();
    } else if (m.type === 'target') {
      if (m.empty || (store.index && m.target.runDir && store.index.runDir !== m.target.runDir)) store.index = undefined;
      if (m.empty || testPredictions?.runDir !== m.target.runDir) testPredictions = undefined;
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
const pickers = h('div', { class: 'field-holder', id: 'model-pickers' });
shell.toolbar.append(scrubber.el, tSlider.el, pickers);

// ---- layout ---------------------------------------------------------------------------------

const gallery = new SampleGallery('gallery', (k) => {
  ui.sample = k;
  saveUi({ sample: k });
  schedule();
});
const detailTitle = h('h2', { id: 'detail-title' }, 'Sample');
const entropyLine = h('p', { class: 'entropy', id: 'entropy', 'aria-live': 'polite' });
const columns = h('div', { class: 'model-columns' });
interface Column {
  col: HTMLElement;
  heading: HTMLElement;
  logits: BarChart;
  probs: BarChart;
  note: HTMLElement;
}
/** One column per model shown so far (made when first shown, hidden when not). */
const charts = new Map<StageName, Column>();
function columnFor(m: StageName): Column {
  let c = charts.get(m);
  if (c) return c;
  const logits = new BarChart(`logits-${m}`);
  const probs = new BarChart(`probs-${m}`);
  const note = h('p', { class: 'model-note' });
  const heading = h('h3', {}, title(m));
  const col = h('section', { class: 'model-col', id: `col-${m}`, 'data-model': m, 'aria-label': title(m) }, heading, logits.el, probs.el, note);
  c = { col, heading, logits, probs, note };
  charts.set(m, c);
  return c;
}
const agreement = new HeatmapView('agreement');
const agreementTitle = h('h2', { id: 'agreement-title' }, 'Agreement');
const agreementLine = h('p', { id: 'agreement-rate' });
/** Over the whole test set: both right, only one right, both wrong. */
const correctnessLine = h('p', { id: 'agreement-correctness' });
const waiting = h('p', { class: 'note', id: 'waiting' }, 'No probes recorded yet: the trainer writes them after each epoch.');
shell.main.append(
  waiting,
  h('section', { class: 'gallery-section', 'aria-labelledby': 'gallery-title' }, h('h2', { id: 'gallery-title' }, 'Probe samples'), gallery.el),
  h('section', { class: 'detail', 'aria-labelledby': 'detail-title' }, detailTitle, entropyLine, columns),
  h(
    'section',
    { class: 'agreement-section', 'aria-labelledby': 'agreement-title' },
    h('div', { class: 'section-head' }, agreementTitle),
    agreementLine,
    correctnessLine,
    agreement.el,
  ),
);

// ---- data helpers ---------------------------------------------------------------------------

/**
 * Where a model's logits are recorded: its own probe files' `studentLogits`, except for a frozen
 * teacher, whose logits the models it taught carry as `teacherLogits` (the distilled student, a
 * born-again run's first generation; an older run's baseline too). A teacher trained in the run
 * has its own files too: those show it while it trains, before any student has probes.
 */
const TAUGHT_BY_TEACHER = ['student', 'gen1', 'baseline'];
function sourceOf(m: StageName): { from: StageName; field: 'teacherLogits' | 'studentLogits' } {
  const idx = store.index;
  if (m === 'teacher' && idx) {
    const from = TAUGHT_BY_TEACHER.find((s) => idx.epochs[s]?.length);
    if (from) return { from, field: 'teacherLogits' };
  }
  return { from: m, field: 'studentLogits' };
}

/** Models whose logits the probes hold, in the run's plan order. */
function choices(): StageName[] {
  const idx = store.index;
  if (!idx) return [];
  const ids = Object.keys(idx.epochs);
  if (modelOf(shell.run, 'teacher') && sourceOf('teacher').field === 'teacherLogits') ids.push('teacher');
  return inPlanOrder(shell.run, ids);
}

/** The pair shown by default: teacher vs distilled student; peer 1 vs peer 2; deepest vs a shallow exit; teacher vs the last generation. */
function defaultPair(have: StageName[], run: RunInfo | undefined): [StageName | undefined, StageName | undefined] {
  const first = (...ids: (StageName | undefined)[]) => ids.find((id) => id !== undefined && have.includes(id));
  const role = (r: string) => (run?.models ?? []).filter((m) => m.role === r && have.includes(m.id)).map((m) => m.id);
  const a = first('teacher', 'peer1', 'exit-logits', have[0]);
  const b = first('student', 'peer2', role('exit').find((id) => id !== a), role('generation').at(-1), have.find((id) => id !== a));
  return [a, b === a ? undefined : b];
}

/** The models shown: the compared two, then the second one's alone-trained baseline (as the classic teacher · student · baseline). */
function shownModels(): StageName[] {
  const have = choices();
  const [da, db] = defaultPair(have, shell.run);
  const a = have.includes(ui.a) ? ui.a : da;
  const b = have.includes(ui.b) && ui.b !== a ? ui.b : db !== a ? db : undefined;
  const base = b ? (modelOf(shell.run, b)?.baseline ?? (b === 'student' ? 'baseline' : undefined)) : undefined;
  return [...new Set([a, b, base].filter((m): m is StageName => !!m && have.includes(m)))];
}
/** The epochs the scrubber walks: those with probes of the shown models (their sources). */
function scrubEpochs(): number[] {
  const idx = store.index;
  if (!idx) return [];
  return [...new Set(shownModels().flatMap((m) => idx.epochs[sourceOf(m).from] ?? []))].sort((x, y) => x - y);
}

/** Logits per shown model at the current epoch: [sample][class], or undefined where not recorded. */
function logitsAt(recs: EpochProbes | undefined): Map<StageName, number[][]> {
  const out = new Map<StageName, number[][]>();
  if (!recs) return out;
  for (const m of shownModels()) {
    const src = sourceOf(m);
    // Before its pupils have probes at this epoch, a trained teacher's own files show it.
    const z = recs[src.from]?.[src.field] ?? (src.from !== m ? recs[m]?.studentLogits : undefined);
    if (z) out.set(m, z);
  }
  return out;
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
  renderPickers();
  scrubber.update('–');
  const have = stagesAt(idx, ui.epoch);
  const sources = [...new Set(shownModels().map((m) => (have.includes(sourceOf(m).from) ? sourceOf(m).from : m)))].filter((s: StageName) => have.includes(s));
  store.want(ui.epoch, sources);
  renderGallery();
  renderDetail();
  renderAgreement();
}

/** The two "compare" selects, rebuilt when the run's models (or their labels) change. */
let choicesKey = '';
function renderPickers(): void {
  const have = choices();
  const [a, b] = shownModels();
  // Rebuilt only when the choices change, so a select keeps the keyboard focus while it is used.
  const key = have.map((m) => `${m}=${lower(m)}`).join(',');
  if (key === choicesKey) {
    for (const [id, v] of [
      ['model-a', a],
      ['model-b', b],
    ] as const) {
      const el = document.getElementById(id) as (HTMLElement & { value: string }) | null;
      if (el && v && el.value !== v) el.value = v;
    }
    return;
  }
  choicesKey = key;
  const select = (id: string, label: string, value: StageName | undefined, onChange: (v: StageName) => void) => {
    const el = h('vscode-single-select', { id, label }) as HTMLElement & { value: string };
    for (const m of have) el.append(h('vscode-option', { value: m }, lower(m)));
    if (value) el.value = value;
    el.addEventListener('change', () => onChange(el.value));
    return h('div', { class: 'field' }, h('label', { for: id }, label), el);
  };
  pickers.replaceChildren(
    select('model-a', 'Compare', a, (v) => {
      ui.a = v;
      if (v === shownModels()[1]) ui.b = '';
      saveUi({ a: ui.a, b: ui.b });
      schedule();
    }),
    ...(have.length > 1
      ? [
          select('model-b', 'with', b, (v) => {
            ui.b = v;
            saveUi({ b: v });
            schedule();
          }),
        ]
      : []),
  );
}

function renderGallery(): void {
  const idx = store.index!;
  const L = logitsAt(store.get(ui.epoch));
  gallery.update((k) => {
    const label = idx.labels[k];
    const preds = [...L].filter(([, z]) => z[k]).map(([m, z]) => ({ m, p: argmax(z[k]) }));
    const wrong = preds.some((x) => x.p !== label);
    return {
      caption: `${className(label)}${wrong ? ' ✕' : ''}`,
      wrong,
      label: `Sample ${k + 1}, test example ${idx.samples[k]}, label ${className(label)}` + preds.map((x) => `; ${title(x.m)} says ${className(x.p)}`).join(''),
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
  const shown = shownModels();
  const color = modelColors(shell.run, shown, palette());
  detailTitle.textContent = `Sample ${k + 1} (test example ${idx.samples[k] ?? '?'}), label ${className(idx.labels[k])} · epoch ${ui.epoch}${recs ? '' : ' (loading…)'}`;
  const all = shown.flatMap((m) => L.get(m)?.[k] ?? []);
  const domain: [number, number] = [Math.min(0, ...all), Math.max(0, ...all)];
  for (const [m, c] of charts) if (!shown.includes(m)) c.col.hidden = true;
  // Columns in the shown order: the compared two, then the baseline.
  columns.replaceChildren(...shown.map((m) => columnFor(m).col));
  for (const m of shown) {
    const z = L.get(m)?.[k];
    const c = columnFor(m);
    c.col.hidden = false;
    c.heading.textContent = title(m);
    c.col.setAttribute('aria-label', title(m));
    if (!z) {
      c.logits.el.hidden = c.probs.el.hidden = true;
      c.note.textContent = `No ${lower(m)} logits at epoch ${ui.epoch}.`;
      continue;
    }
    c.logits.el.hidden = c.probs.el.hidden = false;
    const q = softmax(z, ui.T);
    c.logits.render({ title: `${title(m)} logits z`, values: z, labels, color: color.get(m)!, domain, mark: idx.labels[k], valueName: 'logit' });
    c.probs.render({
      title: `${title(m)} softmax(z / ${ui.T})`,
      values: q,
      labels,
      color: color.get(m)!,
      domain: [0, 1],
      mark: idx.labels[k],
      valueName: `p at T=${ui.T}`,
      tableExtra: { name: 'logit', values: z },
    });
    c.note.textContent = `predicts ${className(argmax(z))} · entropy ${fmt(entropy(q), 3)} nats`;
  }
  // The soft target: what the first model (the teacher, peer 1, the deepest exit) hands the other.
  const a = shown[0];
  const zt = a ? L.get(a)?.[k] : undefined;
  if (zt) {
    const q = softmax(zt, ui.T);
    const second = [...q].sort((x, y) => y - x)[1] ?? 0;
    entropyLine.textContent = `${a === 'teacher' ? 'Soft target' : `${title(a)} as a soft target`} at T = ${ui.T}: entropy ${fmt(entropy(q), 4)} nats (${pct(normalizedEntropy(q), 0)} of the maximum log ${classes}); runner-up class holds ${pct(second, 1)}.`;
    entropyLine.dataset.entropy = String(entropy(q));
  } else {
    entropyLine.textContent = recs && a ? `No ${lower(a)} logits at this epoch.` : '';
    delete entropyLine.dataset.entropy;
  }
}

/** 1234 → "1,234". */
const grouped = (n: number) => n.toLocaleString('en-US');

/**
 * The two compared models' agreement: over the whole test set when both have test predictions
 * (finished models of a run that records them), else over the probe samples of the shown epoch.
 */
function renderAgreement(): void {
  const idx = store.index;
  if (!idx) return;
  const [a, b] = shownModels();
  const whole = testPredictions?.runDir === idx.runDir ? testPredictions.predictions : undefined;
  const pa = a ? whole?.models[a] : undefined;
  const pb = b ? whole?.models[b] : undefined;
  if (whole && a && b && pa && pb) return renderTestAgreement(a, b, pa, pb, whole);
  correctnessLine.hidden = true;
  const L = logitsAt(store.get(ui.epoch));
  const za = a ? L.get(a) : undefined;
  const zb = b ? L.get(b) : undefined;
  if (!za || !zb || !a || !b) {
    agreementTitle.textContent = `Agreement over the probe samples of epoch ${ui.epoch}`;
    agreement.el.hidden = true;
    agreementLine.textContent = b ? '' : 'The agreement matrix appears once a second model has probes.';
    return;
  }
  const n = Math.min(za.length, zb.length);
  agreementTitle.textContent = `Agreement over the ${grouped(n)} probe samples of epoch ${ui.epoch}`;
  const m = agreementMatrix(za, zb, idx.classes);
  const agree = m.reduce((acc, row, i) => acc + row[i], 0);
  // In a live run, say what the whole test set's matrix waits for, so its appearance later is no surprise.
  const waitingFor = [a, b].filter((x) => !whole?.models[x]).map(the);
  const why = shell.run?.status === 'running' ? ` The agreement over the whole test set appears once ${waitingFor.join(' and ')} ${waitingFor.length > 1 ? 'are' : 'is'} finished.` : '';
  agreementLine.textContent = `At epoch ${ui.epoch} ${the(b)} predicts ${the(a)}’s class for ${agree} of ${n} samples (${pct(agreementRate(m), 0)}).${why}`;
  drawAgreement(a, b, m, idx.classes, 22);
}

/** The C×C matrix over every test example, the share where B predicts A's class, and who is right where. */
function renderTestAgreement(a: StageName, b: StageName, pa: number[], pb: number[], whole: TestPredictions): void {
  const n = whole.labels.length;
  agreementTitle.textContent = `Agreement over the ${grouped(n)} test examples`;
  const m = classAgreementMatrix(pa, pb, whole.classes);
  const agree = m.reduce((acc, row, i) => acc + row[i], 0);
  agreementLine.textContent = `${capitalize(the(b))} predicts ${the(a)}’s class for ${grouped(agree)} of ${grouped(n)} test examples (${pct(n ? agree / n : NaN, 1)}).`;
  const c = correctness(pa, pb, whole.labels);
  correctnessLine.hidden = false;
  correctnessLine.textContent = `Both right: ${grouped(c.bothRight)} · only ${the(a)} right: ${grouped(c.onlyFirstRight)} · only ${the(b)} right: ${grouped(c.onlySecondRight)} · both wrong: ${grouped(c.bothWrong)}.`;
  // Larger cells: counts over thousands of examples run to four digits.
  drawAgreement(a, b, m, whole.classes, 30);
}

function drawAgreement(a: StageName, b: StageName, m: number[][], classes: number, cellSize: number): void {
  agreement.el.hidden = false;
  const labels = classLabels(classes);
  agreement.render({
    title: `${title(a)} (rows) vs ${lower(b)} (columns): predicted classes`,
    rows: classes,
    cols: classes,
    values: m.flat(),
    colormap: 'viridis',
    domain: [0, Math.max(1, ...m.flat())],
    rowLabels: labels,
    colLabels: labels,
    rowTitle: lower(a),
    colTitle: lower(b),
    annotate: (v) => (v ? String(v) : ''),
    size: cellSize * classes,
    table: true,
  });
}
