// Runs that must not lie or get lost: a parent that reads slowly, signals from every direction,
// a run folder moved or deleted under a running trainer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertCleanError, assertRunFolderSound, distill, runFolders, sleep, startCli, workspace } from './helpers';

test('a CLI stopped (SIGSTOP) while the trainer finishes still gets `done`: exit 0, status done', async () => {
  // 40 epochs with 30 probe samples: enough messages to fill the IPC socket while the CLI sleeps.
  const ws = workspace({ chatty: { epochs: 40, probeSamples: 30 } });
  const run = startCli(['run', 'chatty.distill.json', '--backend', 'cpu'], ws);
  await run.waitFor(/── teacher/);
  process.kill(run.child.pid!, 'SIGSTOP');
  // Stopped until the trainer has recorded the end of the run, and a second more: time enough for
  // a trainer that does not wait for its messages to be read to exit and lose them.
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  const status = () => JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8')).status;
  for (let i = 0; i < 600 && status() === 'running'; i++) await sleep(100);
  await sleep(1000);
  process.kill(run.child.pid!, 'SIGCONT');
  const code = await run.exited;
  assert.equal(code, 0, run.stderr);
  assert.doesNotMatch(run.stderr, /exited unexpectedly/);
  assert.match(run.stdout, /run folder: /);
  assert.equal(assertRunFolderSound(runDir).status, 'done');
});

for (const [signal, code] of [['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  test(`${signal} to the CLI cancels the run cleanly: status cancelled, exit ${code}`, async () => {
    const ws = workspace({ long: { epochs: 3000 } });
    const run = startCli(['run', 'long.distill.json', '--backend', 'cpu'], ws);
    await run.waitFor(/teacher\s+epoch\s+2 /);
    process.kill(run.child.pid!, signal);
    assert.equal(await run.exited, code, run.stderr);
    assert.match(run.stdout, /cancelled; what was recorded is in /);
    const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
    const manifest = assertRunFolderSound(runDir);
    assert.equal(manifest.status, 'cancelled');
    assert.ok(manifest.endedAt);
  });
}

test('Ctrl-C (SIGINT to the whole process group, trainer included) ends as cancelled, not a dead trainer', async () => {
  const ws = workspace({ long: { epochs: 3000 } });
  const run = startCli(['run', 'long.distill.json', '--backend', 'cpu'], ws, { group: true });
  await run.waitFor(/teacher\s+epoch\s+2 /);
  process.kill(-run.child.pid!, 'SIGINT');
  assert.equal(await run.exited, 130, run.stderr);
  assert.doesNotMatch(run.stderr, /exited unexpectedly/);
  const [runDir] = runFolders(path.join(ws, '.distill', 'runs'));
  const manifest = assertRunFolderSound(runDir);
  assert.equal(manifest.status, 'cancelled');
  // Recorded by the trainer itself, stopping at a step: not by the CLI after the trainer died of the signal.
  assert.match(fs.readFileSync(path.join(runDir, 'trainer.log'), 'utf8'), /INFO cancelled\n$/);
});

test('a run folder deleted mid-run is not re-created: the run fails saying so', async () => {
  const ws = workspace({ long: { epochs: 3000 } });
  const run = startCli(['run', 'long.distill.json', '--backend', 'cpu'], ws);
  await run.waitFor(/teacher\s+epoch\s+2 /);
  const runs = path.join(ws, '.distill', 'runs');
  const [runDir] = runFolders(runs);
  // The trainer paused meanwhile: a trainer writing a file every few milliseconds makes an
  // `rm -rf` race it (ENOTEMPTY); what is tested is what the trainer does once the folder is gone.
  const trainer = JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8')).pid as number;
  process.kill(trainer, 'SIGSTOP');
  try {
    fs.rmSync(runDir, { recursive: true, force: true });
  } finally {
    process.kill(trainer, 'SIGCONT');
  }
  assert.equal(await run.exited, 1);
  assertCleanError(run, /run folder .* was deleted or moved while the run was going/);
  assert.deepEqual(runFolders(runs), [], 'no stub folder');
});

test('a run folder moved mid-run lists once, as failed, and no stub appears in its place', async () => {
  const ws = workspace({ long: { epochs: 3000 } });
  const run = startCli(['run', 'long.distill.json', '--backend', 'cpu'], ws);
  await run.waitFor(/teacher\s+epoch\s+2 /);
  const runs = path.join(ws, '.distill', 'runs');
  const [runDir] = runFolders(runs);
  const id = path.basename(runDir);
  const moved = path.join(runs, `moved-${id}`);
  fs.renameSync(runDir, moved);
  assert.equal(await run.exited, 1);
  assertCleanError(run, /was deleted or moved while the run was going/);
  assert.deepEqual(runFolders(runs), [moved], 'no stub at the old place');
  const list = await distill(['list'], ws);
  const lines = list.stdout.trim().split('\n');
  assert.equal(lines.length, 1, list.stdout);
  assert.match(lines[0], new RegExp(`^${id}\\s+failed`));
  // A file the trainer was writing when the folder moved went with it, out of the trainer's reach;
  // the listing that reads the run as ended removes it.
  assertRunFolderSound(moved);
});
