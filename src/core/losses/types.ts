// The shape of one distillation loss. Each loss is one file in this folder declaring:
// its config fragment (the schema DSL, so types, JSON schema, README reference and validator
// follow from it), what it reads (logits, labels, layer pairs, sample indices), its misuse checks,
// its trainable state (connectors, embeddings, memory banks), its pure loss function, and what its
// views show (feature maps per pair, relation matrices). The trainer, the validator, the host and
// the webviews read these declarations through `./index.ts`; none of them names a loss.
//
// Why the math is here, in core, with no runtime tfjs import: a loss must be one file, and core
// may not load tfjs (the extension host and the webviews import core). So the math is written
// against the tfjs namespace that the trainer hands in (`inputs.tf`); the imports below are types
// only and vanish from every bundle.
import type * as tfjs from '@tensorflow/tfjs';
import type { Infer, ObjectSchema } from '../schema/dsl';

export type Tf = typeof tfjs;
export type Tensor = tfjs.Tensor;
export type Scalar = tfjs.Scalar;
export type Variable = tfjs.Variable;

/** The kinds of knowledge of Gou et al.'s survey, plus the hard labels. */
export type Knowledge = 'label' | 'response' | 'feature' | 'relation';

/** A layer as the loss sees it: its tap name and output shape without the batch dimension. */
export interface Layer {
  name: string;
  shape: number[];
}

/** One student layer matched with one teacher layer (names in a term, layers once resolved). */
export interface LayerPair<L = string> {
  student: L;
  teacher: L;
}

/** What a loss reads at one step. Teacher tensors are constants: no gradient reaches the teacher. */
export interface LossInputs {
  tf: Tf;
  /** The student's taps by layer name, `logits` included. */
  student: Map<string, Tensor>;
  /** The frozen teacher's taps (absent for terms that do not use the teacher). */
  teacher?: Map<string, Tensor>;
  /** True class ids, int32 [batch]. */
  labels?: tfjs.Tensor1D;
  /** Each example's index in the training split, int32 [batch] (CRD's memory bank). */
  indices?: tfjs.Tensor1D;
  /** distillation.temperature (a term's own temperature wins). */
  temperature: number;
  /** 1-based epoch of the stage and its length (warm-up schedules); 0 outside training. */
  epoch: number;
  epochs: number;
  /** False in probes and evaluation: state such as a memory bank must not change. */
  training: boolean;
}

/**
 * A term's trainable state: its variables train with the student (and count in the run's
 * parameters) but are never part of the exported student.
 */
export interface LossState {
  variables: Variable[];
  dispose(): void;
}

/** What the trainer knows when it creates a term's state. */
export interface StateContext {
  tf: Tf;
  pairs: LayerPair<Layer>[];
  numClasses: number;
  /** Examples in the training split (the size of a memory bank over sample indices). */
  trainCount: number;
  /** Seeds the state's initial values (distinct per term). */
  seed: number;
}

/** Facts the validator has once the models' shapes are known. */
export interface CheckContext {
  pairs: LayerPair<Layer>[];
  trainCount?: number;
  numClasses?: number;
}

/** A misuse of a term, anchored on one of its fields. */
export interface TermProblem {
  field: string;
  message: string;
}

/** What Feature Maps shows for one pair: the two maps as the loss compares them, [B, ...]. */
export interface ComparedMaps extends LayerPair<Tensor> {
  /** What the maps are, e.g. "after its connector", "attention map". */
  what?: string;
  /** Layer names when they are not the pair's (FSP: "conv1>conv2"). */
  label?: LayerPair;
}

/** A relation matrix over the probe batch (batch × batch, or layer × layer for FSP). */
export interface Relation {
  /** e.g. "Gram (row-normalised)", "distance", "angle". */
  name: string;
  student: Tensor;
  teacher: Tensor;
}

/**
 * A stage a loss runs before distillation (FitNet stage 1, AB's initialisation, FT's paraphraser):
 * `epochs(term)` epochs minimising `compute` over `variables`. `student: true` also trains the
 * student's own variables.
 */
export interface PretrainHook<Term, State> {
  epochs(term: Term): number;
  student: boolean;
  variables(state: State): Variable[];
  compute(term: Term, inputs: LossInputs, state: State): Tensor;
  /** One line for the log: what this stage does. */
  describe: string;
}

export interface LossDefinition<S extends ObjectSchema = ObjectSchema, St extends LossState | undefined = LossState | undefined> {
  type: string;
  /** Short name for views and pickers: "Attention transfer". */
  title: string;
  /** Authors, venue, year. */
  paper: string;
  /** The code this loss matches: "RepDistiller distiller_zoo/AT.py". */
  reference: string;
  knowledge: Knowledge;
  /** The term's config fragment; `type` is the tag, `weight` and `id` are in every term. */
  schema: S;
  /** The term a template or completion inserts: the reference's default weight and settings. */
  example: Record<string, unknown>;
  /**
   * The student model a template needs when the example's layers do not fit the example student
   * (FSP compares flow matrices entry by entry: its layers need the teacher's channel counts).
   */
  templateStudent?: Record<string, unknown>;
  /** What the term reads besides the student's taps. */
  uses: { teacher: boolean; labels?: boolean; indices?: boolean };
  /**
   * Misuse that only the layers' shapes (or the data's size) reveal. A layer-pair term names its
   * layers in `student`/`teacher` (and `studentTo`/`teacherTo` for a second pair): `c.pairs`
   * holds them resolved, in that order.
   */
  check?(term: Infer<S>, c: CheckContext): TermProblem[];
  createState?(term: Infer<S>, c: StateContext): St;
  /** The term's raw (unweighted) value: a scalar. Called inside the trainer's gradient tape. */
  compute(term: Infer<S>, inputs: LossInputs, state: St): Tensor;
  /** Feature Maps: per pair, the student's and the teacher's maps as compared (default: the taps). */
  maps?(term: Infer<S>, inputs: LossInputs, state: St): ComparedMaps[];
  /** The Relations view: the relation matrices the term matches. */
  relations?(term: Infer<S>, inputs: LossInputs, state: St): Relation[];
  pretrain?: PretrainHook<Infer<S>, St>;
}

/** Keeps each loss file's types precise (its term type flows into every method). */
export function defineLoss<S extends ObjectSchema, St extends LossState | undefined = undefined>(def: LossDefinition<S, St>): LossDefinition<S, St> {
  return def;
}
