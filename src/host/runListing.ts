// The runs folders as the editor lists them (tree, CodeLens, panels' pickers): read asynchronously
// in small batches, so a folder of 1,000 runs never holds the extension host's event loop, and
// cached by manifest modification time, so a refresh re-reads only the manifests that changed.
// Which file events concern a listing is decided here too: a manifest rewritten, a run folder
// added or removed — not the metrics appends and probe files a running run writes all the time.
// Pure Node (no vscode): unit tested and benchmarked on its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { MANIFEST, readManifest, type RunEntry } from '../core/runStore';

/** Run folders whose manifests are checked between yields to the event loop. */
const BATCH = 16;

interface Cached {
  /** Size and mtime of manifest.json when it was read. */
  stamp: string;
  entry: RunEntry | undefined;
}

const newestFirst = (a: RunEntry, b: RunEntry) => b.manifest.startedAt.localeCompare(a.manifest.startedAt) || b.manifest.id.localeCompare(a.manifest.id);

export class RunListing {
  private readonly cache = new Map<string, Cached>();
  /** Manifests read (not served from the cache) since this listing was made: for tests and the bench. */
  reads = 0;

  /** Every readable run in `runsDir`, newest first, read without blocking. */
  async list(runsDir: string): Promise<RunEntry[]> {
    let names: string[];
    try {
      names = await fs.promises.readdir(runsDir);
    } catch {
      return this.forget(runsDir, []);
    }
    const out: RunEntry[] = [];
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH).map((n) => path.join(runsDir, n));
      const stamps = await Promise.all(batch.map((dir) => fs.promises.stat(path.join(dir, MANIFEST)).then(stampOf, () => undefined)));
      batch.forEach((dir, k) => {
        const e = this.entry(dir, stamps[k]);
        if (e) out.push(e);
      });
      // Let other work run between batches (a stat batch already yields; reads may not).
      if (i + BATCH < names.length) await new Promise((r) => setImmediate(r));
    }
    return this.forget(runsDir, out).sort(newestFirst);
  }

  /** The same listing read synchronously (a first look that cannot wait), filling the same cache. */
  listSync(runsDir: string): RunEntry[] {
    let names: string[];
    try {
      names = fs.readdirSync(runsDir);
    } catch {
      return this.forget(runsDir, []);
    }
    const out: RunEntry[] = [];
    for (const n of names) {
      const dir = path.join(runsDir, n);
      let stamp: string | undefined;
      try {
        stamp = stampOf(fs.statSync(path.join(dir, MANIFEST)));
      } catch {
        stamp = undefined;
      }
      const e = this.entry(dir, stamp);
      if (e) out.push(e);
    }
    return this.forget(runsDir, out).sort(newestFirst);
  }

  private entry(dir: string, stamp: string | undefined): RunEntry | undefined {
    if (stamp === undefined) {
      this.cache.delete(dir);
      return undefined;
    }
    const hit = this.cache.get(dir);
    // A run still marked running is re-read every time: readManifest reports it failed once its
    // trainer is gone, which changes no file.
    if (hit && hit.stamp === stamp && hit.entry?.manifest.status !== 'running') return hit.entry;
    this.reads++;
    const manifest = readManifest(dir);
    const entry = manifest ? { dir, manifest } : undefined;
    this.cache.set(dir, { stamp, entry });
    return entry;
  }

  /** Drops cached runs of `runsDir` that are no longer listed. */
  private forget(runsDir: string, listed: RunEntry[]): RunEntry[] {
    const keep = new Set(listed.map((e) => e.dir));
    const prefix = runsDir + path.sep;
    for (const dir of this.cache.keys()) if (dir.startsWith(prefix) && !keep.has(dir) && !dir.slice(prefix.length).includes(path.sep)) this.cache.delete(dir);
    return listed;
  }
}

function stampOf(st: fs.Stats): string {
  return `${st.size}:${st.mtimeMs}`;
}

/**
 * Whether a file event at `changed` can change the listing of these runs folders: a manifest
 * written (directly or by the rename that ends an atomic write), a run folder appearing or
 * disappearing, or a runs folder (or a folder above it) being created or removed. Appends to
 * metrics.jsonl, probe files, logs and temp files do not.
 */
export function affectsListing(changed: string, runsDirs: readonly string[]): boolean {
  const p = path.resolve(changed);
  if (path.basename(p) === MANIFEST) return true;
  return runsDirs.some((d) => {
    const dir = path.resolve(d);
    return p === dir || path.dirname(p) === dir || dir.startsWith(p + path.sep);
  });
}
