// Curves with uPlot (fast canvas line charts: 100k points redraw in milliseconds, no DOM per
// point). This wrapper makes them theme-aware (re-created when the theme changes), resizable,
// toggleable per series, and exportable as CSV and PNG. The uPlot instance hangs on the figure as
// `__uplot` so tests can map values to pixels.
import uPlot from 'uplot';
import { spreadCurve } from '../../src/core/seedGroups';
import { h } from './dom';
import { palette, withAlpha } from './theme';

export interface LineSeries {
  key: string;
  label: string;
  color: string;
  dash?: number[];
  width?: number;
  show?: boolean;
  /** Draw points too (sparse series: a few probe epochs). */
  points?: boolean;
  /** The CSV column header when the legend's label (with its symbols) is not a plain header. */
  csvLabel?: string;
  /**
   * An edge of the shaded band around the series keyed `of` (a seed group's mean ± std): drawn
   * only as the fill between its `upper` and `lower` edges, shown and hidden with that series,
   * left out of the legend and the PNG's, kept in the CSV.
   */
  band?: { of: string; edge: 'upper' | 'lower' };
}

export interface LineChartOptions {
  id: string;
  title: string;
  xLabel: string;
  yLabel: string;
  height?: number;
  logY?: boolean;
  /** x is a count (epochs, steps): ticks on whole numbers only. */
  integerX?: boolean;
}

const INTEGER_STEPS = [1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000, 2000, 2500, 5000, 10000, 20000, 50000, 100000, 200000, 500000, 1000000];

export type Column = (number | null)[];

/**
 * A seed group's curve from one column per run (spreadCurve): `mean` as given, then the two edges
 * of its ± one sample std band, named by `edges` and wired to `mean` (its colour, shown and hidden
 * with it).
 */
export function meanWithBand(mean: LineSeries, edges: Record<'upper' | 'lower', { label: string; csvLabel?: string }>, columns: Column[]): { series: LineSeries[]; ys: Column[] } {
  const curve = spreadCurve(columns);
  const edge = (e: 'upper' | 'lower'): LineSeries => ({ ...edges[e], key: `${mean.key}:${e}`, color: mean.color, band: { of: mean.key, edge: e } });
  return { series: [mean, edge('upper'), edge('lower')], ys: [curve.mean, curve.upper, curve.lower] };
}

export class LineChart {
  readonly el: HTMLElement;
  private readonly plotEl: HTMLElement;
  private readonly caption: HTMLElement;
  private u?: uPlot;
  private series: LineSeries[] = [];
  private x: number[] = [];
  private ys: Column[] = [];
  private width = 0;
  private opts: LineChartOptions;

  constructor(opts: LineChartOptions) {
    this.opts = opts;
    this.caption = h('figcaption', { id: `${opts.id}-caption` }, opts.title);
    this.plotEl = h('div', { class: 'plot', role: 'img', 'aria-labelledby': `${opts.id}-caption` });
    this.el = h('figure', { class: 'line-chart', id: opts.id }, this.caption, this.plotEl);
    new ResizeObserver(() => {
      const w = Math.floor(this.plotEl.clientWidth);
      if (w > 0 && Math.abs(w - this.width) > 2) {
        this.width = w;
        if (this.u) this.u.setSize({ width: w, height: this.height() });
        else this.create();
      }
    }).observe(this.plotEl);
  }

  get instance(): uPlot | undefined {
    return this.u;
  }

  setTitle(title: string): void {
    this.opts.title = title;
    this.caption.textContent = title;
  }

  /** Axis labels; applied when the chart is next (re)created, e.g. by setSeries. */
  setAxisLabels(xLabel: string, yLabel: string): void {
    this.opts.xLabel = xLabel;
    this.opts.yLabel = yLabel;
  }

  setLogY(log: boolean): void {
    if (this.opts.logY === log) return;
    this.opts.logY = log;
    this.create();
  }

  /** Replaces the series (and data). Keeps each series' visibility if its key stays. */
  setSeries(series: LineSeries[], x: number[], ys: Column[]): void {
    const shown = new Map(this.series.map((s) => [s.key, s.show !== false]));
    this.series = series.map((s) => ({ ...s, show: s.show ?? shown.get(s.key) ?? true }));
    this.x = x;
    this.ys = ys;
    this.create();
  }

  /** New data for the same series: a cheap redraw. */
  setData(x: number[], ys: Column[]): void {
    this.x = x;
    this.ys = ys;
    if (!this.u || ys.length !== this.series.length) return this.create();
    this.u.setData([x, ...ys] as uPlot.AlignedData);
  }

  /** Shows or hides a series, and its band with it. */
  setShow(key: string, show: boolean): void {
    this.series.forEach((s, i) => {
      if (s.key !== key && s.band?.of !== key) return;
      s.show = show;
      this.u?.setSeries(i + 1, { show });
    });
  }

  isShown(key: string): boolean {
    return this.series.find((s) => s.key === key)?.show !== false;
  }

  /** Re-creates the chart with the current theme's colours. */
  restyle(recolor?: (s: LineSeries) => string): void {
    if (recolor) this.series = this.series.map((s) => ({ ...s, color: recolor(s) }));
    this.create();
  }

  private height(): number {
    return this.opts.height ?? 220;
  }

  private create(): void {
    this.u?.destroy();
    this.u = undefined;
    if (!this.width) return;
    const p = palette();
    const font = `11px ${p.font}`;
    const axis = (label: string): uPlot.Axis => ({
      label,
      stroke: p.fg,
      font,
      labelFont: font,
      grid: { stroke: p.grid, width: 1 },
      ticks: { stroke: p.grid, width: 1 },
    });
    const opts: uPlot.Options = {
      width: this.width,
      height: this.height(),
      scales: { x: { time: false }, y: this.opts.logY ? { distr: 3 } : {} },
      axes: [
        this.opts.integerX === false ? axis(this.opts.xLabel) : { ...axis(this.opts.xLabel), incrs: INTEGER_STEPS, values: (_u, splits) => splits.map((v) => String(v)) },
        { ...axis(this.opts.yLabel), size: 56 },
      ],
      series: [
        { label: this.opts.xLabel },
        ...this.series.map(
          (s): uPlot.Series => ({
            label: s.label,
            stroke: s.band ? 'transparent' : s.color,
            width: s.band ? 0 : s.width ?? 1.5,
            dash: s.dash,
            show: s.show !== false,
            spanGaps: true,
            points: { show: !s.band && (s.points ?? false), size: 5, fill: s.color },
          }),
        ),
      ],
      bands: this.bands(),
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
    };
    this.u = new uPlot(opts, [this.x, ...this.ys] as uPlot.AlignedData, this.plotEl);
    // A band's edges are not curves of their own: no legend rows (the mean's row stands for them).
    const rows = this.u.root.querySelectorAll<HTMLElement>('.u-legend .u-series');
    this.series.forEach((s, i) => s.band && rows[i + 1] && (rows[i + 1].style.display = 'none'));
    (this.el as unknown as { __uplot?: uPlot }).__uplot = this.u;
  }

  /** uPlot's bands: each series' upper and lower edges (uPlot indices, x being 0), filled faintly in its colour. */
  private bands(): uPlot.Band[] {
    const index = (of: string, edge: 'upper' | 'lower') => this.series.findIndex((s) => s.band?.of === of && s.band.edge === edge) + 1;
    return this.series.flatMap((s) => {
      const [upper, lower] = [index(s.key, 'upper'), index(s.key, 'lower')];
      return !s.band && upper > 0 && lower > 0 ? [{ series: [upper, lower] as uPlot.Band.Bounds, fill: withAlpha(s.color, 0.22) }] : [];
    });
  }

  /** The visible series as CSV (x first), one row per x. */
  toCsv(): string {
    const cols = this.series.map((s, i) => ({ s, y: this.ys[i] })).filter(({ s }) => s.show !== false);
    const esc = (v: string) => (/[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
    const lines = [[this.opts.xLabel, ...cols.map(({ s }) => s.csvLabel ?? s.label)].map(esc).join(',')];
    this.x.forEach((x, i) => lines.push([x, ...cols.map(({ y }) => (y[i] === null || y[i] === undefined || Number.isNaN(y[i]) ? '' : y[i]))].join(',')));
    return lines.join('\n') + '\n';
  }

  /** The chart with its title and a legend of the visible series, as a PNG data URL. */
  toPng(): string | undefined {
    const u = this.u;
    if (!u) return undefined;
    const p = palette();
    const src = u.ctx.canvas;
    const dpr = src.width / u.width || 1;
    const shown = this.series.filter((s) => s.show !== false && !s.band);
    const titleH = 24 * dpr;
    const legendH = 20 * dpr;
    const out = document.createElement('canvas');
    out.width = src.width;
    out.height = src.height + titleH + legendH;
    const ctx = out.getContext('2d')!;
    ctx.fillStyle = p.bg || '#fff';
    ctx.fillRect(0, 0, out.width, out.height);
    ctx.fillStyle = p.fg;
    ctx.font = `${13 * dpr}px ${p.font}`;
    ctx.textBaseline = 'middle';
    ctx.fillText(this.opts.title, 8 * dpr, titleH / 2);
    ctx.drawImage(src, 0, titleH);
    let x = 8 * dpr;
    ctx.font = `${11 * dpr}px ${p.font}`;
    for (const s of shown) {
      ctx.fillStyle = s.color;
      ctx.fillRect(x, titleH + src.height + legendH / 2 - 2 * dpr, 14 * dpr, 4 * dpr);
      x += 18 * dpr;
      ctx.fillStyle = p.fg;
      ctx.fillText(s.label, x, titleH + src.height + legendH / 2);
      x += ctx.measureText(s.label).width + 14 * dpr;
    }
    return out.toDataURL('image/png');
  }
}
