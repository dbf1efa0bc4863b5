// A full disk, in the trainer and in the CLI: every run ends with a true status whenever anything
// can be written, says "disk full" plainly when nothing can, and leaves no temp file, no cut
// metrics line, no unparseable JSON. The failure is injected through fs (writeFaults.cjs); where
// this process may mount file systems, a real full tmpfs is tried too.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { markRunEnded, readManifest, writeJsonAtomic } from '../../src/core/runStore';
import { startTrainer } from '../../src/core/trainerClient';
import { installWriteFaults } from './writeFaults.cjs';
import { assertCleanError, assertRunFolderSound, diskFullEnv, distill, runFolders, startCli, workspace } from './helpers';

test('disk full before the run has a manifest: one "disk full" line, no run folder left behind', async () => {
  const ws = workspace();
  const runs = path.join(ws, '.distill', 'runs');
  fs.mkdirSync(runs, { recursive: true });
  const r = await distill(['run', 'tiny.distill.json', '--backend', 'cpu'], ws, diskFullEnv(runs, { process: 'trainer' }));
  assert.equal(r.code, 1);
  assertCleanError(r, /^error: disk full \(no space left on device\)/);
  assert.deepEqual(runFolders(runs), []);
});

// Budgets that run out at different places: the log and first records, mid-metrics, in probes and models.
for (const afterBytes of [3000, 20000, 60000]) {
  test(`disk full mid-run (after ${afterBytes} bytes): status failed with "disk full", nothing cut or left behind`, async () => {
    const ws = workspace({ chatty: { epochs: 40, probeSamples: 30 } });
    const runs = path.join(ws, '.distill', 'runs');
    fs.mkdirSync(runs, { recursive: true });
    const r = await distill(['run', 'chatty.distill.json', '--backend', 'cpu'], ws, diskFullEnv(runs, { afterBytes, process: 'trainer' }));
    assert.equal(r.code, 1, r.stdout);
    assertCleanError(r, /^error: disk full \(no space left on device\) writing /);
    assert.match(r.stderr, /run folder \(marked failed\)/);
    const [runDir] = runFolders(runs);
    const manifest = assertRunFolderSound(runDir);
    assert.equal(manifest.status, 'failed');
    assert.match(String(manifest.error), /disk full/);
  });
}

test('the trainer killed on a full disk: the CLI exit handler does not crash, and says the status could not be recorded', async () => {
  const ws = workspace({ long: { epochs: 3000 } });
  const runs = path.join(ws, '.distill', 'runs');
  fs.mkdirSync(runs, { recursive: true });
  // The CLI's own writes fail (strict: not even in place); the trainer writes normally.
  const run = startCli(['run', 'long.distill.json', '--backend', 'cpu'], ws, { env: diskFullEnv(runs, { process: 'cli', strict: true }) });
  await run.waitFor(/teacher\s+epoch\s+2 /);
  const [runDir] = runFolders(runs);
  const pid = JSON.parse(fs.readFileSync(path.join(runDir, 'manifest.json'), 'utf8')).pid as number;
  process.kill(pid, 'SIGKILL');
  assert.equal(await run.exited, 1);
  assertCleanError(run, /^error: the trainer exited unexpectedly \(SIGKILL\); the run's status could not be recorded: disk full/);
  assert.match(run.stderr, /run folder \(its status could not be recorded\)/);
  assertRunFolderSound(runDir);
  assert.equal(readManifest(runDir)!.status, 'failed', 'readers still see a dead trainer as failed');
});

test('atomic writes remove their temp file when the disk is full; markRunEnded never throws', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-faults-'));
  const manifest = { id: 'r', name: 'r', configPath: '/c', configHash: 'h', status: 'running', startedAt: new Date().toISOString(), versions: {}, seed: 1, results: {} };
  writeJsonAtomic(path.join(dir, 'manifest.json'), manifest);
  const uninstall = installWriteFaults({ dir, afterBytes: 10 });
  try {
    assert.throws(() => writeJsonAtomic(path.join(dir, 'manifest.json'), { ...manifest, big: 'x'.repeat(5000) }), { code: 'ENOSPC' });
    assert.deepEqual(fs.readdirSync(dir), ['manifest.json']);
    // In place, within the blocks the manifest holds: the final status still gets recorded.
    assert.deepEqual(markRunEnded(dir, 'failed', 'x'), { ok: true });
  } finally {
    uninstall();
  }
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8')).status, 'failed');
  writeJsonAtomic(path.join(dir, 'manifest.json'), manifest);
  const strict = installWriteFaults({ dir, strict: true });
  try {
    const r = markRunEnded(dir, 'cancelled');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /status could not be recorded: disk full/);
  } finally {
    strict();
  }
  assert.deepEqual(fs.readdirSync(dir), ['manifest.json']);
});

test('the host side (startTrainer, as the extension uses it): a trainer killed on a full disk still resolves `done`, no throw', async () => {
  const ws = workspace({ long: { epochs: 3000 } });
  const runs = path.join(ws, '.distill', 'runs');
  let runDir = '';
  const handle = startTrainer(
    { type: 'start', configPath: path.join(ws, 'long.distill.json'), runsDir: runs, backend: 'cpu' },
    {
      trainerScript: path.resolve('dist/trainer.js'),
      onMessage: (m) => {
        if (m.type === 'runCreated') runDir = m.runDir;
        // Once training goes, this process's disk is full (strict) and the trainer dies.
        if (m.type === 'progress' && !uninstall) {
          uninstall = installWriteFaults({ dir: runs, strict: true });
          handle.process.kill('SIGKILL');
        }
      },
    },
  );
  let uninstall: (() => void) | undefined;
  try {
    const done = await handle.done; // an exception in the exit handler would leave this pending forever
    assert.equal(done.status, 'failed');
    assert.match(done.error!, /exited unexpectedly \(SIGKILL\); the run's status could not be recorded: disk full/);
  } finally {
    uninstall?.();
  }
  assertRunFolderSound(runDir);
});

/** A 256 KiB tmpfs, or why there is none (not root, no mount permission: the injected tests above cover it). */
function smallTmpfs(): { dir: string } | { skip: string } {
  if (process.platform !== 'linux') return { skip: 'tmpfs needs Linux' };
  if (process.getuid?.() !== 0) return { skip: 'mounting a tmpfs needs root' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-tmpfs-'));
  const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir], { encoding: 'utf8' });
  if (r.status !== 0) return { skip: `mount is not permitted here: ${(r.stderr || r.error?.message || '').trim()}` };
  after(() => spawnSync('umount', [dir]));
  return { dir };
}

const tmpfs = smallTmpfs();
test('a real full disk (256 KiB tmpfs): the run ends failed with "disk full", sound folder', { skip: 'skip' in tmpfs ? tmpfs.skip : false }, async () => {
  assert.ok('dir' in tmpfs);
  const ws = workspace({ chatty: { epochs: 40, probeSamples: 30 } });
  const r = await distill(['run', 'chatty.distill.json', '--backend', 'cpu', '--runs-dir', tmpfs.dir], ws);
  assert.equal(r.code, 1, r.stdout);
  assertCleanError(r, /^error: disk full \(no space left on device\)/);
  const [runDir] = runFolders(tmpfs.dir);
  const manifest = assertRunFolderSound(runDir);
  assert.equal(manifest.status, 'failed');
});
