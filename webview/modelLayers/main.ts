// Model layers panel (before any run): the teacher's and the student's layers side by side —
// names, output shapes, parameter counts — with the configured layer pairs and their connectors
// drawn between them. It follows the config as it is typed; pairs the validator rejects are
// flagged with its message.
import '@vscode-elements/elements/dist/vscode-button/index.js';
import type { LayerInfo } from '../../src/core/models';
import type { LayerPair, LayersPayload } from '../../src/core/webviewProtocol';
import { post } from '../shared/api';
import { frameScheduler, h } from '../shared/dom';
import { startShell } from '../shared/shell';
import { cssVar } from '../shared/theme';

let payload: LayersPayload | undefined;
/** The last payload with layers: kept on screen while the text is momentarily broken (typing). */
let lastGood: LayersPayload | undefined;
const schedule = frameScheduler(drawLinks);

startShell({
  view: 'modelLayers',
  title: 'Model Layers',
  runLine: false,
  onMessage(m) {
    if (m.type === 'layers') {
      const p = m.layers;
      const broken = !p.teacher && !p.student && p.problems.length > 0;
      if (!broken || !lastGood || lastGood.configPath !== p.configPath) {
        if (p.teacher || p.student) lastGood = p;
        payload = p;
        render(p, false);
      } else {
        payload = { ...lastGood, problems: p.problems };
        render(payload, true);
      }
    }
  },
  onTheme: () => schedule(),
});

const fileLine = h('p', { class: 'run-line', id: 'config-file' });
const teacherCol = h('section', { class: 'layer-col', id: 'teacher-layers', 'aria-labelledby': 'teacher-title' });
const studentCol = h('section', { class: 'layer-col', id: 'student-layers', 'aria-labelledby': 'student-title' });
const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
svg.setAttribute('class', 'links');
svg.setAttribute('aria-hidden', 'true');
const linkCol = h('div', { class: 'link-col' });
linkCol.append(svg);
const grid = h('div', { class: 'layers-grid' }, teacherCol, linkCol, studentCol);
const pairList = h('ol', { class: 'pair-list', id: 'pair-list' });
const problems = h('div', { class: 'problems', id: 'problems' });
const main = document.getElementById('content')!;
main.append(
  fileLine,
  problems,
  grid,
  h('section', { 'aria-labelledby': 'pairs-title' }, h('h2', { id: 'pairs-title' }, 'Feature pairs'), pairList),
);
new ResizeObserver(() => schedule()).observe(grid);

const fmtShape = (s: number[]) => `[${s.join('×')}]`;
const fmtCount = (n: number) => (n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n));

const shapeText = (l: LayerInfo) => (l.shape.length ? fmtShape(l.shape) : '?');
const paramText = (l: LayerInfo) => (l.shape.length ? fmtCount(l.params) : '?');

function layerTable(side: 'teacher' | 'student', layers: LayerInfo[] | undefined, note: string | undefined, pairs: LayerPair[]): HTMLElement[] {
  const title = h('h2', { id: `${side}-title` }, side === 'teacher' ? 'Teacher' : 'Student');
  if (!layers) return [title, h('p', { class: 'note' }, note ?? 'Layers unknown until the config is valid.')];
  const known = layers.every((l) => l.shape.length);
  const paired = new Set(pairs.filter((p) => !p.error).map((p) => (side === 'teacher' ? p.teacher : p.student)));
  const total = layers.reduce((a, l) => a + l.params, 0);
  const table = h(
    'table',
    { class: 'layer-table' },
    h('caption', { class: 'sr-only' }, `${side} layers`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'layer'), h('th', { scope: 'col' }, 'output'), h('th', { scope: 'col', class: 'num' }, 'params'))),
    h(
      'tbody',
      {},
      ...layers.map((l) =>
        h(
          'tr',
          { id: `${side}-${l.name}`, class: `kind-${l.kind}${paired.has(l.name) ? ' paired' : ''}`, 'data-layer': l.name },
          h('th', { scope: 'row' }, l.name),
          h('td', {}, shapeText(l)),
          h('td', { class: 'num' }, paramText(l)),
        ),
      ),
    ),
    h('tfoot', {}, h('tr', {}, h('th', { scope: 'row' }, 'total'), h('td', {}, ''), h('td', { class: 'num' }, known ? fmtCount(total) : '?'))),
  );
  return note ? [title, h('p', { class: 'note' }, note), table] : [title, table];
}

function render(p: LayersPayload, stale: boolean): void {
  fileLine.textContent = p.configPath;
  grid.classList.toggle('stale', stale);
  teacherCol.textContent = '';
  studentCol.textContent = '';
  teacherCol.append(...layerTable('teacher', p.teacher, p.teacherNote, p.pairs));
  studentCol.append(...layerTable('student', p.student, p.studentNote, p.pairs));
  problems.textContent = '';
  if (p.problems.length) {
    problems.append(
      h(
        'p',
        { class: 'error-text' },
        `The config has ${p.problems.length} problem${p.problems.length === 1 ? '' : 's'}${stale ? ' (the layers below are from the last version without them)' : ''}:`,
      ),
      h('ul', {}, ...p.problems.slice(0, 5).map((x) => h('li', {}, `line ${x.line + 1}: ${x.message}`))),
    );
  }
  pairList.textContent = '';
  if (!p.pairs.length)
    pairList.append(h('li', { class: 'note' }, 'No layer-pair terms (hint, at, sp, rkd, …): add one to distillation.losses to match a student layer to a teacher layer.'));
  for (const pair of p.pairs) {
    const reveal = h('vscode-button', { secondary: true, 'aria-label': `Show term ${pair.index + 1} in the editor` }, 'Show in Editor');
    reveal.addEventListener('click', () => post({ type: 'revealTerm', index: pair.index }));
    // Hints are named by their connector (and were the only pairs in older payloads); other losses compare the layers as they are.
    const hint = (pair.type ?? 'hint') === 'hint';
    const prefix = hint ? '' : `${pair.type}: `;
    const link = hint ? ` → ${pair.connector ?? 'connector ?'} → ` : ' ↔ ';
    const text = pair.error
      ? `⚠ ${prefix}student ${pair.student} → teacher ${pair.teacher}: ${pair.error}`
      : `${prefix}student ${pair.student}${link}teacher ${pair.teacher}${pair.weight !== undefined ? ` · weight ${pair.weight}` : ''}`;
    pairList.append(h('li', { class: pair.error ? 'pair-item rejected' : 'pair-item', 'data-index': String(pair.index) }, h('span', {}, text), reveal));
  }
  schedule();
}

function drawLinks(): void {
  while (svg.firstChild) svg.firstChild.remove();
  if (!payload) return;
  const box = linkCol.getBoundingClientRect();
  svg.setAttribute('width', String(box.width));
  svg.setAttribute('height', String(box.height));
  svg.setAttribute('viewBox', `0 0 ${box.width} ${box.height}`);
  const ok = cssVar('--vscode-charts-blue');
  const bad = cssVar('--vscode-errorForeground') || cssVar('--vscode-charts-red');
  const fg = cssVar('--vscode-foreground');
  for (const pair of payload.pairs) {
    const t = document.getElementById(`teacher-${pair.teacher}`);
    const s = document.getElementById(`student-${pair.student}`);
    if (!t || !s) continue;
    const ty = t.getBoundingClientRect();
    const sy = s.getBoundingClientRect();
    const y1 = ty.top + ty.height / 2 - box.top;
    const y2 = sy.top + sy.height / 2 - box.top;
    const path = document.createElementNS('http://www.w3.org/2000/svg', 'path');
    const w = box.width;
    path.setAttribute('d', `M 0 ${y1} C ${w / 2} ${y1}, ${w / 2} ${y2}, ${w} ${y2}`);
    path.setAttribute('fill', 'none');
    path.setAttribute('stroke', pair.error ? bad : ok);
    path.setAttribute('stroke-width', '2');
    if (pair.error) path.setAttribute('stroke-dasharray', '5 3');
    path.setAttribute('class', pair.error ? 'link rejected' : 'link');
    path.setAttribute('data-index', String(pair.index));
    const label = document.createElementNS('http://www.w3.org/2000/svg', 'text');
    label.setAttribute('x', String(w / 2));
    label.setAttribute('y', String((y1 + y2) / 2 - 4));
    label.setAttribute('text-anchor', 'middle');
    label.setAttribute('fill', pair.error ? bad : fg);
    label.setAttribute('class', 'link-label');
    label.textContent = pair.error ? '⚠' : (pair.connector ?? pair.type ?? '');
    svg.append(path, label);
  }
}
