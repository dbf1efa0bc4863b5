// The trainer child process (dist/trainer.js). Forked by the extension host or the CLI; speaks
// the typed protocol of src/core/protocol.ts over IPC: waits for `start`, answers `ready` with the
// backend it chose, streams stage/progress/metrics/probe messages and ends with `done`. `cancel`
// stops it at the next step with what it has saved; it exits on its own if its parent dies.
import type { HostToTrainer, TrainerToHost } from '../core/protocol';
import { isHostMessage } from '../core/protocol';
import { isAlive } from '../core/runStore';
import { backendDetails, initBackend } from './backend';
import { ConfigError, runExperiment } from './experiment';

if (!process.send) {
  console.error('dist/trainer.js is started by the Distill Lab extension or the `distill` CLI, not directly.');
  process.exit(2);
}

let cancelled = false;
let started = false;

function send(message: TrainerToHost): Promise<void> {
  return new Promise((resolve) => {
    if (!process.connected) return resolve();
    process.send!(message, undefined, {}, () => resolve());
  });
}

/** Exit once the last message has been handed to the IPC channel. */
async function finish(code: number, last?: TrainerToHost): Promise<never> {
  if (last) await send(last);
  process.exit(code);
}

async function start(req: Extract<HostToTrainer, { type: 'start' }>): Promise<void> {
  try {
    const backend = await initBackend(req.backend);
    await send({ type: 'ready', backend, details: backendDetails() });
    await runExperiment(req, backend, { emit: (m) => void send(m), isCancelled: () => cancelled });
    await finish(0);
  } catch (e) {
    // Reached only when no run folder exists yet (invalid config, no backend): runExperiment
    // records every later failure in the run itself and sends `done`.
    const message = e instanceof Error ? (e instanceof ConfigError ? e.message : e.stack ?? e.message) : String(e);
    await finish(1, { type: 'done', runId: '', status: 'failed', results: {}, error: message });
  }
}

process.on('message', (m: unknown) => {
  if (!isHostMessage(m)) return;
  if (m.type === 'cancel') {
    cancelled = true;
    if (!started) void finish(0);
  } else if (!started) {
    started = true;
    void start(m);
  }
});

// Parent gone (host crashed or was killed): nobody will read our messages, so stop. A run in
// progress stays marked `running` with our pid, which readers report as failed once we are gone.
process.on('disconnect', () => process.exit(3));
const parent = process.ppid;
setInterval(() => {
  if (!isAlive(parent)) process.exit(3);
}, 1000).unref();
