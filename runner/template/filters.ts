// Jinja and Ansible filters as playbooks use them. Keyword arguments arrive as a trailing object
// (nunjucks' convention) and are read with splitArgs. Every filter is a pure function of its arguments (no
// clock, randomness, environment or files): hosts share renders of templates on that basis (template/memo.ts).

import { createHash } from 'node:crypto';
import path from 'node:path';
import { UndefinedVariableError } from '../errors.js';
import { parseJsonText, parseYamlDocuments, parseYamlText } from '../yaml/parse.js';
import { PyFloat, isFloat, plain, pyFloat, pyNumberText } from './float.js';
import { hasIntKeys, pyEntries, pyKeys } from './keys.js';
import { pyYamlDump, type DumpOptions } from './pyyaml.js';
import { ipaddrFilter, ipmathFilter, ipsubnetFilter } from './ipaddr.js';
import { pythonRegex, pythonReplacement } from './regex.js';
import type { RenderContext } from './runtime.js';
import { UNDEFINED_TOLERANT_TESTS } from './tests.js';
import { Undefined } from './undefined.js';
import { deepEqual, isMapping, splitArgs, toBool, toText, truthy, tuple, typeName, type Dict } from './values.js';
import { append } from '../arrays.js';

export type FilterFn = (this: RenderContext, value: unknown, ...args: unknown[]) => unknown;

/** Filters that accept an undefined value instead of failing on it. */
export const UNDEFINED_TOLERANT_FILTERS = new Set(['default', 'd', 'mandatory']);

function seq(value: unknown, filter: string): unknown[] {
  if (Array.isArray(value)) return value;
  if (typeof value === 'string') return [...value];
  if (isMapping(value)) return pyKeys(value);
  if (value !== null && typeof value === 'object' && Symbol.iterator in value) return [...(value as Iterable<unknown>)];
  throw new Error(`${filter}: expected a list, got ${typeName(value)}`);
}

function mapping(value: unknown, filter: string): Dict {
  if (!isMapping(value)) throw new Error(`${filter}: expected a dictionary, got ${typeName(value)}`);
  return value;
}

/** `item.a.b` or `item['0']` for attribute paths like 'a.b' or 'a.0'. */
export function attribute(item: unknown, attr: unknown): unknown {
  if (typeof attr === 'number') return Array.isArray(item) && attr < item.length ? item[attr] : new Undefined(String(attr));
  let current = item;
  for (const part of String(attr).split('.')) {
    if (Array.isArray(current) && /^-?\d+$/.test(part)) {
      const i = Number(part) < 0 ? current.length + Number(part) : Number(part);
      current = i >= 0 && i < current.length ? current[i] : new Undefined(String(attr));
    } else if (isMapping(current) && Object.prototype.hasOwnProperty.call(current, part)) {
      current = current[part];
    } else {
      return new Undefined(String(attr), `item has no attribute '${String(attr)}'`);
    }
  }
  return current;
}

function sortKey(value: unknown, caseSensitive: boolean): unknown {
  return typeof value === 'string' && !caseSensitive ? value.toLowerCase() : value;
}

function compareValues(a: unknown, b: unknown): number {
  a = plain(a);
  b = plain(b);
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  const x = typeof a === 'string' ? a : JSON.stringify(a);
  const y = typeof b === 'string' ? b : JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

function uniqueList(items: unknown[]): unknown[] {
  const out: unknown[] = [];
  for (const item of items) if (!out.some((o) => deepEqual(o, item))) out.push(item);
  return out;
}

function flatten(items: unknown[], levels: number | null, skipNulls: boolean): unknown[] {
  const out: unknown[] = [];
  for (const item of items) {
    if (Array.isArray(item) && (levels === null || levels > 0)) append(out, flatten(item, levels === null ? null : levels - 1, skipNulls));
    else if (!(skipNulls && (item === null || item === undefined))) out.push(item);
  }
  return out;
}

function combineTwo(a: Dict, b: Dict, recursive: boolean, listMerge: string): Dict {
  const out: Dict = { ...a };
  for (const [key, value] of Object.entries(b)) {
    const existing = out[key];
    if (recursive && isMapping(existing) && isMapping(value)) {
      out[key] = combineTwo(existing, value, recursive, listMerge);
    } else if (Array.isArray(existing) && Array.isArray(value) && listMerge !== 'replace') {
      switch (listMerge) {
        case 'keep': break;
        case 'append': out[key] = [...existing, ...value]; break;
        case 'prepend': out[key] = [...value, ...existing]; break;
        case 'append_rp': out[key] = [...existing.filter((x) => !value.some((y) => deepEqual(x, y))), ...value]; break;
        case 'prepend_rp': out[key] = [...value, ...existing.filter((x) => !value.some((y) => deepEqual(x, y)))]; break;
        default: throw new Error(`combine: list_merge must be one of replace, keep, append, prepend, append_rp, prepend_rp (got '${listMerge}')`);
      }
    } else {
      out[key] = value;
    }
  }
  return out;
}

/** A JSON string as Python's json.dumps writes it (ensure_ascii: everything outside space..~ escaped). */
function pythonJsonString(s: string): string {
  return JSON.stringify(s).replace(/[^\x20-\x7e]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/**
 * Python's json.dumps as Ansible's to_json / to_nice_json call it: ensure_ascii, separators ', ' and ': '
 * without indent, ',' between items with one (the line break follows), keys sorted on request.
 */
function pythonJson(value: unknown, sortKeys: boolean, indent?: number, depth = 0): string {
  if (value instanceof Undefined) value.fail();
  const nl = indent === undefined ? '' : `\n${' '.repeat(indent * (depth + 1))}`;
  const close = indent === undefined ? '' : `\n${' '.repeat(indent * depth)}`;
  const sep = indent === undefined ? ', ' : ',';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[${nl}${value.map((v) => pythonJson(v, sortKeys, indent, depth + 1)).join(sep + nl)}${close}]`;
  }
  if (isMapping(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 0) return '{}';
    // Python sorts int keys (YAML's {10: a, 9: b}: keys.ts) as numbers before writing them as text
    if (sortKeys && hasIntKeys(value) && pyKeys(value).every((k) => typeof k === 'number')) keys.sort((a, b) => Number(a) - Number(b));
    else if (sortKeys) keys.sort();
    return `{${nl}${keys.map((k) => `${pythonJsonString(k)}: ${pythonJson(value[k], sortKeys, indent, depth + 1)}`).join(sep + nl)}${close}}`;
  }
  if (value === undefined) return 'null';
  const number = plain(value);
  if (typeof number === 'number' && !Number.isFinite(number)) return Number.isNaN(number) ? 'NaN' : number > 0 ? 'Infinity' : '-Infinity';
  if (typeof number === 'number') return pyNumberText(value as number | PyFloat);
  if (typeof value === 'string') return pythonJsonString(value);
  return JSON.stringify(value) ?? 'null';
}

/** yaml.dump's keyword arguments that to_yaml and to_nice_yaml pass on. */
function dumpOptions(keywords: Dict, defaultFlowStyle: boolean | null, indent: unknown): DumpOptions {
  const known = ['indent', 'width', 'sort_keys', 'default_flow_style', 'explicit_start'];
  const unknown = Object.keys(keywords).filter((k) => !known.includes(k));
  if (unknown.length) throw new Error(`unsupported argument ${unknown.map((k) => `'${k}'`).join(', ')} (supported: ${known.join(', ')})`);
  const number = (v: unknown) => (v === undefined || v === null ? undefined : Number(plain(v)));
  const flow = keywords.default_flow_style;
  return {
    indent: number(indent ?? keywords.indent),
    width: number(keywords.width),
    sortKeys: truthy(keywords.sort_keys ?? true),
    defaultFlowStyle: flow === undefined ? defaultFlowStyle : flow === null ? null : truthy(flow),
    explicitStart: truthy(keywords.explicit_start ?? false),
  };
}

/** Python %-formatting: %s %r %d %i %f %.Nf %x %o %%. */
function percentFormat(format: string, args: unknown[]): string {
  let i = 0;
  const values = args.length === 1 && Array.isArray(args[0]) ? args[0] : args;
  return format.replace(/%(-?\d*)(?:\.(\d+))?([srdifxo%])/g, (_m, width: string, precision: string | undefined, conv: string) => {
    if (conv === '%') return '%';
    const v = values[i++];
    let s: string;
    switch (conv) {
      case 'd': case 'i': s = String(Math.trunc(Number(v))); break;
      case 'f': s = Number(v).toFixed(precision === undefined ? 6 : Number(precision)); break;
      case 'x': s = Math.trunc(Number(v)).toString(16); break;
      case 'o': s = Math.trunc(Number(v)).toString(8); break;
      case 'r': s = typeof v === 'string' ? `'${v}'` : toText(v); break;
      default: s = toText(v);
    }
    const w = Number(width || 0);
    return w < 0 ? s.padEnd(-w) : s.padStart(w, width.startsWith('0') && conv !== 's' ? '0' : ' ');
  });
}

function shellQuote(value: unknown): string {
  const s = toText(value);
  if (s === '') return "''";
  if (/^[\w@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

function regexFlags(keywords: Dict): string {
  return (truthy(keywords.ignorecase ?? false) ? 'i' : '') + (truthy(keywords.multiline ?? false) ? 'm' : '');
}

function runTest(this: RenderContext, name: unknown, value: unknown, args: unknown[]): boolean {
  const test = this.env.getTest(String(name));
  return test.call(this, value, ...args) === true;
}

/** select/reject/selectattr/rejectattr share this: keep items for which the test (default: truthy) is `keep`. */
function selectBy(ctx: RenderContext, items: unknown, args: unknown[], byAttribute: boolean, keep: boolean, name: string): unknown[] {
  const [attr, test, ...testArgs] = byAttribute ? args : [undefined, ...args];
  return seq(items, name).filter((item) => {
    const value = byAttribute ? attribute(item, attr) : item;
    let result: boolean;
    if (test === undefined) {
      result = !(value instanceof Undefined) && truthy(value);
    } else if (value instanceof Undefined && !UNDEFINED_TOLERANT_TESTS.has(String(test))) {
      result = false; // an item lacking the attribute does not match
    } else {
      result = runTest.call(ctx, test, value, testArgs);
    }
    return result === keep;
  });
}

function hashOf(algorithm: string, value: unknown): string {
  try {
    return createHash(algorithm).update(toText(value)).digest('hex');
  } catch {
    throw new Error(`hash: unsupported algorithm '${algorithm}'`);
  }
}

function lengthOf(value: unknown): number {
  if (typeof value === 'string' || Array.isArray(value)) return value.length;
  if (isMapping(value)) return Object.keys(value).length;
  throw new Error(`length: object of type '${typeName(value)}' has no len()`);
}

function toInt(value: unknown, fallback: unknown = 0, base: unknown = 10): unknown {
  value = plain(value);
  if (typeof value === 'boolean') return Number(value);
  if (typeof value === 'number') return Math.trunc(value);
  if (typeof value === 'string') {
    const s = value.trim().replace(/_/g, '');
    const b = Number(base);
    if (b === 10 && /^[-+]?\d+$/.test(s)) return Number(s);
    if (b !== 10) {
      const n = parseInt(s.replace(/^0[xob]/i, ''), b);
      return Number.isNaN(n) ? fallback : n;
    }
    const f = Number(s);
    return s !== '' && Number.isFinite(f) ? Math.trunc(f) : fallback;
  }
  return fallback;
}

/** Jinja's float filter: Python's float(value), or the fallback (0.0 unless given) when that fails. */
function toFloat(value: unknown, fallback: unknown = pyFloat(0)): unknown {
  value = plain(value);
  if (typeof value === 'number' || typeof value === 'boolean') return pyFloat(Number(value));
  if (typeof value === 'string') {
    const s = value.trim().toLowerCase();
    if (/^[-+]?(?:\d(?:_?\d)*(?:\.(?:\d(?:_?\d)*)?)?|\.\d(?:_?\d)*)(?:e[-+]?\d(?:_?\d)*)?$/.test(s)) return pyFloat(Number(s.replace(/_/g, '')));
    const special = /^([-+]?)(inf|infinity|nan)$/.exec(s);
    if (special) return special[2] === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
  }
  return fallback;
}

/** Python's round(x, ndigits) on the exact binary value: halves go to the even neighbour. */
function pyRound(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  if (digits < 0) {
    const f = 10 ** -digits;
    return pyRound(x / f, 0) * f;
  }
  if (Math.abs(x) >= 1e21) return x;
  const exact = Math.abs(x).toFixed(Math.min(100, digits + 40));
  const [whole, fraction = ''] = exact.split('.');
  const kept = fraction.slice(0, digits);
  const rest = fraction.slice(digits);
  let n = BigInt(whole + kept);
  if (/^50*$/.test(rest)) {
    if (n % 2n === 1n) n += 1n;
  } else if (rest[0] >= '5') {
    n += 1n;
  }
  const text = n.toString().padStart(digits + 1, '0');
  const r = Number(digits ? `${text.slice(0, -digits)}.${text.slice(-digits)}` : text);
  return x < 0 ? -r : r;
}

function minMax(items: unknown, args: unknown[], pick: 'min' | 'max'): unknown {
  const { keywords } = splitArgs(args);
  const list = seq(items, pick);
  if (list.length === 0) return new Undefined(`${pick}()`, `${pick}: the list is empty`);
  const key = (x: unknown) => sortKey(keywords.attribute === undefined ? x : attribute(x, keywords.attribute), truthy(keywords.case_sensitive ?? false));
  return list.reduce((best, x) => {
    const c = compareValues(key(x), key(best));
    return (pick === 'min' ? c < 0 : c > 0) ? x : best;
  });
}

function setOp(a: unknown, b: unknown, name: string, op: (x: unknown[], y: unknown[]) => unknown[]): unknown[] {
  return uniqueList(op(seq(a, name), seq(b, name)));
}
const has = (list: unknown[], item: unknown) => list.some((x) => deepEqual(x, item));

export const FILTERS: Record<string, FilterFn> = {
  default(value, fallback = '', boolean = false) {
    if (value instanceof Undefined || value === undefined) return fallback;
    if (truthy(boolean) && !truthy(value)) return fallback;
    return value;
  },
  mandatory(value, message) {
    if (value instanceof Undefined) throw new UndefinedVariableError(value.variable, message ? String(message) : `mandatory variable '${value.variable}' is not defined`);
    return value;
  },
  // Ansible's to_bool leaves None as None (it prints as '' and is a false condition).
  bool: (value) => (value === null || value === undefined ? null : toBool(value)),
  int: (value, fallback = 0, base = 10) => toInt(value, fallback, base),
  float: (value, ...args) => toFloat(value, ...args),
  string: (value) => toText(value),
  lower: (value) => toText(value).toLowerCase(),
  upper: (value) => toText(value).toUpperCase(),
  capitalize: (value) => { const s = toText(value); return s ? s[0].toUpperCase() + s.slice(1).toLowerCase() : s; },
  // Jinja's title: each piece after a run of -, whitespace or an opening bracket starts upper case.
  title: (value) => toText(value).split(/([-\s({[<]+)/).map((w) => (w ? w[0].toUpperCase() + w.slice(1).toLowerCase() : w)).join(''),
  // Python's str.center (its odd-margin rounding included).
  center(value, width = 80) {
    const s = toText(value);
    const w = Number(width);
    const marg = w - s.length;
    if (marg <= 0) return s;
    const left = Math.floor(marg / 2) + (marg & w & 1);
    return ' '.repeat(left) + s + ' '.repeat(marg - left);
  },
  // Jinja's truncate (leeway 5: a string at most 5 characters too long stays whole).
  truncate(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const s = toText(value);
    const length = Number(positional[0] ?? keywords.length ?? 255);
    const killwords = truthy(positional[1] ?? keywords.killwords ?? false);
    const end = toText(positional[2] ?? keywords.end ?? '...');
    const leeway = Number(positional[3] ?? keywords.leeway ?? 5);
    if (s.length <= length + leeway) return s;
    if (killwords) return s.slice(0, length - end.length) + end;
    const head = s.slice(0, length - end.length);
    const cut = head.lastIndexOf(' ');
    return (cut < 0 ? head : head.slice(0, cut)) + end;
  },
  wordcount: (value) => (toText(value).match(/[\p{L}\p{N}_]+/gu) ?? []).length,
  trim: (value, chars) => {
    const s = toText(value);
    if (typeof chars !== 'string') return s.trim();
    let a = 0;
    let b = s.length;
    while (a < b && chars.includes(s[a])) a++;
    while (b > a && chars.includes(s[b - 1])) b--;
    return s.slice(a, b);
  },
  replace: (value, old, replacement, count) => {
    const s = toText(value);
    const parts = s.split(toText(old));
    if (count === undefined || count === null) return parts.join(toText(replacement));
    const n = Number(count);
    return parts.slice(0, n + 1).join(toText(replacement)) + (parts.length > n + 1 ? toText(old) + parts.slice(n + 1).join(toText(old)) : '');
  },
  split: (value, sep, max) => {
    const s = toText(value);
    if (sep === undefined || sep === null) return s.trim().split(/\s+/).filter((p) => p !== '');
    const parts = s.split(toText(sep));
    if (max === undefined || Number(max) < 0 || parts.length <= Number(max) + 1) return parts;
    return [...parts.slice(0, Number(max)), parts.slice(Number(max)).join(toText(sep))];
  },
  indent(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const width = positional[0] ?? keywords.width ?? 4;
    const first = truthy(positional[1] ?? keywords.first ?? false);
    const blank = truthy(positional[2] ?? keywords.blank ?? false);
    const pad = typeof width === 'string' ? width : ' '.repeat(Number(width));
    return toText(value).split('\n').map((line, i) => ((i > 0 || first) && (blank || line.trim() !== '') ? pad + line : line)).join('\n');
  },
  format: (value, ...args) => percentFormat(toText(value), args),
  safe: (value) => value,
  escape: (value) => toText(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&#34;').replace(/'/g, '&#39;'),
  b64encode: (value) => Buffer.from(toText(value), 'utf8').toString('base64'),
  b64decode: (value) => Buffer.from(toText(value), 'base64').toString('utf8'),
  // Ansible's urlsplit: the parts Python's urlsplit names (hostname without brackets, port as a number or None).
  urlsplit(value, part) {
    let u: URL;
    try {
      u = new URL(toText(value));
    } catch {
      throw new Error(`urlsplit: not a URL: ${JSON.stringify(toText(value))}`);
    }
    const parts: Record<string, unknown> = {
      scheme: u.protocol.replace(/:$/, ''),
      netloc: u.host,
      path: u.pathname,
      query: u.search.replace(/^\?/, ''),
      fragment: u.hash.replace(/^#/, ''),
      hostname: u.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: u.port ? Number(u.port) : null,
      username: u.username || null,
      password: u.password || null,
    };
    if (part === undefined || part === null) return parts;
    if (!(toText(part) in parts)) throw new Error(`urlsplit: unknown part ${JSON.stringify(part)} (one of ${Object.keys(parts).join(', ')})`);
    return parts[toText(part)];
  },
  to_json(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const indent = positional[0] ?? keywords.indent;
    const sortKeys = truthy(keywords.sort_keys ?? false);
    return pythonJson(value, sortKeys, indent === undefined || indent === null ? undefined : Number(indent));
  },
  tojson: (value) => pythonJson(value, true),
  to_nice_json(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const indent = Number(positional[0] ?? keywords.indent ?? 4);
    const sortKeys = truthy(keywords.sort_keys ?? true);
    return pythonJson(value, sortKeys, indent);
  },
  from_json: (value) => parseJsonText(toText(value), 'from_json'),
  // Ansible: yaml.dump(a, Dumper=AnsibleDumper, allow_unicode=True, default_flow_style=None, **kw); to_yaml
  // ignores positional arguments.
  to_yaml(value, ...args) {
    return pyYamlDump(value, dumpOptions(splitArgs(args).keywords, null, undefined));
  },
  // Ansible: yaml.dump(a, Dumper=AnsibleDumper, indent=indent, allow_unicode=True, default_flow_style=False, **kw)
  to_nice_yaml(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    return pyYamlDump(value, dumpOptions(keywords, false, positional[0] ?? keywords.indent ?? 4));
  },
  from_yaml: (value) => (typeof value === 'string' ? parseYamlText(value, 'from_yaml', { file: false, pyyaml: true }) : value),
  from_yaml_all: (value) => parseYamlDocuments(toText(value), 'from_yaml_all', { file: false, pyyaml: true }),
  select(value, ...args) { return selectBy(this, value, args, false, true, 'select'); },
  reject(value, ...args) { return selectBy(this, value, args, false, false, 'reject'); },
  selectattr(value, ...args) { return selectBy(this, value, args, true, true, 'selectattr'); },
  rejectattr(value, ...args) { return selectBy(this, value, args, true, false, 'rejectattr'); },
  map(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const items = seq(value, 'map');
    if (keywords.attribute !== undefined) {
      return items.map((item) => {
        const v = attribute(item, keywords.attribute);
        if (v instanceof Undefined) {
          if ('default' in keywords) return keywords.default;
          throw new UndefinedVariableError(String(keywords.attribute), `map: an item has no attribute '${String(keywords.attribute)}'`);
        }
        return v;
      });
    }
    const [name, ...filterArgs] = positional;
    if (name === undefined) return items;
    const filter = this.env.getFilter(String(name));
    const rest = Object.keys(keywords).length > 0 ? [...filterArgs, { ...keywords, __keywords: true }] : filterArgs;
    return items.map((item) => filter.call(this, item, ...rest));
  },
  list: (value) => [...seq(value, 'list')],
  unique: (value) => uniqueList(seq(value, 'unique')),
  flatten(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const levels = positional[0] ?? keywords.levels ?? null;
    return flatten(seq(value, 'flatten'), levels === null ? null : Number(levels), truthy(keywords.skip_nulls ?? true));
  },
  dict2items(value, ...args) {
    const { keywords } = splitArgs(args);
    const k = String(keywords.key_name ?? 'key');
    const v = String(keywords.value_name ?? 'value');
    return pyEntries(mapping(value, 'dict2items')).map(([key, val]) => ({ [k]: key, [v]: val }));
  },
  items2dict(value, ...args) {
    const { keywords } = splitArgs(args);
    const k = String(keywords.key_name ?? 'key');
    const v = String(keywords.value_name ?? 'value');
    return Object.fromEntries(seq(value, 'items2dict').map((item) => {
      const m = mapping(item, 'items2dict');
      if (!(k in m) || !(v in m)) throw new Error(`items2dict: each item needs '${k}' and '${v}' keys, got ${JSON.stringify(m)}`);
      return [toText(m[k]), m[v]];
    }));
  },
  combine(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const dicts = [value, ...positional].flatMap((d) => (Array.isArray(d) ? d : [d])).map((d) => mapping(d, 'combine'));
    const recursive = truthy(keywords.recursive ?? false);
    const listMerge = String(keywords.list_merge ?? 'replace');
    return dicts.reduce((acc, d) => combineTwo(acc, d, recursive, listMerge), {});
  },
  regex_replace(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const pattern = String(positional[0] ?? keywords.pattern ?? '');
    const replacement = toText(positional[1] ?? keywords.replacement ?? '');
    const flags = (truthy(positional[2] ?? keywords.ignorecase ?? false) ? 'i' : '') + (truthy(positional[3] ?? keywords.multiline ?? false) ? 'm' : '');
    const count = Number(keywords.count ?? 0);
    const re = pythonRegex(pattern, `${flags}g`);
    const js = pythonReplacement(replacement);
    if (!count) return toText(value).replace(re, js);
    let n = 0;
    return toText(value).replace(re, (...m) => (n++ < count ? m[0].replace(pythonRegex(pattern, flags), js) : m[0]));
  },
  regex_search(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const [pattern, ...groups] = positional;
    const m = pythonRegex(String(pattern), regexFlags(keywords)).exec(toText(value));
    if (!m) return groups.length > 0 ? null : null;
    if (groups.length === 0) return m[0];
    return groups.map((g) => {
      const ref = /^\\(\d+)$/.exec(String(g)) ?? /^\\g<(\d+)>$/.exec(String(g));
      if (ref) return m[Number(ref[1])] ?? null;
      const named = /^\\g<(\w+)>$/.exec(String(g));
      if (named) return m.groups?.[named[1]] ?? null;
      throw new Error(`regex_search: unknown group reference ${JSON.stringify(g)} (use '\\\\1' or '\\\\g<name>')`);
    });
  },
  regex_findall(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const re = pythonRegex(String(positional[0] ?? keywords.pattern), `${regexFlags(keywords)}g`);
    return [...toText(value).matchAll(re)].map((m) => (m.length === 1 ? m[0] : m.length === 2 ? m[1] ?? '' : m.slice(1).map((g) => g ?? '')));
  },
  regex_escape: (value) => toText(value).replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&'),
  join(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const sep = toText(positional[0] ?? keywords.d ?? '');
    let items = seq(value, 'join');
    const attr = positional[1] ?? keywords.attribute;
    if (attr !== undefined) items = items.map((item) => attribute(item, attr));
    return items.map(toText).join(sep);
  },
  length: (value) => lengthOf(value),
  count: (value) => lengthOf(value),
  first: (value) => {
    const items = seq(value, 'first');
    return items.length ? items[0] : new Undefined('first()', 'first: the list is empty');
  },
  last: (value) => {
    const items = seq(value, 'last');
    return items.length ? items[items.length - 1] : new Undefined('last()', 'last: the list is empty');
  },
  min: (value, ...args) => minMax(value, args, 'min'),
  max: (value, ...args) => minMax(value, args, 'max'),
  sum(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const attr = positional[0] ?? keywords.attribute;
    const start = positional[1] ?? keywords.start ?? 0;
    let float = isFloat(start);
    const total = seq(value, 'sum').reduce((acc: any, item) => {
      const v = attr === undefined ? item : attribute(item, attr);
      if (Array.isArray(acc)) return [...acc, ...(v as unknown[])];
      float ||= isFloat(v);
      return plain(acc) as number + (plain(v) as number);
    }, start);
    return float && typeof total === 'number' ? pyFloat(total) : total;
  },
  abs: (value) => (isFloat(value) ? pyFloat(Math.abs(Number(value))) : Math.abs(Number(value))),
  // Jinja's round: 'common' is Python's round() (halves to even; an int stays an int), ceil and floor divide
  // back and so always yield a float.
  round(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const precision = Number(plain(positional[0] ?? keywords.precision ?? 0));
    const method = String(positional[1] ?? keywords.method ?? 'common');
    if (!['common', 'ceil', 'floor'].includes(method)) throw new Error('method must be common, ceil or floor');
    const x = Number(plain(value));
    if (method === 'common') {
      const r = pyRound(x, precision);
      return isFloat(value) || typeof value !== 'number' ? pyFloat(r) : r;
    }
    const f = 10 ** precision;
    return pyFloat((method === 'ceil' ? Math.ceil(x * f) : Math.floor(x * f)) / f);
  },
  sort(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const reverse = truthy(positional[0] ?? keywords.reverse ?? false);
    const caseSensitive = truthy(positional[1] ?? keywords.case_sensitive ?? false);
    const attr = positional[2] ?? keywords.attribute;
    const key = (x: unknown) => sortKey(attr === undefined ? x : attribute(x, attr), caseSensitive);
    const sorted = [...seq(value, 'sort')].sort((a, b) => compareValues(key(a), key(b)));
    return reverse ? sorted.reverse() : sorted;
  },
  dictsort(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const byValue = String(positional[1] ?? keywords.by ?? 'key') === 'value';
    const reverse = truthy(positional[2] ?? keywords.reverse ?? false);
    const entries = pyEntries(mapping(value, 'dictsort')).sort((a, b) => compareValues(sortKey(byValue ? a[1] : a[0], false), sortKey(byValue ? b[1] : b[0], false)));
    return (reverse ? entries.reverse() : entries).map(tuple);
  },
  reverse: (value) => (typeof value === 'string' ? [...value].reverse().join('') : [...seq(value, 'reverse')].reverse()),
  zip(value, ...others) {
    const lists = [value, ...others].map((l) => seq(l, 'zip'));
    const n = Math.min(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => l[i])));
  },
  zip_longest(value, ...args) {
    const { positional, keywords } = splitArgs(args);
    const lists = [value, ...positional].map((l) => seq(l, 'zip_longest'));
    const n = Math.max(...lists.map((l) => l.length));
    return Array.from({ length: n }, (_, i) => tuple(lists.map((l) => (i < l.length ? l[i] : keywords.fillvalue ?? null))));
  },
  product(value, ...others) {
    return [value, ...others].map((l) => seq(l, 'product')).reduce<unknown[][]>(
      (acc, list) => acc.flatMap((prefix) => list.map((item) => [...prefix, item])), [[]]).map(tuple);
  },
  difference: (a, b) => setOp(a, b, 'difference', (x, y) => x.filter((i) => !has(y, i))),
  intersect: (a, b) => setOp(a, b, 'intersect', (x, y) => x.filter((i) => has(y, i))),
  union: (a, b) => setOp(a, b, 'union', (x, y) => [...x, ...y]),
  symmetric_difference: (a, b) => setOp(a, b, 'symmetric_difference', (x, y) => [...x.filter((i) => !has(y, i)), ...y.filter((i) => !has(x, i))]),
  // No dict, keys or values filter: Ansible has none (dict() is a global function; .keys() a method), and a
  // playbook using them must fail here as it fails there.
  items: (value) => (isMapping(value) ? pyEntries(value).map(tuple) : []),
  attr: (value, name) => attribute(value, name),
  extract(key, container, morekeys) {
    let v = attribute(container, key);
    for (const k of morekeys === undefined ? [] : Array.isArray(morekeys) ? morekeys : [morekeys]) v = attribute(v, k);
    return v;
  },
  subelements(value, subkey, ...args) {
    const { positional, keywords } = splitArgs(args);
    const skipMissing = truthy(positional[0] ?? keywords.skip_missing ?? false);
    return seq(value, 'subelements').flatMap((item) => {
      const sub = attribute(item, subkey);
      if (sub instanceof Undefined) {
        if (skipMissing) return [];
        throw new Error(`subelements: an item has no key '${String(subkey)}'`);
      }
      return seq(sub, 'subelements').map((s) => [item, s]);
    });
  },
  groupby(value, attr) {
    const groups: Array<[unknown, unknown[]]> = [];
    for (const item of seq(value, 'groupby')) {
      const key = attribute(item, attr);
      const group = groups.find(([k]) => deepEqual(k, key));
      if (group) group[1].push(item);
      else groups.push([key, [item]]);
    }
    return groups.sort((a, b) => compareValues(a[0], b[0]));
  },
  ternary(value, whenTrue, whenFalse, whenNone) {
    if (value === null && whenNone !== undefined) return whenNone;
    return truthy(value) ? whenTrue : whenFalse;
  },
  hash: (value, algorithm = 'sha1') => hashOf(String(algorithm), value),
  checksum: (value) => hashOf('sha1', value),
  sha1: (value) => hashOf('sha1', value),
  md5: (value) => hashOf('md5', value),
  basename: (value) => path.posix.basename(toText(value)),
  dirname: (value) => path.posix.dirname(toText(value)),
  // os.path.relpath: from start (default the current folder); both made absolute against the current folder first.
  relpath: (value, start = '.') => path.posix.relative(path.posix.resolve(toText(start)), path.posix.resolve(toText(value))) || '.',
  splitext: (value) => { const s = toText(value); const ext = path.posix.extname(s); return [s.slice(0, s.length - ext.length), ext]; },
  quote: (value) => shellQuote(value),
  type_debug: (value) => typeName(value),
  ipaddr: (value, query) => ipaddrFilter(value, query as string | number | undefined),
  ipv4: (value, query) => ipaddrFilter(value, query as string | number | undefined, 4),
  ipv6: (value, query) => ipaddrFilter(value, query as string | number | undefined, 6),
  ipsubnet: (value, query, index) => ipsubnetFilter(value, query as string | number | undefined, index as number | undefined),
  ipmath: (value, amount) => ipmathFilter(value, amount),
};

FILTERS.d = FILTERS.default;
FILTERS.e = FILTERS.escape;

/** Keyword names of filters that take plain positional parameters (`int(base=16)`, `ternary(true_val=...)`). */
export const FILTER_PARAMETERS: Record<string, string[]> = {
  default: ['default_value', 'boolean'],
  d: ['default_value', 'boolean'],
  mandatory: ['msg'],
  int: ['default', 'base'],
  float: ['default'],
  replace: ['old', 'new', 'count'],
  split: ['sep', 'maxsplit'],
  trim: ['chars'],
  ternary: ['true_val', 'false_val', 'none_val'],
  hash: ['hashtype'],
  ipaddr: ['query'],
  ipv4: ['query'],
  ipv6: ['query'],
  ipsubnet: ['query', 'index'],
  ipmath: ['amount'],
  extract: ['container', 'morekeys'],
  attr: ['name'],
};

/** Turn trailing keyword arguments into positional ones for filters listed in FILTER_PARAMETERS. */
export function positionalArgs(name: string, args: unknown[]): unknown[] {
  const names = FILTER_PARAMETERS[name];
  if (!names || args.length < 2) return args;
  const { positional, keywords } = splitArgs(args.slice(1));
  if (Object.keys(keywords).length === 0) return args;
  const out = [args[0], ...positional];
  names.forEach((param, i) => {
    if (Object.prototype.hasOwnProperty.call(keywords, param)) {
      while (out.length < i + 1) out.push(undefined);
      out[i + 1] = keywords[param];
    }
  });
  const unknown = Object.keys(keywords).filter((k) => !names.includes(k));
  if (unknown.length) throw new Error(`unexpected keyword argument '${unknown[0]}' (accepted: ${names.join(', ')})`);
  return out;
}

/** Collection-qualified names (`ansible.builtin.to_json`, `ansible.utils.ipaddr`) resolve to the same filters. */
export function filterNamed(name: string): FilterFn | undefined {
  if (Object.prototype.hasOwnProperty.call(FILTERS, name)) return FILTERS[name];
  const short = /^(?:ansible\.(?:builtin|utils|netcommon)|community\.general)\.(\w+)$/.exec(name)?.[1];
  return short && Object.prototype.hasOwnProperty.call(FILTERS, short) ? FILTERS[short] : undefined;
}
