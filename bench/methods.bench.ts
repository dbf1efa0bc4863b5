// Every distillation method of the loss registry on one task, over three seeds:
//   npm run bench:methods            (writes docs/methods-bench.md)
// A Fashion-MNIST CNN teacher is trained once (by the first run) and reused by every other run
// (`teacher.source: "run"`); each method trains the same small CNN student with hard-label CE
// (weight 1, as RepDistiller's train_student.py) plus the method's term at its reference's
// default weight, on feature layers chosen by kind (conv2 for feature methods, fc1 — the
// penultimate layer — for relation methods, logits for response methods). A baseline (CE alone)
// trains once per seed. Each run is the real CLI (`dist/cli.js run`), sequentially.
// Env: BENCH_TRAIN (5000), BENCH_TEST (2000), BENCH_EPOCHS (3), BENCH_TEACHER_EPOCHS (4),
// BENCH_SEEDS ("1,2,3"), BENCH_METHODS (comma list; default every loss but ce), BENCH_OUT.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelSpec } from '../src/core/config/schema';
import { allLosses, lossDefinition, termPairs } from '../src/core/losses';
import { describeModel } from '../src/core/models';
import type { Manifest } from '../src/core/protocol';

const root = path.join(__dirname, '..');
const env = (k: string, d: string) => process.env[k] ?? d;
const TRAIN = Number(env('BENCH_TRAIN', '5000'));
const TEST = Number(env('BENCH_TEST', '2000'));
const EPOCHS = Number(env('BENCH_EPOCHS', '3'));
const TEACHER_EPOCHS = Number(env('BENCH_TEACHER_EPOCHS', '4'));
const SEEDS = env('BENCH_SEEDS', '1,2,3').split(',').map(Number);
const METHODS = env('BENCH_METHODS', allLosses().map((d) => d.type).filter((t) => t !== 'ce').join(',')).split(',');
const OUT = env('BENCH_OUT', path.join(root, 'docs', 'methods-bench.md'));
// BENCH_WORK: a folder of an earlier, interrupted bench to resume (finished runs are reused).
const work = process.env.BENCH_WORK ?? fs.mkdtempSync(path.join(os.tmpdir(), 'distill-methods-'));
const runsDir = path.join(work, 'runs');
// The CLI runs from a copy of dist/, so rebuilding the repository while the bench runs changes nothing.
const cli = path.join(work, 'dist', 'cli.js');
if (!fs.existsSync(cli)) fs.cpSync(path.join(root, 'dist'), path.join(work, 'dist'), { recursive: true });

const teacherModel = { type: 'cnn', conv: [{ filters: 32, kernel: 3 }, { filters: 64, kernel: 3 }], hidden: [256], dropout: 0.3 };
const studentModel = { type: 'cnn', conv: [{ filters: 8, kernel: 3 }, { filters: 16, kernel: 3 }], hidden: [64] };
/** A spec as the parser leaves it (its defaults filled in), for describeModel. */
const withDefaults = (m: typeof teacherModel | typeof studentModel) =>
  ({ activation: 'relu', dropout: 0, ...m, conv: m.conv.map((c) => ({ stride: 1, pool: 2, ...c })) }) as unknown as ModelSpec;
const training = { epochs: EPOCHS, batchSize: 128, optimizer: { type: 'adam', lr: 0.001 } };

/**
 * The method's term on this task's layers: its own example, with the layers moved to the ones
 * its kind compares here, and pre-training stages cut to one epoch (the reference's 30 would
 * dominate the budget; the table says so).
 */
function termFor(type: string): Record<string, unknown> {
  const def = lossDefinition(type);
  const term: Record<string, unknown> = { ...def.example };
  if ('student' in term) {
    const layer = def.knowledge === 'relation' ? 'fc1' : 'conv2';
    Object.assign(term, { student: layer, teacher: layer });
    if ('studentTo' in term) Object.assign(term, { student: 'conv1', teacher: 'conv1', studentTo: 'conv2', teacherTo: 'conv2' });
  }
  if ('initEpochs' in def.schema.properties) term.initEpochs = 1;
  if (typeof term.negatives === 'number') term.negatives = Math.min(term.negatives as number, 1024);
  return term;
}

function config(name: string, seed: number, losses: unknown[], teacher: unknown, baseline: boolean) {
  return {
    name,
    seed,
    data: { dataset: 'fashion-mnist', trainSize: TRAIN, testSize: TEST },
    teacher,
    student: { model: studentModel },
    distillation: { temperature: 4, losses },
    training,
    baseline,
    probes: { samples: 0, cka: false },
  };
}

let reused = 0;
/** Runs one config through the CLI (or takes its finished run from BENCH_WORK); returns its manifest. */
function run(cfg: ReturnType<typeof config>): Manifest {
  const file = path.join(work, `${cfg.name}-s${cfg.seed}.distill.json`);
  const ofThisConfig = () =>
    (fs.existsSync(runsDir) ? fs.readdirSync(runsDir) : [])
      .map((d) => JSON.parse(fs.readFileSync(path.join(runsDir, d, 'manifest.json'), 'utf8')) as Manifest)
      .filter((m) => m.configPath === file);
  const same = fs.existsSync(file) && fs.readFileSync(file, 'utf8') === JSON.stringify(cfg, null, 2);
  const earlier = same ? ofThisConfig().find((m) => m.status === 'done') : undefined;
  if (earlier) {
    reused++;
    return earlier;
  }
  fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
  const started = Date.now();
  try {
    execFileSync(process.execPath, [cli, 'run', file, '--runs-dir', runsDir], { stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    // The manifest says why; a failed method is a row of the table, not the end of the bench.
  }
  const newest = { m: ofThisConfig().sort((x, y) => x.startedAt.localeCompare(y.startedAt)).at(-1)! };
  console.log(`${cfg.name} seed ${cfg.seed}: ${newest.m.status}${newest.m.error ? ` (${newest.m.error})` : ''}, student ${pct(newest.m.results.student?.testAccuracy)} (${((Date.now() - started) / 1000).toFixed(0)} s)`);
  return newest.m;
}

const pct = (a?: number) => (a === undefined ? '—' : `${(100 * a).toFixed(2)}%`);
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
/** Sample standard deviation (n − 1), as reported in the KD papers' tables. */
const std = (xs: number[]) => (xs.length < 2 ? 0 : Math.sqrt(xs.reduce((a, x) => a + (x - mean(xs)) ** 2, 0) / (xs.length - 1)));
const fmt = (xs: number[]) => (xs.length ? `${(100 * mean(xs)).toFixed(2)} ± ${(100 * std(xs)).toFixed(2)}` : '—');

const t0 = Date.now();
const ce = { type: 'ce', weight: 1 };
// The first run trains the teacher (and seed 1's baseline), with KD as its student.
const first = run(config('kd', SEEDS[0], [ce, termFor('kd')], { model: teacherModel, training: { ...training, epochs: TEACHER_EPOCHS } }, true));
if (first.status !== 'done') throw new Error(`the teacher run failed: ${first.error}`);
const fromRun = { source: 'run', run: first.id };
const acc: Record<string, number[]> = { baseline: [], kd: [] };
const failures: Record<string, string[]> = {};
const record = (method: string, m: Manifest) => {
  if (m.results.student) (acc[method] ??= []).push(m.results.student.testAccuracy);
  else (failures[method] ??= []).push(m.error ?? m.status);
};
record('kd', first);
acc.baseline.push(first.results.baseline!.testAccuracy);
for (const seed of SEEDS.slice(1)) {
  const m = run(config('kd', seed, [ce, termFor('kd')], fromRun, true));
  record('kd', m);
  if (m.results.baseline) acc.baseline.push(m.results.baseline.testAccuracy);
}
/** Why a method does not apply to this teacher–student pair (its own misuse check), if it does not. */
function notApplicable(method: string): string | undefined {
  const layers = (spec: ModelSpec) => describeModel(spec, [28, 28, 1], 10).layers;
  const [s, t] = [layers(withDefaults(studentModel)), layers(withDefaults(teacherModel))];
  const pairs = termPairs(termFor(method)).map((p) => ({ student: s.find((l) => l.name === p.student)!, teacher: t.find((l) => l.name === p.teacher)! }));
  // The term as the parser leaves it: its defaults filled in (e.g. hint's connector "auto").
  const def = lossDefinition(method);
  const defaults = Object.entries(def.schema.properties).flatMap(([k, p]) => ('default' in p.schema ? [[k, p.schema.default]] : []));
  const problems = def.check?.({ ...Object.fromEntries(defaults), ...termFor(method) }, { pairs, trainCount: TRAIN, numClasses: 10 }) ?? [];
  return problems[0]?.message;
}
const skipped: Record<string, string> = {};
for (const method of METHODS.filter((x) => x !== 'kd')) {
  const why = notApplicable(method);
  if (why) skipped[method] = why;
  else for (const seed of SEEDS) record(method, run(config(method, seed, [ce, termFor(method)], fromRun, false)));
}

const wall = (Date.now() - t0) / 1000;
const base = mean(acc.baseline);
const rows = ['kd', ...METHODS.filter((x) => x !== 'kd')].map((m) => {
  const d = lossDefinition(m);
  const xs = acc[m] ?? [];
  const delta = xs.length ? `${(100 * (mean(xs) - base) >= 0 ? '+' : '')}${(100 * (mean(xs) - base)).toFixed(2)}` : '—';
  const term = termFor(m);
  const where = 'student' in term ? `${term.student}${term.studentTo ? `>${term.studentTo}` : ''}` : 'logits';
  if (skipped[m]) return `| ${m} | ${d.title} | ${d.knowledge} | ${String(term.weight)} | ${where} | not applicable: ${skipped[m]} | | 0 |`;
  return `| ${m} | ${d.title} | ${d.knowledge} | ${String(term.weight)} | ${where} | ${fmt(xs)} | ${delta} | ${xs.length}${failures[m] ? ` (failed: ${failures[m][0]})` : ''} |`;
});
const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const overrides = Object.entries(process.env).filter(([k]) => k.startsWith('BENCH_') && k !== 'BENCH_OUT');
const command = [...overrides.map(([k, v]) => `${k}=${v}`), 'npm run bench:methods'].join(' ');
const text = `# Every method on one task (\`npm run bench:methods\`)

Fashion-MNIST, ${TRAIN} training / ${TEST} test images. Teacher: CNN conv32-conv64-fc256 (dropout 0.3),
${TEACHER_EPOCHS} epochs, trained once and reused. Student: CNN conv8-conv16-fc64, ${EPOCHS} epochs, Adam 0.001,
batch 128, T = 4; hard-label CE (weight 1) plus the method's term at its reference's default weight.
Feature methods compare conv2 (student 14×14×16, teacher 14×14×64), relation methods fc1 (64 vs 256
units), response methods the logits. Initialisation stages (AB, FSP, FT) run 1 epoch
instead of the reference's 30; CRD uses at most 1,024 negatives. Test accuracy, mean ± std over seeds
${SEEDS.join(', ')}; Δ against the baseline's mean.

Teacher: ${pct(first.results.teacher?.testAccuracy)}. Baseline (student alone): ${fmt(acc.baseline)} (seeds ${SEEDS.join(', ')}).

| method | name | knowledge | weight | layers | student accuracy % | Δ vs baseline | seeds |
|---|---|---|---|---|---|---|---|
${rows.join('\n')}

Made by \`${command}\` on ${new Date().toISOString().slice(0, 10)}: ${cpu}, ${os.cpus().length} cores,
backend ${first.backend} (${first.versions?.backendDetails ?? ''}); ${(wall / 60).toFixed(1)} min${reused ? ` (${reused} runs reused from an earlier, interrupted invocation are not counted)` : ''}.
`;
fs.mkdirSync(path.dirname(OUT), { recursive: true });
fs.writeFileSync(OUT, text);
console.log(`\n${text}\nwrote ${path.relative(root, OUT)}`);
