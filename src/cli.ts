// `distill`: the command line on core + the trainer process.
//   distill run <config> [--backend auto|wasm|cpu|tensorflow|webgpu] [--runs-dir DIR]
//   distill validate <config>...
//   distill list [--seeds] [--runs-dir DIR]
//   distill export <run-id|latest> <dest-dir> [--model MODEL-ID] [--runs-dir DIR]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { defaultNodeEnv } from './core/config/nodeEnv';
import { formatProblem, parseConfig } from './core/config/parse';
import { comparisonText, hasGapLine, headlineNames, isClassicRun, modelRows } from './core/modelRows';
import { modelResult, runModels, trainingStages } from './core/modes';
import { BACKEND_PREFERENCES, CLASSIC_STAGES, type BackendPreference, type Manifest, type RunGroup, type RunModel, type RunResults, type StageName, type TrainerToHost } from './core/protocol';
import { epochHeldOutText, gapClosedPercent, omittedClassLines, trainingOutcomeText, transferText } from './core/resultFormat';
import { listRuns, MANIFEST, MODELS, percentError, readManifest, scanRuns, summarizeResults } from './core/runStore';
import { formatGapSpread, formatSeeds, formatSpread, groupEntries, type SeedGroupSummary, summarizeGroupLine, summarizeSeedGroup } from './core/seedGroups';
import { startTrainer } from './core/trainerClient';
import { describeDataSource } from './core/data/describe';

const USAGE = `usage:
  distill run <config.distill.json> [--backend auto|wasm|cpu|tensorflow|webgpu] [--runs-dir DIR]
  distill validate <config.distill.json>...
  distill list [--seeds] [--runs-dir DIR]
  distill export <run-id|latest> <dest-dir> [--model MODEL-ID] [--runs-dir DIR]
      MODEL-ID: student (the default), baseline, teacher, or any model of the run: peer1, gen2, …`;

interface Args {
  positional: string[];
  flags: Map<string, string>;
}

/** Flags that take no value. */
const SWITCHES = new Set(['seeds']);

function parseArgs(argv: string[]): Args {
  const positional: string[] = [];
  const flags = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('--')) positional.push(a);
    else if (a.includes('=')) flags.set(a.slice(2, a.indexOf('=')), a.slice(a.indexOf('=') + 1));
    else if (SWITCHES.has(a.slice(2))) flags.set(a.slice(2), '');
    else flags.set(a.slice(2), argv[++i] ?? '');
  }
  return { positional, flags };
}

class UsageError extends Error {}

const runsDirOf = (args: Args) => path.resolve(args.flags.get('runs-dir') ?? path.join('.distill', 'runs'));

/**
 * The text of a config file, or a one-line reason it cannot be read. Only regular files are read:
 * a FIFO would block the read forever and a directory fails with a bare EISDIR.
 */
function readConfigText(file: string): { text: string } | { error: string } {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return { error: code === 'ENOENT' ? 'no such file' : `cannot read: ${code ?? (e as Error).message}` };
  }
  if (st.isDirectory()) return { error: 'is a directory, not a config file' };
  if (!st.isFile()) return { error: 'is not a regular file (a pipe, socket or device); give the path of a *.distill.json file' };
  try {
    return { text: fs.readFileSync(file, 'utf8') };
  } catch (e) {
    return { error: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
}

/** Prints every problem as `file:line:col: severity: message`; returns whether all are valid. */
function validate(files: string[]): boolean {
  if (!files.length) throw new UsageError('validate needs at least one config file');
  const env = defaultNodeEnv({ describeData: describeDataSource });
  let ok = true;
  for (const file of files) {
    const read = readConfigText(path.resolve(file));
    if ('error' in read) {
      console.error(`${file}: error: ${read.error}`);
      ok = false;
      continue;
    }
    // One config that breaks the validator must not keep the others from being checked.
    let result: ReturnType<typeof parseConfig>;
    try {
      result = parseConfig(read.text, file, env);
    } catch (e) {
      console.error(`${file}: error: the validator failed: ${e instanceof Error ? e.message : String(e)}`);
      ok = false;
      continue;
    }
    for (const p of result.problems) console.error(formatProblem(p));
    if (result.config) console.log(`${file}: valid`);
    else ok = false;
  }
  return ok;
}

function fmtCount(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(2)}G` : n >= 1e6 ? `${(n / 1e6).toFixed(2)}M` : n >= 1e3 ? `${(n / 1e3).toFixed(1)}k` : String(n);
}

/**
 * The result table: every model of the run (its plan; without one, the classic three) with its
 * test errors and costs. Models beyond the classic three get a last column: the label and what the
 * model is measured against (a peer against itself trained alone, an ensemble against its best member).
 */
function resultTable(results: RunResults, plan?: { models?: RunModel[]; mode?: string }): string {
  const run = { models: plan?.models, mode: plan?.mode, results };
  const rows = modelRows(run).filter((r) => r.result);
  const width = Math.max(10, ...rows.map((r) => r.model.id.length + 2));
  const about = rows.some((r) => !(CLASSIC_STAGES as readonly string[]).includes(r.model.id));
  const lines = [`${'model'.padEnd(width)}${'test errors'.padStart(14)}${'error'.padStart(8)}${'params'.padStart(10)}${'FLOPs/ex'.padStart(10)}${'latency'.padStart(10)}`];
  for (const row of rows) {
    const r = row.result!;
    const note = about ? `  ${[row.model.label, comparisonText(row)].filter(Boolean).join('; ')}` : '';
    lines.push(
      `${row.model.id.padEnd(width)}${`${r.testErrors} / ${r.testCount}`.padStart(14)}${percentError(r).padStart(8)}${fmtCount(r.params).padStart(10)}` +
        `${fmtCount(r.flops).padStart(10)}${`${r.latencyMs.toFixed(2)} ms`.padStart(10)}${note}`,
    );
  }
  const classic = isClassicRun(run);
  const names = headlineNames(run);
  if (results.ratios) {
    const { params, flops, latency } = results.ratios;
    lines.push(`${classic ? 'teacher ÷ student' : `${names.teacher} ÷ ${names.student}`}: ${params.toFixed(1)}× params, ${flops.toFixed(1)}× FLOPs, ${latency.toFixed(1)}× latency`);
  }
  const { student, baseline } = results;
  if (results.gapRecovered !== undefined && student && baseline && hasGapLine(run)) {
    const [s, b] = classic ? ['the student', 'the baseline'] : [names.student, names.baseline];
    lines.push(
      student.testErrors < baseline.testErrors
        ? `${classic ? 'distillation' : s} closed ${gapClosedPercent(results.gapRecovered)} of the ${classic ? 'baseline' : b} → ${classic ? 'teacher' : names.teacher} error gap`
        : student.testErrors === baseline.testErrors
          ? `distillation did not help here: ${s} made as many errors as ${b}`
          : `distillation did not help here: ${s} made ${student.testErrors - baseline.testErrors} more errors than ${b}`,
    );
  }
  // Which epoch each model kept, where it chose on the validation split (keep "best", early stopping).
  lines.push(...rows.filter((r) => r.result!.training).map((r) => `${r.model.id}: ${trainingOutcomeText(r.result!.training!)}`));
  if (results.transfer) lines.push(transferText(results.transfer), ...results.transfer.notes);
  lines.push(...omittedClassLines(rows.map((r) => [r.model.id, r.result] as const)));
  return lines.join('\n');
}

/** One seed's result in a group, as its run ends: "seed 2: teacher 69 · baseline 73 · student 67 test errors of 1000 · gap closed 67%". */
function seedLine(seed: number, results: RunResults): string {
  const models = (['teacher', 'baseline', 'student'] as const).filter((k) => results[k]).map((k) => `${k} ${results[k]!.testErrors}`);
  const count = results.student?.testCount ?? results.teacher?.testCount;
  const gap = results.gapRecovered !== undefined ? ` · gap closed ${gapClosedPercent(results.gapRecovered)}` : '';
  return `seed ${seed}: ${models.join(' · ')} test errors${count !== undefined ? ` of ${count}` : ''}${gap}`;
}

/** A seed group's table: each model's test errors and error rate as mean ± sample std over its finished runs. */
function groupTable(g: SeedGroupSummary): string {
  const lines = [
    `over ${g.finished} of ${g.seeds.length} seeds (${formatSeeds(g.seeds)}): mean ± std (sample, n − 1)`,
    `${'model'.padEnd(10)}${'test errors'.padStart(22)}${'error'.padStart(16)}${'params'.padStart(10)}${'FLOPs/ex'.padStart(10)}`,
  ];
  const last = g.runs.filter((m) => m.status === 'done').at(-1);
  // The plan's models in training order, with their labels (peers, generations, exits), as the
  // run's own table; a run without a plan has the headline three.
  const planned = last ? modelRows(last).filter((r) => g.models[r.model.id]).map((r) => r.model) : [];
  const rows = planned.length ? planned : Object.keys(g.models).map((id) => ({ id, label: id }));
  const about = rows.some((m) => !(CLASSIC_STAGES as readonly string[]).includes(m.id));
  const width = Math.max(10, ...rows.map((m) => m.id.length + 2));
  for (const { id, label } of rows) {
    const m = g.models[id];
    const r = last && modelResult(last.results, id);
    const errors = `${formatSpread(m.testErrors)}${m.testCount !== undefined ? ` / ${m.testCount}` : ''}`;
    const rate = { mean: 1 - m.testAccuracy.mean, std: m.testAccuracy.std, n: m.testAccuracy.n };
    lines.push(
      `${id.padEnd(width)}${errors.padStart(22)}${`${formatSpread(rate, 2, 100)}%`.padStart(16)}${(r ? fmtCount(r.params) : '').padStart(10)}${(r ? fmtCount(r.flops) : '').padStart(10)}${about ? `  ${label}` : ''}`,
    );
  }
  if (g.gapRecovered) {
    const over = g.gapRecovered.n < g.finished ? ` (over the ${g.gapRecovered.n} seeds whose teacher beat the baseline)` : '';
    lines.push(`distillation closed ${formatGapSpread(g.gapRecovered)} of the baseline → teacher error gap${over}`);
  } else if (g.runs.some((m) => m.status === 'done' && typeof m.results.gapRecovered === 'number')) {
    // Only where the mode measures the gap at all: online peers and self-distilled exits have none.
    lines.push('no seed\'s teacher beat its baseline: there was no gap to close');
  }
  return lines.join('\n');
}

/** Live progress: a redrawn bar on a terminal, plain epoch lines otherwise (CI logs, pipes). */
class Progress {
  private readonly tty = Boolean(process.stdout.isTTY);
  private barShown = false;
  /** The widest stage or model name of the run's plan: the bars and epoch lines line up. */
  width = 8;

  line(text: string): void {
    this.clearBar();
    console.log(text);
  }

  bar(stage: StageName, epoch: number, epochs: number, step: number, steps: number, loss: number): void {
    if (!this.tty) return;
    const width = 24;
    const done = Math.round((width * step) / steps);
    const text = `${stage.padEnd(this.width)} epoch ${epoch}/${epochs} [${'█'.repeat(done)}${'·'.repeat(width - done)}] step ${step}/${steps}  loss ${loss.toFixed(4)}`;
    process.stdout.write(`\r${text.slice(0, (process.stdout.columns ?? 100) - 1)}\x1b[K`);
    this.barShown = true;
  }

  clearBar(): void {
    if (this.barShown) process.stdout.write('\r\x1b[K');
    this.barShown = false;
  }
}

/** A run's manifest as written (readers report a dead `running` run as failed). */
function recordedManifest(runDir: string): { status?: string; mode?: string } | undefined {
  try {
    return JSON.parse(fs.readFileSync(path.join(runDir, MANIFEST), 'utf8'));
  } catch {
    return undefined;
  }
}

async function run(args: Args): Promise<number> {
  const file = args.positional[0];
  if (!file) throw new UsageError('run needs a config file');
  if (!validate([file])) return 1; // nothing trains on an invalid config
  const backend = (args.flags.get('backend') ?? 'auto') as BackendPreference;
  if (!BACKEND_PREFERENCES.includes(backend)) throw new UsageError(`unknown backend ${backend} (one of ${BACKEND_PREFERENCES.join(', ')})`);

  const progress = new Progress();
  const runsDir = runsDirOf(args);
  let runDir = '';
  // A seed group: each run's place in it, and its run folders in order.
  let group: RunGroup | undefined;
  const groupDirs: string[] = [];
  let plan: { models?: RunModel[]; mode?: string } = {};
  const onMessage = (m: TrainerToHost) => {
    switch (m.type) {
      case 'ready':
        progress.line(`backend: ${m.details}`);
        break;
      case 'runCreated':
        runDir = m.runDir;
        group = m.group;
        if (group) {
          groupDirs.push(m.runDir);
          progress.line(`━━ seed ${group.seeds[group.index]} (${group.index + 1} of ${group.seeds.length})`);
        }
        progress.line(`run ${m.runId} → ${path.relative(process.cwd(), m.runDir) || m.runDir}`);
        break;
      case 'plan':
        // The trainer records the mode in the manifest before it sends the plan.
        plan = { models: m.models, mode: recordedManifest(runDir)?.mode };
        progress.width = Math.max(8, ...m.models.map((x) => x.id.length), ...trainingStages(m.models).map((s) => s.stage.length));
        break;
      case 'done':
        if (group && m.status === 'done') progress.line(seedLine(group.seeds[group.index], m.results));
        break;
      case 'stage': {
        // A joint stage names the models it trains together: "── peers: 2 epochs × 10 steps (peer1, peer2, peer3)".
        const together = trainingStages(plan.models ?? []).find((s) => s.stage === m.stage)?.models ?? [];
        const names = together.length > 1 ? ` (${together.join(', ')})` : '';
        progress.line(`── ${m.stage}: ${m.epochs} epochs × ${m.stepsPerEpoch} steps${names}`);
        break;
      }
      case 'progress':
        progress.bar(m.stage, m.epoch, m.epochs, m.step, m.steps, m.loss);
        break;
      case 'metrics':
        if (m.record.kind === 'epoch') {
          const r = m.record;
          const terms = Object.entries(r.losses)
            .map(([k, v]) => `${k} ${v.toFixed(4)}`)
            .join('  ');
          progress.line(
            `${r.stage.padEnd(progress.width)} epoch ${String(r.epoch).padStart(3)}  loss ${r.total.toFixed(4)} (${terms})  train ${(100 * r.trainAccuracy).toFixed(2)}%  ` +
              `${epochHeldOutText(r)}  ${r.seconds.toFixed(1)} s  ${Math.round(r.examplesPerSecond)} ex/s`,
          );
        }
        break;
      case 'log':
        // Errors end the run: `done` carries the same message, printed once below.
        if (m.level === 'warn') progress.line(`${m.level}: ${m.message}`);
        break;
      default:
        break;
    }
  };
  const trainer = startTrainer(
    { type: 'start', configPath: path.resolve(file), runsDir, backend },
    { trainerScript: path.join(__dirname, 'trainer.js'), onMessage, onStderr: (t) => process.stderr.write(t) },
  );
  // First Ctrl-C (or SIGTERM, or SIGHUP when the terminal goes): cancel cleanly, the run is kept,
  // marked cancelled. A second one kills the trainer now.
  let interrupts = 0;
  let exitSignal = 'SIGINT' as NodeJS.Signals;
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.on(signal, () => {
      interrupts++;
      if (interrupts === 1) exitSignal = signal;
      progress.line(interrupts === 1 ? `cancelling… (${signal === 'SIGINT' ? 'Ctrl-C' : signal} again to kill)` : 'killing the trainer');
      if (interrupts === 1) trainer.cancel();
      else trainer.process.kill('SIGKILL');
    });
  }
  const done = await trainer.done;
  progress.clearBar();
  if (group) {
    // The group's table from what its run folders recorded (the same numbers `distill list` shows).
    const manifests = groupDirs.map((d) => readManifest(d)).filter((m): m is Manifest => m !== undefined);
    const g = summarizeSeedGroup(manifests);
    if (g.finished) console.log(`\n${groupTable(g)}`);
    console.log(`\nrun folders:\n${groupDirs.map((d) => `  ${d}`).join('\n')}`);
    if (done.status === 'done') return 0;
  } else if (done.status === 'done') {
    console.log(`\n${resultTable(done.results, plan)}`);
    console.log(`\nrun folder: ${runDir}`);
    return 0;
  }
  if (done.status === 'cancelled') {
    console.log(group ? `cancelled; later seeds were not run` : `cancelled; what was recorded is in ${runDir}`);
    return 128 + (exitSignal === 'SIGTERM' ? 15 : exitSignal === 'SIGHUP' ? 1 : 2);
  }
  console.error(`error: ${done.error ?? 'the run failed'}`);
  if (runDir) {
    // Say what the folder records, not what was hoped for: on a full disk it may not have been marked.
    console.error(recordedManifest(runDir)?.status === 'failed' ? `run folder (marked failed): ${runDir}` : `run folder (its status could not be recorded): ${runDir}`);
  }
  return 1;
}

function list(args: Args): number {
  const { runs, damaged } = scanRuns(runsDirOf(args));
  if (!runs.length && !damaged.length) {
    console.log(`no runs in ${runsDirOf(args)}`);
    return 0;
  }
  const line = (m: Manifest, indent = '') => {
    const stage = m.status === 'running' && m.stage ? ` (${m.stage})` : '';
    const seed = indent ? `seed ${m.seed}: ` : '';
    console.log(`${(indent + m.id).padEnd(40)} ${(m.status + stage).padEnd(20)} ${seed}${summarizeResults(m) || m.error || ''}`);
  };
  // A seed group is one line (its first run's id, mean ± std); --seeds lists its runs under it.
  for (const e of groupEntries(runs, (r) => r.manifest)) {
    if (e.kind === 'run') {
      line(e.entry.manifest);
      continue;
    }
    const g = summarizeSeedGroup(e.entries.map((r) => r.manifest));
    console.log(`${g.runs[0].id.padEnd(40)} ${`${g.status}, ${g.seeds.length} seeds`.padEnd(20)} ${summarizeGroupLine(g)}`);
    if (args.flags.has('seeds')) for (const m of g.runs) line(m, '  ');
  }
  // After the good ones: one damaged manifest must not hide the rest, nor be hidden itself.
  for (const { dir, reason } of damaged) console.log(`${path.basename(dir).padEnd(40)} ${'damaged'.padEnd(20)} ${reason}`);
  return 0;
}

function exportModel(args: Args): number {
  const [which, dest] = args.positional;
  if (!which || !dest) throw new UsageError('export needs a run id (or latest) and a destination folder');
  const model = args.flags.get('model') ?? 'student';
  // A model id names a folder: nothing else (no "..", no slashes) may reach the path.
  if (!/^[a-z0-9-]+$/.test(model)) throw new UsageError(`--model takes a model id (student, baseline, teacher, peer1, gen2, …), not ${JSON.stringify(model)}`);
  const runs = listRuns(runsDirOf(args));
  const entry = which === 'latest' ? runs.find((r) => r.manifest.status === 'done') : runs.find((r) => r.manifest.id === which);
  if (!entry) throw new UsageError(`no run ${which} in ${runsDirOf(args)}`);
  const src = path.join(entry.dir, MODELS, model);
  if (!fs.existsSync(path.join(src, 'model.json'))) {
    const saved = runModels(entry.manifest)
      .map((m) => m.id)
      .filter((id) => fs.existsSync(path.join(entry.dir, MODELS, id, 'model.json')));
    throw new UsageError(`run ${entry.manifest.id} has no saved ${model} model${saved.length ? ` (saved: ${saved.join(', ')})` : ''}`);
  }
  fs.cpSync(src, path.resolve(dest), { recursive: true });
  console.log(`${model} model of ${entry.manifest.id} → ${dest}`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const args = parseArgs(rest);
  switch (command) {
    case 'run':
      return run(args);
    case 'validate':
      return validate(args.positional) ? 0 : 1;
    case 'list':
      return list(args);
    case 'export':
      return exportModel(args);
    case undefined:
    case 'help':
    case '--help':
      console.log(USAGE);
      return command ? 0 : 2;
    default:
      throw new UsageError(`unknown command ${command}`);
  }
}

/**
 * Exits once stdout and stderr have been written out: process.exit drops what a pipe has not taken
 * yet (`distill validate … | less` lost everything past ~64 KB).
 */
async function exitWhenFlushed(code: number): Promise<never> {
  const flushed = (stream: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => {
      if (stream.destroyed || !stream.writable) return resolve();
      stream.write('', () => resolve());
    });
  await Promise.all([flushed(process.stdout), flushed(process.stderr)]);
  process.exit(code);
}

// A reader that went away (`| head`) or a terminal that closed (SIGHUP) is no reason to crash.
for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

main(process.argv.slice(2)).then(
  (code) => exitWhenFlushed(code),
  (e) => {
    console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof UsageError) console.error(USAGE);
    return exitWhenFlushed(e instanceof UsageError ? 2 : 1);
  },
);
