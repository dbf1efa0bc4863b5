// Data facts for the editor's validator without blocking the extension host: the validator asks
// synchronously (core's ValidationEnv.describeData), this answers from a cache keyed by the data
// files' size and mtime, and on a miss starts the asynchronous scan (describeDataSourceAsync:
// chunked reads between awaits) and answers "unknown" meanwhile — the checks that need the facts
// wait, the rest of the config is checked at once. Facts known from the headers (IDX) come first,
// the whole-file content check after; each time, listeners revalidate.
// Pure Node (no vscode): unit tested on its own.
import * as fs from 'node:fs';
import type { DataFacts } from '../core/config/env';
import type { DataConfig } from '../core/config/schema';
import { dataFiles, describeDataSourceAsync } from '../core/data/describe';
import type { DataSourceInfo } from '../core/data/types';

type Describe = (data: DataConfig, configDir: string, signal: AbortSignal, onFacts: (info: DataSourceInfo) => void) => Promise<DataSourceInfo>;

interface Entry {
  stamp: string;
  state: 'scanning' | 'done';
  facts?: DataFacts;
  error?: string;
  abort: AbortController;
}

/** Data sources remembered at once (a few configs open, each with its data). */
const MAX_ENTRIES = 16;

export class DataFactsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly listeners = new Set<() => void>();

  constructor(private readonly describeAsync: Describe = describeDataSourceAsync) {}

  /** Called when a scan ends (facts or an error are known now). */
  onDidChange(listener: () => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** Scans in progress (for tests and the bench). */
  get scanning(): number {
    return [...this.entries.values()].filter((e) => e.state === 'scanning').length;
  }

  /**
   * For ValidationEnv.describeData: the facts if the last scan of these files (as they are now) is
   * done; throws its error if it failed; undefined (unknown) while a scan runs, starting one if needed.
   */
  describe(data: DataConfig, configDir: string): DataFacts | undefined {
    const files = dataFiles(data, configDir);
    if (!files.length) return undefined; // built-ins are known to core
    const key = keyOf(data, files);
    const stamp = files.map(stampOf).join('|');
    const hit = this.entries.get(key);
    if (hit && hit.stamp === stamp) {
      if (hit.error !== undefined) throw new Error(hit.error);
      return hit.facts; // possibly the headers' facts while the content check still runs
    }
    hit?.abort.abort();
    const entry: Entry = { stamp, state: 'scanning', abort: new AbortController() };
    this.entries.delete(key);
    this.entries.set(key, entry);
    while (this.entries.size > MAX_ENTRIES) {
      const [oldest, e] = this.entries.entries().next().value as [string, Entry];
      e.abort.abort();
      this.entries.delete(oldest);
    }
    const early = (info: DataSourceInfo) => {
      if (entry.abort.signal.aborted || this.entries.get(key) !== entry) return;
      entry.facts = factsOf(info);
      this.fire();
    };
    this.describeAsync(data, configDir, entry.abort.signal, early).then(
      (info) => this.settle(key, entry, { facts: factsOf(info) }),
      (e: unknown) => this.settle(key, entry, { error: e instanceof Error ? e.message : String(e) }),
    );
    return undefined;
  }

  /** Stops every scan. */
  dispose(): void {
    for (const e of this.entries.values()) e.abort.abort();
    this.entries.clear();
    this.listeners.clear();
  }

  private settle(key: string, entry: Entry, result: { facts?: DataFacts; error?: string }): void {
    if (entry.abort.signal.aborted || this.entries.get(key) !== entry) return; // superseded
    entry.state = 'done';
    entry.facts = result.facts;
    entry.error = result.error;
    this.fire();
  }

  private fire(): void {
    for (const l of [...this.listeners]) l();
  }
}

const factsOf = (info: DataSourceInfo): DataFacts => ({ inputShape: info.inputShape, numClasses: info.numClasses, trainAvailable: info.trainAvailable, testAvailable: info.testAvailable });

/** What the scan depends on: the files and how they are read (not sizes or normalisation). */
function keyOf(data: DataConfig, files: string[]): string {
  const how = data.dataset === 'csv' ? [data.labelColumn ?? 0, data.header ?? true, data.imageShape ?? null] : [];
  return JSON.stringify([data.dataset, files, how]);
}

function stampOf(file: string): string {
  try {
    const st = fs.statSync(file);
    return `${st.size}:${st.mtimeMs}:${st.isFile() ? 'f' : 'x'}`;
  } catch {
    return '-';
  }
}
