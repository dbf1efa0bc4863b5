// The SIMD module's products (step.wat's gemm) on several threads: this one and workers that run
// the same module on the same shared memory (tfjs-backend-wasm's threaded build), each computing
// its own panels of 8 output columns. A column's numbers do not depend on which thread computes
// it, so a run gives the same metrics on any number of threads.
//
// Why workers of our own: the products run synchronously inside a tfjs kernel, and XNNPACK's
// thread pool is not reachable from outside the wasm module. Each worker waits on an Atomics
// futex between products; the caller computes its own share, spins briefly for the others', then
// waits the same way.

import { Worker } from 'node:worker_threads';

/** gemm(a, b, c, m, n, k, transA, transB, acc, p0, p1, scratch) as step.wat exports it. */
export type GemmExport = (...args: number[]) => void;

// A worker's control block, Int32 slots: the request's sequence number, its 12 arguments, the
// sequence number of the last request done, a failure flag and "the worker is ready".
const REQUEST = 0;
const ARGS = 1;
const DONE = 13;
const FAILED = 14;
const READY = 15;
/** How long the caller waits for a worker's share before giving up on it (a dead worker). */
const TIMEOUT_MS = 60_000;
/** Polls of DONE before the caller sleeps on it: the shares usually end within microseconds of each other. */
const SPINS = 20_000;

const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const { memory, bytes, control } = workerData;
const ctl = new Int32Array(control);
const { gemm } = new WebAssembly.Instance(new WebAssembly.Module(bytes), { env: { memory } }).exports;
Atomics.store(ctl, ${READY}, 1);
let seen = 0;
for (;;) {
  for (let spin = 0; spin < ${SPINS} && Atomics.load(ctl, ${REQUEST}) === seen; spin++);
  Atomics.wait(ctl, ${REQUEST}, seen);
  seen = Atomics.load(ctl, ${REQUEST});
  try {
    gemm(...ctl.subarray(${ARGS}, ${ARGS + 12}));
  } catch {
    Atomics.store(ctl, ${FAILED}, 1);
  }
  Atomics.store(ctl, ${DONE}, seen);
  Atomics.notify(ctl, ${DONE});
}`;

/**
 * Runs gemm's panels [0, panels) of one product (args: gemm's first nine), shared between this
 * thread and the workers that have started (until then, more of it here). `scratch`: one block
 * per thread, this thread's first.
 */
export interface ThreadedGemm {
  threads: number;
  /** How many workers have started (they start in the background; until then the caller computes their shares). */
  ready(): number;
  run(args: number[], panels: number, scratch: number[]): void;
}

/** `gemm` on `memory` over `threads` threads in all, or undefined where no worker can start. */
export function threadedGemm(gemm: GemmExport, memory: WebAssembly.Memory, bytes: Uint8Array, threads: number): ThreadedGemm | undefined {
  const controls: Int32Array[] = [];
  try {
    for (let i = 1; i < threads; i++) {
      const control = new SharedArrayBuffer(16 * 4);
      const ctl = new Int32Array(control);
      const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { memory, bytes, control } });
      worker.unref(); // it never keeps the trainer alive
      worker.on('error', () => Atomics.store(ctl, READY, 0));
      controls.push(ctl);
    }
  } catch {
    return undefined;
  }
  if (!controls.length) return undefined;
  const readyWorkers = () => controls.filter((ctl) => Atomics.load(ctl, READY) === 1);
  return {
    threads,
    ready: () => readyWorkers().length,
    run(args, panels, scratch) {
      const ready = readyWorkers();
      const shares = Math.min(ready.length + 1, panels);
      const start = (t: number) => Math.floor((t * panels) / shares);
      const asked: [Int32Array, number][] = [];
      for (let t = 1; t < shares; t++) {
        const ctl = ready[t - 1];
        ctl.set([...args, start(t), start(t + 1), scratch[t]], ARGS);
        asked.push([ctl, Atomics.add(ctl, REQUEST, 1) + 1]);
        Atomics.notify(ctl, REQUEST);
      }
      gemm(...args, 0, start(1), scratch[0]);
      for (const [ctl, seq] of asked) {
        for (let spin = 0; Atomics.load(ctl, DONE) !== seq; spin++) {
          if (spin > SPINS && Atomics.wait(ctl, DONE, seq - 1, TIMEOUT_MS) === 'timed-out') {
            Atomics.store(ctl, READY, 0);
            throw new Error('gemm: a worker thread did not finish its share of a product');
          }
        }
        if (Atomics.exchange(ctl, FAILED, 0)) throw new Error('gemm: a worker thread failed on its share of a product');
      }
    },
  };
}
