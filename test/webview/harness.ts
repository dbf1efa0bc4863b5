// Runs a result panel's real page — the HTML and CSP the host serves (src/host/panels/html.ts),
// the built bundle dist/webview/<app>.js and media/webview.css — in headless Chromium, with a fake
// `acquireVsCodeApi` that records what the webview posts, and a fake host that answers from a
// recorded run folder through the host's own reader (src/host/panels/runData.ts).
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { renderPanelHtml } from '../../src/host/panels/html';
import { RunReader } from '../../src/host/panels/runData';
import { type EpochMetric, type HostToWebview, isWebviewToHost, PANEL_APPS, PANEL_TITLES, type PanelKind, type PanelState, type WebviewToHost } from '../../src/core/webviewProtocol';
import type { MetricRecord } from '../../src/core/protocol';

export const ROOT = path.resolve(__dirname, '..', '..');
export const OUTPUT = path.join(ROOT, 'test-output', 'webview');
export const FIXTURE_RUN = path.join(ROOT, 'test', 'fixtures', 'run', 'cnn-hints');
export const FIXTURE_RUN_B = path.join(ROOT, 'test', 'fixtures', 'run', 'quick-mnist');
/** A run with relation terms (SP and RKD on fc2), for the Relations panel. */
export const FIXTURE_RUN_RELATIONS = path.join(ROOT, 'test', 'fixtures', 'run', 'relations');
/** Runs of N models (tiny, real): an online run of three DML peers with their alone-trained baselines, and a born-again run (ensemble teacher, two generations). */
export const FIXTURE_RUN_ONLINE = path.join(ROOT, 'test', 'fixtures', 'run', 'online-3peers');
export const FIXTURE_RUN_BORN_AGAIN = path.join(ROOT, 'test', 'fixtures', 'run', 'born-again');
/** A born-again run (two generations, no baseline) whose generations carry an SP term: maps and relations on models other than a student. */
export const FIXTURE_RUN_BORN_AGAIN_RELATIONS = path.join(ROOT, 'test', 'fixtures', 'run', 'born-again-relations');
export const FIXTURE_CONFIG = path.join(ROOT, 'test', 'fixtures', 'run', 'cnn-hints.distill.json');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/lib/chromium/chromium';
const NONCE = 'dGVzdG5vbmNlMTIzNDU2';

export type Theme = 'dark' | 'light' | 'high-contrast';

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json', '.html': 'text/html' };

/** Serves dist/webview, media and test/webview, and the panel pages at /panel/<kind>?theme=…. */
export async function startServer(): Promise<{ origin: string; close(): Promise<void> }> {
  for (const app of Object.values(PANEL_APPS)) {
    if (!fs.existsSync(path.join(ROOT, 'dist', 'webview', `${app}.js`))) throw new Error(`dist/webview/${app}.js is missing: run \`npm run build\` (node esbuild.mjs) first`);
  }
  const allowed = ['dist/webview/', 'media/', 'test/webview/'];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (url.pathname === '/favicon.ico') return void res.writeHead(204).end();
    const m = /^\/panel\/(\w+)$/.exec(url.pathname);
    if (m) {
      const origin = `http://${req.headers.host}`;
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(panelPage(m[1] as PanelKind, origin, (url.searchParams.get('theme') as Theme) ?? 'dark'));
      return;
    }
    const rel = decodeURIComponent(url.pathname).replace(/^\//, '');
    if (!allowed.some((a) => rel.startsWith(a)) || rel.includes('..')) {
      res.writeHead(404).end();
      return;
    }
    fs.readFile(path.join(ROOT, rel), (err, data) => {
      if (err) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-type': TYPES[path.extname(rel)] ?? 'application/octet-stream' });
      res.end(data);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

/** The host's page, plus the theme (VS Code sets the body class and variables) and the fake API. */
export function panelPage(kind: PanelKind, origin: string, theme: Theme): string {
  const html = renderPanelHtml({
    kind,
    title: PANEL_TITLES[kind],
    cspSource: origin,
    nonce: NONCE,
    scriptUri: `${origin}/dist/webview/${PANEL_APPS[kind]}.js`,
    styleUris: [`${origin}/dist/webview/uplot.css`, `${origin}/media/webview.css`, `${origin}/test/webview/themes.css`],
  });
  const fake = `<script nonce="${NONCE}">
window.__posted = []; window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
window.acquireVsCodeApi = () => ({
  postMessage(m) { const c = JSON.parse(JSON.stringify(m)); window.__posted.push(c); if (window.__toHost) window.__toHost(c); },
  getState() { return window.__initialState; },
  setState(s) { window.__state = JSON.parse(JSON.stringify(s)); },
});
</script>`;
  return html.replace('<body ', `<body class="vscode-${theme}" `).replace('<script nonce', `${fake}\n  <script nonce`);
}

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export interface Panel {
  page: Page;
  /** Everything the webview posted, in order (checked against the protocol as it arrives). */
  posted: WebviewToHost[];
  /** Messages that failed the protocol guard. */
  malformed: unknown[];
  errors: string[];
  send(m: HostToWebview): Promise<void>;
  waitFor<T extends WebviewToHost['type']>(type: T, pred?: (m: Extract<WebviewToHost, { type: T }>) => boolean): Promise<Extract<WebviewToHost, { type: T }>>;
  /** CSP violations reported in the page. */
  csp(): Promise<string[]>;
  savedState(): Promise<PanelState | undefined>;
  screenshot(name: string): Promise<string>;
  close(): Promise<void>;
}

export interface OpenOptions {
  theme?: Theme;
  width?: number;
  height?: number;
  /** Answers the webview the way the panel host does (ready → data; getProbes → records). */
  host?: (m: WebviewToHost, panel: Panel) => void | Promise<void>;
  initialState?: PanelState;
}

export async function openPanel(browser: Browser, origin: string, kind: PanelKind, o: OpenOptions = {}): Promise<Panel> {
  const page = await browser.newPage({ viewport: { width: o.width ?? 1100, height: o.height ?? 900 }, deviceScaleFactor: 1 });
  const posted: WebviewToHost[] = [];
  const malformed: unknown[] = [];
  const errors: string[] = [];
  const waiters: { type: string; pred?: (m: never) => boolean; resolve(m: WebviewToHost): void }[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  const panel: Panel = {
    page,
    posted,
    malformed,
    errors,
    async send(m) {
      await page.evaluate((msg) => window.postMessage(msg, '*'), m as unknown as Record<string, unknown>);
    },
    waitFor(type, pred) {
      const hit = posted.find((m) => m.type === type && (!pred || pred(m as never)));
      if (hit) return Promise.resolve(hit as never);
      return new Promise((resolve) => waiters.push({ type, pred: pred as never, resolve: resolve as never }));
    },
    csp: () => page.evaluate(() => (window as unknown as { __csp: string[] }).__csp),
    savedState: () => page.evaluate(() => (window as unknown as { __state?: PanelState }).__state),
    async screenshot(name) {
      fs.mkdirSync(OUTPUT, { recursive: true });
      const file = path.join(OUTPUT, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => page.close(),
  };
  await page.exposeFunction('__toHost', async (m: unknown) => {
    if (!isWebviewToHost(m)) {
      malformed.push(m);
      return;
    }
    posted.push(m);
    for (const w of [...waiters]) {
      if (w.type === m.type && (!w.pred || w.pred(m as never))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
    if (o.host) await o.host(m, panel);
  });
  if (o.initialState) await page.addInitScript((s) => ((window as unknown as { __initialState: unknown }).__initialState = s), o.initialState as unknown as Record<string, unknown>);
  await page.goto(`${origin}/panel/${kind}?theme=${o.theme ?? 'dark'}`);
  return panel;
}

/** A host for run panels that serves one recorded run folder, as ResultPanel does. */
export function runHost(kind: PanelKind, runDir = FIXTURE_RUN): (m: WebviewToHost, p: Panel) => Promise<void> {
  const reader = new RunReader(runDir);
  return async (m, p) => {
    if (m.type === 'ready') {
      await p.send({ type: 'target', target: { follow: false, runDir } });
      const run = reader.runInfo()!;
      await p.send({ type: 'run', run });
      if (kind === 'lossSplit' || kind === 'featureMaps') await p.send({ type: 'metrics', runDir, reset: true, ...reader.readMetrics(true) });
      if (kind === 'logits' || kind === 'featureMaps' || kind === 'relations') await p.send({ type: 'probeIndex', index: reader.probeIndex()! });
      if (kind === 'logits') await p.send({ type: 'testPredictions', runDir, predictions: reader.testPredictions() });
    } else if (m.type === 'getProbes') {
      await p.send({ type: 'probes', requestId: m.requestId, runDir: m.runDir, epoch: m.epoch, records: reader.probes(m.epoch, m.stages) });
    }
  };
}

/** Reads the RGBA of one CSS pixel of a canvas (device scale 1). */
export async function pixel(page: Page, selector: string, x: number, y: number): Promise<[number, number, number, number]> {
  return page.evaluate(
    ({ selector, x, y }) => {
      const c = document.querySelector(selector) as HTMLCanvasElement;
      const scale = c.width / c.getBoundingClientRect().width;
      const d = c.getContext('2d')!.getImageData(Math.floor(x * scale), Math.floor(y * scale), 1, 1).data;
      return [d[0], d[1], d[2], d[3]] as [number, number, number, number];
    },
    { selector, x, y },
  );
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until `fn` (run in the page) returns a truthy value. */
export async function until<T>(page: Page, fn: () => T, timeout = 15_000): Promise<T> {
  const h = await page.waitForFunction(fn, undefined, { timeout, polling: 20 });
  return (await h.jsonValue()) as T;
}

/** Sets a vscode-single-select's value as a user's pick does: the value, then a change event. */
export async function selectValue(page: Page, id: string, value: string): Promise<void> {
  await page.evaluate(
    ({ id, value }) => {
      const el = document.getElementById(id) as HTMLElement & { value: string };
      el.value = value;
      el.dispatchEvent(new Event('change'));
    },
    { id, value },
  );
}

/** Every record of a run folder's metrics.jsonl. */
export function metricRecords(runDir: string): MetricRecord[] {
  return fs
    .readFileSync(path.join(runDir, 'metrics.jsonl'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as MetricRecord);
}

/** A run folder's epoch records. */
export function epochRecords(runDir: string): EpochMetric[] {
  return metricRecords(runDir).filter((r): r is EpochMetric => r.kind === 'epoch');
}
