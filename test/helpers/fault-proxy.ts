// A fault-injecting HTTPS proxy between meshplay and a real kube-apiserver (issue 19 point 3). It serves with the
// API server's own serving certificate (so meshplay verifies it against the cluster CA as usual) and forwards to the
// real server with the admin client certificate. Faults are scripted per request (method + path): an HTTP status
// with or without Retry-After, a connection reset before or after the real server acted, a stalled answer, or a
// TLS handshake that never completes. Every request it sees is logged with the time and what was done to it.
import fs from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';

export type FaultAction =
  | { status: number; retryAfter?: string }
  /** Drop the connection without forwarding: the server never saw the request. */
  | { reset: 'before' }
  /** Forward, let the real server act, then drop the connection instead of answering. */
  | { reset: 'after' }
  /** Hold the request this long without answering, then drop it. */
  | { stallMs: number };

export interface Fault {
  method?: string;
  path: RegExp;
  /** How many matching requests get the fault (then they pass through). */
  times: number;
  action: FaultAction;
}

export interface Seen {
  at: number;
  method: string;
  path: string;
  /** What the proxy did: 'forwarded' or the fault's description. */
  outcome: string;
  /** The real server's status, for a request forwarded and answered. */
  status?: number;
}

export interface Upstream {
  url: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}

export class FaultProxy {
  readonly seen: Seen[] = [];
  private faults: Fault[] = [];
  private constructor(
    private readonly server: https.Server,
    readonly url: string,
  ) {}

  static async start(upstream: Upstream, serving: { certFile: string; keyFile: string }): Promise<FaultProxy> {
    const agent = new https.Agent({ keepAlive: true, ca: fs.readFileSync(upstream.caFile), cert: fs.readFileSync(upstream.certFile), key: fs.readFileSync(upstream.keyFile) });
    const server = https.createServer({ cert: fs.readFileSync(serving.certFile), key: fs.readFileSync(serving.keyFile) });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const proxy = new FaultProxy(server, `https://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const method = req.method ?? 'GET';
        const path = req.url ?? '/';
        const fault = proxy.take(method, path);
        const log = (outcome: string): Seen => {
          const entry: Seen = { at: Date.now(), method, path, outcome };
          proxy.seen.push(entry);
          return entry;
        };
        const forward = (done: (status: number, headers: Record<string, string | string[] | undefined>, body: Buffer) => void) => {
          const headers = { ...req.headers };
          delete headers.host;
          delete headers.authorization;
          const up = https.request(new URL(path, upstream.url), { method, headers, agent }, (ures) => {
            const body: Buffer[] = [];
            ures.on('data', (c: Buffer) => body.push(c));
            ures.on('end', () => done(ures.statusCode ?? 502, ures.headers, Buffer.concat(body)));
          });
          up.on('error', () => {
            res.writeHead(502).end();
          });
          up.end(Buffer.concat(chunks));
        };
        if (!fault) {
          const entry = log('forwarded');
          forward((status, headers, body) => {
            entry.status = status;
            delete headers['transfer-encoding'];
            delete headers.connection;
            res.writeHead(status, { ...headers, 'content-length': String(body.length) }).end(body);
          });
          return;
        }
        const a = fault.action;
        if ('status' in a) {
          log(`${a.status}${a.retryAfter !== undefined ? ` Retry-After ${a.retryAfter}` : ''}`);
          const body = JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', message: `injected ${a.status}`, reason: a.status === 429 ? 'TooManyRequests' : 'ServiceUnavailable', code: a.status });
          res.writeHead(a.status, { 'content-type': 'application/json', ...(a.retryAfter !== undefined ? { 'retry-after': a.retryAfter } : {}) }).end(body);
        } else if ('reset' in a && a.reset === 'before') {
          log('reset before forwarding');
          req.socket.destroy();
        } else if ('reset' in a) {
          forward(() => {
            log('reset after the server acted');
            req.socket.destroy();
          });
        } else {
          log(`stalled ${a.stallMs} ms`);
          setTimeout(() => req.socket.destroy(), a.stallMs);
        }
      });
    });
    return proxy;
  }

  inject(...faults: Fault[]): void {
    this.faults.push(...faults.map((f) => ({ ...f })));
  }

  clear(): void {
    this.faults = [];
  }

  /** Requests seen since `since` (ms epoch) matching method and path. */
  count(method: string, path: RegExp, since = 0): Seen[] {
    return this.seen.filter((s) => s.at >= since && s.method === method && path.test(s.path));
  }

  private take(method: string, path: string): Fault | undefined {
    const f = this.faults.find((x) => x.times > 0 && (!x.method || x.method === method) && x.path.test(path));
    if (f) f.times--;
    return f;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** A TCP listener that accepts connections and never says a word: a TLS handshake that hangs. */
export async function silentListener(): Promise<{ url: string; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
