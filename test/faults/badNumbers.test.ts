// Runs that trained into NaN, or were fed a number no float32 holds, end `failed` naming the
// cause, before a broken model is saved or used; and failures print one clean line, no stack.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { checkOutputsFinite, evaluateTrained, NonFiniteError } from '../../src/trainer/finiteCheck';
import { assertCleanError, assertRunFolderSound, distill, runFolders, workspace, writeConfig } from './helpers';

test('a learning rate of 1e38 is refused before anything trains, at each lr\'s line', async () => {
  const ws = workspace();
  writeConfig(ws, 'hot', { lr: 1e38, batchSize: 200 });
  const r = await distill(['run', 'hot.distill.json', '--backend', 'cpu'], ws);
  assert.equal(r.code, 1);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(
    lines.map((l) => l.replace(/:\d+:\d+:/, ':L:C:')),
    ['hot.distill.json:L:C: error: teacher.training.optimizer.lr: must be at most 10, got 1e+38', 'hot.distill.json:L:C: error: training.optimizer.lr: must be at most 10, got 1e+38'],
  );
  assert.equal(fs.existsSync(path.join(ws, '.distill', 'runs')) && runFolders(path.join(ws, '.distill', 'runs')).length > 0, false, 'no run folder');
});

test('weights or outputs that became NaN or Infinity after an epoch blame the learning rate', async () => {
  const at = { stage: 'teacher', epoch: 2, lr: 7 };
  const nan = tf.variable(tf.tensor1d([1, NaN]), true, `finite-test-${Date.now()}`);
  await assert.rejects(
    evaluateTrained(at, [nan], async () => 0),
    (e: Error) => e instanceof NonFiniteError && /^teacher: the parameters became NaN in epoch 2 \(finite-test-\d+\): the learning rate 7 is too high/.test(e.message),
  );
  const fine = tf.variable(tf.tensor1d([1, 2]), true, `finite-test-ok-${Date.now()}`);
  await assert.rejects(
    evaluateTrained(at, [fine], async () => checkOutputsFinite(new Float32Array([0, -Infinity]), 2)),
    (e: Error) => /^teacher: the outputs became -Infinity in epoch 2: the learning rate 7 is too high/.test(e.message),
  );
  assert.equal(await evaluateTrained(at, [fine], async () => 'ok'), 'ok');
  tf.dispose([nan, fine]);
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
  // Valid as written, but there is no earlier run to take the teacher from: the run fails as it starts.
  const file = writeConfig(ws, 'orphan');
  const config = JSON.parse(fs.readFileSync(file, 'utf8'));
  config.teacher = { source: 'run', run: 'latest' };
  fs.writeFileSync(file, JSON.stringify(config, null, 2));
  const r = await distill(['run', 'orphan.distill.json', '--backend', 'cpu'], ws);
  assert.equal(r.code, 1);
  assertCleanError(r, /^error: no finished run of orphan with a saved teacher/);
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  assert.equal(assertRunFolderSound(runDir).status, 'failed');
  assert.match(fs.readFileSync(path.join(runDir, 'trainer.log'), 'utf8'), /^\s+at .*trainer\.js:\d+/m, 'the stack is kept for whoever debugs');
});
