// Offline distillation: a frozen teacher (trained first, loaded, or an ensemble) teaches the
// student; the same student trained alone on the labels is the baseline it is measured against.
import type { RunContext } from './context';
import { CE_ONLY } from './context';

export async function runOffline(ctx: RunContext): Promise<void> {
  const teacher = await ctx.teacher();
  const spec = ctx.config.student.model;
  // Baseline: the same student, same seed (so the same initial weights and batches), hard labels only.
  if (ctx.canTrainBaseline()) {
    const baseline = ctx.build(spec, 1);
    await ctx.train('baseline', [{ id: 'baseline', net: baseline, terms: ctx.terms(CE_ONLY, baseline) }]);
    await ctx.finish('baseline', baseline, { headline: 'baseline' });
  }
  const student = ctx.build(spec, 1);
  const terms = ctx.terms(ctx.config.distillation.losses, student, teacher);
  const lossParams = terms.flatMap((t) => t.state?.variables ?? []).reduce((n, v) => n + v.size, 0);
  if (lossParams) ctx.rec.log('info', `loss modules: ${lossParams} trainable parameters (not part of the exported student)`);
  await ctx.pretrain('student', student, terms, teacher);
  await ctx.train('student', [{ id: 'student', net: student, terms }], { teacher });
  await ctx.finish('student', student, { headline: 'student', lossTerms: terms });
}
