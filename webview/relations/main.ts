// Relations panel: what "relation knowledge" is. For each relation term of the run (SP, RKD, PKT,
// CC, …), the teacher's and the student's relation matrices over the probe samples side by side —
// the matrices the loss makes alike — and their absolute difference, at any recorded epoch, for any
// model of the run whose probes hold relation matrices (default: the distilled student).
import type { RelationProbe, StageName } from '../../src/core/protocol';
import { saveUi, uiState } from '../shared/api';
import { fmt, frameScheduler, h } from '../shared/dom';
import { HeatmapView } from '../shared/heatmap';
import { ProbeStore } from '../shared/probeStore';
import { epochScrubber } from '../shared/epochScrubber';
import { startShell } from '../shared/shell';
import { inPlanOrder, modelLabel, modelPicker } from '../shared/models';

const ui = {
  epoch: uiState('epoch', 0),
  atLatest: uiState('atLatest', true),
  /** The model whose relations are shown ('' = the default). */
  model: uiState<StageName>('model', ''),
};
const modelHolder = document.createElement('div');
modelHolder.className = 'field';
modelHolder.hidden = true;
const pickModel = modelPicker(modelHolder, 'model', 'Model');
const store = new ProbeStore(() => schedule());
const schedule = frameScheduler(render);
const scrubber = epochScrubber(ui, scrubEpochs, () => schedule());

const shell = startShell({
  view: 'relations',
  title: 'Relations',
  pickLabel: 'Choose Run…',
  onMessage(m) {
    if (m.type === 'probeIndex') {
      if (!store.index || store.index.runDir !== m.index.runDir) {
        views.clear();
        holder.textContent = '';
      }
      store.setIndex(m.index);
      scrubber.follow();
      schedule();
    } else if (m.type === 'probes') {
      store.handle(m);
    } else if (m.type === 'target') {
      if (m.empty || (store.index && m.target.runDir && store.index.runDir !== m.target.runDir)) store.index = undefined;
      schedule();
    } else if (m.type === 'run') {
      schedule();
    }
  },
  onTheme: () => schedule(),
});
shell.toolbar.append(scrubber.el, modelHolder);

const main = document.getElementById('content')!;
const waiting = h('p', { class: 'note', id: 'waiting' }, 'No probes recorded yet: the trainer writes them after each epoch of the distilled student.');
const none = h(
  'p',
  { class: 'note', id: 'no-relations', hidden: true },
  'This run has no relation terms (sp, rkd, pkt, cc, …): the student was not asked to copy how the teacher relates samples to each other.',
);
const note = h(
  'p',
  { class: 'note', id: 'relations-note' },
  'Each matrix is over the probe samples (rows and columns in the same order): how the network relates every sample to every other, as the loss defines it. The loss pulls the student’s matrix towards the teacher’s; |teacher − student| shows what is left.',
);
const holder = h('div', { class: 'pairs', id: 'relations' });
main.append(waiting, h('section', { 'aria-labelledby': 'relations-title' }, h('h2', { id: 'relations-title' }, 'Relation matrices'), note, none, holder));

interface RelationView {
  el: HTMLElement;
  status: HTMLElement;
  teacher: HeatmapView;
  student: HeatmapView;
  diff: HeatmapView;
}
const views = new Map<string, RelationView>();

function viewFor(key: string, title: string): RelationView {
  let v = views.get(key);
  if (v) return v;
  const safe = key.replace(/[^\w-]/g, '_');
  const heading = h('h3', { id: `rel-${safe}-title` }, title);
  const status = h('p', { class: 'pair-loss' });
  const teacher = new HeatmapView('map-teacher');
  const student = new HeatmapView('map-student');
  const diff = new HeatmapView('map-diff');
  const el = h('section', { class: 'pair', 'data-relation': key, 'aria-labelledby': heading.id }, heading, h('div', { class: 'maps' }, teacher.el, student.el, diff.el), status);
  v = { el, status, teacher, student, diff };
  views.set(key, v);
  holder.append(el);
  return v;
}

/** Models whose probes hold maps, in plan order. */
function relationModels(): StageName[] {
  const idx = store.index;
  return idx ? inPlanOrder(shell.run, idx.pairModels ?? Object.keys(idx.epochs)) : [];
}

/** The chosen model, else the distilled student, else the first with maps. */
function shownModel(): StageName {
  const have = relationModels();
  if (have.includes(ui.model)) return ui.model;
  return store.index?.epochs.student?.length || !have.length ? 'student' : have[0];
}

function scrubEpochs(): number[] {
  return store.index?.epochs[shownModel()] ?? [];
}

function renderRelation(r: RelationProbe, v: RelationView): void {
  const t = r.teacher;
  const s = r.student;
  const lo = Math.min(...t.values, ...s.values);
  const hi = Math.max(...t.values, ...s.values);
  const size = 200;
  v.teacher.render({ title: `Teacher: ${r.name}`, rows: t.rows, cols: t.cols, values: t.values, domain: [lo, hi], size, table: true });
  v.student.render({ title: `Student: ${r.name}`, rows: s.rows, cols: s.cols, values: s.values, domain: [lo, hi], size, table: true });
  const d = t.values.map((x, i) => Math.abs(x - (s.values[i] ?? 0)));
  v.diff.render({ title: '|teacher − student|', rows: t.rows, cols: t.cols, values: d, colormap: 'inferno', domain: [0, Math.max(...d, 1e-12)], size, table: true });
  const mean = d.reduce((a, x) => a + x, 0) / Math.max(1, d.length);
  v.status.textContent = `Epoch ${ui.epoch}: ${t.rows} × ${t.cols} over the probe samples; mean |teacher − student| ${fmt(mean)}.`;
}

function relationTerms(rs: RelationProbe[]): { id: string; type: string; names: string[] }[] {
  const out = new Map<string, { id: string; type: string; names: string[] }>();
  for (const r of rs) {
    const e = out.get(r.id) ?? { id: r.id, type: r.type, names: [] };
    e.names.push(r.name);
    out.set(r.id, e);
  }
  return [...out.values()];
}

function render(): void {
  const idx = store.index;
  waiting.hidden = !!idx;
  for (const el of Array.from(main.children)) if (el !== waiting) (el as HTMLElement).hidden = !idx;
  if (!idx) return;
  const model = shownModel();
  pickModel(shell.run, relationModels(), model, (v) => {
    ui.model = v;
    saveUi({ model: v });
    views.clear();
    holder.textContent = '';
    scrubber.follow();
    schedule();
  });
  const epochs = scrubEpochs();
  scrubber.update(`no ${modelLabel(shell.run, model)} probes yet`);
  if (epochs.length) store.want(ui.epoch, [model]);
  const rec = store.get(ui.epoch)?.[model];
  // The index lists one model's relation terms (the student's); another model's come with its records.
  const terms = model === (idx.pairsOf ?? 'student') ? (idx.relations ?? []) : relationTerms(rec?.relations ?? []);
  none.hidden = terms.length > 0;
  for (const term of terms) {
    for (const name of term.names) {
      const v = viewFor(`${term.id}/${name}`, `${term.id} — ${name}`);
      const r = rec?.relations?.find((x) => x.id === term.id && x.name === name);
      if (r) renderRelation(r, v);
      else v.status.textContent = rec ? 'Not recorded at this epoch.' : 'Loading…';
    }
  }
}
