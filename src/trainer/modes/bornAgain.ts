// Born-again networks (Furlanello et al. 2018): generation 1 is taught by the teacher, generation
// k by generation k−1, each a fresh network of the student's architecture (the teacher's, for BAN
// proper) trained with the configured losses. The generations' ensemble — their averaged
// probabilities, BAN's "BAN ensemble" — is reported too.
import { ensembleModel } from '../ensemble';
import type { TappedModel } from '../models';
import type { RunContext } from './context';

export async function runBornAgain(ctx: RunContext): Promise<void> {
  const { config } = ctx;
  const k = config.distillation.generations ?? 2;
  let teacher = await ctx.teacher();
  const spec = config.student.model;
  if (ctx.canTrainBaseline()) await ctx.trainAlone('baseline', spec, 1, 'baseline');
  const generations: TappedModel[] = [];
  for (let g = 1; g <= k; g++) {
    const id = `gen${g}`;
    // Generation 1 starts from the baseline's initial weights (seed +1), later ones from fresh ones.
    const net = ctx.build(spec, g);
    const terms = ctx.terms(config.distillation.losses, net, teacher);
    await ctx.pretrain(id, net, terms, teacher);
    await ctx.train(id, [{ id, net, terms }], { teacher });
    await ctx.finish(id, net, { headline: g === k ? 'student' : undefined, lossTerms: terms });
    generations.push(net);
    teacher = net;
  }
  if (k > 1) await ctx.finish('ensemble', ensembleModel(generations, 'probabilities', 1), { save: false });
}
