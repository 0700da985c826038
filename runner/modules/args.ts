// A module's arguments, declared once: a small builder that writes the JSON Schema (validation, `meshplay doc`,
// docs/modules.md, the editor schemas in schemas/) and carries the TypeScript type of the validated, defaulted
// arguments, so the schema and the type a module reads cannot disagree. Defaults live in the schema
// (`default`) and are filled in once, by the executor, before the module plans (applyDefaults).
//
//   const schema = object({ dest: required(string()), mode: fileMode(), state: withDefault(oneOf(['present', 'absent']), 'present') });
//   type Args = ArgsOf<typeof schema>;   // { dest: string; state: 'present' | 'absent'; mode?: string | number }

declare const TYPE: unique symbol;
declare const PRESENCE: unique symbol;

type Presence = 'optional' | 'required' | 'defaulted';

/** A JSON Schema whose validated value has the type T (a type-level mark only: at run time it is the plain schema). */
export interface Schema<T, P extends Presence = 'optional'> {
  readonly [TYPE]: T;
  readonly [PRESENCE]: P;
}

type Json = Record<string, unknown>;
type AnySchema = Schema<any, Presence>;

/** The type of the value a schema validates. */
export type Infer<S> = S extends Schema<infer T, Presence> ? T : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};
type Present<P> = { [K in keyof P]: P[K] extends Schema<any, 'required' | 'defaulted'> ? K : never }[keyof P];
type Absent<P> = Exclude<keyof P, Present<P>>;
type ObjectOf<P extends Record<string, AnySchema>> = Simplify<
  { [K in Present<P>]: Infer<P[K]> } & { [K in Absent<P>]?: Infer<P[K]> }
>;

/** The arguments a module receives: validated, with every schema default filled in. */
export type ArgsOf<S> = Infer<S>;

const schema = <T>(json: Json): Schema<T> => json as unknown as Schema<T>;
/** The JSON Schema text of a built schema. */
export const json = (s: AnySchema): Json => s as unknown as Json;

export function string(o: { pattern?: string; minLength?: number } = {}): Schema<string> {
  return schema({ type: 'string', ...o });
}
export function integer(o: { minimum?: number; maximum?: number } = {}): Schema<number> {
  return schema({ type: 'integer', ...o });
}
export function number(o: { minimum?: number; maximum?: number } = {}): Schema<number> {
  return schema({ type: 'number', ...o });
}
export function boolean(): Schema<boolean> {
  return schema({ type: 'boolean' });
}
/** Any value (a message, a definition given as YAML text or a structure...). */
export function any(): Schema<unknown> {
  return schema({});
}
export function oneOf<const V extends readonly (string | number)[]>(values: V): Schema<V[number]> {
  return schema({ enum: [...values] });
}
export function array<S extends AnySchema>(items: S, o: { minItems?: number } = {}): Schema<Infer<S>[]> {
  return schema({ type: 'array', items: json(items), ...o });
}
/** Several JSON types at once (`['string', 'integer']`): T says what the module reads. */
export function types<T>(names: readonly ('string' | 'integer' | 'number' | 'boolean' | 'object' | 'array' | 'null')[], extra: Json = {}): Schema<T> {
  return schema({ type: [...names], ...extra });
}
/** An object with these properties; unknown keys are refused unless `open`. */
export function object<P extends Record<string, AnySchema>>(props: P, o: { open?: boolean } = {}): Schema<ObjectOf<P>> {
  const properties: Record<string, Json> = {};
  const req: string[] = [];
  for (const [k, s] of Object.entries(props)) {
    const { [REQUIRED]: isRequired, ...rest } = s as unknown as Json & { [REQUIRED]?: boolean };
    properties[k] = rest;
    if (isRequired) req.push(k);
  }
  return schema({ type: 'object', ...(o.open ? {} : { additionalProperties: false }), ...(req.length ? { required: req } : {}), properties });
}
/** A dict of any keys whose values follow `values`. */
export function record<S extends AnySchema>(values: S): Schema<Record<string, Infer<S>>> {
  return schema({ type: 'object', additionalProperties: json(values) });
}

// Marks read by object() at run time; a symbol, so the JSON Schema text never shows it.
const REQUIRED = Symbol('required');

export function required<T>(s: Schema<T, 'optional'>): Schema<T, 'required'> {
  return { ...(s as object), [REQUIRED]: true } as unknown as Schema<T, 'required'>;
}
/** The argument is always present once defaults are applied; the default is documented from here. */
export function withDefault<T>(s: Schema<T, 'optional'>, value: NoInfer<T> | (T extends Record<string, unknown> ? Partial<NoInfer<T>> : never)): Schema<T, 'defaulted'> {
  return { ...(s as object), default: value } as unknown as Schema<T, 'defaulted'>;
}
/** Refines the type of an `any()`/`types()` schema without changing its JSON (e.g. a shared sub-schema). */
export function typed<T>(s: Json): Schema<T> {
  return schema(s);
}

/**
 * Fills in the schema's defaults (copies, never the schema's own objects) where the value has no such key, in
 * objects and in the objects of arrays, as Ajv's useDefaults does. Runs once, after validation, before plan.
 */
export function applyDefaults<T>(s: Schema<T, Presence> | Json, value: unknown): T {
  const j = s as Json;
  // Copies only what gains a default: a value the hosts of a task share (their peers list, rendered once) keeps its
  // identity, so per-run memos keyed by it (ip_routes' overlap check) hold; copying it for each host cost every
  // host a copy of the list and every memo a miss. The arguments are never mutated: shared renders are frozen
  // under test (MESHPLAY_FREEZE_SHARED_RENDERS).
  if (Array.isArray(value) && j.items && typeof j.items === 'object') {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const filled = applyDefaults(j.items as Json, value[i]);
      if (filled !== value[i]) (copy ??= value.slice())[i] = filled;
    }
    return (copy ?? value) as T;
  }
  if (!value || typeof value !== 'object' || Array.isArray(value) || !j.properties) return value as T;
  const given = value as Record<string, unknown>;
  let copy: Record<string, unknown> | undefined;
  for (const [k, sub] of Object.entries(j.properties as Record<string, Json>)) {
    const current = given[k];
    // Filled in where the value is null too, as the `??` each default replaces did.
    if (current == null && 'default' in sub) (copy ??= { ...given })[k] = applyDefaults(sub, structuredClone(sub.default));
    else if (current !== undefined) {
      const filled = applyDefaults(sub, current);
      if (filled !== current) (copy ??= { ...given })[k] = filled;
    }
  }
  return (copy ?? given) as T;
}
