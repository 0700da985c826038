// A Corefile (CoreDNS configuration, Caddyfile syntax) reader and surgical editor.
// Edits replace or insert exact byte ranges and never re-serialise the file, so comments, blank lines,
// indentation and every other server block stay exactly as they were.

export interface Token {
  text: string;
  /** Offset of the token's first character and just after its last one. */
  start: number;
  end: number;
  line: number;
}

export interface Directive {
  name: string;
  args: Token[];
  tokens: Token[];
  /** Whether the directive opens its own block (e.g. `kubernetes cluster.local { ... }`). */
  hasBlock: boolean;
}

export interface ServerBlock {
  keys: Token[];
  /** Offset of the start of the line holding the first key (so removing [lineStart, lineEnd) drops whole lines). */
  lineStart: number;
  openBrace: Token;
  closeBrace: Token;
  /** Offset just past the newline that ends the closing brace's line (or end of text). */
  lineEnd: number;
  /** Directives directly inside the block (depth 1), in order. */
  directives: Directive[];
}

export class CorefileError extends Error {
  constructor(message: string, readonly line: number) {
    super(`Corefile line ${line}: ${message}`);
    this.name = 'CorefileError';
  }
}

export function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  let line = 1;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (c === '\n') {
      line++;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '#') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    const start = i;
    const startLine = line;
    if (c === '"' || c === '`') {
      i++;
      while (i < n && text[i] !== c) {
        if (text[i] === '\\' && c === '"') i++;
        if (text[i] === '\n') line++;
        i++;
      }
      if (i >= n) throw new CorefileError('unterminated quoted string', startLine);
      i++;
      tokens.push({ text: text.slice(start, i), start, end: i, line: startLine });
      continue;
    }
    while (i < n && !/[\s]/.test(text[i]!)) i++;
    let word = text.slice(start, i);
    // `name{` opens a block like `name {`; `{$ENV}` placeholders are words, not braces.
    if (word.length > 1 && word.endsWith('{') && !word.startsWith('{$')) {
      tokens.push({ text: word.slice(0, -1), start, end: i - 1, line: startLine });
      tokens.push({ text: '{', start: i - 1, end: i, line: startLine });
      continue;
    }
    tokens.push({ text: word, start, end: i, line: startLine });
    word = '';
  }
  return tokens;
}

function lineStartOf(text: string, offset: number): number {
  const nl = text.lastIndexOf('\n', offset - 1);
  return nl + 1;
}

function lineEndOf(text: string, offset: number): number {
  const nl = text.indexOf('\n', offset);
  return nl === -1 ? text.length : nl + 1;
}

/** Server blocks (and snippets, whose key is `(name)`) in file order. */
export function parseCorefile(text: string): ServerBlock[] {
  const tokens = tokenize(text);
  const blocks: ServerBlock[] = [];
  let i = 0;
  while (i < tokens.length) {
    const keys: Token[] = [];
    while (i < tokens.length && tokens[i]!.text !== '{') {
      if (tokens[i]!.text === '}') throw new CorefileError('unexpected }', tokens[i]!.line);
      // `import` at top level is a whole line on its own.
      if (!keys.length && tokens[i]!.text === 'import') {
        const l = tokens[i]!.line;
        while (i < tokens.length && tokens[i]!.line === l) i++;
        continue;
      }
      keys.push(tokens[i]!);
      i++;
    }
    if (i >= tokens.length) {
      if (keys.length) throw new CorefileError(`server block '${keys.map((k) => k.text).join(' ')}' has no { ... } (a braceless single-server Corefile is not supported)`, keys[0]!.line);
      break;
    }
    if (!keys.length) throw new CorefileError('{ without server block keys', tokens[i]!.line);
    const openBrace = tokens[i++]!;
    const directives: Directive[] = [];
    let depth = 1;
    let current: Directive | undefined;
    let closeBrace: Token | undefined;
    while (i < tokens.length) {
      const tok = tokens[i++]!;
      if (tok.text === '}') {
        depth--;
        if (depth === 0) {
          closeBrace = tok;
          break;
        }
        continue;
      }
      if (tok.text === '{') {
        if (depth === 1 && current) current.hasBlock = true;
        depth++;
        continue;
      }
      if (depth !== 1) continue;
      if (current && current.tokens[current.tokens.length - 1]!.line === tok.line && !current.hasBlock) {
        current.args.push(tok);
        current.tokens.push(tok);
      } else {
        current = { name: tok.text, args: [], tokens: [tok], hasBlock: false };
        directives.push(current);
      }
    }
    if (!closeBrace) throw new CorefileError(`server block '${keys.map((k) => k.text).join(' ')}' is not closed (missing })`, openBrace.line);
    blocks.push({
      keys,
      lineStart: lineStartOf(text, keys[0]!.start),
      openBrace,
      closeBrace,
      lineEnd: lineEndOf(text, closeBrace.end),
      directives,
    });
  }
  return blocks;
}

/** Zone and port of a server block key: `global:53`, `dns://global.:53`, `global` (port 53 by default). */
export function parseKey(key: string): { zone: string; port: string } {
  let k = key.replace(/^dns:\/\//, '');
  let port = '53';
  const m = /^(.*?):(\d+)$/.exec(k);
  if (m) {
    k = m[1]!;
    port = m[2]!;
  }
  const zone = k === '.' || k === '' ? '.' : k.replace(/\.$/, '').toLowerCase();
  return { zone, port };
}

/** The server block serving exactly `zone` on `port`, if any (a block listing several keys counts). */
export function findServerBlock(text: string, zone: string, port = '53'): ServerBlock | undefined {
  const want = zone.replace(/\.$/, '').toLowerCase();
  return parseCorefile(text).find((b) => b.keys.some((k) => {
    for (const part of k.text.split(',').filter(Boolean)) {
      const p = parseKey(part);
      if (p.zone === want && p.port === port) return true;
    }
    return false;
  }));
}

export interface ForwardTarget {
  /** `forward` (CoreDNS >= 1.5) or `proxy` (older). */
  directive: string;
  addresses: string[];
}

/** The `forward .`/`proxy .` upstreams of a block. */
export function forwardOf(block: ServerBlock): ForwardTarget | undefined {
  const d = block.directives.find((x) => (x.name === 'forward' || x.name === 'proxy') && x.args[0]?.text === '.');
  if (!d) return undefined;
  const addresses: string[] = [];
  for (const a of d.args.slice(1)) {
    if (a.text === '{') break;
    addresses.push(a.text);
  }
  return { directive: d.name, addresses };
}

export interface Edit {
  text: string;
  changed: boolean;
  /** What was done: 'unchanged' | 'added' | 'updated' | 'removed' | 'restored'. */
  action: string;
  /** Exact text of the zone's block before the edit ('' when there was none). */
  previousBlock: string;
  /** A newline had to be added before the new block (the file did not end with one); removal takes it away again. */
  separatorAdded?: boolean;
}

function indentOf(text: string, block: ServerBlock | undefined): string {
  const d = block?.directives[0];
  if (!d) return '    ';
  const ls = lineStartOf(text, d.tokens[0]!.start);
  const ws = text.slice(ls, d.tokens[0]!.start);
  return /^[ \t]+$/.test(ws) ? ws : '    ';
}

/**
 * Makes `zone:53` forward to `upstream`: adds `zone:53 { errors; cache 30; forward . ip }` at the end when
 * there is no such block; otherwise replaces only the upstream address(es) of its forward/proxy line, or
 * adds a forward line when the block has none. Everything else is kept byte for byte.
 */
export function upsertForwardBlock(text: string, zone: string, upstream: string): Edit {
  const block = findServerBlock(text, zone);
  if (!block) {
    const indent = indentOf(text, parseCorefile(text)[0]);
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    const added = `${zone}:53 {\n${indent}errors\n${indent}cache 30\n${indent}forward . ${upstream}\n}\n`;
    return { text: text + sep + added, changed: true, action: 'added', previousBlock: '', separatorAdded: sep !== '' };
  }
  const previousBlock = text.slice(block.lineStart, block.lineEnd);
  const fwd = block.directives.find((x) => (x.name === 'forward' || x.name === 'proxy') && x.args[0]?.text === '.');
  if (fwd) {
    const addrs: Token[] = [];
    for (const a of fwd.args.slice(1)) {
      if (a.text === '{') break;
      addrs.push(a);
    }
    if (addrs.length === 1 && addrs[0]!.text === upstream) return { text, changed: false, action: 'unchanged', previousBlock };
    if (!addrs.length) {
      const at = fwd.args[0]!.end;
      return { text: text.slice(0, at) + ' ' + upstream + text.slice(at), changed: true, action: 'updated', previousBlock };
    }
    const from = addrs[0]!.start;
    const to = addrs[addrs.length - 1]!.end;
    return { text: text.slice(0, from) + upstream + text.slice(to), changed: true, action: 'updated', previousBlock };
  }
  // A block without a forward line: insert one just before the closing brace's line.
  const indent = indentOf(text, block);
  const closeLine = lineStartOf(text, block.closeBrace.start);
  const insertAt = /^[ \t]*$/.test(text.slice(closeLine, block.closeBrace.start)) ? closeLine : block.closeBrace.start;
  const prefix = insertAt === closeLine ? '' : '\n';
  return {
    text: text.slice(0, insertAt) + `${prefix}${indent}forward . ${upstream}\n` + text.slice(insertAt),
    changed: true,
    action: 'updated',
    previousBlock,
  };
}

/**
 * Undoes upsertForwardBlock: with previousBlock '' removes the zone's block (its whole lines); otherwise
 * puts previousBlock back in its place.
 */
export function restoreBlock(text: string, zone: string, previousBlock: string, separatorAdded = false): Edit {
  const block = findServerBlock(text, zone);
  if (!block) {
    if (!previousBlock) return { text, changed: false, action: 'unchanged', previousBlock: '' };
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return { text: text + sep + previousBlock, changed: true, action: 'restored', previousBlock: '' };
  }
  const current = text.slice(block.lineStart, block.lineEnd);
  if (current === previousBlock) return { text, changed: false, action: 'unchanged', previousBlock: current };
  let start = block.lineStart;
  if (!previousBlock && separatorAdded && block.lineEnd === text.length && start > 0 && text[start - 1] === '\n') start--;
  return {
    text: text.slice(0, start) + previousBlock + text.slice(block.lineEnd),
    changed: true,
    action: previousBlock ? 'restored' : 'removed',
    previousBlock: current,
  };
}

/**
 * The whole `zone:53` server block that answers every A query in `zone` with `address` (CoreDNS `template`; AAAA
 * gets an empty NOERROR so resolvers asking both do not see SERVFAIL). Seed 001's placeholder for `*.remote`.
 */
export function templateBlockText(zone: string, address: string, indent = '    '): string {
  const i2 = indent + indent;
  return (
    `${zone}:53 {\n${indent}errors\n` +
    `${indent}template IN A ${zone} {\n${i2}answer "{{ .Name }} 60 IN A ${address}"\n${indent}}\n` +
    `${indent}template IN AAAA ${zone} {\n${i2}rcode NOERROR\n${indent}}\n}\n`
  );
}

/**
 * Makes `zone:53` exactly the template block of templateBlockText: appended when there is none, replaced whole (its
 * previous text recorded) when it differs. Everything outside that block is kept byte for byte.
 */
export function upsertTemplateBlock(text: string, zone: string, address: string): Edit {
  const block = findServerBlock(text, zone);
  const indent = indentOf(text, block ?? parseCorefile(text)[0]);
  const want = templateBlockText(zone, address, indent);
  if (!block) {
    const sep = text.length === 0 || text.endsWith('\n') ? '' : '\n';
    return { text: text + sep + want, changed: true, action: 'added', previousBlock: '', separatorAdded: sep !== '' };
  }
  const previousBlock = text.slice(block.lineStart, block.lineEnd);
  const wantHere = block.lineEnd === text.length && !previousBlock.endsWith('\n') ? want.slice(0, -1) : want;
  if (previousBlock === wantHere) return { text, changed: false, action: 'unchanged', previousBlock };
  return { text: text.slice(0, block.lineStart) + wantHere + text.slice(block.lineEnd), changed: true, action: 'updated', previousBlock };
}
