// How two models' predictions agree, from their predicted classes (the probe set's argmaxes, or
// every test example's from test-predictions.json): the C×C agreement matrix and, with the true
// labels, who is right where. Pure and unit tested (test/webview/units.test.ts); no DOM.

/**
 * counts[i][j] = how many examples the first model (rows, e.g. the teacher) puts in class i and the
 * second (columns, e.g. the student) in class j; the diagonal is where they agree. Pairs up to the
 * shorter list; a class outside 0…classes−1 (no prediction) is not counted.
 */
export function classAgreementMatrix(rowsClasses: ArrayLike<number>, colsClasses: ArrayLike<number>, classes: number): number[][] {
  const m = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const n = Math.min(rowsClasses.length, colsClasses.length);
  for (let s = 0; s < n; s++) {
    const i = rowsClasses[s];
    const j = colsClasses[s];
    if (i >= 0 && j >= 0 && i < classes && j < classes) m[i][j]++;
  }
  return m;
}

/** Of the examples two models classified, how many each got right against the labels. */
export interface Correctness {
  bothRight: number;
  /** The first model right, the second wrong. */
  onlyFirstRight: number;
  onlySecondRight: number;
  bothWrong: number;
}

/** Both right / only the first / only the second / both wrong, over the examples all three lists cover. */
export function correctness(first: ArrayLike<number>, second: ArrayLike<number>, labels: ArrayLike<number>): Correctness {
  const out: Correctness = { bothRight: 0, onlyFirstRight: 0, onlySecondRight: 0, bothWrong: 0 };
  const n = Math.min(first.length, second.length, labels.length);
  for (let k = 0; k < n; k++) {
    const a = first[k] === labels[k];
    const b = second[k] === labels[k];
    if (a && b) out.bothRight++;
    else if (a) out.onlyFirstRight++;
    else if (b) out.onlySecondRight++;
    else out.bothWrong++;
  }
  return out;
}
