// One experiment, start to finish: validate the config, create the run folder, load the data, then
// the models of the config's mode (src/trainer/modes/: offline teacher → baseline → student, online
// peers, born-again generations, self-distillation exits), recording metrics, probes, models and
// results as it goes.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig } from '../core/config/schema';
import { defaultNodeEnv } from '../core/config/nodeEnv';
import { formatProblem, parseConfig, type ParseResult } from '../core/config/parse';
import { modeOf, planModels } from '../core/modes';
import { omittedClassLines } from '../core/resultFormat';
import type { Backend, Manifest, RunGroup, RunModel, StartRequest, TrainerToHost } from '../core/protocol';
import { createRng, deriveSeed, shuffleInPlace } from '../core/random';
import { CONFIG, createRunDir, hashConfig, writeJsonAtomic } from '../core/runStore';
import { backendDetails } from './backend';
import { type Dataset, describeDataSource, loadDataset } from './data';
import { finishResults } from './evaluate';
import { checkDataFinite } from './finiteCheck';
import { MODE_RUNNERS } from './modes';
import { RunContext } from './modes/context';
import { recordRun, RunRecorder, RunWriteError } from './runRecorder';
import { CancelledError } from './train';

export interface ExperimentIO {
  emit(message: TrainerToHost): void;
  isCancelled(): boolean;
}

/** A config that does not validate: nothing is trained and no run folder is made. */
export class ConfigError extends Error {}

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
    finishResults(results, rec.manifest.models?.some((m) => m.role === 'teacher') ?? true);
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
    const ctx = new RunContext({ config, configPath, req, data, rec, io, probes });
    rec.manifest.mode = modeOf(config);
    rec.manifest.models = planModels(config);
    rec.saveManifest();
    io.emit({ type: 'plan', models: rec.manifest.models });
    try {
      await ctx.loadStudentInit();
      await MODE_RUNNERS[modeOf(config)](ctx);
    } finally {
      ctx.dispose();
    }
    const fmt = (m: RunModel) => {
      const r = results.models?.[m.id];
      return r ? `${m.label} ${r.testErrors} errors (${(100 * (1 - r.testAccuracy)).toFixed(2)}%)` : '';
    };
    rec.log('info', rec.manifest.models.map(fmt).filter(Boolean).join(', '));
    for (const line of omittedClassLines(rec.manifest.models.map((m) => [m.label, results.models?.[m.id]] as const))) rec.log('info', line);
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
