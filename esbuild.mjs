// Builds the bundles of DESIGN.md §1. `--watch` rebuilds on change, `--production` minifies.
// Type checking is separate (`npm run typecheck`), as in the esbuild extension sample.
import * as esbuild from 'esbuild';

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
  // tfjs-node is optional and native; the wasm backend loads its .wasm files from its package
  // folder at run time, so both stay outside the bundle.
  external: ['vscode', '@tensorflow/tfjs-node', '@tensorflow/tfjs-backend-wasm'],
};

const builds = [
  { ...node, entryPoints: { extension: 'src/extension.ts' }, outdir: 'dist' },
  { ...node, entryPoints: { trainer: 'src/trainer/main.ts', cli: 'src/cli.ts' }, outdir: 'dist' },
];

if (watch) {
  for (const b of builds) await (await esbuild.context(b)).watch();
} else {
  await Promise.all(builds.map((b) => esbuild.build(b)));
}
