// The threaded SIMD build of tfjs-backend-wasm, started in Node (docs/architecture.md §5): where the
// native addon is missing, XNNPACK computes the products on every core instead of one.
//
// Three things keep it from starting as shipped, each undone only while the module starts:
//   - tfjs's WASM_HAS_MULTITHREAD_SUPPORT flag is false in Node (tfjs issue #3830);
//   - the glue hands its workers the worker script and the module's own script as blob: URLs,
//     which Node's worker_threads cannot load: the worker script is written to a file instead,
//     and inside the worker URL.createObjectURL answers with the path of the module's script
//     (`wasm-out/tfjs-backend-wasm-threaded-simd.js`, shipped in the package and copied to dist/);
//   - tfjs sizes its pool at half the logical cores (it assumes two hyperthreads a core), so on a
//     2-core machine it keeps one thread: os.cpus() reports twice the cores while it starts.
// The products are the same per element whatever the threads (XNNPACK splits the output, not the
// sums), so a run's numbers do not depend on the thread count (test/trainer/wasmThreads.test.ts).
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vm from 'node:vm';
import * as tf from '@tensorflow/tfjs';
import { setThreadsCount } from '@tensorflow/tfjs-backend-wasm';

export const THREADED_GLUE = 'tfjs-backend-wasm-threaded-simd.js';
export const THREADED_WORKER = 'tfjs-backend-wasm-threaded-simd.worker.js';

const dynamicRequire: NodeRequire = typeof require === 'function' ? require : createRequire(__filename);

/** A glue file: next to the running bundle (dist/, copied by esbuild.mjs), else in the package. */
function glueFile(name: string): string | undefined {
  const beside = path.join(__dirname, name);
  if (fs.existsSync(beside)) return beside;
  try {
    return dynamicRequire.resolve(`@tensorflow/tfjs-backend-wasm/wasm-out/${name}`);
  } catch {
    return undefined;
  }
}

/**
 * Lets the process end while the pool's workers wait for work, as it does without them: the glue
 * keeps them referenced, so a program that does not call process.exit would never finish.
 */
export function unrefWasmWorkers(): void {
  const wasm = (tf.backend() as unknown as { wasm?: { PThread?: { unusedWorkers: { unref(): void }[]; runningWorkers: { unref(): void }[] } } }).wasm;
  for (const w of [...(wasm?.PThread?.unusedWorkers ?? []), ...(wasm?.PThread?.runningWorkers ?? [])]) w.unref();
}

/**
 * Prepares the next tf.setBackend('wasm') to start the threaded build with `threads` threads;
 * returns the function that puts everything back once it has started (or failed), or undefined
 * when the glue files are missing or do not parse (the plain build then starts as usual).
 */
export function prepareThreadedWasm(threads: number): (() => void) | undefined {
  const glue = glueFile(THREADED_GLUE);
  const workerModule = glueFile(THREADED_WORKER);
  if (!glue || !workerModule) return undefined;
  // A glue file that does not parse (truncated, corrupted) would end the process from inside a
  // worker, past any fallback: it is compiled here first, and the plain build starts instead.
  try {
    new vm.Script(fs.readFileSync(glue, 'utf8'), { filename: glue });
  } catch (e) {
    console.error(`the threaded wasm build is unusable (${glue}: ${(e as Error).message}); training on one thread`);
    return undefined;
  }
  const { wasmWorkerContents } = dynamicRequire(workerModule) as { wasmWorkerContents: string };
  const workerFile = path.join(os.tmpdir(), `distill-wasm-worker-${process.pid}.js`);
  // The script is a string of JS source: its "\n" escapes must stay escapes (tfjs does the same before making its Blob).
  fs.writeFileSync(workerFile, `URL.createObjectURL = () => ${JSON.stringify(glue)};\nURL.revokeObjectURL = () => {};\n${wasmWorkerContents.replace(/\n/g, '\\n')}`);
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = ((blob: Blob) => (blob.type === 'application/javascript' ? workerFile : createObjectURL(blob))) as typeof URL.createObjectURL;
  // The module object the glue calls os.cpus() on (an ES namespace import is a read-only view of it).
  const osModule = dynamicRequire('os') as typeof os;
  const cpus = osModule.cpus;
  const cpu = cpus()[0];
  osModule.cpus = () => Array.from({ length: 2 * threads }, () => cpu);
  tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', true);
  setThreadsCount(threads);
  // Workers the pool adds later read the file too: it goes when the process does.
  process.once('exit', () => fs.rmSync(workerFile, { force: true }));
  return () => {
    URL.createObjectURL = createObjectURL;
    osModule.cpus = cpus;
  };
}
