// Result numbers as every view prints them (CLI, tree hovers, the Compare panel), so that the same
// run never reads −13 % in one place and −12 % in another. Pure, type imports only: the webviews use it too.
import type { MetricRecord, ModelResult, OmittedClassResult, TrainingOutcome, TransferSummary } from './protocol';

/**
 * Share of the baseline → teacher error gap that distillation closed, in whole percent, rounded
 * half away from zero on both sides of 0 (Math.round alone turns −12.5 into −12 but 12.5 into 13).
 */
export function gapClosedPercent(gapRecovered: number): string {
  const p = 100 * gapRecovered;
  return `${Math.sign(p) * Math.round(Math.abs(p))}%`;
}

const thousands = (n: number) => n.toLocaleString('en-US');
const classList = (classes: number[]) => `class${classes.length > 1 ? 'es' : ''} ${classes.join(', ')}`;

/** "transfer set: 5,000 of 7,000 training examples, without class 3, no labels (soft targets only)". */
export function transferText(s: TransferSummary): string {
  const parts = [`${thousands(s.count)} of ${thousands(s.trainCount)} training examples`];
  if (s.omitClasses.length) parts.push(`without ${classList(s.omitClasses)}`);
  if (!s.labels) parts.push('no labels (soft targets only)');
  return `transfer set: ${parts.join(', ')}`;
}

/** "93.1% (190/204)": accuracy on the test examples of the omitted classes. */
export function omittedText(o: OmittedClassResult): string {
  return `${o.count ? ((100 * o.correct) / o.count).toFixed(1) : '–'}% (${o.correct}/${o.count})`;
}

/**
 * The omitted-class lines of a result, for the CLI table and the tooltips: each model's accuracy
 * on the test examples of the classes its transfer set left out, then the bias-corrected student.
 */
export function omittedClassLines(models: readonly (readonly [string, ModelResult | undefined])[]): string[] {
  const lines: string[] = [];
  for (const [name, r] of models) {
    if (r?.omitted) lines.push(`${name} on the test ${classList(r.omitted.classes)}: ${omittedText(r.omitted)} correct`);
  }
  for (const [name, r] of models) {
    const b = r?.biasCorrected;
    if (!b) continue;
    const on = b.chosenOn === 'validation' ? 'the validation split' : 'the training examples left out of the transfer set';
    lines.push(
      `${name} with bias ${b.bias >= 0 ? '+' : ''}${b.bias.toFixed(2)} on the omitted classes (chosen on ${on}): ` +
        `${b.testErrors} test errors, ${omittedText(b.omitted)} of the omitted classes correct`,
    );
  }
  return lines;
}

/**
 * An epoch's held-out numbers: "validation errors 31", then the test errors only when the run
 * evaluates the test set every epoch (opt-in, for curves: labelled so nobody chooses on them).
 */
export function epochHeldOutText(r: Extract<MetricRecord, { kind: 'epoch' }>): string {
  const parts: string[] = [];
  if (r.validationErrors !== undefined) parts.push(`validation errors ${r.validationErrors}`);
  if (r.testErrors !== undefined) parts.push(`test errors ${r.testErrors} (every-epoch test)`);
  return parts.length ? parts.join(', ') : 'no validation split';
}

/** "kept epoch 12 of 15 (fewest validation errors: 23 of 800), stopped early". */
export function trainingOutcomeText(o: TrainingOutcome): string {
  const chosen = o.validationErrors !== undefined ? ` (fewest validation errors: ${o.validationErrors}${o.validationCount !== undefined ? ` of ${thousands(o.validationCount)}` : ''})` : '';
  return `kept epoch ${o.keptEpoch} of ${o.epochs}${o.keptEpoch !== o.epochs ? chosen : ''}${o.stoppedEarly ? ', stopped early' : ''}`;
}
