// YAML 1.1 (as Ansible reads it: yes/no are booleans) with positions: every value of a loaded file can be traced back to file:line:column,
// so validation errors point at the exact place an operator has to fix.
//
// This is the one place meshplay reads YAML that operators write (inventories, playbooks, roles, vars files, -e @file).
// Nothing in a file may crash the tool or exhaust the machine, so before a value is built:
// - the file is read through a size cap (a device or a pipe is read no further than the cap), folders and
//   unreadable files are problems, not exceptions;
// - the bytes must be UTF-8 (the first bad byte is reported with its line and column);
// - nesting depth is measured on the parser's token tree, which is built without recursion, before the
//   (recursive) composer and every later tree walk see it;
// - aliases must name an anchor defined before them and outside themselves, and the values they expand to are
//   counted, so an alias bomb ("billion laughs") is refused where its first excess alias stands;
// - every duplicate key is reported, naming both places.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import { isAbsolute, relative, resolve } from 'node:path';
import { Composer, LineCounter, Parser, Scalar, isAlias, isMap, isSeq, isPair, isScalar, isCollection, Document, type Node, type YAMLMap, type ParseOptions, type DocumentOptions, type SchemaOptions, type ScalarTag, type Tags } from 'yaml';
import { Problem } from '../errors.js';
import { fullSpeedAhead } from '../startup.js';
import { openVaultFile, openVaultTags, vaultTag } from '../vault/yaml.js';
import { addVaultVars } from '../vault/keyring.js';
import { markFloat, markHoldsFloats } from '../template/float.js';
import { markIntKey } from '../template/keys.js';

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export type PathSegment = string | number;

/** What one YAML file may cost. Generous for anything a person writes; small enough to fail fast on hostile input. */
export const YAML_LIMITS = {
  /** Bytes per file (a 300,000-node inventory is about 25 MB). */
  maxBytes: 32 * 1024 * 1024,
  /** Nested mappings/sequences (Kubernetes manifests nest about 15 deep). */
  maxDepth: 200,
  /** Values that aliases may add to a document once expanded (a normal `<<: *defaults` adds a handful per use). */
  maxAliasExpansion: 1_000_000,
  /** The yaml package's own guard (alias uses x aliases inside the anchor), kept as a second line of defence. */
  maxAliasCount: 100_000,
};

/** Files larger than this are parsed with V8's optimizing compiler on (see runner/startup.ts). */
const BIG_INPUT = 256 * 1024;

/**
 * YAML 1.1 as PyYAML (Ansible's parser) reads it, where the yaml package's 1.1 schema reads more:
 * - booleans: the package also takes y/Y/n/N, PyYAML keeps them strings (`y: 1` is the key 'y');
 * - floats: PyYAML's have a dot, an exponent only with a sign (`1.0e+3`, `.5e-2`) and a sign only before a
 *   digit (`-1.5`), so `1e3`, `1.0e3`, `1E+3`, `-.5` and `.` are strings;
 * - decimal ints: no leading zero (`09` is a string; `017` stays octal 15).
 */
export function pyYamlTags(tags: Tags): Tags {
  const out: Tags = [];
  for (const t of tags) {
    const scalar = typeof t === 'object' && 'test' in t && t.test instanceof RegExp ? (t as ScalarTag) : undefined;
    if (!scalar) out.push(t);
    else if (scalar.tag === 'tag:yaml.org,2002:bool') out.push({ ...scalar, test: new RegExp(scalar.test!.source.replace(/(?:Y\|y|N\|n)\|/, '')) } as ScalarTag);
    else if (scalar.tag === 'tag:yaml.org,2002:float' && scalar.format === 'EXP') continue; // PYYAML_FLOAT reads exponents
    else if (scalar.tag === 'tag:yaml.org,2002:float' && !scalar.format && !/inf/.test(scalar.test!.source)) {
      out.push({ ...scalar, test: PYYAML_FLOAT, resolve: resolveFloat } as ScalarTag);
    } else if (scalar.tag === 'tag:yaml.org,2002:int' && !scalar.format) out.push({ ...scalar, test: /^[-+]?(?:0|[1-9][0-9_]*)$/ } as ScalarTag);
    else out.push(t);
  }
  return out;
}

/**
 * Scalars holding a whole float (5.0, 1.0e+3, 1.): their value is the number, as any other; the file's loader
 * marks where they land in the loaded value so templates read them as Python floats (template/float.ts).
 */
const wholeFloatScalars = new WeakSet<Scalar>();
let wholeFloatsResolved = 0;

function resolveFloat(text: string): number | Scalar {
  const n = parseFloat(text.replace(/_/g, ''));
  if (!Number.isInteger(n)) return n;
  const scalar = new Scalar(n);
  wholeFloatScalars.add(scalar);
  wholeFloatsResolved++;
  return scalar;
}

/** A mapping key Python reads as an int (`1:`, `0x1F:`; not `1.0:`, `'1':`). */
function isIntKey(key: unknown): boolean {
  return isScalar(key) && typeof key.value === 'number' && Number.isInteger(key.value) && !wholeFloatScalars.has(key);
}

/**
 * Marks the whole floats (template/float.ts) and int keys (template/keys.ts) of a loaded value in their side
 * records, walking the document beside it. Runs only for a file that holds one. Returns whether `value` holds
 * a whole float at any depth.
 */
function markYamlTypes(doc: Document, node: unknown, value: unknown, seen: Map<unknown, boolean>): boolean {
  const n = isAlias(node) ? node.resolve(doc) : node;
  if (value === null || typeof value !== 'object' || !(isMap(n) || isSeq(n))) return false;
  const known = seen.get(n);
  if (known !== undefined) return known;
  seen.set(n, false);
  let holds = false;
  const entry = (key: string, child: unknown, v: unknown): void => {
    const c = isAlias(child) ? child.resolve(doc) : child;
    const whole = isScalar(c) && wholeFloatScalars.has(c) && typeof v === 'number';
    markFloat(value, key, whole);
    if (whole || markYamlTypes(doc, c, v, seen)) holds = true;
  };
  if (isMap(n) && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const last = new Map<string, { key: unknown; value: unknown }>(); // after a merge (<<) a key may repeat: the last one is the value
    for (const pair of n.items) if (isScalar(pair.key)) last.set(pair.key.value === null ? '' : String(pair.key.value), pair);
    for (const [key, pair] of last) {
      if (!Object.prototype.hasOwnProperty.call(record, key)) continue;
      if (isIntKey(pair.key)) markIntKey(record, key);
      entry(key, pair.value, record[key]);
    }
  } else if (isSeq(n) && Array.isArray(value)) {
    n.items.forEach((item, i) => entry(String(i), item, value[i]));
  }
  if (holds) markHoldsFloats(value);
  seen.set(n, holds);
  return holds;
}

/** PyYAML's float resolver, less its inf/nan and sexagesimal forms (the package's tags for those agree with it). */
const PYYAML_FLOAT = /^(?:[-+]?[0-9][0-9_]*\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?)$/;

/** The options every file meshplay reads as YAML is parsed with (PyYAML's 1.1, plus !vault). */
export const ANSIBLE_YAML: ParseOptions & DocumentOptions & SchemaOptions = { version: '1.1', customTags: (tags) => [...pyYamlTags(tags), vaultTag] };

const PARSE_OPTIONS: ParseOptions & DocumentOptions & SchemaOptions = { uniqueKeys: false, merge: true, ...ANSIBLE_YAML };

export class SourceFile {
  readonly file: string;
  readonly doc: Document;
  readonly value: unknown;
  /** Problems reading or parsing the file, already as positioned problems. Empty when the file loaded. */
  readonly problems: Problem[];
  /** The file could not be read at all (missing, a folder, unreadable, too big): `problems` says why. */
  readonly unreadable: boolean;
  /** The whole file was encrypted by ansible-vault (positions are then in its decrypted text). */
  readonly vaultEncrypted: boolean;
  private readonly lines: LineCounter;
  /** A mapping of the file has an int key ({1: a}): see markYamlTypes. */
  private sawIntKey = false;

  constructor(file: string, text: string, readProblem?: Problem) {
    this.file = file;
    this.lines = new LineCounter();
    this.unreadable = !!readProblem;
    const opened = readProblem ? { text: '', encrypted: false, problem: readProblem } : openVaultFile(file, text);
    this.vaultEncrypted = opened.encrypted;
    if (opened.problem) {
      this.doc = new Document(null);
      this.problems = [opened.problem];
      this.value = undefined;
      return;
    }
    const floatsBefore = wholeFloatsResolved;
    const { doc, tooDeepAt } = this.parse(opened.text);
    this.doc = doc;
    if (tooDeepAt !== undefined) {
      this.problems = [{ ...this.at(tooDeepAt), message: `YAML nesting deeper than ${YAML_LIMITS.maxDepth} levels starts here`, expected: `at most ${YAML_LIMITS.maxDepth} nested mappings or lists` }];
    } else if (doc.errors.length) this.problems = [this.syntaxProblem(opened.text)];
    else this.problems = this.structureProblems();
    // A `!vault` value that could not be opened leaves a placeholder (never its vault text) and a problem, so the
    // rest of the file is still checked and every problem is reported at once; the problem stops the run.
    const parsed = this.problems.length === 0;
    if (parsed) this.problems.push(...openVaultTags(this.doc, (offset) => this.at(offset)));
    // A merge key is a plain `<<`: a file without one (nearly every file) is not walked for merges.
    if (parsed && opened.text.includes('<<')) this.problems.push(...flattenMerges(this.doc, (offset) => this.at(offset)));
    this.value = parsed ? this.toValue() : undefined;
    if (parsed && (wholeFloatsResolved !== floatsBefore || this.sawIntKey)) markYamlTypes(this.doc, this.doc.contents, this.value, new Map());
    if (this.vaultEncrypted) addVaultVars(this.value);
  }

  /** parseDocument, with the depth of each document's token tree measured before it is composed. */
  private parse(text: string): { doc: Document; tooDeepAt?: number } {
    const parser = new Parser(this.lines.addNewLine);
    const composer = new Composer(PARSE_OPTIONS);
    let tooDeepAt: number | undefined;
    function* measured() {
      for (const token of parser.parse(text)) {
        tooDeepAt = deeperThan(token, YAML_LIMITS.maxDepth);
        if (tooDeepAt !== undefined) return;
        yield token;
      }
    }
    let doc: Document | undefined;
    for (const d of composer.compose(measured(), true, text.length)) {
      if (!doc) doc = d;
      else {
        doc.errors.push(...[d.errors[0]].filter(Boolean));
        if (!d.errors.length) doc.errors.push({ pos: d.range.slice(0, 2), code: 'MULTIPLE_DOCS', message: 'the file holds more than one YAML document (a second `---`)' } as never);
        break;
      }
    }
    return { doc: doc ?? new Document(null), tooDeepAt };
  }

  private toValue(): unknown {
    try {
      return this.doc.toJS({ maxAliasCount: YAML_LIMITS.maxAliasCount });
    } catch (e) {
      // structureProblems() refuses what toJS() would refuse; this keeps an unforeseen case a positioned problem.
      const alias = firstAlias(this.doc.contents as Node | null);
      (this.problems as Problem[]).push({ ...this.at(alias?.range?.[0] ?? 0), message: `YAML: ${(e as Error).message}` });
      return undefined;
    }
  }

  /**
   * Every duplicate key, every alias without an anchor before it (or pointing into itself), complex keys,
   * and the size aliases expand to. The walk recurses, which the depth limit above keeps safe.
   */
  private structureProblems(): Problem[] {
    const problems: Problem[] = [];
    const anchors = new Map<string, Node>();
    const open = new Set<Node>();
    const aliases: { alias: Node; target: Node }[] = [];
    const visit = (node: Node | null | undefined): void => {
      if (!node) return;
      if (isAlias(node)) {
        const target = anchors.get(node.source);
        if (!target) problems.push({ ...this.at(node.range?.[0] ?? 0), message: `YAML alias '*${node.source}' names no anchor defined before it`, expected: `an anchor '&${node.source}' earlier in the file` });
        else if (open.has(target)) problems.push({ ...this.at(node.range?.[0] ?? 0), message: `YAML alias '*${node.source}' is inside the value it names (a value cannot contain itself)` });
        else aliases.push({ alias: node, target });
        return;
      }
      if (node.anchor) anchors.set(node.anchor, node);
      if (!isCollection(node)) return;
      open.add(node);
      if (isMap(node)) {
        const seen = new Map<string, Node>();
        for (const pair of node.items) {
          const key = pair.key as Node | null;
          if (isScalar(key)) {
            if (isIntKey(key)) this.sawIntKey = true;
            const name = key.value === null ? '' : String(key.value);
            const first = seen.get(name);
            if (first && name !== '<<') {
              const p = this.at(first.range?.[0] ?? 0);
              problems.push({ ...this.at(key.range?.[0] ?? 0), message: `duplicate key '${name}': it is also at ${p.file}:${p.line}:${p.column}`, expected: 'each key once per mapping' });
            } else if (!first) seen.set(name, key);
          } else if (key && !isAlias(key)) {
            problems.push({ ...this.at(key.range?.[0] ?? 0), message: 'a mapping key must be a plain value, not a list or a mapping', expected: 'a string key' });
          }
          visit(key);
          visit(pair.value as Node | null);
        }
      } else if (isSeq(node)) for (const item of node.items) visit(item as Node);
      open.delete(node);
    };
    visit(this.doc.contents as Node | null);
    if (aliases.length && !problems.length) problems.push(...this.aliasExpansion(aliases));
    return problems;
  }

  /** Refuses a document whose aliases would expand past the limit, at the alias where the total crosses it. */
  private aliasExpansion(aliases: { alias: Node; target: Node }[]): Problem[] {
    const sizes = new Map<Node, number>();
    const resolved = new Map(aliases.map((a) => [a.alias, a.target]));
    const size = (node: Node | null | undefined): number => {
      if (!node) return 0;
      const known = sizes.get(node);
      if (known !== undefined) return known;
      let n = 1;
      if (isAlias(node)) n = size(resolved.get(node));
      else if (isMap(node)) for (const p of node.items) n += size(p.key as Node) + size(p.value as Node);
      else if (isSeq(node)) for (const it of node.items) n += size(it as Node);
      sizes.set(node, n);
      return n;
    };
    let total = 0;
    for (const { alias, target } of aliases) {
      total += size(target);
      if (total > YAML_LIMITS.maxAliasExpansion) {
        return [{
          ...this.at(alias.range?.[0] ?? 0),
          message: `YAML aliases expand this file to more than ${YAML_LIMITS.maxAliasExpansion.toLocaleString('en')} values by this alias (an alias bomb?)`,
          expected: 'aliases that repeat small values',
        }];
      }
    }
    return [];
  }

  /**
   * One problem per broken file: the first error, placed where the operator must look. The parser's
   * later errors are consequences of the first, and some point at the end of the file instead of the cause.
   */
  private syntaxProblem(text: string): Problem {
    const tab = /^( *)\t/m.exec(text);
    if (tab) {
      const at = this.at(tab.index + tab[1].length);
      return { ...at, message: 'YAML syntax error: a tab is used for indentation', expected: 'spaces' };
    }
    const e = this.doc.errors[0];
    let offset = e.pos[0];
    const quote = /closing (["'])/.exec(e.message)?.[1];
    if (e.code === 'MISSING_CHAR' && quote) {
      // The unterminated scalar starts at the last quote that opens a value before the error.
      const opener = new RegExp(`(^|[:\\-\\[{,]\\s*|^\\s*)${quote === '"' ? '"' : "'"}`, 'gm');
      let m: RegExpExecArray | null;
      let start = -1;
      while ((m = opener.exec(text)) && m.index < offset) start = m.index + m[0].length - 1;
      if (start >= 0) {
        const at = this.at(start);
        return { ...at, message: `YAML syntax error: the quoted value that starts here is never closed`, expected: `a closing ${quote}` };
      }
    }
    // An error at the start of an indented line is about that line's content: point at its first character.
    const lead = /^ +/.exec(text.slice(offset, offset + 4096));
    if (lead && (offset === 0 || text[offset - 1] === '\n')) offset += lead[0].length;
    const at = this.at(offset);
    return { ...at, message: `YAML syntax error: ${firstLine(e.message).replace(/ at line \d+, column \d+:?$/, '')}` };
  }

  /** Position of an offset in this file. */
  at(offset: number): SourcePosition {
    const p = this.lines.linePos(offset);
    return { file: this.file, line: p.line, column: p.col };
  }

  /**
   * Position of the value (or of its key, when `key` is set) at `path`; falls back to the deepest
   * ancestor that exists, so a missing property points at the mapping that should hold it.
   */
  positionOf(path: readonly PathSegment[], key = false): SourcePosition {
    let node: Node | null = this.doc.contents as Node | null;
    let best = node?.range ? node.range[0] : 0;
    for (const segment of path) {
      if (!node) break;
      if (isAlias(node)) node = node.resolve(this.doc) ?? null;
      if (isMap(node)) {
        const pair = node.items.find((it) => isPair(it) && scalarValue(it.key) === String(segment));
        if (!pair) break;
        const k = pair.key as Node | null;
        const v = pair.value as Node | null;
        if (key && segment === path[path.length - 1] && k?.range) return this.at(k.range[0]);
        node = v;
        best = v?.range ? v.range[0] : k?.range ? k.range[0] : best;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        node = item;
        if (item.range) best = item.range[0];
      } else break;
    }
    return this.at(best);
  }

  problem(path: readonly PathSegment[], message: string, expected?: string, key = false): Problem {
    return { ...this.positionOf(path, key), message, expected };
  }
}

/**
 * Offset of the first collection nested deeper than `max` in a parser token, if any. The token tree is walked
 * with an explicit stack: it is exactly the input that could be too deep for recursion.
 */
function deeperThan(token: unknown, max: number): number | undefined {
  const stack: [unknown, number][] = [[token, 0]];
  while (stack.length) {
    const [t, d] = stack.pop()!;
    if (!t || typeof t !== 'object') continue;
    const tok = t as { type?: string; offset?: number; value?: unknown; items?: { key?: unknown; value?: unknown }[] };
    let depth = d;
    if (tok.type === 'block-map' || tok.type === 'block-seq' || tok.type === 'flow-collection') {
      depth = d + 1;
      if (depth > max) return tok.offset ?? 0;
      for (const it of tok.items ?? []) {
        if (it.key) stack.push([it.key, depth]);
        if (it.value) stack.push([it.value, depth]);
      }
    } else if (tok.type === 'document' && tok.value) stack.push([tok.value, depth]);
  }
  return undefined;
}

/**
 * Merge keys (`<<: *base`, `<<: [*a, *b]`) as PyYAML's SafeConstructor.flatten_mapping applies them: the merged
 * pairs go before the mapping's own, those of the first mapping of a list last, and a later pair overrides an
 * earlier one's value at the earlier one's place (a JavaScript object's assignment, as a Python dict's). So
 * `{<<: [*a, *b], k: v}` has b's keys, then a's new ones, then its own, and its own values and a's win. The yaml
 * package merges differently (at the `<<`, keeping the keys it has). Mappings are rewritten in place, once,
 * before the document is turned into values; a merge of something that is not a mapping is a problem.
 */
function flattenMerges(doc: Document, at: (offset: number) => SourcePosition): Problem[] {
  const problems: Problem[] = [];
  const done = new Set<Node>();
  const mapOf = (node: unknown): YAMLMap | undefined => {
    const n = isAlias(node) ? node.resolve(doc) : node;
    return isMap(n) ? n : undefined;
  };
  const flatten = (map: YAMLMap): void => {
    if (done.has(map)) return;
    done.add(map);
    const merged: unknown[] = [];
    const own: unknown[] = [];
    for (const pair of map.items) {
      if (!isMergeKey(pair.key)) {
        own.push(pair);
        continue;
      }
      const value = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
      const sources = isSeq(value) ? value.items.map(mapOf) : [mapOf(value)];
      if (sources.some((m) => !m)) {
        problems.push({ ...at((pair.value as Node | null)?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0), message: 'a merge key (<<) takes a mapping or a list of mappings', expected: 'an alias of a mapping (*name) or a list of them' });
        continue;
      }
      for (const m of sources.reverse() as YAMLMap[]) {
        flatten(m);
        merged.push(...m.items);
      }
    }
    if (merged.length || own.length !== map.items.length) map.items = [...merged, ...own] as typeof map.items;
  };
  const seen = new Set<unknown>();
  const visit = (node: unknown): void => {
    if (!node || isAlias(node) || isScalar(node) || seen.has(node)) return;
    seen.add(node);
    if (isMap(node)) {
      flatten(node);
      for (const pair of node.items) {
        visit(pair.key);
        visit(pair.value);
      }
    } else if (isSeq(node)) for (const item of node.items) visit(item);
  };
  visit(doc.contents);
  return problems;
}

/** A plain `<<` key (the yaml package's 1.1 schema reads it as its merge tag). */
function isMergeKey(key: unknown): boolean {
  if (!isScalar(key)) return false;
  const v = key.value;
  return (typeof v === 'symbol' && v.description === '<<') || (v === '<<' && (!key.type || key.type === 'PLAIN'));
}

function firstAlias(node: Node | null | undefined): Node | undefined {
  if (!node) return undefined;
  if (isAlias(node)) return node;
  if (isMap(node)) for (const p of node.items) { const a = firstAlias(p.key as Node) ?? firstAlias(p.value as Node); if (a) return a; }
  if (isSeq(node)) for (const it of node.items) { const a = firstAlias(it as Node); if (a) return a; }
  return undefined;
}

function scalarValue(n: unknown): string | undefined {
  return isScalar(n) ? String(n.value) : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

const READ_FAILURES: Record<string, string> = {
  ENOENT: 'file not found',
  EACCES: 'cannot read the file: permission denied',
  EPERM: 'cannot read the file: permission denied',
  ELOOP: 'cannot read the file: too many symbolic links',
  ENAMETOOLONG: 'cannot read the file: the path is too long',
  ENOTDIR: 'file not found (a part of the path is not a folder)',
  EISDIR: 'is a folder, not a YAML file',
};

/** Reads a file as UTF-8 text within the size limit, or says (as a problem at file:0:0) why it cannot. */
export function readSourceText(file: string): { text: string } | { problem: Problem } {
  const fail = (message: string, expected = 'a readable YAML file'): { problem: Problem } => ({ problem: { file, line: 0, column: 0, message, expected } });
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? '';
    return fail(READ_FAILURES[code] ?? `cannot read the file (${code || (e as Error).message})`);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) return fail(READ_FAILURES.EISDIR);
    const limit = YAML_LIMITS.maxBytes;
    if (st.isFile() && st.size > limit) return fail(`the file is ${megabytes(st.size)}, more than the ${megabytes(limit)} a YAML file may be`, `a file of at most ${megabytes(limit)}`);
    // Read to the end (a pipe or device has no size), never past the limit.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(1 << 20, limit + 1 - total));
      let n: number;
      try {
        n = readSync(fd, chunk, 0, chunk.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code ?? '';
        return fail(READ_FAILURES[code] ?? `cannot read the file (${code || (e as Error).message})`);
      }
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > limit) return fail(`the file is more than the ${megabytes(limit)} a YAML file may be`, `a file of at most ${megabytes(limit)}`);
    }
    const bytes = Buffer.concat(chunks, total);
    if (!isUtf8(bytes)) {
      const bad = firstInvalidUtf8(bytes);
      const before = bytes.subarray(0, bad).toString('utf8');
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      return { problem: { file, line, column, message: `the file is not UTF-8 text: byte 0x${bytes[bad].toString(16).padStart(2, '0')} here is not valid UTF-8`, expected: 'a file saved as UTF-8' } };
    }
    const text = bytes.toString('utf8');
    // What YAML (and PyYAML, hence Ansible) refuses: control characters other than tab, newline and carriage return.
    const control = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x84\x86-\x9f\ufffe\uffff]/.exec(text);
    if (control) {
      const before = text.slice(0, control.index);
      const line = before.split('\n').length;
      const column = before.length - before.lastIndexOf('\n');
      const code = control[0].charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
      return { problem: { file, line, column, message: `the file holds the control character U+${code} here, which YAML does not allow`, expected: 'printable text (tabs and line breaks are fine)' } };
    }
    // A UTF-8 byte-order mark is allowed at the start (editors on Windows write one).
    return { text: text.charCodeAt(0) === 0xfeff ? text.slice(1) : text };
  } finally {
    closeSync(fd);
  }
}

function megabytes(n: number): string {
  return `${(n / (1024 * 1024)).toFixed(n < 10 * 1024 * 1024 ? 1 : 0)} MB`;
}

/** Offset of the first byte that breaks UTF-8 (only called once isUtf8 said there is one). */
function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i];
    const n = c < 0x80 ? 0 : c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0 || i + n >= b.length) return i;
    for (let k = 1; k <= n; k++) if ((b[i + k] & 0xc0) !== 0x80) return i;
    // Overlong forms, surrogates and values above U+10FFFF.
    if ((c === 0xe0 && b[i + 1] < 0xa0) || (c === 0xed && b[i + 1] > 0x9f) || (c === 0xf0 && b[i + 1] < 0x90) || (c === 0xf4 && b[i + 1] > 0x8f)) return i;
    i += n + 1;
  }
  return Math.max(0, b.length - 1);
}

/** A path as problems show it: relative to the working folder when inside it, else absolute. */
export function displayPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel === '' || rel.startsWith('..') || isAbsolute(rel) ? resolve(file) : rel;
}

export function loadYamlFile(file: string): SourceFile {
  const read = readSourceText(file);
  if ('problem' in read) return new SourceFile(file, '', read.problem);
  if (read.text.length > BIG_INPUT) fullSpeedAhead();
  return new SourceFile(file, read.text);
}

/** Parse a JSON Pointer (as ajv reports `instancePath`) into path segments. */
export function pointerToPath(pointer: string): PathSegment[] {
  if (!pointer) return [];
  return pointer
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}
