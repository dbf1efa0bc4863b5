// The data loader: turns the `data` part of a config into normalised Float32 splits (no tfjs here;
// the trainer makes tensors). See core/data/split.ts for how examples are chosen and builtin-cache.ts for the
// built-in datasets' binary cache.
import * as fs from 'fs';
import * as path from 'path';
import type { DataConfig } from '../../core/config/schema';
import { BuiltinName, BUILTINS } from '../../core/data/builtins';
import { CacheResult, ensureBuiltinCache, readBuiltinCache } from './builtin-cache';
import { readCsvFile } from '../../core/data/csv';
import { checkCounts, checkIdxLabelDims, checkSameShape, csvInputShape, idxExampleShape, resolveDataPath, sourceLabel } from '../../core/data/describe';
import { IdxData, readIdxFile } from '../../core/data/idx';
import { gather, normalizeSplits, planPool, planSeparate, SplitPlan } from '../../core/data/split';
import type { Dataset, LoadOptions, Split } from '../../core/data/types';

export type { Dataset, DataSourceInfo, LoadOptions, Normalization, NormalizeMethod, Split } from '../../core/data/types';
export { describeDataSource, resolveDataPath, splitSizes } from '../../core/data/describe';
export type { SplitSizes } from '../../core/data/split';
export { BUILTINS, CACHE_LAYOUT, FASHION_MNIST_CLASS_NAMES, MNIST_CLASS_NAMES } from '../../core/data/builtins';
export { ensureBuiltinCache } from './builtin-cache';
export { readIdxFile, readIdxFileHeader, parseIdx, parseIdxHeader, encodeIdxUbyte } from '../../core/data/idx';

interface Source {
  x: ArrayLike<number>;
  y: Uint8Array | Int32Array;
  count: number;
}

function build(
  name: string,
  inputShape: number[],
  numClasses: number,
  train: Source,
  test: Source,
  plan: SplitPlan,
  normalize: DataConfig['normalize'],
): Omit<Dataset, 'cache'> {
  const rowSize = inputShape.reduce((a, b) => a * b, 1);
  const trainSplit = gather(train.x, train.y, rowSize, plan.train);
  const validation = gather(train.x, train.y, rowSize, plan.validation);
  const testSplit = gather(test.x, test.y, rowSize, plan.test);
  const splits: Split[] = [validation, testSplit];
  const normalization = normalizeSplits(normalize ?? 'unit', { train: trainSplit, others: splits }, rowSize, inputShape.length === 1);
  return { name, inputShape, numClasses, train: trainSplit, validation, test: testSplit, normalization };
}

function labelsOf(data: IdxData, file: string): Uint8Array | Int32Array {
  if (data instanceof Uint8Array) return data;
  const out = new Int32Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${file}: label ${i} is ${v}, not a class index (a non-negative integer)`);
    out[i] = v;
  }
  return out;
}

function maxLabel(y: Uint8Array | Int32Array): number {
  let m = -1;
  for (let i = 0; i < y.length; i++) if (y[i] > m) m = y[i];
  return m;
}

/** Finds or makes a built-in's cache and reads it; a damaged cache in cacheDir is rebuilt once. */
function openBuiltin<T>(name: BuiltinName, opts: LoadOptions, read: (dir: string) => T): { cache: CacheResult; pools: T } {
  const o = { ...opts, packagePaths: [opts.configDir] };
  const cache = ensureBuiltinCache(name, o);
  try {
    return { cache, pools: read(cache.dir) };
  } catch (e) {
    if (!cache.hit || path.dirname(cache.dir) !== path.resolve(opts.cacheDir)) throw e;
    opts.log?.(`The ${name} cache in ${cache.dir} is damaged (${(e as Error).message}); rebuilding it.`);
    fs.rmSync(cache.dir, { recursive: true, force: true });
    const fresh = ensureBuiltinCache(name, o);
    return { cache: fresh, pools: read(fresh.dir) };
  }
}

/**
 * Loads the configured data as train / validation / test splits, normalised. Deterministic: the
 * same (data config, seed) always gives the same examples in the same order.
 * Built-ins are read from their binary cache in `opts.cacheDir`, converting once on first use.
 * Throws an Error naming the field or file:line for any problem; sizes larger than available throw.
 */
export async function loadDataset(config: DataConfig, opts: LoadOptions): Promise<Dataset> {
  const seed = opts.seed;
  switch (config.dataset) {
    case 'mnist': {
      const info = BUILTINS.mnist;
      const { cache, pools } = openBuiltin('mnist', opts, (dir) => readBuiltinCache('mnist', dir));
      const { all } = pools;
      const plan = planPool(all.count, config, seed, 'mnist');
      const ds = build('mnist', info.inputShape.slice(), info.numClasses, all, all, plan, config.normalize);
      return { ...ds, classNames: info.classNames?.slice(), cache };
    }
    case 'fashion-mnist': {
      const info = BUILTINS['fashion-mnist'];
      const { cache, pools } = openBuiltin('fashion-mnist', opts, (dir) => readBuiltinCache('fashion-mnist', dir));
      const { train, test } = pools;
      const plan = planSeparate(train.count, test.count, config, seed, 'fashion-mnist');
      const ds = build('fashion-mnist', info.inputShape.slice(), info.numClasses, train, test, plan, config.normalize);
      return { ...ds, classNames: info.classNames?.slice(), cache };
    }
    case 'idx': {
      const f = {
        trainImages: resolveDataPath(opts.configDir, config.trainImages),
        trainLabels: resolveDataPath(opts.configDir, config.trainLabels),
        testImages: resolveDataPath(opts.configDir, config.testImages),
        testLabels: resolveDataPath(opts.configDir, config.testLabels),
      };
      const ti = readIdxFile(f.trainImages);
      const tl = readIdxFile(f.trainLabels);
      const si = readIdxFile(f.testImages);
      const sl = readIdxFile(f.testLabels);
      const shape = idxExampleShape(ti.dims, f.trainImages);
      checkSameShape(shape, f.trainImages, idxExampleShape(si.dims, f.testImages), f.testImages);
      checkIdxLabelDims(tl.dims, f.trainLabels);
      checkIdxLabelDims(sl.dims, f.testLabels);
      checkCounts(f.trainImages, ti.dims[0], f.trainLabels, tl.dims[0]);
      checkCounts(f.testImages, si.dims[0], f.testLabels, sl.dims[0]);
      const train = { x: ti.data, y: labelsOf(tl.data, f.trainLabels), count: ti.dims[0] };
      const test = { x: si.data, y: labelsOf(sl.data, f.testLabels), count: si.dims[0] };
      const numClasses = Math.max(maxLabel(train.y), maxLabel(test.y)) + 1;
      const plan = planSeparate(train.count, test.count, config, seed, sourceLabel(config));
      return build(`idx:${path.basename(f.trainImages)}`, shape, numClasses, train, test, plan, config.normalize);
    }
    case 'csv': {
      const csvOpts = { labelColumn: config.labelColumn ?? 0, header: config.header ?? true };
      const trainFile = resolveDataPath(opts.configDir, config.trainFile);
      const testFile = resolveDataPath(opts.configDir, config.testFile);
      const train = readCsvFile(trainFile, csvOpts);
      const test = readCsvFile(testFile, csvOpts);
      if (train.features !== test.features) {
        throw new Error(`${trainFile} has ${train.features} feature columns but ${testFile} has ${test.features}; train and test must match`);
      }
      const shape = csvInputShape(train.features, config.imageShape, trainFile);
      const numClasses = Math.max(maxLabel(train.y), maxLabel(test.y)) + 1;
      const plan = planSeparate(train.count, test.count, config, seed, sourceLabel(config));
      return build(`csv:${path.basename(trainFile)}`, shape, numClasses, train, test, plan, config.normalize);
    }
  }
}
