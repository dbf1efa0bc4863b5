// What every mode's runner works with: the parsed config, the data, the run folder, and the steps
// all modes share — build or load a network, train a stage of one or more learners (recording
// metrics, probes and progress), a loss's own pre-training stage, and record a finished model.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { DistillConfig, EnsembleMemberConfig, LossTerm, ModelSpec, TrainingConfig } from '../../core/config/schema';
import { termPairs } from '../../core/losses';
import type { ModelResult, RunResults, StageName, StartRequest, TrainingOutcome } from '../../core/protocol';
import { listRuns, MODELS } from '../../core/runStore';
import type { Dataset } from '../data';
import { buildTransferSet, type TransferSet } from '../data/transfer';
import { type TransferResultsContext, withTransferResults } from '../transferResults';
import { epochHeldOutText, trainingOutcomeText, transferText } from '../../core/resultFormat';
import { ensembleModel } from '../ensemble';
import { resultOf } from '../evaluate';
import type { ExperimentIO } from '../experiment';
import { type ActiveTerm, activateTerms, disposeTerms, termVariables } from '../losses';
import { loadLayersModel, saveLayersModel } from '../modelIO';
import { buildModel, type TappedModel, wrapLoadedModel } from '../models';
import { collectProbe } from '../probes';
import type { RunRecorder } from '../runRecorder';
import { type Learner, trainStage } from '../train';

export const CE_ONLY: LossTerm[] = [{ type: 'ce', weight: 1 }];

export interface RunContextInit {
  config: DistillConfig;
  configPath: string;
  req: StartRequest;
  data: Dataset;
  rec: RunRecorder;
  io: ExperimentIO;
  /** The fixed probe samples and CKA batch (test-split indices). */
  probes: { samples: number[]; cka: number[] };
}

export class RunContext {
  readonly config: DistillConfig;
  /** The run's data: the teacher learns on its whole training split. */
  readonly data: Dataset;
  /** What the students learn on: the transfer set (distillation.transfer), or `data` itself. */
  readonly studentData: Dataset;
  readonly rec: RunRecorder;
  private readonly transfer: TransferSet;
  private readonly init: RunContextInit;
  /** How each trained model's training ended, when it chose on the validation split: reported with its result. */
  private readonly outcomes = new Map<StageName, TrainingOutcome>();
  /** Networks and term states to free when the run ends, whatever the mode. */
  private readonly owned: { dispose(): void }[] = [];

  constructor(init: RunContextInit) {
    this.init = init;
    this.config = init.config;
    this.data = init.data;
    this.rec = init.rec;
    this.transfer = buildTransferSet(init.data, init.config.distillation.transfer, init.config.seed);
    this.studentData = this.transfer.data;
    if (init.config.distillation.transfer) {
      this.results.transfer = this.transfer.summary;
      this.rec.log('info', transferText(this.transfer.summary));
    }
  }

  /** Whether students learn with labels (a transfer set may have none). */
  private get labels(): boolean {
    return this.transfer.summary.labels;
  }

  /** Whether an alone-trained baseline can be trained: not without labels (said in the log and the results). */
  canTrainBaseline(): boolean {
    if (!this.config.baseline) return false;
    if (this.labels) return true;
    const note = 'no baseline: the transfer set has no labels (distillation.transfer.labels is false), so there is nothing to train the student on alone';
    if (!this.transfer.summary.notes.includes(note)) {
      this.transfer.summary.notes.push(note);
      this.rec.log('info', note);
      this.rec.saveManifest();
    }
    return false;
  }

  get results(): RunResults {
    return this.rec.manifest.results;
  }

  /**
   * A new network of `spec`, freed when the run ends. Seeds: teacher +0, student +1 (same initial
   * weights as its baseline). A network of the student's spec (the config's own object: the
   * student, its baseline, generations, online peer 2) starts from `student.init`'s weights
   * instead, when the config has them (loadStudentInit).
   */
  build(spec: ModelSpec, seedOffset: number): TappedModel {
    const net = this.own(buildModel(spec, this.data.inputShape, this.data.numClasses, this.config.seed + seedOffset));
    if (spec === this.config.student.model && this.studentInit) {
      const { weights, file } = this.studentInit;
      const own = net.logitsModel.weights.map((w) => w.shape as number[]);
      if (own.length !== weights.length || own.some((shape, i) => !tf.util.arraysEqual(shape, weights[i].shape))) {
        const shapes = (ss: number[][]) => ss.map((sh) => `[${sh.join(', ')}]`).join(' ');
        throw new Error(`student.init: ${file} holds weights ${shapes(weights.map((w) => w.shape))}; the student (student.model) has ${shapes(own)}`);
      }
      net.logitsModel.setWeights(weights);
    }
    return net;
  }

  /** student.init's weights, loaded once before the run's stages (build() copies them into each network of the student's spec). */
  private studentInit?: { weights: tf.Tensor[]; file: string };

  async loadStudentInit(): Promise<void> {
    const init = this.config.student.init;
    if (!init) return;
    const { configPath, req } = this.init;
    const file =
      init.source === 'file' ? path.resolve(path.dirname(configPath), init.path) : path.join(findRunWithModel(req.runsDir, this.config, configPath, init.run, 'student'), MODELS, 'student', 'model.json');
    const model = await loadLayersModel(file);
    const weights = model.getWeights().map((w) => this.own(w.clone()));
    model.dispose();
    this.studentInit = { weights, file };
    this.rec.log('info', `student.init: the student's architecture starts from the weights in ${file}`);
  }

  own<T extends { dispose(): void }>(x: T): T {
    this.owned.push(x);
    return x;
  }

  /** The loss terms made live for a student with these taps (and a teacher with those). */
  terms(losses: LossTerm[], student: TappedModel, teacher?: TappedModel): ActiveTerm[] {
    const terms = activateTerms(losses, {
      studentLayers: student.taps,
      teacherLayers: teacher?.taps,
      numClasses: this.data.numClasses,
      trainCount: this.studentData.train.count,
      seed: this.config.seed + 2,
    });
    this.owned.push({ dispose: () => disposeTerms(terms) });
    return terms;
  }

  /**
   * Trains `learners` together as one stage for `training`'s epochs (`inTurn`: peers one after
   * another within each step, see trainStage), `teacher` (frozen) teaching those without peers;
   * records each learner's metrics and probes under its id. Students learn on the transfer set; a
   * teacher (`asTeacher`) on the whole training split.
   */
  async train(stage: string, learners: Learner[], opts: { teacher?: TappedModel; training?: TrainingConfig; asTeacher?: boolean; inTurn?: boolean } = {}): Promise<void> {
    const { config, rec } = this;
    const data = opts.asTeacher ? this.data : this.studentData;
    const training = opts.training ?? config.training;
    const steps = Math.ceil(data.train.count / Math.min(training.batchSize, data.train.count));
    rec.manifest.stage = stage;
    rec.saveManifest();
    this.init.io.emit({ type: 'stage', stage, epochs: training.epochs, stepsPerEpoch: steps });
    rec.log('info', `stage ${stage}${learners.length > 1 ? ` (${learners.map((l) => l.id).join(', ')})` : ''}: ${training.epochs} epochs × ${steps} steps`);
    const usesTeacher = learners.some((l) => !l.peers && l.terms.some((t) => t.def.uses.teacher));
    const probed = new Set<string>();
    const probe = async (learner: Learner, epoch: number, withImages: boolean) => {
      probed.add(`${learner.id}@${epoch}`);
      rec.probe(
        await collectProbe({
          stage: learner.id,
          epoch,
          net: learner.net,
          teacher: learner.peers ? undefined : opts.teacher,
          terms: learner.terms,
          temperature: config.distillation.temperature,
          samples: { indices: this.init.probes.samples, split: data.test },
          ckaIndices: this.init.probes.cka,
          inputShape: data.inputShape,
          mapSize: config.probes.mapSize,
          topK: config.probes.topK,
          withImages,
        }),
      );
    };
    const outcome = await trainStage(
      {
        stage,
        learners,
        inTurn: opts.inTurn,
        temperature: config.distillation.temperature,
        teacher: usesTeacher ? opts.teacher : undefined,
        training,
        labels: opts.asTeacher || this.labels,
        seed: config.seed,
        data,
        testEveryEpoch: config.evaluation.testEveryEpoch,
      },
      {
        isCancelled: this.init.io.isCancelled,
        // Progress counts the stage's steps once; every learner's losses are recorded.
        onStep: (records, stepsPerEpoch) => records.forEach((r, i) => rec.step(r, stepsPerEpoch, training.epochs, i === 0 ? stage : undefined)),
        onEpoch: async (r, learner) => {
          rec.epoch(r);
          rec.log(
            'info',
            `${learner.id} epoch ${r.epoch}/${training.epochs}: loss ${r.total.toFixed(4)}, train acc ${(100 * r.trainAccuracy).toFixed(2)}%, ` +
              `${epochHeldOutText(r)} (${r.seconds.toFixed(1)} s, ${Math.round(r.examplesPerSecond)} ex/s)`,
          );
          if (r.epoch % config.probes.every === 0 || r.epoch === training.epochs) await probe(learner, r.epoch, r.epoch === 1 || r.epoch === training.epochs);
        },
      },
    );
    if (training.keep === 'best' || training.earlyStopping) {
      rec.log('info', `${stage}: ${trainingOutcomeText(outcome)}`);
      // The weights the model ends with (the kept epoch's) always have a probe: with `probes.every` > 1 or after early stopping they may not have one yet.
      for (const l of learners) {
        this.outcomes.set(l.id, outcome);
        if (!probed.has(`${l.id}@${outcome.keptEpoch}`)) await probe(l, outcome.keptEpoch, true);
      }
    }
  }

  /**
   * Trains a network of `spec` alone on the labels as its own stage `id` (seed offset as in
   * `build`) and records it: a student's baseline, an online peer's alone-trained twin.
   */
  async trainAlone(id: StageName, spec: ModelSpec, seedOffset: number, headline?: 'baseline'): Promise<void> {
    const net = this.build(spec, seedOffset);
    await this.train(id, [{ id, net, terms: this.terms(CE_ONLY, net) }]);
    await this.finish(id, net, { headline });
  }

  /**
   * A loss's own stage before distillation (FitNets stage 1, AB's initialisation, FT's
   * paraphraser): its variables (and the student's, if it says so) on its loss alone. Logged, not
   * charted: the student's curves start with distillation.
   */
  async pretrain(studentId: StageName, student: TappedModel, terms: ActiveTerm[], teacher: TappedModel | undefined): Promise<void> {
    for (const a of terms) {
      const hook = a.def.pretrain;
      const epochs = hook?.epochs(a.term) ?? 0;
      if (!hook || epochs === 0) continue;
      this.rec.log('info', `${a.id}: ${hook.describe}, ${epochs} epochs`);
      // The stage minimises the hook's loss alone and unweighted (the term's weight is for the main stage).
      const only: ActiveTerm = { ...a, term: { ...a.term, weight: 1 }, def: { ...a.def, compute: hook.compute } };
      await trainStage(
        {
          stage: studentId,
          learners: [{ id: studentId, net: student, terms: [only] }],
          temperature: this.config.distillation.temperature,
          teacher,
          variables: [...(hook.student ? variablesUpTo(student, termPairs(a.term).map((p) => p.student)) : []), ...hook.variables(a.state)],
          // Nothing is chosen here: the stage runs its epochs and is not evaluated.
          training: { ...this.config.training, epochs, schedule: { type: 'constant' }, keep: 'last', earlyStopping: undefined },
          validate: false,
          labels: this.labels,
          seed: this.config.seed,
          data: this.studentData,
        },
        {
          isCancelled: this.init.io.isCancelled,
          onStep: () => {},
          onEpoch: (r) => this.rec.log('info', `${a.id} pre-training epoch ${r.epoch}/${epochs}: loss ${r.total.toFixed(4)}`),
        },
      );
    }
  }

  /**
   * Records a finished model: saved under models/<id> (unless `save` is false: an ensemble), its
   * test result and cost under results.models[id], and under the headline field `headline`
   * (teacher, baseline, student) when given; its predicted class per test example in
   * test-predictions.json (from the same evaluation as the result).
   */
  async finish(id: StageName, net: TappedModel, opts: { save?: boolean; headline?: 'teacher' | 'baseline' | 'student'; lossTerms?: ActiveTerm[] } = {}): Promise<ModelResult> {
    // Saved as a plain classifier (input → logits); wrapLoadedModel recovers every layer's tap from it.
    if (opts.save !== false) await this.rec.saveModel(id, (to) => saveLayersModel(net.logitsModel, to));
    // The losses' own modules (connectors, embeddings) train with the student but are not exported with it.
    const lossParams = opts.lossTerms ? lossModuleParams(opts.lossTerms) : 0;
    const outcome = this.outcomes.get(id);
    const { result: tested, predicted } = await resultOf(net, this.data);
    const measured: ModelResult = { ...tested, ...(lossParams ? { lossParams } : {}), ...(outcome ? { training: outcome } : {}) };
    // With omitted classes: each model's accuracy on them; the distilled student's with the bias correction too.
    const result = await withTransferResults(net, measured, this.transferResults, opts.headline === 'student');
    const results = this.results;
    results.models = { ...results.models, [id]: result };
    if (opts.headline) results[opts.headline] = result;
    // Before the manifest: a reader that sees the model in the results finds its predictions too.
    this.rec.testPredictions(id, { labels: this.data.test.y, classes: this.data.numClasses }, predicted);
    this.rec.saveManifest();
    return result;
  }

  /**
   * The offline teacher, trained (and saved and recorded as `teacher`), loaded from a file or taken
   * from an earlier run; an ensemble's members each so (teacher1…), then their average as `teacher`.
   */
  async teacher(): Promise<TappedModel> {
    const t = this.config.teacher;
    if (!t) throw new Error(`mode ${this.config.distillation.mode} needs a teacher`);
    if (t.source !== 'ensemble') {
      const teacher = await this.obtainTeacher(t, 'teacher');
      await this.finish('teacher', teacher, { save: t.source === 'train', headline: 'teacher' });
      return teacher;
    }
    const members: TappedModel[] = [];
    for (const [i, m] of t.members.entries()) {
      const id = `teacher${i + 1}`;
      const member = await this.obtainTeacher(m, id, i);
      await this.finish(id, member, { save: m.source === 'train' });
      members.push(member);
    }
    const ensemble = ensembleModel(members, t.average ?? 'probabilities', this.config.distillation.temperature);
    const r = await this.finish('teacher', ensemble, { save: false, headline: 'teacher' });
    this.rec.log('info', `teacher ensemble (${t.average ?? 'probabilities'} averaged): ${r.testErrors} errors`);
    return ensemble;
  }

  /** One teacher network: trained as stage `id` (seed +0, +10 per further ensemble member), or loaded. */
  private async obtainTeacher(t: EnsembleMemberConfig, id: StageName, memberIndex = 0): Promise<TappedModel> {
    if (t.source === 'train') {
      const net = this.build(t.model, 10 * memberIndex);
      await this.train(id, [{ id, net, terms: this.terms(CE_ONLY, net) }], { training: t.training, asTeacher: true });
      return net;
    }
    const { configPath, req } = this.init;
    const file =
      t.source === 'file' ? path.resolve(path.dirname(configPath), t.path) : path.join(findRunWithModel(req.runsDir, this.config, configPath, t.run, 'teacher'), MODELS, 'teacher', 'model.json');
    const net = this.own(wrapLoadedModel(await loadLayersModel(file)));
    this.rec.log('info', `${id} loaded from ${file}`);
    return net;
  }

  private get transferResults(): TransferResultsContext {
    const biasCorrection = this.config.distillation.transfer?.biasCorrection ?? false;
    return { set: this.transfer, data: this.data, biasCorrection, log: (m) => this.rec.log('info', m) };
  }

  dispose(): void {
    for (const x of this.owned.splice(0).reverse()) x.dispose();
  }
}

/** Trainable parameters of the loss terms' own modules (connectors, embeddings). */
export const lossModuleParams = (terms: ActiveTerm[]): number => termVariables(terms).reduce((n, v) => n + v.size, 0);

/** The run folder holding a saved `model` (teacher or student): run `run`, or with `latest` this config's newest finished run that saved one. */
function findRunWithModel(runsDir: string, config: DistillConfig, configPath: string, run: string, model: 'teacher' | 'student'): string {
  const saved = (dir: string) => fs.existsSync(path.join(dir, MODELS, model, 'model.json'));
  if (run !== 'latest') {
    const dir = path.join(runsDir, run);
    if (!saved(dir)) throw new Error(`run ${run} has no saved ${model} (${dir})`);
    return dir;
  }
  const found = listRuns(runsDir).find((r) => r.manifest.configPath === configPath && r.manifest.status === 'done' && saved(r.dir));
  if (!found) throw new Error(`no finished run of ${config.name} with a saved ${model} in ${runsDir}`);
  return found.dir;
}

/**
 * The student's variables of its layers up to the deepest of `layers` (taps are in layer order):
 * what a pre-training stage on those layers trains — the layers after them get no gradient, and
 * must not get weight decay either.
 */
function variablesUpTo(net: TappedModel, layers: string[]) {
  const deepest = Math.max(...layers.map((l) => net.taps.findIndex((t) => t.name === l)));
  const names = new Set(net.taps.slice(0, deepest + 1).map((t) => t.name));
  const upTo = net.trainableVariables.filter((v) => names.has(v.name.split('/')[0]));
  return upTo.length ? upTo : net.trainableVariables;
}
