// One experiment, start to finish: validate the config, create the run folder, then the stages —
// teacher (train, load from a file, or reuse from a run), baseline student alone, distilled
// student with the frozen teacher — recording metrics, probes, models and results as it goes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, LossTerm } from '../core/config/schema';
import { defaultNodeEnv } from '../core/config/nodeEnv';
import { formatProblem, parseConfig } from '../core/config/parse';
import type { Backend, Manifest, ModelResult, StageName, StartRequest, TrainerToHost } from '../core/protocol';
import { createRng, deriveSeed, shuffleInPlace } from '../core/random';
import { CONFIG, createRunDir, hashConfig, listRuns, MODELS, writeJsonAtomic } from '../core/runStore';
import { backendDetails } from './backend';
import { type Connector, createConnectorsForTerms } from './connectors';
import { type Dataset, describeDataSource, loadDataset } from './data';
import { loadLayersModel, saveLayersModel } from './modelIO';
import { buildModel, type TappedModel, wrapLoadedModel } from './models';
import { collectProbe } from './probes';
import { finishResults, resultOf } from './evaluate';
import { RunRecorder } from './runRecorder';
import { CancelledError, trainStage } from './train';

export interface ExperimentIO {
  emit(message: TrainerToHost): void;
  isCancelled(): boolean;
}

/** A config that does not validate: nothing is trained and no run folder is made. */
export class ConfigError extends Error {}

const CE_ONLY: LossTerm[] = [{ type: 'ce', weight: 1 }];

export function defaultCacheDir(): string {
  return process.env.DISTILL_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'distill-lab');
}

function versions(backend: Backend): Record<string, string> {
  return { node: process.versions.node, tfjs: tf.version.tfjs, backend, backendDetails: backendDetails(), distillLab: process.env.DISTILL_LAB_VERSION ?? 'dev' };
}

/** Picks the probe samples and CKA batch once per run, so every epoch shows the same examples. */
function probeIndices(config: DistillConfig, data: Dataset, override?: number) {
  const count = Math.min(override ?? config.probes.samples, data.test.count);
  const order = Array.from({ length: data.test.count }, (_, i) => i);
  shuffleInPlace(order, createRng(deriveSeed(config.seed, 'probes')));
  return { samples: order.slice(0, count), cka: config.probes.cka ? order.slice(0, Math.min(config.probes.ckaSamples, data.test.count)) : [] };
}

function findTeacherRun(runsDir: string, config: DistillConfig, configPath: string, run: string): string {
  if (run !== 'latest') {
    const dir = path.join(runsDir, run);
    if (!fs.existsSync(path.join(dir, MODELS, 'teacher', 'model.json'))) throw new Error(`run ${run} has no saved teacher (${dir})`);
    return dir;
  }
  const found = listRuns(runsDir).find(
    (r) => r.manifest.configPath === configPath && r.manifest.status === 'done' && fs.existsSync(path.join(r.dir, MODELS, 'teacher', 'model.json')),
  );
  if (!found) throw new Error(`no finished run of ${config.name} with a saved teacher in ${runsDir}`);
  return found.dir;
}

export async function runExperiment(req: StartRequest, backend: Backend, io: ExperimentIO): Promise<void> {
  const configPath = path.resolve(req.configPath);
  const env = defaultNodeEnv({ describeData: describeDataSource });
  const { config, problems } = parseConfig(fs.readFileSync(configPath, 'utf8'), configPath, env);
  if (!config) throw new ConfigError(problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n'));

  const { id, dir } = createRunDir(req.runsDir, config.name);
  const configHash = hashConfig(config);
  writeJsonAtomic(path.join(dir, CONFIG), { configPath, hash: configHash, config });
  const rec = new RunRecorder(
    dir,
    {
      id,
      name: config.name,
      configPath,
      configHash,
      status: 'running',
      startedAt: new Date().toISOString(),
      backend,
      versions: versions(backend),
      seed: config.seed,
      results: {},
    },
    io,
  );
  io.emit({ type: 'runCreated', runId: id, runDir: dir });
  for (const p of problems) rec.log('warn', formatProblem(p));

  const results = rec.manifest.results;
  const end = (status: Manifest['status'], error?: string) => {
    rec.manifest.status = status;
    rec.manifest.endedAt = new Date().toISOString();
    rec.manifest.error = error;
    finishResults(results);
    rec.saveManifest();
    rec.close();
    io.emit({ type: 'done', runId: id, status, results, error });
  };

  try {
    rec.log('info', `run ${id}: backend ${backend}, seed ${config.seed}`);
    const t0 = performance.now();
    const data = await loadDataset(config.data, {
      configDir: path.dirname(configPath),
      seed: config.seed,
      cacheDir: req.cacheDir ?? defaultCacheDir(),
      // The built-ins shipped in dist/data (scripts/ship-datasets.ts): an installed .vsix has no node_modules to convert them from.
      extraCacheDirs: [path.join(__dirname, 'data')],
      log: (message) => rec.log('info', message),
    });
    rec.log(
      'info',
      `data ${data.name}: ${data.train.count} train / ${data.validation.count} validation / ${data.test.count} test, input [${data.inputShape.join('×')}], ` +
        `${data.numClasses} classes (${((performance.now() - t0) / 1000).toFixed(1)} s)`,
    );
    const probes = probeIndices(config, data, req.probeSamples);

    // The teacher, once it exists, is shown beside every later stage in the probes (logits, CKA);
    // only the distilled student's loss uses it.
    let teacher: TappedModel | undefined;
    // Each trained stage's last test evaluation: the weights resultOf() reports on (no second pass).
    const lastTest = new Map<StageName, { accuracy: number; errors: number; count: number }>();
    const runStage = async (stage: StageName, net: TappedModel, opts: { terms: LossTerm[]; connectors?: Map<string, Connector> }) => {
      const usesTeacher = opts.terms.some((term) => term.type !== 'ce');
      const training = stage === 'teacher' && config.teacher.source === 'train' ? config.teacher.training : config.training;
      const connectors = opts.connectors ?? new Map<string, Connector>();
      const steps = Math.ceil(data.train.count / Math.min(training.batchSize, data.train.count));
      rec.manifest.stage = stage;
      rec.saveManifest();
      io.emit({ type: 'stage', stage, epochs: training.epochs, stepsPerEpoch: steps });
      rec.log('info', `stage ${stage}: ${training.epochs} epochs × ${steps} steps`);
      await trainStage(
        {
          stage,
          net,
          terms: opts.terms,
          temperature: config.distillation.temperature,
          teacher: usesTeacher ? teacher : undefined,
          connectors,
          training,
          seed: config.seed,
          data,
        },
        {
          isCancelled: io.isCancelled,
          onStep: (r, stepsPerEpoch) => rec.step(r, stepsPerEpoch, training.epochs),
          onEpoch: (r) => {
            rec.epoch(r);
            lastTest.set(stage, { accuracy: r.testAccuracy, errors: r.testErrors, count: data.test.count });
            if (r.kind === 'epoch') {
              rec.log(
                'info',
                `${stage} epoch ${r.epoch}/${training.epochs}: loss ${r.total.toFixed(4)}, train acc ${(100 * r.trainAccuracy).toFixed(2)}%, ` +
                  `test errors ${r.testErrors}/${data.test.count} (${r.seconds.toFixed(1)} s, ${Math.round(r.examplesPerSecond)} ex/s)`,
              );
            }
            if (r.epoch % config.probes.every === 0 || r.epoch === training.epochs) {
              rec.probe(
                collectProbe({
                  stage,
                  epoch: r.epoch,
                  net,
                  teacher: stage === 'teacher' ? undefined : teacher,
                  terms: opts.terms,
                  connectors,
                  samples: { indices: probes.samples, split: data.test },
                  ckaIndices: probes.cka,
                  inputShape: data.inputShape,
                  mapSize: config.probes.mapSize,
                  topK: config.probes.topK,
                  withImages: r.epoch === 1 || r.epoch === training.epochs,
                }),
              );
            }
          },
        },
      );
    };
    // Saved as a plain classifier (input → logits); wrapLoadedModel recovers every layer's tap from it.
    const save = async (stage: StageName, net: TappedModel) => saveLayersModel(net.logitsModel, path.join(dir, MODELS, stage));

    const t = config.teacher;
    if (t.source === 'train') {
      teacher = buildModel(t.model, data.inputShape, data.numClasses, config.seed);
      await runStage('teacher', teacher, { terms: CE_ONLY });
      await save('teacher', teacher);
    } else {
      const file =
        t.source === 'file'
          ? path.resolve(path.dirname(configPath), t.path)
          : path.join(findTeacherRun(req.runsDir, config, configPath, t.run), MODELS, 'teacher', 'model.json');
      teacher = wrapLoadedModel(await loadLayersModel(file));
      rec.log('info', `teacher loaded from ${file}`);
    }
    results.teacher = resultOf(teacher, data, lastTest.get('teacher'));
    rec.saveManifest();

    const studentSpec = config.student.model;
    // Baseline: the same student, same seed (so the same initial weights and batches), hard labels only.
    if (config.baseline) {
      const baseline = buildModel(studentSpec, data.inputShape, data.numClasses, config.seed + 1);
      await runStage('baseline', baseline, { terms: CE_ONLY });
      await save('baseline', baseline);
      results.baseline = resultOf(baseline, data, lastTest.get('baseline'));
      rec.saveManifest();
      baseline.dispose();
    }

    // Distilled student.
    const student = buildModel(studentSpec, data.inputShape, data.numClasses, config.seed + 1);
    const connectors = createConnectorsForTerms(config.distillation.losses, student.taps, teacher.taps, config.seed + 2);
    await runStage('student', student, { terms: config.distillation.losses, connectors });
    await save('student', student);
    results.student = resultOf(student, data, lastTest.get('student'));
    const fmt = (name: string, r?: ModelResult) => (r ? `${name} ${r.testErrors} errors (${(100 * (1 - r.testAccuracy)).toFixed(2)}%)` : '');
    rec.log('info', [fmt('teacher', results.teacher), fmt('baseline', results.baseline), fmt('student', results.student)].filter(Boolean).join(', '));
    end('done');
  } catch (e) {
    if (e instanceof CancelledError) {
      rec.log('info', 'cancelled');
      end('cancelled');
    } else {
      const message = e instanceof Error ? e.message : String(e);
      rec.log('error', e instanceof Error && e.stack ? e.stack : message);
      end('failed', message);
    }
  }
}
