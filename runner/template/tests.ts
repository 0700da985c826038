// Jinja and Ansible tests (`x is defined`, `result is changed`, `v is version('1.8', '>=')`).

import { existsSync, statSync } from 'node:fs';
import { PyFloat, isFloat } from './float.js';
import { Undefined } from './undefined.js';
import { deepEqual, isMapping, splitArgs, truthy, type Dict } from './values.js';
import { pythonRegex } from './regex.js';

export type TestFn = (value: unknown, ...args: unknown[]) => boolean;

/** Tests that accept an undefined value instead of failing on it. */
export const UNDEFINED_TOLERANT_TESTS = new Set(['defined', 'undefined']);

function resultField(name: string, field: string, value: unknown): boolean {
  if (!isMapping(value)) throw new Error(`the '${name}' test expects a registered task result (a dictionary), got ${JSON.stringify(value)}`);
  if (field in value) return truthy(value[field]);
  if (Array.isArray(value.results)) return value.results.some((r) => isMapping(r) && truthy(r[field]));
  return false;
}

function failed(value: unknown): boolean {
  if (!isMapping(value)) throw new Error(`the 'failed' test expects a registered task result (a dictionary), got ${JSON.stringify(value)}`);
  return resultField('failed', 'failed', value);
}

/** Split a loose version ("1.8.5", "v1.10.0-beta.1") into numbers and words, like Python's LooseVersion. */
function versionParts(version: unknown): Array<number | string> {
  const text = String(version).trim().replace(/^v(?=\d)/i, '');
  return (text.match(/\d+|[a-z]+/gi) ?? []).map((p) => (/^\d+$/.test(p) ? Number(p) : p.toLowerCase()));
}

/** Loose comparison as Ansible's default; with `semver`, "1.9.0-beta.1" sorts before "1.9.0". */
export function compareVersions(a: unknown, b: unknown, semver = false): number {
  const x = versionParts(a);
  const y = versionParts(b);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === undefined) return semver && typeof q === 'string' ? 1 : -1;
    if (q === undefined) return semver && typeof p === 'string' ? -1 : 1;
    if (p === q) continue;
    if (typeof p === 'number' && typeof q === 'number') return p < q ? -1 : 1;
    // a pre-release word sorts before a number ("1.0.beta" < "1.0.0")
    if (typeof p === 'number') return 1;
    if (typeof q === 'number') return -1;
    return p < q ? -1 : 1;
  }
  return 0;
}

const VERSION_OPERATORS: Record<string, (c: number) => boolean> = {
  '<': (c) => c < 0, lt: (c) => c < 0,
  '<=': (c) => c <= 0, le: (c) => c <= 0,
  '>': (c) => c > 0, gt: (c) => c > 0,
  '>=': (c) => c >= 0, ge: (c) => c >= 0,
  '==': (c) => c === 0, '=': (c) => c === 0, eq: (c) => c === 0,
  '!=': (c) => c !== 0, '<>': (c) => c !== 0, ne: (c) => c !== 0,
};

function version(value: unknown, ...rest: unknown[]): boolean {
  const { positional, keywords } = splitArgs(rest);
  const wanted = positional[0] ?? keywords.version;
  const operator = String(positional[1] ?? keywords.operator ?? 'eq');
  const check = VERSION_OPERATORS[operator];
  if (!check) throw new Error(`version test: invalid operator '${operator}' (expected one of ${Object.keys(VERSION_OPERATORS).join(', ')})`);
  if (value === null || value === undefined || value === '') throw new Error('version test: the version to compare is empty');
  const versionType = String(positional[3] ?? keywords.version_type ?? 'loose');
  return check(compareVersions(value, wanted, versionType === 'semver' || versionType === 'semantic'));
}

function regexTest(mode: 'match' | 'search' | 'fullmatch') {
  return (value: unknown, ...rest: unknown[]): boolean => {
    const { positional, keywords } = splitArgs(rest);
    const flags = (truthy(positional[1] ?? keywords.ignorecase ?? false) ? 'i' : '') + (truthy(positional[2] ?? keywords.multiline ?? false) ? 'm' : '');
    const re = pythonRegex(String(positional[0] ?? keywords.pattern), flags);
    const m = re.exec(String(value));
    if (!m) return false;
    if (mode === 'search') return true;
    if (m.index !== 0) return false;
    return mode === 'match' || m[0].length === String(value).length;
  };
}

const isNumber = (v: unknown) => typeof v === 'number' || v instanceof PyFloat;
const isIterable = (v: unknown) => typeof v === 'string' || Array.isArray(v) || isMapping(v);

export const TESTS: Record<string, TestFn> = {
  defined: (v) => !(v instanceof Undefined) && v !== undefined,
  undefined: (v) => v instanceof Undefined || v === undefined,
  none: (v) => v === null,
  null: (v) => v === null,
  true: (v) => v === true,
  false: (v) => v === false,
  boolean: (v) => typeof v === 'boolean',
  string: (v) => typeof v === 'string',
  number: isNumber,
  integer: (v) => typeof v === 'number' && Number.isInteger(v),
  float: (v) => isFloat(v),
  mapping: (v) => isMapping(v),
  sequence: isIterable,
  iterable: isIterable,
  list: (v) => Array.isArray(v),
  callable: (v) => typeof v === 'function',
  lower: (v) => typeof v === 'string' && v === v.toLowerCase(),
  upper: (v) => typeof v === 'string' && v === v.toUpperCase(),
  odd: (v) => Number(v) % 2 === 1,
  even: (v) => Number(v) % 2 === 0,
  divisibleby: (v, n) => Number(v) % Number(n) === 0,
  truthy: (v) => truthy(v),
  falsy: (v) => !truthy(v),
  eq: (v, o) => deepEqual(v, o),
  equalto: (v, o) => deepEqual(v, o),
  '==': (v, o) => deepEqual(v, o),
  sameas: (v, o) => v === o,
  ne: (v, o) => !deepEqual(v, o),
  '!=': (v, o) => !deepEqual(v, o),
  lt: (v, o) => (v as number) < (o as number),
  '<': (v, o) => (v as number) < (o as number),
  lessthan: (v, o) => (v as number) < (o as number),
  le: (v, o) => (v as number) <= (o as number),
  '<=': (v, o) => (v as number) <= (o as number),
  gt: (v, o) => (v as number) > (o as number),
  '>': (v, o) => (v as number) > (o as number),
  greaterthan: (v, o) => (v as number) > (o as number),
  ge: (v, o) => (v as number) >= (o as number),
  '>=': (v, o) => (v as number) >= (o as number),
  in: (v, container) => {
    if (typeof container === 'string') return container.includes(String(v));
    if (Array.isArray(container)) return container.some((item) => deepEqual(item, v));
    if (isMapping(container)) return Object.prototype.hasOwnProperty.call(container, String(v));
    return false;
  },
  contains: (container, v) => TESTS.in(v, container),
  subset: (v, other) => Array.isArray(v) && Array.isArray(other) && v.every((x) => other.some((y) => deepEqual(x, y))),
  superset: (v, other) => Array.isArray(v) && Array.isArray(other) && other.every((x) => v.some((y) => deepEqual(x, y))),
  all: (v) => Array.isArray(v) && v.every(truthy),
  any: (v) => Array.isArray(v) && v.some(truthy),
  match: regexTest('match'),
  search: regexTest('search'),
  regex: (v, ...rest) => {
    const { positional, keywords } = splitArgs(rest);
    return regexTest(keywords.match_type === 'match' ? 'match' : 'search')(v, ...positional, { ...keywords, __keywords: true });
  },
  version,
  version_compare: version,
  // registered task results
  failed,
  failure: failed,
  succeeded: (v) => !failed(v),
  success: (v) => !failed(v),
  successful: (v) => !failed(v),
  changed: (v) => resultField('changed', 'changed', v),
  change: (v) => resultField('changed', 'changed', v),
  skipped: (v) => resultField('skipped', 'skipped', v),
  skip: (v) => resultField('skipped', 'skipped', v),
  unreachable: (v) => resultField('unreachable', 'unreachable', v),
  reachable: (v) => !resultField('unreachable', 'unreachable', v),
  finished: (v) => isMapping(v) && (v as Dict).finished !== 0,
  // paths on the controller
  exists: (v) => typeof v === 'string' && existsSync(v),
  file: (v) => typeof v === 'string' && existsSync(v) && statSync(v).isFile(),
  directory: (v) => typeof v === 'string' && existsSync(v) && statSync(v).isDirectory(),
  abs: (v) => typeof v === 'string' && v.startsWith('/'),
};

/** The test a template names (`defined`, `ansible.builtin.version`), if meshplay has it: one rule for rendering and validation. */
export function testNamed(name: string): TestFn | undefined {
  const short = name.replace(/^ansible\.(builtin|utils)\./, '');
  return Object.prototype.hasOwnProperty.call(TESTS, short) ? TESTS[short] : undefined;
}
