// Diffing run configs for the compare view: each config flattened to `path → value` leaves
// (`teacher.model.hidden` → `[256,128]`; loss terms keyed by their id rather than their index, so
// adding a term does not shift every later one). Pure: unit tested.

import { type TermLike, termId } from '../../src/core/losses/termId';

export type Flat = Map<string, string>;

function termKey(term: unknown, i: number): string {
  return term && typeof term === 'object' && typeof (term as TermLike).type === 'string' ? termId(term as TermLike) : String(i);
}

/** `{"weight":1,"connector":"auto"}` → `weight 1, connector auto`: a loss term or conv block in one cell. */
function compact(v: unknown, omit: string[] = []): string {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return JSON.stringify(v);
  return Object.entries(v as Record<string, unknown>)
    .filter(([k]) => !omit.includes(k))
    .map(([k, x]) => `${k} ${typeof x === 'string' ? x : JSON.stringify(x)}`)
    .join(', ');
}

export function flatten(value: unknown, prefix = '', out: Flat = new Map()): Flat {
  if (Array.isArray(value)) {
    if (prefix.endsWith('losses')) {
      // One row per loss term, keyed by its id (`kd`, `hint:fc1<-fc2`, or the id written).
      value.forEach((v, i) => out.set(`${prefix}[${termKey(v, i)}]`, compact(v, ['type', 'id', 'student', 'teacher', 'studentTo', 'teacherTo'])));
    } else if (value.every((v) => v === null || typeof v !== 'object')) {
      // Lists of numbers (layer widths, milestones) are one value.
      out.set(prefix, JSON.stringify(value));
    } else {
      // Lists of objects (conv blocks): one row per list, each item compacted.
      out.set(prefix, value.map((v) => `{${compact(v)}}`).join(' '));
    }
  } else if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([k]) => k !== '$schema');
    if (!entries.length) out.set(prefix, '{}');
    for (const [k, v] of entries) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out.set(prefix, value === undefined ? '' : JSON.stringify(value));
  }
  return out;
}

export interface DiffRow {
  path: string;
  /** One cell per config; undefined where the setting is absent. */
  values: (string | undefined)[];
  differs: boolean;
}

/** Every setting of any of the configs, in first-seen order, marked where they differ. */
export function diffConfigs(configs: unknown[]): DiffRow[] {
  const flats = configs.map((c) => flatten(c));
  const paths: string[] = [];
  const seen = new Set<string>();
  for (const f of flats)
    for (const k of f.keys()) {
      if (seen.has(k)) continue;
      seen.add(k);
      paths.push(k);
    }
  return paths.map((path) => {
    const values = flats.map((f) => f.get(path));
    return { path, values, differs: values.some((v) => v !== values[0]) };
  });
}
