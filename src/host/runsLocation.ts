// Where configs and runs live on disk. Pure (no vscode): unit tested.
import * as os from 'node:os';
import * as path from 'node:path';

export const CONFIG_SUFFIX = '.distill.json';
export const CONFIG_GLOB = `**/*${CONFIG_SUFFIX}`;
export const DEFAULT_RUNS_FOLDER = '.distill/runs';

export function isConfigPath(p: string): boolean {
  return p.toLowerCase().endsWith(CONFIG_SUFFIX);
}

/** `quick.distill.json` → `quick`. */
export function configStem(p: string): string {
  const base = path.basename(p);
  return isConfigPath(base) ? base.slice(0, -CONFIG_SUFFIX.length) : base;
}

/**
 * The runs folder for a config: the `distillLab.runsFolder` setting, absolute or relative to the
 * config's workspace folder (or, for a config outside any folder, to the config's own folder).
 */
export function resolveRunsDir(setting: string | undefined, workspaceFolder: string | undefined, configDir: string): string {
  let folder = (setting ?? '').trim() || DEFAULT_RUNS_FOLDER;
  if (folder === '~' || folder.startsWith('~/')) folder = path.join(os.homedir(), folder.slice(1));
  return path.resolve(workspaceFolder ?? configDir, folder);
}

/** Whether `child` is `parent` or inside it. */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Same file, tolerant of `..` segments and trailing separators. */
export function samePath(a: string, b: string): boolean {
  return path.resolve(a) === path.resolve(b);
}
