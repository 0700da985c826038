// PyYAML's yaml.dump as Ansible's to_yaml and to_nice_yaml call it (SafeDumper, allow_unicode, sort_keys), so
// their text is the same byte for byte: a port of the parts of PyYAML 6's representer, resolver and emitter
// (yaml/emitter.py) that plain data reaches (no anchors, tags, block scalars or canonical output). Its
// state machine and writers keep PyYAML's names so the two can be read side by side. Ansible's dumper is
// PyYAML's CSafeDumper where PyYAML has libyaml (as on any pip or distribution install), whose emitter (libyaml
// 0.2.5) differs from the Python one in three places followed here: no `...` after a plain root scalar, NEL
// and characters beyond U+FFFF are not printable (written escaped in double quotes), and a simple key is one
// of at most 128 bytes of UTF-8, empty or not.

import { PyFloat, pyFloatText } from './float.js';
import { hasIntKeys, pyKeys } from './keys.js';
import { Undefined } from './undefined.js';
import { isMapping, isSafeString } from './values.js';

export interface DumpOptions {
  /** PyYAML's indent (2 unless 1 < indent < 10). */
  indent?: number;
  /** PyYAML's width (80 unless larger than twice the indent). */
  width?: number;
  /** null: a collection of scalars only is written in flow style (to_yaml); false: block style (to_nice_yaml). */
  defaultFlowStyle?: boolean | null;
  sortKeys?: boolean;
  explicitStart?: boolean;
}

type Event =
  | { type: 'DocumentStart' | 'DocumentEnd' | 'StreamEnd' | 'SequenceEnd' | 'MappingEnd' }
  | { type: 'SequenceStart' | 'MappingStart'; flowStyle: boolean }
  | { type: 'Scalar'; value: string; implicit: [boolean, boolean] };

// The implicit resolvers of PyYAML (YAML 1.1); a plain scalar matching one of them would read back as another type.
const RESOLVERS: Array<[string, RegExp]> = [
  ['bool', /^(?:yes|Yes|YES|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF)\n?$/],
  ['float', /^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))\n?$/],
  ['int', /^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)\n?$/],
  ['merge', /^(?:<<)$/],
  ['null', /^(?:~|null|Null|NULL|)\n?$/],
  ['timestamp', /^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?(?:[Tt]|[ \t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\.[0-9]*)?(?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)\n?$/],
  ['value', /^(?:=)$/],
];

function resolvesToString(value: string): boolean {
  return !RESOLVERS.some(([, re]) => re.test(value));
}

/** Python's sorted() on str keys: by code point. */
function byCodePoint(a: string, b: string): number {
  const x = Array.from(a);
  const y = Array.from(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    if (x[i] !== y[i]) return x[i].codePointAt(0)! - y[i].codePointAt(0)!;
  }
  return x.length - y.length;
}

/** SafeRepresenter + Serializer: the value as PyYAML's event stream. */
function events(value: unknown, options: DumpOptions): Event[] {
  const out: Event[] = [];
  const scalar = (text: string, tag: string): Event => (tag === 'str'
    ? { type: 'Scalar', value: text, implicit: [resolvesToString(text), true] }
    : { type: 'Scalar', value: text, implicit: [true, false] });
  const isScalar = (v: unknown) => !Array.isArray(v) && !isMapping(v);
  const flow = (children: unknown[]) => (options.defaultFlowStyle ?? children.every(isScalar));
  const walk = (v: unknown): void => {
    if (v instanceof Undefined) v.fail();
    if (v === null || v === undefined) out.push(scalar('null', 'null'));
    else if (typeof v === 'boolean') out.push(scalar(v ? 'true' : 'false', 'bool'));
    else if (v instanceof PyFloat || (typeof v === 'number' && !Number.isInteger(v))) out.push(scalar(yamlFloat(Number(v)), 'float'));
    else if (typeof v === 'number') out.push(scalar(String(v), 'int'));
    else if (typeof v === 'string' || isSafeString(v)) out.push(scalar(String(v), 'str'));
    else if (Array.isArray(v)) {
      out.push({ type: 'SequenceStart', flowStyle: flow(v) });
      v.forEach(walk);
      out.push({ type: 'SequenceEnd' });
    } else if (isMapping(v)) {
      const keys = Object.keys(v).filter((k) => v[k] !== undefined);
      const ints = hasIntKeys(v) ? new Set(pyKeys(v).filter((k) => typeof k === 'number').map(String)) : undefined; // YAML int keys (keys.ts)
      // sorted() of int keys is numeric; of ints and strs together a TypeError, after which PyYAML keeps the order
      if (options.sortKeys !== false && !ints) keys.sort(byCodePoint);
      else if (options.sortKeys !== false && ints!.size === keys.length) keys.sort((a, b) => Number(a) - Number(b));
      out.push({ type: 'MappingStart', flowStyle: flow(keys.map((k) => v[k])) });
      for (const key of keys) {
        out.push(ints?.has(key) ? scalar(key, 'int') : scalar(key, 'str'));
        walk(v[key]);
      }
      out.push({ type: 'MappingEnd' });
    } else {
      out.push(scalar(String(v), 'str'));
    }
  };
  out.push({ type: 'DocumentStart' });
  walk(value);
  out.push({ type: 'DocumentEnd' }, { type: 'StreamEnd' });
  return out;
}

/** SafeRepresenter.represent_float. */
function yamlFloat(n: number): string {
  if (Number.isNaN(n)) return '.nan';
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : '-.inf';
  const text = pyFloatText(n).toLowerCase();
  return !text.includes('.') && text.includes('e') ? text.replace('e', '.0e') : text;
}

interface Analysis {
  scalar: string[];
  empty: boolean;
  multiline: boolean;
  allowFlowPlain: boolean;
  allowBlockPlain: boolean;
  allowSingleQuoted: boolean;
  allowBlock: boolean;
}

const BREAKS = '\n\x85\u2028\u2029';
const WHITESPACE = '\0 \t\r\n\x85\u2028\u2029';

/** Emitter.analyze_scalar, on code points (Python's str indexes). */
function analyzeScalar(text: string): Analysis {
  const scalar = Array.from(text);
  if (scalar.length === 0) {
    return { scalar, empty: true, multiline: false, allowFlowPlain: false, allowBlockPlain: true, allowSingleQuoted: true, allowBlock: false };
  }
  let blockIndicators = false;
  let flowIndicators = false;
  let lineBreaks = false;
  let specialCharacters = false;
  let leadingSpace = false;
  let leadingBreak = false;
  let trailingSpace = false;
  let trailingBreak = false;
  let breakSpace = false;
  let spaceBreak = false;
  if (text.startsWith('---') || text.startsWith('...')) {
    blockIndicators = true;
    flowIndicators = true;
  }
  let precededByWhitespace = true;
  let followedByWhitespace = scalar.length === 1 || WHITESPACE.includes(scalar[1]);
  let previousSpace = false;
  let previousBreak = false;
  for (let index = 0; index < scalar.length; index++) {
    const ch = scalar[index];
    if (index === 0) {
      if ('#,[]{}&*!|>\'"%@`'.includes(ch)) {
        flowIndicators = true;
        blockIndicators = true;
      }
      if ('?:'.includes(ch)) {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '-' && followedByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    } else {
      if (',?[]{}'.includes(ch)) flowIndicators = true;
      if (ch === ':') {
        flowIndicators = true;
        if (followedByWhitespace) blockIndicators = true;
      }
      if (ch === '#' && precededByWhitespace) {
        flowIndicators = true;
        blockIndicators = true;
      }
    }
    if (BREAKS.includes(ch)) lineBreaks = true;
    const code = ch.codePointAt(0)!;
    if (!(ch === '\n' || (code >= 0x20 && code <= 0x7e))) {
      // libyaml's IS_PRINTABLE (Ansible's CSafeDumper): neither NEL nor characters beyond U+FFFF, which PyYAML's
      // Python emitter takes; they are written escaped in double quotes (\N, \U0001F600).
      const unicode = ((code >= 0xa0 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd)) && code !== 0xfeff;
      if (!unicode) specialCharacters = true; // allow_unicode: other characters are written as they are
    }
    if (ch === ' ') {
      if (index === 0) leadingSpace = true;
      if (index === scalar.length - 1) trailingSpace = true;
      if (previousBreak) breakSpace = true;
      previousSpace = true;
      previousBreak = false;
    } else if (BREAKS.includes(ch)) {
      if (index === 0) leadingBreak = true;
      if (index === scalar.length - 1) trailingBreak = true;
      if (previousSpace) spaceBreak = true;
      previousSpace = false;
      previousBreak = true;
    } else {
      previousSpace = false;
      previousBreak = false;
    }
    precededByWhitespace = WHITESPACE.includes(ch);
    followedByWhitespace = index + 2 >= scalar.length || WHITESPACE.includes(scalar[index + 2]);
  }
  let allowFlowPlain = true;
  let allowBlockPlain = true;
  let allowSingleQuoted = true;
  let allowBlock = true;
  if (leadingSpace || leadingBreak || trailingSpace || trailingBreak) allowFlowPlain = allowBlockPlain = false;
  if (trailingSpace) allowBlock = false;
  if (breakSpace) allowFlowPlain = allowBlockPlain = allowSingleQuoted = false;
  if (spaceBreak || specialCharacters) allowFlowPlain = allowBlockPlain = allowSingleQuoted = allowBlock = false;
  if (lineBreaks) allowFlowPlain = allowBlockPlain = false;
  if (flowIndicators) allowFlowPlain = false;
  if (blockIndicators) allowBlockPlain = false;
  return { scalar, empty: false, multiline: lineBreaks, allowFlowPlain, allowBlockPlain, allowSingleQuoted, allowBlock };
}

const ESCAPE_REPLACEMENTS: Record<string, string> = {
  '\0': '0', '\x07': 'a', '\x08': 'b', '\x09': 't', '\x0A': 'n', '\x0B': 'v', '\x0C': 'f', '\x0D': 'r', '\x1B': 'e',
  '"': '"', '\\': '\\', '\x85': 'N', '\xA0': '_', '\u2028': 'L', '\u2029': 'P',
};

class Emitter {
  private out = '';
  private readonly states: Array<() => void> = [];
  private state: () => void;
  private events: Event[];
  private event!: Event;
  private readonly indents: Array<number | null> = [];
  private indent: number | null = null;
  private flowLevel = 0;
  private rootContext = false;
  private simpleKeyContext = false;
  private mappingContext = false;
  private column = 0;
  private whitespace = true;
  private indention = true;
  private openEnded = false;
  private readonly bestIndent: number;
  private readonly bestWidth: number;
  private analysis: Analysis | null = null;
  private style: string | null = null;
  private readonly explicitStart: boolean;

  constructor(events: Event[], options: DumpOptions) {
    this.events = events;
    const indent = options.indent;
    this.bestIndent = indent && indent > 1 && indent < 10 ? indent : 2;
    const width = options.width;
    this.bestWidth = width && width > this.bestIndent * 2 ? width : 80;
    this.explicitStart = options.explicitStart === true;
    this.state = () => this.expectDocumentStart(true);
  }

  run(): string {
    while (this.events.length) {
      this.event = this.events.shift()!;
      this.state();
    }
    return this.out;
  }

  private increaseIndent(flow = false, indentless = false): void {
    this.indents.push(this.indent);
    if (this.indent === null) this.indent = flow ? this.bestIndent : 0;
    else if (!indentless) this.indent += this.bestIndent;
  }

  private popIndent(): void {
    this.indent = this.indents.pop()!;
  }

  private popState(): void {
    this.state = this.states.pop()!;
  }

  private expectDocumentStart(first: boolean): void {
    if (this.event.type === 'DocumentStart') {
      if (!(first && !this.explicitStart)) {
        this.writeIndent();
        this.writeIndicator('---', true);
      }
      this.state = () => this.expectDocumentRoot();
    } else if (this.event.type === 'StreamEnd') {
      // PyYAML's Python emitter ends a document whose root is a plain scalar with `...`; libyaml 0.2.5's, which
      // Ansible's dumper uses where PyYAML has it (CSafeDumper), only after a block scalar this port never writes.
      this.state = () => {};
    }
  }

  private expectDocumentEnd(): void {
    this.writeIndent();
    this.state = () => this.expectDocumentStart(false);
  }

  private expectDocumentRoot(): void {
    this.states.push(() => this.expectDocumentEnd());
    this.expectNode(true, false, false);
  }

  private expectNode(root: boolean, mapping: boolean, simpleKey: boolean): void {
    this.rootContext = root;
    this.mappingContext = mapping;
    this.simpleKeyContext = simpleKey;
    const event = this.event;
    if (event.type === 'Scalar') {
      this.processTag();
      this.expectScalar();
    } else if (event.type === 'SequenceStart') {
      if (this.flowLevel || event.flowStyle || this.checkEmpty('SequenceEnd')) this.expectFlowCollection('[', ']', false);
      else this.expectBlockSequence();
    } else if (event.type === 'MappingStart') {
      if (this.flowLevel || event.flowStyle || this.checkEmpty('MappingEnd')) this.expectFlowCollection('{', '}', true);
      else this.expectBlockMapping();
    }
  }

  private checkEmpty(end: Event['type']): boolean {
    return this.events.length > 0 && this.events[0].type === end;
  }

  private expectScalar(): void {
    this.increaseIndent(true);
    this.processScalar();
    this.popIndent();
    this.popState();
  }

  // Flow sequences and mappings (PyYAML's expect_flow_sequence* and expect_flow_mapping*).
  private expectFlowCollection(open: string, close: string, mapping: boolean): void {
    this.writeIndicator(open, true, true);
    this.flowLevel++;
    this.increaseIndent(true);
    this.state = () => this.expectFlowItem(true, close, mapping);
  }

  private expectFlowItem(first: boolean, close: string, mapping: boolean): void {
    if (this.event.type === 'SequenceEnd' || this.event.type === 'MappingEnd') {
      this.popIndent();
      this.flowLevel--;
      this.writeIndicator(close, false);
      this.popState();
      return;
    }
    if (!first) this.writeIndicator(',', false);
    if (this.column > this.bestWidth) this.writeIndent();
    const next = () => this.expectFlowItem(false, close, mapping);
    if (!mapping) {
      this.states.push(next);
      this.expectNode(false, false, false);
    } else if (this.checkSimpleKey()) {
      this.states.push(() => {
        this.writeIndicator(':', false);
        this.states.push(next);
        this.expectNode(false, true, false);
      });
      this.expectNode(false, true, true);
    } else {
      this.writeIndicator('?', true);
      this.states.push(() => {
        if (this.column > this.bestWidth) this.writeIndent();
        this.writeIndicator(':', true);
        this.states.push(next);
        this.expectNode(false, true, false);
      });
      this.expectNode(false, true, false);
    }
  }

  private expectBlockSequence(): void {
    const indentless = this.mappingContext && !this.indention;
    this.increaseIndent(false, indentless);
    this.state = () => this.expectBlockSequenceItem(true);
  }

  private expectBlockSequenceItem(first: boolean): void {
    if (!first && this.event.type === 'SequenceEnd') {
      this.popIndent();
      this.popState();
      return;
    }
    this.writeIndent();
    this.writeIndicator('-', true, false, true);
    this.states.push(() => this.expectBlockSequenceItem(false));
    this.expectNode(false, false, false);
  }

  private expectBlockMapping(): void {
    this.increaseIndent(false);
    this.state = () => this.expectBlockMappingKey(true);
  }

  private expectBlockMappingKey(first: boolean): void {
    if (!first && this.event.type === 'MappingEnd') {
      this.popIndent();
      this.popState();
      return;
    }
    this.writeIndent();
    const next = () => this.expectBlockMappingKey(false);
    if (this.checkSimpleKey()) {
      this.states.push(() => {
        this.writeIndicator(':', false);
        this.states.push(next);
        this.expectNode(false, true, false);
      });
      this.expectNode(false, true, true);
    } else {
      this.writeIndicator('?', true, false, true);
      this.states.push(() => {
        this.writeIndent();
        this.writeIndicator(':', true, false, true);
        this.states.push(next);
        this.expectNode(false, true, false);
      });
      this.expectNode(false, true, false);
    }
  }

  private checkSimpleKey(): boolean {
    const event = this.event;
    if (event.type !== 'Scalar') return this.checkEmpty('SequenceEnd') || this.checkEmpty('MappingEnd');
    this.analysis ??= analyzeScalar(event.value);
    // libyaml's check_simple_key (Ansible's CSafeDumper): up to 128 bytes of UTF-8, an empty one too, the
    // implicit tag not counted (PyYAML's Python emitter: under 128 characters with its tag, never empty).
    return Buffer.byteLength(event.value, 'utf8') <= 128 && !this.analysis.multiline;
  }

  private processTag(): void {
    this.style ??= this.chooseScalarStyle();
    // the tags of plain data are always implicit (PyYAML writes `!!str` only for what no style can carry)
  }

  private chooseScalarStyle(): string {
    const event = this.event as Extract<Event, { type: 'Scalar' }>;
    this.analysis ??= analyzeScalar(event.value);
    const a = this.analysis;
    if (event.implicit[0]) {
      if (!(this.simpleKeyContext && (a.empty || a.multiline))
        && ((this.flowLevel && a.allowFlowPlain) || (!this.flowLevel && a.allowBlockPlain))) return '';
    }
    if (a.allowSingleQuoted && !(this.simpleKeyContext && a.multiline)) return "'";
    return '"';
  }

  private processScalar(): void {
    const event = this.event as Extract<Event, { type: 'Scalar' }>;
    this.analysis ??= analyzeScalar(event.value);
    this.style ??= this.chooseScalarStyle();
    const split = !this.simpleKeyContext;
    if (this.style === '"') this.writeDoubleQuoted(this.analysis.scalar, split);
    else if (this.style === "'") this.writeSingleQuoted(this.analysis.scalar, split);
    else this.writePlain(this.analysis.scalar, split);
    this.analysis = null;
    this.style = null;
  }

  private write(data: string, columns = Array.from(data).length): void {
    this.column += columns;
    this.out += data;
  }

  private writeIndicator(indicator: string, needWhitespace: boolean, whitespace = false, indention = false): void {
    const data = this.whitespace || !needWhitespace ? indicator : ` ${indicator}`;
    this.whitespace = whitespace;
    this.indention = this.indention && indention;
    this.openEnded = false;
    this.write(data);
  }

  private writeIndent(): void {
    const indent = this.indent ?? 0;
    if (!this.indention || this.column > indent || (this.column === indent && !this.whitespace)) this.writeLineBreak();
    if (this.column < indent) {
      this.whitespace = true;
      this.out += ' '.repeat(indent - this.column);
      this.column = indent;
    }
  }

  private writeLineBreak(data = '\n'): void {
    this.whitespace = true;
    this.indention = true;
    this.column = 0;
    this.out += data;
  }

  private writeBreaks(text: string[], start: number, end: number): void {
    if (text[start] === '\n') this.writeLineBreak();
    for (const br of text.slice(start, end)) this.writeLineBreak(br);
  }

  private writeSingleQuoted(text: string[], split: boolean): void {
    this.writeIndicator("'", true);
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : null;
      if (spaces) {
        if (ch === null || ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split && start !== 0 && end !== text.length) this.writeIndent();
          else this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          this.writeBreaks(text, start, end);
          this.writeIndent();
          start = end;
        }
      } else if (ch === null || ` ${BREAKS}'`.includes(ch)) {
        if (start < end) {
          this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
      }
      if (ch === "'") {
        this.write("''", 2);
        start = end + 1;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
    this.writeIndicator("'", false);
  }

  private writeDoubleQuoted(text: string[], split: boolean): void {
    this.writeIndicator('"', true);
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : null;
      const code = ch === null ? 0 : ch.codePointAt(0)!;
      if (ch === null || '"\\\x85\u2028\u2029\uFEFF'.includes(ch)
        || !((code >= 0x20 && code <= 0x7e) || (code >= 0xa0 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd))) {
        if (start < end) {
          this.write(text.slice(start, end).join(''), end - start);
          start = end;
        }
        if (ch !== null) {
          const data = ch in ESCAPE_REPLACEMENTS ? `\\${ESCAPE_REPLACEMENTS[ch]}`
            : code <= 0xff ? `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`
              : code <= 0xffff ? `\\u${code.toString(16).toUpperCase().padStart(4, '0')}`
                : `\\U${code.toString(16).toUpperCase().padStart(8, '0')}`;
          this.write(data);
          start = end + 1;
        }
      }
      if (end > 0 && end < text.length - 1 && (ch === ' ' || start >= end) && this.column + (end - start) > this.bestWidth && split) {
        const data = `${text.slice(start, end).join('')}\\`;
        if (start < end) start = end;
        this.write(data);
        this.writeIndent();
        this.whitespace = false;
        this.indention = false;
        if (text[start] === ' ') this.write('\\');
      }
    }
    this.writeIndicator('"', false);
  }

  private writePlain(text: string[], split: boolean): void {
    if (this.rootContext) this.openEnded = true;
    if (text.length === 0) return;
    if (!this.whitespace) this.write(' ');
    this.whitespace = false;
    this.indention = false;
    let spaces = false;
    let breaks = false;
    let start = 0;
    for (let end = 0; end <= text.length; end++) {
      const ch = end < text.length ? text[end] : null;
      if (spaces) {
        if (ch !== ' ') {
          if (start + 1 === end && this.column > this.bestWidth && split) {
            this.writeIndent();
            this.whitespace = false;
            this.indention = false;
          } else {
            this.write(text.slice(start, end).join(''), end - start);
          }
          start = end;
        }
      } else if (breaks) {
        if (ch === null || !BREAKS.includes(ch)) {
          this.writeBreaks(text, start, end);
          this.writeIndent();
          this.whitespace = false;
          this.indention = false;
          start = end;
        }
      } else if (ch === null || ` ${BREAKS}`.includes(ch)) {
        this.write(text.slice(start, end).join(''), end - start);
        start = end;
      }
      if (ch !== null) {
        spaces = ch === ' ';
        breaks = BREAKS.includes(ch);
      }
    }
  }
}

/** yaml.dump(value, Dumper=SafeDumper, allow_unicode=True, ...) as PyYAML 6 writes it. */
export function pyYamlDump(value: unknown, options: DumpOptions = {}): string {
  return new Emitter(events(value, options), options).run();
}
