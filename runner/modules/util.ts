// Small helpers shared by the file and command modules; everything goes through the connection,
// so the same module works on localhost and over SSH.
import { isCommandConnection, type CommandConnection } from '../connection/types.js';
import type { ModuleContext } from './types.js';

export async function commandConnection(ctx: ModuleContext): Promise<CommandConnection> {
  const c = await ctx.connection();
  if (!isCommandConnection(c)) throw new Error(`host '${ctx.host.name}' (connection ${c.kind}) cannot run commands; use delegate_to: localhost or a node host`);
  return c;
}

/** Shell-quotes one word for POSIX sh. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_\-./=:,+@%]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Splits a command line into words the way a POSIX shell would, without expanding anything. */
export function splitCommand(line: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated single quote in: ${line}`);
      cur += line.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      let j = i + 1;
      for (; j < line.length && line[j] !== '"'; j++) {
        if (line[j] === '\\' && j + 1 < line.length && '"\\$`'.includes(line[j + 1])) j++;
        cur += line[j];
      }
      if (j >= line.length) throw new Error(`unterminated double quote in: ${line}`);
      i = j;
      inWord = true;
    } else if (c === '\\' && i + 1 < line.length) {
      cur += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}

export async function pathExists(conn: CommandConnection, path: string): Promise<boolean> {
  return (await conn.exec(['test', '-e', path])).code === 0;
}

/** Reads a file on the host; undefined when it does not exist. */
export async function readFileOn(conn: CommandConnection, path: string): Promise<{ content: string; mode: string } | undefined> {
  const r = await conn.exec(`if [ -f ${shellQuote(path)} ]; then stat -c %a ${shellQuote(path)} && cat -- ${shellQuote(path)}; else exit 3; fi`);
  if (r.code === 3) return undefined;
  if (r.code !== 0) throw new Error(`cannot read ${path}: ${r.stderr.trim()}`);
  const nl = r.stdout.indexOf('\n');
  return { mode: r.stdout.slice(0, nl).trim(), content: r.stdout.slice(nl + 1) };
}

export async function writeFileOn(conn: CommandConnection, path: string, content: string, mode?: string, become?: boolean): Promise<void> {
  const tmp = `${path}.meshplay-${process.pid}`;
  const chmod = mode ? ` && chmod ${shellQuote(mode)} ${shellQuote(tmp)}` : '';
  const r = await conn.exec(`umask 077 && cat > ${shellQuote(tmp)}${chmod} && mv -f ${shellQuote(tmp)} ${shellQuote(path)}`, { stdin: content, become });
  if (r.code !== 0) throw new Error(`cannot write ${path}: ${r.stderr.trim()}`);
}

export function normalizeMode(mode: unknown): string | undefined {
  if (mode === undefined || mode === null) return undefined;
  if (typeof mode === 'number') return mode.toString(8).padStart(4, '0');
  return String(mode).replace(/^0o/, '0').padStart(4, '0');
}
