// Facts about a data source for the config validator (editor diagnostics, `distill validate`):
// input shape, class count and how many examples exist, and whatever a streaming scan can catch
// that would otherwise fail only at run time (CSV cells that are not numbers, a truncated .gz,
// NaN pixels, empty images), without keeping the data. Built-ins are constants; IDX reads the
// label files and streams through image files that are gzipped or hold floats; CSV streams over
// the files once. Synchronous for the CLI and the trainer; `describeDataSourceAsync` for the
// editor, whose event loop must not wait on a scan. Results for user files are memoised by path,
// size and mtime. Imports no tfjs and none of the big npm dataset packages.
import * as fs from 'fs';
import * as path from 'path';
import type { DataConfig } from '../config/schema';
import { BUILTINS } from './builtins';
import * as zlib from 'zlib';
import { CsvSummary, summarizeCsvFile, summarizeCsvFileAsync } from './csv';
import { checkIdxFile, checkIdxFileAsync, IdxArray, IdxHeader, isGzip, parseIdx, readIdxFileHeader } from './idx';
import { resolveSplitSizes, SplitSizes } from './split';
import type { DataSourceInfo } from './types';

/** Resolves a data path written in a config relative to the config's folder. */
export function resolveDataPath(configDir: string, p: string): string {
  return path.resolve(configDir, p);
}

const memo = new Map<string, { stamp: string; value: unknown }>();

/** Size and mtime of a regular file; a clear error for anything else (a FIFO would block a read). */
export function fileStamp(file: string): string {
  let st: fs.Stats;
  try {
    st = fs.statSync(file);
  } catch (e) {
    throw new Error(`${file}: cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new Error(`${file}: not a regular file`);
  return `${st.size}:${st.mtimeMs}`;
}

function memoByFile<T>(file: string, key: string, compute: () => T): T {
  const stamp = fileStamp(file);
  const k = `${key}\0${file}`;
  const hit = memo.get(k);
  if (hit && hit.stamp === stamp) return hit.value as T;
  const value = compute();
  memo.set(k, { stamp, value });
  return value;
}

async function memoByFileAsync<T>(file: string, key: string, compute: () => Promise<T>): Promise<T> {
  const stamp = fileStamp(file);
  const k = `${key}\0${file}`;
  const hit = memo.get(k);
  if (hit && hit.stamp === stamp) return hit.value as T;
  const value = await compute();
  memo.set(k, { stamp, value });
  return value;
}

/** The per-example shape of IDX images with dims [n, …]: [h, w] → [h, w, 1], [h, w, c], or [features]. */
export function idxExampleShape(dims: number[], file: string): number[] {
  const rest = dims.slice(1);
  if ((rest.length >= 1 && rest.length <= 3) && rest.some((d) => d === 0)) {
    throw new Error(`${file}: IDX images of shape [${rest.join(', ')}] hold no values (a dimension is 0)`);
  }
  if (rest.length === 2) return [rest[0], rest[1], 1];
  if (rest.length === 3 || rest.length === 1) return rest;
  throw new Error(`${file}: IDX images must have 3 dimensions [n, height, width] or 4 [n, height, width, channels] (or 2 [n, features]); this file has [${dims.join(', ')}]`);
}

type ImagesSummary = { header: IdxHeader; shape: number[] };
type LabelsSummary = { count: number; maxLabel: number };

function imagesSummary(header: IdxHeader, file: string): ImagesSummary {
  return { header, shape: idxExampleShape(header.dims, file) };
}

/** The header and example shape of an IDX images file, after checking the whole file (checkIdxFile). */
function idxImagesSummary(file: string): ImagesSummary {
  return memoByFile(file, 'idx-images', () => imagesSummary(checkIdxFile(file), file));
}

function labelsSummary(a: IdxArray, file: string): LabelsSummary {
  checkIdxLabelDims(a.dims, file);
  let max = -1;
  for (let i = 0; i < a.data.length; i++) {
    const v = a.data[i];
    if (!(Number.isInteger(v) && v >= 0)) throw new Error(`${file}: label ${i} is ${v}, not a class index (a non-negative integer)`);
    if (v > max) max = v;
  }
  return { count: a.dims[0], maxLabel: max };
}

function idxLabelsSummary(file: string): LabelsSummary {
  return memoByFile(file, 'idx-labels', () => {
    let bytes: Uint8Array = fs.readFileSync(file);
    if (isGzip(bytes)) bytes = gunzipLabels(bytes, file);
    return labelsSummary(parseIdx(bytes, file), file);
  });
}

function gunzipLabels(bytes: Uint8Array, file: string): Buffer {
  try {
    return zlib.gunzipSync(bytes);
  } catch (e) {
    throw new Error(`${file}: looks gzipped (starts with 1F 8B) but cannot be decompressed: ${(e as Error).message}`);
  }
}

/** A label file is one byte per example (a 60,000-example file is 60 kB): read whole, inflated off the thread. */
async function idxLabelsSummaryAsync(file: string): Promise<LabelsSummary> {
  return memoByFileAsync(file, 'idx-labels', async () => {
    let bytes: Uint8Array = await fs.promises.readFile(file);
    if (isGzip(bytes)) {
      const gz = bytes;
      bytes = await new Promise<Buffer>((resolve, reject) =>
        zlib.gunzip(gz, (e, out) => (e ? reject(new Error(`${file}: looks gzipped (starts with 1F 8B) but cannot be decompressed: ${e.message}`)) : resolve(out))),
      );
    }
    return labelsSummary(parseIdx(bytes, file), file);
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
      const f = idxFiles(config, configDir);
      const ti = idxImagesSummary(f.trainImages);
      const tl = idxLabelsSummary(f.trainLabels);
      const si = idxImagesSummary(f.testImages);
      const sl = idxLabelsSummary(f.testLabels);
      return idxInfo(f, ti, tl, si, sl);
    }
    case 'csv': {
      const { opts, trainFile, testFile, key } = csvFiles(config, configDir);
      const tr = memoByFile(trainFile, key, () => summarizeCsvFile(trainFile, opts));
      const te = memoByFile(testFile, key, () => summarizeCsvFile(testFile, opts));
      return csvInfo(config, trainFile, tr, testFile, te);
    }
  }
}

type IdxConfig = Extract<DataConfig, { dataset: 'idx' }>;
type CsvConfig = Extract<DataConfig, { dataset: 'csv' }>;

function idxFiles(config: IdxConfig, configDir: string) {
  return {
    trainImages: resolveDataPath(configDir, config.trainImages),
    trainLabels: resolveDataPath(configDir, config.trainLabels),
    testImages: resolveDataPath(configDir, config.testImages),
    testLabels: resolveDataPath(configDir, config.testLabels),
  };
}

function idxInfo(f: ReturnType<typeof idxFiles>, ti: ImagesSummary, tl: LabelsSummary, si: ImagesSummary, sl: LabelsSummary): DataSourceInfo {
  checkCounts(f.trainImages, ti.header.dims[0], f.trainLabels, tl.count);
  checkCounts(f.testImages, si.header.dims[0], f.testLabels, sl.count);
  checkSameShape(ti.shape, f.trainImages, si.shape, f.testImages);
  for (const [file, n] of [
    [f.trainImages, tl.count],
    [f.testImages, sl.count],
  ] as const) {
    if (n === 0) throw new Error(`${file} holds no examples`);
  }
  return { inputShape: ti.shape.slice(), numClasses: Math.max(tl.maxLabel, sl.maxLabel) + 1, trainAvailable: tl.count, testAvailable: sl.count };
}

function csvFiles(config: CsvConfig, configDir: string) {
  const opts = { labelColumn: config.labelColumn ?? 0, header: config.header ?? true };
  return { opts, trainFile: resolveDataPath(configDir, config.trainFile), testFile: resolveDataPath(configDir, config.testFile), key: `csv:${opts.labelColumn}:${opts.header}` };
}

function csvInfo(config: CsvConfig, trainFile: string, tr: CsvSummary, testFile: string, te: CsvSummary): DataSourceInfo {
  if (tr.columns !== te.columns) throw new Error(`${trainFile} has ${tr.columns} columns but ${testFile} has ${te.columns}; train and test must match`);
  const inputShape = csvInputShape(tr.features, config.imageShape, trainFile);
  return { inputShape, numClasses: Math.max(tr.maxLabel, te.maxLabel) + 1, trainAvailable: tr.rows, testAvailable: te.rows };
}

/**
 * describeDataSource for the editor: the same facts and errors, with the files read and scanned
 * in chunks between awaits, so the event loop is never held for long. `signal` stops a scan that
 * is no longer wanted (the config changed). For IDX the facts come from the headers and the (small)
 * label files, so `onFacts` hands them over before the image files' whole-file check ends.
 */
export async function describeDataSourceAsync(
  config: DataConfig,
  configDir: string,
  signal?: AbortSignal,
  onFacts?: (info: DataSourceInfo) => void,
): Promise<DataSourceInfo> {
  switch (config.dataset) {
    case 'mnist':
    case 'fashion-mnist':
      return describeDataSource(config, configDir);
    case 'idx': {
      const f = idxFiles(config, configDir);
      const images = (file: string) => memoByFileAsync(file, 'idx-images', async () => imagesSummary(await checkIdxFileAsync(file, signal), file));
      // Labels first: they are small and give the counts; the image scans may take longer.
      const tl = await idxLabelsSummaryAsync(f.trainLabels);
      const sl = await idxLabelsSummaryAsync(f.testLabels);
      const header = (file: string) => imagesSummary(readIdxFileHeader(file), file); // a few kB each
      onFacts?.(idxInfo(f, header(f.trainImages), tl, header(f.testImages), sl));
      const ti = await images(f.trainImages);
      const si = await images(f.testImages);
      return idxInfo(f, ti, tl, si, sl);
    }
    case 'csv': {
      const { opts, trainFile, testFile, key } = csvFiles(config, configDir);
      const tr = await memoByFileAsync(trainFile, key, () => summarizeCsvFileAsync(trainFile, opts, signal));
      const te = await memoByFileAsync(testFile, key, () => summarizeCsvFileAsync(testFile, opts, signal));
      return csvInfo(config, trainFile, tr, testFile, te);
    }
  }
}

/** The files a data config reads (none for the built-ins): what the editor watches for changes. */
export function dataFiles(config: DataConfig, configDir: string): string[] {
  switch (config.dataset) {
    case 'idx':
      return Object.values(idxFiles(config, configDir));
    case 'csv': {
      const { trainFile, testFile } = csvFiles(config, configDir);
      return [trainFile, testFile];
    }
    default:
      return [];
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
