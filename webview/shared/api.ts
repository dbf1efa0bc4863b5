// The webview's side of the contract in src/core/webviewProtocol.ts: typed posts to the host,
// typed handling of what it sends, requests with ids, and the state VS Code keeps for us
// (getState/setState) across hide/show and window reloads.
import {
  isHostToWebview,
  type HostToWebview,
  type PanelKind,
  type PanelState,
  type PanelTarget,
  type WebviewToHost,
} from '../../src/core/webviewProtocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeApi;

// acquireVsCodeApi may be called once per page.
const api: VsCodeApi = acquireVsCodeApi();

export function post(message: WebviewToHost): void {
  api.postMessage(message);
}

type Handler = (m: HostToWebview) => void;

/** Listens for the host's messages; anything else posted to the window is ignored. */
export function onHostMessage(handler: Handler): void {
  window.addEventListener('message', (e: MessageEvent) => {
    if (!isHostToWebview(e.data)) return;
    try {
      handler(e.data);
    } catch (err) {
      reportError(err);
    }
  });
}

export function reportError(err: unknown): void {
  const message = err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err);
  console.error(err);
  post({ type: 'log', level: 'error', message: `webview: ${message}` });
}

let nextRequest = 1;
export function requestId(): number {
  return nextRequest++;
}

// ---- state ----------------------------------------------------------------------------------

let state: PanelState | undefined;

export function loadState(view: PanelKind): PanelState {
  const s = api.getState() as PanelState | undefined;
  state = s && s.view === view && typeof s.target === 'object' ? s : { view, target: { follow: true }, ui: {} };
  state.ui ??= {};
  return state;
}

export function saveTarget(target: PanelTarget): void {
  if (!state) return;
  state.target = target;
  api.setState(state);
}

/** Merges UI choices into the saved state (debounced: sliders move fast). */
let saveTimer: number | undefined;
export function saveUi(patch: Record<string, unknown>): void {
  if (!state) return;
  state.ui = { ...state.ui, ...patch };
  if (saveTimer === undefined) {
    saveTimer = window.setTimeout(() => {
      saveTimer = undefined;
      api.setState(state);
    }, 100);
  }
}

/** A saved UI choice; readable at module load, before the shell has called loadState. */
export function uiState<T>(key: string, fallback: T): T {
  const v = (state ?? (api.getState() as PanelState | undefined))?.ui?.[key];
  return v === undefined ? fallback : (v as T);
}
