// Cheap facts about a data source for the config validator (editor diagnostics, `distill validate`):
// input shape, class count and how many examples exist, without loading the data. Built-ins are
// constants; IDX reads image headers and the (small) label files; CSV streams over the files
// once. Results for user files are memoised by path, size and mtime. Imports no tfjs and none of
// the big npm dataset packages.
import * as fs from 'fs';
import * as path from 'path';
import type { DataConfig } from '../config/schema';
import { BUILTINS } from './builtins';
import { summarizeCsvFile } from './csv';
import { IdxHeader, readIdxFile, readIdxFileHeader } from './idx';
import { resolveSplitSizes, SplitSizes } from './split';
import type { DataSourceInfo } from './types';

/** Resolves a data path written in a config relative to the config's folder. */
export function resolveDataPath(configDir: string, p: string): string {
  return path.resolve(configDir, p);
}

const memo = new Map<string, { stamp: string; value: unknown }>();

function memoByFile<T>(file: string, key: string, compute: () => T): T {
  let stamp: string;
  try {
    const st = fs.statSync(file);
    stamp = `${st.size}:${st.mtimeMs}`;
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  const k = `${key}\0${file}`;
  const hit = memo.get(k);
  if (hit && hit.stamp === stamp) return hit.value as T;
  const value = compute();
  memo.set(k, { stamp, value });
  return value;
}

/** The per-example shape of IDX images with dims [n, …]: [h, w] → [h, w, 1], [h, w, c], or [features]. */
export function idxExampleShape(dims: number[], file: string): number[] {
  const rest = dims.slice(1);
  if (rest.length === 2) return [rest[0], rest[1], 1];
  if (rest.length === 3 || rest.length === 1) return rest;
  throw new Error(`${file}: IDX images must have 3 dimensions [n, height, width] or 4 [n, height, width, channels] (or 2 [n, features]); this file has [${dims.join(', ')}]`);
}

export function idxImagesHeader(file: string): { header: IdxHeader; shape: number[] } {
  return memoByFile(file, 'idx-header', () => {
    const header = readIdxFileHeader(file);
    return { header, shape: idxExampleShape(header.dims, file) };
  });
}

export function idxLabelsSummary(file: string): { count: number; maxLabel: number } {
  return memoByFile(file, 'idx-labels', () => {
    const a = readIdxFile(file);
    checkIdxLabelDims(a.dims, file);
    let max = -1;
    for (let i = 0; i < a.data.length; i++) {
      const v = a.data[i];
      if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${file}: label ${i} is ${v}, not a class index (a non-negative integer)`);
      if (v > max) max = v;
    }
    return { count: a.dims[0], maxLabel: max };
  });
}

export function checkIdxLabelDims(dims: number[], file: string): void {
  if (!(dims.length === 1 || (dims.length === 2 && dims[1] === 1))) {
    throw new Error(`${file}: IDX labels must have 1 dimension [n]; this file has [${dims.join(', ')}]`);
  }
}

export function checkCounts(imagesFile: string, images: number, labelsFile: string, labels: number): void {
  if (images !== labels) {
    throw new Error(`${imagesFile} has ${images.toLocaleString('en-US')} images but ${labelsFile} has ${labels.toLocaleString('en-US')} labels; the counts must match`);
  }
}

export function checkSameShape(a: number[], fileA: string, b: number[], fileB: string): void {
  if (a.join('x') !== b.join('x')) throw new Error(`${fileA} holds examples of shape [${a.join(', ')}] but ${fileB} holds [${b.join(', ')}]; train and test must match`);
}

/** Input shape [h, w, c] or [features] of CSV data, checking imageShape against the feature count. */
export function csvInputShape(features: number, imageShape: number[] | undefined, file: string): number[] {
  if (!imageShape) return [features];
  const n = imageShape.reduce((a, b) => a * b, 1);
  if (n !== features) {
    throw new Error(`data.imageShape [${imageShape.join(', ')}] needs ${n} values per example, but ${file} has ${features} feature columns (all columns but the label)`);
  }
  return imageShape.slice();
}

/**
 * Shape, class count and available examples of the configured data, without loading it.
 * Throws an Error with a readable message when the files are missing or inconsistent.
 */
export function describeDataSource(config: DataConfig, configDir: string): DataSourceInfo {
  switch (config.dataset) {
    case 'mnist': {
      const b = BUILTINS.mnist;
      const total = b.testAvailable;
      const test = config.testSize ?? Math.round(total * (config.testFraction ?? 0.2));
      return { inputShape: b.inputShape.slice(), numClasses: b.numClasses, trainAvailable: Math.max(0, total - test), testAvailable: total, classNames: b.classNames?.slice(), sharedPool: true };
    }
    case 'fashion-mnist': {
      const b = BUILTINS['fashion-mnist'];
      return { inputShape: b.inputShape.slice(), numClasses: b.numClasses, trainAvailable: b.trainAvailable, testAvailable: b.testAvailable, classNames: b.classNames?.slice() };
    }
    case 'idx': {
      const f = {
        trainImages: resolveDataPath(configDir, config.trainImages),
        trainLabels: resolveDataPath(configDir, config.trainLabels),
        testImages: resolveDataPath(configDir, config.testImages),
        testLabels: resolveDataPath(configDir, config.testLabels),
      };
      const ti = idxImagesHeader(f.trainImages);
      const tl = idxLabelsSummary(f.trainLabels);
      const si = idxImagesHeader(f.testImages);
      const sl = idxLabelsSummary(f.testLabels);
      checkCounts(f.trainImages, ti.header.dims[0], f.trainLabels, tl.count);
      checkCounts(f.testImages, si.header.dims[0], f.testLabels, sl.count);
      checkSameShape(ti.shape, f.trainImages, si.shape, f.testImages);
      return { inputShape: ti.shape.slice(), numClasses: Math.max(tl.maxLabel, sl.maxLabel) + 1, trainAvailable: tl.count, testAvailable: sl.count };
    }
    case 'csv': {
      const opts = { labelColumn: config.labelColumn ?? 0, header: config.header ?? true };
      const trainFile = resolveDataPath(configDir, config.trainFile);
      const testFile = resolveDataPath(configDir, config.testFile);
      const key = `csv:${opts.labelColumn}:${opts.header}`;
      const tr = memoByFile(trainFile, key, () => summarizeCsvFile(trainFile, opts));
      const te = memoByFile(testFile, key, () => summarizeCsvFile(testFile, opts));
      if (tr.columns !== te.columns) throw new Error(`${trainFile} has ${tr.columns} columns but ${testFile} has ${te.columns}; train and test must match`);
      const inputShape = csvInputShape(tr.features, config.imageShape, trainFile);
      return { inputShape, numClasses: Math.max(tr.maxLabel, te.maxLabel) + 1, trainAvailable: tr.rows, testAvailable: te.rows };
    }
  }
}

/** How error messages name the data: the built-in's name, or the training file's name. */
export function sourceLabel(config: DataConfig): string {
  switch (config.dataset) {
    case 'idx':
      return path.basename(config.trainImages);
    case 'csv':
      return path.basename(config.trainFile);
    default:
      return config.dataset;
  }
}

/**
 * The number of train / validation / test examples the loader will produce for this config, or an
 * Error naming the offending field and the available count (the same check and message as
 * loadDataset). Pure given `info` from describeDataSource.
 */
export function splitSizes(config: DataConfig, info: DataSourceInfo): SplitSizes {
  // For the shared mnist pool the sizes are resolved against the whole pool (testAvailable).
  const trainCount = info.sharedPool ? info.testAvailable : info.trainAvailable;
  return resolveSplitSizes({ trainCount, testCount: info.testAvailable, pool: info.sharedPool, label: sourceLabel(config) }, config);
}
