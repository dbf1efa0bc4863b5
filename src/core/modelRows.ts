// A run's models as every view lists them (the CLI table and `distill list`, the tree, the hovers,
// the CodeLens): each model of the plan with its result and what it is measured against. Pure, so
// the CLI and the extension host read a run the same way.
import { modelResult, runModels } from './modes';
import type { Manifest, ModelResult, RunModel, StageName } from './protocol';

/** A model measured against another: its own alone-trained baseline, or an ensemble's best member. */
export interface Comparison {
  against: RunModel;
  result: ModelResult;
  /** This model's test errors minus the other's (negative: fewer errors). */
  deltaErrors: number;
}

export interface ModelRow {
  model: RunModel;
  /** Absent until the model has finished (or when the run stopped before it). */
  result?: ModelResult;
  comparison?: Comparison;
}

type RunView = Pick<Manifest, 'models' | 'results' | 'stage' | 'mode'>;

/** Whether the run records its models (runs before N models hold only the classic three). */
export const recordsModels = (m: Pick<Manifest, 'models'>): boolean => Boolean(m.models?.length);

/** The run's mode, `offline` for runs recorded before modes. */
export const runMode = (m: Pick<Manifest, 'mode'>): string => m.mode ?? 'offline';

/** Every model of the run in training order, with its result and its comparison when both sides have finished. */
export function modelRows(m: RunView): ModelRow[] {
  const models = runModels(m);
  const byId = new Map(models.map((x) => [x.id, x]));
  return models.map((model) => {
    const result = modelResult(m.results, model.id);
    const row: ModelRow = { model, result };
    if (!result) return row;
    const versus = (id: StageName | undefined): Comparison | undefined => {
      const against = id === undefined ? undefined : byId.get(id);
      const other = against && modelResult(m.results, against.id);
      return against && other ? { against, result: other, deltaErrors: result.testErrors - other.testErrors } : undefined;
    };
    if (model.baseline) row.comparison = versus(model.baseline);
    else if (model.members?.length) {
      // An ensemble against its best member: what averaging bought.
      const best = model.members.map(versus).filter((c): c is Comparison => !!c).sort((a, b) => a.result.testErrors - b.result.testErrors)[0];
      row.comparison = best;
    }
    return row;
  });
}

/** "2 fewer errors", "1 more error", "as many errors". */
export function errorDeltaText(delta: number): string {
  if (delta === 0) return 'as many errors';
  const n = Math.abs(delta);
  return `${n} ${delta < 0 ? 'fewer' : 'more'} error${n === 1 ? '' : 's'}`;
}

/** "2 fewer errors than peer1-alone"; an ensemble's says "than its best member, gen2". */
export function comparisonText(row: ModelRow): string {
  const c = row.comparison;
  if (!c) return '';
  const what = row.model.members?.includes(c.against.id) ? `its best member, ${c.against.id}` : c.against.id;
  return `${errorDeltaText(c.deltaErrors)} than ${what}`;
}

/**
 * The models behind the headline results (`results.teacher`, `baseline`, `student`), which the
 * ratios and the gap closed compare: an online run's first peer and second peer, a born-again
 * run's generation 0 and last generation, a self-distilled network's deepest exit.
 */
export function headlineModels(m: RunView): { teacher?: RunModel; baseline?: RunModel; student?: RunModel } {
  const models = runModels(m);
  const ofRole = (role: RunModel['role']) => models.filter((x) => x.role === role);
  const teacher = ofRole('teacher')[0] ?? ofRole('peer')[0];
  const student = ofRole('student')[0] ?? ofRole('peer')[1] ?? ofRole('generation').at(-1) ?? ofRole('exit').at(-1);
  const baseline = models.find((x) => x.id === student?.baseline);
  return { teacher, baseline, student };
}

/** Test error in percent with one decimal, as the short summaries print it. */
const pct = (r: ModelResult) => ((100 * r.testErrors) / r.testCount).toFixed(1);

/**
 * The models a short summary names for a run that is not a classic offline one: the distilled
 * ones and the computed ensembles (the alone-trained controls and an ensemble's members are in the
 * tooltips and the tree).
 */
export function summaryRows(m: RunView): ModelRow[] {
  return modelRows(m).filter((r) => r.result && r.model.role !== 'baseline' && r.model.role !== 'member');
}

/** "peer1 24.0 · peer2 25.7 · peer3 26.7 % err": a run of another mode in a few characters. */
export function shortModelResults(m: RunView): string {
  const rows = summaryRows(m);
  return rows.length ? `${rows.map((r) => `${r.model.id} ${pct(r.result!)}`).join(' · ')} % err` : '';
}

/** Whether a run reads as the classic three (an offline run, old or new): its summaries stay as they were. */
export const isClassicRun = (m: RunView): boolean => runMode(m) === 'offline';

/**
 * What the ratio and gap lines call the headline models: "teacher", "baseline", "student" in an
 * offline run (old or new), the models' labels in the others ("peer 1 (teacher)", "generation 2").
 */
export function headlineNames(m: RunView): { teacher: string; baseline: string; student: string } {
  const names = { teacher: 'teacher', baseline: 'baseline', student: 'student' };
  if (isClassicRun(m)) return names;
  const h = headlineModels(m);
  return { teacher: h.teacher?.label ?? names.teacher, baseline: h.baseline?.label ?? names.baseline, student: h.student?.label ?? names.student };
}

/**
 * Whether "closed X% of the baseline → teacher gap" means something: only against a frozen teacher
 * (offline, born-again). Online peers move together, and a self-distilled network has no teacher.
 */
export const hasGapLine = (m: RunView): boolean => headlineModels(m).teacher?.role === 'teacher';
