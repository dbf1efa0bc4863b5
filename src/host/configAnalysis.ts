// Parses and validates configs for the editor features (diagnostics, CodeLens, run checks) with
// core's parser — the same validator as the CLI and the trainer — cached per document version so
// that the features asking about the same text share one parse. The facts about the user's data
// files come from an asynchronous scan (dataFacts.ts), never a synchronous read on the extension
// host: until a scan ends the checks that need them wait, then `onDidChangeData` fires and the
// features ask again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type * as vscode from 'vscode';
import { defaultNodeEnv } from '../core/config/nodeEnv';
import { parseConfig, type ParseResult, type ValidationEnv } from '../core/config/parse';
import { DataFactsCache } from './dataFacts';
import { isConfigPath } from './runsLocation';

export interface Analysis {
  result: ParseResult;
  /** Folder of the config: relative data and model paths resolve against it. */
  configDir: string;
}

export class ConfigAnalyzer {
  private readonly facts = new DataFactsCache();
  readonly env: ValidationEnv = defaultNodeEnv({ describeData: (data, configDir) => this.facts.describe(data, configDir) });
  private readonly cache = new Map<string, { version: number; analysis: Analysis }>();

  /**
   * A data scan ended: analyses that lacked its facts are stale (the cache is already cleared).
   * Listeners revalidate what they show.
   */
  onDidChangeData(listener: () => void): { dispose(): void } {
    return this.facts.onDidChange(() => {
      this.invalidate();
      listener();
    });
  }

  dispose(): void {
    this.facts.dispose();
  }

  static isConfig(document: vscode.TextDocument): boolean {
    return document.uri.scheme === 'file' && isConfigPath(document.uri.fsPath);
  }

  analyze(document: vscode.TextDocument): Analysis {
    const key = document.uri.toString();
    const hit = this.cache.get(key);
    if (hit && hit.version === document.version) return hit.analysis;
    const analysis = this.analyzeText(document.getText(), document.uri.fsPath);
    this.cache.set(key, { version: document.version, analysis });
    return analysis;
  }

  /** Reads the file from disk (a config that is not open). Undefined if it cannot be read. */
  analyzeFile(file: string): Analysis | undefined {
    let text: string;
    try {
      // Only regular files: a FIFO named *.distill.json would block the extension host.
      if (!fs.statSync(file).isFile()) return undefined;
      text = fs.readFileSync(file, 'utf8');
    } catch {
      return undefined;
    }
    return this.analyzeText(text, file);
  }

  /** Forgets cached results, e.g. after a data file changed (the text did not, the facts did). */
  invalidate(document?: vscode.TextDocument): void {
    if (document) this.cache.delete(document.uri.toString());
    else this.cache.clear();
  }

  private analyzeText(text: string, file: string): Analysis {
    return { result: parseConfig(text, file, this.env), configDir: path.dirname(file) };
  }
}
