// The distillation schemes (`distillation.mode`), each declared once: what it is and which models
// a run of it trains, in order. The run's plan (the manifest's `models`, the host's progress, the
// views' model lists) comes from here; the trainer's side of each mode is src/trainer/modes/.
import type { DistillConfig, DistillMode } from './config/schema';
import { CLASSIC_LABELS, CLASSIC_STAGES, type ModelResult, type RunModel, type RunResults, type Manifest, type StageName } from './protocol';

export interface ModeDefinition {
  title: string;
  /** The paper or library the scheme follows. */
  reference: string;
  /** Whether the config must name a teacher. */
  needsTeacher: boolean;
  /** The run's models in training order. */
  plan(config: DistillConfig): RunModel[];
}

const trainedTeacherEpochs = (config: DistillConfig) => (config.teacher?.source === 'train' ? config.teacher.training.epochs : undefined);

/** The offline teacher: one model, or an ensemble's members and their average. */
function teacherModels(config: DistillConfig): RunModel[] {
  const t = config.teacher;
  if (!t) return [];
  if (t.source !== 'ensemble') return [{ id: 'teacher', role: 'teacher', label: 'teacher', trained: t.source === 'train', epochs: trainedTeacherEpochs(config) }];
  const members = t.members.map(
    (m, i): RunModel => ({
      id: `teacher${i + 1}`,
      role: 'member',
      label: `teacher ${i + 1}`,
      trained: m.source === 'train',
      ...(m.source === 'train' ? { epochs: m.training.epochs } : {}),
    }),
  );
  return [...members, { id: 'teacher', role: 'teacher', label: `ensemble of ${members.length} teachers`, trained: false, members: members.map((m) => m.id) }];
}

const baselineModel = (config: DistillConfig): RunModel[] =>
  config.baseline ? [{ id: 'baseline', role: 'baseline', label: 'baseline student', trained: true, epochs: config.training.epochs }] : [];

export const MODES: Record<DistillMode, ModeDefinition> = {
  offline: {
    title: 'Offline distillation',
    reference: 'Hinton, Vinyals & Dean 2015; RepDistiller',
    needsTeacher: true,
    plan: (config) => [
      ...teacherModels(config),
      ...baselineModel(config),
      { id: 'student', role: 'student', label: 'distilled student', trained: true, epochs: config.training.epochs, ...(config.baseline ? { baseline: 'baseline' } : {}) },
    ],
  },
  online: {
    title: 'Online distillation (deep mutual learning)',
    reference: 'Zhang et al. 2018, Deep Mutual Learning',
    needsTeacher: true,
    plan: (config) => {
      const count = 2 + (config.distillation.peers?.length ?? 0);
      const epochs = config.training.epochs;
      const ids = Array.from({ length: count }, (_, i) => i + 1);
      const label = (i: number) => `peer ${i}${i === 1 ? ' (teacher)' : i === 2 ? ' (student)' : ''}`;
      return [
        ...(config.baseline ? ids.map((i): RunModel => ({ id: `peer${i}-alone`, role: 'baseline', label: `${label(i)} alone`, trained: true, epochs })) : []),
        ...ids.map((i): RunModel => ({ id: `peer${i}`, role: 'peer', label: label(i), trained: true, epochs, stage: 'peers', ...(config.baseline ? { baseline: `peer${i}-alone` } : {}) })),
      ];
    },
  },
  'born-again': {
    title: 'Born-again networks',
    reference: 'Furlanello et al. 2018, Born-Again Neural Networks',
    needsTeacher: true,
    plan: (config) => {
      const k = config.distillation.generations ?? 2;
      const gens = Array.from({ length: k }, (_, i): RunModel => ({
        id: `gen${i + 1}`,
        role: 'generation',
        label: `generation ${i + 1}`,
        trained: true,
        epochs: config.training.epochs,
        ...(config.baseline ? { baseline: 'baseline' } : {}),
      }));
      return [
        ...teacherModels(config).map((m) => (m.id === 'teacher' ? { ...m, label: `${m.label} (generation 0)` } : m)),
        ...baselineModel(config),
        ...gens,
        ...(k > 1 ? [{ id: 'ensemble', role: 'ensemble' as const, label: `ensemble of ${k} generations`, trained: false, members: gens.map((g) => g.id) }] : []),
      ];
    },
  },
  self: {
    title: 'Self-distillation (Be Your Own Teacher)',
    reference: 'Zhang et al. 2019, Be Your Own Teacher',
    needsTeacher: false,
    plan: (config) => {
      const epochs = config.training.epochs;
      const exits = [...(config.distillation.exits ?? []), 'logits'];
      return [
        ...baselineModel(config).map((b) => ({ ...b, label: 'network alone' })),
        ...exits.map((layer): RunModel => ({
          id: `exit-${layer}`,
          role: 'exit',
          label: layer === 'logits' ? 'deepest exit (the network)' : `exit ${layer}`,
          trained: true,
          epochs,
          stage: 'exits',
          ...(config.baseline ? { baseline: 'baseline' } : {}),
        })),
      ];
    },
  },
};

export const modeOf = (config: Pick<DistillConfig, 'distillation'>): DistillMode => config.distillation.mode ?? 'offline';

export function planModels(config: DistillConfig): RunModel[] {
  return MODES[modeOf(config)].plan(config);
}

/** The training stages in order with their epochs: models trained together share one stage. */
export function trainingStages(models: RunModel[]): { stage: string; epochs: number; models: StageName[] }[] {
  const out: { stage: string; epochs: number; models: StageName[] }[] = [];
  for (const m of models) {
    if (!m.trained) continue;
    const stage = m.stage ?? m.id;
    const found = out.find((s) => s.stage === stage);
    if (found) found.models.push(m.id);
    else out.push({ stage, epochs: m.epochs ?? 0, models: [m.id] });
  }
  return out;
}

/** A run's models: its manifest's plan, or for a run recorded before N models, the classic three it has results or a stage for. */
export function runModels(manifest: Pick<Manifest, 'models' | 'results' | 'stage'>): RunModel[] {
  if (manifest.models?.length) return manifest.models;
  return CLASSIC_STAGES.filter((s) => manifest.results[s] || manifest.stage === s || s === 'student').map((id) => ({
    id,
    role: id,
    label: CLASSIC_LABELS[id],
    trained: true,
    ...(id === 'student' ? { baseline: 'baseline' } : {}),
  }));
}

/** A model's result by id: from `results.models`, or in an older run the headline field of that name. */
export function modelResult(results: RunResults, id: StageName): ModelResult | undefined {
  const classic = (CLASSIC_STAGES as readonly string[]).includes(id) ? results[id as (typeof CLASSIC_STAGES)[number]] : undefined;
  return results.models?.[id] ?? classic;
}
