// Runs the compiled meshplay CLI as a user would, and parses ndjson events when asked for.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const cliPath = join(repoRoot, 'dist', 'bin', 'cli.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  events: Record<string, any>[];
}

export function meshplay(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], {
      cwd: options.cwd ?? repoRoot,
      env: { ...process.env, NO_COLOR: '1', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .flatMap((l) => {
          try {
            return [JSON.parse(l)];
          } catch {
            return [];
          }
        });
      resolve({ code: code ?? -1, stdout, stderr, events });
    });
  });
}

export interface SignalledRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  events: Record<string, any>[];
  /** Signals delivered to the process (kill() succeeded: it was still running). */
  delivered: number;
}

/**
 * Runs meshplay with ndjson output and sends `signals` (one after the other, 50 ms apart) once an event matches
 * `when`: a run killed or interrupted at a chosen point. Resolves when the process has ended.
 */
export function meshplaySignalled(args: string[], when: (e: Record<string, any>) => boolean, signals: NodeJS.Signals[], timeoutMs = 120_000): Promise<SignalledRun> {
  const child = spawn(process.execPath, [cliPath, ...args, '--output', 'ndjson'], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const events: Record<string, any>[] = [];
  let buf = '';
  let sent = false;
  let delivered = 0;
  child.stdout.on('data', (d) => {
    buf += d;
    const lines = buf.split('\n');
    buf = lines.pop()!;
    for (const l of lines) {
      if (!l.trim()) continue;
      const e = JSON.parse(l);
      events.push(e);
      if (!sent && when(e)) {
        sent = true;
        signals.forEach((s, i) => setTimeout(() => child.exitCode === null && child.signalCode === null && child.kill(s) && delivered++, i * 50));
      }
    }
  });
  child.stderr.resume();
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (buf.trim()) events.push(JSON.parse(buf));
      resolve({ code, signal, events, delivered });
    }),
  );
}

export function recapOf(run: CliRun): Record<string, any> {
  const r = run.events.find((e) => e.type === 'recap');
  if (!r) throw new Error(`no recap in output:\n${run.stdout}\n${run.stderr}`);
  return r;
}

export function totals(run: CliRun): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of Object.values(recapOf(run).stats) as Record<string, number>[]) {
    for (const [k, v] of Object.entries(s)) out[k] = (out[k] ?? 0) + v;
  }
  return out;
}

export function results(run: CliRun, task?: string): Record<string, any>[] {
  return run.events.filter((e) => e.type === 'task_result' && (task === undefined || e.task === task));
}

/**
 * Every failed or unreachable task result of a run, one line each, plus the exit code and stderr's end when the
 * run did not exit 0: '' for a clean run, so `t.equal(failures(run), '')` shows what went wrong when it fails.
 */
export function failures(run: CliRun): string {
  return (
    results(run)
      .filter((r) => r.status === 'failed' || r.status === 'unreachable' || r.result?.failed)
      .map((r) => `${r.host} ${r.task} (${r.status}): ${r.result?.msg ?? JSON.stringify(r.result).slice(0, 500)}`)
      .join('\n') + (run.code !== 0 ? `\nexit ${run.code}\n${run.stderr.slice(-2000)}` : '')
  );
}
