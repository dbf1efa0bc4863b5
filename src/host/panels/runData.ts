// A run folder as the result panels need it, read with core's run-store layout: the manifest and
// config as `RunInfo`, metrics incrementally (only the lines appended since the last read), the
// probe files' index, and single epochs' probe records on request (cached). Pure Node (no vscode):
// unit tested and benchmarked on its own.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DistillConfig } from '../../core/config/schema';
import { CLASSIC_STAGES, type MetricRecord, type ProbeRecord, type StageName, type TestPredictions } from '../../core/protocol';
import { lossDefinition, termId } from '../../core/losses';
import { CONFIG, MANIFEST, METRICS, PROBES, readManifest, readTestPredictions, TEST_PREDICTIONS } from '../../core/runStore';
import { decimateSteps, type EpochMetric, isStage, type ProbeIndex, type RunInfo, type StepSeries, type TermInfo } from '../../core/webviewProtocol';
import { runModels } from '../../core/modes';
import { BUILTINS } from '../../core/data/builtins';

/** Step points per stage in a snapshot; live appends come on top (the webview re-decimates). */
export const STEP_BUDGET = 4000;
const PROBE_CACHE = 24;
/** `<model id>-epoch-NNNN.json`: any model's probes (`peer2-epoch-0003.json`, `exit-conv1-epoch-0001.json`). */
const PROBE_FILE = /^([a-z0-9][a-z0-9-]*)-epoch-(\d+)\.json$/;

export interface MetricsChunk {
  epochs: EpochMetric[];
  steps: StepSeries[];
}

export class RunReader {
  private offset = 0;
  private stepCount = new Map<StageName, number>();
  private config?: { mtime: number; value?: DistillConfig };
  private listing = '';
  private index?: ProbeIndex;
  private metaTried = new Set<string>();
  private meta:
    | { samples: number[]; labels: number[]; classes: number; images?: ProbeIndex['images']; pairs?: ProbeIndex['pairs']; relations?: ProbeIndex['relations']; pairsOf?: StageName }
    | undefined;
  /** Per model with probes: whether they record maps (pairs, relations or CKA). */
  private readonly mapModels = new Map<StageName, boolean>();
  private readonly cache = new Map<string, ProbeRecord>();
  /** test-predictions.json as last read, with the size and mtime it was read at. */
  private predictions?: { stamp: string; value?: TestPredictions };

  constructor(readonly dir: string) {}

  /** Changes whenever the manifest, the metrics or the probe files do (cheap: three stats). */
  stamp(): string {
    const st = (p: string) => {
      try {
        const s = fs.statSync(p);
        return `${s.size}:${s.mtimeMs}`;
      } catch {
        return '-';
      }
    };
    return [st(path.join(this.dir, MANIFEST)), st(path.join(this.dir, METRICS)), st(path.join(this.dir, PROBES))].join('|');
  }

  resolvedConfig(): DistillConfig | undefined {
    const file = path.join(this.dir, CONFIG);
    let mtime: number;
    try {
      mtime = fs.statSync(file).mtimeMs;
    } catch {
      return undefined;
    }
    if (this.config?.mtime !== mtime) {
      let value: DistillConfig | undefined;
      try {
        value = (JSON.parse(fs.readFileSync(file, 'utf8')) as { config?: DistillConfig }).config;
      } catch {
        value = undefined;
      }
      this.config = { mtime, value };
    }
    return this.config.value;
  }

  runInfo(): RunInfo | undefined {
    const m = readManifest(this.dir);
    if (!m) return undefined;
    const config = this.resolvedConfig();
    const described = describeConfig(config);
    const models = runModels(m);
    // A run of N models says each model's epochs in its plan; an older run's come from its config.
    const planned = Object.fromEntries(models.filter((x) => x.trained && x.epochs !== undefined).map((x) => [x.id, x.epochs!]));
    return {
      dir: this.dir,
      id: m.id,
      name: m.name,
      configPath: m.configPath,
      status: m.status,
      stage: m.stage,
      startedAt: m.startedAt,
      endedAt: m.endedAt,
      // What the run computed on, e.g. "webgpu on NVIDIA H200 (…)" or "wasm + OpenBLAS …".
      backend: m.versions?.backendDetails ?? m.backend,
      error: m.error,
      results: m.results,
      ...described,
      epochs: m.models?.length ? planned : described.epochs,
      models,
      mode: m.mode ?? 'offline',
      config,
      seed: m.seed,
      ...(m.group ? { group: m.group } : {}),
    };
  }

  /**
   * The run's test predictions (undefined: none yet, an older run, a damaged file), re-read only
   * when the file changed: the same object comes back until then, so a caller can tell news by identity.
   */
  testPredictions(): TestPredictions | undefined {
    let stamp = '-';
    try {
      const s = fs.statSync(path.join(this.dir, TEST_PREDICTIONS));
      stamp = `${s.size}:${s.mtimeMs}`;
    } catch {
      /* none yet */
    }
    if (this.predictions?.stamp !== stamp) this.predictions = { stamp, value: stamp === '-' ? undefined : readTestPredictions(this.dir) };
    return this.predictions.value;
  }

  /**
   * Metric records: all of them (`reset`: the snapshot a newly shown webview gets) or those
   * appended since the last call. Everything read is kept in memory (column-wise for steps), so a
   * snapshot after the first costs no disk read; a trailing line without its newline (being
   * written) waits for the next call. Step records become column-wise series, x being the stage's
   * logged-step count; a snapshot is bucket-averaged down to STEP_BUDGET points per stage.
   */
  readMetrics(reset: boolean): MetricsChunk {
    const fresh = this.ingest(this.readAppended());
    return reset ? this.snapshot() : fresh;
  }

  /**
   * Reads everything not yet in memory a chunk at a time (asynchronous reads, parsing between
   * them), so a long history (a 1,000-epoch run logs ~200,000 records, 25 MB) never blocks the
   * extension host for long. Call before the first `readMetrics(true)`.
   */
  async loadMetrics(chunkBytes = 512 * 1024): Promise<void> {
    this.loading ??= (async () => {
      const file = path.join(this.dir, METRICS);
      let fh: fs.promises.FileHandle;
      try {
        fh = await fs.promises.open(file, 'r');
      } catch {
        return;
      }
      try {
        const size = (await fh.stat()).size;
        if (size < this.offset) this.forget();
        let chunk = chunkBytes;
        while (this.offset < size) {
          const len = Math.min(chunk, size - this.offset);
          const buf = Buffer.alloc(len);
          const { bytesRead } = await fh.read(buf, 0, len, this.offset);
          const end = buf.lastIndexOf(0x0a, bytesRead - 1);
          if (end < 0) {
            // A line longer than the chunk, or a last line still being written.
            if (len === chunk) chunk *= 2;
            else break;
            continue;
          }
          this.offset += end + 1;
          this.ingest(buf.toString('utf8', 0, end + 1));
          await new Promise((r) => setImmediate(r));
        }
      } finally {
        await fh.close();
      }
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private forget(): void {
    this.offset = 0;
    this.stepCount.clear();
    this.all.epochs = [];
    this.all.steps.clear();
  }

  private loading?: Promise<void>;
  private readonly all = { epochs: [] as EpochMetric[], steps: new Map<StageName, StepSeries>() };

  /** The complete lines appended to metrics.jsonl since the last read ('' if none). */
  private readAppended(): string {
    const file = path.join(this.dir, METRICS);
    try {
      const size = fs.statSync(file).size;
      // Rewritten (a new file): start over.
      if (size < this.offset) this.forget();
      if (size <= this.offset) return '';
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.alloc(size - this.offset);
        const n = fs.readSync(fd, buf, 0, buf.length, this.offset);
        const end = buf.lastIndexOf(0x0a, n - 1);
        if (end < 0) return '';
        this.offset += end + 1;
        return buf.toString('utf8', 0, end + 1);
      } finally {
        fs.closeSync(fd);
      }
    } catch {
      return '';
    }
  }

  /** Parses lines into memory; returns just those records. */
  private ingest(text: string): MetricsChunk {
    const epochs: EpochMetric[] = [];
    const steps = new Map<StageName, StepSeries>();
    for (const line of text.split('\n')) {
      if (!line) continue;
      let r: MetricRecord;
      try {
        r = JSON.parse(line) as MetricRecord;
      } catch {
        continue;
      }
      if (r.kind === 'epoch') {
        epochs.push(r);
        this.all.epochs.push(r);
        continue;
      }
      if (r.kind !== 'step') continue;
      const x = (this.stepCount.get(r.stage) ?? 0) + 1;
      this.stepCount.set(r.stage, x);
      for (const target of [steps, this.all.steps]) {
        let s = target.get(r.stage);
        if (!s) target.set(r.stage, (s = { stage: r.stage, x: [], total: [], losses: {} }));
        const n = s.x.length;
        s.x.push(x);
        s.total.push(r.total);
        for (const [k, v] of Object.entries(r.losses)) (s.losses[k] ??= new Array<number>(n).fill(NaN)).push(v);
        for (const k of Object.keys(s.losses)) if (s.losses[k].length < n + 1) s.losses[k].push(NaN);
      }
    }
    return { epochs, steps: [...steps.values()] };
  }

  /** Everything read so far; long step series bucket-averaged. */
  private snapshot(): MetricsChunk {
    const copy = (s: StepSeries): StepSeries => ({ stage: s.stage, x: s.x.slice(), total: s.total.slice(), losses: Object.fromEntries(Object.entries(s.losses).map(([k, v]) => [k, v.slice()])) });
    return {
      epochs: this.all.epochs.slice(),
      steps: [...this.all.steps.values()].map((s) => {
        const d = decimateSteps(s, STEP_BUDGET);
        return d === s ? copy(s) : d;
      }),
    };
  }

  /** The run's model ids in plan order (the classic three for an older run): probe files sort by it. */
  private modelOrder(): StageName[] {
    const m = readManifest(this.dir);
    return m ? runModels(m).map((x) => x.id) : [...CLASSIC_STAGES];
  }

  private probeFiles(): { name: string; stage: StageName; epoch: number }[] {
    let names: string[];
    try {
      names = fs.readdirSync(path.join(this.dir, PROBES));
    } catch {
      return [];
    }
    const out: { name: string; stage: StageName; epoch: number }[] = [];
    for (const name of names) {
      const m = PROBE_FILE.exec(name);
      if (m) out.push({ name, stage: m[1], epoch: Number(m[2]) });
    }
    const order = this.modelOrder();
    // Models not in the plan (none in a well-formed run) go last, by name.
    const rank = (id: StageName) => (order.includes(id) ? order.indexOf(id) : order.length);
    return out.sort((a, b) => rank(a.stage) - rank(b.stage) || a.stage.localeCompare(b.stage) || a.epoch - b.epoch);
  }

  /** Which epochs have probes, and what stays fixed for the run (samples, labels, pixels, pairs). */
  probeIndex(): ProbeIndex | undefined {
    const files = this.probeFiles();
    if (!files.length) return undefined;
    const listing = files.map((f) => f.name).join(',');
    if (listing === this.listing && this.index) return this.index;
    this.listing = listing;
    const stages = [...new Set(files.map((f) => f.stage))];
    const firstOf = (stage: StageName) => files.find((f) => f.stage === stage);

    // Samples, labels and class count from any file; pixels from the first file that has them
    // (the trainer stores them with epoch 1 and the last epoch of each stage).
    if (!this.meta?.images) {
      const candidates = [...stages.map(firstOf), files[files.length - 1]].filter((f): f is (typeof files)[number] => !!f && !this.metaTried.has(f.name));
      for (const f of candidates) {
        this.metaTried.add(f.name);
        const rec = this.readProbe(f.name);
        if (!rec) continue;
        this.meta ??= { samples: rec.samples, labels: rec.labels, classes: rec.studentLogits[0]?.length ?? rec.teacherLogits?.[0]?.length ?? 0 };
        if (rec.images) {
          this.meta.images = rec.images;
          break;
        }
      }
    }
    // Which models recorded maps (pairs, relations, CKA): one look at each model's first probe file.
    for (const stage of stages) {
      if (this.mapModels.has(stage)) continue;
      const rec = this.readProbe(firstOf(stage)!.name);
      if (rec) this.mapModels.set(stage, rec.pairs.length > 0 || (rec.relations?.length ?? 0) > 0 || !!rec.cka);
    }
    const pairModels = stages.filter((s) => this.mapModels.get(s));
    if (this.meta && !this.meta.pairs) {
      // The distilled student's pairs (as always), else the first model that has pairs or relations
      // (a born-again generation); until one has, ask again with the next listing.
      const terms = (s: StageName) => {
        const rec = this.readProbe(firstOf(s)!.name);
        return !!rec && (rec.pairs.length > 0 || (rec.relations?.length ?? 0) > 0);
      };
      const source = stages.includes('student') ? 'student' : pairModels.find(terms);
      const first = source ? firstOf(source) : undefined;
      const rec = first && this.readProbe(first.name);
      if (rec) {
        this.meta.pairsOf = source;
        this.meta.pairs = rec.pairs.map((p) => ({ id: p.id, termId: p.termId, student: p.student, teacher: p.teacher, what: p.what }));
        const relations = new Map<string, { id: string; type: string; names: string[] }>();
        for (const r of rec.relations ?? []) {
          const entry = relations.get(r.id) ?? { id: r.id, type: r.type, names: [] };
          entry.names.push(r.name);
          relations.set(r.id, entry);
        }
        this.meta.relations = [...relations.values()];
      }
    }
    if (!this.meta) return undefined;
    const paired = describeConfig(this.resolvedConfig()).terms.filter((t) => t.student && t.teacher);
    const epochs: Record<StageName, number[]> = {};
    for (const f of files) (epochs[f.stage] ??= []).push(f.epoch);
    this.index = {
      runDir: this.dir,
      epochs,
      samples: this.meta.samples,
      labels: this.meta.labels,
      images: this.meta.images,
      pairs: this.meta.pairs ?? paired.map((t) => ({ id: t.id, student: t.student!, teacher: t.teacher! })),
      relations: this.meta.relations,
      pairsOf: this.meta.pairsOf,
      pairModels,
      classes: this.meta.classes,
    };
    return this.index;
  }

  /** The probe records of one epoch for the given stages, without pixels (those are in the index). */
  probes(epoch: number, stages: StageName[]): Partial<Record<StageName, ProbeRecord>> {
    const out: Partial<Record<StageName, ProbeRecord>> = {};
    for (const stage of stages) {
      if (!isStage(stage)) continue;
      const rec = this.readProbe(`${stage}-epoch-${String(epoch).padStart(4, '0')}.json`);
      if (rec) out[stage] = rec.images ? { ...rec, images: undefined } : rec;
    }
    return out;
  }

  private readProbe(name: string): ProbeRecord | undefined {
    const hit = this.cache.get(name);
    if (hit) {
      // Most recently used last.
      this.cache.delete(name);
      this.cache.set(name, hit);
      return hit;
    }
    let rec: ProbeRecord;
    try {
      rec = JSON.parse(fs.readFileSync(path.join(this.dir, PROBES, name), 'utf8')) as ProbeRecord;
    } catch {
      return undefined;
    }
    this.cache.set(name, rec);
    if (this.cache.size > PROBE_CACHE) this.cache.delete(this.cache.keys().next().value as string);
    return rec;
  }
}

/** What the panels need from a resolved config: T, the terms with their weights, epochs, classes. */
export function describeConfig(config: DistillConfig | undefined): Pick<RunInfo, 'temperature' | 'terms' | 'epochs' | 'classNames'> {
  if (!config) return { terms: [], epochs: {} };
  const T = config.distillation?.temperature;
  const terms: TermInfo[] = (config.distillation?.losses ?? []).map((t) => ({
    id: termId(t),
    type: t.type,
    weight: t.weight,
    // A term with a temperature setting (kd, dkd, …) runs at its own or the distillation's T.
    temperature: 'temperature' in lossDefinition(t.type).schema.properties ? ((t as { temperature?: number }).temperature ?? T) : undefined,
    title: lossDefinition(t.type).title,
    knowledge: lossDefinition(t.type).knowledge,
    student: 'student' in t ? t.student : undefined,
    teacher: 'teacher' in t ? t.teacher : undefined,
    connector: 'connector' in t ? t.connector : undefined,
  }));
  const epochs: RunInfo['epochs'] = {};
  if (config.teacher?.source === 'train' || (config.teacher && !('source' in config.teacher))) {
    epochs.teacher = (config.teacher as { training?: { epochs?: number } }).training?.epochs;
  }
  if (config.baseline !== false) epochs.baseline = config.training?.epochs;
  epochs.student = config.training?.epochs;
  const dataset = config.data?.dataset;
  const builtin = dataset === 'mnist' || dataset === 'fashion-mnist' ? BUILTINS[dataset] : undefined;
  return { temperature: T, terms, epochs, classNames: builtin?.classNames?.slice() };
}
