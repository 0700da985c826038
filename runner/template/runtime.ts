// The runtime that compiled templates call into: variable and member lookups that yield named
// Undefined values, Python-like operators, and the context carrying variables and render options.

import { nj } from './compile.js';
import { PyFloat, floatsMarked, isFloat, pyFloat, readFloat } from './float.js';
import { intKeyLookup, intKeysMarked, pyEntries, pyKeys } from './keys.js';
import { Undefined, assertDefined } from './undefined.js';
import { deepEqual, isMapping, toText, truthy, tuple } from './values.js';
import type { RenderOptions } from './types.js';

const LITERALS: Record<string, unknown> = { True: true, False: false, None: null };

export interface RenderEnvironment {
  globals: Record<string, unknown>;
  getFilter(name: string): (...args: unknown[]) => unknown;
  getTest(name: string): (...args: unknown[]) => unknown;
  opts: { autoescape: boolean };
}

/** What `this` is inside filters, tests and global functions. */
export class RenderContext {
  readonly vars: Record<string, unknown>;
  readonly options: RenderOptions;
  readonly env: RenderEnvironment;
  /** Variables set at top level with `{% set %}`; never written into the caller's vars. */
  private readonly locals: Record<string, unknown> = Object.create(null);
  native: unknown;
  /** When set, every top-level variable read is recorded (for RenderMemo); undefined when not memoizing. */
  reads?: Array<[string, unknown]>;
  /** Something read all variables at once: the reads list is incomplete and the render is not shared. */
  readEverything = false;

  constructor(vars: Record<string, unknown>, options: RenderOptions, env: RenderEnvironment) {
    this.vars = vars;
    this.options = options;
    this.env = env;
  }

  lookup(name: string): unknown {
    if (name in this.locals) return this.locals[name];
    let value = this.vars[name];
    if (floatsMarked && value !== undefined) value = readFloat(this.vars, name, value); // a whole float written in YAML
    this.reads?.push([name, value]);
    if (value !== undefined && !(name in Object.prototype && value === (Object.prototype as Record<string, unknown>)[name])) {
      return value;
    }
    if (Object.prototype.hasOwnProperty.call(this.env.globals, name)) return this.env.globals[name];
    if (name in LITERALS) return LITERALS[name];
    return new Undefined(name);
  }

  setVariable(name: string, value: unknown): void {
    this.locals[name] = value;
  }

  addExport(): void {}

  getVariables(): Record<string, unknown> {
    this.readEverything = true;
    return { ...this.vars, ...this.locals };
  }
}

const STRING_METHODS: Record<string, (s: string, ...args: any[]) => unknown> = {
  split: (s, sep?: string | null, max = -1) => {
    if (sep === undefined || sep === null) {
      const parts = s.trim().split(/\s+/).filter((p) => p !== '');
      return max >= 0 && parts.length > max + 1 ? [...parts.slice(0, max), parts.slice(max).join(' ')] : parts;
    }
    const parts = s.split(sep);
    return max >= 0 && parts.length > max + 1 ? [...parts.slice(0, max), parts.slice(max).join(sep)] : parts;
  },
  rsplit: (s, sep?: string | null, max = -1) => {
    if (max < 0) return STRING_METHODS.split(s, sep);
    const parts = s.split(sep ?? ' ');
    return parts.length > max + 1 ? [parts.slice(0, parts.length - max).join(sep ?? ' '), ...parts.slice(parts.length - max)] : parts;
  },
  strip: (s, chars?: string) => stripChars(s, chars, true, true),
  lstrip: (s, chars?: string) => stripChars(s, chars, true, false),
  rstrip: (s, chars?: string) => stripChars(s, chars, false, true),
  startswith: (s, prefix: string | string[]) => (Array.isArray(prefix) ? prefix : [prefix]).some((p) => s.startsWith(p)),
  endswith: (s, suffix: string | string[]) => (Array.isArray(suffix) ? suffix : [suffix]).some((p) => s.endsWith(p)),
  replace: (s, old: string, replacement: string) => s.split(old).join(replacement),
  lower: (s) => s.toLowerCase(),
  upper: (s) => s.toUpperCase(),
  title: (s) => s.replace(/\w\S*/g, (w) => w[0].toUpperCase() + w.slice(1).toLowerCase()),
  capitalize: (s) => (s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s),
  find: (s, sub: string) => s.indexOf(sub),
  count: (s, sub: string) => (sub ? s.split(sub).length - 1 : s.length + 1),
  join: (s, items: unknown[]) => items.map(toText).join(s),
  splitlines: (s) => s.split(/\r?\n/).filter((line, i, all) => !(i === all.length - 1 && line === '')),
  isdigit: (s) => /^\d+$/.test(s),
  format: (s, ...args: unknown[]) => {
    let next = 0;
    return s.replace(/\{(\w*)\}/g, (_m, key: string) => {
      if (key === '') return toText(args[next++]);
      if (/^\d+$/.test(key)) return toText(args[Number(key)]);
      const kwargs = args[args.length - 1] as Record<string, unknown> | undefined;
      return toText(kwargs?.[key]);
    });
  },
};

function stripChars(s: string, chars: string | undefined, left: boolean, right: boolean): string {
  if (chars === undefined || chars === null) return left && right ? s.trim() : left ? s.trimStart() : s.trimEnd();
  let start = 0;
  let end = s.length;
  while (left && start < end && chars.includes(s[start])) start++;
  while (right && end > start && chars.includes(s[end - 1])) end--;
  return s.slice(start, end);
}

/** The key of a mapping `key` finds as Python's lookup would (a YAML int key is found by the int only: keys.ts). */
function ownKey(d: object, key: unknown): string | undefined {
  const int = intKeysMarked ? intKeyLookup(d, key) : undefined;
  if (int) return int.key;
  const k = String(key);
  return Object.prototype.hasOwnProperty.call(d, k) ? k : undefined;
}

const DICT_METHODS: Record<string, (d: Record<string, unknown>, ...args: any[]) => unknown> = {
  items: (d) => pyEntries(d).map(tuple),
  keys: (d) => pyKeys(d),
  values: (d) => Object.values(d),
  get: (d, key: unknown, fallback: unknown = null) => {
    const k = ownKey(d, key);
    return k !== undefined ? d[k] : fallback;
  },
  copy: (d) => ({ ...d }),
};

const LIST_METHODS: Record<string, (l: unknown[], ...args: any[]) => unknown> = {
  index: (l, item: unknown) => l.findIndex((x) => deepEqual(x, item)),
  count: (l, item: unknown) => l.filter((x) => deepEqual(x, item)).length,
  append: (l, item: unknown) => {
    assertDefined(item); // the list outlives the render: no Undefined may hide in it (undefinedsMade)
    l.push(item);
    return null;
  },
  copy: (l) => [...l],
};

function bindMethod<T>(methods: Record<string, (target: T, ...args: any[]) => unknown>, target: T, key: unknown) {
  if (typeof key !== 'string' || !Object.prototype.hasOwnProperty.call(methods, key)) return undefined;
  const method = methods[key];
  return (...args: unknown[]) => method(target, ...args.filter((a) => !(a && typeof a === 'object' && '__keywords' in a)));
}

function memberLookup(obj: unknown, key: unknown, targetName: string): unknown {
  if (obj instanceof Undefined) return obj; // a.b.c | default(...) works when a is missing
  const path = typeof key === 'string' && /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `${targetName}.${key}` : `${targetName}[${JSON.stringify(key)}]`;
  if (obj === null || obj === undefined) {
    return new Undefined(path, `'${targetName}' is None, so it has no attribute '${String(key)}'`);
  }
  if (floatsMarked && typeof obj === 'object') return floatMember(obj, key, memberFound(obj, key, path, targetName));
  return memberFound(obj, key, path, targetName);
}

/** A member as a template sees it when variables hold whole floats (float.ts). */
function floatMember(obj: object, key: unknown, found: unknown): unknown {
  if (found instanceof Undefined || typeof found === 'function') return found;
  const index = Array.isArray(obj) && typeof key === 'number' && key < 0 ? obj.length + key : key;
  return readFloat(obj, String(index), found);
}

function memberFound(obj: unknown, key: unknown, path: string, targetName: string): unknown {
  if (Array.isArray(obj)) {
    if (typeof key === 'number') {
      const index = key < 0 ? obj.length + key : key;
      if (index >= 0 && index < obj.length) return obj[index];
      return new Undefined(path, `'${targetName}' has no item ${key} (it has ${obj.length})`);
    }
    const method = bindMethod(LIST_METHODS, obj, key);
    if (method) return method;
  } else if (typeof obj === 'string') {
    if (typeof key === 'number') {
      const index = key < 0 ? obj.length + key : key;
      if (index >= 0 && index < obj.length) return obj[index];
    }
    const method = bindMethod(STRING_METHODS, obj, key);
    if (method) return method;
  } else if (typeof obj === 'object') {
    const record = obj as Record<string, unknown>;
    const k = String(key);
    const own = intKeysMarked ? ownKey(record, key) !== undefined : Object.prototype.hasOwnProperty.call(record, k);
    if (own && record[k] !== undefined) return record[k];
    if (isMapping(obj) && Object.getPrototypeOf(obj) !== Object.prototype && k in record && typeof record[k] !== 'function') {
      return record[k]; // layered variable objects built with Object.create
    }
    const method = bindMethod(DICT_METHODS, record, key);
    if (method) return method;
  }
  return new Undefined(path, `'${targetName}' has no attribute '${String(key)}'`);
}

function sliceLookup(obj: unknown, start: number | null, stop: number | null, step: number | null): unknown {
  if (obj instanceof Undefined) obj.fail();
  const isString = typeof obj === 'string';
  const items: unknown[] = isString ? [...(obj as string)] : Array.isArray(obj) ? obj : [];
  const len = items.length;
  const by = step ?? 1;
  const clamp = (i: number, low: number, high: number) => Math.max(low, Math.min(high, i < 0 ? i + len : i));
  const result: unknown[] = [];
  if (by > 0) {
    for (let i = start === null ? 0 : clamp(start, 0, len); i < (stop === null ? len : clamp(stop, 0, len)); i += by) result.push(items[i]);
  } else {
    for (let i = start === null ? len - 1 : clamp(start, -1, len - 1); i > (stop === null ? -1 : clamp(stop, -1, len - 1)); i += by) result.push(items[i]);
  }
  return isString ? result.join('') : result;
}

function compare(op: string, a: unknown, b: unknown): boolean {
  switch (op) {
    case '==':
    case '===':
      return deepEqual(a, b);
    case '!=':
    case '!==':
      return !deepEqual(a, b);
    default: {
      if (a instanceof Undefined) a.fail();
      if (b instanceof Undefined) b.fail();
      const x = a as number;
      const y = b as number;
      switch (op) {
        case '<': return x < y;
        case '>': return x > y;
        case '<=': return x <= y;
        case '>=': return x >= y;
        default: throw new Error(`unknown comparison operator ${op}`);
      }
    }
  }
}

const isNumeric = (v: unknown) => typeof v === 'number' || typeof v === 'boolean' || v instanceof PyFloat;

/** A binary arithmetic operator on numbers as Python has it: a float operand (or `float`) makes a float. */
function arithmetic(a: unknown, b: unknown, op: (x: number, y: number) => number, float = false, zeroDivision?: string): unknown {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  if (!isNumeric(a) || !isNumeric(b)) return op(a as number, b as number);
  const x = Number(a);
  const y = Number(b);
  if (zeroDivision && y === 0) throw new Error(zeroDivision);
  const r = op(x, y);
  return float || isFloat(a) || isFloat(b) ? pyFloat(r) : r;
}

function inOperator(needle: unknown, haystack: unknown): boolean {
  if (needle instanceof Undefined) needle.fail();
  if (haystack instanceof Undefined) haystack.fail();
  if (typeof haystack === 'string') return haystack.includes(toText(needle));
  if (Array.isArray(haystack)) return haystack.some((item) => deepEqual(item, needle));
  if (isMapping(haystack)) return ownKey(haystack, needle) !== undefined;
  if (haystack === null || haystack === undefined) return false;
  throw new Error(`argument of type '${typeof haystack}' is not iterable`);
}

function iterate(value: unknown, pairs: boolean): unknown {
  if (value instanceof Undefined) value.fail();
  if (value === null || value === undefined) return [];
  if (!pairs && isMapping(value)) return pyKeys(value);
  if (!pairs && typeof value === 'string') return [...value];
  if (typeof value === 'object' && !Array.isArray(value) && Symbol.iterator in (value as object)) return [...(value as Iterable<unknown>)];
  return value;
}

export const templateRuntime = {
  ...nj.runtime,
  contextOrFrameLookup(context: RenderContext, frame: { lookup(name: string): unknown }, name: string): unknown {
    const value = frame.lookup(name);
    return value !== undefined ? value : context.lookup(name);
  },
  memberLookup,
  sliceLookup,
  callWrap(fn: unknown, name: string, context: RenderContext, args: unknown[]): unknown {
    if (fn instanceof Undefined) fn.fail();
    if (typeof fn !== 'function') throw new Error(`'${name}' is not callable`);
    for (const a of args) {
      if (a instanceof Undefined) a.fail();
    }
    return fn.apply(context, args);
  },
  suppressValue(value: unknown): string {
    // Ansible writes None as nothing in text (but `~` still spells it None)
    if (value === undefined || value === null) return '';
    return toText(value);
  },
  ensureDefined(value: unknown): unknown {
    if (value instanceof Undefined) value.fail();
    return value;
  },
  handleError(error: unknown): unknown {
    return error;
  },
  inOperator,
  truthy,
  tuple,
  iterate,
  nativeValue(value: unknown): unknown {
    // What it holds is checked after the render, when the render made an Undefined (index.ts)
    if (value instanceof Undefined) value.fail();
    return value;
  },
  or(left: unknown, right: () => unknown): unknown {
    return truthy(left) ? left : right();
  },
  and(left: unknown, right: () => unknown): unknown {
    return truthy(left) ? right() : left;
  },
  compare,
  add(a: unknown, b: unknown): unknown {
    if (a instanceof Undefined) a.fail();
    if (b instanceof Undefined) b.fail();
    if (Array.isArray(a) && Array.isArray(b)) return [...a, ...b];
    if (typeof a === 'string' && typeof b !== 'string') throw new Error(`can only concatenate str (not "${typeof b}") to str; use ~ to join text`);
    return arithmetic(a, b, (x, y) => x + y);
  },
  mul(a: unknown, b: unknown): unknown {
    if (typeof a === 'string' && typeof b === 'number') return a.repeat(Math.max(0, b));
    if (Array.isArray(a) && typeof b === 'number') return Array.from({ length: Math.max(0, b) }, () => a).flat();
    return arithmetic(a, b, (x, y) => x * y);
  },
  sub: (a: unknown, b: unknown): unknown => arithmetic(a, b, (x, y) => x - y),
  div: (a: unknown, b: unknown): unknown => arithmetic(a, b, (x, y) => x / y, true, 'division by zero'),
  floordiv: (a: unknown, b: unknown): unknown => arithmetic(a, b, (x, y) => Math.floor(x / y), false, 'integer division or modulo by zero'),
  mod: (a: unknown, b: unknown): unknown => arithmetic(a, b, (x, y) => {
    const r = x % y; // Python's remainder takes the divisor's sign
    return r !== 0 && (r < 0) !== (y < 0) ? r + y : r;
  }, false, 'integer division or modulo by zero'),
  pow: (a: unknown, b: unknown): unknown => arithmetic(a, b, (x, y) => x ** y, isNumeric(b) && Number(b) < 0),
  neg(a: unknown): unknown {
    if (a instanceof Undefined) a.fail();
    return a instanceof PyFloat ? pyFloat(-a.value) : -(a as number);
  },
  pyFloat,
  concat(a: unknown, b: unknown): string {
    return toText(a) + toText(b);
  },
};
