import type { ParsedKey } from 'ssh2';
import type { Host } from '../inventory/types.js';

/** SSH private keys read and parsed, by file and passphrase (a parse error is kept as the Error ssh2 returns). */
export type SshKeyCache = Map<string, Promise<ParsedKey | Error>>;

/** What the executor hands a transport when it opens a connection to a host. */
export interface ConnectOptions {
  host: Host;
  /** Host variables, templated (passwords/tokens already resolved). */
  vars: Record<string, unknown>;
  /** --ssh-accept-new: record unknown host keys instead of failing. */
  acceptNewHostKeys: boolean;
  log(level: number, message: string): void;
  warn(message: string): void;
  /** Register a secret value so it is redacted from every output. */
  secret(value: string): void;
  signal: AbortSignal;
  /**
   * The run's parsed SSH keys, shared by its connections (ConnectionPool owns one per run): each key file is read
   * once per run, not once per node, and a run never uses a key file as an earlier run of the same process read it.
   * Without it the connection reads its own.
   */
  sshKeys?: SshKeyCache;
}
