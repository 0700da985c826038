// OpenSSH known_hosts checking for the SSH transport: plain, [host]:port, comma lists, wildcards,
// negations, hashed (|1|salt|hmac) entries and @revoked markers. @cert-authority lines are ignored
// (meshplay does not verify host certificates).
import { createHash, createHmac } from 'node:crypto';
import { appendFile, mkdir, readFile, stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface KnownHostEntry {
  marker?: '@revoked' | '@cert-authority';
  patterns: string;
  keyType: string;
  /** Base64 of the key blob, as written in the file. */
  key: string;
  line: number;
}

export type HostKeyVerdict =
  | { status: 'known' }
  /** Host is in the file, but not with a key of this type (or not at all). */
  | { status: 'unknown'; otherTypes: string[] }
  /** Host is in the file with a different key of the same type: possible man-in-the-middle. */
  | { status: 'changed'; lines: number[] }
  | { status: 'revoked'; line: number };

/** The name known_hosts uses for a host: `host` on port 22, `[host]:port` otherwise. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (!line || line.startsWith('#')) return;
    const fields = line.split(/\s+/);
    let marker: KnownHostEntry['marker'];
    if (fields[0] === '@revoked' || fields[0] === '@cert-authority') marker = fields.shift() as KnownHostEntry['marker'];
    else if (fields[0].startsWith('@')) return; // unknown marker: skip as OpenSSH does
    if (fields.length < 3) return;
    entries.push({ marker, patterns: fields[0], keyType: fields[1], key: fields[2], line: i + 1 });
  });
  return entries;
}

// Process-wide on purpose: a pure function of the pattern text, the same in any run.
const wildcardCache = new Map<string, RegExp | string>();

/** Plain names compare as strings; only patterns with * or ? become (cached) regular expressions. */
function wildcardMatch(pattern: string, name: string): boolean {
  let m = wildcardCache.get(pattern);
  if (m === undefined) {
    m = /[*?]/.test(pattern)
      ? new RegExp('^' + pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.') + '$', 'i')
      : pattern.toLowerCase();
    wildcardCache.set(pattern, m);
  }
  return typeof m === 'string' ? m === name.toLowerCase() : m.test(name);
}

function hashedMatch(pattern: string, name: string): boolean {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name))
  const parts = pattern.split('|');
  if (parts.length !== 4 || parts[1] !== '1') return false;
  const salt = Buffer.from(parts[2], 'base64');
  const mac = createHmac('sha1', salt).update(name).digest('base64');
  return mac === parts[3];
}

/** Whether a host-pattern field (comma list, may contain !negations and hashed names) matches `name`. */
export function patternsMatch(patterns: string, name: string): boolean {
  if (patterns.startsWith('|')) return hashedMatch(patterns, name);
  let matched = false;
  for (const p of patterns.split(',')) {
    if (p.startsWith('!')) {
      if (wildcardMatch(p.slice(1), name)) return false;
    } else if (wildcardMatch(p, name)) matched = true;
  }
  return matched;
}

/** The key type name inside an SSH public key blob (string length-prefixed). */
export function keyTypeOf(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

/** OpenSSH's fingerprint format: `SHA256:` + unpadded base64 of the blob's SHA-256. */
export function fingerprint(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}

interface EntryIndex {
  /** Entries whose patterns are all plain names, by lower-cased name. */
  byName: Map<string, KnownHostEntry[]>;
  /** Entries with a wildcard, a negation or a hashed name: matched one by one. */
  others: KnownHostEntry[];
}

const indexes = new WeakMap<KnownHostEntry[], EntryIndex>();

/**
 * The entries whose patterns match `name`, in file order. Every connection of a run asks this of the same
 * file: a linear scan per connection was hosts x lines pattern matches (65,536 at 256 nodes), so plain names
 * are indexed once per parsed file.
 */
function entriesFor(entries: KnownHostEntry[], name: string): KnownHostEntry[] {
  let index = indexes.get(entries);
  if (!index) {
    index = { byName: new Map(), others: [] };
    for (const e of entries) {
      const names = e.patterns.split(',');
      if (e.patterns.startsWith('|') || names.some((n) => /[*?!]/.test(n))) {
        index.others.push(e);
        continue;
      }
      for (const n of new Set(names.map((x) => x.toLowerCase()))) {
        const list = index.byName.get(n);
        if (list) list.push(e);
        else index.byName.set(n, [e]);
      }
    }
    indexes.set(entries, index);
  }
  const found = [...(index.byName.get(name.toLowerCase()) ?? []), ...index.others.filter((e) => patternsMatch(e.patterns, name))];
  return index.others.length ? found.sort((a, b) => a.line - b.line) : found;
}

export function verifyHostKey(entries: KnownHostEntry[], host: string, port: number, blob: Buffer): HostKeyVerdict {
  const name = knownHostsName(host, port);
  const type = keyTypeOf(blob);
  const b64 = blob.toString('base64');
  const mine = entriesFor(entries, name);
  const revoked = entries.find((e) => e.marker === '@revoked' && e.key === b64);
  if (revoked) return { status: 'revoked', line: revoked.line };
  const plain = mine.filter((e) => !e.marker);
  if (plain.some((e) => e.key === b64)) return { status: 'known' };
  const sameType = plain.filter((e) => e.keyType === type);
  if (sameType.length) return { status: 'changed', lines: sameType.map((e) => e.line) };
  return { status: 'unknown', otherTypes: [...new Set(plain.map((e) => e.keyType))] };
}

/** Key types the file already knows for this host, so the handshake can ask for one of those first. */
export function knownKeyTypes(entries: KnownHostEntry[], host: string, port: number): string[] {
  const name = knownHostsName(host, port);
  return [...new Set(entriesFor(entries, name).filter((e) => !e.marker).map((e) => e.keyType))];
}

/** The last parse of each file, reused while its size and mtime are unchanged (every connection reads the file). */
const parsed = new Map<string, { mtimeMs: number; size: number; entries: Promise<KnownHostEntry[]> }>();

export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  let st;
  try {
    st = await stat(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const cached = parsed.get(file);
  if (cached && cached.mtimeMs === st.mtimeMs && cached.size === st.size) return cached.entries;
  const entries = readFile(file, 'utf8').then(parseKnownHosts);
  parsed.set(file, { mtimeMs: st.mtimeMs, size: st.size, entries });
  entries.catch(() => parsed.delete(file));
  return entries;
}

// Parallel connections may accept keys at the same moment: serialise appends per file. Process-wide on purpose: two
// runs in one process writing the same file must be serialised too.
const locks = new Map<string, Promise<unknown>>();

function withFileLock<T>(file: string, fn: () => Promise<T>): Promise<T> {
  const previous = locks.get(file) ?? Promise.resolve();
  const next = previous.then(fn, fn);
  locks.set(
    file,
    next.catch(() => undefined),
  );
  return next;
}

/** Appends `name type base64` unless an identical entry was added meanwhile. Returns whether it wrote. */
export function appendKnownHost(file: string, host: string, port: number, blob: Buffer): Promise<boolean> {
  return withFileLock(file, async () => {
    const entries = await readKnownHosts(file);
    const verdict = verifyHostKey(entries, host, port, blob);
    if (verdict.status === 'known') return false;
    if (verdict.status !== 'unknown') throw new Error(`refusing to record a ${verdict.status} host key`);
    await mkdir(dirname(file), { recursive: true, mode: 0o700 });
    let prefix = '';
    try {
      const text = await readFile(file, 'utf8');
      if (text.length && !text.endsWith('\n')) prefix = '\n';
    } catch {
      /* new file */
    }
    const line = `${knownHostsName(host, port)} ${keyTypeOf(blob)} ${blob.toString('base64')}\n`;
    await appendFile(file, prefix + line, { mode: 0o600 });
    return true;
  });
}
