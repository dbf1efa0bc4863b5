// Entry point of the VS Code extension. Cheap by design: no tfjs here — training runs in the
// trainer child process (dist/trainer.js).
import type * as vscode from 'vscode';

export function activate(_context: vscode.ExtensionContext): void {
  // The host pieces (commands, tree, CodeLens, diagnostics, run manager) are wired here.
}

export function deactivate(): void {}
