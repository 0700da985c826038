// One connection per host for the whole run, opened lazily on first use and shared by every task.
import type { Connection } from '../connection/types.js';
import type { ConnectOptions, SshKeyCache } from '../connection/options.js';
import type { Host, Inventory } from '../inventory/types.js';

type Connector = (options: ConnectOptions) => Promise<Connection>;

const connectors: Record<Host['connection'], () => Promise<Connector>> = {
  local: async () => (await import('../connection/local.js')).connect,
  ssh: async () => (await import('../connection/ssh.js')).connect as Connector,
  kubernetes: async () => (await import('../connection/kubernetes.js')).connect as Connector,
};

export interface PoolOptions {
  inventory: Inventory;
  acceptNewHostKeys: boolean;
  /** Connections being opened at once (default 256); the rest wait for a slot, not for a fork. */
  maxConnecting?: number;
  hostVars(host: string): Record<string, unknown>;
  log(level: number, message: string, host?: string): void;
  warn(message: string, host?: string): void;
  secret(value: string): void;
  signal: AbortSignal;
}

export class ConnectionPool {
  private readonly open = new Map<string, Promise<Connection>>();
  private connecting = 0;
  private readonly waiting: (() => void)[] = [];
  /** SSH keys parsed for this pool's connections (one pool per run): read once per run, never from an earlier run. */
  private readonly sshKeys: SshKeyCache = new Map();

  constructor(private readonly options: PoolOptions) {}

  get(hostName: string): Promise<Connection> {
    let c = this.open.get(hostName);
    if (!c) {
      c = this.connect(hostName);
      // A failed connect stays failed for the run: the host is unreachable, later tasks must not retry it.
      c.catch(() => undefined);
      this.open.set(hostName, c);
    }
    return c;
  }

  /** Starts opening the connections of these hosts (at most maxConnecting at once); failures surface on get(). */
  prefetch(hostNames: string[]): void {
    for (const h of hostNames) if (!this.open.has(h)) void this.get(h);
  }

  private async connect(hostName: string): Promise<Connection> {
    // A slot is handed straight to the next waiter, so the count never exceeds the limit.
    if (this.connecting >= (this.options.maxConnecting ?? 256)) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.connecting++;
    try {
      return await this.open1(hostName);
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.connecting--;
    }
  }

  private async open1(hostName: string): Promise<Connection> {
    const host = this.options.inventory.hosts.get(hostName);
    if (!host) throw new Error(`unknown host '${hostName}'`);
    const o = this.options;
    // As Ansible's ansible_connection: lets a test inventory or a workstation run a node's tasks locally.
    const vars = o.hostVars(hostName); // every variable of the host, rendered: built once per connection
    const override = vars.ansible_connection;
    const kind = override === 'local' || override === 'ssh' || override === 'kubernetes' ? override : host.connection;
    const connect = await connectors[kind]();
    return connect({
      host,
      vars,
      acceptNewHostKeys: o.acceptNewHostKeys,
      log: (level, message) => o.log(level, message, hostName),
      warn: (message) => o.warn(message, hostName),
      secret: o.secret,
      signal: o.signal,
      sshKeys: this.sshKeys,
    });
  }

  /** Connections actually opened, for the transport summary. */
  async opened(): Promise<Connection[]> {
    const settled = await Promise.allSettled(this.open.values());
    return settled.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  }

  async closeAll(): Promise<void> {
    await Promise.allSettled((await this.opened()).map((c) => c.close()));
    this.open.clear();
  }
}
