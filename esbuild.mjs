// Builds the bundles of docs/architecture.md §1. `--watch` rebuilds on change, `--production` minifies.
// Type checking is separate (`npm run typecheck`), as in the esbuild extension sample.
import * as esbuild from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const production = process.argv.includes('--production');
const watch = process.argv.includes('--watch');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // jsonc-parser's `main` is a UMD build whose dynamic requires esbuild cannot follow; prefer ESM.
  mainFields: ['module', 'main'],
  // Recorded in each run's manifest (versions.distillLab).
  define: { 'process.env.DISTILL_LAB_VERSION': JSON.stringify(JSON.parse(readFileSync('package.json', 'utf8')).version) },
  // tfjs-node is optional and native, so it stays outside the bundle. The wasm backend is
  // bundled (the .vsix ships dist/ without node_modules); its .wasm binaries are copied below.
  external: ['vscode', '@tensorflow/tfjs-node'],
};

// The wasm binaries src/trainer/backend.ts loads from next to the bundle: the SIMD build, the plain
// one (engines without SIMD) and the threaded SIMD build (started through src/trainer/wasmThreads.ts
// where the native addon is missing).
const wasmDist = dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm'));
mkdirSync('dist', { recursive: true });
for (const f of ['tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-threaded-simd.wasm']) copyFileSync(join(wasmDist, f), join('dist', f));
// The threaded build's glue, which its workers load by path (src/trainer/wasmThreads.ts).
for (const f of ['tfjs-backend-wasm-threaded-simd.js', 'tfjs-backend-wasm-threaded-simd.worker.js']) copyFileSync(join(wasmDist, '..', 'wasm-out', f), join('dist', f));

// Dawn's Node bindings for the webgpu backend (src/trainer/webgpu.ts): the build machine's
// platform folder (dawn.node, plus the shader-compiler DLLs on Windows), 20–40 MB, so one
// platform per .vsix, like the OpenBLAS addon. The other platforms' builds stay in node_modules.
const dawnPlatform = process.platform === 'darwin' ? 'darwin-universal' : `${process.platform}-${process.arch}`;
const dawnDir = join(dirname(createRequire(import.meta.url).resolve('webgpu/package.json')), 'dist', dawnPlatform);
if (existsSync(dawnDir)) {
  mkdirSync(join('dist', 'webgpu', dawnPlatform), { recursive: true });
  for (const f of readdirSync(dawnDir)) {
    const to = join('dist', 'webgpu', dawnPlatform, f);
    // 20 MB: skip the copy when the same file is there already (every `npm run build`).
    if (!existsSync(to) || statSync(to).size !== statSync(join(dawnDir, f)).size) copyFileSync(join(dawnDir, f), to);
  }
}

// The result panels' apps (webview/<app>/main.ts → dist/webview/<app>.js), loaded by the panel
// hosts under a strict CSP; plus uPlot's stylesheet, which they link.
const webviewApps = ['logits', 'lossSplit', 'featureMaps', 'relations', 'modelLayers', 'compare'];
const browser = {
  bundle: true,
  platform: 'browser',
  target: 'chrome120',
  format: 'iife',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  outdir: 'dist/webview',
};

const builds = [
  { ...browser, entryPoints: Object.fromEntries(webviewApps.map((a) => [a, `webview/${a}/main.ts`])) },
  { ...browser, entryPoints: { uplot: 'node_modules/uplot/dist/uPlot.min.css' } },
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { trainer: 'src/trainer/main.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { cli: 'src/cli.ts' }, outdir: 'dist', banner: { js: '#!/usr/bin/env node' } },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
