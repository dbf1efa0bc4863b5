// The layering of docs/architecture.md §1 is enforced by `npm run lint` (eslint.config.mjs): these
// imports must be refused where they break it, and allowed where they do not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ESLint } from 'eslint';

const eslint = new ESLint();

async function restricted(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: file });
  return result.messages.filter((m) => m.ruleId === 'no-restricted-imports' || m.ruleId === '@typescript-eslint/no-restricted-imports').map((m) => m.message);
}

test('src/core imports neither vscode nor tfjs nor the layers above it; src/trainer never vscode; webview never host or trainer', async () => {
  const refused: [string, string][] = [
    ['src/core/x.ts', "import type * as vscode from 'vscode';"],
    ['src/core/config/x.ts', "import * as tf from '@tensorflow/tfjs';"],
    ['src/core/x.ts', "import { RunIndex } from '../host/runIndex';"],
    ['src/core/data/x.ts', "import { loadDataset } from '../../trainer/data';"],
    ['src/trainer/x.ts', "import * as vscode from 'vscode';"],
    ['src/trainer/x.ts', "import { RunIndex } from '../host/runIndex';"],
    ['webview/logits/x.ts', "import { RunIndex } from '../../src/host/runIndex';"],
    ['webview/shared/x.ts', "import { train } from '../../src/trainer/train';"],
  ];
  for (const [file, code] of refused) {
    const messages = await restricted(file, `${code}\nexport {};\n`);
    assert.equal(messages.length, 1, `${file}: ${code} should be refused`);
    assert.match(messages[0], /docs\/architecture\.md §1/);
  }
  const allowed: [string, string][] = [
    ['src/host/x.ts', "import * as vscode from 'vscode';"],
    ['src/trainer/x.ts', "import * as tf from '@tensorflow/tfjs';"],
    // A loss's math is typed against the tfjs namespace the trainer passes in; nothing is loaded.
    ['src/core/losses/x.ts', "import type * as tf from '@tensorflow/tfjs';"],
    ['src/trainer/x.ts', "import { parseConfig } from '../core/config/parse';"],
    ['webview/logits/x.ts', "import { PANEL_KINDS } from '../../src/core/webviewProtocol';"],
  ];
  for (const [file, code] of allowed) assert.deepEqual(await restricted(file, `${code}\nexport {};\n`), [], `${file}: ${code}`);
});
