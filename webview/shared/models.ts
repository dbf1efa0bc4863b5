// A run's models as the panels list them: plan order, labels and colours. Any model id works
// (peers, generations, exits, ensemble members); an older run's are the classic three.
import { CLASSIC_LABELS, CLASSIC_STAGES, type RunModel, type StageName } from '../../src/core/protocol';
import type { RunInfo } from '../../src/core/webviewProtocol';
import type { Palette } from './theme';

/** What the views call a model: its label in the run's plan, else the classic names, else its id. */
export function modelLabel(run: RunInfo | undefined, id: StageName): string {
  return run?.models?.find((m) => m.id === id)?.label ?? CLASSIC_LABELS[id] ?? id;
}

export function modelOf(run: RunInfo | undefined, id: StageName): RunModel | undefined {
  return run?.models?.find((m) => m.id === id);
}

/** `ids` in the run's plan order (ids the plan lacks last, by name). */
export function inPlanOrder(run: RunInfo | undefined, ids: Iterable<StageName>): StageName[] {
  const order = (run?.models ?? []).map((m) => m.id);
  const classic: readonly string[] = CLASSIC_STAGES;
  const rank = (id: StageName) => (order.includes(id) ? order.indexOf(id) : order.length + (classic.includes(id) ? classic.indexOf(id) : classic.length));
  return [...new Set(ids)].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Colours past the theme's six chart colours (a run of many peers or generations). */
const EXTRA = ['#26a69a', '#ec407a', '#8d6e63', '#7e57c2', '#9ccc65', '#29b6f6', '#ffa726', '#78909c'];

/**
 * One colour per model of the run, stable while it runs: the teacher, the baseline and the
 * distilled student keep their themed colours; every other model takes the next chart colour not
 * used yet, then the extra ones.
 */
export function modelColors(run: RunInfo | undefined, ids: StageName[], p: Palette): Map<StageName, string> {
  const themed: Record<string, string> = { teacher: p.teacher, baseline: p.baseline, student: p.student };
  const all = inPlanOrder(run, [...(run?.models ?? []).map((m) => m.id), ...ids]);
  const out = new Map<StageName, string>();
  for (const id of all) if (themed[id]) out.set(id, themed[id]);
  const free = [...p.series, ...EXTRA].filter((c) => ![...out.values()].includes(c));
  let next = 0;
  for (const id of all) if (!out.has(id)) out.set(id, free[next++ % free.length]);
  return out;
}

/** A "Model" select over `ids` (labelled from the run) in `holder`; hidden when there is nothing to choose. */
export function modelPicker(
  holder: HTMLElement,
  id: string,
  label: string,
): (run: RunInfo | undefined, ids: StageName[], value: StageName | undefined, onChange: (v: StageName) => void) => void {
  let key = '';
  let select: (HTMLElement & { value: string }) | undefined;
  return (run, ids, value, onChange) => {
    // Rebuilt only when the choices change, so the select keeps the keyboard focus while it is used.
    const k = ids.map((m) => `${m}=${modelLabel(run, m)}`).join(',');
    if (k === key) {
      if (select && value && select.value !== value) select.value = value;
      return;
    }
    key = k;
    holder.hidden = ids.length < 2;
    const el = document.createElement('vscode-single-select') as HTMLElement & { value: string };
    el.id = id;
    el.setAttribute('label', label);
    for (const m of ids) {
      const o = document.createElement('vscode-option');
      o.setAttribute('value', m);
      o.textContent = modelLabel(run, m);
      el.append(o);
    }
    if (value) el.value = value;
    el.addEventListener('change', () => onChange(el.value));
    select = el;
    const l = document.createElement('label');
    l.htmlFor = id;
    l.textContent = label;
    holder.replaceChildren(l, el);
  };
}
