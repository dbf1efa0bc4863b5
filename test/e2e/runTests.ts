// `npm run test:e2e`: bundles the extension-host test suite (test/e2e/suite) into out/test/suite
// and runs it with @vscode/test-electron's runTests. The "VS Code executable" is
// DISTILL_VSCODE_EXECUTABLE when set (a real desktop VS Code), otherwise the code-server
// launcher (test/e2e/code-server-launcher.js, docs/architecture.md §6); nothing is downloaded.
// Expects the extension built (`node esbuild.mjs`). A pass needs exit code 0 AND the completion
// marker the suite writes after all tests passed.
// Env: DISTILL_E2E_GREP (mocha grep), DISTILL_E2E_VERBOSE, DISTILL_E2E_TIMEOUT_MS, DISTILL_E2E_KEEP.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as esbuild from 'esbuild';
import { runTests } from '@vscode/test-electron';
import * as h from './lib/codeServer';

const ROOT = h.REPO_ROOT;
const OUT = path.join(ROOT, 'out', 'test', 'suite');
const LAUNCHER = path.join(__dirname, 'code-server-launcher.js');

async function bundleSuite(): Promise<string> {
  const suiteDir = path.join(__dirname, 'suite');
  const entries = fs.readdirSync(suiteDir).filter((f) => f === 'index.ts' || f.endsWith('.test.ts'));
  fs.rmSync(OUT, { recursive: true, force: true });
  await esbuild.build({
    entryPoints: entries.map((f) => path.join(suiteDir, f)),
    outdir: OUT,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'inline',
    // vscode is provided by the extension host; mocha is loaded from node_modules so that the
    // runner (index.js) and the test files share one instance.
    external: ['vscode', 'mocha'],
    logLevel: 'warning',
  });
  return path.join(OUT, 'index.js');
}

async function main(): Promise<number> {
  const t0 = Date.now();
  if (!fs.existsSync(path.join(ROOT, 'dist', 'extension.js'))) {
    console.error('dist/extension.js missing: run `node esbuild.mjs` (npm run build) first');
    return 1;
  }
  const extensionTestsPath = await bundleSuite();

  const runDir = h.mkTemp('distill-e2e-run-');
  const workspace = h.copyFixtureWorkspace();
  const marker = path.join(runDir, 'tests-complete.json');

  let vscodeExecutablePath = process.env.DISTILL_VSCODE_EXECUTABLE;
  if (!vscodeExecutablePath) {
    vscodeExecutablePath = LAUNCHER;
    fs.chmodSync(LAUNCHER, 0o755); // the exec bit may not survive every checkout
    h.ensureCodeServer();
  }
  console.log(`e2e: executable ${path.relative(ROOT, vscodeExecutablePath) || vscodeExecutablePath}, workspace ${workspace}`);

  let code: number;
  try {
    code = await runTests({
      vscodeExecutablePath,
      extensionDevelopmentPath: ROOT,
      extensionTestsPath,
      launchArgs: [
        workspace,
        `--user-data-dir=${path.join(runDir, 'user-data')}`,
        `--extensions-dir=${path.join(runDir, 'extensions')}`,
        '--disable-extensions',
      ],
      extensionTestsEnv: {
        DISTILL_E2E_MARKER: marker,
        DISTILL_E2E_WORKSPACE: workspace,
      },
    });
  } catch (e) {
    const err = e as { code?: number; message?: string };
    console.error(`e2e: ${err.message ?? e}`);
    code = typeof err.code === 'number' && err.code !== 0 ? err.code : 1;
  }

  if (code === 0) {
    if (!fs.existsSync(marker)) {
      console.error('e2e: exit code 0 but no completion marker: counting as failure');
      code = 1;
    } else {
      const m = JSON.parse(fs.readFileSync(marker, 'utf8')) as { passes: number; failures: number };
      if (m.failures !== 0 || m.passes === 0) code = 1;
    }
  }
  if (!process.env.DISTILL_E2E_KEEP) {
    h.rmrf(runDir);
    h.rmrf(path.dirname(workspace));
  }
  console.log(`e2e: ${code === 0 ? 'PASS' : 'FAIL'} in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
  return code;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    console.error(e);
    process.exit(1);
  },
);
