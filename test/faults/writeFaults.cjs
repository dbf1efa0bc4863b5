// Injected write failures: a disk that fills up, for the faults tier. Preloaded into the CLI and
// the trainer it forks (NODE_OPTIONS="--require …/writeFaults.cjs"), or installed in-process.
// Once `afterBytes` bytes have been written under `dir`, writes there fail with ENOSPC: the write
// that crosses the line writes what still fits first (a cut line, a half temp file), as a real
// full disk does. Overwriting a file in place still succeeds within the blocks it already holds
// (4 KiB), as on a real file system, unless `strict` (nothing at all can be written).
//   DISTILL_FAULT_DIR      the folder whose writes fail (the runs folder)
//   DISTILL_FAULT_AFTER    bytes that may still be written there (default 0)
//   DISTILL_FAULT_PROCESS  'trainer', 'cli' or 'both' (default): which process fails
//   DISTILL_FAULT_STRICT   '1': no in-place overwrite either
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const BLOCK = 4096;

function enospc(syscall) {
  return Object.assign(new Error(`ENOSPC: no space left on device, ${syscall}`), { code: 'ENOSPC', errno: -28, syscall });
}

function installWriteFaults({ dir, afterBytes = 0, strict = false }) {
  const root = path.resolve(dir);
  const under = (p) => typeof p === 'string' && (path.resolve(p) + path.sep).startsWith(root + path.sep);
  let budget = afterBytes;
  const fds = new Map(); // fd → { file, inPlace }
  const orig = {
    openSync: fs.openSync,
    closeSync: fs.closeSync,
    writeSync: fs.writeSync,
    writeFileSync: fs.writeFileSync,
    appendFileSync: fs.appendFileSync,
    promisesWriteFile: fs.promises.writeFile,
  };
  const byteLength = (data) => (typeof data === 'string' ? Buffer.byteLength(data) : data.byteLength);
  /** Takes `n` bytes from the budget; returns how many fit. */
  const take = (n) => {
    const ok = Math.max(0, Math.min(n, budget));
    budget -= ok;
    return ok;
  };

  fs.openSync = function (file, flags, ...rest) {
    const fd = orig.openSync.call(fs, file, flags, ...rest);
    if (under(file)) fds.set(fd, { file: String(file), inPlace: flags === 'r+' });
    return fd;
  };
  fs.closeSync = function (fd) {
    fds.delete(fd);
    return orig.closeSync.call(fs, fd);
  };
  fs.writeSync = function (fd, buffer, ...rest) {
    const f = fds.get(fd);
    if (!f) return orig.writeSync.call(fs, fd, buffer, ...rest);
    const buf = typeof buffer === 'string' ? Buffer.from(buffer) : Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    // (fd, buffer, offset, length, position) or (fd, string, position)
    const offset = typeof buffer === 'string' ? 0 : rest[0] ?? 0;
    const length = typeof buffer === 'string' ? buf.length : rest[1] ?? buf.length - offset;
    const position = typeof buffer === 'string' ? rest[0] : rest[2];
    if (f.inPlace && !strict && typeof position === 'number') {
      const size = fs.fstatSync(fd).size;
      const allocated = Math.ceil(size / BLOCK) * BLOCK;
      if (position + length <= allocated) return orig.writeSync.call(fs, fd, buf, offset, length, position);
    }
    const fits = strict ? 0 : take(length);
    if (fits > 0) orig.writeSync.call(fs, fd, buf, offset, fits, position ?? null);
    if (fits < length) throw enospc('write');
    return length;
  };
  const wholeFile = (write) =>
    function (file, data, ...rest) {
      if (!under(file)) return write.call(fs, file, data, ...rest);
      const n = byteLength(data);
      const fits = strict ? 0 : take(n);
      if (fits < n) {
        const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
        if (!strict) write.call(fs, file, buf.subarray(0, fits));
        throw enospc('write');
      }
      return write.call(fs, file, data, ...rest);
    };
  fs.writeFileSync = wholeFile(orig.writeFileSync);
  fs.appendFileSync = wholeFile(orig.appendFileSync);
  fs.promises.writeFile = async function (file, data, ...rest) {
    if (!under(file)) return orig.promisesWriteFile.call(fs.promises, file, data, ...rest);
    const n = byteLength(data);
    const fits = strict ? 0 : take(n);
    if (fits < n) {
      const buf = typeof data === 'string' ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      if (!strict) await orig.promisesWriteFile.call(fs.promises, file, buf.subarray(0, fits));
      throw enospc('write');
    }
    return orig.promisesWriteFile.call(fs.promises, file, data, ...rest);
  };
  return () => {
    fs.openSync = orig.openSync;
    fs.closeSync = orig.closeSync;
    fs.writeSync = orig.writeSync;
    fs.writeFileSync = orig.writeFileSync;
    fs.appendFileSync = orig.appendFileSync;
    fs.promises.writeFile = orig.promisesWriteFile;
  };
}

module.exports = { installWriteFaults };

const env = process.env;
if (env.DISTILL_FAULT_DIR) {
  const isTrainer = /trainer\.js$/.test(process.argv[1] ?? '');
  const which = env.DISTILL_FAULT_PROCESS ?? 'both';
  if (which === 'both' || (which === 'trainer') === isTrainer) {
    installWriteFaults({ dir: env.DISTILL_FAULT_DIR, afterBytes: Number(env.DISTILL_FAULT_AFTER ?? 0), strict: env.DISTILL_FAULT_STRICT === '1' });
  }
}
