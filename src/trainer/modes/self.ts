// Self-distillation — Be Your Own Teacher (Zhang et al. 2019; reference
// luanyunteng/pytorch-be-your-own-teacher train.py): the network gets an early exit on each of
// `distillation.exits` (a head of its own, exits.ts) and all exits train at once, in one stage, on
// the same batches. Each shallow exit minimises the configured terms with the deepest exit's
// detached predictions as its teacher, plus `exitFeatureWeight` × the mean squared distance from
// its head's features to the deepest features (detached); the deepest exit (the network itself)
// minimises the configured label terms only. With losses [ce (1−α), kd α] this is BYOT's total
//   (1−α)·Σ_i CE_i + α·Σ_shallow T²·KL(q_deep ‖ q_i) + λ·Σ_shallow ‖F_i − F_deep‖²
// (the reference: α = 0.1, T = 3). Every exit is reported as a model of its own: the sub-network
// up to it plus its head, so the table is the depth/accuracy trade-off to deploy from.
import type { LossTerm } from '../../core/config/schema';
import { lossDefinition } from '../../core/losses';
import { buildExits, deepestFeatures, type Exit, EXIT_FEATURES } from '../exits';
import type { ActiveTerm } from '../losses';
import type { TappedModel } from '../models';
import type { Learner } from '../train';
import type { RunContext } from './context';
import { CE_ONLY } from './context';

export const DEEPEST_EXIT = 'exit-logits';
const DEFAULT_FEATURE_WEIGHT = 0.03;

/**
 * The stage's learners, shallowest exit first, the network (the deepest exit) last: each shallow
 * exit on `losses` plus the feature hint, taught by the deepest exit's detached outputs (its
 * `peers`); the deepest on the label terms of `losses` (CE alone when there are none).
 */
export function exitLearners(
  network: TappedModel,
  exits: Exit[],
  losses: LossTerm[],
  featureWeight: number,
  activate: (terms: LossTerm[], student: TappedModel, teacher?: TappedModel) => ActiveTerm[],
): Learner[] {
  const hint: LossTerm[] =
    featureWeight > 0 ? [{ type: 'hint', weight: featureWeight, student: EXIT_FEATURES, teacher: deepestFeatures(network).name, connector: 'none', stage1Epochs: 0 }] : [];
  // BYOT's deepest classifier learns from the labels alone: the configured terms that need no teacher.
  const labelTerms = losses.filter((t) => !lossDefinition(t.type).uses.teacher);
  return [
    ...exits.map((e) => ({ id: `exit-${e.layer}`, net: e.net, terms: activate([...losses, ...hint], e.net, network), peers: [DEEPEST_EXIT] })),
    { id: DEEPEST_EXIT, net: network, terms: activate(labelTerms.length ? labelTerms : CE_ONLY, network) },
  ];
}

export async function runSelf(ctx: RunContext): Promise<void> {
  const { config } = ctx;
  const spec = config.student.model;
  const { losses } = config.distillation;
  if (ctx.canTrainBaseline()) await ctx.trainAlone('baseline', spec, 1, 'baseline');
  // The same seed as the baseline: the deepest exit starts from the baseline's initial weights.
  const network = ctx.build(spec, 1);
  // Heads from their own seeds; the views share the network's dropout seed (build's seed + 1).
  const { exits } = ctx.own(buildExits(network, config.distillation.exits ?? [], config.seed + 5, config.seed + 1));

  const featureWeight = config.distillation.exitFeatureWeight ?? DEFAULT_FEATURE_WEIGHT;
  const learners = exitLearners(network, exits, losses, featureWeight, (terms, student, teacher) => ctx.terms(terms, student, teacher));
  await ctx.train('exits', learners);
  for (const l of learners) await ctx.finish(l.id, l.net, { headline: l.id === DEEPEST_EXIT ? 'student' : undefined });
}
