// Colours from the VS Code theme (the --vscode-* variables VS Code sets on the webview's <html>),
// so canvas drawings follow light, dark and high-contrast themes; and the colormaps of heatmaps.

const FALLBACK: Record<string, string> = {
  '--vscode-foreground': '#cccccc',
  '--vscode-descriptionForeground': '#9d9d9d',
  '--vscode-editor-background': '#1e1e1e',
  '--vscode-charts-foreground': '#cccccc',
  '--vscode-charts-lines': 'rgba(204,204,204,0.5)',
  '--vscode-charts-red': '#f14c4c',
  '--vscode-charts-blue': '#3794ff',
  '--vscode-charts-yellow': '#cca700',
  '--vscode-charts-orange': '#d18616',
  '--vscode-charts-green': '#89d185',
  '--vscode-charts-purple': '#b180d7',
  '--vscode-focusBorder': '#007fd4',
  '--vscode-contrastBorder': '',
  '--vscode-font-family': 'system-ui, sans-serif',
  '--vscode-editor-font-family': 'monospace',
};

export function cssVar(name: string): string {
  const v = getComputedStyle(document.documentElement).getPropertyValue(name).trim() || getComputedStyle(document.body).getPropertyValue(name).trim();
  return v || FALLBACK[name] || '';
}

export interface Palette {
  fg: string;
  muted: string;
  bg: string;
  grid: string;
  focus: string;
  contrastBorder: string;
  font: string;
  mono: string;
  /** Series colours in a fixed order. */
  series: string[];
  teacher: string;
  baseline: string;
  student: string;
  highContrast: boolean;
}

let cached: Palette | undefined;

/** The theme's colours, read once per theme (getComputedStyle is not free at 60 fps). */
export function palette(): Palette {
  return (cached ??= readPalette());
}

function readPalette(): Palette {
  const series = ['--vscode-charts-blue', '--vscode-charts-orange', '--vscode-charts-green', '--vscode-charts-purple', '--vscode-charts-red', '--vscode-charts-yellow'].map(cssVar);
  return {
    fg: cssVar('--vscode-charts-foreground') || cssVar('--vscode-foreground'),
    muted: cssVar('--vscode-descriptionForeground'),
    bg: cssVar('--vscode-editor-background'),
    grid: cssVar('--vscode-charts-lines'),
    focus: cssVar('--vscode-focusBorder'),
    contrastBorder: cssVar('--vscode-contrastBorder'),
    font: cssVar('--vscode-font-family'),
    mono: cssVar('--vscode-editor-font-family'),
    series,
    teacher: cssVar('--vscode-charts-purple'),
    baseline: cssVar('--vscode-charts-orange'),
    student: cssVar('--vscode-charts-blue'),
    highContrast: document.body.classList.contains('vscode-high-contrast') || document.body.classList.contains('vscode-high-contrast-light'),
  };
}

/** Calls `fn` when the theme changes (VS Code swaps the body class and the variables on <html>). */
export function onThemeChange(fn: () => void): void {
  let last = themeKey();
  const check = () => {
    const k = themeKey();
    if (k !== last) {
      last = k;
      cached = undefined;
      fn();
    }
  };
  const mo = new MutationObserver(check);
  mo.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  mo.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
}

function themeKey(): string {
  return `${document.body.className}|${cssVar('--vscode-editor-background')}|${cssVar('--vscode-foreground')}`;
}

// ---- colormaps ------------------------------------------------------------------------------

export type ColormapName = 'viridis' | 'inferno';

// Matplotlib's perceptually uniform maps at 9 stops (interpolated linearly): luminance rises
// monotonically, so they read the same on light and dark backgrounds and for colour-blind eyes.
const STOPS: Record<ColormapName, string[]> = {
  viridis: ['#440154', '#472d7b', '#3b528b', '#2c728e', '#21918c', '#28ae80', '#5ec962', '#addc30', '#fde725'],
  inferno: ['#000004', '#1b0c41', '#4a0c6b', '#781c6d', '#a52c60', '#cf4446', '#ed6925', '#fb9b06', '#fcffa4'],
};

const parsed: Record<string, [number, number, number][]> = {};
function stops(name: ColormapName): [number, number, number][] {
  return (parsed[name] ??= STOPS[name].map((hex) => [parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16)]));
}

/** The colour at t ∈ [0, 1] (clamped; NaN gives the lowest colour). */
export function colormap(name: ColormapName, t: number): [number, number, number] {
  const s = stops(name);
  const x = Number.isFinite(t) ? Math.max(0, Math.min(1, t)) * (s.length - 1) : 0;
  const i = Math.min(s.length - 2, Math.floor(x));
  const f = x - i;
  const a = s[i];
  const b = s[i + 1];
  return [Math.round(a[0] + (b[0] - a[0]) * f), Math.round(a[1] + (b[1] - a[1]) * f), Math.round(a[2] + (b[2] - a[2]) * f)];
}

/** Black or white, whichever reads better on an RGB background. */
export function textOn([r, g, b]: [number, number, number]): string {
  return 0.2126 * r + 0.7152 * g + 0.0722 * b > 140 ? '#000' : '#fff';
}

/** `#rgb`, `#rrggbb` or `rgb(…)`/`rgba(…)` with an alpha applied (another form is returned as it is). */
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{3}|[0-9a-f]{6})([0-9a-f]{2})?$/i.exec(color.trim());
  if (m) {
    const n = parseInt(m[1].length === 3 ? [...m[1]].map((d) => d + d).join('') : m[1], 16);
    return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${alpha})`;
  }
  const r = /^rgba?\(([^)]+)\)$/.exec(color.trim());
  if (r) {
    const [a, b, c] = r[1].split(',').map((s) => s.trim());
    return `rgba(${a},${b},${c},${alpha})`;
  }
  return color;
}
