// A tiny DOM builder (no framework: the views are small) and helpers shared by the apps.

type Attrs = Record<string, string | number | boolean | undefined | EventListener>;
type Child = Node | string | number | null | undefined | false;

/** h('div', { class: 'x', onclick: fn }, child…): attributes, `on*` listeners, text or nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v as EventListener);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, ...children);
  return el;
}

export function append(el: Element, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function clear(el: Element): void {
  while (el.firstChild) el.firstChild.remove();
}

/** A table for screen readers (and anyone who prefers numbers): visually hidden unless `visible`. */
export function dataTable(caption: string, head: string[], rows: (string | number)[][], visible = false): HTMLTableElement {
  return h(
    'table',
    { class: visible ? 'data-table' : 'data-table sr-only' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, ...rows.map((r) => h('tr', {}, ...r.map((c, i) => (i === 0 ? h('th', { scope: 'row' }, String(c)) : h('td', {}, String(c))))))),
  );
}

/**
 * Puts a data table in `holder`, reusing the one there when it has the same shape: only changed
 * cells are written (a scrubber redraws several tables per frame).
 */
export function renderTable(holder: Element, caption: string, head: string[], rows: (string | number)[][], visible = false): void {
  const table = holder.firstElementChild as HTMLTableElement | null;
  const body = table?.tBodies[0];
  const same =
    table &&
    body &&
    table.tHead?.rows[0]?.cells.length === head.length &&
    body.rows.length === rows.length &&
    rows.every((r, i) => body.rows[i].cells.length === r.length);
  if (!same) {
    holder.textContent = '';
    holder.append(dataTable(caption, head, rows, visible));
    return;
  }
  const set = (el: Element, text: string) => el.textContent !== text && (el.textContent = text);
  set(table.caption!, caption);
  head.forEach((c, i) => set(table.tHead!.rows[0].cells[i], c));
  rows.forEach((r, i) => r.forEach((c, k) => set(body.rows[i].cells[k], String(c))));
}

/** Runs `fn` once in the next animation frame however often it is scheduled before then. */
export function frameScheduler(fn: () => void): () => void {
  let pending = false;
  return () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      fn();
    });
  };
}

/** Numbers for people: 4 significant digits, no exponent for ordinary magnitudes. */
export function fmt(v: number | undefined, digits = 4): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-4) return v.toExponential(2);
  return Number(v.toPrecision(digits)).toString();
}

export function pct(v: number | undefined, digits = 1): string {
  return v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(digits)}%`;
}

/** Clamps and rounds a number into [lo, hi]. */
export function clampInt(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, Math.round(v)));
}

/** A labelled native range input (vscode-elements has no slider) with its value shown. */
export function slider(o: { id: string; label: string; min: number; max: number; step: number; value: number; format?: (v: number) => string; onInput: (v: number) => void }): {
  el: HTMLElement;
  input: HTMLInputElement;
  set(v: number, max?: number): void;
} {
  const out = h('output', { for: o.id, id: `${o.id}-value` });
  const input = h('input', { type: 'range', id: o.id, min: o.min, max: o.max, step: o.step, value: o.value });
  const show = () => {
    const v = Number(input.value);
    out.textContent = o.format ? o.format(v) : String(v);
    input.setAttribute('aria-valuetext', out.textContent);
  };
  input.addEventListener('input', () => {
    show();
    o.onInput(Number(input.value));
  });
  show();
  const el = h('div', { class: 'slider' }, h('label', { for: o.id }, o.label), input, out);
  return {
    el,
    input,
    set(v: number, max?: number) {
      if (max !== undefined) input.max = String(max);
      input.value = String(v);
      show();
    },
  };
}
