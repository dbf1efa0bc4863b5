// Online distillation — Deep Mutual Learning (Zhang et al. 2018): the teacher, the student and any
// further peers train together from scratch on the same batches. Each peer minimises its terms
// (CE, and KD towards a peer's predictions) averaged over the other peers, whose predictions are
// fixed targets for it: L_i = CE_i + 1/(K−1) Σ_{j≠i} KL(p_j ‖ p_i) with losses [ce, kd] at T = 1.
// `peerUpdates`: `together` (the default) steps all peers at once; `in-turn` updates them one after
// another within each step, each against the others' predictions after the updates before it, as
// DML's Algorithm 1 and reference code do (at small learning rates the two agree; the simultaneous
// step keeps the peers symmetric and costs one forward pass per peer instead of K). Each peer is
// measured against itself trained alone, on the same seed and batches.
import type { ModelSpec } from '../../core/config/schema';
import type { TappedModel } from '../models';
import type { Learner } from '../train';
import type { RunContext } from './context';

export async function runOnline(ctx: RunContext): Promise<void> {
  const { config } = ctx;
  if (config.teacher?.source !== 'train') throw new Error('online distillation needs a teacher with "source": "train"');
  // Peer i gets seed offset i−1: peer 1 starts as the offline teacher would, peer 2 as the student.
  const specs: ModelSpec[] = [config.teacher.model, config.student.model, ...(config.distillation.peers ?? []).map((p) => p.model)];
  const ids = specs.map((_, i) => `peer${i + 1}`);
  const headline = (i: number) => (i === 0 ? 'teacher' : i === 1 ? 'student' : undefined);

  if (ctx.canTrainBaseline()) {
    for (const [i, spec] of specs.entries()) await ctx.trainAlone(`${ids[i]}-alone`, spec, i, i === 1 ? 'baseline' : undefined);
  }

  const nets: TappedModel[] = specs.map((spec, i) => ctx.build(spec, i));
  const learners: Learner[] = nets.map((net, i) => ({
    id: ids[i],
    net,
    terms: ctx.terms(config.distillation.losses, net),
    peers: ids.filter((_, j) => j !== i),
  }));
  await ctx.train('peers', learners, { inTurn: config.distillation.peerUpdates === 'in-turn' });
  for (const [i, l] of learners.entries()) await ctx.finish(l.id, l.net, { headline: headline(i) });
}
