// Result numbers as every view prints them (CLI, tree hovers, the Compare panel), so that the same
// run never reads −13 % in one place and −12 % in another. Pure, no imports: the webviews use it too.

/**
 * Share of the baseline → teacher error gap that distillation closed, in whole percent, rounded
 * half away from zero on both sides of 0 (Math.round alone turns −12.5 into −12 but 12.5 into 13).
 */
export function gapClosedPercent(gapRecovered: number): string {
  const p = 100 * gapRecovered;
  return `${Math.sign(p) * Math.round(Math.abs(p))}%`;
}
