// Python/Jinja value semantics on JavaScript values: truthiness, str(), repr(), equality, kwargs.

import nunjucks from 'nunjucks';
import { PyFloat, plain, pyNumberText } from './float.js';
import { pyEntries } from './keys.js';
import { Undefined } from './undefined.js';

/** Macros and `safe` return nunjucks' SafeString: text, not a mapping. */
const SafeString = (nunjucks as unknown as { runtime: { SafeString: new (...a: unknown[]) => object } }).runtime.SafeString;
export function isSafeString(value: unknown): boolean {
  return value instanceof SafeString;
}

export type Dict = Record<string, unknown>;

export function isMapping(value: unknown): value is Dict {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Undefined)
    && !(value instanceof RegExp) && !(value instanceof SafeString) && !(value instanceof PyFloat);
}

/** Jinja truthiness: empty strings, lists and dicts are false; undefined values throw. */
export function truthy(value: unknown): boolean {
  if (value instanceof Undefined) value.fail();
  if (value instanceof PyFloat) return value.value !== 0;
  if (value === null || value === undefined) return false;
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0 && !Number.isNaN(value);
  if (typeof value === 'string') return value.length > 0;
  if (Array.isArray(value)) return value.length > 0;
  if (isMapping(value)) return Object.keys(value).length > 0;
  return Boolean(value);
}

/**
 * Ansible's `bool` filter (ansible-core 2.14): the strings yes/on/1/true in any case and the number 1 are
 * true, everything else false ('y', 't', ' yes' and 2 included). Conditions use truthy() (conditionValue).
 */
export function toBool(value: unknown): boolean {
  if (value instanceof Undefined) value.fail();
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number' || value instanceof PyFloat) return Number(value) === 1;
  if (typeof value === 'string') return ['yes', 'on', '1', 'true'].includes(value.toLowerCase());
  return false;
}

function pyString(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  const escaped = s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r').replace(/\t/g, '\\t');
  return quote + (quote === "'" ? escaped.replace(/'/g, "\\'") : escaped) + quote;
}

/**
 * Python's tuples (a literal `('a', 1)`, the pairs of dictsort, items() and zip) are lists marked by this
 * non-enumerable property: they behave as lists everywhere (JSON writes them as lists, as Python's json does)
 * and only repr() tells them apart. A copy of the list (slice, map, spread) is a plain list again.
 */
const TUPLE = Symbol('tuple');

export function tuple<T>(items: T[]): T[] {
  Object.defineProperty(items, TUPLE, { value: true });
  return items;
}

export function isTuple(value: unknown): boolean {
  return Array.isArray(value) && (value as unknown as Record<symbol, unknown>)[TUPLE] === true;
}

/** Python's repr(), which is what Ansible prints for a list or dict embedded in a string. */
export function pyRepr(value: unknown): string {
  if (value instanceof Undefined) value.fail();
  if (typeof value === 'string') return pyString(value);
  if (isTuple(value)) {
    const items = (value as unknown[]).map(pyRepr);
    return items.length === 1 ? `(${items[0]},)` : `(${items.join(', ')})`;
  }
  if (Array.isArray(value)) return `[${value.map(pyRepr).join(', ')}]`;
  if (isMapping(value)) {
    return `{${pyEntries(value).map(([k, v]) => `${typeof k === 'number' ? String(k) : pyString(k)}: ${pyRepr(v)}`).join(', ')}}`;
  }
  return toText(value);
}

/** Python's str(): what a value becomes when written into a template's text. */
export function toText(value: unknown): string {
  if (value instanceof Undefined) value.fail();
  if (typeof value === 'string') return value;
  if (value instanceof SafeString) return String(value);
  if (value === null || value === undefined) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number' || value instanceof PyFloat) return pyNumberText(value);
  if (Array.isArray(value) || isMapping(value)) return pyRepr(value);
  return String(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a instanceof Undefined) a.fail();
  if (b instanceof Undefined) b.fail();
  a = plain(a); // Python: 5.0 == 5
  b = plain(b);
  if (a === b) return true;
  if (Array.isArray(a)) {
    return Array.isArray(b) && a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  if (isMapping(a) && isMapping(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length
      && keys.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  // Python: True == 1 and False == 0
  if (typeof a === 'boolean' && typeof b === 'number') return Number(a) === b;
  if (typeof a === 'number' && typeof b === 'boolean') return a === Number(b);
  return false;
}

export function isKeywordArgs(value: unknown): value is Dict {
  return value !== null && typeof value === 'object' && Object.prototype.hasOwnProperty.call(value, '__keywords');
}

/** Split nunjucks call arguments into positional ones and keyword ones (`f(a, key=b)`). */
export function splitArgs(args: unknown[]): { positional: unknown[]; keywords: Dict } {
  const last = args[args.length - 1];
  if (args.length > 0 && isKeywordArgs(last)) {
    const { __keywords: _ignored, ...keywords } = last;
    return { positional: args.slice(0, -1), keywords };
  }
  return { positional: args, keywords: {} };
}

/** Positional argument `index`, or keyword `name`, or the fallback. */
export function arg<T>(positional: unknown[], keywords: Dict, index: number, name: string, fallback: T): T | unknown {
  if (positional.length > index) return positional[index];
  if (Object.prototype.hasOwnProperty.call(keywords, name)) return keywords[name];
  return fallback;
}

export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'boolean') return 'bool';
  if (value instanceof PyFloat) return 'float';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (Array.isArray(value)) return isTuple(value) ? 'tuple' : 'list';
  if (isMapping(value)) return 'dict';
  return typeof value;
}
