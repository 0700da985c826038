// The Kubernetes transport: one authenticated HTTPS client per cluster host for the whole run, with a keep-alive
// agent and one TLS context (the client key is parsed once, sockets and TLS sessions are reused).
// Where the server is and how to authenticate comes from runner/k8s/resolve.ts (every inventory `api` form);
// credential plugins run through runner/k8s/exec-credential.ts; @kubernetes/client-node (~0.3 s to import) is
// loaded only for legacy auth providers.
import https from 'node:https';
import tls from 'node:tls';
import { sleep } from '../sleep.js';
import type { StaticCredentials } from '../k8s/kubeconfig.js';
import { resolveApi, ApiSettingsError, type ResolvedApi } from '../k8s/resolve.js';
import { ExecCredentialSource, ExecPluginError, type ExecCredentialResult } from '../k8s/exec-credential.js';
import type { ConnectionTimings, FactSource, RequestCounter, RequestCounts } from './types.js';
import { UnreachableError } from './types.js';
import { DEFAULT_RETRY_POLICY, isServerTrouble, retryDelay, type AttemptOutcome, type RetryPolicy } from '../k8s/retry.js';
import type { ConnectOptions } from './options.js';
import type { ApiSettings } from '../inventory/types.js';

export type Verb = 'GET' | 'LIST' | 'WATCH' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface KubeRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  /** Adds dryRun=All: the server runs admission and defaulting but persists nothing. */
  dryRun?: boolean;
  /** Counted as LIST rather than GET (collection reads). */
  list?: boolean;
  /** The run's own bookkeeping (the mesh Lease): counted apart, not as a change to the mesh. */
  lock?: boolean;
}


/** A status the API server answered with (>= 400), carrying its Status object. */
export class KubeApiError extends Error {
  readonly status: number;
  readonly reason?: string;
  readonly causes: { reason?: string; message?: string; field?: string }[];
  readonly verb: string;
  readonly path: string;
  constructor(verb: string, path: string, status: number, body: any, host: string) {
    const message: string = body?.message ?? (typeof body === 'string' ? body.slice(0, 300) : `HTTP ${status}`);
    super(`${host}: ${verb} ${path}: ${status} ${body?.reason ?? ''}: ${message}`.replace(/ {2,}/g, ' '));
    this.name = 'KubeApiError';
    this.status = status;
    this.reason = body?.reason;
    this.causes = body?.details?.causes ?? [];
    this.verb = verb;
    this.path = path;
  }
}

export interface ApiResourceInfo {
  group: string;
  version: string;
  apiVersion: string;
  kind: string;
  /** Plural resource name used in URLs. */
  name: string;
  namespaced: boolean;
  verbs: string[];
}

const unreachableCodes = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'ECONNECT_TIMEOUT']);

/** What one failed attempt was, for the retry rule. */
function failedAttempt(e: any): AttemptOutcome {
  const code = String(e?.code ?? '');
  if (code === 'ECONNRESET' || code === 'EPIPE') return { kind: 'reset' };
  if (e?.stalled) return { kind: 'stalled' };
  return { kind: 'connect-failed' };
}

/** Errors that mean the cluster could not be reached at all (as opposed to a bug in meshplay). */
function isConnectError(e: any): boolean {
  return unreachableCodes.has(String(e?.code ?? '')) || isTlsError(e);
}

function isTlsError(e: any): boolean {
  const code = String(e?.code ?? '');
  return code.startsWith('ERR_TLS') || code.startsWith('ERR_SSL') || /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|DEPTH_ZERO/.test(code);
}

/** A response body: its JSON (a Status object on errors), or the text itself when it is not JSON. */
function responseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * What one line of a watch stream means for a waiter: ADDED/MODIFIED/DELETED are changes; an ERROR event (410
 * Gone when the version was compacted), a BOOKMARK or anything unreadable ends the watch without one.
 */
export function watchEventOutcome(line: string): 'changed' | 'ended' {
  let type: unknown;
  try {
    type = (JSON.parse(line) as { type?: unknown }).type;
  } catch {
    return 'ended';
  }
  return type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED' ? 'changed' : 'ended';
}

export class KubernetesConnection implements FactSource, RequestCounter {
  readonly kind = 'kubernetes' as const;
  readonly host: string;
  readonly server: string;
  private agent: https.Agent;
  private headers: Record<string, string>;
  private readonly creds: StaticCredentials;
  /** A credential plugin: asked before requests (it caches until expiry) and again after a 401. */
  private readonly plugin?: ExecCredentialSource;
  private pluginCredential?: ExecCredentialResult;
  private readonly counts: RequestCounts = { byVerb: {}, persisting: 0, dryRun: 0, lock: 0, total: 0 };
  private readonly timing: ConnectionTimings = { connectMs: 0, commands: 0, commandMs: 0 };
  private readonly groupVersions = new Map<string, Promise<ApiResourceInfo[] | undefined>>();
  private groupsCache?: Promise<string[]>;
  /** Each wait for an answer, once connected (kubernetes_request_timeout). */
  private readonly timeoutMs: number;
  /** Opening a new connection, TLS handshake included (kubernetes_connect_timeout). */
  private readonly connectTimeoutMs: number;
  private readonly retry: RetryPolicy;

  constructor(host: string, creds: StaticCredentials, headers: Record<string, string>, timeouts: { requestMs: number; connectMs: number; retry?: RetryPolicy }, plugin?: ExecCredentialSource) {
    this.host = host;
    this.server = creds.server;
    this.creds = creds;
    this.headers = headers;
    this.timeoutMs = timeouts.requestMs;
    this.connectTimeoutMs = timeouts.connectMs;
    this.retry = timeouts.retry ?? DEFAULT_RETRY_POLICY;
    this.plugin = plugin;
    this.agent = this.makeAgent(creds.cert, creds.key);
  }

  private makeAgent(cert?: Buffer, key?: Buffer): https.Agent {
    return new https.Agent({
      keepAlive: true,
      secureContext: tls.createSecureContext({ ca: this.creds.ca, cert, key }),
      rejectUnauthorized: !this.creds.insecure,
      servername: this.creds.tlsServerName,
    });
  }

  /** Brings the plugin's credential into the headers (and the TLS context, for a client certificate). */
  private async usePlugin(force = false): Promise<void> {
    if (!this.plugin) return;
    let c: ExecCredentialResult;
    try {
      c = await this.plugin.get(force);
    } catch (e) {
      if (e instanceof ExecPluginError) throw new UnreachableError(this.host, `${this.host}: ${e.message}`, { cause: e });
      throw e;
    }
    if (c === this.pluginCredential) return;
    this.pluginCredential = c;
    const headers = { ...this.headers };
    delete headers.Authorization;
    if (c.token) headers.Authorization = `Bearer ${c.token}`;
    this.headers = headers;
    if (c.cert) {
      this.agent.destroy();
      this.agent = this.makeAgent(c.cert, c.key);
    }
  }

  /** How many times the credential plugin ran (0 without one). */
  pluginRuns(): number {
    return this.plugin?.runs ?? 0;
  }

  timings(): ConnectionTimings {
    return { ...this.timing };
  }

  async close(): Promise<void> {
    this.agent.destroy();
  }

  /** Set once by connect(): time to read credentials and get the first answer. */
  recordConnectTime(ms: number): void {
    this.timing.connectMs = ms;
  }

  requestCounts(): RequestCounts {
    return { byVerb: { ...this.counts.byVerb }, persisting: this.counts.persisting, dryRun: this.counts.dryRun, lock: this.counts.lock, total: this.counts.total };
  }

  private count(req: KubeRequest): void {
    this.countVerb(req.method === 'GET' && req.list ? 'LIST' : req.method);
    if (req.method !== 'GET') {
      if (req.dryRun) this.counts.dryRun++;
      else if (req.lock) this.counts.lock++;
      else this.counts.persisting++;
    }
  }

  private countVerb(verb: Verb): void {
    this.counts.byVerb[verb] = (this.counts.byVerb[verb] ?? 0) + 1;
    this.counts.total++;
  }

  /**
   * Sends one request and returns the parsed body. Server trouble (429, 5xx), resets and stalled responses are
   * retried as runner/k8s/retry.ts decides (Retry-After honoured; a POST is not repeated unless the server said to);
   * when the retries run out the cluster counts as unreachable (exit 4), naming the last answer. Never retries 4xx.
   */
  async request<T = any>(req: KubeRequest): Promise<T> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(req.query ?? {})) if (v !== undefined) query.set(k, String(v));
    if (req.dryRun) query.set('dryRun', 'All');
    const qs = query.toString();
    const url = new URL(this.server.replace(/\/$/, '') + req.path + (qs ? `?${qs}` : ''));
    const payload =
      req.body === undefined ? undefined : typeof req.body === 'string' ? req.body : JSON.stringify(req.body);
    const verb = req.method === 'GET' && req.list ? 'LIST' : req.method;
    const what = `${verb} ${req.path}`;
    let renewed = false;
    await this.usePlugin();
    for (let attempt = 1; ; attempt++) {
      this.count(req);
      const t0 = Date.now();
      let res: { status: number; body: string; retryAfter?: string };
      try {
        res = await this.send(req.method, url, payload, req.contentType);
      } catch (e: any) {
        const outcome = failedAttempt(e);
        const wait = retryDelay(req.method, outcome, attempt, this.retry);
        if (wait !== undefined) {
          await sleep(wait);
          continue;
        }
        if (outcome.kind !== 'connect-failed' || isConnectError(e)) {
          const tries = attempt > 1 ? ` after ${attempt} tries` : '';
          throw new UnreachableError(this.host, `${this.host}: Kubernetes API ${this.server} unreachable (${what})${tries}: ${e?.message ?? e?.code}`, { cause: e });
        }
        throw e;
      } finally {
        this.timing.commands++;
        this.timing.commandMs += Date.now() - t0;
      }
      if (isServerTrouble(res.status)) {
        const wait = retryDelay(req.method, { kind: 'response', status: res.status, retryAfter: res.retryAfter }, attempt, this.retry);
        if (wait !== undefined) {
          await sleep(wait);
          continue;
        }
        // The server kept failing: the run cannot know what the cluster holds, so the host is unreachable, never
        // a partial apply reported as done. The last answer says why (an admission webhook's error, a 503, ...).
        const last = new KubeApiError(verb, req.path, res.status, res.body ? responseBody(res.body) : undefined, this.host);
        throw new UnreachableError(this.host, `${this.host}: Kubernetes API ${this.server} answered ${res.status} to ${what}${attempt > 1 ? ` ${attempt} times` : ''}; last answer: ${last.message.replace(`${this.host}: `, '')}`, { cause: last });
      }
      if (res.status === 401 && this.plugin && !renewed) {
        // The server no longer accepts the plugin's credential (revoked, or expired early): ask the plugin once more.
        renewed = true;
        await this.usePlugin(true);
        attempt--;
        continue;
      }
      const body: any = res.body ? responseBody(res.body) : undefined;
      if (res.status >= 400) throw new KubeApiError(verb, req.path, res.status, body, this.host);
      return body as T;
    }
  }

  private send(method: string, url: URL, payload: string | undefined, contentType?: string): Promise<{ status: number; body: string; retryAfter?: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string | number> = { ...this.headers, Accept: 'application/json' };
      if (payload !== undefined) {
        headers['Content-Type'] = contentType ?? 'application/json';
        headers['Content-Length'] = Buffer.byteLength(payload);
      }
      let connected = false;
      let connectTimer: NodeJS.Timeout | undefined;
      const req = https.request(url, { agent: this.agent, method, headers, timeout: this.timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), retryAfter: res.headers['retry-after'] as string | undefined }),
        );
        res.on('error', reject);
      });
      // Two clocks: opening the connection (kubernetes_connect_timeout), then each wait for the server's answer
      // (kubernetes_request_timeout). A cluster that does not answer at all costs one connect timeout.
      req.on('socket', (socket) => {
        if (req.reusedSocket) {
          connected = true; // a kept-alive connection: only the answer's clock runs
          return;
        }
        connectTimer = setTimeout(() => req.destroy(Object.assign(new Error(`no connection within ${this.connectTimeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' })), this.connectTimeoutMs);
        socket.once('secureConnect', () => {
          connected = true;
          clearTimeout(connectTimer);
        });
      });
      req.on('timeout', () =>
        req.destroy(
          connected
            ? Object.assign(new Error(`no answer within ${this.timeoutMs} ms`), { code: 'ESTALLED', stalled: true })
            : Object.assign(new Error(`no connection within ${this.timeoutMs} ms`), { code: 'ECONNECT_TIMEOUT' }),
        ),
      );
      req.on('close', () => clearTimeout(connectTimer));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  }

  /**
   * Watches a collection from `resourceVersion` and resolves 'changed' at the first ADDED/MODIFIED/DELETED event
   * (the caller re-reads), 'ended' when the watch gives no such event: timeout, the server closing it, an ERROR
   * event (410 Gone: the version was compacted), a network error, or an abort. Rejects only when the server
   * refuses the watch (e.g. 403), so the caller can fall back to polling. Waiting this way answers as soon as a
   * controller acts, where polling would add up to one sleep interval.
   */
  watchForChange(path: string, query: Record<string, string>, timeoutMs: number, signal?: AbortSignal): Promise<'changed' | 'ended'> {
    const qs = new URLSearchParams({ ...query, watch: '1', allowWatchBookmarks: 'false', timeoutSeconds: String(Math.max(1, Math.ceil(timeoutMs / 1000))) });
    const url = new URL(this.server.replace(/\/$/, '') + path + `?${qs}`);
    this.countVerb('WATCH');
    return this.usePlugin().then(() => new Promise((resolve, reject) => {
      let settled = false;
      const finish = (value: 'changed' | 'ended' | Error) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        req.destroy();
        if (value instanceof Error) reject(value);
        else resolve(value);
      };
      const onAbort = () => finish('ended');
      const timer = setTimeout(() => finish('ended'), timeoutMs);
      const req = https.request(url, { agent: this.agent, method: 'GET', headers: { ...this.headers, Accept: 'application/json' } }, (res) => {
        if ((res.statusCode ?? 0) >= 400) {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => finish(new KubeApiError('WATCH', path, res.statusCode ?? 0, responseBody(Buffer.concat(chunks).toString('utf8')), this.host)));
          return;
        }
        let pending = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          pending += chunk;
          let nl: number;
          while ((nl = pending.indexOf('\n')) >= 0) {
            const line = pending.slice(0, nl).trim();
            pending = pending.slice(nl + 1);
            if (!line) continue;
            return finish(watchEventOutcome(line));
          }
        });
        res.on('end', () => finish('ended'));
        res.on('error', () => finish('ended'));
      });
      // A reset keep-alive socket or a restarting server: the caller sleeps and reads again, as polling would.
      req.on('error', () => finish('ended'));
      signal?.addEventListener('abort', onAbort);
      req.end();
    }));
  }

  /** GET that returns undefined on 404. */
  async getOrUndefined<T = any>(path: string): Promise<T | undefined> {
    try {
      return await this.request<T>({ method: 'GET', path });
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** All group/versions the server serves ("v1", "apps/v1", ...), cached for the run. */
  apiGroupVersions(): Promise<string[]> {
    this.groupsCache ??= (async () => {
      const core = await this.request<{ versions: string[] }>({ method: 'GET', path: '/api' });
      const groups = await this.request<{ groups: { versions: { groupVersion: string }[] }[] }>({ method: 'GET', path: '/apis' });
      return [...core.versions, ...groups.groups.flatMap((g) => g.versions.map((v) => v.groupVersion))];
    })();
    this.groupsCache.catch(() => (this.groupsCache = undefined));
    return this.groupsCache;
  }

  /** Resources of one group/version, or undefined when the server does not serve it. Cached for the run. */
  private resourcesOf(apiVersion: string, refresh = false): Promise<ApiResourceInfo[] | undefined> {
    let p = refresh ? undefined : this.groupVersions.get(apiVersion);
    if (!p) {
      p = (async () => {
        const path = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
        const list = await this.getOrUndefined<{ resources: { name: string; kind: string; namespaced: boolean; verbs: string[] }[] }>(path);
        if (!list) return undefined;
        const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
        return list.resources
          .filter((r) => !r.name.includes('/'))
          .map((r) => ({ group, version, apiVersion, kind: r.kind, name: r.name, namespaced: r.namespaced, verbs: r.verbs }));
      })();
      this.groupVersions.set(apiVersion, p);
      p.catch(() => this.groupVersions.delete(apiVersion));
    }
    return p;
  }

  /** Every resource of each group's preferred version that can be listed (no subresources); each version's discovery is cached. */
  async listableResources(): Promise<ApiResourceInfo[]> {
    const core = await this.request<{ versions: string[] }>({ method: 'GET', path: '/api' });
    const groups = await this.request<{ groups: { preferredVersion?: { groupVersion: string }; versions: { groupVersion: string }[] }[] }>({ method: 'GET', path: '/apis' });
    const versions = [...core.versions.slice(0, 1), ...groups.groups.map((g) => g.preferredVersion?.groupVersion ?? g.versions[0]!.groupVersion)];
    const out: ApiResourceInfo[] = [];
    for (const gv of versions) for (const r of (await this.resourcesOf(gv)) ?? []) if (r.verbs.includes('list')) out.push(r);
    return out;
  }

  /**
   * Finds the REST resource for apiVersion + kind through discovery. A miss re-reads once (CRDs may have been
   * installed earlier in the run), then fails with what the server offers.
   */
  async resourceFor(apiVersion: string, kind: string): Promise<ApiResourceInfo> {
    let resources = await this.resourcesOf(apiVersion);
    let found = resources?.find((r) => r.kind === kind);
    if (!found) {
      this.groupsCache = undefined;
      resources = await this.resourcesOf(apiVersion, true);
      found = resources?.find((r) => r.kind === kind);
    }
    if (found) return found;
    if (resources) {
      throw new Error(
        `${this.host}: the server has no kind '${kind}' in ${apiVersion}; it offers: ${resources.map((r) => r.kind).sort().join(', ')}`,
      );
    }
    const served = await this.apiGroupVersions();
    const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
    const sameGroup = served.filter((gv) => (gv.includes('/') ? gv.split('/')[0] : '') === group);
    throw new Error(
      `${this.host}: the server does not serve ${apiVersion} (kind ${kind}); ` +
        (sameGroup.length ? `versions of that group it serves: ${sameGroup.join(', ')}` : `API versions it serves: ${served.join(', ')}`) +
        (group.endsWith('istio.io') ? ' (are the Istio CRDs installed?)' : ''),
    );
  }

  /** URL path of an object or (without name) a collection. */
  pathFor(r: ApiResourceInfo, namespace?: string, name?: string): string {
    const base = r.group ? `/apis/${r.group}/${r.version}` : `/api/${r.version}`;
    const ns = r.namespaced && namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
    return `${base}${ns}/${r.name}${name ? `/${encodeURIComponent(name)}` : ''}`;
  }

  /** Facts for gather_facts on a cluster host. */
  async gatherFacts(): Promise<{ kubernetes: { server_version: string; api_groups: string[]; nodes: { name: string; addresses: { type: string; address: string }[]; pod_cidr?: string }[]; istio_crds: boolean } }> {
    const version = await this.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
    const gvs = await this.apiGroupVersions();
    const groups = [...new Set(gvs.map((gv) => (gv.includes('/') ? gv.split('/')[0] : 'core')))];
    const nodes = await this.request<{ items: any[] }>({ method: 'GET', path: '/api/v1/nodes', list: true });
    return {
      kubernetes: {
        server_version: version.gitVersion,
        api_groups: groups,
        nodes: nodes.items.map((n) => ({ name: n.metadata.name, addresses: n.status?.addresses ?? [], pod_cidr: n.spec?.podCIDR })),
        istio_crds: groups.includes('networking.istio.io'),
      },
    };
  }
}



/**
 * A kubeconfig user that authenticates through a legacy auth provider: @kubernetes/client-node runs it once and
 * hands back the Authorization header. Cluster settings stay those resolved by runner/k8s/resolve.ts.
 */
async function authProviderHeaders(hostName: string, files: string[], context: string): Promise<Record<string, string>> {
  const client = await import('@kubernetes/client-node');
  const kc = new client.KubeConfig();
  kc.loadFromFile(files[0]!);
  kc.setCurrentContext(context);
  const opts: https.RequestOptions = { headers: {} };
  try {
    await kc.applyToHTTPSOptions(opts);
  } catch (e: any) {
    throw new Error(`${hostName}: cannot use the Kubernetes credentials: ${e?.message ?? e}`, { cause: e });
  }
  return Object.fromEntries(Object.entries((opts.headers ?? {}) as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
}

/** Opens the cluster host's API connection and checks it answers (GET /version). */
export async function connect(options: ConnectOptions): Promise<KubernetesConnection> {
  const t0 = Date.now();
  const host = options.host;
  const api: ApiSettings = { ...(host.api ?? {}), ...((options.vars.api as ApiSettings | undefined) ?? {}) };
  if (api.token) options.secret(api.token);
  if (api.password) options.secret(api.password);
  if (!host.api && !options.vars.api) {
    throw new Error(`${host.name}: no Kubernetes API settings: give api.kubeconfig (+ api.context), or api.url with api.token_file or a client certificate`);
  }
  let r: ResolvedApi;
  try {
    r = resolveApi(api, process.env);
  } catch (e) {
    if (e instanceof ApiSettingsError) throw new Error(`${host.name}: ${e.message}${e.expected ? `; expected ${e.expected}` : ''}`, { cause: e });
    throw e;
  }
  if (r.insecure) {
    options.warn(`${host.name}: insecure_skip_tls_verify is set (${r.source}): the API server's certificate is NOT verified (anyone on the path can impersonate it)`);
  }
  let headers: Record<string, string> = {};
  let plugin: ExecCredentialSource | undefined;
  if (r.exec) {
    options.log(3, `${host.name}: ${r.source}: credential plugin ${r.exec.command}`);
    plugin = new ExecCredentialSource(r.exec, { server: r.server, ca: r.ca, tlsServerName: r.tlsServerName, insecure: r.insecure }, options.secret);
  } else if (r.authProvider) {
    options.log(3, `${host.name}: ${r.source} uses user.auth-provider: loading @kubernetes/client-node`);
    headers = await authProviderHeaders(host.name, r.authProvider.files, r.authProvider.context);
    const bearer = /^Bearer (.+)$/i.exec(headers.Authorization ?? headers.authorization ?? '')?.[1];
    if (bearer) options.secret(bearer);
  }
  // A client key read from a file or a kubeconfig's client-key-data (its base64 forms are registered with it).
  if (r.key?.length) options.secret(r.key.toString('utf8'));
  if (r.token) {
    options.secret(r.token);
    headers = { ...headers, Authorization: `Bearer ${r.token}` };
  }
  const creds: StaticCredentials = { server: r.server, ca: r.ca, cert: r.cert, key: r.key, token: r.token, insecure: r.insecure, tlsServerName: r.tlsServerName };
  const seconds = (name: string, fallback: number) => {
    const v = Number(options.vars[name] ?? fallback);
    return (Number.isFinite(v) && v > 0 ? v : fallback) * 1000;
  };
  const conn = new KubernetesConnection(host.name, creds, headers, { requestMs: seconds('kubernetes_request_timeout', 30), connectMs: seconds('kubernetes_connect_timeout', 10) }, plugin);
  try {
    await conn.request({ method: 'GET', path: '/version' });
  } catch (e) {
    if (e instanceof KubeApiError && (e.status === 401 || e.status === 403)) {
      // Anonymous access to /version is normal; a 401 means the credentials were rejected.
      if (e.status === 401) throw new UnreachableError(host.name, `${host.name}: the Kubernetes API ${conn.server} rejected the credentials (401 Unauthorized; ${r.credential} from ${r.source})`, { cause: e });
    } else throw e;
  }
  options.log(3, `${host.name}: connected to ${conn.server} in ${Date.now() - t0} ms`);
  conn.recordConnectTime(Date.now() - t0);
  return conn;
}
