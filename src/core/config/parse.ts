// Reading a `*.distill.json`: JSON syntax (strict JSON, reported clearly), then structure against
// the schema, then meaning; every problem with its exact source range. The same function serves
// the editor (diagnostics), the CLI (`distill validate`) and the trainer.
import * as nodePath from 'path';
import { findNodeAtLocation, Node, ParseError, parseTree, printParseErrorCode } from 'jsonc-parser';
import { checkMeaning } from './checks';
import type { ValidationEnv } from './env';
import { hasErrors, JsonPath, LineMap, Problem, ProblemCode, Range, Severity, sortProblems } from './problems';
import { configSchema, DistillConfig } from './schema';
import { StructuralIssue, validateStructure } from './validate';

export { formatProblem, PROBLEM_CODES } from './problems';
export type { Position, Problem, ProblemCode, Range, Severity } from './problems';
export type { DataFacts, ValidationEnv } from './env';
export { layerNamesFor, layersFor } from './layers';

export interface ParseResult {
  /** The config with every default filled in; only when there are no errors (warnings are fine). */
  config?: DistillConfig;
  /** Sorted by position. */
  problems: Problem[];
  /** The syntax tree (jsonc-parser), for editor features that need node offsets. */
  tree?: Node;
}

/** Syntax errors after which the tree is still complete, so validation can go on. */
const RECOVERABLE = new Set(['comment', 'trailing-comma']);

interface SyntaxIssue {
  kind: string;
  offset: number;
  length: number;
  message: string;
}

function syntaxIssues(text: string, errors: ParseError[], rootEnd: number): SyntaxIssue[] {
  const out: SyntaxIssue[] = [];
  const trailingCommas = new Set<number>();
  for (const e of errors) {
    const code = printParseErrorCode(e.error);
    const token = text.substr(e.offset, e.length);
    if (code === 'InvalidCommentToken' || code === 'UnexpectedEndOfComment') {
      out.push({ kind: 'comment', offset: e.offset, length: e.length, message: 'invalid JSON: comments are not allowed (a *.distill.json file is plain JSON)' });
      continue;
    }
    if ((code === 'PropertyNameExpected' || code === 'ValueExpected') && (token === '}' || token === ']')) {
      // `[1, 2,]` or `{"a": 1,}`: find the comma before the closing bracket.
      let i = e.offset - 1;
      while (i >= 0 && /\s/.test(text[i])) i--;
      if (text[i] === ',') {
        if (!trailingCommas.has(i)) out.push({ kind: 'trailing-comma', offset: i, length: 1, message: 'invalid JSON: trailing comma before the closing bracket' });
        trailingCommas.add(i);
        continue;
      }
    }
    const message = code === 'InvalidSymbol' && e.offset >= rootEnd ? syntaxMessage('EndOfFileExpected', token, text, e.offset) : syntaxMessage(code, token, text, e.offset);
    out.push({ kind: 'other', offset: e.offset, length: e.length, message: `invalid JSON: ${message}` });
  }
  // After the first real syntax error the parser's further complaints are mostly echoes of it.
  const firstOther = out.findIndex((s) => !RECOVERABLE.has(s.kind));
  return out.filter((s, i) => RECOVERABLE.has(s.kind) || i === firstOther);
}

function syntaxMessage(code: string, token: string, text: string, offset: number): string {
  switch (code) {
    case 'InvalidSymbol':
      if (token.startsWith("'")) return 'strings and property names need double quotes, not single quotes';
      if (/^[A-Za-z_$][\w$]*$/.test(token) && /^\s*:/.test(text.slice(offset + token.length)))
        return `property names need double quotes: "${token}"`;
      return `unexpected ${JSON.stringify(token)}; expected a value (a number, a string in double quotes, true, false, null, an object or an array)`;
    case 'InvalidNumberFormat':
    case 'UnexpectedEndOfNumber':
      return `invalid number ${JSON.stringify(token)}`;
    case 'PropertyNameExpected':
      return 'expected a property name in double quotes';
    case 'ValueExpected':
      return text.trim() === '' ? 'the file is empty; expected an object' : 'expected a value';
    case 'ColonExpected':
      return 'expected ":" after the property name';
    case 'CommaExpected':
      if (/^\d/.test(token) && /(^|[^\d.])0$/.test(text.slice(0, offset))) return 'numbers cannot start with 0 (leading zeros are not allowed)';
      return 'expected a comma';
    case 'CloseBraceExpected':
      return offset >= text.length ? 'unexpected end of file; expected "}"' : 'expected a comma or "}"';
    case 'CloseBracketExpected':
      return offset >= text.length ? 'unexpected end of file; expected "]"' : 'expected a comma or "]"';
    case 'EndOfFileExpected':
      return 'unexpected text after the end of the config object';
    case 'UnexpectedEndOfString':
      return 'unterminated string';
    case 'InvalidUnicode':
      return 'invalid \\u escape in string';
    case 'InvalidEscapeCharacter':
      return 'invalid escape sequence in string';
    case 'InvalidCharacter':
      return 'invalid character in string (line breaks and tabs must be escaped)';
    default:
      return code;
  }
}

/**
 * Deeper than any config needs (the schema's deepest value is 6 levels down) and far below where a
 * recursive parser or walker runs out of stack (about 2,000 levels for jsonc-parser).
 */
export const MAX_NESTING = 64;

/**
 * The offset of the first `{` or `[` that opens level MAX_NESTING + 1, or -1. A linear scan that
 * skips strings, so that text a recursive parser would choke on is refused before it is parsed.
 */
export function tooDeepAt(text: string, limit = MAX_NESTING): number {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return i;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return -1;
}

/** Parses, validates and fills defaults. `file` is used in messages and to resolve relative paths. */
export function parseConfig(text: string, file: string, env: ValidationEnv): ParseResult {
  // A byte-order mark is not part of the text an editor shows, so positions are counted without it.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = new LineMap(text);
  const configDir = nodePath.dirname(nodePath.resolve(file));
  const problems: Problem[] = [];
  const problem = (range: Range, path: JsonPath, code: ProblemCode, message: string, severity: Severity = 'error') =>
    problems.push({ file, message, severity, range, path, code });

  const deep = tooDeepAt(text);
  if (deep >= 0) {
    problem(lines.range(deep, 1), [], 'too-deep', `invalid config: values nested more than ${MAX_NESTING} levels deep (a *.distill.json needs fewer than 10)`);
    return { problems };
  }

  const errors: ParseError[] = [];
  const tree = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const syntax = syntaxIssues(text, errors, tree ? tree.offset + tree.length : Infinity);
  for (const s of syntax) problem(lines.range(s.offset, s.length), [], 'json-syntax', s.message);
  if (!tree || syntax.some((s) => !RECOVERABLE.has(s.kind))) return { problems: sortProblems(problems), tree };

  /** The key of the property holding `node`, or the node's first character (an object's `{`). */
  const anchorRange = (node: Node): Range => {
    const key = node.parent?.type === 'property' ? node.parent.children?.[0] : undefined;
    return key ? lines.range(key.offset, key.length) : lines.range(node.offset, 1);
  };
  /** A value on one line is underlined whole; one spanning lines (an object, a list) by its key. */
  const valueRange = (node: Node): Range => {
    const r = lines.range(node.offset, node.length);
    return r.start.line === r.end.line ? r : anchorRange(node);
  };
  const issueRange = (i: StructuralIssue) => (i.anchor ? anchorRange(i.node) : valueRange(i.node));

  const { value, issues } = validateStructure(tree, configSchema, { env, configDir });
  for (const i of issues) problem(issueRange(i), i.path, i.code, i.message, i.severity);

  // Semantic checks, on every section the structure let through: a section is trusted when no
  // structural error lies in it, on it or above it (a missing file does not make it untrustworthy).
  const untrusted = issues.filter((i) => i.severity === 'error' && i.code !== 'missing-file').map((i) => i.scope ?? i.path);
  const related = (a: JsonPath, b: JsonPath) => a.slice(0, Math.min(a.length, b.length)).every((s, i) => s === b[i]);
  if (value !== undefined && tree.type === 'object') {
    checkMeaning(value as DistillConfig, {
      env,
      configDir,
      ok: (path) => !untrusted.some((p) => related(p, path)),
      has: (path, code) => problems.some((p) => p.code === code && related(path, p.path) && p.path.length >= path.length),
      written: (path) => findNodeAtLocation(tree, path) !== undefined,
      offset: (path) => findNodeAtLocation(tree, path)?.offset,
      report: ({ path, at, anchor, code, message, severity }) => {
        const node = anchor ? findNodeAtLocation(tree, at ?? path) : undefined;
        problem(node ? anchorRange(node) : rangeAt(tree, at ?? path, valueRange, anchorRange), path, code, message, severity);
      },
    });
  }

  const sorted = sortProblems(problems);
  return { config: hasErrors(sorted) ? undefined : (value as DistillConfig), problems: sorted, tree };
}

/** The range of the value at `path`; if it is not written, the anchor of its nearest written ancestor. */
function rangeAt(tree: Node, path: JsonPath, valueRange: (n: Node) => Range, anchorRange: (n: Node) => Range): Range {
  const node = findNodeAtLocation(tree, path);
  if (node) return valueRange(node);
  for (let n = path.length - 1; n >= 0; n--) {
    const parent = findNodeAtLocation(tree, path.slice(0, n));
    if (parent) return anchorRange(parent);
  }
  return anchorRange(tree);
}

/** Reads and parses a config file through `env.readText`. */
export function loadConfigFile(absPath: string, env: ValidationEnv): ParseResult {
  const text = env.readText?.(absPath);
  if (text === undefined) {
    const range = { start: { line: 0, col: 0 }, end: { line: 0, col: 0 } };
    return { problems: [{ file: absPath, message: `cannot read the config file ${absPath}`, severity: 'error', range, path: [], code: 'unreadable-config' }] };
  }
  return parseConfig(text, absPath, env);
}
