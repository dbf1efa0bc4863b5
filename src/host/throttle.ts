// Rate limiting for live updates (progress arrives at up to 10 Hz; a tree or a status bar needs
// far less). Pure (no vscode).
import type * as vscode from 'vscode';

/**
 * Calls `fn` at most once per `ms`: the first call runs at once, later ones within the window
 * are folded into one trailing call, so the last state is always shown.
 */
export function throttle(fn: () => void, ms: number): (() => void) & vscode.Disposable {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    fn();
  };
  const call = () => {
    if (timer) return;
    const wait = last + ms - Date.now();
    if (wait <= 0) run();
    else timer = setTimeout(run, wait);
  };
  return Object.assign(call, { dispose: () => timer && clearTimeout(timer) });
}
