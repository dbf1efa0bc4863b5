// Types for codeServer.js (plain CommonJS so the launcher runs without a build step).
import type { ChildProcess } from 'node:child_process';
import type { Browser } from 'playwright-core';

export interface StartOptions {
  /** Folder (or .code-workspace) to open; also passed as `?folder=` by workbenchUrl. */
  folder?: string;
  /** Temp folder for config, logs, XDG dirs; default a fresh one. */
  runDir?: string;
  userDataDir?: string;
  extensionsDir?: string;
  /** Merged over DEFAULT_SETTINGS into User/settings.json. */
  settings?: Record<string, unknown>;
  /** Extra environment for code-server (forwarded to the extension host). */
  env?: Record<string, string>;
  port?: number;
  logFile?: string;
  extraArgs?: string[];
  readyTimeoutMs?: number;
  onOutput?: (chunk: string) => void;
  /** Folders a watchdog removes if this process dies (SIGKILL) while code-server runs. */
  removeIfOrphaned?: string[];
}

export interface CodeServer {
  port: number;
  /** `http://127.0.0.1:<port>/` */
  url: string;
  proc: ChildProcess;
  runDir: string;
  userDataDir: string;
  extensionsDir: string;
  logFile: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills code-server's whole process group (SIGTERM, then SIGKILL). */
  stop(): Promise<void>;
}

export const REPO_ROOT: string;
export const CODE_SERVER_VERSION: string;
export const CACHE_DIR: string;
export const FIXTURE_WORKSPACE: string;
export const CHROMIUM_ARGS: string[];
export const DEFAULT_SETTINGS: Record<string, unknown>;
export function codeServerEntry(): string;
export function ensureCodeServer(): string;
export function chromiumPath(): string;
export function freePort(): Promise<number>;
export function mkTemp(prefix: string): string;
export function rmrf(p: string): void;
export function copyFixtureWorkspace(src?: string): string;
export function writeUserSettings(userDataDir: string, extra?: Record<string, unknown>): void;
export function startCodeServer(opts?: StartOptions): Promise<CodeServer>;
export function codeServerCli(
  args: string[],
  opts?: { userDataDir?: string; extensionsDir?: string; runDir?: string },
): string;
/** `home`: folder for Chromium's XDG dirs (default a temp folder, removed on close). */
export function launchChromium(opts?: { args?: string[]; home?: string }): Promise<Browser>;
export function workbenchUrl(base: string, opts?: { folder?: string; payload?: [string, string][] }): string;
export function remoteUri(port: number, absPath: string): string;
export function sleep(ms: number): Promise<void>;
