// What identifies a process beyond its pid, so a run is "running" only while its own trainer
// lives. A pid alone lies: a zombie still answers kill(pid, 0), and after a reboot (or enough
// process churn) the pid belongs to someone else. On Linux the kernel's boot id and the process's
// start time (in clock ticks since boot, /proc/<pid>/stat field 22) pin it down; elsewhere only
// the pid is known and kill(pid, 0) is the best there is.
import * as fs from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** /proc/<pid>/stat starttime: clock ticks after boot. Linux only. */
  startTime?: string;
  /** /proc/sys/kernel/random/boot_id: changes on every boot. Linux only. */
  bootId?: string;
}

interface ProcStat {
  state: string;
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state); starttime is field 22.
  return { state: fields[0], startTime: fields[19] };
}

let bootIdCache: string | null | undefined;
function bootId(): string | undefined {
  if (bootIdCache === undefined) {
    try {
      bootIdCache = fs.readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      bootIdCache = null;
    }
  }
  return bootIdCache ?? undefined;
}

const hasProc = () => process.platform === 'linux' && fs.existsSync('/proc/self/stat');

/** The identity of `pid` (this process by default), as completely as this platform tells it. */
export function processIdentity(pid = process.pid): ProcessIdentity {
  if (!hasProc()) return { pid };
  return { pid, startTime: readStat(pid)?.startTime, bootId: bootId() };
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // it exists, owned by someone else
  }
}

/**
 * Whether the process `id` describes still runs: same boot, same start time, not a zombie. Fields
 * the record lacks (older runs, other platforms) are not checked.
 */
export function isProcessRunning(id: ProcessIdentity): boolean {
  if (!Number.isInteger(id.pid) || id.pid <= 0) return false;
  const currentBoot = id.bootId ? bootId() : undefined;
  if (id.bootId && currentBoot && id.bootId !== currentBoot) return false;
  if (!hasProc()) return pidExists(id.pid);
  const stat = readStat(id.pid);
  if (!stat) return false; // no /proc entry: gone
  if (stat.state === 'Z' || stat.state === 'X') return false; // exited, not yet reaped
  return !id.startTime || id.startTime === stat.startTime;
}
