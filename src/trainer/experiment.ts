// One experiment, start to finish: validate the config, create the run folder, then the stages —
// teacher (train, load from a file, or reuse from a run), baseline student alone, distilled
// student with the frozen teacher — recording metrics, probes, models and results as it goes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, LossTerm } from '../core/config/schema';
import { termPairs, usesTeacher } from '../core/losses';
import { defaultNodeEnv } from '../core/config/nodeEnv';
import { formatProblem, parseConfig, type ParseResult } from '../core/config/parse';
import type { Backend, Manifest, ModelResult, RunGroup, StageName, StartRequest, TrainerToHost } from '../core/protocol';
import { createRng, deriveSeed, shuffleInPlace } from '../core/random';
import { CONFIG, createRunDir, hashConfig, listRuns, MODELS, writeJsonAtomic } from '../core/runStore';
import { backendDetails } from './backend';
import { type ActiveTerm, activateTerms, disposeTerms, termVariables } from './losses';
import { type Dataset, describeDataSource, loadDataset } from './data';
import { loadLayersModel, saveLayersModel } from './modelIO';
import { buildModel, type TappedModel, wrapLoadedModel } from './models';
import { collectProbe } from './probes';
import { finishResults, resultOf } from './evaluate';
import { checkDataFinite } from './finiteCheck';
import { recordRun, RunRecorder, RunWriteError } from './runRecorder';
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

/**
 * The student's variables of its layers up to the deepest of `layers` (taps are in layer order):
 * what a pre-training stage on those layers trains — the layers after them get no gradient, and
 * must not get weight decay either.
 */
function variablesUpTo(net: TappedModel, layers: string[]): tf.Variable[] {
  const deepest = Math.max(...layers.map((l) => net.taps.findIndex((t) => t.name === l)));
  const names = new Set(net.taps.slice(0, deepest + 1).map((t) => t.name));
  const upTo = net.trainableVariables.filter((v) => names.has(v.name.split('/')[0]));
  return upTo.length ? upTo : net.trainableVariables;
}

/** The config as already read (src/trainer/seedGroup.ts: once for a whole seed group) and, for one seed of a group, its place in it. */
export interface PreparedRun {
  parsed: ParseResult;
  group?: RunGroup;
}

export async function runExperiment(req: StartRequest, backend: Backend, io: ExperimentIO, prepared?: PreparedRun): Promise<void> {
  const configPath = path.resolve(req.configPath);
  const env = defaultNodeEnv({ describeData: describeDataSource });
  const { config, problems } = prepared?.parsed ?? parseConfig(fs.readFileSync(configPath, 'utf8'), configPath, env);
  if (!config) throw new ConfigError(problems.filter((p) => p.severity === 'error').map(formatProblem).join('\n'));

  const { id, dir } = createRunDir(req.runsDir, config.name);
  const configHash = hashConfig(config);
  const rec = recordRun(dir, () => {
    writeJsonAtomic(path.join(dir, CONFIG), { configPath, hash: configHash, config });
    const manifest: Manifest = {
      id,
      name: config.name,
      configPath,
      configHash,
      status: 'running',
      startedAt: new Date().toISOString(),
      backend,
      versions: versions(backend),
      seed: config.seed,
      ...(prepared?.group ? { group: prepared.group } : {}),
      results: {},
    };
    return new RunRecorder(dir, manifest, io);
  });
  io.emit({ type: 'runCreated', runId: id, runDir: dir, ...(prepared?.group ? { group: prepared.group } : {}) });
  for (const p of problems) rec.log('warn', formatProblem(p));

  const results = rec.manifest.results;
  const end = (status: Manifest['status'], error?: string) => {
    finishResults(results);
    // What the run folder could record, disk full or folder gone included: that is what `done` says.
    const ended = rec.finish(status, error);
    io.emit({ type: 'done', runId: id, results, ...ended });
  };

  try {
    rec.log('info', `run ${id}: backend ${backendDetails()}, seed ${config.seed}`);
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
    checkDataFinite(data, config.data, path.dirname(configPath));
    const probes = probeIndices(config, data, req.probeSamples);
    const termSetup = (studentLayers: TappedModel['taps'], teacherLayers?: TappedModel['taps']) => ({
      studentLayers,
      teacherLayers,
      numClasses: data.numClasses,
      trainCount: data.train.count,
      seed: config.seed + 2,
    });

    // A loss's own stage before distillation (FitNets stage 1, AB's initialisation, FT's
    // paraphraser): its variables (and the student's, if it says so) on its loss alone. Logged,
    // not charted: the student's curves start with distillation.
    const pretrain = async (student: TappedModel, terms: ActiveTerm[]) => {
      for (const a of terms) {
        const hook = a.def.pretrain;
        const epochs = hook?.epochs(a.term) ?? 0;
        if (!hook || epochs === 0) continue;
        rec.log('info', `${a.id}: ${hook.describe}, ${epochs} epochs`);
        // The stage minimises the hook's loss alone and unweighted (the term's weight is for the main stage).
        const only: ActiveTerm = { ...a, term: { ...a.term, weight: 1 }, def: { ...a.def, compute: hook.compute } };
        await trainStage(
          {
            stage: 'student',
            net: student,
            terms: [only],
            temperature: config.distillation.temperature,
            teacher,
            variables: [...(hook.student ? variablesUpTo(student, termPairs(a.term).map((p) => p.student)) : []), ...hook.variables(a.state)],
            training: { ...config.training, epochs, schedule: { type: 'constant' } },
            seed: config.seed,
            data,
          },
          {
            isCancelled: io.isCancelled,
            onStep: () => {},
            onEpoch: (r) => rec.log('info', `${a.id} pre-training epoch ${r.epoch}/${epochs}: loss ${r.total.toFixed(4)}`),
          },
        );
      }
    };

    // The teacher, once it exists, is shown beside every later stage in the probes (logits, CKA);
    // only the distilled student's loss uses it.
    let teacher: TappedModel | undefined;
    // Each trained stage's last test evaluation: the weights resultOf() reports on (no second pass).
    const lastTest = new Map<StageName, { accuracy: number; errors: number; count: number }>();
    const runStage = async (stage: StageName, net: TappedModel, terms: ActiveTerm[]) => {
      const training = stage === 'teacher' && config.teacher.source === 'train' ? config.teacher.training : config.training;
      const steps = Math.ceil(data.train.count / Math.min(training.batchSize, data.train.count));
      rec.manifest.stage = stage;
      rec.saveManifest();
      io.emit({ type: 'stage', stage, epochs: training.epochs, stepsPerEpoch: steps });
      rec.log('info', `stage ${stage}: ${training.epochs} epochs × ${steps} steps`);
      await trainStage(
        {
          stage,
          net,
          terms,
          temperature: config.distillation.temperature,
          teacher: usesTeacher(terms.map((a) => a.term)) ? teacher : undefined,
          training,
          seed: config.seed,
          data,
        },
        {
          isCancelled: io.isCancelled,
          onStep: (r, stepsPerEpoch) => rec.step(r, stepsPerEpoch, training.epochs),
          onEpoch: async (r) => {
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
                await collectProbe({
                  stage,
                  epoch: r.epoch,
                  net,
                  teacher: stage === 'teacher' ? undefined : teacher,
                  terms,
                  temperature: config.distillation.temperature,
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
    const save = async (stage: StageName, net: TappedModel) => rec.saveModel(stage, (to) => saveLayersModel(net.logitsModel, to));

    const t = config.teacher;
    if (t.source === 'train') {
      teacher = buildModel(t.model, data.inputShape, data.numClasses, config.seed);
      await runStage('teacher', teacher, activateTerms(CE_ONLY, termSetup([])));
      await save('teacher', teacher);
    } else {
      const file =
        t.source === 'file'
          ? path.resolve(path.dirname(configPath), t.path)
          : path.join(findTeacherRun(req.runsDir, config, configPath, t.run), MODELS, 'teacher', 'model.json');
      teacher = wrapLoadedModel(await loadLayersModel(file));
      rec.log('info', `teacher loaded from ${file}`);
    }
    results.teacher = await resultOf(teacher, data, lastTest.get('teacher'));
    rec.saveManifest();

    const studentSpec = config.student.model;
    // Baseline: the same student, same seed (so the same initial weights and batches), hard labels only.
    if (config.baseline) {
      const baseline = buildModel(studentSpec, data.inputShape, data.numClasses, config.seed + 1);
      await runStage('baseline', baseline, activateTerms(CE_ONLY, termSetup([])));
      await save('baseline', baseline);
      results.baseline = await resultOf(baseline, data, lastTest.get('baseline'));
      rec.saveManifest();
      baseline.dispose();
    }

    // Distilled student.
    const student = buildModel(studentSpec, data.inputShape, data.numClasses, config.seed + 1);
    const terms = activateTerms(config.distillation.losses, termSetup(student.taps, teacher.taps));
    // The losses' own modules (connectors, embeddings) train with the student but are not exported with it.
    const lossParams = termVariables(terms).reduce((n, v) => n + v.size, 0);
    if (lossParams) rec.log('info', `loss modules: ${lossParams} trainable parameters (not part of the exported student)`);
    try {
      await pretrain(student, terms);
      await runStage('student', student, terms);
    } finally {
      disposeTerms(terms);
    }
    await save('student', student);
    results.student = { ...(await resultOf(student, data, lastTest.get('student'))), ...(lossParams ? { lossParams } : {}) };
    const fmt = (name: string, r?: ModelResult) => (r ? `${name} ${r.testErrors} errors (${(100 * (1 - r.testAccuracy)).toFixed(2)}%)` : '');
    rec.log('info', [fmt('teacher', results.teacher), fmt('baseline', results.baseline), fmt('student', results.student)].filter(Boolean).join(', '));
    end('done');
  } catch (e) {
    if (e instanceof CancelledError) {
      rec.log('info', 'cancelled');
      end('cancelled');
    } else {
      const message = e instanceof Error ? e.message : String(e);
      // The stack goes to trainer.log only; users see the one-line message.
      rec.log('error', message, e instanceof Error && !(e instanceof RunWriteError) ? e.stack : undefined);
      end('failed', message);
    }
  }
}
