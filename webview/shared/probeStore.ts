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
  private inFlight?: { id: number; epoch: number };
  private queued?: { epoch: number; stages: StageName[] };

  constructor(private readonly onLoaded: (epoch: number) => void) {}

  setIndex(index: ProbeIndex): void {
    const changedRun = this.index?.runDir !== index.runDir;
    // A file for an epoch we cached may have appeared since (another stage reached it).
    if (changedRun) this.cache.clear();
    else for (const [epoch, recs] of this.cache) if (stagesAt(index, epoch).some((s) => !recs[s])) this.cache.delete(epoch);
    if (changedRun) this.inFlight = undefined;
    this.index = index;
  }

  get(epoch: number): EpochProbes | undefined {
    return this.cache.get(epoch);
  }

  /** Makes sure `epoch` is loaded (calls onLoaded when it arrives). */
  want(epoch: number, stages: StageName[]): void {
    if (!this.index || this.cache.has(epoch) || !stages.length) return;
    if (this.inFlight) {
      if (this.inFlight.epoch !== epoch) this.queued = { epoch, stages };
      return;
    }
    const id = requestId();
    this.inFlight = { id, epoch };
    post({ type: 'getProbes', requestId: id, runDir: this.index.runDir, epoch, stages });
  }

  handle(m: Extract<HostToWebview, { type: 'probes' }>): void {
    if (this.index && m.runDir === this.index.runDir) {
      this.cache.set(m.epoch, m.records);
      if (this.cache.size > CACHE) this.cache.delete(this.cache.keys().next().value as number);
    }
    if (this.inFlight?.id === m.requestId) this.inFlight = undefined;
    this.onLoaded(m.epoch);
    const q = this.queued;
    this.queued = undefined;
    if (q && !this.cache.has(q.epoch)) this.want(q.epoch, q.stages);
  }
}

/** The stages that have a probe file at `epoch`. */
export function stagesAt(index: ProbeIndex, epoch: number): StageName[] {
  return (['teacher', 'baseline', 'student'] as const).filter((s) => index.epochs[s].includes(epoch));
}
