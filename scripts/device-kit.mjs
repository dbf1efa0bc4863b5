// Packs the GPU measurements of issue #11 for a machine that has a GPU driver but no Node, no
// node_modules and no network (the device machine some sessions are lent): the built trainer and
// CLI, the benchmarks bundled, dawn.node, the wasm binaries, the built-in datasets' caches, the
// examples, this Node binary (stripped), Debian's Vulkan loader and glvnd packages, and
// scripts/device-check.sh as run.sh; all in one xz archive, since unpacked it is over 64 MiB.
//   npm run device:kit      → out/device-kit.tar.xz (git-ignored)
//   there: bash scripts/device-check.sh --unpack out/device-kit.tar.xz   (carry out/device-kit.tar.xz)
// The archive and the repository's tracked files travel together and must stay under the device
// tool's 64 MiB; this script fails above it.
import * as esbuild from 'esbuild';
import { copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const KIT = join('out', 'device-kit');
const ARCHIVE = `${KIT}.tar.xz`;
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

// Dawn needs Linux's Vulkan loader, and NVIDIA's Vulkan driver the glvnd libraries; a bare
// container has neither. run.sh unpacks these packages (downloaded, not installed) only where the
// system has no loader.
const DEBS = ['libvulkan1', 'libglvnd0', 'libegl1', 'libgl1', 'libglx0', 'libgles2', 'libopengl0'];
mkdirSync(join(KIT, 'debs'), { recursive: true });
const dl = spawnSync('apt-get', ['download', ...DEBS], { cwd: join(KIT, 'debs'), encoding: 'utf8' });
if (dl.status !== 0) console.warn(`[device-kit] apt-get download failed (${dl.stderr.trim().split('\n').pop()}): the device needs its own ${DEBS.join(' ')}`);

// The device has no Node: this one, stripped of its symbols (99 → 86 MB).
mkdirSync(join(KIT, 'bin'), { recursive: true });
copyFileSync(process.execPath, join(KIT, 'bin', 'node'));
spawnSync('strip', [join(KIT, 'bin', 'node')]);

rmSync(ARCHIVE, { force: true });
const xz = spawnSync('sh', ['-c', `tar -C out -cf - device-kit | xz -T0 -9 > ${ARCHIVE}`], { stdio: 'inherit' });
if (xz.status !== 0) throw new Error('tar | xz failed');
const tracked = spawnSync('git', ['ls-files', '-z'], { encoding: 'utf8' }).stdout.split('\0').filter((f) => f && existsSync(f));
const travels = statSync(ARCHIVE).size + tracked.reduce((s, f) => s + statSync(f).size, 0);
const mib = (n) => (n / 1024 / 1024).toFixed(1);
if (travels > LIMIT) throw new Error(`${ARCHIVE} and the tracked files are ${mib(travels)} MiB, over the 64 MiB the device tool carries`);
console.log(`[device-kit] ${ARCHIVE}: ${mib(statSync(ARCHIVE).size)} MiB (${mib(travels)} MiB with the tracked files)`);
console.log(`[device-kit] on the device: bash scripts/device-check.sh --unpack ${ARCHIVE}   (carry ${ARCHIVE}; results in $OUT)`);
