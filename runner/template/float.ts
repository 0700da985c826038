// Python's float where JavaScript cannot tell it from an int. A JavaScript number with a fraction (2.5) is
// unambiguously a float; a whole one (5) reads as an int. Operations that yield a Python float (`/`, the
// float and round filters, arithmetic with a float operand, a literal `5.0`) return a PyFloat when the
// value is whole, so str(), to_json, to_yaml and type_debug print 5.0 and 'float' as Python does.
//
// The marker lives only inside one render: filters that do not know it receive plain numbers
// (index.ts, wrapFilter), and a render's native result has every PyFloat turned back into a number
// (plainNumbers), so modules, manifests and variables never hold one. Whole floats written in variable YAML
// are plain numbers with a side record (below, readFloat) that turns them into PyFloats when a template reads them.

import { shareIntKeys } from './keys.js';

export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return pyFloatText(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

let made = 0;

/** How many PyFloats were made so far (a render compares it before and after to know whether to clean up). */
export function floatsMade(): number {
  return made;
}

/** A Python float result: whole values are marked, fractional ones are already floats. */
export function pyFloat(n: number): number | PyFloat {
  if (!Number.isFinite(n) || !Number.isInteger(n)) return n;
  made++;
  return new PyFloat(n);
}

/** Whether a value is a Python float (a PyFloat, or a number with a fraction, inf or nan). */
export function isFloat(value: unknown): boolean {
  return value instanceof PyFloat || (typeof value === 'number' && !Number.isInteger(value));
}

/** The number behind a PyFloat; other values as they are. */
export function plain(value: unknown): unknown {
  return value instanceof PyFloat ? value.value : value;
}

/**
 * The value with every PyFloat, at any depth, replaced by its number. Containers are copied only when
 * something inside them changed.
 */
export function plainNumbers(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (value === null || typeof value !== 'object') return value;
  const origin = origins.get(value);
  if (origin) return origin;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const p = plainNumbers(item);
      if (p !== item) (out ??= value.slice())[i] = p;
    });
    return out ?? value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const p = plainNumbers(record[key]);
      if (p !== record[key]) (out ??= { ...record })[key] = p;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Python's repr() of a float: the shortest digits that read back (JavaScript finds the same ones), fixed
 * notation for exponents -4..15 with at least one decimal, otherwise `1e+16`, `1.5e-07`.
 */
export function pyFloatText(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(n).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
  }
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Python's text for a number: ints as digits, floats as repr() does. */
export function pyNumberText(value: number | PyFloat): string {
  if (value instanceof PyFloat) return pyFloatText(value.value);
  return Number.isInteger(value) ? String(value) : pyFloatText(value);
}

// Whole floats written in variable YAML (`a: 5.0`, `d: [0.0, 3.0]`). The value stays a plain number in the
// container that holds it, so modules, manifests, connection settings and every `typeof x === 'number'` see
// the number they always saw; a side record says which keys of which containers hold a float. The YAML loader
// (runner/yaml/source.ts) writes it; code that copies a variable mapping key by key carries it (carryFloats);
// the template engine reads it where a template reads a variable or a member (readFloat) and sees a PyFloat,
// or, for a container holding such floats at any depth, a copy holding PyFloats (a float view, made once per
// container; a render's native result gets the original container back, plainNumbers).

/** Per container (mapping or list), the keys (list indices as text) whose value is a whole float. */
const floatKeys = new WeakMap<object, Set<string>>();
/** Containers holding a whole float at any depth. */
const holdsFloats = new WeakSet<object>();
const views = new WeakMap<object, object>();
const origins = new WeakMap<object, object>();
const wholeFloats = new Map<number, PyFloat>();

/** Whether any variable source held a whole float: until one did, nothing below costs anything. */
export let floatsMarked = false;

/** Records that `container[key]` holds a whole float (or, with `float` false, that it does not). */
export function markFloat(container: object, key: string, float = true): void {
  let keys = floatKeys.get(container);
  if (!float) {
    keys?.delete(key);
    return;
  }
  floatsMarked = true;
  if (!keys) floatKeys.set(container, (keys = new Set()));
  keys.add(key);
}

/**
 * Records that a container (a mapping or list of a YAML file) holds a whole float somewhere inside: a template
 * reading it sees a float view. Never a variable scope (views copy every key).
 */
export function markHoldsFloats(container: object): void {
  floatsMarked = true;
  holdsFloats.add(container);
}

/**
 * After `Object.assign(target, ...sources)` (or a spread): the keys each source gave the target carry the
 * source's marks, later sources over earlier ones. Costs nothing while no source held a whole float.
 */
export function carryFloats(target: object, ...sources: Array<object | null | undefined>): void {
  if (!floatsMarked) return;
  for (const source of sources) {
    if (!source) continue;
    const from = floatKeys.get(source);
    const to = floatKeys.get(target);
    if (!from && !to) continue;
    for (const key of Object.keys(source)) markFloat(target, key, from?.has(key) ?? false);
  }
}

/** `target[key]` was copied from `source[sourceKey]`: it keeps the mark. */
export function carryFloat(target: object, key: string, source: object, sourceKey = key): void {
  if (floatsMarked && markedAt(source, sourceKey)) markFloat(target, key);
}

/** Makes a proxy of a variable scope (hostvars[host]) answer for its marks. */
export function shareFloats(proxy: object, target: object): void {
  if (!floatsMarked) return;
  const keys = floatKeys.get(target);
  if (keys) floatKeys.set(proxy, keys);
}

function markedAt(container: object, key: string): boolean {
  // Loop and include scopes are Object.create(vars): the key's owner holds the mark.
  for (let c: object | null = container; c && c !== Object.prototype; c = Object.getPrototypeOf(c)) {
    if (Object.prototype.hasOwnProperty.call(c, key)) return floatKeys.get(c)?.has(key) ?? false;
  }
  return false;
}

/** The one PyFloat for a whole number (so a shared render's check, Object.is, finds the value it saw). */
function wholeFloat(n: number): PyFloat {
  if (Object.is(n, -0)) return new PyFloat(n);
  let f = wholeFloats.get(n);
  if (!f) {
    if (wholeFloats.size > 10_000) wholeFloats.clear();
    wholeFloats.set(n, (f = new PyFloat(n)));
  }
  return f;
}

/**
 * The value a template sees for `container[key]` (which is `value`): a PyFloat for a marked whole float, a float
 * view for a container holding some, otherwise the value itself. Call only while floatsMarked.
 */
export function readFloat(container: object, key: string | number, value: unknown): unknown {
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || !markedAt(container, String(key))) return value;
    made++;
    return wholeFloat(value);
  }
  if (value !== null && typeof value === 'object' && holdsFloats.has(value)) {
    made++;
    return floatView(value);
  }
  return value;
}

function floatView(container: object): object {
  let view = views.get(container);
  if (view) return view;
  const keys = floatKeys.get(container);
  const item = (key: string, v: unknown): unknown =>
    typeof v === 'number' ? (keys?.has(key) && Number.isInteger(v) ? wholeFloat(v) : v) : v !== null && typeof v === 'object' && holdsFloats.has(v) ? floatView(v) : v;
  if (Array.isArray(container)) view = container.map((v, i) => item(String(i), v));
  else {
    const record = container as Record<string, unknown>;
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(record)) copy[key] = item(key, record[key]);
    shareIntKeys(copy, record);
    view = copy;
  }
  views.set(container, view);
  origins.set(view, container);
  return view;
}

