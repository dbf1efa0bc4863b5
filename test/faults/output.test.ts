// CLI output reaches a slow pipe whole (`distill validate … | less`).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cli, workspace } from './helpers';

test('output far past the 64 KB of a pipe buffer is not lost when the reader is slow', () => {
  const ws = workspace();
  const files = Array.from({ length: 3000 }, (_, i) => `missing-${String(i).padStart(5, '0')}.distill.json`);
  const expected = files.map((f) => `${f}: error: no such file\n`).join('');
  assert.ok(expected.length > 65536 + 32768, 'more than a pipe holds');
  // A real pipe (spawn's own stdio is a socket pair with a larger buffer) whose reader starts
  // only once the CLI has exited (or after 5 s, for a CLI that waits for its output to be read).
  const script =
    `("${process.execPath}" "${cli}" validate "$@" 2>&1; touch exited) | ` +
    '(for i in $(seq 50); do [ -f exited ] && break; sleep 0.1; done; cat)';
  const r = spawnSync('sh', ['-c', script, 'sh', ...files], { cwd: ws, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  assert.equal(r.stdout.length, expected.length);
  assert.equal(r.stdout, expected);
});
