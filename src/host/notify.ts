// Messages with actions, shown without awaiting and without unhandled rejections: the chosen
// action runs, and if it fails the failure is logged rather than lost.
import * as vscode from 'vscode';

export type Actions = Record<string, () => unknown>;

export function notify(kind: 'info' | 'warning' | 'error', message: string, actions: Actions = {}, options?: vscode.MessageOptions): void {
  const show = kind === 'error' ? vscode.window.showErrorMessage : kind === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  const labels = Object.keys(actions);
  const shown = options ? show(message, options, ...labels) : show(message, ...labels);
  shown.then(
    (choice) => (choice ? actions[choice]() : undefined),
    () => undefined,
  ).then(undefined, (e: unknown) => console.error(`Distill Lab: the action for "${message}" failed`, e));
}

/**
 * Registers a command behind an error boundary: a failure is logged and shown once, with the
 * log a click away, instead of surfacing as an unhandled rejection.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- VS Code passes command arguments untyped; each handler checks its own
export function registerCommand(id: string, handler: (...args: any[]) => unknown, log: vscode.LogOutputChannel): vscode.Disposable {
  return vscode.commands.registerCommand(id, async (...args: unknown[]) => {
    try {
      return await handler(...args);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      log.error(`${id} failed: ${e instanceof Error && e.stack ? e.stack : message}`);
      notify('error', `Distill Lab: ${message}`, { 'Show Log': () => log.show(true) });
      return undefined;
    }
  });
}
