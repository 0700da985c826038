// Running commands and handling the lab's own daemons. PIDs are only ever taken from the lab's
// state dir, and checked against /proc (binary and command line) before any signal is sent.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { readFile, readlink, realpath } from 'node:fs/promises';

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  input?: string;
  /** Throw when the exit code is not 0 (default true). */
  check?: boolean;
  timeoutMs?: number;
}

export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const check = opts.check ?? true;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: cleanEnv() });
    let stdout = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => {
      if (timer) clearTimeout(timer);
      reject(new Error(`cannot run ${cmd}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      const exitCode = code ?? 128;
      if (check && exitCode !== 0) {
        const why = signal ? `killed by ${signal}` : `exit ${exitCode}`;
        reject(new Error(`${cmd} ${args.join(' ')}: ${why}: ${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolve({ stdout, stderr, exitCode });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** A small, predictable environment for the daemons and tools the lab starts. */
export function cleanEnv(): NodeJS.ProcessEnv {
  return { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8', HOME: '/root' };
}

/** Map with at most `limit` tasks in flight. */
export async function pool<T, R>(items: T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readFile(path, 'utf8')).trim());
    return Number.isInteger(pid) && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when `pid` is a live process running `binary` (any binary when undefined) whose command line mentions
 * `marker` (a path in the lab's state dir), so a recycled PID is never mistaken for a lab daemon.
 */
export async function isLabProcess(pid: number, binary: string | undefined, marker: string): Promise<boolean> {
  try {
    const exe = (await readlink(`/proc/${pid}/exe`)).replace(/ \(deleted\)$/, '');
    // /proc shows the resolved path: a binary reached through a symlink (../shared linked elsewhere) must compare
    // resolved too, or its daemons would never be stopped.
    if (binary !== undefined && exe !== binary && exe !== (await realpath(binary).catch(() => binary))) return false;
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    return cmdline.includes(marker);
  } catch {
    return false;
  }
}

/** A live process; a child that exited but is not reaped yet (a zombie) still answers kill(0) and counts as gone. */
export function isAlive(pid: number | undefined): pid is number {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return false;
  }
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. Verified lab processes only. */
export async function stopLabProcess(pid: number | undefined, binary: string | undefined, marker: string, graceMs = 2000): Promise<boolean> {
  if (!isAlive(pid) || !(await isLabProcess(pid, binary, marker))) return false;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
      break;
    }
    await sleep(20);
  }
  return true;
}

