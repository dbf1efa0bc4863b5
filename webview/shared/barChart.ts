// A bar chart on a canvas: one bar per class (logits, or probabilities at temperature T). The
// geometry is published on the canvas (data-x0, data-slot, data-bar-w, data-zero-y,
// data-px-per-unit, in CSS pixels) so tests can measure each bar; a table carries the numbers.
import { fmt, h, renderTable } from './dom';
import { sizeCanvas } from './heatmap';
import { palette, withAlpha } from './theme';

export interface BarSpec {
  title: string;
  values: number[];
  labels: string[];
  color: string;
  /** Fixed value range (e.g. [0, 1] for probabilities); default from the values, including 0. */
  domain?: [number, number];
  /** The true class: its label is underlined and its bar outlined. */
  mark?: number;
  width?: number;
  height?: number;
  /** Extra columns in the accessible table (e.g. the logits beside the probabilities). */
  tableExtra?: { name: string; values: number[] };
  valueName?: string;
}

export class BarChart {
  readonly el: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly caption: HTMLElement;
  private readonly tableHolder: HTMLElement;

  constructor(className = '') {
    this.canvas = h('canvas', { role: 'img', class: 'bar-canvas' });
    this.caption = h('figcaption', {});
    this.tableHolder = h('div', {});
    this.el = h('figure', { class: `bars ${className}`.trim() }, this.caption, this.canvas, this.tableHolder);
  }

  render(spec: BarSpec): void {
    const p = palette();
    const n = spec.values.length;
    const W = spec.width ?? 220;
    const H = spec.height ?? 120;
    const dpr = window.devicePixelRatio || 1;
    const left = 34;
    const right = 4;
    const top = 6;
    const bottom = 16;
    const [lo, top0] = spec.domain ?? [Math.min(0, ...spec.values), Math.max(0, ...spec.values)];
    const hi = top0 - lo < 1e-12 ? lo + 1 : top0;
    const plotH = H - top - bottom;
    const pxPerUnit = plotH / (hi - lo);
    const zeroY = top + hi * pxPerUnit;
    const slot = (W - left - right) / Math.max(1, n);
    const barW = Math.max(1, Math.floor(slot * 0.7));

    const c = this.canvas;
    sizeCanvas(c, W, H, dpr);
    const ctx = c.getContext('2d')!;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, W, H);
    ctx.font = `10px ${p.font}`;

    // Axis: the range's ends and zero.
    ctx.strokeStyle = p.grid;
    ctx.lineWidth = 1;
    ctx.beginPath();
    ctx.moveTo(left, Math.round(zeroY) + 0.5);
    ctx.lineTo(W - right, Math.round(zeroY) + 0.5);
    ctx.stroke();
    ctx.fillStyle = p.muted;
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    ctx.fillText(fmt(hi, 3), left - 4, top + 4);
    ctx.fillText(fmt(lo, 3), left - 4, top + plotH - 4);

    let best = 0;
    spec.values.forEach((v, i) => v > spec.values[best] && (best = i));
    spec.values.forEach((v, i) => {
      const x = left + i * slot + (slot - barW) / 2;
      const y = v >= 0 ? zeroY - v * pxPerUnit : zeroY;
      const bh = Math.abs(v) * pxPerUnit;
      ctx.fillStyle = i === best ? spec.color : withAlpha(spec.color, 0.55);
      ctx.fillRect(x, y, barW, bh);
      if (i === spec.mark) {
        ctx.strokeStyle = p.fg;
        ctx.lineWidth = 1;
        ctx.strokeRect(x - 1.5, top - 0.5, barW + 3, plotH + 1);
      }
      ctx.fillStyle = i === spec.mark ? p.fg : p.muted;
      ctx.textAlign = 'center';
      ctx.textBaseline = 'alphabetic';
      ctx.fillText(spec.labels[i] ?? String(i), left + i * slot + slot / 2, H - 4, slot);
    });

    Object.assign(c.dataset, {
      x0: String(left),
      slot: String(slot),
      barW: String(barW),
      zeroY: String(zeroY),
      pxPerUnit: String(pxPerUnit),
      n: String(n),
      min: String(lo),
      max: String(hi),
    });
    this.caption.textContent = spec.title;
    const name = spec.valueName ?? 'value';
    c.setAttribute('aria-label', `${spec.title}: highest ${spec.labels[best] ?? best} (${fmt(spec.values[best])})`);
    const head = ['class', name, ...(spec.tableExtra ? [spec.tableExtra.name] : [])];
    const rows = spec.values.map((v, i) => [spec.labels[i] ?? String(i), fmt(v, 6), ...(spec.tableExtra ? [fmt(spec.tableExtra.values[i], 6)] : [])]);
    renderTable(this.tableHolder, spec.title, head, rows);
  }
}
