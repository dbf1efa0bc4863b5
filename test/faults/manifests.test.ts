// Run folders as readers find them: damaged manifests of every shape, trainers that are gone
// although their pid answers (zombie, reused pid, another boot), temp files left by a kill.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { processIdentity } from '../../src/core/processIdentity';
import type { Manifest } from '../../src/core/protocol';
import { createRunDir, listRuns, readManifest, scanRuns, writeJsonAtomic } from '../../src/core/runStore';
import { distill } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'distill-faults-'));

const good = (id: string, extra: Partial<Manifest> = {}): Manifest => ({
  id,
  name: 'x',
  configPath: '/c.distill.json',
  configHash: 'h',
  status: 'done',
  startedAt: '2026-01-01T00:00:00.000Z',
  versions: {},
  seed: 1,
  results: { student: { testAccuracy: 0.9, testErrors: 3, testCount: 30, params: 1, flops: 1, latencyMs: 1 } },
  ...extra,
});

// Each damaged manifest.json text (undefined: a folder where the file should be) and the reason listed.
const DAMAGED: [string, string | undefined, RegExp][] = [
  ['null', 'null', /holds null/],
  ['empty-object', '{}', /has no id, startedAt, status, results/],
  ['array', '[1,2]', /holds an array/],
  ['number', '42', /holds a number/],
  ['no-results', JSON.stringify({ ...good('no-results'), results: undefined }), /has no results/],
  ['no-started', JSON.stringify({ ...good('no-started'), startedAt: undefined }), /has no startedAt/],
  ['started-number', JSON.stringify({ ...good('started-number'), startedAt: 5 }), /startedAt is not a string/],
  ['bad-status', JSON.stringify({ ...good('bad-status'), status: 'weird' }), /status "weird"/],
  ['bad-result', JSON.stringify({ ...good('bad-result'), results: { teacher: null } }), /results\.teacher/],
  ['not-json', '{"id": "x", ', /not valid JSON/],
  ['empty-file', '', /is empty/],
  ['unreadable', undefined, /cannot be read \(EISDIR\)/],
];

function damagedRunsDir(): string {
  const runs = tmp();
  const ok = createRunDir(runs, 'fine', new Date(Date.UTC(2026, 0, 1)));
  writeJsonAtomic(path.join(ok.dir, 'manifest.json'), good(ok.id));
  for (const [name, text] of DAMAGED) {
    fs.mkdirSync(path.join(runs, name));
    if (text === undefined) fs.mkdirSync(path.join(runs, name, 'manifest.json'));
    else fs.writeFileSync(path.join(runs, name, 'manifest.json'), text);
  }
  fs.mkdirSync(path.join(runs, 'not-a-run')); // no manifest at all: not listed
  return runs;
}

test('damaged manifests of every shape are listed as damaged with the reason; the good run still lists', () => {
  const runs = damagedRunsDir();
  const { runs: entries, damaged } = scanRuns(runs);
  assert.deepEqual(entries.map((e) => e.manifest.id), ['20260101-000000-fine']);
  assert.deepEqual(listRuns(runs).map((e) => e.manifest.id), ['20260101-000000-fine'], 'what the Experiments tree reads');
  const reasons = new Map(damaged.map((d) => [path.basename(d.dir), d.reason]));
  for (const [name, , reason] of DAMAGED) assert.match(reasons.get(name) ?? '(not listed)', reason, name);
  assert.equal(damaged.length, DAMAGED.length);
});

test('distill list shows the good run and one "damaged" line per damaged folder, exit 0', async () => {
  const runs = damagedRunsDir();
  const r = await distill(['list', '--runs-dir', runs], os.tmpdir());
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0], /^20260101-000000-fine\s+done\s+student 10\.0% err/);
  assert.equal(lines.length, 1 + DAMAGED.length);
  for (const [name, , reason] of DAMAGED) {
    const line = lines.find((l) => l.startsWith(`${name} `));
    assert.ok(line, `${name} listed`);
    assert.match(line, /\sdamaged\s/);
    assert.match(line, reason);
  }
});

/** A zombie: a child that exits after its parent has exec'd into `sleep`, which never reaps it. */
async function zombie(): Promise<{ pid: number; done(): void }> {
  const sh = spawn('sh', ['-c', 'sleep 1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const pid = Number(await new Promise<string>((r) => sh.stdout.once('data', (d: Buffer) => r(d.toString()))));
  const state = () => {
    try {
      return / \) ([A-Z]) /.exec(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/s, ' )'))?.[1];
    } catch {
      return undefined;
    }
  };
  for (let i = 0; i < 300 && state() !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal(state(), 'Z', 'the test made a zombie');
  return { pid, done: () => sh.kill('SIGKILL') };
}

test('"running" needs the trainer itself: a zombie, a reused pid or another boot reads as failed', { skip: process.platform !== 'linux' && 'needs /proc' }, async () => {
  const runs = tmp();
  const running = (id: string, extra: Partial<Manifest>) => {
    const { dir } = createRunDir(runs, id);
    writeJsonAtomic(path.join(dir, 'manifest.json'), good(id, { status: 'running', results: {}, ...extra }));
    return dir;
  };
  const me = processIdentity();
  assert.ok(me.startTime && me.bootId);
  const z = await zombie();
  try {
    process.kill(z.pid, 0); // the zombie still answers kill(pid, 0)…
    assert.equal(readManifest(running('zombie', { pid: z.pid }))!.status, 'failed'); // …but is no trainer
  } finally {
    z.done();
  }
  // This process is alive, but it is not the trainer that started at another time or in another boot.
  assert.equal(readManifest(running('reused', { pid: me.pid, pidStartTime: String(Number(me.startTime) - 1), bootId: me.bootId }))!.status, 'failed');
  assert.equal(readManifest(running('rebooted', { pid: me.pid, pidStartTime: me.startTime, bootId: '00000000-0000-0000-0000-000000000000' }))!.status, 'failed');
  assert.equal(readManifest(running('alive', { pid: me.pid, pidStartTime: me.startTime, bootId: me.bootId }))!.status, 'running');
  assert.equal(readManifest(running('old-run', { pid: me.pid }))!.status, 'running', 'a manifest from before start times were recorded: pid only');
});

test('temp files left by a killed trainer are removed once its run reads as ended', async () => {
  const runs = tmp();
  const { id, dir } = createRunDir(runs, 'killed');
  const dead = await new Promise<number>((r) => {
    const c = spawn(process.execPath, ['-e', '0']);
    c.on('exit', () => r(c.pid!));
  });
  writeJsonAtomic(path.join(dir, 'manifest.json'), good(id, { status: 'running', results: {}, pid: dead }));
  fs.mkdirSync(path.join(dir, 'probes'));
  fs.mkdirSync(path.join(dir, 'models', 'teacher'), { recursive: true });
  const leftovers = [
    `manifest.json.${dead}.0a1b2c3d.tmp`,
    path.join('probes', `teacher-epoch-0001.json.${dead}.deadbeef.tmp`),
    path.join('models', 'teacher', `.weights.bin.${dead}.k3j4h5g6.tmp`),
  ];
  for (const f of leftovers) fs.writeFileSync(path.join(dir, f), '{"half');
  const mine = `manifest.json.${process.pid}.00000000.tmp`; // a live writer's temp file stays
  fs.writeFileSync(path.join(dir, mine), '');
  assert.equal(listRuns(runs)[0].manifest.status, 'failed');
  for (const f of leftovers) assert.equal(fs.existsSync(path.join(dir, f)), false, `${f} removed`);
  assert.ok(fs.existsSync(path.join(dir, mine)));
});

test('two folders holding one run id (a run folder copied aside) list once, the copy as damaged', () => {
  const runs = tmp();
  const { id, dir } = createRunDir(runs, 'twin', new Date(Date.UTC(2026, 0, 1)));
  writeJsonAtomic(path.join(dir, 'manifest.json'), good(id));
  fs.cpSync(dir, path.join(runs, 'backup'), { recursive: true });
  const { runs: entries, damaged } = scanRuns(runs);
  assert.deepEqual(entries.map((e) => e.dir), [dir], 'the folder named after the id');
  assert.deepEqual(damaged.map((d) => path.basename(d.dir)), ['backup']);
  assert.match(damaged[0].reason, new RegExp(`a second copy of run ${id}`));
});
