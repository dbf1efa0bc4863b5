// CLI output reaches a slow pipe whole (`distill validate … | less`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cli, sleep, workspace } from './helpers';

test('output far past the 64 KB of a pipe buffer is not lost when the reader is slow', async () => {
  const ws = workspace();
  const files = Array.from({ length: 3000 }, (_, i) => `missing-${String(i).padStart(5, '0')}.distill.json`);
  const expected = files.map((f) => `${f}: error: no such file\n`).join('');
  assert.ok(expected.length > 65536 + 32768, 'more than a pipe holds');
  const child = spawn(process.execPath, [cli, 'validate', ...files], { cwd: ws, stdio: ['ignore', 'ignore', 'pipe'] });
  // Read nothing for a second: the CLI is done long before, with most of its output still unread.
  child.stderr.pause();
  await sleep(1000);
  let text = '';
  child.stderr.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr.resume();
  const code = await new Promise((r) => child.on('close', r));
  assert.equal(code, 1);
  assert.equal(text.length, expected.length);
  assert.equal(text, expected);
});
