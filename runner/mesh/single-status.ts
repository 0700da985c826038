// `meshplay status` for a single-control-plane mesh: one row per cluster, judged by the same probes the roles
// decide with (runner/mesh/remote-secret.ts, runner/mesh/discovery.ts, runner/mesh/mtls.ts, runner/routes/node.ts).
// Read-only. Connections come from the caller, opened as a run opens them (one per host, ansible_connection,
// the cluster's timeouts and retry rule). A probe that cannot tell leaves its field unknown, never healthy or off.
import type { Connection, CommandConnection } from '../connection/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { Host, Inventory } from '../inventory/types.js';
import { listRemoteSecrets, probeRemoteSecret, remoteSecretName, remoteSecretProblem, type RemoteSecretHealth } from './remote-secret.js';
import { defaultDiscoveryServices, discoveryDrift, type DiscoveryMode } from './discovery.js';
import { meshMtls, type MeshMtls } from './mtls.js';
import { listGateways, type ClusterGateways } from './gateways.js';

export interface ClusterStatus {
  cluster: string;
  role: 'control-plane' | 'remote';
  api: { reachable: boolean; version?: string; error?: string };
  /** Remotes: the istio-remote-secret in the control plane and what its kubeconfig may do. */
  secret?: RemoteSecretHealth;
  /** Remotes: discovery Endpoints vs the control plane's current addresses. */
  endpoints?: { mode: string; inSync: boolean; stale: string[]; error?: string };
  /** Control plane: mesh-wide mTLS ('unknown' when the policies could not be read: never taken for off). */
  mtls?: MeshMtls;
  /** Control plane: remote secrets of clusters not in the inventory. */
  strays?: string[];
  /** Remotes: whether the lab's/real Pilot has loaded this cluster (only when its debug address is known). */
  pilot?: { loaded: boolean };
  /** checked=false: nothing could be compared; unknown=true: compared, but some expected blocks could not be read. */
  routes?: { checked: boolean; converged?: boolean; unknown?: boolean; missing: string[]; error?: string };
  healthy: boolean;
  reasons: string[];
}

/** One node's routing as the pod_cidr_routes role sees it (for the report's route matrix). */
export interface NodeRouting {
  node: string;
  cluster: string;
  /** Address the other clusters route this node's blocks via. */
  via?: string;
  /** Pod blocks its BIRD owns (read), or what its peers' BIRD routes via it (stand-in), or none (unknown). */
  blocks: string[];
  source: 'table' | 'peers' | 'unknown';
  /** Why the table could not be read. */
  error?: string;
  /** Routes meshplay manages on the node now (dest via gateway). */
  managed: { dest: string; via?: string }[];
}

export interface StatusOptions {
  secret(value: string): void;
  vars(host: string): Record<string, unknown>;
  /** The run's connection to a host of the inventory (a pool: one per host). */
  connect(host: string): Promise<Connection>;
  /** A connection for a host that is not in the inventory (a remote secret's kubeconfig). */
  connectHost(host: Host, vars: Record<string, unknown>): Promise<KubernetesConnection>;
  routes: boolean;
  /** Pilot's HTTP debug address (host:port); checks which remotes it loaded. */
  pilot?: string;
  /** false: a topology without remote secrets (multi-control-plane, separate meshes): no remote secret or discovery probe. */
  remotes?: boolean;
  /** Also list each reachable cluster's Istio Gateways (for the report). */
  gateways?: boolean;
}

export interface MeshStatus {
  clusters: ClusterStatus[];
  /** Every node's blocks and managed routes (empty when routes were not checked). */
  nodes: NodeRouting[];
  /** Per reachable cluster, when asked for. */
  gateways: Map<string, ClusterGateways>;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && !v.includes('{{') ? v : undefined;
}

function errText(e: unknown): string {
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}

async function kube(o: StatusOptions, host: string): Promise<KubernetesConnection> {
  const c = await o.connect(host);
  if (c.kind !== 'kubernetes') throw new Error(`${host} is not reached through its API (connection '${c.kind}')`);
  return c as KubernetesConnection;
}

/** The cluster's timeouts, for a connection opened with another credential to the same API server. */
function timeoutsOf(vars: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of ['kubernetes_connect_timeout', 'kubernetes_request_timeout']) if (vars[k] !== undefined) out[k] = vars[k];
  return out;
}

/** Status of every cluster of the inventory, checked live. */
export async function meshStatus(inventory: Inventory, o: StatusOptions): Promise<MeshStatus> {
  const ns = 'istio-system';
  const conns = new Map<string, KubernetesConnection>();
  const rows: ClusterStatus[] = await Promise.all(
    inventory.clusters.map(async (c): Promise<ClusterStatus> => {
      const row: ClusterStatus = { cluster: c.name, role: c.istio_control_plane ? 'control-plane' : 'remote', api: { reachable: false }, healthy: true, reasons: [] };
      try {
        const conn = await kube(o, c.name);
        const ver = await conn.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
        conns.set(c.name, conn);
        row.api = { reachable: true, version: ver.gitVersion };
      } catch (e) {
        row.api = { reachable: false, error: errText(e) };
        row.reasons.push(`API unreachable: ${errText(e)}`);
      }
      return row;
    }),
  );
  const cpRow = rows.find((r) => r.role === 'control-plane');
  const cp = cpRow && conns.get(cpRow.cluster);

  let cpSecrets: any[] = [];
  // Why the remote secrets could not be listed: every remote's secret is then unknown, not missing.
  let secretsUnknown: string | undefined;
  const remotes = o.remotes !== false;
  if (cp && cpRow && remotes) {
    try {
      cpSecrets = await listRemoteSecrets(cp, ns);
      const known = new Set(rows.filter((r) => r.role === 'remote').map((r) => remoteSecretName(r.cluster)));
      cpRow.strays = cpSecrets.map((s) => s.metadata.name as string).filter((n) => !known.has(n));
      if (cpRow.strays.length) cpRow.reasons.push(`remote secrets for clusters not in the inventory: ${cpRow.strays.join(', ')} (re-run kubeconfig_secrets to prune)`);
    } catch (e) {
      secretsUnknown = `cannot list the remote secrets: ${errText(e)}`;
      cpRow.reasons.push(secretsUnknown);
    }
  }
  if (cp && cpRow) {
    cpRow.mtls = await meshMtls(cp, ns);
    if (cpRow.mtls.api === 'unknown') cpRow.reasons.push(`mTLS unknown: ${cpRow.mtls.error}`);
  }

  let pilotClusters: Set<string> | undefined;
  if (o.pilot && remotes) {
    pilotClusters = await pilotLoaded(o.pilot).catch(() => undefined);
    if (!pilotClusters && cpRow) cpRow.reasons.push(`Pilot debug endpoint ${o.pilot} not reachable`);
  }

  await Promise.all(
    rows
      .filter((r) => r.role === 'remote' && remotes)
      .map(async (row) => {
        const remote = conns.get(row.cluster);
        const vars = o.vars(row.cluster);
        const secret = cpSecrets.find((s) => s.metadata.name === remoteSecretName(row.cluster));
        if (!cp) row.secret = { error: 'control plane unreachable' };
        else if (secretsUnknown) row.secret = { error: secretsUnknown };
        else if (!secret) {
          row.secret = { present: false };
          row.reasons.push(`remote secret ${remoteSecretName(row.cluster)} missing in the control plane (re-run kubeconfig_secrets)`);
        } else {
          row.secret = await probeRemoteSecret(row.cluster, secret, { secret: o.secret, connect: (h) => o.connectHost(h, timeoutsOf(vars)) });
          const problem = remoteSecretProblem(row.secret);
          if (problem) row.reasons.push(problem);
        }
        const mode = (str(vars.istio_control_plane_discovery) ?? 'svc') as DiscoveryMode;
        if (cp && remote && cpRow) {
          try {
            row.endpoints = await discoveryDrift(cp, remote, mode, ns, (vars.istio_discovery_services as string[] | undefined) ?? defaultDiscoveryServices, cpRow.cluster);
            for (const s of row.endpoints.stale) row.reasons.push(`stale Endpoints ${s} (re-run istio_remote)`);
          } catch (e) {
            row.endpoints = { mode, inSync: false, stale: [], error: errText(e) };
            row.reasons.push(`cannot compare Endpoints: ${errText(e)}`);
          }
        }
        if (pilotClusters) {
          row.pilot = { loaded: pilotClusters.has(row.cluster) };
          if (!row.pilot.loaded) row.reasons.push('Pilot has not loaded this cluster');
        }
      }),
  );

  const gateways = new Map<string, ClusterGateways>();
  if (o.gateways) await Promise.all([...conns].map(async ([name, conn]) => gateways.set(name, await listGateways(conn))));
  const nodes = o.routes ? await checkRoutes(inventory, rows, o) : [];
  for (const r of rows) r.healthy = r.reasons.length === 0;
  return { clusters: rows, nodes, gateways };
}

export async function pilotLoaded(addr: string): Promise<Set<string>> {
  // Pilot 1.3 lists no remote clusters as such; its registry's Services carry `cluster-vips` keyed by the
  // cluster each came from (every cluster has at least the `kubernetes` Service), so the keys are the loaded clusters.
  const http = await import('node:http');
  const body = await new Promise<string>((resolve, reject) => {
    http
      .get(`http://${addr}/debug/registryz`, { timeout: 3000 }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => (res.statusCode === 200 ? resolve(b) : reject(new Error(`HTTP ${res.statusCode}`))));
      })
      .on('error', reject);
  });
  const services = (JSON.parse(body || '[]') ?? []) as { 'cluster-vips'?: Record<string, string> }[];
  return new Set(services.flatMap((svc) => Object.keys(svc['cluster-vips'] ?? {})));
}

/**
 * Pod routes as the pod_cidr_routes role judges them, through its own code (runner/routes/node.ts): each node's
 * table read as ip_route_facts reads it (the pod blocks its BIRD owns, not Node.spec.podCIDR), peers with the
 * role's stand-ins for unreadable nodes, and the per-node plan ip_routes would apply. "converged" means a run
 * would change no route; a node that cannot be read makes the rows that depend on it "unknown".
 */
async function checkRoutes(inventory: Inventory, rows: ClusterStatus[], o: StatusOptions): Promise<NodeRouting[]> {
  const { classify, readRoutes, routeFacts, knownPeers, planNodeRoutes, DEFAULT_PROTOCOL, DEFAULT_PROTOCOL_NAME } = await import('../routes/node.js');
  const { planChanged, routeLine } = await import('../routes/plan.js');
  const { toBool } = await import('../template/values.js');
  type Classes = ReturnType<typeof classify>;
  const nodesOf = (cluster: string) => inventory.groups.get(`${cluster}_nodes`) ?? [];
  const allNodes = inventory.clusters.flatMap((c) => nodesOf(c.name));
  const protocolOf = (node: string) => Number(o.vars(node).pod_cidr_routes_protocol ?? DEFAULT_PROTOCOL) || DEFAULT_PROTOCOL;
  const tables = new Map<string, Classes>();
  const unreadable = new Map<string, string>();
  const facts: unknown[] = [];
  await Promise.all(
    allNodes.map(async (name) => {
      const host = inventory.hosts.get(name)!;
      const vars = o.vars(name);
      try {
        const conn = (await o.connect(name)) as CommandConnection;
        const c = classify(await readRoutes(conn, name), protocolOf(name), DEFAULT_PROTOCOL_NAME);
        tables.set(name, c);
        facts.push(routeFacts(host, inventory, c, protocolOf(name), str(vars.pod_cidr_routes_via) ?? str(vars.ansible_host)));
      } catch (e) {
        unreadable.set(name, errText(e));
      }
    }),
  );
  const { peers } = knownPeers(facts, allNodes, inventory);
  const known = new Set(peers.map((p) => p.node));
  for (const row of rows) {
    const nodes = nodesOf(row.cluster);
    if (!nodes.length) {
      row.routes = { checked: false, missing: [], error: 'no nodes in the inventory' };
      continue;
    }
    const missing: string[] = [];
    const unknown: string[] = [];
    for (const n of nodes) {
      const c = tables.get(n);
      if (!c) {
        unknown.push(`${n}: ${unreadable.get(n)}`);
        continue;
      }
      // The role does not prune while a node's facts are missing; neither does its judgement here.
      const prune = unreadable.size === 0 && toBool(o.vars(n).pod_cidr_routes_prune ?? true);
      const plan = planNodeRoutes({ node: n, cluster: row.cluster, classes: c, peers, prune });
      if (planChanged(plan)) {
        for (const r of plan.add) missing.push(`${n}: ${routeLine(r)} to add`);
        for (const r of plan.replace) missing.push(`${n}: ${routeLine(r)} to replace`);
        for (const r of plan.del) missing.push(`${n}: ${routeLine(r)} to delete`);
      }
    }
    // Nodes of other clusters known neither by their own table nor by a stand-in: their blocks cannot be judged.
    for (const n of allNodes) if (!known.has(n) && inventory.hosts.get(n)?.cluster !== row.cluster) unknown.push(`${n}: ${unreadable.get(n) ?? 'no route facts'}`);
    const checked = nodes.some((n) => tables.has(n));
    if (!checked) {
      row.routes = { checked: false, missing: [], error: unknown.join('; ') };
      row.reasons.push(`cannot read the nodes' routes: ${unknown.slice(0, 3).join('; ')}`);
      continue;
    }
    row.routes = { checked: true, converged: missing.length === 0 && unknown.length === 0, missing, ...(unknown.length ? { unknown: true, error: unknown.join('; ') } : {}) };
    if (missing.length) row.reasons.push(`pod routes not as the role leaves them: ${missing.slice(0, 3).join('; ')}${missing.length > 3 ? ` (+${missing.length - 3})` : ''} (run the pod_cidr_routes role)`);
    if (unknown.length) row.reasons.push(`pod routes unknown: ${unknown.slice(0, 3).join('; ')}${unknown.length > 3 ? ` (+${unknown.length - 3})` : ''}`);
  }
  return allNodes.map((name): NodeRouting => {
    const host = inventory.hosts.get(name)!;
    const peer = peers.find((p) => p.node === name);
    const c = tables.get(name);
    return {
      node: name,
      cluster: host.cluster ?? '',
      via: peer?.via ?? host.address,
      blocks: peer?.owned_blocks ?? [],
      source: c ? 'table' : peer ? 'peers' : 'unknown',
      ...(unreadable.has(name) ? { error: unreadable.get(name) } : {}),
      managed: c ? c.managed.map((r) => ({ dest: r.dst, via: r.gateway })) : [],
    };
  });
}
