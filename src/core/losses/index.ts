// The loss registry: every loss the trainer knows, listed here once. The config schema's union of
// loss terms, the validator's layer and misuse checks, the trainer's dispatch, the views' labels
// and the templates all come from this list. Adding a loss: one file in this folder, one line here.
import { type Infer, type ObjectSchema, tagged } from '../schema/dsl';
import ab from './ab';
import at from './at';
import cc from './cc';
import ce from './ce';
import crd from './crd';
import dist from './dist';
import dkd from './dkd';
import fsp from './fsp';
import ft from './ft';
import hint from './hint';
import kd from './kd';
import nst from './nst';
import pkt from './pkt';
import rkd from './rkd';
import sp from './sp';
import type { LayerPair, LossDefinition } from './types';
import vid from './vid';

// In the survey's order: labels, then response-, feature- and relation-based knowledge.
export const LOSSES = { ce, kd, dkd, dist, hint, at, nst, fsp, vid, ab, ft, sp, rkd, pkt, cc, crd } as const;

type SchemasOf<R extends Record<string, { schema: ObjectSchema }>> = { [K in keyof R]: R[K]['schema'] };
// Each term's schema as the editor shows it: the loss's name, paper and reference first (hover,
// completion), and its example (the reference's default weight) as what completion inserts.
const schemas = Object.fromEntries(
  Object.entries(LOSSES).map(([k, d]) => [
    k,
    { ...d.schema, description: `**${d.title}** (${d.paper}; ${d.knowledge}). ${d.schema.description}`, example: d.example },
  ]),
) as SchemasOf<typeof LOSSES>;

export const lossTermSchema = tagged('One term of the student\'s loss.', 'type', schemas);
export type LossTerm = Infer<typeof lossTermSchema>;

/** A registered loss with its term type erased: what generic code (trainer, validator, views) calls. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyLoss = LossDefinition<ObjectSchema, any>;

export function lossDefinition(type: string): AnyLoss {
  const def = (LOSSES as Record<string, AnyLoss>)[type];
  if (!def) throw new Error(`unknown loss "${type}" (known: ${Object.keys(LOSSES).join(', ')})`);
  return def;
}

export const allLosses = (): AnyLoss[] => Object.values(LOSSES) as AnyLoss[];

/**
 * The connector a term as written asks for (its default filled in), or undefined for a loss that
 * has no connector setting (or a type that is not a loss).
 */
export function requestedConnector(term: { type?: unknown; connector?: unknown }): string | undefined {
  const prop = (LOSSES as Record<string, AnyLoss>)[String(term.type)]?.schema.properties.connector;
  if (!prop) return undefined;
  return typeof term.connector === 'string' ? term.connector : String((prop.schema as { default?: string }).default);
}

/** A layer named in a term, with the field that names it. */
export interface LayerField {
  field: string;
  name: string;
}

/**
 * The layer pairs a term matches, with their fields: `student`/`teacher`, and for a two-layer term
 * (FSP's flow between two layers) also `studentTo`/`teacherTo`. [] for terms over logits or labels.
 */
export function termPairFields(term: object): LayerPair<LayerField>[] {
  const t = term as Record<string, unknown>;
  const pairs: LayerPair<LayerField>[] = [];
  for (const suffix of ['', 'To']) {
    const s = t[`student${suffix}`];
    const u = t[`teacher${suffix}`];
    if (typeof s === 'string' && typeof u === 'string') pairs.push({ student: { field: `student${suffix}`, name: s }, teacher: { field: `teacher${suffix}`, name: u } });
  }
  return pairs;
}

/** The layer pairs a term matches, by name. */
export const termPairs = (term: object): LayerPair[] => termPairFields(term).map((p) => ({ student: p.student.name, teacher: p.teacher.name }));

/** Whether any of these terms reads the teacher. */
export const usesTeacher = (terms: LossTerm[]) => terms.some((t) => lossDefinition(t.type).uses.teacher);

export { termId } from './termId';
