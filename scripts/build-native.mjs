// Builds the optional native BLAS addon (native/blas, docs/architecture.md §5: OpenBLAS; Accelerate on macOS) into dist/native/distill_blas.node.
//   node scripts/build-native.mjs [--force]
// Optional by design: without a C compiler, libopenblas-dev or node-gyp, it prints one line saying
// why the native fast path is unavailable and exits 0, and the trainer keeps its wasm kernels.
// Up to date (output newer than its sources and this script): does nothing.
// node-gyp builds in out/native-build/ (git-ignored) so the source folder stays clean, against
// the local Node headers (npm's nodedir, else <node prefix>/include/node): no header download.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'native', 'blas');
const sources = ['binding.gyp', 'distill_blas.c'].map((f) => join(srcDir, f));
const buildDir = join(root, 'out', 'native-build');
const target = join(root, 'dist', 'native', 'distill_blas.node');

function unavailable(why) {
  console.log(`[build-native] native BLAS fast path unavailable (training uses the wasm kernels): ${why}`);
  process.exit(0);
}

const mtime = (f) => statSync(f).mtimeMs;
if (!process.argv.includes('--force') && existsSync(target)) {
  const newest = Math.max(...[...sources, fileURLToPath(import.meta.url)].map(mtime));
  if (mtime(target) >= newest) process.exit(0);
}

// Preflight: compile and link a probe the way binding.gyp does, for a one-line reason.
const cc = process.env.CC || 'cc';
const probeDir = mkdtempSync(join(tmpdir(), 'distill-blas-'));
const probe = join(probeDir, 'probe.c');
// macOS links Accelerate (always there), everything else OpenBLAS (binding.gyp's conditions).
const mac = process.platform === 'darwin';
writeFileSync(
  probe,
  mac
    ? '#include <Accelerate/Accelerate.h>\nint main(void) { float c = 0; cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, 1, 1, 1, 1, &c, 1, &c, 1, 0, &c, 1); return 0; }\n'
    : '#include <cblas.h>\nint main(void) { return openblas_get_config() == 0; }\n',
);
const linkArgs = mac ? ['-framework', 'Accelerate'] : ['-I/usr/include/openblas', '-lopenblas'];
const pr = spawnSync(cc, [probe, ...linkArgs, '-o', join(probeDir, 'probe')], { encoding: 'utf8' });
rmSync(probeDir, { recursive: true, force: true });
if (pr.error) unavailable(`no C compiler (${cc}: ${pr.error.code ?? pr.error.message})`);
if (pr.status !== 0) {
  if (/cblas\.h/.test(pr.stderr)) unavailable('cblas.h not found (Debian/Ubuntu: apt-get install libopenblas-dev)');
  if (/-lopenblas|openblas_get_config/.test(pr.stderr)) unavailable('libopenblas not found (Debian/Ubuntu: apt-get install libopenblas-dev)');
  unavailable(`probe compile failed: ${pr.stderr.trim().split('\n').pop()}`);
}

// npm's own node-gyp (there is no node-gyp dependency): next to npm-cli.js when run by npm, else
// in the npm installed beside this node.
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_execpath) candidates.push(join(dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  const prefix = dirname(dirname(process.execPath));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(join(root, 'package.json')).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // npm's own node-gyp is not where this npm keeps it: try the other candidates.
  }
  return candidates.find((c) => existsSync(c));
}
const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable('node-gyp not found (looked beside npm)');

function findNodeDir() {
  const fromNpm = process.env.npm_config_nodedir;
  if (fromNpm && existsSync(join(fromNpm, 'include', 'node', 'node_api.h'))) return fromNpm;
  const prefix = dirname(dirname(process.execPath));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined; // node-gyp will try to download headers
}
const nodedir = findNodeDir();

rmSync(buildDir, { recursive: true, force: true });
mkdirSync(buildDir, { recursive: true });
for (const s of sources) copyFileSync(s, join(buildDir, s.slice(srcDir.length + 1)));
const args = [nodeGyp, 'rebuild', '--release', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, { cwd: buildDir, encoding: 'utf8' });
if (r.status !== 0) {
  const log = join(buildDir, 'build.log');
  writeFileSync(log, `${r.stdout ?? ''}\n${r.stderr ?? ''}`);
  const line = (r.stderr || r.stdout || String(r.error)).split('\n').find((l) => /error/i.test(l)) ?? `exit ${r.status}`;
  unavailable(`node-gyp failed: ${line.trim()} (full log: ${log})`);
}
mkdirSync(dirname(target), { recursive: true });
copyFileSync(join(buildDir, 'build', 'Release', 'distill_blas.node'), target);

// Load it once here, in a separate process (a broken .node must not crash the build), so a
// library that links but does not load is reported now rather than at the first run.
try {
  const info = execFileSync(process.execPath, ['-e', `console.log(JSON.stringify(require(${JSON.stringify(target)}).info()))`], { encoding: 'utf8' });
  const { config, threads } = JSON.parse(info);
  console.log(`[build-native] built ${target.slice(root.length + 1)}: ${config} (${threads} threads)`);
} catch (e) {
  rmSync(target, { force: true });
  unavailable(`built, but it does not load: ${String(e.stderr || e.message).trim().split('\n')[0]}`);
}
