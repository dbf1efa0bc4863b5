// A heatmap on a canvas: feature maps, their difference, the CKA matrix and the agreement matrix.
// The drawn geometry is published on the canvas (data-x0, data-y0, data-cell-w, data-cell-h,
// data-min, data-max, in CSS pixels) so tests can check each cell's colour, and a table of the
// values is there for screen readers.
import { fmt, h, renderTable } from './dom';
import { colormap, type ColormapName, palette, textOn } from './theme';

export interface HeatmapSpec {
  /** Accessible name and caption. */
  title: string;
  rows: number;
  cols: number;
  /** Row-major values. */
  values: ArrayLike<number>;
  colormap?: ColormapName;
  /** Value range mapped onto the colormap; default the values' min and max. */
  domain?: [number, number];
  rowLabels?: string[];
  colLabels?: string[];
  rowTitle?: string;
  colTitle?: string;
  /** Write each value in its cell (small matrices). */
  annotate?: (v: number) => string;
  /** Cells outlined (e.g. the configured hint pairs on the CKA matrix). */
  highlight?: [number, number][];
  /** Size of the grid in CSS pixels along its longer side. */
  size?: number;
  /** A table of every value for screen readers (matrices and maps of up to a few hundred cells). */
  table?: boolean;
}

let measurer: CanvasRenderingContext2D | undefined;
function measureContext(): CanvasRenderingContext2D {
  return (measurer ??= document.createElement('canvas').getContext('2d')!);
}

/** Sizes a canvas for CSS size w×h only when it changes (resizing reallocates and relayouts). */
export function sizeCanvas(c: HTMLCanvasElement, w: number, h: number, dpr: number): void {
  const W = Math.round(w * dpr);
  const H = Math.round(h * dpr);
  if (c.width !== W) c.width = W;
  if (c.height !== H) c.height = H;
  if (c.style.width !== `${w}px`) c.style.width = `${w}px`;
  if (c.style.height !== `${h}px`) c.style.height = `${h}px`;
}

export class HeatmapView {
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly legend: HTMLElement;
  private tableHolder: HTMLElement;
  private spec?: HeatmapSpec;
  private geom = { x0: 0, y0: 0, cw: 0, ch: 0 };

  constructor(className = '') {
    this.canvas = h('canvas', { role: 'img', class: 'heatmap-canvas' });
    this.caption = h('figcaption', {});
    this.legend = h('div', { class: 'legend', 'aria-hidden': 'true' });
    this.tableHolder = h('div', {});
    this.el = h('figure', { class: `heatmap ${className}`.trim() }, this.caption, this.canvas, this.legend, this.tableHolder);
    this.canvas.addEventListener('mousemove', (e) => this.hover(e));
  }

  render(spec: HeatmapSpec): void {
    this.spec = spec;
    const { rows, cols, values } = spec;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < rows * cols; i++) {
      const v = values[i];
      if (Number.isFinite(v)) {
        if (v < lo) lo = v;
        if (v > hi) hi = v;
      }
    }
    const [min, max] = spec.domain ?? [lo, hi];
    const p = palette();
    const font = `11px ${p.font}`;
    const dpr = window.devicePixelRatio || 1;

    // Margins for the row labels (left) and column labels (bottom).
    const measure = measureContext();
    measure.font = font;
    const rowLabelW = spec.rowLabels ? Math.ceil(Math.max(...spec.rowLabels.map((l) => measure.measureText(l).width))) + 8 : 0;
    const rowTitleW = spec.rowTitle ? 16 : 0;
    const colLabelH = spec.colLabels ? 16 : 0;
    const colTitleH = spec.colTitle ? 16 : 0;
    const size = spec.size ?? 160;
    const cell = Math.max(2, Math.floor(size / Math.max(rows, cols)));
    const x0 = rowTitleW + rowLabelW;
    const y0 = 2;
    const w = x0 + cell * cols + 2;
    const hgt = y0 + cell * rows + colLabelH + colTitleH + 2;
    this.geom = { x0, y0, cw: cell, ch: cell };

    const c = this.canvas;
    sizeCanvas(c, w, hgt, dpr);
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, w, hgt);
    const span = max - min;
    const norm = (v: number) => (span > 0 ? (v - min) / span : 0.5);
    const cmap = spec.colormap ?? 'viridis';
    ctx.font = font;
    ctx.textAlign = 'center';
    ctx.textBaseline = 'middle';
    for (let r = 0; r < rows; r++) {
      for (let k = 0; k < cols; k++) {
        const v = values[r * cols + k];
        const rgb = colormap(cmap, norm(v));
        ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
        ctx.fillRect(x0 + k * cell, y0 + r * cell, cell, cell);
        if (spec.annotate && cell >= 18) {
          ctx.fillStyle = textOn(rgb);
          ctx.fillText(spec.annotate(v), x0 + k * cell + cell / 2, y0 + r * cell + cell / 2, cell - 2);
        }
      }
    }
    if (spec.highlight?.length) {
      ctx.strokeStyle = p.focus || p.fg;
      ctx.lineWidth = 2;
      for (const [r, k] of spec.highlight) ctx.strokeRect(x0 + k * cell + 1, y0 + r * cell + 1, cell - 2, cell - 2);
    }
    if (p.highContrast || p.contrastBorder) {
      ctx.strokeStyle = p.contrastBorder || p.fg;
      ctx.lineWidth = 1;
      ctx.strokeRect(x0 - 0.5, y0 - 0.5, cell * cols + 1, cell * rows + 1);
    }
    ctx.fillStyle = p.fg;
    if (spec.rowLabels) {
      ctx.textAlign = 'right';
      spec.rowLabels.forEach((l, r) => ctx.fillText(l, x0 - 4, y0 + r * cell + cell / 2));
    }
    if (spec.colLabels) {
      ctx.textAlign = 'center';
      spec.colLabels.forEach((l, k) => ctx.fillText(l, x0 + k * cell + cell / 2, y0 + rows * cell + 9, cell));
    }
    if (spec.colTitle) {
      ctx.textAlign = 'center';
      ctx.fillStyle = p.muted;
      ctx.fillText(spec.colTitle, x0 + (cols * cell) / 2, y0 + rows * cell + colLabelH + 9);
    }
    if (spec.rowTitle) {
      ctx.save();
      ctx.translate(8, y0 + (rows * cell) / 2);
      ctx.rotate(-Math.PI / 2);
      ctx.textAlign = 'center';
      ctx.fillStyle = p.muted;
      ctx.fillText(spec.rowTitle, 0, 0);
      ctx.restore();
    }

    Object.assign(c.dataset, { x0: String(x0), y0: String(y0), cellW: String(cell), cellH: String(cell), rows: String(rows), cols: String(cols), min: String(min), max: String(max), colormap: cmap });
    this.caption.textContent = spec.title;
    c.setAttribute('aria-label', `${spec.title}: ${rows}×${cols}, from ${fmt(lo)} to ${fmt(hi)}`);
    if (!this.legend.firstChild) this.legend.append(h('span', {}), h('span', {}), h('span', {}));
    const [lo0, bar, hi0] = Array.from(this.legend.children);
    lo0.textContent = fmt(min);
    bar.className = `colorbar colorbar-${cmap}`;
    hi0.textContent = fmt(max);

    if (!spec.table) this.tableHolder.textContent = '';
    else {
      const head = ['', ...(spec.colLabels ?? Array.from({ length: cols }, (_, k) => String(k)))];
      const body = Array.from({ length: rows }, (_, r) => [
        spec.rowLabels?.[r] ?? String(r),
        ...Array.from({ length: cols }, (_, k) => (spec.annotate ? spec.annotate(values[r * cols + k]) : fmt(values[r * cols + k]))),
      ]);
      renderTable(this.tableHolder, spec.title, head, body);
    }
  }

  private hover(e: MouseEvent): void {
    const s = this.spec;
    if (!s) return;
    const rect = this.canvas.getBoundingClientRect();
    const k = Math.floor((e.clientX - rect.left - this.geom.x0) / this.geom.cw);
    const r = Math.floor((e.clientY - rect.top - this.geom.y0) / this.geom.ch);
    if (r < 0 || k < 0 || r >= s.rows || k >= s.cols) {
      this.canvas.title = '';
      return;
    }
    const rl = s.rowLabels?.[r] ?? `row ${r}`;
    const cl = s.colLabels?.[k] ?? `col ${k}`;
    this.canvas.title = `${rl} × ${cl}: ${fmt(s.values[r * s.cols + k])}`;
  }
}
