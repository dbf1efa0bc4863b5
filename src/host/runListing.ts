// The runs folders as the editor lists them (tree, CodeLens, panels' pickers): read asynchronously
// in small batches, so a folder of 1,000 runs never holds the extension host's event loop, and
// cached by manifest modification time, so a refresh re-reads only the manifests that changed.
// Which file events concern a listing is decided here too: a manifest rewritten, a run folder
// added or removed — not the metrics appends and probe files a running run writes all the time.
// Pure Node (no vscode): unit tested and benchmarked on its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { collectRuns, type DamagedRun, MANIFEST, readRunFolder, type RunEntry, type RunFolderState } from '../core/runStore';

/** Run folders whose manifests are checked between yields to the event loop. */
const BATCH = 16;

interface Cached {
  /** Size and mtime of manifest.json when it was read. */
  stamp: string;
  state: RunFolderState | undefined;
}

/** A runs folder as listed: its readable runs, newest first, and its damaged run folders. */
export interface Listing {
  runs: RunEntry[];
  damaged: DamagedRun[];
}

type Folder = { dir: string; state: RunFolderState | undefined };

export class RunListing {
  private readonly cache = new Map<string, Cached>();
  /** Manifests read (not served from the cache) since this listing was made: for tests and the bench. */
  reads = 0;

  /** Every run folder in `runsDir` (see scanRuns), read without blocking. */
  async list(runsDir: string): Promise<Listing> {
    let names: string[];
    try {
      names = await fs.promises.readdir(runsDir);
    } catch {
      return this.forget(runsDir, []);
    }
    const out: Folder[] = [];
    for (let i = 0; i < names.length; i += BATCH) {
      const batch = names.slice(i, i + BATCH).map((n) => path.join(runsDir, n));
      const stamps = await Promise.all(batch.map((dir) => fs.promises.stat(path.join(dir, MANIFEST)).then(stampOf, () => undefined)));
      batch.forEach((dir, k) => out.push({ dir, state: this.state(dir, stamps[k]) }));
      // Let other work run between batches (a stat batch already yields; reads may not).
      if (i + BATCH < names.length) await new Promise((r) => setImmediate(r));
    }
    return this.forget(runsDir, out);
  }

  /** The same listing read synchronously (a first look that cannot wait), filling the same cache. */
  listSync(runsDir: string): Listing {
    let names: string[];
    try {
      names = fs.readdirSync(runsDir);
    } catch {
      return this.forget(runsDir, []);
    }
    const out: Folder[] = names.map((n) => {
      const dir = path.join(runsDir, n);
      let stamp: string | undefined;
      try {
        stamp = stampOf(fs.statSync(path.join(dir, MANIFEST)));
      } catch {
        stamp = undefined;
      }
      return { dir, state: this.state(dir, stamp) };
    });
    return this.forget(runsDir, out);
  }

  private state(dir: string, stamp: string | undefined): RunFolderState | undefined {
    if (stamp === undefined) {
      this.cache.delete(dir);
      return undefined;
    }
    const hit = this.cache.get(dir);
    // A run still marked running is re-read every time: readRunFolder reports it failed once its
    // trainer is gone, which changes no file.
    const running = hit?.state && 'manifest' in hit.state && hit.state.manifest.status === 'running';
    if (hit && hit.stamp === stamp && !running) return hit.state;
    this.reads++;
    const state = readRunFolder(dir);
    this.cache.set(dir, { stamp, state });
    return state;
  }

  /** Drops cached runs of `runsDir` that are no longer listed; the folders as a listing. */
  private forget(runsDir: string, listed: Folder[]): Listing {
    const keep = new Set(listed.map((e) => e.dir));
    const prefix = runsDir + path.sep;
    for (const dir of this.cache.keys()) if (dir.startsWith(prefix) && !keep.has(dir) && !dir.slice(prefix.length).includes(path.sep)) this.cache.delete(dir);
    return collectRuns(listed);
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
