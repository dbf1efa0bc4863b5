// Probes: what the result views show per epoch — logits of fixed test samples, each layer-pair
// term's maps as its loss compares them (downsampled so a message stays small), each relation
// term's matrices over the samples, and the teacher × student CKA matrix.
import * as tf from '@tensorflow/tfjs';
import { termPairs } from '../core/losses';
import type { ComparedMaps, LossInputs } from '../core/losses/types';
import { pairTaps } from '../core/losses/util';
import type { ChannelReduction, Heatmap, PairMaps, PairProbe, ProbeRecord, RelationProbe, StageName } from '../core/protocol';
import { readCkaMatrix } from './cka';
import { type ActiveTerm, termValue } from './losses';
import { readAll } from './reads';
import type { Split } from './data';
import type { TappedModel } from './models';

/** Averages `rows × cols` values down to at most `max` cells per side (4 significant digits). */
export function poolGrid(values: ArrayLike<number>, rows: number, cols: number, max: number): Heatmap {
  const fy = Math.ceil(rows / max);
  const fx = Math.ceil(cols / max);
  const outRows = Math.ceil(rows / fy);
  const outCols = Math.ceil(cols / fx);
  const out = new Array<number>(outRows * outCols).fill(0);
  const counts = new Array<number>(outRows * outCols).fill(0);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const i = r * cols + c;
      if (i >= values.length) continue;
      const o = Math.floor(r / fy) * outCols + Math.floor(c / fx);
      out[o] += values[i];
      counts[o]++;
    }
  }
  // Four significant digits are more than a colour scale can show, and halve the probe files.
  return { rows: outRows, cols: outCols, values: out.map((v, i) => (counts[i] ? Number((v / counts[i]).toPrecision(4)) : 0)) };
}

/**
 * Reduces a conv map [h, w, c] (channels last) to [h, w]: at each position the channels' mean, their
 * max, or the mean of the k largest (k capped at c). The mean shows where a layer is active overall;
 * max and top-k show where a few strongly responding channels are, which the mean washes out.
 */
export function reduceChannels(values: ArrayLike<number>, shape: number[], how: ChannelReduction, k = 1): Float32Array {
  const [h, w, c] = shape;
  const top = Math.min(Math.max(1, k), c);
  const out = new Float32Array(h * w);
  const channels = new Float32Array(c);
  const sum = (from: number) => {
    let s = 0;
    for (let j = from; j < c; j++) s += channels[j];
    return s;
  };
  for (let p = 0; p < h * w; p++) {
    for (let j = 0; j < c; j++) channels[j] = values[p * c + j];
    if (how === 'mean') out[p] = sum(0) / c;
    else if (how === 'max') out[p] = channels.reduce((a, b) => Math.max(a, b), -Infinity);
    else {
      channels.sort(); // ascending: the k largest are the last k
      out[p] = sum(c - top) / top;
    }
  }
  return out;
}

/**
 * One example's tap as a heatmap: a conv map [h, w, c] is reduced over channels (`how`, see
 * reduceChannels); a dense vector of u units is laid out row-major on a near-square grid.
 */
export function tapToHeatmap(values: ArrayLike<number>, shape: number[], max: number, how: ChannelReduction = 'mean', k = 1): Heatmap {
  if (shape.length === 3) return poolGrid(reduceChannels(values, shape, how, k), shape[0], shape[1], max);
  const units = values.length;
  const cols = Math.ceil(Math.sqrt(units));
  return poolGrid(values, Math.ceil(units / cols), cols, max);
}

export interface ProbeInputs {
  stage: StageName;
  epoch: number;
  net: TappedModel;
  teacher?: TappedModel;
  /** The stage's loss terms: layer-pair terms give feature maps, relation terms relation matrices. */
  terms: ActiveTerm[];
  temperature: number;
  /** The fixed probe samples and the CKA batch, both from the test split. */
  samples: { indices: number[]; split: Split };
  ckaIndices?: number[];
  inputShape: number[];
  mapSize: number;
  /** k of the top-k channel reduction (probes.topK). */
  topK: number;
  /** Include the samples' pixels (once per stage is enough: they never change). */
  withImages: boolean;
}

/** Each sample as a 0–1 grey image (channels averaged, min–max scaled), for the logits gallery. */
export function probeImages(split: Split, indices: number[], inputShape: number[]): ProbeRecord['images'] {
  if (inputShape.length !== 3) return undefined;
  const [h, w, c] = inputShape;
  const row = h * w * c;
  const pixels = indices.map((i) => {
    const grey = tapToHeatmap(split.x.subarray(i * row, (i + 1) * row), inputShape, Math.max(h, w)).values;
    const lo = Math.min(...grey);
    const hi = Math.max(...grey);
    return grey.map((v) => (hi > lo ? Math.round((1000 * (v - lo)) / (hi - lo)) / 1000 : 0));
  });
  return { shape: [h, w], pixels };
}

function batchOf(split: Split, indices: number[], inputShape: number[]): tf.Tensor {
  const row = inputShape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(indices.length * row);
  indices.forEach((i, k) => x.set(split.x.subarray(i * row, (i + 1) * row), k * row));
  return tf.tensor(x, [indices.length, ...inputShape]);
}

/** Per-example shape of a map as displayed: a per-example matrix [r, c] is shown as [r, c, 1]. */
const displayShape = (t: tf.Tensor) => (t.rank === 3 ? [...t.shape.slice(1), 1] : t.shape.slice(1));

/** Each layer-pair term's maps as its loss compares them, for the probe samples. */
async function pairProbes(p: ProbeInputs, inputs: LossInputs): Promise<PairProbe[]> {
  const { indices } = p.samples;
  const out: PairProbe[] = [];
  for (const a of p.terms) {
    const pairs = termPairs(a.term);
    if (!pairs.length || !inputs.teacher) continue;
    const shown = a.def.maps?.(a.term, inputs, a.state) ?? pairs.map((x): ComparedMaps => pairTaps(inputs, x));
    // A loss over sample indices (CRD) has no value on test samples.
    const value = a.def.uses.indices ? [] : [termValue(a, inputs)];
    // One read for the term's maps and its loss (the webgpu backend reads only asynchronously).
    const read = await readAll([...shown.flatMap((m) => [m.teacher, m.student]), ...value]);
    const loss = value.length ? read[read.length - 1][0] : undefined;
    shown.forEach((m, j) => {
      const shape = displayShape(m.teacher);
      const studentShape = displayShape(m.student);
      const [tv, sv] = [read[2 * j], read[2 * j + 1]];
      const conv = shape.length === 3 && shape[2] > 1;
      const k = conv ? Math.min(p.topK, shape[2]) : 0;
      const maps = (how: ChannelReduction): PairMaps => {
        const of = (v: typeof tv, sh: number[]) => {
          const per = sh.reduce((x, y) => x * y, 1);
          return indices.map((_, i) => tapToHeatmap(v.subarray(i * per, (i + 1) * per), sh, p.mapSize, sh.length === 3 && sh[2] > 1 ? how : 'mean', k));
        };
        return { teacherMaps: of(tv, shape), studentMaps: of(sv, studentShape) };
      };
      const names = pairs[Math.min(j, pairs.length - 1)];
      out.push({
        id: shown.length > 1 ? `${a.id}#${j + 1}` : a.id,
        termId: a.id,
        student: m.label?.student ?? names.student,
        teacher: m.label?.teacher ?? names.teacher,
        what: m.what,
        shape,
        studentShape: studentShape.join() === shape.join() ? undefined : studentShape,
        ...maps('mean'),
        // Dense taps have no channels to reduce: only conv pairs get the other reductions.
        reduced: conv ? { k, max: maps('max'), topk: maps('topk') } : undefined,
        loss,
      });
    });
  }
  return out;
}

/** Each relation term's matrices over the probe samples (student and teacher). */
async function relationProbes(p: ProbeInputs, inputs: LossInputs): Promise<RelationProbe[]> {
  const out: RelationProbe[] = [];
  for (const a of p.terms) {
    if (!a.def.relations || !inputs.teacher) continue;
    const relations = a.def.relations(a.term, inputs, a.state);
    const read = await readAll(relations.flatMap((r) => [r.student, r.teacher]));
    relations.forEach((r, j) => {
      const grid = (t: tf.Tensor, values: Float32Array) => {
        const [rows, cols] = t.shape.length === 2 ? t.shape : [t.shape[0], t.size / t.shape[0]];
        return poolGrid(values, rows, cols, RELATION_MAX);
      };
      out.push({ id: a.id, type: a.term.type, name: r.name, student: grid(r.student, read[2 * j]), teacher: grid(r.teacher, read[2 * j + 1]) });
    });
  }
  return out;
}

/** Relation matrices are shown up to 64 × 64 cells (64 probe samples) before pooling. */
const RELATION_MAX = 64;

export async function collectProbe(p: ProbeInputs): Promise<ProbeRecord> {
  const { indices, split } = p.samples;
  // A scope rather than tf.tidy: the record holds plain numbers, which tidy's types do not allow.
  tf.engine().startScope();
  try {
    const xs = batchOf(split, indices, p.inputShape);
    const taps = p.net.forward(xs, false);
    const teacherTaps = p.teacher?.forward(xs, false);
    const inputs: LossInputs = {
      tf,
      student: taps,
      teacher: teacherTaps,
      labels: tf.tensor1d(indices.map((i) => split.y[i]), 'int32'),
      temperature: p.temperature,
      epoch: 0,
      epochs: 0,
      training: false,
    };
    // No probe samples (probes.samples 0): no maps or relations to show, and none to compute.
    const pairs = indices.length ? await pairProbes(p, inputs) : [];
    const relations = indices.length ? await relationProbes(p, inputs) : [];
    let cka: ProbeRecord['cka'];
    if (p.teacher && p.ckaIndices?.length) {
      const cx = batchOf(split, p.ckaIndices, p.inputShape);
      cka = await readCkaMatrix(p.teacher.forward(cx, false), p.net.forward(cx, false));
    }
    const logits = [taps.get('logits')!, ...(teacherTaps ? [teacherTaps.get('logits')!] : [])];
    const [studentValues, teacherValues] = await readAll(logits);
    const classes = logits[0].shape[1]!;
    const rows = (v: Float32Array) => indices.map((_, i) => Array.from(v.subarray(i * classes, (i + 1) * classes)));
    return {
      stage: p.stage,
      epoch: p.epoch,
      samples: indices,
      labels: indices.map((i) => split.y[i]),
      images: p.withImages ? probeImages(split, indices, p.inputShape) : undefined,
      teacherLogits: teacherValues ? rows(teacherValues) : undefined,
      studentLogits: rows(studentValues),
      pairs,
      relations: relations.length ? relations : undefined,
      cka,
    };
  } finally {
    tf.engine().endScope();
  }
}
