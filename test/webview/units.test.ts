// The result panels' pure parts, in Node: the softmax/entropy/agreement math (checked against
// numbers computed here independently), the message guards, the config diff, the step decimation,
// the page's CSP, the host's run reader on the recorded run, and the layers view of a config.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { defaultNodeEnv } from '../../src/core/config/nodeEnv';
import { decimateSteps, isPanelState, isWebviewToHost, type StepSeries } from '../../src/core/webviewProtocol';
import { contentSecurityPolicy, renderPanelHtml } from '../../src/host/panels/html';
import { layersPayload } from '../../src/host/panels/layerView';
import { RunReader, STEP_BUDGET } from '../../src/host/panels/runData';
import { classAgreementMatrix, correctness } from '../../webview/shared/agreement';
import { diffConfigs, flatten } from '../../webview/shared/configDiff';
import { agreementMatrix, agreementRate, argmax, entropy, klDivergence, normalizedEntropy, softmax } from '../../webview/shared/softmax';
import { FIXTURE_CONFIG, FIXTURE_RUN, FIXTURE_RUN_BORN_AGAIN, FIXTURE_RUN_BORN_AGAIN_RELATIONS, FIXTURE_RUN_ONLINE } from './harness';

const close = (a: number, b: number, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} ≉ ${b}`);

describe('softmax at temperature T', () => {
  it('matches exp(z_i/T) / Σ exp(z_j/T) written out by hand', () => {
    const z = [2, 1, 0.1];
    for (const T of [1, 2, 4, 20]) {
      const e = [Math.exp(2 / T), Math.exp(1 / T), Math.exp(0.1 / T)];
      const s = e[0] + e[1] + e[2];
      softmax(z, T).forEach((p, i) => close(p, e[i] / s));
    }
    // Known values: softmax([2, 1, 0.1]) = [0.659001, 0.242433, 0.098566].
    softmax(z).forEach((p, i) => close(p, [0.6590011388859679, 0.2424329707047139, 0.09856589040931818][i], 1e-12));
  });

  it('is stable for large logits and tends to uniform / one-hot as T grows / shrinks', () => {
    const big = softmax([1000, 999, 998], 1);
    close(big.reduce((a, b) => a + b, 0), 1);
    close(big[0], 1 / (1 + Math.exp(-1) + Math.exp(-2)));
    const hot = softmax([3, 1, 0], 0.01);
    close(hot[0], 1, 1e-9);
    const flat = softmax([3, 1, 0], 1e6);
    flat.forEach((p) => close(p, 1 / 3, 1e-5));
    assert.throws(() => softmax([1, 2], 0), RangeError);
  });

  it('entropy in nats: log K for uniform, 0 for one-hot; KL(p‖p) = 0', () => {
    close(entropy([0.25, 0.25, 0.25, 0.25]), Math.log(4));
    close(entropy([1, 0, 0]), 0);
    close(normalizedEntropy([0.5, 0.5]), 1);
    // H(0.7, 0.2, 0.1) by hand.
    close(entropy([0.7, 0.2, 0.1]), -(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1)));
    close(klDivergence([0.3, 0.7], [0.3, 0.7]), 0);
    close(klDivergence([0.5, 0.5], [0.25, 0.75]), 0.5 * Math.log(2) + 0.5 * Math.log(0.5 / 0.75));
  });

  it('agreement matrix counts argmax pairs', () => {
    const teacher = [
      [5, 0, 0],
      [0, 5, 0],
      [0, 5, 0],
      [0, 0, 5],
    ];
    const student = [
      [4, 1, 0],
      [0, 1, 3],
      [0, 2, 1],
      [0, 0, 9],
    ];
    assert.deepEqual(agreementMatrix(teacher, student, 3), [
      [1, 0, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    close(agreementRate(agreementMatrix(teacher, student, 3)), 0.75);
    assert.equal(argmax([1, 3, 3]), 1);
  });

  it('agreement of predicted classes (the whole test set): the matrix and who is right, counted by hand', () => {
    // Eight examples, three classes.
    const labels = [0, 0, 1, 1, 2, 2, 2, 1];
    const teacher = [0, 0, 1, 2, 2, 2, 1, 0];
    const student = [0, 1, 1, 2, 2, 0, 2, 0];
    // (teacher, student) per example: (0,0) (0,1) (1,1) (2,2) (2,2) (2,0) (1,2) (0,0); rows teacher, columns student.
    assert.deepEqual(classAgreementMatrix(teacher, student, 3), [
      [2, 1, 0],
      [0, 1, 1],
      [1, 0, 2],
    ]);
    close(agreementRate(classAgreementMatrix(teacher, student, 3)), 5 / 8);
    // Right: teacher at 0,1,2,4,5; student at 0,2,4,6. Both: 0,2,4; teacher only: 1,5; student only: 6; neither: 3,7.
    assert.deepEqual(correctness(teacher, student, labels), { bothRight: 3, onlyFirstRight: 2, onlySecondRight: 1, bothWrong: 2 });
    // A class outside the matrix is not counted; lists of unequal length pair up to the shorter.
    assert.deepEqual(classAgreementMatrix([0, 5, 1], [0, 1], 2), [
      [1, 0],
      [0, 0],
    ]);
    assert.deepEqual(correctness([1], [0, 1], [1, 1]), { bothRight: 0, onlyFirstRight: 1, onlySecondRight: 0, bothWrong: 0 });
  });
});

describe('webview protocol', () => {
  it('accepts well-formed messages and rejects the rest', () => {
    assert.ok(isWebviewToHost({ type: 'ready', view: 'logits' }));
    assert.ok(isWebviewToHost({ type: 'getProbes', requestId: 3, runDir: '/r', epoch: 2, stages: ['student', 'baseline'] }));
    assert.ok(isWebviewToHost({ type: 'export', requestId: 1, format: 'png', suggestedName: 'a.png', data: 'data:image/png;base64,AAAA' }));
    assert.ok(!isWebviewToHost({ type: 'ready', view: 'nope' }));
    // Any model id (peers, generations, exits); never a name that could leave the probes folder.
    assert.ok(isWebviewToHost({ type: 'getProbes', requestId: 3, runDir: '/r', epoch: 2, stages: ['peer3', 'gen2', 'exit-conv1', 'peer1-alone'] }));
    for (const bad of ['../student', 'Peer1', 'a/b', '', 'x'.repeat(65)]) assert.ok(!isWebviewToHost({ type: 'getProbes', requestId: 3, runDir: '/r', epoch: 2, stages: [bad] }), bad);
    assert.ok(!isWebviewToHost({ type: 'getProbes', requestId: 3, runDir: '/r', epoch: 2, stages: [3] }));
    assert.ok(!isWebviewToHost({ type: 'getProbes', requestId: 1.5, runDir: '/r', epoch: 2, stages: [] }));
    assert.ok(!isWebviewToHost({ type: 'export', requestId: 1, format: 'png', suggestedName: 'a.png', data: 'javascript:alert(1)' }));
    assert.ok(!isWebviewToHost({ type: 'toString' }));
    assert.ok(!isWebviewToHost(null));
    assert.ok(isPanelState({ view: 'compare', target: { follow: false, runDirs: ['/a', '/b'] }, ui: { T: 3 } }));
    assert.ok(!isPanelState({ view: 'compare', target: { follow: 'yes' } }));
  });

  it('decimates a long step series by bucket means', () => {
    const n = 10_000;
    const s: StepSeries = { stage: 'student', x: [], total: [], losses: { ce: [], kd: [] } };
    for (let i = 0; i < n; i++) {
      s.x.push(i + 1);
      s.total.push(i % 2);
      s.losses.ce.push(1);
      s.losses.kd.push(i < n / 2 ? NaN : 2);
    }
    const d = decimateSteps(s, 1000);
    assert.equal(d.x.length, 1000);
    close(d.x[0], 5.5);
    close(d.total[0], 0.5);
    assert.ok(Number.isNaN(d.losses.kd[0]));
    close(d.losses.kd[999], 2);
    assert.equal(decimateSteps(s, n), s);
  });
});

describe('config diff (compare view)', () => {
  it('keys loss terms by id and lists only what differs', () => {
    const a = { seed: 1, student: { model: { hidden: [64, 32] } }, distillation: { losses: [{ type: 'ce', weight: 0.1 }, { type: 'kd', weight: 0.9 }] } };
    const b = { seed: 1, student: { model: { hidden: [64] } }, distillation: { losses: [{ type: 'kd', weight: 0.9 }, { type: 'hint', weight: 1, student: 'fc1', teacher: 'fc2' }] } };
    const rows = diffConfigs([a, b]);
    const differing = Object.fromEntries(rows.filter((r) => r.differs).map((r) => [r.path, r.values]));
    assert.deepEqual(differing, {
      'student.model.hidden': ['[64,32]', '[64]'],
      'distillation.losses[ce]': ['weight 0.1', undefined],
      'distillation.losses[hint:fc1<-fc2]': [undefined, 'weight 1'],
    });
    assert.equal(rows.find((r) => r.path === 'distillation.losses[kd]')?.differs, false);
    assert.equal(flatten({ $schema: 'x', a: { b: 'c' } }).get('a.b'), '"c"');
  });
});

describe('panel page', () => {
  it('has a strict CSP: nothing by default, only nonce’d scripts, only the extension’s files', () => {
    const csp = contentSecurityPolicy('https://ext.example', 'abc123');
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'nonce-abc123'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|\*|https?:(?!\/\/ext\.example)/);
    const html = renderPanelHtml({ kind: 'logits', title: 'Logits', cspSource: 'https://ext.example', nonce: 'abc123', scriptUri: 'https://ext.example/dist/webview/logits.js', styleUris: ['https://ext.example/media/webview.css'] });
    assert.equal(html.match(/<script/g)?.length, 1);
    assert.match(html, /<script nonce="abc123" src="https:\/\/ext\.example\/dist\/webview\/logits\.js">/);
    assert.match(html, /http-equiv="Content-Security-Policy"/);
  });
});

describe('run reader (host side of the panels)', () => {
  const lines = fs.readFileSync(path.join(FIXTURE_RUN, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean);

  it('describes the run: terms with weights, T, epochs, class names', () => {
    const info = new RunReader(FIXTURE_RUN).runInfo()!;
    assert.equal(info.status, 'done');
    assert.equal(info.temperature, 4);
    assert.deepEqual(
      info.terms.map((t) => [t.id, t.weight]),
      [
        ['ce', 0.5],
        ['kd', 0.5],
        ['hint:conv2<-conv2', 1],
        ['hint:fc1<-fc1', 0.5],
      ],
    );
    assert.equal(info.terms[1].temperature, 4);
    assert.deepEqual(info.epochs, { teacher: 4, baseline: 4, student: 4 });
    assert.equal(info.classNames?.length, 10);
  });

  it('reads the test predictions: none without the file; the same object until the file changes; none when it is damaged', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-reader-'));
    fs.copyFileSync(path.join(FIXTURE_RUN, 'manifest.json'), path.join(dir, 'manifest.json'));
    const r = new RunReader(dir);
    assert.equal(r.testPredictions(), undefined);
    const file = path.join(dir, 'test-predictions.json');
    const one = { labels: [1, 0, 2], classes: 3, models: { teacher: [1, 0, 0] } };
    fs.writeFileSync(file, JSON.stringify(one));
    const first = r.testPredictions();
    assert.deepEqual(first, one);
    assert.equal(r.testPredictions(), first, 'unchanged: not read again');
    const two = { ...one, models: { ...one.models, student: [1, 1, 2] } };
    fs.writeFileSync(file, JSON.stringify(two));
    fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(r.testPredictions(), two);
    fs.writeFileSync(file, '{"labels": [1, 0');
    fs.utimesSync(file, new Date(), new Date(Date.now() + 10000));
    assert.equal(r.testPredictions(), undefined);
  });

  it('reads metrics in full, then only what was appended (a partial line waits)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-reader-'));
    fs.copyFileSync(path.join(FIXTURE_RUN, 'manifest.json'), path.join(dir, 'manifest.json'));
    const half = Math.floor(lines.length / 2);
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.slice(0, half).join('\n') + '\n' + lines[half].slice(0, 20));
    const r = new RunReader(dir);
    const first = r.readMetrics(true);
    const epochsIn = (ls: string[]) => ls.filter((l) => l.includes('"kind":"epoch"')).length;
    const stepsIn = (ls: string[]) => ls.filter((l) => l.includes('"kind":"step"')).length;
    assert.equal(first.epochs.length, epochsIn(lines.slice(0, half)));
    assert.equal(
      first.steps.reduce((a, s) => a + s.x.length, 0),
      stepsIn(lines.slice(0, half)),
    );
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), lines.join('\n') + '\n');
    const next = r.readMetrics(false);
    assert.equal(next.epochs.length, epochsIn(lines.slice(half)));
    assert.equal(
      next.steps.reduce((a, s) => a + s.x.length, 0),
      stepsIn(lines.slice(half)),
    );
    // x continues the stage's logged-step count.
    const all = new RunReader(dir).readMetrics(true);
    const student = all.steps.find((s) => s.stage === 'student')!;
    const studentNext = next.steps.find((s) => s.stage === 'student')!;
    assert.equal(studentNext.x.at(-1), student.x.at(-1));
    assert.deepEqual(Object.keys(student.losses).sort(), ['ce', 'hint:conv2<-conv2', 'hint:fc1<-fc1', 'kd']);
    assert.equal(r.readMetrics(false).epochs.length, 0);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('loads a history in chunks (async) to the same records as one read', async () => {
    const tiny = new RunReader(FIXTURE_RUN);
    await tiny.loadMetrics(300); // smaller than a line: the chunk grows until one fits
    const a = tiny.readMetrics(true);
    const b = new RunReader(FIXTURE_RUN).readMetrics(true);
    assert.deepEqual(a, b);
    assert.equal(a.epochs.length, lines.filter((l) => l.includes('"kind":"epoch"')).length);
    assert.deepEqual(tiny.readMetrics(false), { epochs: [], steps: [] });
  });

  it('bucket-averages a long step history to the budget', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-reader-'));
    const recs = Array.from({ length: 3 * STEP_BUDGET }, (_, i) => JSON.stringify({ kind: 'step', stage: 'student', epoch: 1, step: i + 1, losses: { ce: 1 }, total: 2, lr: 0.1 }));
    fs.writeFileSync(path.join(dir, 'metrics.jsonl'), recs.join('\n') + '\n');
    const s = new RunReader(dir).readMetrics(true).steps[0];
    assert.equal(s.x.length, STEP_BUDGET);
    close(s.total[17], 2);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('indexes probes (epochs, samples, pixels, pairs) and serves one epoch without pixels', () => {
    const r = new RunReader(FIXTURE_RUN);
    const idx = r.probeIndex()!;
    assert.deepEqual(idx.epochs, { teacher: [1, 2, 3, 4], baseline: [1, 2, 3, 4], student: [1, 2, 3, 4] });
    assert.equal(idx.samples.length, 12);
    assert.equal(idx.classes, 10);
    assert.deepEqual(idx.images?.shape, [28, 28]);
    assert.equal(idx.images?.pixels.length, 12);
    assert.deepEqual(
      idx.pairs.map((p) => p.id),
      ['hint:conv2<-conv2', 'hint:fc1<-fc1'],
    );
    const recs = r.probes(2, ['student', 'baseline']);
    assert.equal(recs.student?.epoch, 2);
    assert.equal(recs.student?.images, undefined);
    assert.equal(recs.student?.pairs.length, 2);
    assert.ok(recs.baseline?.teacherLogits);
    assert.deepEqual(r.probes(99, ['student']), {});
  });
});

describe('run reader: runs of N models', () => {
  /** What the probes folder holds, read here from the file names: model id → epochs. */
  const probeFiles = (dir: string) => {
    const out: Record<string, number[]> = {};
    for (const f of fs.readdirSync(path.join(dir, 'probes')).sort()) {
      const m = /^(.+)-epoch-(\d{4})\.json$/.exec(f)!;
      (out[m[1]] ??= []).push(Number(m[2]));
    }
    return out;
  };
  const manifest = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));

  it('describes an online run: its peers with labels, mode and epochs per model', () => {
    const info = new RunReader(FIXTURE_RUN_ONLINE).runInfo()!;
    assert.equal(info.mode, 'online');
    assert.deepEqual(
      info.models.map((m) => [m.id, m.label]),
      manifest(FIXTURE_RUN_ONLINE).models.map((m: { id: string; label: string }) => [m.id, m.label]),
    );
    assert.deepEqual(info.models.filter((m) => m.role === 'peer').map((m) => m.id), ['peer1', 'peer2', 'peer3']);
    const config = JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN_ONLINE, 'config.json'), 'utf8')).config;
    for (const id of ['peer1', 'peer2', 'peer3', 'peer1-alone']) assert.equal(info.epochs[id], config.training.epochs, id);
    assert.equal(info.epochs.teacher, undefined, 'an online run trains no separate teacher');
  });

  it('gives an older run (no models in its manifest) the classic three', () => {
    const info = new RunReader(FIXTURE_RUN).runInfo()!;
    assert.equal(info.mode, 'offline');
    assert.deepEqual(info.models.map((m) => m.id), ['teacher', 'baseline', 'student']);
  });

  it('indexes every model’s probe files and serves any model’s records, in plan order', () => {
    for (const dir of [FIXTURE_RUN_ONLINE, FIXTURE_RUN_BORN_AGAIN]) {
      const r = new RunReader(dir);
      const idx = r.probeIndex()!;
      const files = probeFiles(dir);
      assert.deepEqual(idx.epochs, files);
      const plan: string[] = manifest(dir).models.map((m: { id: string }) => m.id);
      assert.deepEqual(Object.keys(idx.epochs), plan.filter((id) => files[id]), 'keys in plan order');
      const ids = Object.keys(files);
      const recs = r.probes(2, ids);
      assert.deepEqual(Object.keys(recs).sort(), [...ids].sort());
      for (const id of ids) {
        const onDisk = JSON.parse(fs.readFileSync(path.join(dir, 'probes', `${id}-epoch-0002.json`), 'utf8'));
        assert.equal(recs[id]!.stage, id);
        assert.deepEqual(recs[id]!.studentLogits, onDisk.studentLogits);
      }
      assert.deepEqual(r.probes(2, ['../manifest', 'nope']), {}, 'only model ids, only files that exist');
    }
    // The born-again generations record maps (CKA); the members and the baseline do not.
    const ba = new RunReader(FIXTURE_RUN_BORN_AGAIN).probeIndex()!;
    const withMaps = Object.keys(probeFiles(FIXTURE_RUN_BORN_AGAIN)).filter((id) => {
      const rec = JSON.parse(fs.readFileSync(path.join(FIXTURE_RUN_BORN_AGAIN, 'probes', `${id}-epoch-0001.json`), 'utf8'));
      return rec.pairs.length > 0 || rec.relations?.length || rec.cka;
    });
    assert.deepEqual(ba.pairModels, withMaps);
    assert.ok(withMaps.includes('gen1'));
  });

  it('while a born-again run trains, lists the pairs of the first generation once it has probes', () => {
    const src = FIXTURE_RUN_BORN_AGAIN_RELATIONS;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'distill-reader-ba-'));
    fs.mkdirSync(path.join(dir, 'probes'));
    for (const f of ['manifest.json', 'config.json']) fs.copyFileSync(path.join(src, f), path.join(dir, f));
    const copy = (f: string) => fs.copyFileSync(path.join(src, 'probes', f), path.join(dir, 'probes', f));
    const r = new RunReader(dir);
    copy('teacher-epoch-0001.json');
    const before = r.probeIndex()!;
    assert.deepEqual(Object.keys(before.epochs), ['teacher']);
    assert.equal(before.pairsOf, undefined, 'the teacher recorded no pairs');
    copy('gen1-epoch-0001.json');
    const after = r.probeIndex()!;
    const gen1 = JSON.parse(fs.readFileSync(path.join(src, 'probes', 'gen1-epoch-0001.json'), 'utf8')) as { pairs: { id: string }[]; relations: { id: string }[] };
    assert.equal(after.pairsOf, 'gen1');
    assert.deepEqual(after.pairs.map((p) => p.id), gen1.pairs.map((p) => p.id));
    assert.deepEqual(after.relations!.map((x) => x.id), [...new Set(gen1.relations.map((x) => x.id))]);
    assert.deepEqual(after.pairModels, ['gen1']);
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('counts step records per model (each peer its own x)', () => {
    const r = new RunReader(FIXTURE_RUN_ONLINE);
    const { steps } = r.readMetrics(true);
    const lines = fs.readFileSync(path.join(FIXTURE_RUN_ONLINE, 'metrics.jsonl'), 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    for (const id of ['peer1', 'peer2', 'peer3']) {
      const n = lines.filter((l) => l.kind === 'step' && l.stage === id).length;
      const s = steps.find((x) => x.stage === id)!;
      assert.ok(n > 0);
      assert.deepEqual(s.x, Array.from({ length: n }, (_, i) => i + 1));
      assert.deepEqual(Object.keys(s.losses).sort(), ['ce', 'kd']);
    }
  });
});

describe('layers view of a config', () => {
  const text = fs.readFileSync(FIXTURE_CONFIG, 'utf8');
  const env = defaultNodeEnv();

  it('lists both models’ layers with shapes and parameters, and each pair’s connector', () => {
    const p = layersPayload(text, FIXTURE_CONFIG, env);
    assert.deepEqual(
      p.teacher?.map((l) => `${l.name}[${l.shape.join('×')}]`),
      ['conv1[28×28×16]', 'pool1[14×14×16]', 'conv2[14×14×32]', 'pool2[7×7×32]', 'fc1[128]', 'logits[10]'],
    );
    assert.equal(p.student?.find((l) => l.name === 'conv1')?.params, 3 * 3 * 1 * 4 + 4);
    assert.deepEqual(
      p.pairs.map((x) => [x.student, x.teacher, x.connector, x.error]),
      [
        ['conv2', 'conv2', 'conv1x1', undefined],
        ['fc1', 'fc1', 'linear', undefined],
      ],
    );
    assert.equal(p.problems.length, 0);
    assert.equal(text.split('\n')[p.pairs[0].line].includes('"conv2"'), true);
  });

  it('keeps the layers and flags the pairs the validator rejects', () => {
    const bad = text.replace('"student": "fc1", "teacher": "fc1"', '"student": "conv2", "teacher": "fc1"').replace('"student": "conv2", "teacher": "conv2"', '"student": "conv9", "teacher": "conv2"');
    const p = layersPayload(bad, FIXTURE_CONFIG, env);
    assert.equal(p.teacher?.length, 6);
    assert.equal(p.student?.length, 6);
    assert.match(p.pairs[0].error ?? '', /conv9/);
    assert.match(p.pairs[1].error ?? '', /dense|conv/);
    assert.equal(p.problems.length, 0, 'pair problems are reported on the pairs, not twice');
  });
});
