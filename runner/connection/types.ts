// The connection interface every transport implements. Modules only talk to hosts through it,
// so local, SSH and Kubernetes transports are interchangeable from the executor's point of view.

export interface ExecOptions {
  /** Written to the command's standard input, then closed. */
  stdin?: string;
  /** Run through `sudo -n` (or `sudo -S` when becomePassword is set). */
  become?: boolean;
  becomePassword?: string;
  /** Kill the command and fail after this many milliseconds. */
  timeoutMs?: number;
  env?: Record<string, string>;
  cwd?: string;
}

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; -1 when the command was killed by a signal or timed out. */
  code: number;
  /** Time spent running the command, excluding connection set-up. */
  durationMs: number;
}

export interface ConnectionTimings {
  /** Time to establish the transport (TCP + handshake + auth), 0 for local. */
  connectMs: number;
  commands: number;
  commandMs: number;
}

export interface Connection {
  readonly kind: 'local' | 'ssh' | 'kubernetes';
  /** Inventory host name this connection serves. */
  readonly host: string;
  timings(): ConnectionTimings;
  close(): Promise<void>;
}

/** A connection that can run commands: argv arrays run without a shell, strings through `sh -c`. */
export interface CommandConnection extends Connection {
  exec(command: string[] | string, options?: ExecOptions): Promise<ExecResult>;
}

export function isCommandConnection(c: Connection): c is CommandConnection {
  return typeof (c as CommandConnection).exec === 'function';
}

/** A connection that knows its host's facts by its own means (a cluster's version, API groups and nodes). */
export interface FactSource extends Connection {
  gatherFacts(): Promise<Record<string, unknown>>;
}

export function isFactSource(c: Connection): c is FactSource {
  return typeof (c as FactSource).gatherFacts === 'function';
}

/** Requests sent over an API connection, for the transport summary. */
export interface RequestCounts {
  /** Requests sent, by verb (retries count separately). */
  byVerb: Partial<Record<string, number>>;
  /** Mutations that could have persisted something (not dry-run, not the mesh Lease). */
  persisting: number;
  dryRun: number;
  /** Writes of the mesh Lease (taken, renewed, released): the lock, not the mesh. */
  lock: number;
  total: number;
}

export interface RequestCounter extends Connection {
  requestCounts(): RequestCounts;
}

export function isRequestCounter(c: Connection): c is RequestCounter {
  return typeof (c as RequestCounter).requestCounts === 'function';
}

/**
 * The host cannot be reached (connect timeout, auth failure, dropped transport, host key refusal).
 * The executor counts it as unreachable, not failed, and removes the host from the play.
 */
export class UnreachableError extends Error {
  readonly host: string;
  constructor(host: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'UnreachableError';
    this.host = host;
  }
}
