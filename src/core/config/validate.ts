// The structural validator: walks a jsonc-parser tree against a schema from the DSL, reports every
// problem with the node it concerns, and builds the parsed value with defaults filled in.
import * as nodePath from 'path';
import { Node, parseTree } from 'jsonc-parser';
import type { ArraySchema, EnumSchema, NumberSchema, Props, Schema, StringSchema, TaggedSchema } from '../schema/dsl';
import type { ValidationEnv } from './env';
import { didYouMean, formatPath, JsonPath, orList, ProblemCode, Severity, suggestion } from './problems';

/** Where a structural problem sits: its JSON path and the node to underline. */
export interface StructuralIssue {
  path: JsonPath;
  node: Node;
  /** For a missing property: underline the anchor (parent key or opening brace), not the whole node. */
  anchor?: boolean;
  /** The part of the config this issue leaves unchecked, when wider than `path` (a bad tag: the whole object). */
  scope?: JsonPath;
  code: ProblemCode;
  message: string;
  severity: Severity;
}

export interface WalkOptions {
  env?: ValidationEnv;
  /** Relative `path` strings are resolved against this directory. */
  configDir?: string;
}

/** Returned in place of a leaf value that is wrong (or a union whose variant is unknown); left out of its parent. */
const INVALID: unique symbol = Symbol('invalid');
type Out = unknown;

function describeNode(node: Node): string {
  switch (node.type) {
    case 'string': {
      const s = String(node.value);
      return `a string (${JSON.stringify(s.length > 30 ? `${s.slice(0, 27)}...` : s)})`;
    }
    case 'number':
      return `a number (${node.value})`;
    case 'boolean':
      return String(node.value);
    case 'null':
      return 'null';
    case 'array':
      return 'an array';
    default:
      return 'an object';
  }
}

function expected(schema: Schema): string {
  switch (schema.kind) {
    case 'number':
      return schema.integer ? 'an integer' : 'a number';
    case 'string':
      return 'a string';
    case 'boolean':
      return 'true or false';
    case 'enum':
      return `one of ${orList(schema.values.map((v) => JSON.stringify(v)))}`;
    case 'array':
      return 'an array';
    default:
      return 'an object';
  }
}

const fmtNumber = (n: number) => String(n);

/** The keys of an object node, in order, as [keyNode, valueNode | undefined]. */
function entries(node: Node): { key: string; keyNode: Node; value: Node | undefined }[] {
  return (node.children ?? [])
    .filter((p) => p.type === 'property' && p.children?.[0])
    .map((p) => ({ key: String(p.children![0].value), keyNode: p.children![0], value: p.children![1] }));
}

export class StructureWalker {
  readonly issues: StructuralIssue[] = [];
  constructor(private readonly options: WalkOptions = {}, private readonly synthetic = false) {}

  private report(path: JsonPath, node: Node, code: ProblemCode, message: string, extra: { anchor?: boolean; severity?: Severity; scope?: JsonPath } = {}) {
    if (this.synthetic) throw new Error(`invalid default value in the schema at ${formatPath(path)}: ${message}`);
    this.issues.push({ path, node, code, message, severity: extra.severity ?? 'error', anchor: extra.anchor, scope: extra.scope });
  }

  /**
   * The value of `node` checked against `schema`, with defaults filled in, or INVALID. Objects and
   * arrays come back partial when something inside is wrong; the issues say what.
   */
  walk(node: Node, schema: Schema, path: JsonPath): Out {
    switch (schema.kind) {
      case 'number':
        return this.number(node, schema, path);
      case 'string':
        return this.string(node, schema, path);
      case 'boolean':
        if (node.type !== 'boolean') return this.wrongType(node, schema, path);
        return node.value as boolean;
      case 'enum':
        return this.enumeration(node, schema, path);
      case 'array':
        return this.array(node, schema, path);
      case 'object':
        if (node.type !== 'object') return this.wrongType(node, schema, path);
        return this.object(node, schema.properties, path);
      case 'tagged':
        return this.tagged(node, schema, path);
    }
  }

  private wrongType(node: Node, schema: Schema, path: JsonPath): Out {
    this.report(path, node, 'wrong-type', `${formatPath(path)}: expected ${expected(schema)}, got ${describeNode(node)}`);
    return INVALID;
  }

  private number(node: Node, s: NumberSchema, path: JsonPath): Out {
    if (node.type !== 'number') return this.wrongType(node, s, path);
    const v = node.value as number;
    const at = formatPath(path);
    // JSON has no Infinity, but a literal beyond the float range (1e400) reads as one.
    if (!Number.isFinite(v)) {
      this.report(path, node, 'not-finite', `${at}: expected a finite number, got one too large to represent (it reads as ${v})`);
      return INVALID;
    }
    if (s.integer && !Number.isInteger(v)) {
      this.report(path, node, 'not-integer', `${at}: expected an integer, got ${fmtNumber(v)}`);
      return INVALID;
    }
    const bound =
      s.minimum !== undefined && v < s.minimum
        ? `at least ${s.minimum}`
        : s.exclusiveMinimum !== undefined && v <= s.exclusiveMinimum
          ? `greater than ${s.exclusiveMinimum}`
          : s.maximum !== undefined && v > s.maximum
            ? `at most ${s.maximum}`
            : s.exclusiveMaximum !== undefined && v >= s.exclusiveMaximum
              ? `less than ${s.exclusiveMaximum}`
              : undefined;
    if (bound) {
      this.report(path, node, 'out-of-range', `${at}: must be ${bound}, got ${fmtNumber(v)}`);
      return INVALID;
    }
    return v;
  }

  private string(node: Node, s: StringSchema, path: JsonPath): Out {
    if (node.type !== 'string') return this.wrongType(node, s, path);
    const v = node.value as string;
    if (s.minLength !== undefined && v.length < s.minLength) {
      this.report(path, node, 'string-too-short', s.minLength === 1 ? `${formatPath(path)}: must not be empty` : `${formatPath(path)}: needs at least ${s.minLength} characters`);
      return INVALID;
    }
    if (s.format === 'path' && this.options.env && !this.synthetic) {
      const abs = nodePath.resolve(this.options.configDir ?? '.', v);
      if (!this.options.env.fileExists(abs)) {
        this.report(path, node, 'missing-file', `${formatPath(path)}: file not found: ${v}${abs === v ? '' : ` (looked for ${abs})`}`);
        // The value is well-formed; the run could not start, which the error already says.
      }
    }
    return v;
  }

  private enumeration(node: Node, s: EnumSchema, path: JsonPath): Out {
    if (node.type !== 'string') return this.wrongType(node, s, path);
    const v = node.value as string;
    if (!s.values.includes(v)) {
      this.report(
        path,
        node,
        'unknown-value',
        `${formatPath(path)}: unknown value ${JSON.stringify(v)}${suggestion(v, s.values)} (allowed: ${s.values.join(', ')})`,
      );
      return INVALID;
    }
    return v;
  }

  private array(node: Node, s: ArraySchema, path: JsonPath): Out {
    if (node.type !== 'array') return this.wrongType(node, s, path);
    const items = node.children ?? [];
    const plural = (n: number) => `${n} item${n === 1 ? '' : 's'}`;
    if (s.minItems !== undefined && items.length < s.minItems) {
      this.report(path, node, 'array-length', `${formatPath(path)}: needs at least ${plural(s.minItems)}, got ${items.length}`);
    } else if (s.maxItems !== undefined && items.length > s.maxItems) {
      this.report(path, node, 'array-length', `${formatPath(path)}: allows at most ${plural(s.maxItems)}, got ${items.length}`);
    }
    // Invalid items stay as holes, so the indices of the others keep matching their paths.
    return items.map((item, i) => {
      const v = this.walk(item, s.items, [...path, i]);
      return v === INVALID ? undefined : v;
    });
  }

  /**
   * An object's properties. `variant` (for tagged unions) names the tag, its value, whether it was
   * filled in by default, and the other variants, so a key that belongs to another variant can say so.
   * Returns the properties that are valid (with defaults); the issues say what is not.
   */
  private object(
    node: Node,
    props: Props,
    path: JsonPath,
    variant?: { tag: string; value: string; defaulted: boolean; schema: TaggedSchema },
  ): Out {
    const where = path.length ? ` in ${formatPath(path)}` : '';
    const known = Object.keys(props);
    const keys = new Set<string>();
    const values = new Map<string, Node>();
    const unknown: { key: string; keyNode: Node }[] = [];
    for (const e of entries(node)) {
      if (keys.has(e.key)) {
        this.report([...path, e.key], e.keyNode, 'duplicate-key', `duplicate property ${JSON.stringify(e.key)}${where}`);
        continue;
      }
      keys.add(e.key);
      if (variant && e.key === variant.tag) continue;
      if (!(e.key in props)) unknown.push(e);
      else if (e.value) values.set(e.key, e.value);
    }

    const suggested = new Set<string>();
    for (const { key, keyNode } of unknown) {
      const owner = variant && Object.entries(variant.schema.variants).find(([name, v]) => name !== variant.value && key in v.properties)?.[0];
      let message: string;
      if (variant && owner) {
        const current = `${JSON.stringify(variant.tag)}: ${JSON.stringify(variant.value)}`;
        message =
          `unknown property ${JSON.stringify(key)}${where} for ${current}${variant.defaulted ? ' (the default)' : ''}; ` +
          `${JSON.stringify(key)} belongs to ${JSON.stringify(variant.tag)}: ${JSON.stringify(owner)}`;
      } else {
        // Prefer the properties not written yet: a typo usually stands for one of them.
        const s = didYouMean(key, known.filter((k) => !keys.has(k))) ?? didYouMean(key, known);
        if (s) suggested.add(s);
        message = `unknown property ${JSON.stringify(key)}${where}${s ? `; did you mean ${JSON.stringify(s)}?` : ''}`;
      }
      this.report([...path, key], keyNode, 'unknown-key', message);
    }

    const out: Record<string, unknown> = {};
    if (variant) out[variant.tag] = variant.value;
    for (const [key, prop] of Object.entries(props)) {
      const valueNode = values.get(key);
      if (valueNode) {
        const v = this.walk(valueNode, prop.schema, [...path, key]);
        if (v !== INVALID) out[key] = v;
      } else if (prop.required) {
        // A misspelt key already said "did you mean <this>": one problem is enough.
        if (!suggested.has(key)) this.report([...path, key], node, 'missing-property', `missing required property ${JSON.stringify(key)}${where}`, { anchor: true });
      } else {
        const d = defaultOf(prop.schema, [...path, key]);
        if (d !== undefined) out[key] = d;
      }
    }
    return out;
  }

  private tagged(node: Node, s: TaggedSchema, path: JsonPath): Out {
    if (node.type !== 'object') return this.wrongType(node, s, path);
    const names = Object.keys(s.variants);
    const tagEntry = entries(node).find((e) => e.key === s.tag);
    const tagPath = [...path, s.tag];
    let value: string;
    let defaulted = false;
    if (tagEntry?.value) {
      const t = tagEntry.value;
      if (t.type !== 'string') {
        this.report(tagPath, t, 'wrong-type', `${formatPath(tagPath)}: expected one of ${orList(names.map((n) => JSON.stringify(n)))}, got ${describeNode(t)}`, { scope: path });
        return INVALID;
      }
      if (!(String(t.value) in s.variants)) {
        this.report(
          tagPath,
          t,
          'unknown-tag',
          `${formatPath(tagPath)}: unknown ${s.tag} ${JSON.stringify(t.value)}${suggestion(String(t.value), names)} (allowed: ${names.join(', ')})`,
          { scope: path },
        );
        return INVALID;
      }
      value = String(t.value);
    } else if (s.defaultVariant) {
      value = s.defaultVariant;
      defaulted = true;
    } else {
      this.report(tagPath, node, 'missing-tag', `missing ${JSON.stringify(s.tag)}${path.length ? ` in ${formatPath(path)}` : ''}: one of ${orList(names)}`, {
        anchor: true,
        scope: path,
      });
      return INVALID;
    }
    return this.object(node, s.variants[value].properties, path, { tag: s.tag, value, defaulted, schema: s });
  }
}

/**
 * The value an absent optional property takes: an object or tagged union with a default is
 * validated from that default (filling its inner defaults); other schemas give a copy of theirs.
 */
export function defaultOf(schema: Schema, path: JsonPath): unknown {
  if (schema.default === undefined) return undefined;
  if (schema.kind === 'object' || schema.kind === 'tagged') {
    const tree = parseTree(JSON.stringify(schema.default));
    if (!tree) throw new Error(`unserialisable default at ${formatPath(path)}`);
    return new StructureWalker({}, true).walk(tree, schema, path);
  }
  return structuredClone(schema.default);
}

/**
 * Validates a whole tree. The value holds everything that is valid, with defaults filled in; where
 * there are issues it is partial (a wrong leaf is left out), so it is only to be trusted below
 * paths that have no error.
 */
export function validateStructure(root: Node, schema: Schema, options: WalkOptions = {}): { value: unknown; issues: StructuralIssue[] } {
  const walker = new StructureWalker(options);
  const v = walker.walk(root, schema, []);
  return { value: v === INVALID ? undefined : v, issues: walker.issues };
}
