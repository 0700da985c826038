// Test helpers: one real kube-apiserver + controller-manager (+ etcd) in a temp dir, stopped by PID at
// teardown, and a ModuleContext that drives the real k8s modules against it.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import nunjucks from 'nunjucks';
import { findKubeBinaries, installIstioCrds, kubeUp, startCluster, stopCluster, type KubeLabSpec, type StartedCluster } from '../../lab/kube/index.js';
import { issueClientCert } from '../../lab/kube/pki.js';
import { connect, type KubernetesConnection } from '../../runner/connection/kubernetes.js';
import type { Connection } from '../../runner/connection/types.js';
import type { ApiSettings, Host, Inventory } from '../../runner/inventory/types.js';
import type { ModuleContext } from '../../runner/modules/types.js';
import { RunScope } from '../../runner/modules/run-scope.js';
import { createTemplater } from '../../runner/template/index.js';

export interface TestCluster extends StartedCluster {
  /** Files of the admin client certificate and the CA, for cert-based connection tests. */
  files: { ca: string; adminCert: string; adminKey: string };
  /** Issues a client certificate (CN=user, O=group) signed by the cluster CA; returns file paths. */
  clientCert(user: string, group?: string): Promise<{ cert: string; key: string }>;
  /** The temp dir (a lab stateDir when started with labNodes). */
  stateDir: string;
  stop(): Promise<void>;
}

/**
 * Starts a single cluster in a temp dir. Throws (so the test fails, never skips) when the binaries are
 * missing, with the message saying how to provide them.
 */
export async function startTestCluster(name = 'test', serviceCidr = '10.96.0.0/16', opts: { istioCrds?: boolean; labNodes?: KubeLabSpec['clusters'][number]['nodes'] } = {}): Promise<TestCluster> {
  findKubeBinaries();
  const t0 = Date.now();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `meshplay-kube-${name}-`));
  let started: StartedCluster;
  if (opts.labNodes) {
    // Through the lab's own entry point: state under dir/kube/<name>, Nodes registered, Istio CRDs installed.
    const spec: KubeLabSpec = { clusters: [{ name, podCidr: '', serviceCidr, controlPlane: true, nodes: opts.labNodes }] };
    await kubeUp(spec, dir);
    started = await startCluster({ name, serviceCidr, dir: path.join(dir, 'kube', name) });
    started.startMs = Date.now() - t0;
  } else {
    started = await startCluster({ name, serviceCidr, dir });
    if (opts.istioCrds) await installIstioCrds(started.admin);
  }
  const root = started.dir;
  const pki = (f: string) => path.join(root, 'pki', f);
  return {
    ...started,
    files: { ca: pki('ca.crt'), adminCert: pki('admin.crt'), adminKey: pki('admin.key') },
    async clientCert(user, group) {
      const ca = { certPem: fs.readFileSync(pki('ca.crt'), 'utf8'), keyPem: fs.readFileSync(pki('ca.key'), 'utf8') };
      const kc = await issueClientCert(ca, user, group);
      const cert = path.join(root, `${user}.crt`);
      const key = path.join(root, `${user}.key`);
      fs.writeFileSync(cert, kc.certPem);
      fs.writeFileSync(key, kc.keyPem, { mode: 0o600 });
      return { cert, key };
    },
    stateDir: dir,
    async stop() {
      await stopCluster(root, true);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function clusterHost(name: string, api: ApiSettings): Host {
  return { name, kind: 'cluster', connection: 'kubernetes', cluster: name, api, vars: {} };
}

export interface Captured {
  warnings: string[];
  secrets: Set<string>;
  logs: string[];
}

export async function connectTo(name: string, api: ApiSettings, captured: Captured = { warnings: [], secrets: new Set(), logs: [] }): Promise<KubernetesConnection> {
  return connect({
    host: clusterHost(name, api),
    vars: {},
    acceptNewHostKeys: false,
    log: (_l, m) => captured.logs.push(m),
    warn: (m) => captured.warnings.push(m),
    secret: (v) => captured.secrets.add(v),
    signal: new AbortController().signal,
  });
}

const env = new nunjucks.Environment(null, { autoescape: false, throwOnUndefined: false });
/** Conditions go through the real templater: one truthiness (runner/template conditionValue). */
const realTemplater = createTemplater();

/** A ModuleContext for driving modules directly (no executor), with a nunjucks-based render. */
export function moduleContext(
  conn: Connection,
  opts: { check?: boolean; diff?: boolean; vars?: Record<string, unknown>; playbookDir?: string; roleDir?: string; others?: Record<string, Connection> } = {},
): ModuleContext & { captured: Captured } {
  const captured: Captured = { warnings: [], secrets: new Set(), logs: [] };
  const host = clusterHost(conn.host, {});
  const inventory: Inventory = {
    hosts: new Map([[host.name, host]]),
    groups: new Map([['all', [host.name]]]),
    clusters: [],
    vars: {},
    topology: 'single-control-plane',
    sources: [],
  };
  const render = (value: unknown, extra: Record<string, unknown> = {}): unknown => {
    if (typeof value !== 'string') return value;
    const ctxVars = { ...(opts.vars ?? {}), ...extra };
    const single = /^\{\{\s*(.+?)\s*\}\}$/.exec(value);
    if (single) {
      // Native type for a lone expression, as the real templater does.
      const out = env.renderString(`{% set __v = (${single[1]}) %}{{ 'true' if __v else 'false' }}`, ctxVars);
      return out === 'true';
    }
    return env.renderString(value, ctxVars);
  };
  return {
    captured,
    host,
    inventory,
    vars: opts.vars ?? {},
    check: opts.check ?? false,
    diff: opts.diff ?? false,
    become: false,
    playbookDir: opts.playbookDir ?? process.cwd(),
    roleDir: opts.roleDir,
    connection: async () => conn,
    connectionTo: async (name) => {
      const c = opts.others?.[name];
      if (!c) throw new Error(`no connection to ${name} in this test`);
      return c;
    },
    warn: (m) => captured.warnings.push(m),
    log: (_l, m) => captured.logs.push(m),
    secret: (v) => captured.secrets.add(v),
    signal: new AbortController().signal,
    render,
    condition: (expression, extra = {}) => realTemplater.condition(expression, { ...(opts.vars ?? {}), ...extra }),
    run: new RunScope(),
  };
}

/** A ConfigMap as the faults table compares it: its name and data (test/helpers/fault-table.ts). */
export const configMapItem = (name: string, data: Record<string, string> = { a: '1' }): string => `${name} ${JSON.stringify(data)}`;

/** Every ConfigMap the server holds in `namespace`, read through `conn`, as configMapItem strings. */
export async function configMapItems(conn: KubernetesConnection, namespace = 'default'): Promise<string[]> {
  const list = await conn.request<{ items?: any[] }>({ method: 'GET', path: `/api/v1/namespaces/${namespace}/configmaps`, list: true });
  return (list.items ?? []).map((i) => configMapItem(i.metadata.name, i.data ?? {}));
}
