// A tiny schema language: one declaration gives the TypeScript type of a parsed config
// (`Infer<typeof s>`), the JSON Schema for the editor (`toJsonSchema`), and the rules the
// validator walks (`validate.ts`). Keeping the three in one place is the point: the editor, the CLI
// and the trainer can never disagree about what a valid config is.

interface Base {
  description: string;
}

export interface NumberSchema extends Base {
  kind: 'number';
  integer?: boolean;
  minimum?: number;
  exclusiveMinimum?: number;
  maximum?: number;
  exclusiveMaximum?: number;
  default?: number;
}

export interface StringSchema extends Base {
  kind: 'string';
  /** `path`: a file path, resolved relative to the config file and checked to exist. */
  format?: 'path';
  default?: string;
  minLength?: number;
}

export interface BooleanSchema extends Base {
  kind: 'boolean';
  default?: boolean;
}

export interface EnumSchema<V extends string = string> extends Base {
  kind: 'enum';
  values: readonly V[];
  default?: V;
}

export interface ArraySchema<I extends Schema = Schema> extends Base {
  kind: 'array';
  items: I;
  minItems?: number;
  maxItems?: number;
  default?: unknown[];
}

export interface Prop<S extends Schema = Schema, R extends boolean = boolean> {
  schema: S;
  /** A required property must be written; an optional one takes its schema's default if any. */
  required: R;
}

export type Props = Record<string, Prop>;

export interface ObjectSchema<P extends Props = Props> extends Base {
  kind: 'object';
  properties: P;
  /** When the property is left out, this value (usually `{}`) is validated in its place, filling inner defaults. */
  default?: object;
  /** A complete, typical value: what completion inserts for this variant of a tagged union. */
  example?: Record<string, unknown>;
}

/**
 * One of several object shapes, told apart by the string value of `tag` (e.g. `"type": "mlp"`).
 * When the tag is missing the `defaultVariant` is used, so the common case stays short.
 */
export interface TaggedSchema<T extends string = string, V extends Record<string, ObjectSchema> = Record<string, ObjectSchema>>
  extends Base {
  kind: 'tagged';
  tag: T;
  variants: V;
  defaultVariant?: keyof V & string;
  default?: object;
}

export type Schema = NumberSchema | StringSchema | BooleanSchema | EnumSchema | ArraySchema | ObjectSchema | TaggedSchema;

// ---- type inference -------------------------------------------------------------------------

type HasDefault<S> = S extends { default: unknown } ? true : false;

type RequiredKeys<P extends Props> = {
  [K in keyof P]: P[K]['required'] extends true ? K : HasDefault<P[K]['schema']> extends true ? K : never;
}[keyof P];
type OptionalKeys<P extends Props> = Exclude<keyof P, RequiredKeys<P>>;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type InferObject<P extends Props> = Simplify<
  { [K in RequiredKeys<P>]: Infer<P[K]['schema']> } & { [K in OptionalKeys<P>]?: Infer<P[K]['schema']> }
>;

type InferTagged<T extends string, V extends Record<string, ObjectSchema>> = {
  [K in keyof V]: Simplify<{ [_ in T]: K } & Infer<V[K]>>;
}[keyof V];

export type Infer<S> = S extends NumberSchema
  ? number
  : S extends StringSchema
    ? string
    : S extends BooleanSchema
      ? boolean
      : S extends EnumSchema<infer V>
        ? V
        : S extends ArraySchema<infer I>
          ? Infer<I>[]
          : S extends TaggedSchema<infer T, infer V>
            ? InferTagged<T, V>
            : S extends ObjectSchema<infer P>
              ? InferObject<P>
              : never;

// ---- constructors ---------------------------------------------------------------------------

type Opts<S> = Omit<S, 'kind' | 'description' | 'items' | 'values' | 'properties'>;
/** No options given: intersecting with it changes nothing. */
type NoOptions = Record<never, never>;

// Each constructor returns its schema intersected with the options given, so a `default` written
// here is visible to `Infer` (a property with a default is never undefined after parsing).
export const num = <O extends Opts<NumberSchema> = NoOptions>(description: string, o?: O): NumberSchema & O =>
  ({ kind: 'number', description, ...o }) as NumberSchema & O;
export const int = <O extends Opts<NumberSchema> = NoOptions>(description: string, o?: O): NumberSchema & O =>
  ({ kind: 'number', integer: true, description, ...o }) as NumberSchema & O;
export const str = <O extends Opts<StringSchema> = NoOptions>(description: string, o?: O): StringSchema & O =>
  ({ kind: 'string', description, ...o }) as StringSchema & O;
export const path = (description: string): StringSchema => ({ kind: 'string', format: 'path', description, minLength: 1 });
export const bool = <O extends Opts<BooleanSchema> = NoOptions>(description: string, o?: O): BooleanSchema & O =>
  ({ kind: 'boolean', description, ...o }) as BooleanSchema & O;

export function oneOf<const V extends string, const D extends V | undefined = undefined>(
  description: string,
  values: readonly V[],
  o?: { default: D },
): EnumSchema<V> & (D extends string ? { default: D } : unknown) {
  return { kind: 'enum', description, values, ...o } as EnumSchema<V> & (D extends string ? { default: D } : unknown);
}

export function list<I extends Schema, O extends Opts<ArraySchema> = NoOptions>(description: string, items: I, o?: O): ArraySchema<I> & O {
  return { kind: 'array', description, items, ...o } as ArraySchema<I> & O;
}

export function obj<P extends Props>(description: string, properties: P): ObjectSchema<P>;
export function obj<P extends Props>(description: string, properties: P, o: { default: object }): ObjectSchema<P> & { default: object };
export function obj<P extends Props>(description: string, properties: P, o: { default?: object } = {}): ObjectSchema<P> {
  return { kind: 'object', description, properties, ...o };
}

export function tagged<const T extends string, V extends Record<string, ObjectSchema>>(
  description: string,
  tag: T,
  variants: V,
  defaultVariant?: keyof V & string,
): TaggedSchema<T, V> {
  return { kind: 'tagged', description, tag, variants, defaultVariant };
}

/** The same schema, taking `value` (validated as if written) when the property is left out. */
export function withDefault<S extends ObjectSchema | TaggedSchema>(schema: S, value: object): S & { default: object } {
  return { ...schema, default: value };
}

/** A property the user must write. */
export const req = <S extends Schema>(schema: S): Prop<S, true> => ({ schema, required: true });
/** A property the user may leave out (its default, if the schema has one, is filled in). */
export const opt = <S extends Schema>(schema: S): Prop<S, false> => ({ schema, required: false });
