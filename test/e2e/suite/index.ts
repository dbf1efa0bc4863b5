// Mocha runner loaded by VS Code's extension host (extensionTestsPath = out/test/suite/index.js).
// Runs every *.test.js bundled beside it, then -- only when all of them passed -- writes the
// completion marker named by DISTILL_E2E_MARKER. The launcher and runTests.ts trust a pass only
// with that marker: a crashed extension host or a test that calls process.exit(0) also reports 0.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { format } from 'node:util';
import Mocha from 'mocha';

export interface CompletionMarker {
  passes: number;
  failures: number;
  pending: number;
  total: number;
  durationMs: number;
  finishedAt: string;
}

export function run(): Promise<void> {
  // Under code-server the extension host's console reaches the launcher as pre-joined strings
  // without printf substitution, so the reporters' '%s' formats would show up verbatim.
  Mocha.reporters.Base.consoleLog = (...args: unknown[]) => console.log(format(...args));
  const mocha = new Mocha({
    ui: 'tdd',
    color: false,
    timeout: Number(process.env.DISTILL_E2E_TEST_TIMEOUT_MS || 30_000),
    grep: process.env.DISTILL_E2E_GREP || undefined,
  });
  const files = fs
    .readdirSync(__dirname)
    .filter((f) => f.endsWith('.test.js'))
    .sort();
  for (const f of files) mocha.addFile(path.join(__dirname, f));

  const marker = process.env.DISTILL_E2E_MARKER;
  if (marker) fs.rmSync(marker, { force: true });
  const started = Date.now();

  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        const stats = runner.stats;
        const passes = stats?.passes ?? 0;
        const result: CompletionMarker = {
          passes,
          failures,
          pending: stats?.pending ?? 0,
          total: runner.total,
          durationMs: Date.now() - started,
          finishedAt: new Date().toISOString(),
        };
        console.log(`e2e: ${passes} passed, ${failures} failed`);
        if (failures > 0) {
          reject(new Error(`${failures} test(s) failed`));
        } else if (passes === 0) {
          reject(new Error('no test ran'));
        } else {
          if (marker) fs.writeFileSync(marker, JSON.stringify(result, null, 2));
          resolve();
        }
      });
    } catch (e) {
      reject(e);
    }
  });
}
