// The `distillLab.*` settings, read in one place with their defaults.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { BACKEND_PREFERENCES, type BackendPreference } from '../core/protocol';
import { resolveRunsDir } from './runsLocation';

export const SECTION = 'distillLab';

export interface DistillSettings {
  backend: BackendPreference;
  runsFolder: string;
  concurrency: number;
  /** Overrides every config's probes.samples when set. */
  probeSamples?: number;
}

export function readSettings(scope?: vscode.Uri): DistillSettings {
  const c = vscode.workspace.getConfiguration(SECTION, scope);
  const backend = c.get<string>('backend', 'auto') as BackendPreference;
  const probeSamples = c.get<number | null>('probeSamples', null);
  return {
    backend: BACKEND_PREFERENCES.includes(backend) ? backend : 'auto',
    runsFolder: c.get<string>('runsFolder', '') ?? '',
    concurrency: Math.max(1, Math.floor(c.get<number>('concurrency', 1) || 1)),
    probeSamples: typeof probeSamples === 'number' && probeSamples >= 0 ? Math.floor(probeSamples) : undefined,
  };
}

/** The runs folder of a config (see resolveRunsDir). */
export function runsDirForConfig(configUri: vscode.Uri): string {
  const folder = vscode.workspace.getWorkspaceFolder(configUri);
  return resolveRunsDir(readSettings(configUri).runsFolder, folder?.uri.fsPath, path.dirname(configUri.fsPath));
}

/** The runs folder of a workspace folder. */
export function runsDirForFolder(folder: vscode.WorkspaceFolder): string {
  return resolveRunsDir(readSettings(folder.uri).runsFolder, folder.uri.fsPath, folder.uri.fsPath);
}

export function affectsSettings(e: vscode.ConfigurationChangeEvent, key?: keyof DistillSettings): boolean {
  return e.affectsConfiguration(key ? `${SECTION}.${key}` : SECTION);
}
