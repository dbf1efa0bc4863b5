// The extension host's event loop while a run streams (issue 9): how late a timer fires (lag p50 /
// p99 / max) while a 1,000-epoch run streams into three open result panels and the runs tree, with
// 1,000 finished runs beside it (the run's history up to the last `--live` epochs is written first;
// those are streamed at the trainer's cadence: steps flushed at 10 Hz, the epoch record, a pause
// for the evaluation); how long listing those runs takes (the tree, `distill list`); and
// how long validating a config stalls the host when its CSV is large.
//
// The host's work is reproduced in plain Node from the same modules the extension uses (no VS Code
// here): the tree is RunIndex's watch → debounce → listing; each panel is a RunReader refreshed as
// ResultPanel.refresh does (throttled to 10 Hz, woken by the run folder's changes as the trainer's
// messages would wake it), its update serialised as postMessage would. The "before" mode runs the
// previous watcher (every file event in a running run's folder re-listed every manifest,
// synchronously) for comparison. A separate process plays the trainer.
//
// Run: npm run build && node --import tsx bench/host.bench.ts [--epochs 1000] [--live 30] [--runs 1000] [--mode both|before|after] [--cli dist/cli.js]
import { fork, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaultNodeEnv } from '../src/core/config/nodeEnv';
import { parseConfig } from '../src/core/config/parse';
import { describeDataSource } from '../src/core/data/describe';
import type { Manifest, MetricRecord, StageName } from '../src/core/protocol';
import { listRuns, MANIFEST, writeJsonAtomic } from '../src/core/runStore';
import { DataFactsCache } from '../src/host/dataFacts';
import { RunReader } from '../src/host/panels/runData';
import { affectsListing, RunListing } from '../src/host/runListing';
import { throttle } from '../src/host/throttle';

const arg = (name: string, d: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : d;
};
const EPOCHS = Number(arg('epochs', '1000'));
const LIVE = Number(arg('live', '30'));
/** The trainer's cadence: step records flushed every 100 ms (RunRecorder), FLUSHES per epoch, then the evaluation. */
const FLUSH_MS = 100;
const FLUSHES = 3;
const EVAL_MS = 250;
const RUNS = Number(arg('runs', '1000'));
const MODE = arg('mode', 'both');
const STEPS = 63;
const STAGES: StageName[] = ['teacher', 'baseline', 'student'];

// ---- the trainer's side (a child process) ----------------------------------------------------------

/** One epoch's metric lines: STEPS step records and the epoch record. */
function epochLines(stage: StageName, epoch: number, e: number): string[] {
  const lines: string[] = [];
  for (let s = 1; s <= STEPS; s++) lines.push(JSON.stringify({ kind: 'step', stage, epoch, step: s, losses: { ce: 1 / (e + s) }, total: 1 / (e + s), lr: 0.05 }));
  lines.push(
    JSON.stringify({ kind: 'epoch', stage, epoch, losses: { ce: 1 / (e + 1) }, total: 1 / (e + 1), weights: { ce: 1 }, trainAccuracy: 0.9, testAccuracy: 0.9, testErrors: 200, lr: 0.05, seconds: 1, examplesPerSecond: 8000 } satisfies MetricRecord),
  );
  return lines;
}

const stageOf = (e: number, epochs: number) => {
  const perStage = Math.ceil(epochs / STAGES.length);
  return { stage: STAGES[Math.floor(e / perStage)], epoch: (e % perStage) + 1 };
};

function probe(dir: string, stage: StageName, epoch: number): void {
  const samples = Array.from({ length: 16 }, (_, i) => i);
  writeJsonAtomic(
    path.join(dir, 'probes', `${stage}-epoch-${String(epoch).padStart(4, '0')}.json`),
    { stage, epoch, samples, labels: samples.map((i) => i % 10), studentLogits: samples.map(() => Array.from({ length: 10 }, (_, c) => c / 10)), pairs: [] },
    true,
  );
}

/** The run's history before the live part: epochs 0 … from−1, as the trainer left them. */
function writeHistory(dir: string, from: number, epochs: number): void {
  const out = fs.openSync(path.join(dir, 'metrics.jsonl'), 'w');
  for (let e = 0; e < from; e++) {
    const { stage, epoch } = stageOf(e, epochs);
    fs.writeSync(out, epochLines(stage, epoch, e).join('\n') + '\n');
    probe(dir, stage, epoch);
  }
  fs.closeSync(out);
}

/** Streams epochs from … epochs−1 into `dir` as the trainer's RunRecorder does, at its cadence. */
function writer(dir: string, from: number, epochs: number): void {
  const manifest = JSON.parse(fs.readFileSync(path.join(dir, MANIFEST), 'utf8')) as Manifest & { pid: number };
  const log = fs.openSync(path.join(dir, 'trainer.log'), 'a');
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  void (async () => {
    for (let e = from; e < epochs; e++) {
      const { stage, epoch } = stageOf(e, epochs);
      if (epoch === 1 || e === from) writeJsonAtomic(path.join(dir, MANIFEST), { ...manifest, stage });
      const lines = epochLines(stage, epoch, e);
      const per = Math.ceil(STEPS / FLUSHES);
      for (let f = 0; f < FLUSHES; f++) {
        fs.appendFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(f * per, Math.min(STEPS, (f + 1) * per)).join('\n') + '\n');
        await sleep(FLUSH_MS);
      }
      await sleep(EVAL_MS);
      fs.appendFileSync(path.join(dir, 'metrics.jsonl'), lines[STEPS] + '\n');
      probe(dir, stage, epoch);
      fs.writeSync(log, `${new Date().toISOString()} INFO ${stage} epoch ${epoch}\n`);
    }
    writeJsonAtomic(path.join(dir, MANIFEST), { ...manifest, status: 'done', endedAt: new Date().toISOString() });
    process.exit(0);
  })();
}

if (process.argv[2] === '--writer') {
  writer(process.argv[3], Number(process.argv[4]), Number(process.argv[5]));
} else {
  void main();
}

// ---- the host's side ---------------------------------------------------------------------------------

/**
 * Event-loop lag as a user's input would meet it: a tick is due every 5 ms; each due tick counts
 * how late the loop got to it (a 200 ms stall makes 40 late ticks, from 200 ms down to 5 ms), so
 * long stalls weigh by how long they last, not once.
 */
function lagMonitor(): { stop(): { p50: number; p99: number; max: number; n: number } } {
  const EVERY = 5;
  const lags: number[] = [];
  const start = performance.now();
  let k = 1;
  let stopped = false;
  const next = () => {
    setTimeout(() => {
      const now = performance.now();
      for (; start + k * EVERY <= now; k++) lags.push(now - (start + k * EVERY));
      if (!stopped) next();
    }, Math.max(0, start + k * EVERY - performance.now()));
  };
  next();
  return {
    stop() {
      stopped = true;
      const s = [...lags].sort((a, b) => a - b);
      const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? 0;
      return { p50: q(0.5), p99: q(0.99), max: s[s.length - 1] ?? 0, n: s.length };
    },
  };
}

function makeRuns(runsDir: string, n: number): void {
  fs.rmSync(runsDir, { recursive: true, force: true });
  for (let i = 0; i < n; i++) {
    const id = `20260101-${String(100000 + i)}-old`;
    const dir = path.join(runsDir, id);
    writeJsonAtomic(path.join(dir, MANIFEST), {
      id,
      name: 'old',
      configPath: '/bench/old.distill.json',
      configHash: 'h',
      status: 'done',
      startedAt: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
      endedAt: new Date(Date.UTC(2026, 0, 1, 0, 1, i)).toISOString(),
      versions: {},
      seed: 1,
      results: { student: { testAccuracy: 0.97, testErrors: 60, testCount: 2000, params: 1e6, flops: 2e6, latencyMs: 0.5 } },
    } satisfies Manifest);
  }
}

function startRun(runsDir: string): string {
  const dir = path.join(runsDir, '20991231-235959-live');
  fs.mkdirSync(path.join(dir, 'probes'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify({ configPath: '/bench/live.distill.json', hash: 'x', config: { name: 'live', distillation: { temperature: 4, losses: [{ type: 'ce', weight: 1 }] }, probes: { samples: 16 } } }));
  writeHistory(dir, Math.max(0, EPOCHS - LIVE), EPOCHS);
  return dir;
}

const signature = (entries: { dir: string; manifest: Manifest }[]) =>
  JSON.stringify(entries.map((e) => [e.dir, e.manifest.status, e.manifest.stage, e.manifest.endedAt, e.manifest.results, e.manifest.error]));

/** The tree: watchers on the runs folder and the running run's folder, debounced re-listing. */
function tree(runsDir: string, runDir: string, mode: 'before' | 'after'): { stop(): void; relists: () => number } {
  const listing = new RunListing();
  let timer: NodeJS.Timeout | undefined;
  let relists = 0;
  let busy = false;
  const refresh = async () => {
    relists++;
    if (mode === 'before') {
      signature(listRuns(runsDir));
      return;
    }
    if (busy) return;
    busy = true;
    signature((await listing.list(runsDir)).runs);
    busy = false;
  };
  const schedule = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), 150);
  };
  const watchers = [
    fs.watch(runsDir, { persistent: false }, (_e, name) => (mode === 'before' || affectsListing(path.join(runsDir, String(name ?? '')), [runsDir])) && schedule()),
    fs.watch(runDir, { persistent: false }, (_e, name) => (mode === 'before' || !name || String(name) === MANIFEST) && schedule()),
  ];
  return {
    stop: () => (clearTimeout(timer), watchers.forEach((w) => w.close())),
    relists: () => relists,
  };
}

/** Three panels on the running run (Loss Split, Feature Maps, Logits), refreshed as ResultPanel.refresh does. */
async function panels(runsDir: string, runDir: string, mode: 'before' | 'after', listing: RunListing): Promise<{ stop(): void; updates: () => number }> {
  let updates = 0;
  const kinds = ['lossSplit', 'featureMaps', 'logits'] as const;
  const open = await Promise.all(
    kinds.map(async (kind) => {
      // Each panel finds the followed config's newest run: before, by listing the folder itself.
      const runs = mode === 'before' ? listRuns(runsDir) : (await listing.list(runsDir)).runs;
      const dir = runs.find((r) => r.manifest.configPath === '/bench/live.distill.json')?.dir ?? runDir;
      const r = new RunReader(dir);
      let stamp = '';
      if (kind !== 'logits') {
        await r.loadMetrics();
        JSON.stringify(r.readMetrics(true));
      }
      const refresh = () => {
        const s = r.stamp();
        if (s === stamp) return;
        const [m, metrics, probes] = s.split('|');
        const [m0, m1, m2] = stamp.split('|');
        stamp = s;
        updates++;
        if (m !== m0) JSON.stringify(r.runInfo());
        if (metrics !== m1 && kind !== 'logits') JSON.stringify(r.readMetrics(false));
        if (probes !== m2 && kind !== 'lossSplit') JSON.stringify(r.probeIndex());
      };
      return throttle(refresh, 100);
    }),
  );
  // The trainer's messages wake the panels (here: the run folder's changes, at most as often).
  const w = fs.watch(runDir, { persistent: false }, () => open.forEach((u) => u()));
  return { stop: () => (w.close(), open.forEach((u) => u.dispose())), updates: () => updates };
}

async function streamOnce(mode: 'before' | 'after', runsDir: string): Promise<void> {
  makeRuns(runsDir, RUNS);
  const runDir = startRun(runsDir);
  const child = fork(__filename, ['--writer', runDir, String(Math.max(0, EPOCHS - LIVE)), String(EPOCHS)], { execArgv: process.execArgv, stdio: 'inherit' });
  writeJsonAtomic(path.join(runDir, MANIFEST), {
    id: path.basename(runDir),
    name: 'live',
    configPath: '/bench/live.distill.json',
    configHash: 'x',
    status: 'running',
    startedAt: new Date().toISOString(),
    versions: {},
    seed: 1,
    results: {},
    pid: child.pid,
  } as Manifest);
  const listing = new RunListing();
  await listing.list(runsDir); // the tree's first look (measured separately below)
  const t = tree(runsDir, runDir, mode);
  let o = performance.now();
  const opening = lagMonitor();
  const p = await panels(runsDir, runDir, mode, listing);
  const opened = opening.stop();
  o = performance.now() - o;
  const lag = lagMonitor();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const cpu = process.cpuUsage(cpu0);
  const seconds = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 300)); // the last debounced refreshes
  t.stop();
  p.stop();
  const l = lag.stop();
  console.log(
    `${mode.padEnd(7)} opening 3 panels on the ${EPOCHS}-epoch history: ${o.toFixed(0)} ms, longest stall ${opened.max.toFixed(1)} ms\n` +
      `${mode.padEnd(7)} streaming the last ${LIVE} epochs (${seconds.toFixed(1)} s), ${RUNS} runs beside it: event-loop lag p50 ${l.p50.toFixed(2)} ms, p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms ` +
      `(${l.n} samples); host CPU ${((cpu.user + cpu.system) / 1e6).toFixed(2)} s; tree re-listings ${t.relists()}, panel updates ${p.updates()}`,
  );
}

async function listingTimes(runsDir: string): Promise<void> {
  makeRuns(runsDir, RUNS);
  const time = async (fn: () => unknown) => {
    const t = performance.now();
    await fn();
    return performance.now() - t;
  };
  const sync = await time(() => listRuns(runsDir));
  const listing = new RunListing();
  const lag = lagMonitor();
  const cold = await time(() => listing.list(runsDir));
  const warm = await time(() => listing.list(runsDir));
  const l = lag.stop();
  const cli = path.resolve(arg('cli', 'dist/cli.js'));
  const t = performance.now();
  const r = spawnSync(process.execPath, [cli, 'list', '--runs-dir', runsDir], { encoding: 'utf8' });
  const cliSeconds = (performance.now() - t) / 1000;
  console.log(`${RUNS} runs: listRuns (sync, before) ${sync.toFixed(1)} ms; tree listing cold ${cold.toFixed(1)} ms, warm (cached) ${warm.toFixed(1)} ms, longest stall meanwhile ${l.max.toFixed(1)} ms`);
  console.log(`${RUNS} runs: distill list ${cliSeconds.toFixed(2)} s (${r.stdout.trim().split('\n').length} lines, exit ${r.status})`);
}

async function validationStall(dir: string): Promise<void> {
  fs.mkdirSync(dir, { recursive: true });
  const train = path.join(dir, 'train.csv');
  const rows = 20_000;
  const header = 'label,' + Array.from({ length: 784 }, (_, i) => `p${i}`).join(',');
  const out = fs.openSync(train, 'w');
  fs.writeSync(out, header + '\n');
  for (let r = 0; r < rows; r += 1000) {
    const lines: string[] = [];
    for (let k = r; k < r + 1000; k++) lines.push(`${k % 10},` + Array.from({ length: 784 }, (_, i) => (k * 7 + i * 13) % 256).join(','));
    fs.writeSync(out, lines.join('\n') + '\n');
  }
  fs.closeSync(out);
  fs.copyFileSync(train, path.join(dir, 'test.csv'));
  const text = JSON.stringify({
    name: 'csv',
    data: { dataset: 'csv', trainFile: 'train.csv', testFile: 'test.csv', imageShape: [28, 28, 1] },
    teacher: { model: { type: 'mlp', hidden: [64] }, training: { epochs: 1, optimizer: { lr: 0.1 } } },
    student: { model: { type: 'mlp', hidden: [32] } },
    distillation: { temperature: 4, losses: [{ type: 'kd', weight: 1 }] },
    training: { epochs: 1, optimizer: { lr: 0.1 } },
  });
  const file = path.join(dir, 'x.distill.json');
  const mb = (2 * fs.statSync(train).size) / 1e6;
  let t = performance.now();
  parseConfig(text, file, defaultNodeEnv({ describeData: describeDataSource }));
  const syncMs = performance.now() - t;
  // The editor's analyzer: the parse returns at once; the scan runs between awaits.
  for (const f of ['train.csv', 'test.csv']) fs.utimesSync(path.join(dir, f), new Date(), new Date(Date.now() + 10_000)); // a fresh scan
  const cache = new DataFactsCache();
  const env = defaultNodeEnv({ describeData: (d, c) => cache.describe(d, c) });
  const lag = lagMonitor();
  t = performance.now();
  parseConfig(text, file, env);
  const firstMs = performance.now() - t;
  await new Promise<void>((resolve) => cache.onDidChange(resolve));
  const scanS = (performance.now() - t) / 1000;
  const l = lag.stop();
  const after = parseConfig(text, file, env).problems.length;
  console.log(
    `validating a config with ${mb.toFixed(0)} MB of CSV: synchronous (before) stalls ${syncMs.toFixed(0)} ms; editor (after): first answer ${firstMs.toFixed(1)} ms, ` +
      `scan done in ${scanS.toFixed(2)} s with event-loop lag p99 ${l.p99.toFixed(2)} ms, max ${l.max.toFixed(1)} ms (${after} problems after)`,
  );
  cache.dispose();
}

async function main(): Promise<void> {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-host-bench-'));
  try {
    console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}; ${os.cpus().length} CPUs`);
    // The floor: what the same monitor sees with nothing to do (other processes share the cores).
    const idle = lagMonitor();
    await new Promise((r) => setTimeout(r, 5000));
    const f = idle.stop();
    console.log(`idle (nothing running here), 5 s: event-loop lag p50 ${f.p50.toFixed(2)} ms, p99 ${f.p99.toFixed(2)} ms, max ${f.max.toFixed(1)} ms`);
    await listingTimes(path.join(root, 'list'));
    await validationStall(path.join(root, 'csv'));
    for (const mode of MODE === 'both' ? (['before', 'after'] as const) : [MODE as 'before' | 'after']) await streamOnce(mode, path.join(root, `runs-${mode}`));
    console.log(`load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')}`);
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}
