// YAML 1.1 (as Ansible reads it: yes/no are booleans) with positions: every value of a loaded file can be traced back to file:line:column,
// so validation errors point at the exact place an operator has to fix.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isPair, isScalar, type Document, type Node } from 'yaml';
import { Problem } from '../errors.js';
import { openVaultFile, openVaultTags, vaultTag } from '../vault/yaml.js';
import { addVaultVars } from '../vault/keyring.js';

export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

export type PathSegment = string | number;

export class SourceFile {
  readonly file: string;
  readonly doc: Document;
  readonly value: unknown;
  /** YAML syntax errors, already as positioned problems. Empty when the file parsed. */
  readonly problems: Problem[];
  /** The whole file was encrypted by ansible-vault (positions are then in its decrypted text). */
  readonly vaultEncrypted: boolean;
  private readonly lines: LineCounter;

  constructor(file: string, text: string) {
    this.file = file;
    this.lines = new LineCounter();
    const opened = openVaultFile(file, text);
    this.vaultEncrypted = opened.encrypted;
    this.doc = parseDocument(opened.text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true, merge: true, version: '1.1', customTags: [vaultTag] });
    if (opened.problem) this.problems = [opened.problem];
    else if (this.doc.errors.length) this.problems = [this.syntaxProblem(opened.text)];
    else this.problems = openVaultTags(this.doc, (offset) => this.at(offset));
    // A `!vault` value that could not be opened leaves a placeholder (never its vault text) and a problem, so the
    // rest of the file is still checked and every problem is reported at once; the problem stops the run.
    const parsed = opened.problem === undefined && this.doc.errors.length === 0;
    this.value = parsed ? this.doc.toJS({ maxAliasCount: 1000 }) : undefined;
    if (this.vaultEncrypted) addVaultVars(this.value);
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
    const lead = /^ +/.exec(text.slice(offset));
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

function scalarValue(n: unknown): string | undefined {
  return isScalar(n) ? String(n.value) : undefined;
}

function firstLine(s: string): string {
  return s.split('\n')[0];
}

export function loadYamlFile(file: string): SourceFile {
  return new SourceFile(file, readFileSync(file, 'utf8'));
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
