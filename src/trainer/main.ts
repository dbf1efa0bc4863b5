// The trainer child process (dist/trainer.js). Forked by the extension host or the CLI; speaks
// the typed protocol of src/core/protocol.ts over IPC: waits for `start`, answers `ready` with the
// backend it chose, streams stage/progress/metrics/probe messages and ends with `done` (a seed group:
// one `done` per run, then `groupDone`; src/trainer/seedGroup.ts). `cancel`
// (or SIGINT/SIGTERM/SIGHUP) stops it at the next step with what it has saved; it exits on its
// own if its parent dies.
import type { HostToTrainer, TrainerToHost } from '../core/protocol';
import { isHostMessage } from '../core/protocol';
import { backendDetails, initBackend } from './backend';
import { runConfig } from './seedGroup';

if (!process.send) {
  console.error('dist/trainer.js is started by the Distill Lab extension or the `distill` CLI, not directly.');
  process.exit(2);
}

let cancelled = false;
let started = false;
/** Messages handed to process.send whose write has not completed yet (a slow or stopped parent). */
const unsent = new Set<Promise<void>>();

function send(message: TrainerToHost): Promise<void> {
  const sent = new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    // The callback runs once the message is written to the channel (or the write failed).
    process.send!(message, undefined, {}, () => resolve());
  });
  unsent.add(sent);
  void sent.then(() => unsent.delete(sent));
  return sent;
}

/**
 * Exit once every message sent so far has been written to the IPC channel: process.exit drops
 * queued writes, so a parent that reads slowly (a stopped CLI, a busy extension host) would
 * otherwise never see `done`.
 */
async function finish(code: number, last?: TrainerToHost): Promise<never> {
  if (last) void send(last);
  while (unsent.size) await Promise.all([...unsent]);
  process.exit(code);
}

async function start(req: Extract<HostToTrainer, { type: 'start' }>): Promise<void> {
  try {
    const backend = await initBackend(req.backend);
    await send({ type: 'ready', backend, details: backendDetails() });
    await runConfig(req, backend, { emit: (m) => void send(m), isCancelled: () => cancelled });
    await finish(0);
  } catch (e) {
    // Reached only when no run folder exists yet (invalid config, no backend) or when not even
    // the run's final status could be written: runExperiment records every other failure in the
    // run itself and sends `done` (a seed group: then `groupDone`). The message alone: a stack trace is no message for a user.
    const message = e instanceof Error ? e.message : String(e);
    await finish(1, { type: 'done', runId: '', status: 'failed', results: {}, error: message });
  }
}

function cancel(): void {
  cancelled = true;
  if (!started) void finish(0);
}

process.on('message', (m: unknown) => {
  if (!isHostMessage(m)) return;
  if (m.type === 'cancel') cancel();
  else if (!started) {
    started = true;
    void start(m);
  }
});

// Ctrl-C in a terminal signals the whole process group, the trainer with the CLI: stop at the next
// step like a `cancel` (the parent asks for that too) instead of dying in the middle of a write.
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, cancel);

// Parent gone (host crashed or was killed): nobody will read our messages, so stop. A run in
// progress stays marked `running` with our pid and start time, which readers report as failed
// once we are gone. The parent's pid may be reused, so what tells is being re-parented.
process.on('disconnect', () => process.exit(3));
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(3);
}, 1000).unref();
