// The controller itself: commands run as child processes of meshplay.
import { spawn } from 'node:child_process';
import type { ConnectOptions } from './options.js';
import type { CommandConnection, ConnectionTimings, ExecOptions, ExecResult } from './types.js';

export class LocalConnection implements CommandConnection {
  readonly kind = 'local' as const;
  private readonly stats: ConnectionTimings = { connectMs: 0, commands: 0, commandMs: 0 };

  constructor(readonly host: string) {}

  exec(command: string[] | string, options: ExecOptions = {}): Promise<ExecResult> {
    let argv = typeof command === 'string' ? ['/bin/sh', '-c', command] : command;
    if (options.become && process.getuid?.() !== 0) {
      argv = options.becomePassword ? ['sudo', '-S', '-p', '', '--', ...argv] : ['sudo', '-n', '--', ...argv];
    }
    const started = performance.now();
    return new Promise((resolve, reject) => {
      const child = spawn(argv[0], argv.slice(1), {
        cwd: options.cwd,
        env: options.env ? { ...process.env, ...options.env } : process.env,
        stdio: ['pipe', 'pipe', 'pipe'],
        timeout: options.timeoutMs,
      });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.on('error', (e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') {
          resolve(this.done(started, '', `${argv[0]}: command not found`, 127));
        } else reject(e);
      });
      child.on('close', (code) => resolve(this.done(started, Buffer.concat(out).toString(), Buffer.concat(err).toString(), code ?? -1)));
      child.stdin.on('error', () => undefined);
      const stdin = options.become && options.becomePassword ? `${options.becomePassword}\n${options.stdin ?? ''}` : options.stdin;
      child.stdin.end(stdin ?? '');
    });
  }

  private done(started: number, stdout: string, stderr: string, code: number): ExecResult {
    const durationMs = performance.now() - started;
    this.stats.commands++;
    this.stats.commandMs += durationMs;
    return { stdout, stderr, code, durationMs };
  }

  timings(): ConnectionTimings {
    return { ...this.stats };
  }

  async close(): Promise<void> {}
}

export async function connect(options: ConnectOptions): Promise<LocalConnection> {
  return new LocalConnection(options.host.name);
}
