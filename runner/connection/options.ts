import type { Host } from '../inventory/types.js';

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
}
