// `npm run test:ui`: packages the extension (vsce), then runs test/ui/*.ui.test.ts with mocha
// (bdd) in this Node process; each test file starts its own workbench (helpers.startWorkbench).
// Expects `node esbuild.mjs` to have run. Env: DISTILL_UI_VSIX (use this .vsix, skip packaging),
// DISTILL_UI_GREP, DISTILL_UI_VERBOSE, DISTILL_UI_KEEP.
import * as fs from 'node:fs';
import * as path from 'node:path';
import Mocha from 'mocha';
import { ensureCodeServer } from '../e2e/lib/codeServer';
import { DEFAULT_VSIX, packageExtension } from './helpers';

async function main(): Promise<number> {
  const t0 = Date.now();
  ensureCodeServer();
  if (!process.env.DISTILL_UI_VSIX) {
    packageExtension(DEFAULT_VSIX);
    console.log(`ui: packaged ${path.relative(process.cwd(), DEFAULT_VSIX)} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  }
  const mocha = new Mocha({
    ui: 'bdd',
    timeout: 120_000,
    slow: 10_000,
    grep: process.env.DISTILL_UI_GREP || undefined,
  });
  for (const f of fs.readdirSync(__dirname).filter((f) => f.endsWith('.ui.test.ts')).sort()) {
    mocha.addFile(path.join(__dirname, f));
  }
  await mocha.loadFilesAsync();
  const { passes, failures } = await new Promise<{ passes: number; failures: number }>((resolve) => {
    const runner = mocha.run((failures) => resolve({ passes: runner.stats?.passes ?? 0, failures }));
  });
  console.log(`ui: ${passes} passed, ${failures} failed`);
  console.log(`ui: ${failures === 0 && passes > 0 ? 'PASS' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return failures === 0 && passes > 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
