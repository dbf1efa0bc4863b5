// Where a result view is shown: an editor panel beside the config, or the Loss Split view in the
// panel area (beside Problems and Output). ResultPanel drives either through this one shape.
import * as vscode from 'vscode';

export type SurfacePlace = 'editor' | 'panel-area';

export interface ResultSurface {
  readonly place: SurfacePlace;
  readonly webview: vscode.Webview;
  readonly visible: boolean;
  readonly onDidDispose: vscode.Event<void>;
  /** Shown or hidden (a hidden webview is torn down and says `ready` again when shown). */
  readonly onDidChangeVisibility: vscode.Event<void>;
  /** What it shows (a run or config name) next to its title. */
  setSubject(what: string | undefined): void;
  reveal(): void;
  dispose(): void;
}

export function editorSurface(panel: vscode.WebviewPanel, title: string, icon: vscode.Uri): ResultSurface {
  panel.iconPath = icon;
  return {
    place: 'editor',
    webview: panel.webview,
    get visible() {
      return panel.visible;
    },
    onDidDispose: panel.onDidDispose,
    onDidChangeVisibility: (listener) => panel.onDidChangeViewState(() => listener()),
    setSubject: (what) => (panel.title = what ? `${title}: ${what}` : title),
    reveal: () => panel.reveal(undefined, true),
    dispose: () => panel.dispose(),
  };
}

export function panelAreaSurface(view: vscode.WebviewView): ResultSurface {
  return {
    place: 'panel-area',
    webview: view.webview,
    get visible() {
      return view.visible;
    },
    onDidDispose: view.onDidDispose,
    onDidChangeVisibility: (listener) => view.onDidChangeVisibility(() => listener()),
    setSubject: (what) => (view.description = what),
    reveal: () => view.show(true),
    // VS Code owns a view's lifetime: it is disposed when the user closes it.
    dispose: () => undefined,
  };
}
