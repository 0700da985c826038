// Asking for a password as Python's getpass (which Ansible uses) does: on the controlling terminal with echo
// off when there is one (even when stdin is a pipe), else from stdin after a warning on stderr.
import { openSync, closeSync, writeSync } from 'node:fs';
import { ReadStream } from 'node:tty';

/** The operator ended the input (ctrl-d, or stdin closed) before giving a password. */
export class PromptEOF extends Error {
  constructor() {
    super('EOF on prompt');
    this.name = 'PromptEOF';
  }
}

/** ctrl-c at the prompt. */
export class PromptInterrupted extends Error {
  constructor() {
    super('interrupted at the prompt');
    this.name = 'PromptInterrupted';
  }
}

export async function askPassword(prompt: string): Promise<string> {
  let fd: number;
  try {
    fd = openSync('/dev/tty', 'r+');
  } catch {
    process.stderr.write(`Warning: Password input may be echoed.\n${prompt}`);
    const line = await readStdinLine();
    if (line === undefined) throw new PromptEOF();
    return line;
  }
  return readFromTerminal(fd, prompt);
}

/** Reads one line in raw mode (so nothing is echoed), handling backspace, ctrl-u, ctrl-c and ctrl-d. */
function readFromTerminal(fd: number, prompt: string): Promise<string> {
  const input = new ReadStream(fd);
  // Echo goes off before the prompt appears, so nothing typed after the prompt is ever shown (as getpass does).
  input.setRawMode(true);
  writeSync(fd, prompt);
  return new Promise<string>((resolve, reject) => {
    let typed = '';
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.setRawMode(false);
      writeSync(fd, '\n');
      // The stream owns the descriptor: destroying it closes /dev/tty.
      input.destroy();
      if (error) reject(error);
      else resolve(typed);
    };
    const onData = (chunk: Buffer) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new PromptInterrupted());
        if (ch === '\u0004') {
          if (typed === '') return finish(new PromptEOF());
          continue;
        }
        if (ch === '\u007f' || ch === '\b') typed = [...typed].slice(0, -1).join('');
        else if (ch === '\u0015') typed = '';
        else typed += ch;
      }
    };
    input.on('data', onData);
    input.on('error', (e) => {
      try {
        closeSync(fd);
      } catch {
        /* already closed */
      }
      reject(e);
    });
  });
}

// stdin is read once; each prompt takes its next line (a new password, then its confirmation), as Python's
// buffered readline does, and a command reading its input from `-` gets what the prompts left.
let stdinBytes: Promise<Buffer> | undefined;
let cursor = 0;

function readAllStdin(): Promise<Buffer> {
  stdinBytes ??= new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks)));
    process.stdin.on('error', reject);
  });
  return stdinBytes;
}

async function readStdinLine(): Promise<string | undefined> {
  const data = await readAllStdin();
  if (cursor >= data.length) return undefined;
  const newline = data.indexOf(0x0a, cursor);
  const end = newline < 0 ? data.length : newline;
  const line = data.subarray(cursor, end).toString('utf8');
  cursor = newline < 0 ? data.length : newline + 1;
  return line.replace(/\r$/, '');
}

/** The rest of stdin (after any lines prompts took), for commands that read their input from `-`. */
export async function readStdinRest(): Promise<Buffer> {
  const data = await readAllStdin();
  const rest = data.subarray(cursor);
  cursor = data.length;
  return rest;
}
