// The faults tier's shared set-up: a workspace with the small `bars` CSV data set, configs that
// train in about a second, the `distill` CLI run as a user runs it, and the checks every fault
// test makes of what a run leaves behind.
import { after } from 'node:test';
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

export const cli = path.resolve('dist/cli.js');
export const writeFaults = path.resolve('test/faults/writeFaults.cjs');
const fixtures = path.resolve('test/fixtures/data');

export interface ConfigOptions {
  epochs?: number;
  lr?: number;
  batchSize?: number;
  probeSamples?: number;
  trainFile?: string;
}

/** A fresh workspace with the bars CSV files and `tiny.distill.json` (plus any `configs`). */
export function workspace(configs: Record<string, ConfigOptions> = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-faults-'));
  for (const f of ['bars-train.csv', 'bars-test.csv']) fs.copyFileSync(path.join(fixtures, f), path.join(dir, f));
  for (const [name, opts] of Object.entries({ tiny: {}, ...configs })) writeConfig(dir, name, opts);
  return dir;
}

export function writeConfig(dir: string, name: string, o: ConfigOptions = {}): string {
  const training = { epochs: o.epochs ?? 1, batchSize: o.batchSize ?? 60, optimizer: { type: 'sgd', lr: o.lr ?? 0.05 } };
  const config = {
    name,
    seed: 1,
    data: { dataset: 'csv', trainFile: o.trainFile ?? 'bars-train.csv', testFile: 'bars-test.csv' },
    teacher: { model: { type: 'mlp', hidden: [16] }, training },
    student: { model: { type: 'mlp', hidden: [8] } },
    distillation: { temperature: 4, losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] },
    training,
    probes: { samples: o.probeSamples ?? 2, ckaSamples: 30 },
  };
  const file = path.join(dir, `${name}.distill.json`);
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  return file;
}

export interface CliRun {
  child: ChildProcess;
  stdout: string;
  stderr: string;
  /** Resolves with the exit code (or 128 + signal number) once the CLI has exited and its output is read. */
  exited: Promise<number>;
  /** Resolves once stdout has printed a line matching `re`. */
  waitFor(re: RegExp): Promise<string>;
}

/** CLIs still running: a failed test must not leave a 3000-epoch run keeping its file's process alive. */
const live = new Set<ChildProcess>();
after(() => {
  for (const child of live) child.kill('SIGKILL'); // its trainer exits when the IPC channel closes
});

/** Starts `distill <args>` in `cwd` (a new process group when `group`, so a test can signal all of it). */
export function startCli(args: string[], cwd: string, opts: { env?: NodeJS.ProcessEnv; group?: boolean } = {}): CliRun {
  const child = spawn(process.execPath, [cli, ...args], {
    cwd,
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: opts.group ?? false,
  });
  live.add(child);
  child.on('exit', () => live.delete(child));
  const run: CliRun = {
    child,
    stdout: '',
    stderr: '',
    exited: new Promise((resolve) =>
      child.on('close', (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0))),
    ),
    waitFor: (re) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const m = run.stdout.match(re);
          if (m) {
            child.stdout!.off('data', check);
            resolve(m[0]);
          }
        };
        child.stdout!.on('data', check);
        child.on('close', () => reject(new Error(`exited before printing ${re}:\n${run.stdout}\n${run.stderr}`)));
        check();
      }),
  };
  child.stdout!.on('data', (d: Buffer) => (run.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (run.stderr += d.toString()));
  return run;
}

/** Runs `distill <args>` to its end. */
export async function distill(args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  const run = startCli(args, cwd, { env });
  const code = await run.exited;
  return { code, stdout: run.stdout, stderr: run.stderr };
}

/** Environment that makes writes under `dir` fail with ENOSPC after `afterBytes` bytes. */
export function diskFullEnv(dir: string, o: { afterBytes?: number; process?: 'trainer' | 'cli' | 'both'; strict?: boolean } = {}): NodeJS.ProcessEnv {
  return {
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${writeFaults}`.trim(),
    DISTILL_FAULT_DIR: dir,
    DISTILL_FAULT_AFTER: String(o.afterBytes ?? 0),
    DISTILL_FAULT_PROCESS: o.process ?? 'both',
    DISTILL_FAULT_STRICT: o.strict ? '1' : '0',
  };
}

/** Lines the trainer's tfjs prints on stderr whatever happens (its "install tfjs-node" banner). */
function withoutBanner(text: string): string {
  return text
    .split('\n')
    .filter((l) => !/^=+$|looks like you are running TensorFlow\.js in Node\.js/.test(l) && l.trim())
    .join('\n');
}

/** The CLI's error output: exactly one `error:` line, plain, no stack trace (plus the run-folder line). */
export function assertCleanError(r: { stdout: string; stderr: string }, message: RegExp): string {
  const all = `${r.stdout}\n${r.stderr}`;
  assert.doesNotMatch(all, /^\s+at .+[(:]\d+/m, `no stack trace:\n${all}`);
  const errors = withoutBanner(r.stderr).split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, `one error line:\n${r.stderr}`);
  assert.match(errors[0], message);
  return errors[0];
}

export function runFolders(runsDir: string): string[] {
  try {
    return fs.readdirSync(runsDir).map((n) => path.join(runsDir, n));
  } catch {
    return [];
  }
}

function walk(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

/**
 * What every fault must leave: no temp files, every JSON file parseable, every metrics line a
 * whole record. Returns the run's manifest.
 */
export function assertRunFolderSound(runDir: string): Record<string, unknown> {
  const files = walk(runDir);
  assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), [], 'no temp files left');
  for (const f of files.filter((f) => f.endsWith('.json'))) assert.doesNotThrow(() => JSON.parse(fs.readFileSync(f, 'utf8')), `${f} parses`);
  const metrics = path.join(runDir, 'metrics.jsonl');
  if (fs.existsSync(metrics)) {
    const text = fs.readFileSync(metrics, 'utf8');
    assert.ok(text === '' || text.endsWith('\n'), 'metrics.jsonl ends with a whole line');
    for (const line of text.split('\n').filter(Boolean)) assert.doesNotThrow(() => JSON.parse(line), `metrics line parses: ${line.slice(0, 80)}`);
  }
  return JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8'));
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
