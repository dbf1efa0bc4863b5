// What the validator reports: a problem with a stable code, a JSON path and an exact source range.
// The CLI prints them with `formatProblem`; the editor turns them into diagnostics.

/** 0-based line and column (UTF-16 code units, as VS Code counts them). */
export interface Position {
  line: number;
  col: number;
}

export interface Range {
  start: Position;
  end: Position;
}

export type Severity = 'error' | 'warning';

export type JsonPath = (string | number)[];

/** Every problem code the validator emits. Stable: tests, quick fixes and docs key on them. */
export const PROBLEM_CODES = [
  // reading and JSON syntax
  'unreadable-config',
  'json-syntax',
  'too-deep',
  // structure (from the schema)
  'wrong-type',
  'not-integer',
  'not-finite',
  'out-of-range',
  'array-length',
  'string-too-short',
  'unknown-value',
  'missing-tag',
  'unknown-tag',
  'missing-property',
  'unknown-key',
  'duplicate-key',
  'missing-file',
  // meaning
  'all-weights-zero',
  'duplicate-loss',
  'no-teacher-term',
  'unknown-layer',
  'loss-misuse',
  'not-enough-data',
  'bad-data',
  'cnn-needs-images',
  'model-invalid',
  'model-too-large',
  'milestone-beyond-epochs',
  'milestones-unsorted',
  'needs-validation',
  'patience-beyond-epochs',
  'probes-exceed-test',
  'ignored-property',
  'mode-needs-teacher',
  'mode-loss',
  'bad-exits',
  'needs-labels',
  'bad-transfer',
  'duplicate-seed',
  'conflicting-properties',
  'init-mismatch',
] as const;

export type ProblemCode = (typeof PROBLEM_CODES)[number];

export interface Problem {
  /** The config file as given to the parser (printed as is). */
  file: string;
  message: string;
  severity: Severity;
  /** 0-based. */
  range: Range;
  /** JSON path of the offending value (for a missing property: the property that is missing). */
  path: JsonPath;
  code: ProblemCode;
}

/** `file:line:col: error: message`, with 1-based line and column as compilers print them. */
export function formatProblem(p: Problem): string {
  return `${p.file}:${p.range.start.line + 1}:${p.range.start.col + 1}: ${p.severity}: ${p.message}`;
}

/** In source order (then errors before warnings); stable for equal positions. */
export function sortProblems(problems: Problem[]): Problem[] {
  return problems
    .map((p, i) => ({ p, i }))
    .sort(
      (a, b) =>
        a.p.range.start.line - b.p.range.start.line ||
        a.p.range.start.col - b.p.range.start.col ||
        (a.p.severity === b.p.severity ? 0 : a.p.severity === 'error' ? -1 : 1) ||
        a.i - b.i,
    )
    .map(({ p }) => p);
}

export const hasErrors = (problems: readonly Problem[]) => problems.some((p) => p.severity === 'error');

/** `teacher.training.optimizer.lr`, `distillation.losses[1].weight`; the root is `config`. */
export function formatPath(path: JsonPath): string {
  if (path.length === 0) return 'config';
  return path.map((s, i) => (typeof s === 'number' ? `[${s}]` : i === 0 ? s : `.${s}`)).join('');
}

/** Maps offsets in a text to 0-based line/column positions. */
export class LineMap {
  private readonly starts: number[] = [0];
  constructor(private readonly text: string) {
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c === 10 /* \n */) this.starts.push(i + 1);
      else if (c === 13 /* \r */ && text.charCodeAt(i + 1) !== 10) this.starts.push(i + 1);
    }
  }
  position(offset: number): Position {
    const o = Math.max(0, Math.min(offset, this.text.length));
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid] <= o) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo, col: o - this.starts[lo] };
  }
  range(offset: number, length: number): Range {
    return { start: this.position(offset), end: this.position(offset + length) };
  }
}

// ---- did you mean ---------------------------------------------------------------------------

/** Optimal-string-alignment distance: insertions, deletions, substitutions and adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** The candidate closest to `word` if it is close enough to be a likely typo, else undefined. */
export function didYouMean(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.toLowerCase() === lower ? 0 : editDistance(lower, c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.floor(Math.max(word.length, 3) / 3));
  return best !== undefined && bestDistance <= allowed ? best : undefined;
}

/** `; did you mean "x"?` or nothing. */
export const suggestion = (word: string, candidates: readonly string[]) => {
  const s = didYouMean(word, candidates);
  return s === undefined ? '' : `; did you mean "${s}"?`;
};

/** The word a message's `did you mean "x"?` (from `suggestion`) proposes, for quick fixes. */
export function suggestedIn(message: string): string | undefined {
  const m = /did you mean ("(?:[^"\\]|\\.)*")\?/.exec(message);
  if (!m) return undefined;
  try {
    return JSON.parse(m[1]) as string;
  } catch {
    return undefined;
  }
}

/** `a, b or c` */
export function orList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1]}`;
}
