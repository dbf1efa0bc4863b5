// Result panels under load: a synthetic run with 1,000 logged epochs per stage (63 logged steps
// each: 189,000 step records), 64 probe samples and two hint pairs with 16×16 / 11×12 maps,
// probed every epoch (3,000 probe files).
//   host (Node):      reading the metrics snapshot, an incremental append, the probe index, one
//                     epoch's probes — what the panel host does per update.
//   webview (headless Chromium, the real page, CSP and bundle): time to first paint, the cost of
//                     a live update at 10 Hz, of scrubbing an epoch and of moving the T slider.
// Run: npm run build && node --import tsx bench/webview.bench.ts [--epochs 1000] [--samples 64] [--keep]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import type { MetricRecord, ProbeRecord, StageName } from '../src/core/protocol';
import type { HostToWebview } from '../src/core/webviewProtocol';
import { RunReader } from '../src/host/panels/runData';
import { launchBrowser, startServer } from '../test/webview/harness';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const EPOCHS = arg('epochs', 1000);
const SAMPLES = arg('samples', 64);
const STEPS = 63;
const CLASSES = 10;
const STAGES: StageName[] = ['teacher', 'baseline', 'student'];

// ---- a synthetic run folder -------------------------------------------------------------------

let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const r4 = (v: number) => Number(v.toPrecision(4));

function makeRun(dir: string): void {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'probes'), { recursive: true });
  const losses = [
    { type: 'ce', weight: 0.1 },
    { type: 'kd', weight: 0.9 },
    { type: 'hint', weight: 1, student: 'conv2', teacher: 'conv2', connector: 'auto' },
    { type: 'hint', weight: 0.5, student: 'fc1', teacher: 'fc1', connector: 'auto' },
  ];
  const config = {
    name: 'bench',
    seed: 1,
    data: { dataset: 'mnist', trainSize: 8000, testSize: 2000 },
    teacher: { source: 'train', model: { type: 'cnn', conv: [{ filters: 32 }, { filters: 64 }], hidden: [256] }, training: { epochs: EPOCHS } },
    student: { model: { type: 'cnn', conv: [{ filters: 8 }, { filters: 16 }], hidden: [64] } },
    distillation: { temperature: 4, losses },
    training: { epochs: EPOCHS },
    baseline: true,
    probes: { samples: SAMPLES, mapSize: 16 },
  };
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ configPath: '/bench/bench.distill.json', hash: 'x', config }));
  fs.writeFileSync(
    path.join(dir, 'manifest.json'),
    JSON.stringify({ id: 'bench', name: 'bench', configPath: '/bench/bench.distill.json', configHash: 'x', status: 'done', startedAt: new Date().toISOString(), versions: {}, seed: 1, results: {} }),
  );
  const out = fs.openSync(path.join(dir, 'metrics.jsonl'), 'w');
  for (const stage of STAGES) {
    const ids = stage === 'student' ? ['ce', 'kd', 'hint:conv2<-conv2', 'hint:fc1<-fc1'] : ['ce'];
    const weights = Object.fromEntries(ids.map((id) => [id, losses.find((l) => (l.type === 'hint' ? `hint:${l.student}<-${l.teacher}` : l.type) === id)?.weight ?? 1]));
    for (let e = 1; e <= EPOCHS; e++) {
      const lines: string[] = [];
      const decay = Math.exp(-e / 200);
      for (let s = 1; s <= STEPS; s++) {
        const l = Object.fromEntries(ids.map((id) => [id, r4(decay * (1 + rnd()))]));
        const total = ids.reduce((a, id) => a + weights[id] * l[id], 0);
        lines.push(JSON.stringify({ kind: 'step', stage, epoch: e, step: s, losses: l, total: r4(total), lr: 0.05 } satisfies MetricRecord));
      }
      const l = Object.fromEntries(ids.map((id) => [id, r4(decay * 1.5)]));
      const acc = r4(0.9 + 0.09 * (1 - decay));
      lines.push(
        JSON.stringify({
          kind: 'epoch',
          stage,
          epoch: e,
          losses: l,
          total: r4(ids.reduce((a, id) => a + weights[id] * l[id], 0)),
          weights,
          trainAccuracy: acc,
          testAccuracy: acc,
          testErrors: Math.round(2000 * (1 - acc)),
          lr: 0.05,
          seconds: 1,
          examplesPerSecond: 8000,
        } satisfies MetricRecord),
      );
      fs.writeSync(out, lines.join('\n') + '\n');
    }
  }
  fs.closeSync(out);
  const samples = Array.from({ length: SAMPLES }, (_, i) => i * 7);
  const labels = samples.map((_, i) => i % CLASSES);
  const logits = () => samples.map((_, k) => Array.from({ length: CLASSES }, (_, c) => r4((c === labels[k] ? 8 : 0) + 4 * (rnd() - 0.5))));
  const map = (rows: number, cols: number) => ({ rows, cols, values: Array.from({ length: rows * cols }, () => r4(rnd())) });
  const images = { shape: [28, 28], pixels: samples.map(() => Array.from({ length: 784 }, () => (rnd() > 0.8 ? r4(rnd()) : 0))) };
  const layers = ['conv1', 'pool1', 'conv2', 'pool2', 'fc1', 'logits'];
  for (const stage of STAGES) {
    for (let e = 1; e <= EPOCHS; e++) {
      const rec: ProbeRecord = {
        stage,
        epoch: e,
        samples,
        labels,
        images: e === 1 || e === EPOCHS ? images : undefined,
        teacherLogits: stage === 'teacher' ? undefined : logits(),
        studentLogits: logits(),
        pairs:
          stage === 'student'
            ? [
                { id: 'hint:conv2<-conv2', student: 'conv2', teacher: 'conv2', teacherMaps: samples.map(() => map(16, 16)), studentMaps: samples.map(() => map(16, 16)), loss: r4(rnd()) },
                { id: 'hint:fc1<-fc1', student: 'fc1', teacher: 'fc1', teacherMaps: samples.map(() => map(11, 12)), studentMaps: samples.map(() => map(11, 12)), loss: r4(rnd()) },
              ]
            : [],
        cka: stage === 'teacher' ? undefined : { teacherLayers: layers, studentLayers: layers, matrix: layers.map(() => layers.map(() => r4(rnd()))) },
      };
      fs.writeFileSync(path.join(dir, 'probes', `${stage}-epoch-${String(e).padStart(4, '0')}.json`), JSON.stringify(rec));
    }
  }
}

// ---- helpers ------------------------------------------------------------------------------------

const ms = (v: number) => `${v.toFixed(v < 10 ? 2 : 1)} ms`;
const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))];
  return { median: q(0.5), p95: q(0.95), max: s[s.length - 1] };
};
const time = <T>(fn: () => T): [T, number] => {
  const t = performance.now();
  const v = fn();
  return [v, performance.now() - t];
};
const rows: [string, string][] = [];
const report = (what: string, value: string) => {
  rows.push([what, value]);
  console.log(`${what.padEnd(64)} ${value}`);
};

// Installed before the app: stamps message arrival and times every animation-frame callback,
// including the microtasks it queues (uPlot draws in one), so the render cost is measured.
const PROBE_SCRIPT = () => {
  const w = window as unknown as { __bench: { frames: [number, number][]; arrivals: Record<string, number>; handlers: [number, number][] } };
  w.__bench = { frames: [], arrivals: {}, handlers: [] };
  // Times the app's 'message' listeners (the work a host message causes before the next frame).
  const add = window.addEventListener.bind(window);
  window.addEventListener = ((type: string, listener: EventListener, opts?: boolean | AddEventListenerOptions) => {
    if (type !== 'message' || typeof listener !== 'function') return add(type, listener, opts);
    return add(
      type,
      (e: Event) => {
        const s = performance.now();
        listener(e);
        w.__bench.handlers.push([s, performance.now()]);
      },
      opts,
    );
  }) as typeof window.addEventListener;
  // Registered before the app's listener: stamps when each kind of host message first arrives.
  window.addEventListener('message', (e: MessageEvent) => {
    const t = (e.data as { type?: string })?.type;
    if (t && !(t in w.__bench.arrivals)) w.__bench.arrivals[t] = performance.now();
  });
  const raf = window.requestAnimationFrame.bind(window);
  window.requestAnimationFrame = (cb: FrameRequestCallback) =>
    raf((t) => {
      const start = performance.now();
      cb(t);
      queueMicrotask(() => w.__bench.frames.push([start, performance.now()]));
    });
};

/** Dispatches a host message synchronously; returns the handler's cost and the next frame's. */
async function dispatch(page: Page, m: HostToWebview): Promise<{ handler: number; render: number; latency: number }> {
  return page.evaluate(
    (msg) =>
      new Promise<{ handler: number; render: number; latency: number }>((resolve) => {
        const b = (window as unknown as { __bench: { frames: [number, number][] } }).__bench;
        const before = b.frames.length;
        const t0 = performance.now();
        window.dispatchEvent(new MessageEvent('message', { data: msg }));
        const handler = performance.now() - t0;
        // Two frames later the update has been drawn (and painted).
        requestAnimationFrame(() =>
          requestAnimationFrame(() => {
            const frames = b.frames.slice(before);
            const render = frames.reduce((a, [s, e]) => a + (e - s), 0);
            const drawn = frames.length ? frames[0][1] : performance.now();
            resolve({ handler, render, latency: drawn - t0 });
          }),
        );
      }),
    m as unknown as Record<string, unknown>,
  );
}

/** Waits for `until` (a function: the page's CSP allows no string eval) and reads the times. */
async function firstPaint(page: Page, until: (n: number) => unknown, a: number, dataType: string): Promise<{ ready: number; data: number; painted: number; busy: number }> {
  await page.waitForFunction(until, a, { timeout: 120_000, polling: 5 });
  return page.evaluate((dataType) => {
    const w = window as unknown as { __bench: { frames: [number, number][]; arrivals: Record<string, number>; handlers: [number, number][] }; __readyAt: number };
    const f = w.__bench.frames;
    const painted = f.length ? f[f.length - 1][1] : NaN;
    const first = Math.min(...Object.values(w.__bench.arrivals));
    // Script time spent on the data: every message handler and frame from the first data to the paint.
    const busy = [...w.__bench.handlers, ...f].filter(([s, e]) => s >= first && e <= painted).reduce((a, [s, e]) => a + (e - s), 0);
    return { ready: w.__readyAt, data: w.__bench.arrivals[dataType], painted, busy };
  }, dataType);
}

function reportFirstPaint(view: string, fp: { ready: number; data: number; painted: number; busy: number }, what: string): void {
  report(`${view}: first paint ${what}, from navigation start`, ms(fp.painted));
  report(`${view}: … page load → 'ready' posted (bundle parse, elements)`, ms(fp.ready));
  report(`${view}: … script time handling the data until painted`, ms(fp.busy));
}

// ---- main ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const dir = path.join(os.tmpdir(), `distill-bench-run-${EPOCHS}`);
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')} on ${os.cpus().length} cores`);
  console.log(`Synthetic run: ${EPOCHS} epochs × 3 stages, ${STEPS} logged steps per epoch, ${SAMPLES} probe samples, 2 hint pairs — ${dir}`);
  const [, genMs] = time(() => makeRun(dir));
  const size = (p: string) => fs.statSync(p).size;
  const probeBytes = fs.readdirSync(path.join(dir, 'probes')).reduce((a, f) => a + size(path.join(dir, 'probes', f)), 0);
  console.log(`  written in ${(genMs / 1000).toFixed(1)} s: metrics.jsonl ${(size(path.join(dir, 'metrics.jsonl')) / 1e6).toFixed(1)} MB, probes ${(probeBytes / 1e6).toFixed(0)} MB in ${3 * EPOCHS} files\n`);

  // Host side.
  const reader = new RunReader(dir);
  // The first snapshot, as the panel host does it: parsed in slices between which the event loop
  // runs; a 1 ms timer measures the longest the extension host would stall.
  let lag = 0;
  let last = performance.now();
  const monitor = setInterval(() => {
    const now = performance.now();
    lag = Math.max(lag, now - last - 1);
    last = now;
  }, 1);
  const t0 = performance.now();
  await reader.loadMetrics();
  const loadMs = performance.now() - t0;
  await new Promise((r) => setTimeout(r, 5)); // let the monitor see the last slice
  clearInterval(monitor);
  const [snapshot, snapMs] = time(() => reader.readMetrics(true));
  report('host: metrics history load (read + parse, sliced), total', ms(loadMs));
  report('host: … longest event-loop stall during it', ms(lag));
  report('host: metrics snapshot from memory (decimate 189k steps → 3×4k)', ms(snapMs));
  const [, again] = time(() => new RunReader(dir).readMetrics(true));
  report('host: the same read in one go (sync, for comparison)', ms(again));
  const snapshotMsg: HostToWebview = { type: 'metrics', runDir: dir, reset: true, ...snapshot };
  report('host: metrics snapshot message size (JSON)', `${(JSON.stringify(snapshotMsg).length / 1e6).toFixed(2)} MB (${snapshot.epochs.length} epoch records, ${snapshot.steps.map((s) => s.x.length).join('/')} step points)`);
  // One more epoch appended, as a live run does.
  const tail = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').split('\n').slice(-65, -1).join('\n') + '\n';
  const appendTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    fs.appendFileSync(path.join(dir, 'metrics.jsonl'), tail);
    appendTimes.push(time(() => reader.readMetrics(false))[1]);
  }
  report('host: incremental metrics read (one epoch appended), median', ms(stats(appendTimes).median));
  const [index, indexMs] = time(() => reader.probeIndex()!);
  report('host: probe index, first (list 3,000 files, read pixels)', ms(indexMs));
  const stamps: number[] = [];
  for (let i = 0; i < 20; i++) stamps.push(time(() => reader.stamp())[1]);
  report('host: change check per poll (stat ×3), median', ms(stats(stamps).median));
  const probeTimes: number[] = [];
  for (let i = 0; i < 20; i++) {
    const e = 1 + Math.floor(rnd() * EPOCHS);
    probeTimes.push(time(() => reader.probes(e, ['student', 'baseline']))[1]);
  }
  const ps = stats(probeTimes);
  report('host: one epoch’s probes (student + baseline), cold, median / p95', `${ms(ps.median)} / ${ms(ps.p95)}`);
  const probesMsg = (e: number): HostToWebview => ({ type: 'probes', requestId: 1, runDir: dir, epoch: e, records: reader.probes(e, ['student', 'baseline']) });
  report('host: one epoch’s probes message size (JSON)', `${(JSON.stringify(probesMsg(EPOCHS)).length / 1e3).toFixed(0)} kB`);
  const run = reader.runInfo()!;

  // Webview side.
  const server = await startServer();
  const browser = await launchBrowser();
  /**
   * A panel's page with a fake host: it answers `ready` with `initial` (after noting when `ready`
   * came) and each probe request with `probes(epoch)`.
   */
  const openPanel = async (kind: string, initial: unknown[], probes?: (epoch: number) => HostToWebview): Promise<Page> => {
    const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
    await page.addInitScript(PROBE_SCRIPT);
    await page.exposeFunction('__toHost', async (m: { type: string; requestId?: number; epoch?: number }) => {
      if (m.type === 'ready') {
        await page.evaluate(() => ((window as unknown as { __readyAt: number }).__readyAt = performance.now()));
        await page.evaluate((msgs) => msgs.forEach((x) => window.postMessage(x, '*')), initial as Record<string, unknown>[]);
      } else if (m.type === 'getProbes' && probes) {
        await page.evaluate((x) => window.postMessage(x, '*'), { ...probes(m.epoch!), requestId: m.requestId } as unknown as Record<string, unknown>);
      }
    });
    page.on('pageerror', (e) => console.error(`${kind} page error:`, e.message));
    page.on('console', (m) => m.type() === 'error' && console.error(`${kind} console:`, m.text()));
    await page.goto(`${server.origin}/panel/${kind}?theme=dark`);
    return page;
  };
  const header = [
    { type: 'target', target: { follow: false, runDir: dir } },
    { type: 'run', run },
  ];
  // Loss split: first paint with the whole history, then live updates at 10 Hz.
  {
    const page = await openPanel('lossSplit', [...header, snapshotMsg]);
    const fp = await firstPaint(
      page,
      (n: number) => (document.getElementById('accuracy-chart') as unknown as { __uplot?: { data: number[][] } })?.__uplot?.data[0].length === n,
      EPOCHS,
      'metrics',
    );
    reportFirstPaint('lossSplit', fp, `(${snapshot.epochs.length} epoch records, ${snapshot.steps.reduce((a, x) => a + x.x.length, 0)} step points)`);
    const costs: { handler: number; render: number; latency: number }[] = [];
    for (let i = 0; i < 50; i++) {
      const e = EPOCHS + 1 + i;
      const steps = Array.from({ length: STEPS }, (_, s) => s);
      const update: HostToWebview = {
        type: 'metrics',
        runDir: dir,
        reset: false,
        epochs: [{ ...snapshot.epochs[snapshot.epochs.length - 1], epoch: e }],
        steps: [{ stage: 'student', x: steps.map((s) => e * STEPS + s), total: steps.map(() => rnd()), losses: { ce: steps.map(() => rnd()), kd: steps.map(() => rnd()), 'hint:conv2<-conv2': steps.map(() => rnd()), 'hint:fc1<-fc1': steps.map(() => rnd()) } }],
      };
      costs.push(await dispatch(page, update));
      await new Promise((r) => setTimeout(r, 100));
    }
    const c = stats(costs.map((x) => x.handler + x.render));
    report('lossSplit: live update (1 epoch + 63 steps), script cost median / p95 / max', `${ms(c.median)} / ${ms(c.p95)} / ${ms(c.max)}`);
    report('lossSplit: live update, message → drawn, median', ms(stats(costs.map((x) => x.latency)).median));
    const perStep = await page.evaluate(async () => {
      const el = document.getElementById('per') as HTMLElement & { value: string };
      const t = performance.now();
      el.value = 'step';
      el.dispatchEvent(new Event('change'));
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      return performance.now() - t;
    });
    report('lossSplit: switch to per-step view (re-create chart), to drawn', ms(perStep));
    await page.close();
  }

  // Logits: gallery of 64 samples, bars, agreement; scrubbing; the T slider.
  {
    const page = await openPanel('logits', [...header, { type: 'probeIndex', index }], probesMsg);
    const fp = await firstPaint(
      page,
      (n: number) => document.querySelectorAll('#gallery [role=option]').length === n && !!(document.querySelector('.agreement canvas') as HTMLElement | null)?.dataset.rows,
      SAMPLES,
      'probes',
    );
    reportFirstPaint('logits', fp, `(${SAMPLES}-sample gallery, 6 bar charts, agreement)`);
    const scrub: number[] = [];
    for (let i = 0; i < 30; i++) {
      const e = 1 + Math.floor(rnd() * EPOCHS);
      const c = await dispatch(page, probesMsg(e));
      scrub.push(c.handler + c.render);
    }
    const s = stats(scrub);
    report('logits: scrub to an epoch (probes arrive → redrawn), script median / p95', `${ms(s.median)} / ${ms(s.p95)}`);
    const slider = await page.evaluate(() => {
      const input = document.getElementById('temperature') as HTMLInputElement;
      const out: number[] = [];
      for (let i = 0; i < 40; i++) {
        input.value = String(1 + (i % 40) * 0.5);
        const t = performance.now();
        input.dispatchEvent(new Event('input'));
        out.push(performance.now() - t);
      }
      return out;
    });
    const t = stats(slider);
    report('logits: T slider step (softmax ×3, 6 bar charts, entropy), median / p95', `${ms(t.median)} / ${ms(t.p95)}`);
    await page.close();
  }

  // Feature maps: two pairs of 16×16 and 11×12 maps, their loss curves over 1,000 epochs, CKA.
  {
    const page = await openPanel('featureMaps', [...header, { ...snapshotMsg, steps: [] }, { type: 'probeIndex', index }], (e) => ({
      type: 'probes',
      requestId: 0,
      runDir: dir,
      epoch: e,
      records: reader.probes(e, ['student']),
    }));
    const fp = await firstPaint(
      page,
      (_n: number) => document.querySelectorAll('.pair .map-diff canvas[data-rows]').length === 2 && !!(document.querySelector('.cka canvas') as HTMLElement | null)?.dataset.rows,
      0,
      'probes',
    );
    reportFirstPaint('featureMaps', fp, '(2 pairs × 3 maps, 2 loss curves, CKA)');
    const scrub: number[] = [];
    for (let i = 0; i < 30; i++) {
      const e = 1 + Math.floor(rnd() * EPOCHS);
      const c = await dispatch(page, { type: 'probes', requestId: 0, runDir: dir, epoch: e, records: reader.probes(e, ['student']) });
      scrub.push(c.handler + c.render);
    }
    const s = stats(scrub);
    report('featureMaps: scrub to an epoch (probes arrive → redrawn), script median / p95', `${ms(s.median)} / ${ms(s.p95)}`);
    await page.close();
  }

  await browser.close();
  await server.close();
  console.log(`load average ${os.loadavg().map((x) => x.toFixed(1)).join(' ')}`);
  if (!process.argv.includes('--keep')) fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join('test-output', 'webview'), { recursive: true });
  fs.writeFileSync(path.join('test-output', 'webview', 'bench.md'), `| measurement | result |\n|---|---|\n${rows.map(([a, b]) => `| ${a} | ${b} |`).join('\n')}\n`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
