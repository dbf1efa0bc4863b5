// What the trainer runs for a start request: one experiment, or — for a config with `seeds` or
// `repeats` — a seed group: the experiment once per seed, one after another, each an ordinary,
// complete run folder (its config.json holding that seed alone) whose manifest names the group.
// Each run sends its messages as any run does (runCreated with the group, stages, progress, its
// own `done`); after the last one, `groupDone` gives the group's status. A cancel stops the run in
// progress and starts no further seed; a run that fails ends the group there, its seeds after it
// not run (docs/architecture.md §4).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { defaultNodeEnv } from '../core/config/nodeEnv';
import { parseConfig } from '../core/config/parse';
import type { Backend, RunStatus, StartRequest, TrainerToHost } from '../core/protocol';
import { configForSeed, groupSeeds } from '../core/seedGroups';
import { describeDataSource } from './data';
import { type ExperimentIO, runExperiment } from './experiment';

export async function runConfig(req: StartRequest, backend: Backend, io: ExperimentIO): Promise<void> {
  const configPath = path.resolve(req.configPath);
  // Read once for every seed: an edit to the file while the group runs does not change its later runs.
  const parsed = parseConfig(fs.readFileSync(configPath, 'utf8'), configPath, defaultNodeEnv({ describeData: describeDataSource }));
  const seeds = parsed.config && groupSeeds(parsed.config);
  if (!parsed.config || !seeds) return runExperiment(req, backend, io, { parsed });

  const id = crypto.randomBytes(6).toString('hex');
  const runIds: string[] = [];
  let status: RunStatus = 'done';
  let error: string | undefined;
  for (let index = 0; index < seeds.length; index++) {
    if (io.isCancelled()) {
      status = 'cancelled';
      break;
    }
    let last: Extract<TrainerToHost, { type: 'done' }> | undefined;
    const emit = (m: TrainerToHost) => {
      if (m.type === 'runCreated') runIds.push(m.runId);
      if (m.type === 'done') last = m;
      io.emit(m);
    };
    const where = `seed ${seeds[index]} (${index + 1} of ${seeds.length})`;
    try {
      await runExperiment(req, backend, { emit, isCancelled: io.isCancelled }, { parsed: { ...parsed, config: configForSeed(parsed.config, seeds[index]) }, group: { id, index, seeds } });
    } catch (e) {
      // Its run folder could not even be made (disk full): the group ends here, and says so.
      status = 'failed';
      error = `${where}: ${e instanceof Error ? e.message : String(e)}`;
      break;
    } finally {
      // Each run leaves its models' weights registered with the backend; later seeds need none of them.
      tf.disposeVariables();
    }
    if (last && last.status !== 'done') {
      status = last.status;
      const later = seeds.length - index - 1;
      if (status === 'failed') error = `${where} failed: ${last.error ?? 'unknown error'}${later ? `; ${later} later seed${later === 1 ? '' : 's'} not run` : ''}`;
      break;
    }
  }
  io.emit({ type: 'groupDone', groupId: id, seeds, runIds, status, ...(error ? { error } : {}) });
}
