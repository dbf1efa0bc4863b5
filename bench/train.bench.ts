// Training speed of the real training loop, per backend, against the machine's sgemm roofline.
//   npm run bench:train                      (builds first; writes docs/bench-train.md)
//   npm run bench:train -- --backend webgpu  (the GPU; writes docs/bench-train-webgpu.md)
//   node --import tsx bench/train.bench.ts [--epochs N] [--no-full | --full-on blas,wasm] [--variants blas,wasm,...] [--out FILE]
//
// What it runs: trainStage() — the loop the trainer runs, with its batching, jitter, dropout,
// max-norm, teacher taps, logging and per-epoch validation (none for this example) — on examples/hinton-mnist.distill.json
// (8,000 MNIST training examples, batch 128), for the teacher, the baseline and the distilled
// student, `--epochs` epochs each (default 3; the minimum epoch time is reported, so the first
// epoch's warm-up does not count). Then, unless --no-full, the whole Hinton experiment
// (runExperiment, 30 + 30 + 30 epochs, as `npm run demo` runs it) on the fastest variant and on
// PyTorch (or on those --full-on names).
//
// PyTorch, side by side: the `pytorch` variant trains the same recipe in plain PyTorch
// (bench/pytorch_hinton.py) on the same split, in the same run, and by default its whole
// experiment too; its % is against its own roofline (torch.mm at the same shapes). It needs a
// python3 with torch (Debian: apt-get install python3-torch; PYTHON names another interpreter)
// and is shown as unavailable otherwise.
//
// Each variant runs in its own child process, because the backend and OpenBLAS's core type are
// chosen once per process (OPENBLAS_CORETYPE is read when the library loads).
//
// Roofline: the same sgemm products a teacher step computes (forward x·W, weight gradients xᵀ·dy,
// input gradients dy·Wᵀ except for the first layer), timed back to back through the native addon
// with nothing else: the fastest a step could go on this machine's BLAS. A stage's "% roofline" is
// the FLOPs of its network's products divided by its measured step (or epoch) time, over that.
// The distilled student's % counts only its own network's products (not the frozen teacher's
// forward pass, which the teacher cache removes when it applies).
//
// On webgpu (only when asked: `--backend webgpu` or `--variants webgpu`; a software adapter such as
// Mesa's llvmpipe takes minutes) the roofline is the same products through tf.matMul on the GPU,
// back to back, timed to the last one's completion: what the backend's own matmuls reach.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { activateTerms } from '../src/trainer/losses';

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : dflt;
};
const EXAMPLE = path.join(root, 'examples', 'hinton-mnist.distill.json');

interface Variant {
  id: string;
  label: string;
  backend: 'wasm' | 'tensorflow' | 'cpu' | 'webgpu' | 'pytorch';
  env: Record<string, string | undefined>;
}

/**
 * The backends the trainer can pick, as separate processes (docs/architecture.md §5). The BLAS variants run
 * without any OPENBLAS_CORETYPE of the caller's environment: they measure what a user gets.
 */
const VARIANTS: Variant[] = [
  { id: 'tensorflow', label: 'tfjs-node (libtensorflow)', backend: 'tensorflow', env: {} },
  { id: 'blas', label: 'wasm + native BLAS (core type from the CPU flags)', backend: 'wasm', env: { OPENBLAS_CORETYPE: undefined } },
  { id: 'blas-detected', label: 'wasm + OpenBLAS, core type as OpenBLAS detects it', backend: 'wasm', env: { OPENBLAS_CORETYPE: undefined, DISTILL_CORETYPE: 'off' } },
  { id: 'wasm', label: 'wasm kernels only (no native BLAS)', backend: 'wasm', env: { DISTILL_NATIVE: '0' } },
  { id: 'webgpu', label: 'webgpu (Dawn: Vulkan, Metal or Direct3D 12)', backend: 'webgpu', env: {} },
  // The same recipe in plain PyTorch (bench/pytorch_hinton.py) on the same split, cores and run:
  // the issue's comparison made on this machine. Unavailable without python3 and torch.
  { id: 'pytorch', label: 'PyTorch (bench/pytorch_hinton.py), same data and cores', backend: 'pytorch', env: { OPENBLAS_CORETYPE: undefined } },
];
/** What runs without --variants or --backend: every CPU backend (the GPU only when asked). */
const DEFAULT_VARIANTS = VARIANTS.filter((v) => v.backend !== 'webgpu').map((v) => v.id);

// ---------------------------------------------------------------------------------------------
// Child: one variant.

interface StageTiming {
  stage: string;
  epochSeconds: number[];
  /** Median ms of a step inside the loop (time between consecutive onStep calls, warm-up epoch excluded). */
  stepMs: number;
  /** Median CPU ms (all threads of the process) of a step: robust to other jobs on the machine. */
  stepCpuMs: number;
  /** FLOPs of one step of this stage's own network (its products at batch 128). */
  stepFlops: number;
  steps: number;
}

interface ChildResult {
  variant: string;
  backendDetails: string;
  /** The products alone: through the native BLAS (cpuMs: its CPU time), or through tf.matMul on the GPU. */
  roofline?: { gflops: number; stepMs: number; flops: number; cpuMs?: number; on: 'blas' | 'gpu' | 'torch' };
  stages: StageTiming[];
  full?: { seconds: number; errors: Record<string, number | undefined>; backendDetails: string };
  error?: string;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)] : NaN;
}

/** The products of one training step of an MLP with these layer widths, as [m, n, k, transA, transB]. */
function stepProducts(widths: number[], batch: number): [number, number, number, boolean, boolean][] {
  const out: [number, number, number, boolean, boolean][] = [];
  for (let l = 0; l + 1 < widths.length; l++) {
    const [i, o] = [widths[l], widths[l + 1]];
    out.push([batch, o, i, false, false]); // forward: x[B×i]·W[i×o]
    out.push([i, o, batch, true, false]); // dW = xᵀ·dy
    if (l > 0) out.push([batch, i, o, false, true]); // dx = dy·Wᵀ (none for the input layer)
  }
  return out;
}

const productFlops = (ps: ReturnType<typeof stepProducts>) => ps.reduce((f, [m, n, k]) => f + 2 * m * n * k, 0);

async function child(variantId: string): Promise<ChildResult> {
  const variant = VARIANTS.find((v) => v.id === variantId)!;
  const epochs = Number(option('--epochs', '3'));
  const full = flag('--full');
  if (variant.backend === 'pytorch') return pytorchChild(variant, epochs, full);
  const tf = await import('@tensorflow/tfjs');
  const { initBackend, backendDetails } = await import('../src/trainer/backend');
  const { nativeBlas } = await import('../src/trainer/kernels/blas');
  const { buildModel } = await import('../src/trainer/models');
  const { trainStage } = await import('../src/trainer/train');
  const { runExperiment } = await import('../src/trainer/experiment');

  await initBackend(variant.backend);
  const result: ChildResult = { variant: variant.id, backendDetails: backendDetails(), stages: [] };

  if (full) {
    const runsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-bench-'));
    const t0 = performance.now();
    let done: { results?: Record<string, { testErrors: number } | undefined> } = {};
    await runExperiment({ configPath: EXAMPLE, runsDir } as never, variant.backend, {
      emit: (m) => {
        if (m.type === 'done') done = m as never;
      },
      isCancelled: () => false,
    });
    const seconds = (performance.now() - t0) / 1000;
    const r = done.results ?? {};
    result.full = { seconds, backendDetails: backendDetails(), errors: { teacher: r.teacher?.testErrors, baseline: r.baseline?.testErrors, student: r.student?.testErrors } };
    fs.rmSync(runsDir, { recursive: true, force: true });
    return result;
  }

  const { config, teacher: teacherConfig, data } = await loadExample();
  const batch = config.training.batchSize;
  const widthsOf = (hidden: number[]) => [784, ...hidden, data.numClasses];
  const teacherWidths = widthsOf((teacherConfig.model as { hidden: number[] }).hidden);
  const studentWidths = widthsOf((config.student.model as { hidden: number[] }).hidden);

  const blas = nativeBlas().blas;
  if (blas && variant.backend === 'wasm' && variant.env.DISTILL_NATIVE !== '0') {
    // The roofline: the teacher step's products, nothing else, fastest of 30 rounds.
    const ps = stepProducts(teacherWidths, batch);
    const buffers = ps.map(([m, n, k]) => ({ a: new Float32Array(m * k).fill(0.5), b: new Float32Array(k * n).fill(0.25), c: new Float32Array(m * n) }));
    let best = Infinity;
    let bestCpu = Infinity;
    for (let round = 0; round < 35; round++) {
      const c0 = process.cpuUsage();
      const t0 = performance.now();
      ps.forEach(([m, n, k, ta, tb], i) => {
        const { a, b, c } = buffers[i];
        blas.sgemm(ta, tb, m, n, k, 1, a, ta ? m : k, b, tb ? k : n, 0, c, n);
      });
      const t = performance.now() - t0;
      const c = process.cpuUsage(c0);
      if (round >= 5) {
        best = Math.min(best, t);
        bestCpu = Math.min(bestCpu, (c.user + c.system) / 1000);
      }
    }
    const flops = productFlops(ps);
    result.roofline = { gflops: flops / best / 1e6, stepMs: best, flops, cpuMs: bestCpu, on: 'blas' };
  }
  if (variant.backend === 'webgpu') result.roofline = await measureGpuRoofline(tf, stepProducts(teacherWidths, batch));

  let teacher: ReturnType<typeof buildModel> | undefined;
  const stages: { stage: 'teacher' | 'baseline' | 'student'; widths: number[] }[] = [
    { stage: 'teacher', widths: teacherWidths },
    { stage: 'baseline', widths: studentWidths },
    { stage: 'student', widths: studentWidths },
  ];
  for (const { stage, widths } of stages) {
    const net = stage === 'teacher' ? buildModel(teacherConfig.model, data.inputShape, data.numClasses, config.seed) : buildModel(config.student.model, data.inputShape, data.numClasses, config.seed + 1);
    const training = stage === 'teacher' ? teacherConfig.training : config.training;
    const terms = activateTerms(stage === 'student' ? config.distillation.losses : [{ type: 'ce', weight: 1 }], {
      studentLayers: net.taps,
      teacherLayers: teacher?.taps,
      numClasses: data.numClasses,
      trainCount: data.train.count,
      seed: config.seed + 2,
    });
    const epochSeconds: number[] = [];
    const stepTimes: number[] = [];
    const stepCpu: number[] = [];
    let last = 0;
    let lastCpu = process.cpuUsage();
    let steps = 0;
    await trainStage(
      { stage, learners: [{ id: stage, net, terms }], temperature: config.distillation.temperature, teacher: stage === 'student' ? teacher : undefined, training: { ...training, epochs }, seed: config.seed, data },
      {
        isCancelled: () => false,
        onStep: ([r], perEpoch) => {
          const now = performance.now();
          const cpu = process.cpuUsage();
          if (r.step > 1 && r.epoch > 1) {
            stepTimes.push(now - last);
            stepCpu.push((cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000);
          }
          last = now;
          lastCpu = cpu;
          steps = perEpoch;
        },
        onEpoch: (r) => void epochSeconds.push(r.seconds),
      },
    );
    result.stages.push({ stage, epochSeconds, stepMs: median(stepTimes), stepCpuMs: median(stepCpu), stepFlops: productFlops(stepProducts(widths, batch)), steps });
    if (stage === 'teacher') teacher = net;
    else net.dispose();
  }
  teacher?.dispose();
  void tf;
  return result;
}

/** The Hinton example's config (its teacher trained here) and its data as our loader splits it. */
/** The example and its data, imported once the child's environment is set (the loader brings tfjs). */
async function loadExample() {
  return (await import('./hintonExample')).loadHintonExample();
}

/**
 * The `pytorch` variant: our loader's split written to a file, bench/pytorch_hinton.py run on it
 * (its own roofline is torch.mm at the teacher step's shapes). OpenBLAS, if torch's BLAS is the
 * system's, gets the core type ours gets (from the CPU flags), so both sides use the same kernels.
 */
async function pytorchChild(variant: Variant, epochs: number, full: boolean): Promise<ChildResult> {
  const { chooseCoretype } = await import('../src/trainer/kernels/coretype');
  const { data } = await loadExample();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-bench-torch-'));
  const file = path.join(dir, 'hinton.bin');
  const bytes = (a: ArrayBufferView) => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
  fs.writeFileSync(file, Buffer.concat([bytes(data.train.x), bytes(data.test.x), bytes(Int32Array.from(data.train.y)), bytes(Int32Array.from(data.test.y))]));
  // The first Python that has torch (a pyenv shim's python3 may not; Debian's python3-torch is in /usr/bin's).
  const probe = 'import re, torch; m = re.search(r"BLAS_INFO=([^,\\s]+)", torch.__config__.show()); print(m.group(1) if m else "?")';
  let python = '';
  let torchBlas = '';
  for (const candidate of [process.env.PYTHON, 'python3', '/usr/bin/python3']) {
    const r = candidate ? spawnSync(candidate, ['-c', probe], { encoding: 'utf8' }) : undefined;
    if (r?.status !== 0) continue;
    [python, torchBlas] = [candidate!, r.stdout.trim()];
    break;
  }
  if (!python) throw new Error('no python3 with torch (Debian: apt-get install python3-torch; or set PYTHON)');
  // OpenMP's threads spin between parallel regions by default, and on two cores they then fight
  // OpenBLAS's own threads: Debian's torch 1.13 on OpenBLAS was 1.2–2× slower per epoch than with
  // passive waiting. On MKL (the PyPI wheels) spinning is the faster: torch 2.13's teacher epoch
  // 1.13–1.18 s against 1.41–1.53 s passive, three pairs. So each gets its faster policy.
  const env = { ...(torchBlas.includes('open') ? { OMP_WAIT_POLICY: 'PASSIVE' } : {}), ...process.env };
  const coretype = chooseCoretype(env, () => fs.readFileSync('/proc/cpuinfo', 'utf8'));
  const script = path.join(root, 'bench', 'pytorch_hinton.py');
  const r = spawnSync(python, [script, '--data', file, '--train', String(data.train.count), '--test', String(data.test.count), '--epochs', String(epochs), ...(full ? ['--full'] : [])], {
    env,
    encoding: 'utf8',
  });
  fs.rmSync(dir, { recursive: true, force: true });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  if (r.status !== 0 || !line.startsWith('{')) throw new Error((r.stderr || r.error?.message || `python3 exited ${r.status}`).trim().split('\n').pop());
  const out = JSON.parse(line) as Omit<ChildResult, 'variant'> & { roofline?: { gflops: number; stepMs: number; flops: number } };
  const kernels = `, OMP_WAIT_POLICY=${env.OMP_WAIT_POLICY ?? 'default'}${coretype.coretype ? `, OPENBLAS_CORETYPE=${coretype.coretype}` : ''}`;
  const details = `${out.backendDetails ?? out.full?.backendDetails}${kernels}`;
  return {
    variant: variant.id,
    backendDetails: details,
    stages: out.stages ?? [],
    roofline: out.roofline && { ...out.roofline, on: 'torch' },
    full: out.full && { ...out.full, backendDetails: details },
  };
}

/** The products through tf.matMul on the active (GPU) backend, fastest of 30 rounds after 5, each timed to its last product's completion. */
async function measureGpuRoofline(tf: typeof import('@tensorflow/tfjs'), ps: ReturnType<typeof stepProducts>): Promise<NonNullable<ChildResult['roofline']>> {
  const operands = ps.map(([m, n, k, ta, tb]) => ({ a: tf.fill(ta ? [k, m] : [m, k], 0.5), b: tf.fill(tb ? [n, k] : [k, n], 0.25), ta, tb }));
  let best = Infinity;
  for (let round = 0; round < 35; round++) {
    const t0 = performance.now();
    const outs = operands.map(({ a, b, ta, tb }) => tf.matMul(a, b, ta, tb));
    // The queue runs in order: one element of the last product is there when all are done.
    await tf.slice(outs[outs.length - 1], [0, 0], [1, 1]).data();
    const t = performance.now() - t0;
    tf.dispose(outs);
    if (round >= 5) best = Math.min(best, t);
  }
  tf.dispose(operands.flatMap(({ a, b }) => [a, b]));
  const flops = productFlops(ps);
  return { gflops: flops / best / 1e6, stepMs: best, flops, on: 'gpu' };
}

// ---------------------------------------------------------------------------------------------
// Parent: every variant, then the table.

function runChild(v: Variant, extra: string[]): ChildResult {
  const env = { ...process.env };
  for (const [k, val] of Object.entries(v.env)) {
    if (val === undefined) delete env[k];
    else env[k] = val;
  }
  // From sources under tsx, or from a bundle (bench bundled with esbuild to run elsewhere).
  const loader = __filename.endsWith('.ts') ? ['--import', 'tsx'] : [];
  const r = spawnSync(process.execPath, [...loader, __filename, '--child', v.id, '--epochs', option('--epochs', '3'), ...extra], {
    cwd: root,
    env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const line = (r.stdout ?? '').trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as ChildResult;
  } catch {
    // The thrown error's own line (`Error: …`), not the stack's last frame under it.
    const lines = (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').filter(Boolean);
    const why = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.pop() ?? '';
    return { variant: v.id, backendDetails: '', stages: [], error: why.slice(0, 200) };
  }
}

const fmtS = (s: number) => (s < 10 ? s.toFixed(2) : s.toFixed(1));
const pct = (x: number) => `${Math.round(100 * x)} %`;

async function parent(): Promise<void> {
  const gpuOnly = option('--backend', '') === 'webgpu';
  const wanted = gpuOnly ? ['webgpu'] : option('--variants', DEFAULT_VARIANTS.join(',')).split(',');
  const cpuLine = (fs.existsSync('/proc/cpuinfo') ? /model name\s*:\s*(.*)/.exec(fs.readFileSync('/proc/cpuinfo', 'utf8'))?.[1] : undefined) ?? os.cpus()[0]?.model ?? '?';
  const load0 = os.loadavg();
  const results: ChildResult[] = [];
  for (const v of VARIANTS.filter((x) => wanted.includes(x.id))) {
    process.stderr.write(`[bench:train] ${v.id}: ${v.label} … `);
    const r = runChild(v, []);
    process.stderr.write(r.error ? `unavailable (${r.error})\n` : `${r.backendDetails}\n`);
    results.push(r);
  }
  const ok = results.filter((r) => !r.error);
  // Each row against its own roofline (the GPU's), else the native BLAS one of this run.
  const blasRoofline = ok.find((r) => r.roofline?.on === 'blas')?.roofline;
  const gpuRoofline = ok.find((r) => r.roofline?.on === 'gpu')?.roofline;
  const torchRoofline = ok.find((r) => r.roofline?.on === 'torch')?.roofline;
  const rooflineOf = (r: ChildResult) => r.roofline ?? blasRoofline;
  const epochOf = (r: ChildResult, stage: string) => Math.min(...(r.stages.find((s) => s.stage === stage)?.epochSeconds.slice(1) ?? [NaN]));
  // The whole experiment runs on the fastest variant (by teacher + baseline + student epoch), or
  // on those --full-on names.
  const fastest = ok.filter((r) => r.variant !== 'pytorch').sort((a, b) => ['teacher', 'baseline', 'student'].reduce((s, st) => s + epochOf(a, st) - epochOf(b, st), 0))[0];
  const byDefault = [fastest?.variant, ok.some((r) => r.variant === 'pytorch') ? 'pytorch' : undefined].filter(Boolean).join(',');
  const fullOn = flag('--no-full') ? [] : option('--full-on', byDefault).split(',').filter(Boolean);
  const fulls: ChildResult[] = [];
  for (const id of fullOn) {
    const v = VARIANTS.find((x) => x.id === id);
    if (!v) continue;
    process.stderr.write(`[bench:train] full Hinton experiment (30 + 30 + 30 epochs) on ${v.id} … `);
    const full = runChild(v, ['--full']);
    process.stderr.write(full.error ? `failed (${full.error})\n` : `${full.full!.seconds.toFixed(1)} s\n`);
    fulls.push(full);
  }
  const load1 = os.loadavg();

  const lines: string[] = [];
  const out = (s = '') => lines.push(s);
  out('# Training speed: the real training loop per backend (`npm run bench:train`)');
  out();
  out(`Machine: ${cpuLine}, ${os.cpus().length} logical CPUs visible, ${os.platform()} ${os.release()}, Node ${process.versions.node}.`);
  out(`Load average (1 min) at start / end: ${load0[0].toFixed(2)} / ${load1[0].toFixed(2)}. Date: ${new Date().toISOString()}.`);
  out(`Command: \`node --import tsx bench/train.bench.ts ${args.join(' ')}\`${process.env.BENCH_NOTE ? ` (${process.env.BENCH_NOTE})` : ''}.`);
  out();
  out(`Hinton MNIST (examples/hinton-mnist.distill.json): 8,000 training examples, batch 128, ${option('--epochs', '3')} epochs per stage`);
  out('in trainStage(); the minimum epoch after the first is shown, and the median step inside the loop.');
  out();
  if (blasRoofline) {
    out(`Roofline: the teacher step's sgemm products alone through the native BLAS: ${blasRoofline.gflops.toFixed(0)} GFLOPS (${blasRoofline.stepMs.toFixed(2)} ms for ${(blasRoofline.flops / 1e9).toFixed(2)} GFLOP).`);
    out(`Its CPU time (all threads): ${blasRoofline.cpuMs!.toFixed(2)} ms. On a machine shared with other jobs wall times stretch with the load; CPU time per step much less,`);
    out('so the "CPU" columns compare runs made at different loads: a step\'s CPU ms against the roofline\'s CPU ms (scaled to its FLOPs) is its efficiency.');
  } else if (!gpuRoofline) out('Roofline: not measured (no native BLAS addon in this build).');
  if (gpuRoofline) {
    out(`GPU roofline (the webgpu row's %): the teacher step's products alone through tf.matMul on the GPU: ${gpuRoofline.gflops.toFixed(0)} GFLOPS (${gpuRoofline.stepMs.toFixed(2)} ms for ${(gpuRoofline.flops / 1e9).toFixed(2)} GFLOP).`);
  }
  if (torchRoofline) {
    out(`PyTorch's roofline (its row's %): the same products through torch.mm: ${torchRoofline.gflops.toFixed(0)} GFLOPS (${torchRoofline.stepMs.toFixed(2)} ms).`);
  }
  out();
  out('| backend | details | teacher epoch | baseline epoch | student epoch | teacher step (% roofline) | baseline step (% roofline) | student step (% roofline) | step CPU ms: teacher / baseline / student (% of roofline CPU) |');
  out('|---|---|---|---|---|---|---|---|---|');
  for (const r of results) {
    const v = VARIANTS.find((x) => x.id === r.variant)!;
    if (r.error) {
      out(`| ${v.label} | unavailable: ${r.error.replace(/\|/g, '/')} | | | | | | | |`);
      continue;
    }
    const cell = (st: string) => `${fmtS(epochOf(r, st))} s`;
    const step = (st: string) => {
      const s = r.stages.find((x) => x.stage === st)!;
      const gflops = s.stepFlops / s.stepMs / 1e6;
      const roofline = rooflineOf(r);
      return `${s.stepMs.toFixed(1)} ms, ${gflops.toFixed(0)} GFLOPS${roofline ? ` (${pct(gflops / roofline.gflops)})` : ''}`;
    };
    const cpu = (st: string) => {
      const s = r.stages.find((x) => x.stage === st)!;
      const cpuMs = rooflineOf(r)?.cpuMs;
      return `${s.stepCpuMs.toFixed(1)}${cpuMs ? ` (${pct((cpuMs * s.stepFlops) / rooflineOf(r)!.flops / s.stepCpuMs)})` : ''}`;
    };
    out(`| ${v.label} | ${r.backendDetails} | ${cell('teacher')} | ${cell('baseline')} | ${cell('student')} | ${step('teacher')} | ${step('baseline')} | ${step('student')} | ${cpu('teacher')} / ${cpu('baseline')} / ${cpu('student')} |`);
  }
  out('| *PyTorch 2.11, 2 threads (measured on a Xeon pinned to 2 cores, issue #10; not here)* | | *1.49 s* | *0.33 s* | *0.65 s* | *62 % of its roofline* | | | |');
  out();
  for (const full of fulls) {
    if (full.full) {
      const e = full.full.errors;
      out(`Whole Hinton experiment (runExperiment, 30 + 30 + 30 epochs, with evaluation, probes and saving) on ${full.full.backendDetails}: **${full.full.seconds.toFixed(1)} s**`);
      out(`(test errors: teacher ${e.teacher}, baseline ${e.baseline}, student ${e.student} of 2,000).`);
    } else out(`Whole Hinton experiment on ${full.variant}: failed (${full.error}).`);
    out();
  }
  out("PyTorch's whole experiment on the table's Xeon: 74 s.");
  if (gpuRoofline) out("PyTorch with CUDA, the whole experiment on an NVIDIA H200 (issue #11): 14–17 s; the target there is 20 s.");
  out();
  const text = lines.join('\n');
  console.log(text);
  const file = path.resolve(root, option('--out', gpuOnly ? 'docs/bench-train-webgpu.md' : 'docs/bench-train.md'));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  process.stderr.write(`[bench:train] wrote ${path.relative(root, file)}\n`);
}

if (flag('--child')) {
  child(option('--child', ''))
    .then((r) => {
      console.log(JSON.stringify(r));
      process.exit(0);
    })
    .catch((e) => {
      console.error(e instanceof Error ? e.stack : String(e));
      process.exit(1);
    });
} else {
  parent().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
