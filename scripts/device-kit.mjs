// Packs the GPU measurements of issue #11 for a machine that has Node and a GPU driver but no
// node_modules and no network (the device machine some sessions are lent): the built trainer and
// CLI, the benchmarks bundled, dawn.node, the wasm binaries, the built-in datasets' caches, the
// examples, the Vulkan loader when this machine has one, and scripts/device-check.sh as run.sh.
//   npm run device:kit      → out/device-kit/ (git-ignored; carry it: `bash out/device-kit/run.sh`)
// The kit must stay under the device tool's 64 MiB carry limit; this script fails above it.
import * as esbuild from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const KIT = join('out', 'device-kit');
const LIMIT = 64 * 1024 * 1024;

if (!existsSync(join('dist', 'trainer.js'))) throw new Error('dist/ is not built: run `npm run build` first');
rmSync(KIT, { recursive: true, force: true });
mkdirSync(join(KIT, 'dist'), { recursive: true });

// What the trainer finds next to its bundle (src/trainer/backend.ts, webgpu.ts; the datasets
// through DISTILL_CACHE_DIR, which run.sh sets). Source maps and the extension stay behind.
for (const f of readdirSync('dist')) {
  if (f.endsWith('.map') || ['extension.js', 'webview', 'native'].includes(f)) continue;
  cpSync(join('dist', f), join(KIT, 'dist', f), { recursive: true });
}
// The benchmarks next to the trainer bundle, so they resolve the same files from __dirname; they
// find the examples one folder up, as from bench/.
await esbuild.build({
  entryPoints: { 'bench-train': 'bench/train.bench.ts', 'bench-profile': 'bench/profile.bench.ts' },
  outdir: join(KIT, 'dist'),
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  mainFields: ['module', 'main'],
  external: ['vscode', '@tensorflow/tfjs-node'],
  minify: true, // 8 → 4 MB for the two: the fashion-mnist cache and dawn.node leave little room
  logLevel: 'warning',
});
cpSync('examples', join(KIT, 'examples'), { recursive: true });
copyFileSync(join('scripts', 'device-check.sh'), join(KIT, 'run.sh'));

// Dawn needs Linux's Vulkan loader; a machine without the package gets this one (run.sh adds it
// to the library path only when the system has none). Where this machine has none either, Debian's
// package is downloaded (not installed) and unpacked.
const loader = ['/usr/lib/x86_64-linux-gnu/libvulkan.so.1', '/usr/lib64/libvulkan.so.1'].find((f) => existsSync(f)) ?? debianLoader();
function debianLoader() {
  const tmp = join('out', 'device-kit-apt');
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const dl = spawnSync('apt-get', ['download', 'libvulkan1'], { cwd: tmp, encoding: 'utf8' });
  const deb = dl.status === 0 ? readdirSync(tmp).find((f) => f.endsWith('.deb')) : undefined;
  if (!deb || spawnSync('dpkg-deb', ['-x', join(tmp, deb), join(tmp, 'root')]).status !== 0) return undefined;
  const file = join(tmp, 'root', 'usr', 'lib', 'x86_64-linux-gnu', 'libvulkan.so.1');
  return existsSync(file) ? file : undefined;
}
if (loader) {
  mkdirSync(join(KIT, 'lib'), { recursive: true });
  copyFileSync(loader, join(KIT, 'lib', 'libvulkan.so.1'));
}
rmSync(join('out', 'device-kit-apt'), { recursive: true, force: true });

const size = (p) => (statSync(p).isDirectory() ? readdirSync(p).reduce((s, f) => s + size(join(p, f)), 0) : statSync(p).size);
const bytes = size(KIT);
const mib = (bytes / 1024 / 1024).toFixed(1);
if (bytes > LIMIT) throw new Error(`${KIT} is ${mib} MiB, over the 64 MiB the device tool carries`);
console.log(`[device-kit] ${KIT}: ${mib} MiB${loader ? '' : ' (no Vulkan loader here to carry: the device needs its own libvulkan1)'}`);
console.log(`[device-kit] on the device: bash ${KIT}/run.sh   (carry ${KIT}; results in $OUT)`);
