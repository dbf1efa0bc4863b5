// The extension host stays cheap: dist/extension.js must not pull in TensorFlow.js (training runs
// in the trainer child process). Checks the bundle `npm test` builds before the unit tests.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const dist = path.resolve('dist');

function ensureBuilt(): void {
  if (fs.existsSync(path.join(dist, 'extension.js'))) return;
  const r = spawnSync(process.execPath, ['esbuild.mjs'], { encoding: 'utf8' });
  assert.equal(r.status, 0, `node esbuild.mjs failed:\n${r.stderr}`);
}

test('dist/extension.js contains no @tensorflow code', () => {
  ensureBuilt();
  const js = fs.readFileSync(path.join(dist, 'extension.js'), 'utf8');
  assert.equal(js.includes('@tensorflow'), false, 'dist/extension.js mentions @tensorflow');
  // The source map names every bundled module: none may come from tfjs (catches a minified bundle too).
  const map = path.join(dist, 'extension.js.map');
  if (fs.existsSync(map)) {
    const sources = (JSON.parse(fs.readFileSync(map, 'utf8')) as { sources: string[] }).sources;
    const tf = sources.filter((s) => s.includes('@tensorflow'));
    assert.deepEqual(tf, [], `tfjs modules bundled into the extension: ${tf.join(', ')}`);
    const fromSrc = sources.filter((s) => s.includes('src/trainer/'));
    assert.deepEqual(fromSrc, [], `trainer modules bundled into the extension: ${fromSrc.join(', ')}`);
  }
});

test('dist/extension.js stays small (activation is cheap)', () => {
  ensureBuilt();
  const size = fs.statSync(path.join(dist, 'extension.js')).size;
  assert.ok(size < 1_000_000, `dist/extension.js is ${size} bytes`);
});
