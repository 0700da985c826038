// Text formatting shared by the plain and pretty reporters: Ansible's banners, result lines, diffs and recap.
import { createTwoFilesPatch } from 'diff';
import type { HostStats, RunEvent } from './events.js';
import { toText } from '../template/values.js';
import type { FileDiff } from '../modules/types.js';
import { frozenData } from '../frozen.js';

export type TaskResultEvent = Extract<RunEvent, { type: 'task_result' }>;
export type TaskStartEvent = Extract<RunEvent, { type: 'task_start' }>;
export type RecapEvent = Extract<RunEvent, { type: 'recap' }>;

const CODES = {
  green: 32,
  yellow: 33,
  red: 31,
  brightRed: 91,
  cyan: 36,
  magenta: 95,
  blue: 34,
  gray: 90,
  bold: 1,
} as const;
export type Color = keyof typeof CODES;

export type Paint = (color: Color, text: string) => string;

export function painter(enabled: boolean): Paint {
  return enabled ? (color, text) => `\x1b[${CODES[color]}m${text}\x1b[0m` : (_color, text) => text;
}

/** Ansible's banner: the title padded with stars to the terminal width. */
export function banner(title: string, width = 80): string {
  const stars = Math.max(3, width - 1 - title.length);
  return `${title} ${'*'.repeat(stars)}`;
}

export function taskTitle(event: { task: string; role?: string }): string {
  return event.role && !event.task.startsWith(`${event.role} : `) ? `${event.role} : ${event.task}` : event.task;
}

export function taskBanner(event: TaskStartEvent, width = 80): string {
  return banner(`${event.handler ? 'RUNNING HANDLER' : 'TASK'} [${taskTitle(event)}]`, width);
}

/** Deep copy that JSON.stringify cannot choke on: cycles, bigint, errors, buffers, maps, sets. */
export function toJsonSafe(value: unknown, ancestors: Set<object> = new Set()): unknown {
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'function':
    case 'symbol':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object':
      break;
    default:
      return value;
  }
  if (value === null) return null;
  if (ancestors.has(value)) return '[Circular]';
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? String(value) : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  ancestors.add(value);
  try {
    if (Array.isArray(value) || value instanceof Set) {
      return [...value].map((v) => {
        const safe = toJsonSafe(v, ancestors);
        return safe === undefined ? null : safe;
      });
    }
    const entries: [string, unknown][] =
      value instanceof Map ? [...value].map(([k, v]) => [String(k), v]) : Object.entries(value);
    if (value instanceof Error) entries.unshift(['name', value.name], ['message', value.message]);
    const out: Record<string, unknown> = {};
    for (const [k, v] of entries) {
      const safe = toJsonSafe(v, ancestors);
      if (safe !== undefined) out[k] = safe;
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

/** JSON.stringify's replacer doing what toJsonSafe does, without first copying the whole value. */
function jsonSafeReplacer(this: Record<string, unknown>, key: string, value: unknown): unknown {
  const raw = this[key]; // before toJSON: Buffers and Dates arrive here converted already
  if (raw instanceof Uint8Array) return Buffer.from(raw).toString('utf8');
  if (raw instanceof Date) return Number.isNaN(raw.getTime()) ? String(raw) : raw.toISOString();
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'object':
      if (value instanceof Map) return Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
      if (value instanceof Set) return [...value];
      if (value instanceof Error) return Object.assign({ name: value.name, message: value.message }, value);
      return value;
    default:
      return value;
  }
}

/**
 * Whether JSON.stringify alone writes `value` as the replacer would: only strings, finite numbers, booleans, null
 * and undefined in plain objects and arrays. A replacer takes V8 off its fast path (a call per value); checking
 * first and stringifying without one was about a third less time for a 256-node run's 12 MB of events. Deeper
 * than MAX_PLAIN_DEPTH (or a cycle) is left to the replacer.
 */
function jsonPlain(value: unknown, depth: number): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
    case 'undefined':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      if (depth > MAX_PLAIN_DEPTH) return false;
      if (frozenJson.has(value)) return true;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!jsonPlain(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const k in value) if (!jsonPlain((value as Record<string, unknown>)[k], depth + 1)) return false;
      return true;
    }
    default:
      return false;
  }
}
const MAX_PLAIN_DEPTH = 64;

/**
 * The JSON of deeply frozen plain values, written once: nothing in them can change. The probes a cluster's nodes
 * share (240 per node at 256 nodes, 5 of a run's 12 MB of events) were written again into every node's result.
 */
const frozenJson = new WeakMap<object, string>();
/** How deep an event's mappings are taken apart to find such values (event, result, a field of the result). */
const SPLICE_DEPTH = 3;

/**
 * Deeply frozen data, whose JSON can be kept. Its values are JSON already: splicedJson is given only what jsonPlain
 * accepted.
 */
function frozenPlain(value: object): boolean {
  return frozenJson.has(value) || frozenData(value, frozenPlain);
}

/** JSON.stringify(value) for a value jsonPlain accepted, with the text of deeply frozen parts written once. */
function splicedJson(value: unknown, depth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Object.isFrozen(value)) {
    let text = frozenJson.get(value);
    if (text === undefined && frozenPlain(value)) frozenJson.set(value, (text = JSON.stringify(value)));
    if (text !== undefined) return text;
  }
  // Lists are written whole: taken apart, a node's 240 route lines cost more than any sharing in them saves.
  if (depth >= SPLICE_DEPTH || Array.isArray(value)) return JSON.stringify(value);
  const entries: string[] = [];
  for (const k of Object.keys(value)) {
    const v = (value as Record<string, unknown>)[k];
    if (v !== undefined) entries.push(`${JSON.stringify(k)}:${splicedJson(v, depth + 1)}`);
  }
  return `{${entries.join(',')}}`;
}

export function safeStringify(value: unknown, indent?: number): string {
  try {
    if (jsonPlain(value, 0)) return (indent === undefined ? splicedJson(value, 0) : JSON.stringify(value, null, indent)) ?? 'null';
    return JSON.stringify(value, jsonSafeReplacer, indent) ?? 'null';
  } catch {
    // a cycle (or a throwing toJSON): the copying path replaces cycles with '[Circular]'
    return JSON.stringify(toJsonSafe(value), null, indent) ?? 'null';
  }
}

/** Longest loop label shown whole; a longer one (a whole manifest as the item) keeps its start and says how much is cut. */
const LABEL_MAX = 160;

/** A loop item as Ansible's callback shows it, `(item=...)`: Python's str() of the item or of loop_control.label. */
export function itemLabel(item: unknown): string {
  let text: string;
  try {
    text = toText(item);
  } catch {
    text = safeStringify(item);
  }
  if (text.length <= LABEL_MAX) return text;
  return `${text.slice(0, LABEL_MAX - 20)}... (${text.length - (LABEL_MAX - 20)} more characters)`;
}

function isLoopResults(results: unknown): results is Record<string, unknown>[] {
  return Array.isArray(results) && results.length > 0 && results.every((r) => r !== null && typeof r === 'object' && typeof (r as Record<string, unknown>).ansible_loop_var === 'string');
}

/** What Ansible's callback keeps of a debug result that has msg (its _clean_results): the message alone. */
const DEBUG_MSG_KEYS = new Set(['msg', 'exception', 'warnings', 'deprecations']);
/** ...and what it hides of a debug `var:` result: the rest is the variable. */
const DEBUG_HIDDEN = new Set(['changed', 'failed', 'skipped', 'invocation', 'skip_reason', 'item', 'ansible_loop_var']);

/** The result as Ansible shows it after `=>`: internal keys dropped, diffs shown separately; debug shows what it printed. */
export function dumpResult(result: Record<string, unknown>, verbosity: number): string {
  const shown: Record<string, unknown> = {};
  // Only debug results ask to be shown always (runner/modules/debug.ts).
  const debug = result?._ansible_verbose_always === true;
  const keep = (k: string) => !debug || ('msg' in result ? DEBUG_MSG_KEYS.has(k) : !DEBUG_HIDDEN.has(k));
  for (const [k, v] of Object.entries(result ?? {})) {
    if (!keep(k)) continue;
    if (k.startsWith('_ansible_') || k === 'diff') continue;
    if (verbosity < 3 && (k === 'invocation' || k === 'exception')) continue;
    shown[k] = v;
  }
  // The original counts as an ancestor, so a result that contains itself prints [Circular] at once.
  return JSON.stringify(toJsonSafe(shown, new Set([result])), null, verbosity >= 3 ? 4 : undefined) ?? 'null';
}

export function isFileDiffList(value: unknown): value is FileDiff[] {
  return (
    Array.isArray(value) &&
    value.every((d) => d !== null && typeof d === 'object' && typeof d.before === 'string' && typeof d.after === 'string')
  );
}

/** Unified diffs with `--- before` / `+++ after` headers; empty when nothing differs. */
export function diffLines(diffs: FileDiff[], paint: Paint): string[] {
  const lines: string[] = [];
  for (const d of diffs) {
    if (d.before === d.after) continue;
    // One header given names the file on both sides (a file that is being created or read back).
    const beforeHeader = d.beforeHeader ?? d.afterHeader;
    const afterHeader = d.afterHeader ?? d.beforeHeader;
    const oldName = beforeHeader ? `before: ${beforeHeader}` : 'before';
    const newName = afterHeader ? `after: ${afterHeader}` : 'after';
    const patch = createTwoFilesPatch(oldName, newName, d.before, d.after);
    for (const line of patch.split('\n')) {
      if (line === '' || /^=+$/.test(line)) continue;
      if (line.startsWith('---') || line.startsWith('+++')) lines.push(paint('bold', line));
      else if (line.startsWith('+')) lines.push(paint('green', line));
      else if (line.startsWith('-')) lines.push(paint('red', line));
      else if (line.startsWith('@@')) lines.push(paint('cyan', line));
      else lines.push(line);
    }
  }
  return lines;
}

/** The lines Ansible's default callback prints for one host's result (diff first, then the status line). */
export function resultLines(
  event: TaskResultEvent,
  opts: { verbosity: number; diff: boolean; paint: Paint },
): string[] {
  const { verbosity, paint } = opts;
  const lines: string[] = [];
  const result = event.result ?? {};
  if (opts.diff && isFileDiffList(result.diff) && (event.status === 'changed' || event.status === 'ok')) {
    lines.push(...diffLines(result.diff, paint));
  }
  const who = event.delegatedTo ? `[${event.host} -> ${event.delegatedTo}]` : `[${event.host}]`;
  const hasItem = event.item !== undefined;
  const item = hasItem ? `(item=${itemLabel(event.item)})` : '';
  // Ansible's callback: -v or _ansible_verbose_always dumps the result, unless _ansible_verbose_override (facts).
  const verbose = (verbosity > 0 || result._ansible_verbose_always === true) && result._ansible_verbose_override !== true;
  const tail = verbose ? ` => ${dumpResult(result, verbosity)}` : '';
  const unreachable = event.status === 'unreachable' || (event.status === 'ignored' && result.unreachable === true);

  // A loop prints a line per item, labelled as loop_control.label says (Ansible's `=> (item=...)`).
  // Only results a loop made count (each carries ansible_loop_var): a module's own list of results (k8s applying
  // several objects) is one task result, not loop items.
  if (isLoopResults(result.results) && !hasItem && (event.status === 'ok' || event.status === 'changed' || event.status === 'skipped')) {
    for (const r of result.results) {
      const st = r.skipped ? 'skipping' : r.changed ? 'changed' : 'ok';
      const color = st === 'ok' ? 'green' : st === 'changed' ? 'yellow' : 'cyan';
      const label = r._label !== undefined ? r._label : r[String(r.ansible_loop_var)];
      const itemVerbose = (verbose || r._ansible_verbose_always === true) && r._ansible_verbose_override !== true;
      const shown = Object.fromEntries(Object.entries(r).filter(([k]) => !k.startsWith('_') || k.startsWith('_ansible_')));
      const body = itemVerbose ? ` => ${dumpResult(shown, verbosity)}` : '';
      lines.push(paint(color, `${st}: ${who} => (item=${itemLabel(label)})${body}`));
    }
    return lines;
  }
  switch (event.status) {
    case 'ok':
    case 'changed':
    case 'skipped': {
      const word = event.status === 'skipped' ? 'skipping' : event.status;
      const color = event.status === 'ok' ? 'green' : event.status === 'changed' ? 'yellow' : 'cyan';
      const itemPart = hasItem ? ` => ${item}` : '';
      lines.push(paint(color, `${word}: ${who}${itemPart}${tail}`));
      break;
    }
    case 'failed':
    case 'rescued':
    case 'ignored':
    case 'unreachable': {
      const kind = unreachable ? 'UNREACHABLE!' : 'FAILED!';
      const dump = dumpResult(result, verbosity);
      const line = hasItem ? `failed: ${who} ${item} => ${dump}` : `fatal: ${who}: ${kind} => ${dump}`;
      lines.push(paint(unreachable ? 'brightRed' : 'red', line));
      if (event.status === 'ignored') lines.push(paint('cyan', '...ignoring'));
      break;
    }
  }
  return lines;
}

export function warningLine(event: { message: string; host?: string }, paint: Paint): string {
  return paint('magenta', `[WARNING]: ${event.host ? `[${event.host}] ` : ''}${event.message}`);
}

export function logLine(event: { message: string; host?: string }, paint: Paint): string {
  return paint('blue', event.host ? `<${event.host}> ${event.message}` : event.message);
}

export function formatDuration(ms: number): string {
  return `${(Math.max(0, ms) / 1000).toFixed(2)}s`;
}

const RECAP_FIELDS: [keyof HostStats, Color][] = [
  ['ok', 'green'],
  ['changed', 'yellow'],
  ['unreachable', 'brightRed'],
  ['failed', 'red'],
  ['skipped', 'cyan'],
  ['rescued', 'green'],
  ['ignored', 'magenta'],
];

/** PLAY RECAP block, problems, transport (at -v) and the total time, aligned like Ansible. */
export function recapLines(event: RecapEvent, opts: { verbosity: number; paint: Paint; width?: number }): string[] {
  const { paint } = opts;
  const lines: string[] = [];
  for (const problem of event.problems ?? []) lines.push(paint('red', `ERROR! ${problem}`));
  if (lines.length) lines.push('');
  lines.push(banner('PLAY RECAP', opts.width));
  const hosts = Object.keys(event.stats ?? {});
  const hostWidth = Math.max(26, ...hosts.map((h) => h.length));
  for (const host of hosts) {
    const s = event.stats[host];
    const hostColor: Color | undefined =
      s.failed > 0 || s.unreachable > 0 ? 'red' : s.changed > 0 ? 'yellow' : s.ok > 0 ? 'green' : undefined;
    const name = host.padEnd(hostWidth);
    const fields = RECAP_FIELDS.map(([key, color]) => {
      const text = `${key}=${String(s[key] ?? 0).padEnd(4)}`;
      return (s[key] ?? 0) > 0 ? paint(color, text) : text;
    });
    lines.push(`${hostColor ? paint(hostColor, name) : name} : ${fields.join(' ')}`.trimEnd());
  }
  lines.push('');
  if (opts.verbosity > 0 && event.transport && Object.keys(event.transport).length) {
    lines.push(`Transport: ${safeStringify(event.transport)}`);
  }
  lines.push(`Total: ${formatDuration(event.durationMs)}`);
  return lines;
}

const broken = new WeakSet<NodeJS.WritableStream>();
const guarded = new WeakSet<NodeJS.WritableStream>();

/**
 * Writes to an output stream that may go away (`meshplay run -o ndjson | head`): a closed pipe stops the
 * output, not the run, which still finishes its changes and returns its exit code.
 */
export function writeOut(stream: NodeJS.WritableStream, text: string, done?: () => void): void {
  if (!guarded.has(stream)) {
    guarded.add(stream);
    stream.on('error', (e: NodeJS.ErrnoException) => {
      broken.add(stream);
      if (e.code !== 'EPIPE' && stream !== process.stderr) process.stderr.write(`meshplay: output stopped: ${e.message}\n`);
    });
  }
  if (broken.has(stream)) {
    done?.();
    return;
  }
  if (done) stream.write(text, () => done());
  else stream.write(text);
}
