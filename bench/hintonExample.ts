// The Hinton example as the training benchmarks load it (bench/train.bench.ts, bench/profile.bench.ts):
// the config parsed as the CLI parses it, and its dataset from the shared cache.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../src/core/config/parse';
import { defaultNodeEnv } from '../src/core/config/nodeEnv';
import { describeDataSource, loadDataset } from '../src/trainer/data';
import { defaultCacheDir } from '../src/trainer/experiment';

export const HINTON_EXAMPLE = path.join(__dirname, '..', 'examples', 'hinton-mnist.distill.json');

export async function loadHintonExample() {
  const { config } = parseConfig(fs.readFileSync(HINTON_EXAMPLE, 'utf8'), HINTON_EXAMPLE, defaultNodeEnv({ describeData: describeDataSource }));
  if (!config || config.teacher?.source !== 'train') throw new Error(`${HINTON_EXAMPLE} does not parse`);
  const data = await loadDataset(config.data, { configDir: path.dirname(HINTON_EXAMPLE), seed: config.seed, cacheDir: defaultCacheDir(), log: () => {} });
  return { config, teacher: config.teacher, data };
}
