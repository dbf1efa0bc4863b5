// Probe records fetched from the host one epoch at a time (a 1,000-epoch run's probes do not fit
// in one message), cached, with at most one request in flight: while the user drags the epoch
// scrubber only the newest wanted epoch is asked for next.
import type { ProbeRecord, StageName } from '../../src/core/protocol';
import type { HostToWebview, ProbeIndex } from '../../src/core/webviewProtocol';
import { post, requestId } from './api';

export type EpochProbes = Partial<Record<StageName, ProbeRecord>>;

const CACHE = 64;

export class ProbeStore {
  index?: ProbeIndex;
  private cache = new Map<number, EpochProbes>();
  /** Per cached epoch, the models asked for (a view may want more models of an epoch later). */
  private asked = new Map<number, Set<StageName>>();
  private inFlight?: { id: number; epoch: number };
  private queued?: { epoch: number; stages: StageName[] };

  constructor(private readonly onLoaded: (epoch: number) => void) {}

  setIndex(index: ProbeIndex): void {
    const changedRun = this.index?.runDir !== index.runDir;
    if (changedRun) {
      this.cache.clear();
      this.asked.clear();
      this.inFlight = undefined;
    } else {
      // A file asked for before it existed may have appeared since (another model reached the epoch).
      for (const [epoch, stages] of this.asked) {
        const recs = this.cache.get(epoch) ?? {};
        for (const s of stagesAt(index, epoch)) if (!recs[s]) stages.delete(s);
      }
    }
    this.index = index;
  }

  get(epoch: number): EpochProbes | undefined {
    return this.cache.get(epoch);
  }

  /** Makes sure `stages` of `epoch` are loaded (calls onLoaded when they arrive). */
  want(epoch: number, stages: StageName[]): void {
    if (!this.index) return;
    const missing = stages.filter((s) => !this.asked.get(epoch)?.has(s));
    if (!missing.length) return;
    if (this.inFlight) {
      // Only the newest wish waits: while the scrubber is dragged, epochs in between are skipped.
      this.queued = { epoch, stages };
      return;
    }
    const id = requestId();
    this.inFlight = { id, epoch };
    const asked = this.asked.get(epoch) ?? new Set<StageName>();
    missing.forEach((s) => asked.add(s));
    this.asked.set(epoch, asked);
    post({ type: 'getProbes', requestId: id, runDir: this.index.runDir, epoch, stages: missing });
  }

  handle(m: Extract<HostToWebview, { type: 'probes' }>): void {
    if (this.index && m.runDir === this.index.runDir) {
      const merged = { ...this.cache.get(m.epoch), ...m.records };
      this.cache.delete(m.epoch);
      this.cache.set(m.epoch, merged);
      if (this.cache.size > CACHE) {
        const oldest = this.cache.keys().next().value as number;
        this.cache.delete(oldest);
        this.asked.delete(oldest);
      }
    }
    if (this.inFlight?.id === m.requestId) this.inFlight = undefined;
    this.onLoaded(m.epoch);
    const q = this.queued;
    this.queued = undefined;
    if (q) this.want(q.epoch, q.stages);
  }
}

/** The models that have a probe file at `epoch`. */
export function stagesAt(index: ProbeIndex, epoch: number): StageName[] {
  return Object.keys(index.epochs).filter((s) => index.epochs[s].includes(epoch));
}
