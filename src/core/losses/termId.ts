// The name a loss term is logged, charted and compared under. Pure and registry-free, so the
// webviews can use it on the raw JSON of any run's config.

/** A term as written: `type`, optional `id`, layer fields for layer-pair terms. */
export interface TermLike {
  type?: unknown;
  id?: unknown;
  student?: unknown;
  teacher?: unknown;
  studentTo?: unknown;
  teacherTo?: unknown;
}

/**
 * The term's `id` when written, else its type and layers: `ce`, `kd`, `hint:fc1<-fc2`,
 * `fsp:conv1>conv2<-conv1>conv2` (a two-layer term: from > to on each side).
 */
export function termId(term: TermLike): string {
  if (typeof term.id === 'string' && term.id) return term.id;
  const type = String(term.type);
  if (typeof term.student !== 'string' || typeof term.teacher !== 'string') return type;
  const side = (a: string, b: unknown) => (typeof b === 'string' ? `${a}>${b}` : a);
  return `${type}:${side(term.student, term.studentTo)}<-${side(term.teacher, term.teacherTo)}`;
}
