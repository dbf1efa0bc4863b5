// Runs that trained into NaN, or were fed a number no float32 holds, end `failed` naming the
// cause, before a broken model is saved or used; and failures print one clean line, no stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertCleanError, assertRunFolderSound, distill, runFolders, workspace, writeConfig } from './helpers';

test('a learning rate of 1e38 with one step per stage fails, blaming the learning rate; no model is saved', async () => {
  const ws = workspace();
  writeConfig(ws, 'hot', { lr: 1e38, batchSize: 200 }); // 120 examples: one step per stage
  const r = await distill(['run', 'hot.distill.json', '--backend', 'cpu'], ws);
  assert.equal(r.code, 1);
  assertCleanError(r, /^error: teacher: the (outputs|parameters) became (NaN|-?Infinity) in epoch 1.*learning rate 1e\+38 is too high/);
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  const manifest = assertRunFolderSound(runDir);
  assert.equal(manifest.status, 'failed');
  assert.deepEqual(manifest.results, {}, 'no made-up test errors');
  assert.equal(fs.existsSync(path.join(runDir, 'models', 'teacher')), false, 'the broken teacher is not saved');
});

test('a CSV cell of 1e39 (no float32) fails before training, naming the file, line and column', async () => {
  const ws = workspace();
  const lines = fs.readFileSync(path.join(ws, 'bars-train.csv'), 'utf8').split('\n');
  const cells = lines[4].split(',');
  cells[3] = '1e39';
  lines[4] = cells.join(',');
  fs.writeFileSync(path.join(ws, 'huge.csv'), lines.join('\n'));
  writeConfig(ws, 'huge', { trainFile: 'huge.csv' });
  const r = await distill(['run', 'huge.distill.json', '--backend', 'cpu'], ws);
  assert.equal(r.code, 1);
  assertCleanError(r, /huge\.csv:5: column 3 .*1e39.*float32/);
  assert.doesNotMatch(r.stdout, /── teacher/, 'nothing trained');
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  assert.equal(assertRunFolderSound(runDir).status, 'failed');
});

test('a failed run prints its message, not a JavaScript stack trace; the trace is in trainer.log', async () => {
  const ws = workspace();
  const text = fs.readFileSync(path.join(ws, 'bars-train.csv'), 'utf8').replace(/\n1,\d+,/, '\n1,"x y",');
  fs.writeFileSync(path.join(ws, 'odd.csv'), text);
  writeConfig(ws, 'odd', { trainFile: 'odd.csv' });
  const r = await distill(['run', 'odd.distill.json', '--backend', 'cpu'], ws);
  assert.equal(r.code, 1);
  assertCleanError(r, /^error: .*odd\.csv:\d+: /);
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  assert.equal(assertRunFolderSound(runDir).status, 'failed');
  assert.match(fs.readFileSync(path.join(runDir, 'trainer.log'), 'utf8'), /^\s+at .*trainer\.js:\d+/m, 'the stack is kept for whoever debugs');
});
