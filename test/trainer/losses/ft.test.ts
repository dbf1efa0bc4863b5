import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { lossDefinition } from '../../../src/core/losses';
import { type ActiveTerm, disposeTerms, termValue } from '../../../src/trainer/losses';
import { batchNormTrain, cnnConfigProblems, normalize, pool } from './featureRef';
import { activate, type Case, close, gradientsOf, inputsOf, randArray, teacherUntouched, useCpu } from './harness';

// RepDistiller models/util.py Paraphraser/Translator (LeakyReLU(0.1) after every layer; the
// Translator's layers each with a BatchNorm before it, the Paraphraser's without) and FT.py:
// factor(f) = normalize(f.pow(p1).mean(1).view(B, -1)), loss = (factor(s) − factor(t)).abs().mean().
const leaky = (x: number) => (x > 0 ? x : 0.1 * x);

/**
 * One layer on a row-major [B, H, W, cin] map (3×3 'same' conv, kernel HWIO) or [B, cin] batch, +
 * bias, then (with `norm`: γ, β) a training-mode batch norm, then LeakyReLU.
 */
function layer(x: number[], B: number, hw: number[] | null, cin: number, cout: number, K: number[], bias: number[], norm?: number[][]): number[] {
  const pre = linear(x, B, hw, cin, cout, K, bias);
  return (norm ? batchNormTrain(pre, cout, norm[0], norm[1]) : pre).map(leaky);
}

function linear(x: number[], B: number, hw: number[] | null, cin: number, cout: number, K: number[], bias: number[]): number[] {
  const out: number[] = [];
  if (!hw) {
    for (let b = 0; b < B; b++)
      for (let j = 0; j < cout; j++) out.push(bias[j] + Array.from({ length: cin }, (_, i) => x[b * cin + i] * K[i * cout + j]).reduce((a, y) => a + y, 0));
    return out;
  }
  const [H, W] = hw;
  for (let b = 0; b < B; b++)
    for (let y = 0; y < H; y++)
      for (let xx = 0; xx < W; xx++)
        for (let j = 0; j < cout; j++) {
          let s = bias[j];
          for (let dy = 0; dy < 3; dy++)
            for (let dx = 0; dx < 3; dx++) {
              const [yy, xi] = [y + dy - 1, xx + dx - 1];
              if (yy < 0 || yy >= H || xi < 0 || xi >= W) continue;
              for (let i = 0; i < cin; i++) s += x[((b * H + yy) * W + xi) * cin + i] * K[((dy * 3 + dx) * cin + i) * cout + j];
            }
          out.push(s);
        }
  return out;
}

/**
 * Sets every variable of the term (the translator's kernel, bias, γ, β per layer, then the
 * paraphraser's encoder and decoder, kernel and bias per layer) to known values; returns them flat.
 */
function setAll(active: ActiveTerm): number[][] {
  const vars = [...active.state!.variables, ...lossDefinition('ft').pretrain!.variables(active.state)];
  assert.equal(vars.length, 24);
  return vars.map((v, i) => {
    const values = randArray(v.shape.reduce((a, b) => a * b, 1), 60 + i, 0.8);
    v.assign(tf.tensor(values, v.shape));
    return values;
  });
}

/** Three layers [in, out] with their (kernel, bias) pairs from `vals`, or with batch norms (kernel, bias, γ, β). */
function run(x: number[], B: number, hw: number[] | null, sizes: number[][], vals: number[][], withNorm = false): number[] {
  const per = withNorm ? 4 : 2;
  return sizes.reduce((h, [cin, cout], k) => layer(h, B, hw, cin, cout, vals[per * k], vals[per * k + 1], withNorm ? vals.slice(per * k + 2, per * k + 4) : undefined), x);
}

function reduce(f: number[], B: number, P: number, C: number, conv: boolean): number[][] {
  return Array.from({ length: B }, (_, b) => {
    if (!conv) return normalize(f.slice(b * C, (b + 1) * C));
    return normalize(Array.from({ length: P }, (_, q) => Array.from({ length: C }, (_, c) => f[(b * P + q) * C + c] ** 2).reduce((a, y) => a + y, 0) / C));
  });
}

const B = 2;
const make = (sShape: number[], tShape: number[]): Case => ({
  term: { type: 'ft', weight: 200, student: 's', teacher: 't', rate: 0.5, p1: 2, p2: 1, initEpochs: 30 },
  batch: B,
  student: { s: { shape: sShape, values: randArray(B * sShape.reduce((a, b) => a * b), 71) } },
  teacher: { t: { shape: tShape, values: randArray(B * tShape.reduce((a, b) => a * b), 72) } },
});

function golden(c: Case) {
  const { s } = c.student;
  const { t } = c.teacher!;
  const conv = t.shape.length === 3;
  const [cs, ct] = [s.shape.at(-1)!, t.shape.at(-1)!];
  const k = Math.floor(ct * 0.5);
  const active = activate(c);
  try {
    const vals = setAll(active);
    const fs = run(s.values, B, conv ? s.shape.slice(0, 2) : null, [[cs, cs], [cs, k], [k, k]], vals.slice(0, 12), true);
    const ft = run(t.values, B, conv ? t.shape.slice(0, 2) : null, [[ct, ct], [ct, k], [k, k]], vals.slice(12, 18));
    const [h, w] = conv ? t.shape : [1, 1];
    const rs = reduce(conv ? pool(fs, B, [...s.shape.slice(0, 2), k], h, w) : fs, B, h * w, k, conv);
    const rt = reduce(ft, B, h * w, k, conv);
    let sum = 0;
    rs.forEach((row, b) => row.forEach((x, q) => (sum += Math.abs(x - rt[b][q]))));
    close(tf.tidy(() => termValue(active, inputsOf(c)).dataSync()[0]), sum / (B * rs[0].length));
    // The pre-training stage: the paraphraser's reconstruction MSE of the teacher layer.
    const rec = run(ft, B, conv ? t.shape.slice(0, 2) : null, [[k, k], [k, ct], [ct, ct]], vals.slice(18));
    const mse = rec.reduce((a, x, i) => a + (x - t.values[i]) ** 2, 0) / rec.length;
    close(tf.tidy(() => lossDefinition('ft').pretrain!.compute(c.term, inputsOf(c), active.state).dataSync()[0]), mse);
  } finally {
    disposeTerms([active]);
  }
}

test("ft: golden value and paraphraser reconstruction on conv maps (the student's 3×3 factor pooled to 2×2)", async () => {
  await useCpu();
  golden(make([3, 3, 2], [2, 2, 4]));
});

test('ft: golden value and reconstruction on dense layers (linear layers, factor F/‖F‖₂)', async () => {
  await useCpu();
  golden(make([5], [4]));
});

test('ft: the student and the translator get gradients, the teacher and the paraphraser none', async () => {
  await useCpu();
  const c = make([3, 3, 2], [2, 2, 4]);
  const active = activate(c);
  const paraphraser = lossDefinition('ft').pretrain!.variables(active.state);
  assert.equal(active.state!.variables.length, 12, 'only the translator (kernel, bias, γ, β per layer) trains with the student');
  assert.ok(paraphraser.every((p) => !active.state!.variables.includes(p)));
  const g = gradientsOf(c, active);
  assert.ok(g.student.s.some((x) => x !== 0));
  for (const [i, v] of g.state.entries()) if (i % 4 !== 1) assert.ok(v.some((x) => x !== 0), `translator variable ${i + 1}`);
  assert.ok(teacherUntouched(g.teacher));
});

test('ft: the pre-training stage trains the paraphraser only', async () => {
  await useCpu();
  const c = make([3, 3, 2], [2, 2, 4]);
  const active = activate(c);
  try {
    const hook = lossDefinition('ft').pretrain!;
    assert.equal(hook.student, false);
    assert.equal(hook.epochs(c.term), 30);
    const vars = hook.variables(active.state);
    const { grads } = tf.variableGrads(() => hook.compute(c.term, inputsOf(c), active.state) as tf.Scalar, vars);
    for (const v of vars.filter((x) => /kernel/.test(x.name))) assert.ok(Array.from(grads[v.name].dataSync()).some((x) => x !== 0), v.name);
    tf.dispose(Object.values(grads));
  } finally {
    disposeTerms([active]);
  }
});

test('ft: a conv layer against a dense one, and a factor of no channels, are reported', () => {
  const check = lossDefinition('ft').check!;
  const term = { type: 'ft', weight: 200, student: 's', teacher: 't', rate: 0.5 } as never;
  assert.deepEqual(check(term, { pairs: [{ student: { name: 'conv2', shape: [14, 14, 16] }, teacher: { name: 'fc1', shape: [64] } }] }), [
    { field: 'teacher', message: 'ft needs two conv layers or two dense layers; student conv2 [14×14×16] is conv, teacher fc1 [64] is dense' },
  ]);
  assert.deepEqual(check(term, { pairs: [{ student: { name: 'conv1', shape: [28, 28, 8] }, teacher: { name: 'conv1', shape: [28, 28, 1] } }] }), [
    { field: 'rate', message: "ft's factor has ⌊1·0.5⌋ = 0 channels for teacher conv1 [28×28×1]; raise rate" },
  ]);
});

test('ft: the example term parses in a CNN config', () => {
  assert.deepEqual(cnnConfigProblems(lossDefinition('ft').example), []);
});
