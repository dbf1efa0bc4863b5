// Editing help on a config beyond what the JSON schema gives: layer names completed inside any
// loss term's `"student": "…"` / `"teacher": "…"` (a term object under distillation.losses with
// those string fields — whatever its type), and quick fixes for the validator's misspellings:
// the "did you mean" of a key, a value or a tag, and the closest layers for an unknown layer.
import { findNodeAtOffset, getLocation, type Node, parseTree } from 'jsonc-parser';
import * as vscode from 'vscode';
import { type ModelSide, sideLayerNames } from '../core/config/modelSections';
import { editDistance, suggestedIn } from '../core/config/problems';
import type { ConfigAnalyzer } from './configAnalysis';
import { DIAGNOSTIC_SOURCE } from './diagnostics';

const SIDES: readonly ModelSide[] = ['student', 'teacher'];

/** `distillation.losses[i].student` / `.teacher`: a term's layer field. */
function layerField(path: (string | number)[]): ModelSide | undefined {
  const [a, b, i, key] = path;
  return a === 'distillation' && b === 'losses' && typeof i === 'number' && path.length === 4 && SIDES.includes(key as ModelSide) ? (key as ModelSide) : undefined;
}

export class LayerNameCompletions implements vscode.CompletionItemProvider {
  constructor(private readonly analyzer: ConfigAnalyzer) {}

  provideCompletionItems(document: vscode.TextDocument, position: vscode.Position): vscode.CompletionItem[] | undefined {
    const text = document.getText();
    const offset = document.offsetAt(position);
    const location = getLocation(text, offset);
    if (location.isAtPropertyKey) return undefined;
    const side = layerField(location.path);
    if (!side) return undefined;
    const names = sideLayerNames(this.analyzer.analyze(document).result.tree ?? text, side, document.uri.fsPath, this.analyzer.env);
    if (!names?.length) return undefined;
    // Inside the quotes: replace what is between them; after the colon: insert a quoted name.
    const node = location.previousNode;
    const inString = node?.type === 'string' && offset > node.offset && offset < node.offset + node.length;
    const range = inString ? new vscode.Range(document.positionAt(node.offset + 1), document.positionAt(node.offset + node.length - 1)) : undefined;
    return names.map((name, i) => {
      const item = new vscode.CompletionItem(name, vscode.CompletionItemKind.EnumMember);
      item.detail = `${side} layer`;
      item.sortText = String(i).padStart(3, '0');
      item.insertText = inString ? name : JSON.stringify(name);
      if (range) item.range = range;
      return item;
    });
  }
}

export class ConfigQuickFixes implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly analyzer: ConfigAnalyzer) {}

  provideCodeActions(document: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const ours = context.diagnostics.filter((d) => d.source === DIAGNOSTIC_SOURCE);
    if (!ours.length) return [];
    const tree = this.analyzer.analyze(document).result.tree ?? parseTree(document.getText());
    if (!tree) return [];
    const actions: vscode.CodeAction[] = [];
    for (const d of ours) {
      const node = findNodeAtOffset(tree, document.offsetAt(d.range.start) + 1);
      if (node?.type !== 'string') continue;
      const candidates = d.code === 'unknown-layer' ? this.closestLayers(tree, node, document) : [suggestedIn(d.message)].filter((s): s is string => !!s);
      candidates.forEach((name, i) => {
        const action = new vscode.CodeAction(`Change to ${JSON.stringify(name)}`, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [d];
        action.isPreferred = i === 0;
        action.edit = new vscode.WorkspaceEdit();
        action.edit.replace(document.uri, new vscode.Range(document.positionAt(node.offset), document.positionAt(node.offset + node.length)), JSON.stringify(name));
        actions.push(action);
      });
    }
    return actions;
  }

  /** The layers of the term field's side nearest to what was written (at most 3, nearest first). */
  private closestLayers(tree: Node, node: Node, document: vscode.TextDocument): string[] {
    const key = node.parent?.type === 'property' ? node.parent.children?.[0]?.value : undefined;
    if (!SIDES.includes(key)) return [];
    const names = sideLayerNames(tree, key as ModelSide, document.uri.fsPath, this.analyzer.env) ?? [];
    const written = String(node.value).toLowerCase();
    return names
      .map((name) => ({ name, d: editDistance(written, name.toLowerCase()) }))
      .sort((a, b) => a.d - b.d)
      .slice(0, 3)
      .map((x) => x.name);
  }
}
