// A minimal event emitter whose `event` has the shape of `vscode.Event`, for the pure modules
// (run jobs, the queue) that are unit tested without VS Code.
import type * as vscode from 'vscode';
import { toDisposable } from './dispose';

export type Listener<T> = (e: T) => unknown;

export class Emitter<T> implements vscode.Disposable {
  private listeners = new Set<Listener<T>>();

  readonly event = (listener: Listener<T>, thisArgs?: unknown, disposables?: vscode.Disposable[]): vscode.Disposable => {
    const bound: Listener<T> = thisArgs ? listener.bind(thisArgs) : listener;
    this.listeners.add(bound);
    const d = toDisposable(() => this.listeners.delete(bound));
    disposables?.push(d);
    return d;
  };

  fire(e: T): void {
    for (const l of [...this.listeners]) {
      try {
        l(e);
      } catch (err) {
        // One faulty listener must not stop the others (nor the trainer's message loop).
        console.error(err);
      }
    }
  }

  dispose(): void {
    this.listeners.clear();
  }
}
