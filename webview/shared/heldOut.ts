// Which per-epoch accuracy a run's curves show. The validation split's when the run has one (what
// a run chooses on); the test split's only in runs that evaluated it every epoch (opt-in, or made
// before the test set was evaluated once at the end), labelled so; otherwise the training
// accuracy, labelled as such. Pure: the Loss Split and Compare panels both use it.
import type { EpochMetric } from '../../src/core/webviewProtocol';

export type EpochCurve = 'validation' | 'test' | 'train';

/** The curve a run's epoch records support best. */
export function primaryCurve(epochs: readonly EpochMetric[]): EpochCurve {
  if (epochs.some((e) => e.validationAccuracy !== undefined)) return 'validation';
  if (epochs.some((e) => e.testAccuracy !== undefined)) return 'test';
  return 'train';
}

/** Whether the records also carry a per-epoch test curve beside the validation one. */
export function hasEveryEpochTest(epochs: readonly EpochMetric[]): boolean {
  return epochs.some((e) => e.testAccuracy !== undefined);
}

/** An epoch's value on `curve`: accuracy, or (`errors`) errors (the training curve has no count: its error rate). */
export function curveValue(e: EpochMetric, curve: EpochCurve, errors: boolean): number | null {
  const v =
    curve === 'validation'
      ? errors
        ? e.validationErrors
        : e.validationAccuracy
      : curve === 'test'
        ? errors
          ? e.testErrors
          : e.testAccuracy
        : errors
          ? 1 - e.trainAccuracy
          : e.trainAccuracy;
  return v === undefined || !Number.isFinite(v) ? null : v;
}

/** "Validation accuracy", "Test errors (every epoch)", "Train error rate (no validation split)". */
export function curveTitle(curve: EpochCurve, errors: boolean): string {
  switch (curve) {
    case 'validation':
      return errors ? 'Validation errors' : 'Validation accuracy';
    case 'test':
      return errors ? 'Test errors (every epoch)' : 'Test accuracy (every epoch)';
    case 'train':
      return errors ? 'Train error rate (no validation split)' : 'Train accuracy (no validation split)';
  }
}
