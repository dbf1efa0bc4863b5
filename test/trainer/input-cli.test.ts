// `distill validate` on input that used to crash or hang it (issue 9): each bad file gets one line
// naming it, and the files after it are still checked. Runs dist/cli.js (built by `npm test` first).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const cli = path.resolve('dist/cli.js');

test('validate: a deep file, a FIFO and a folder each get one named line; later files are still checked', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-input-cli-'));
  fs.writeFileSync(path.join(dir, 'deep.distill.json'), '{"a":'.repeat(5000) + '1' + '}'.repeat(5000));
  fs.writeFileSync(path.join(dir, 'arrays.distill.json'), '['.repeat(8000) + ']'.repeat(8000));
  execFileSync('mkfifo', [path.join(dir, 'fifo.distill.json')]);
  fs.mkdirSync(path.join(dir, 'folder.distill.json'));
  fs.copyFileSync('examples/quick-mnist.distill.json', path.join(dir, 'good.distill.json'));
  const files = ['deep.distill.json', 'arrays.distill.json', 'fifo.distill.json', 'folder.distill.json', 'missing.distill.json', 'good.distill.json'];
  // A hang (reading the FIFO) ends in the timeout and fails the status check.
  const r = spawnSync(process.execPath, [cli, 'validate', ...files], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 1, `status ${r.status} signal ${r.signal}\n${r.stderr}`);
  const lines = r.stderr.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.split(':')[0]), files.slice(0, 5), r.stderr);
  assert.match(lines[0], /^deep\.distill\.json:1:\d+: error: invalid config: values nested more than 64 levels deep/);
  assert.match(lines[1], /^arrays\.distill\.json:1:65: error: invalid config: values nested more than 64 levels deep/);
  assert.equal(lines[2], 'fifo.distill.json: error: is not a regular file (a pipe, socket or device); give the path of a *.distill.json file');
  assert.equal(lines[3], 'folder.distill.json: error: is a directory, not a config file');
  assert.equal(lines[4], 'missing.distill.json: error: no such file');
  assert.equal(r.stdout.trim(), 'good.distill.json: valid');
  assert.doesNotMatch(r.stderr, /Maximum call stack|EISDIR|at .*\.js:\d+/);
});
