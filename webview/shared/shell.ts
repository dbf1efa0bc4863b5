// What every result panel has: a header naming the run shown (status, stage), "follow the active
// experiment", "choose run…", an empty state, and the ready → target → data handshake.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-checkbox/index.js';
import type { HostToWebview, PanelKind, PanelTarget, RunInfo } from '../../src/core/webviewProtocol';
import { loadState, onHostMessage, post, saveTarget } from './api';
import { h } from './dom';
import { onThemeChange } from './theme';

export interface ShellOptions {
  view: PanelKind;
  title: string;
  /** Label of the "choose…" button; none when the view has no run to choose. */
  pickLabel?: string;
  /** Whether the view can follow the active experiment. */
  follow?: boolean;
  /** Whether the header names a run (not for the layers and compare views). */
  runLine?: boolean;
  onMessage(m: HostToWebview): void;
  /** Redraw canvases after a theme change. */
  onTheme?(): void;
}

export interface Shell {
  /** Where the view renders its content. */
  main: HTMLElement;
  /** Extra controls in the header's toolbar. */
  toolbar: HTMLElement;
  run?: RunInfo;
  target: PanelTarget;
  /** Shows `message` instead of the content (or the content again when undefined). */
  setEmpty(message: string | undefined): void;
  announce(text: string): void;
}

const STATUS_ICON: Record<string, string> = { running: '⟳', done: '✓', failed: '✕', cancelled: '⊘' };

export function startShell(o: ShellOptions): Shell {
  const state = loadState(o.view);
  const app = document.getElementById('app')!;
  const runLine = h('p', { class: 'run-line', id: 'run-line' }, 'Waiting for the run…');
  const badge = h('vscode-badge', { id: 'run-status', variant: 'counter' });
  const live = h('div', { class: 'sr-only', 'aria-live': 'polite', id: 'announce' });
  const toolbar = h('div', { class: 'toolbar', role: 'toolbar', 'aria-label': `${o.title} options` });
  const follow = h('vscode-checkbox', { id: 'follow', label: 'Follow the active experiment' }) as HTMLElement & { checked: boolean };
  follow.checked = state.target.follow;
  follow.addEventListener('change', () => post({ type: 'setFollow', follow: follow.checked }));
  const controls = h('div', { class: 'header-controls' });
  if (o.follow !== false) controls.append(follow);
  if (o.pickLabel) {
    const pick = h('vscode-button', { id: 'pick-run', secondary: true }, o.pickLabel);
    pick.addEventListener('click', () => post({ type: 'pickRun' }));
    controls.append(pick);
  }
  const titleRow = h('div', { class: 'title-row' }, h('h1', {}, o.title));
  if (o.runLine !== false) titleRow.append(badge, runLine);
  const header = h('header', { class: 'panel-header' }, titleRow, controls);
  const emptyText = h('p', {});
  const runButton = h('vscode-button', { id: 'run-experiment' }, 'Run Experiment');
  runButton.addEventListener('click', () => post({ type: 'runExperiment' }));
  const empty = h('section', { class: 'empty', id: 'empty', hidden: true }, emptyText, runButton);
  const main = h('main', { id: 'content', 'aria-busy': 'true' });
  app.append(header, toolbar, empty, main, live);
  app.removeAttribute('aria-busy');

  const shell: Shell = {
    main,
    toolbar,
    target: state.target,
    setEmpty(message) {
      empty.hidden = message === undefined;
      main.hidden = message !== undefined;
      toolbar.hidden = message !== undefined;
      emptyText.textContent = message ?? '';
      runButton.hidden = !shell.target.configPath || o.view === 'compare' || o.view === 'modelLayers';
    },
    announce(text) {
      live.textContent = text;
    },
  };

  const showRun = (run: RunInfo) => {
    const prev = shell.run;
    shell.run = run;
    badge.textContent = `${STATUS_ICON[run.status] ?? ''} ${run.status}${run.status === 'running' && run.stage ? ` · ${run.stage}` : ''}`;
    badge.className = `status-${run.status}`;
    runLine.textContent = `${run.name} · ${run.id}${run.backend ? ` · ${run.backend}` : ''}${run.error ? ` — ${run.error}` : ''}`;
    runLine.title = run.dir;
    if (prev && prev.id === run.id && prev.status !== run.status) shell.announce(`Run ${run.id} is ${run.status}.`);
  };

  onHostMessage((m) => {
    if (m.type === 'target') {
      shell.target = m.target;
      follow.checked = m.target.follow;
      saveTarget(m.target);
      shell.setEmpty(m.empty);
      if (m.empty) {
        shell.run = undefined;
        badge.textContent = '';
        runLine.textContent = '';
      }
    } else if (m.type === 'run') {
      showRun(m.run);
    }
    o.onMessage(m);
  });
  if (o.onTheme) onThemeChange(o.onTheme);
  // The host posts nothing before this (custom-editor-sample's handshake).
  post({ type: 'ready', view: o.view });
  return shell;
}

/** A group of checkboxes (vscode-checkbox) toggling series; returns the element. */
export function seriesToggles(
  id: string,
  label: string,
  items: { key: string; label: string; color: string; checked: boolean }[],
  onChange: (key: string, checked: boolean) => void,
): HTMLElement {
  const group = h('fieldset', { class: 'toggles', id });
  group.append(h('legend', {}, label));
  for (const it of items) {
    const cb = h('vscode-checkbox', { label: it.label, 'data-key': it.key, class: 'series-toggle' }) as HTMLElement & { checked: boolean };
    cb.checked = it.checked;
    cb.addEventListener('change', () => onChange(it.key, cb.checked));
    const swatch = h('span', { class: 'swatch', 'aria-hidden': 'true' });
    swatch.style.background = it.color;
    group.append(h('span', { class: 'toggle' }, swatch, cb));
  }
  return group;
}
