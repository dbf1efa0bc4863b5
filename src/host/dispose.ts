// Lifetime management, after vscode-extension-samples' custom-editor-sample/src/dispose.ts: a
// class owns what it creates through `_register()`, and disposing it disposes all of that in
// reverse order. Only `vscode`'s *types* are used, so pure modules can extend it too.
import type * as vscode from 'vscode';

export function disposeAll(disposables: vscode.Disposable[]): void {
  while (disposables.length) {
    disposables.pop()?.dispose();
  }
}

export abstract class Disposable {
  private _isDisposed = false;
  protected readonly _disposables: vscode.Disposable[] = [];

  dispose(): void {
    if (this._isDisposed) return;
    this._isDisposed = true;
    disposeAll(this._disposables);
  }

  /** Ties `value`'s lifetime to this object; disposed at once if this object already is. */
  protected _register<T extends vscode.Disposable>(value: T): T {
    if (this._isDisposed) value.dispose();
    else this._disposables.push(value);
    return value;
  }

  protected get isDisposed(): boolean {
    return this._isDisposed;
  }
}

/** A disposable that runs `fn` once. */
export function toDisposable(fn: () => void): vscode.Disposable {
  let done = false;
  return {
    dispose() {
      if (!done) {
        done = true;
        fn();
      }
    },
  };
}
