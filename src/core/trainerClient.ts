// Starts the trainer child process and talks to it over IPC. Used by the CLI and the extension
// host alike, so both drive exactly the same process. Cancel asks politely, then kills.
import { type ChildProcess, fork } from 'node:child_process';
import type { StartRequest, TrainerToHost } from './protocol';
import { isTrainerMessage } from './protocol';
import { markRunEnded } from './runStore';

export interface TrainerHandle {
  readonly process: ChildProcess;
  /**
   * Resolves with the trainer's `done` message, or a synthesized one if it died without sending it.
   * A seed group: its last run's `done` with the group's status and error (from `groupDone`), so
   * it says whether the whole group finished; a group cut short by the trainer's death is failed.
   */
  readonly done: Promise<Extract<TrainerToHost, { type: 'done' }>>;
  /** Asks the trainer to stop; kills it if it has not exited after `graceMs`. */
  cancel(graceMs?: number): void;
}

export interface TrainerOptions {
  trainerScript: string;
  onMessage(message: TrainerToHost): void;
  /** Receives the trainer's stderr (crash traces, tfjs warnings). */
  onStderr?(text: string): void;
  env?: NodeJS.ProcessEnv;
}

export function startTrainer(request: StartRequest, opts: TrainerOptions): TrainerHandle {
  const child = fork(opts.trainerScript, [], {
    // Inside VS Code, process.execPath is Electron: this makes it behave as plain Node.
    env: { ...process.env, ...opts.env, ELECTRON_RUN_AS_NODE: '1' },
    execArgv: [],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  child.stdout?.on('data', (d: Buffer) => opts.onStderr?.(d.toString()));
  child.stderr?.on('data', (d: Buffer) => opts.onStderr?.(d.toString()));

  let doneMessage: Extract<TrainerToHost, { type: 'done' }> | undefined;
  let inGroup = false;
  let groupDone: Extract<TrainerToHost, { type: 'groupDone' }> | undefined;
  let runId = '';
  let runDir: string | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let cancelRequested = false;
  const done = new Promise<Extract<TrainerToHost, { type: 'done' }>>((resolve) => {
    child.on('message', (m: unknown) => {
      if (!isTrainerMessage(m)) return;
      if (m.type === 'runCreated') {
        ({ runId, runDir } = m);
        // A group's next run: until it sends its own `done`, the trainer has not finished.
        doneMessage = undefined;
        inGroup ||= m.group !== undefined;
      }
      if (m.type === 'done') doneMessage = m;
      if (m.type === 'groupDone') groupDone = m;
      opts.onMessage(m);
    });
    child.on('error', (e) => opts.onStderr?.(`trainer process error: ${e.message}\n`));
    child.on('exit', () => killTimer && clearTimeout(killTimer));
    // 'close', not 'exit': it comes after the IPC channel has been read to its end, so a `done`
    // the trainer wrote just before exiting is never taken for a silent death.
    child.on('close', (code, signal) => {
      if (groupDone) return resolve({ type: 'done', runId, results: {}, ...doneMessage, status: groupDone.status, error: groupDone.error });
      if (doneMessage && !inGroup) return resolve(doneMessage);
      const status = cancelRequested || signal === 'SIGINT' ? 'cancelled' : 'failed';
      let error = status === 'cancelled' ? undefined : `the trainer exited unexpectedly (${signal ?? `code ${code}`})`;
      if (runDir) {
        // Never throws: a full disk here must not crash the CLI or leave a host job running.
        const marked = markRunEnded(runDir, status, error);
        if (!marked.ok) error = `${error ?? 'cancelled'}; ${marked.reason}`;
      }
      resolve({ type: 'done', runId, status, results: {}, error });
    });
  });
  child.send(request);

  return {
    process: child,
    done,
    cancel(graceMs = 2000) {
      if (cancelRequested || child.exitCode !== null) return;
      cancelRequested = true;
      if (child.connected) child.send({ type: 'cancel' });
      killTimer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    },
  };
}
