// Offline distillation: a frozen teacher (trained first, loaded, or an ensemble) teaches the
// student; the same student trained alone on the labels is the baseline it is measured against.
import { lossModuleParams, type RunContext } from './context';

export async function runOffline(ctx: RunContext): Promise<void> {
  const teacher = await ctx.teacher();
  const spec = ctx.config.student.model;
  // Baseline: the same student, same seed (so the same initial weights and batches), hard labels only.
  if (ctx.canTrainBaseline()) await ctx.trainAlone('baseline', spec, 1, 'baseline');
  const student = ctx.build(spec, 1);
  const terms = ctx.terms(ctx.config.distillation.losses, student, teacher);
  const lossParams = lossModuleParams(terms);
  if (lossParams) ctx.rec.log('info', `loss modules: ${lossParams} trainable parameters (not part of the exported student)`);
  await ctx.pretrain('student', student, terms, teacher);
  await ctx.train('student', [{ id: 'student', net: student, terms }], { teacher });
  await ctx.finish('student', student, { headline: 'student', lossTerms: terms });
}
