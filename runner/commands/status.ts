// `meshplay status -i INV [--output json]`: one row per cluster of a single-control-plane mesh, checked against the
// live clusters (think `istioctl remote-clusters` / `cilium clustermesh status`). Read-only. Exits 1 when a row is
// not healthy, saying why. Secret values (tokens, kubeconfigs) are used in memory only and never printed.
import { INVENTORY_OPTION, answerCommandLine, parseCommandLine, type CommandSpec } from './options.js';
import { parseKubeconfig, type KubeconfigReading } from '../k8s/kubeconfig.js';
import { ExitCode, ValidationError, formatProblem } from '../errors.js';
import { VAULT_OPTION_SPECS, openVaults, vaultCliOptions, vaultOptionProblem } from '../vault/options.js';
import { vaultPlaintexts } from '../vault/keyring.js';
import { isWrongVaultPassword } from '../vault/yaml.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { CommandConnection } from '../connection/types.js';

export interface ClusterStatus {
  cluster: string;
  role: 'control-plane' | 'remote';
  api: { reachable: boolean; version?: string; error?: string };
  /** Remotes: the istio-remote-secret in the control plane and what its kubeconfig may do. */
  secret?: { present?: boolean; authenticates?: boolean; canListServices?: boolean; canCreateSecrets?: boolean; error?: string };
  /** Remotes: discovery Endpoints vs the control plane's current addresses. */
  endpoints?: { mode: string; inSync: boolean; stale: string[]; error?: string };
  /** Control plane: mesh-wide mTLS ('unknown' when the policies could not be read: never taken for off). */
  mtls?: { api: 'modern' | 'legacy' | 'none' | 'unknown'; mode?: string; error?: string };
  /** Control plane: remote secrets of clusters not in the inventory. */
  strays?: string[];
  /** Remotes: whether the lab's/real Pilot has loaded this cluster (only when its debug address is known). */
  pilot?: { loaded: boolean };
  /** checked=false: nothing could be compared; unknown=true: compared, but some expected blocks could not be read. */
  routes?: { checked: boolean; converged?: boolean; unknown?: boolean; missing: string[]; error?: string };
  healthy: boolean;
  reasons: string[];
}

export const STATUS_COMMAND: CommandSpec = {
  name: 'meshplay status',
  usage: ['meshplay status -i INVENTORY [--output plain|json] [--no-routes] [--pilot HOST:PORT]'],
  summary: 'One row per cluster of the mesh, checked against the live clusters (read-only); exits 1 when a row is not healthy.',
  options: [
    INVENTORY_OPTION,
    { name: 'output', short: 'o', type: 'string', arg: 'plain|json', help: 'output format (default plain)' },
    { name: 'no-routes', type: 'boolean', help: "do not read the nodes' route tables over SSH" },
    { name: 'pilot', type: 'string', arg: 'HOST:PORT', help: "Pilot's debug address, to check which remote clusters it loaded" },
    ...VAULT_OPTION_SPECS,
  ],
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' && !v.includes('{{') ? v : undefined;
}

function errText(e: unknown): string {
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}

export async function statusCommand(argv: string[]): Promise<number> {
  let v: { inventory?: string[]; output?: string; 'no-routes'?: boolean; pilot?: string; [vaultOption: string]: unknown };
  try {
    v = parseCommandLine(STATUS_COMMAND, argv).values as typeof v;
  } catch (e) {
    return answerCommandLine(e, 'meshplay status');
  }
  if (!v.inventory?.length || (v.output && !['plain', 'json'].includes(v.output))) {
    process.stderr.write(`usage: ${STATUS_COMMAND.usage[0]}\n`);
    return ExitCode.badOption;
  }
  const vault = vaultCliOptions(v);
  const vaultProblem = vaultOptionProblem(vault);
  if (vaultProblem) {
    process.stderr.write(`meshplay status: ${vaultProblem}\n`);
    return ExitCode.badOption;
  }
  const vaultExit = await openVaults(vault);
  if (vaultExit !== undefined) return vaultExit;
  const [{ createTemplater }, inv, { Redactor }, { SecretPolicy }] = await Promise.all([
    import('../template/index.js'),
    import('../inventory/index.js'),
    import('../secrets/redact.js'),
    import('../secrets/policy.js'),
  ]);
  const templater = createTemplater();
  let inventory: Inventory;
  try {
    inventory = await inv.loadInventoryWithApiNodes(v.inventory, { templater });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const masker = new Redactor();
    for (const secret of vaultPlaintexts()) masker.addSecret(secret);
    for (const p of e.problems) process.stderr.write(`ERROR: ${masker.redactText(formatProblem(p))}\n`);
    return e.problems.some(isWrongVaultPassword) ? ExitCode.error : ExitCode.parseError;
  }
  let redactor: InstanceType<typeof Redactor>;
  try {
    redactor = new Redactor({ policy: SecretPolicy.fromInventory(inventory.vars) });
  } catch (e) {
    process.stderr.write(`ERROR: ${(e as Error).message}\n`);
    return ExitCode.parseError;
  }
  for (const secret of vaultPlaintexts()) redactor.addSecret(secret);
  const vars = (host: string) => {
    try {
      return templater.render(inv.hostVars(inventory, host), inv.hostVars(inventory, host), {}) as Record<string, unknown>;
    } catch {
      return inv.hostVars(inventory, host);
    }
  };
  // Secret-named variables are registered before anything prints, by the same policy as a run.
  for (const h of inventory.hosts.keys()) redactor.policy.scopeSecrets([inv.hostVars(inventory, h)], vars(h), (s) => redactor.addSecret(s));
  if (inventory.topology === 'multi-control-plane' || inventory.topology === 'separate-meshes') return multiControlPlaneStatus(inventory, redactor, vars, v.output === 'json');
  const rows = await meshStatus(inventory, {
    secret: (s) => redactor.addSecret(s),
    routes: !v['no-routes'],
    pilot: v.pilot ?? str(inv.hostVars(inventory, inventory.groups.get('control_plane')?.[0] ?? '').istio_pilot_debug_address),
    vars,
  });
  // Status rows are meshplay's own words: only values registered as secrets are masked, never a field by its name.
  const safe = redactor.redactKnown(rows);
  if (v.output === 'json') process.stdout.write(JSON.stringify({ healthy: safe.every((r) => r.healthy), clusters: safe }, null, 2) + '\n');
  else process.stdout.write(formatTable(safe));
  return safe.every((r) => r.healthy) ? ExitCode.ok : 1;
}

/** Multiple control planes: cacerts chain to the shared root, .global DNS stub, gateways and ServiceEntries. */
async function multiControlPlaneStatus(
  inventory: Inventory,
  redactor: { addSecret(v: string): void; redactKnown<T>(v: T): T },
  vars: (host: string) => Record<string, unknown>,
  json: boolean,
): Promise<number> {
  // Each topology's probe: the same per-cluster check list, printed the same way.
  const multiStatus = inventory.topology === 'separate-meshes'
    ? (await import('../mesh/separate-status.js')).separateMeshesStatus
    : (await import('../mesh/status.js')).multiStatus;
  const controller = new AbortController();
  const opened: KubernetesConnection[] = [];
  const o = { secret: (s: string) => redactor.addSecret(s), vars, routes: false };
  try {
    const result = await multiStatus(inventory, async (cluster) => {
      const conn = await connectCluster(inventory.hosts.get(cluster)!, vars(cluster), o, controller);
      opened.push(conn);
      return conn;
    });
    const safe = redactor.redactKnown(result);
    if (json) process.stdout.write(JSON.stringify({ topology: inventory.topology, healthy: safe.healthy, clusters: safe.clusters }, null, 2) + '\n');
    else process.stdout.write(`${safe.lines.join('\n')}\n${safe.healthy ? 'mesh healthy' : 'mesh NOT healthy'}\n`);
    return safe.healthy ? ExitCode.ok : 1;
  } finally {
    await Promise.allSettled(opened.map((c) => c.close()));
  }
}

export function formatTable(rows: ClusterStatus[]): string {
  const head = ['CLUSTER', 'ROLE', 'API', 'SECRET', 'ENDPOINTS', 'MTLS', 'ROUTES', 'STATUS'];
  const body = rows.map((r) => [
    r.cluster,
    r.role,
    r.api.reachable ? r.api.version ?? 'up' : 'unreachable',
    r.secret ? (r.secret.present === undefined ? 'unknown' : r.secret.present ? (r.secret.authenticates && r.secret.canListServices && r.secret.canCreateSecrets === false ? 'working' : 'broken') : 'missing') : '-',
    r.endpoints ? (r.endpoints.error ? 'unknown' : r.endpoints.inSync ? `in sync (${r.endpoints.mode})` : `stale (${r.endpoints.stale.length})`) : '-',
    r.mtls ? (r.mtls.api === 'unknown' ? 'unknown' : r.mtls.api === 'none' ? 'off' : `${r.mtls.mode ?? '?'} (${r.mtls.api})`) : '-',
    r.routes ? (!r.routes.checked ? 'unchecked' : r.routes.missing.length ? `missing ${r.routes.missing.length}` : r.routes.unknown ? 'unknown' : 'converged') : '-',
    r.healthy ? 'healthy' : 'UNHEALTHY',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), ...body.map(line)];
  for (const r of rows) for (const reason of r.reasons) out.push(`${r.cluster}: ${reason}`);
  return out.join('\n') + '\n';
}

interface StatusOptions {
  secret(value: string): void;
  vars(host: string): Record<string, unknown>;
  routes: boolean;
  /** Pilot's HTTP debug address (host:port); checks which remotes it loaded. */
  pilot?: string;
}

async function connectCluster(host: Host, vars: Record<string, unknown>, o: StatusOptions, controller: AbortController): Promise<KubernetesConnection> {
  const { connect } = await import('../connection/kubernetes.js');
  return connect({ host, vars, acceptNewHostKeys: false, log: () => undefined, warn: () => undefined, secret: o.secret, signal: controller.signal });
}

/** Status of every cluster of the inventory, checked live. */
export async function meshStatus(inventory: Inventory, o: StatusOptions): Promise<ClusterStatus[]> {
  const controller = new AbortController();
  const clusterHosts = inventory.clusters.map((c) => inventory.hosts.get(c.name)!);
  const conns = new Map<string, KubernetesConnection>();
  const rows: ClusterStatus[] = [];
  for (const h of clusterHosts) {
    const row: ClusterStatus = {
      cluster: h.name,
      role: inventory.clusters.find((c) => c.name === h.name)!.istio_control_plane ? 'control-plane' : 'remote',
      api: { reachable: false },
      healthy: true,
      reasons: [],
    };
    try {
      const c = await connectCluster(h, o.vars(h.name), o, controller);
      conns.set(h.name, c);
      const ver = await c.request<{ gitVersion: string }>({ method: 'GET', path: '/version' });
      row.api = { reachable: true, version: ver.gitVersion };
    } catch (e) {
      row.api = { reachable: false, error: errText(e) };
      row.reasons.push(`API unreachable: ${errText(e)}`);
    }
    rows.push(row);
  }
  const cpRow = rows.find((r) => r.role === 'control-plane');
  const cp = cpRow && conns.get(cpRow.cluster);
  const { remoteSecretName, multiClusterLabel } = await import('../modules/istio_remote_secret.js');
  const { discoverAll, defaultDiscoveryServices, discoveryLabel } = await import('../modules/istio_discovery.js');
  const ns = 'istio-system';

  let cpSecrets: any[] = [];
  // Why the remote secrets could not be listed: every remote's secret is then unknown, not missing.
  let secretsUnknown: string | undefined;
  if (cp && cpRow) {
    try {
      cpSecrets = (await cp.request<{ items: any[] }>({ method: 'GET', list: true, path: `/api/v1/namespaces/${ns}/secrets`, query: { labelSelector: `${multiClusterLabel}=true` } })).items;
      const known = new Set(rows.filter((r) => r.role === 'remote').map((r) => remoteSecretName(r.cluster)));
      cpRow.strays = cpSecrets.map((s) => s.metadata.name as string).filter((n) => !known.has(n));
      if (cpRow.strays.length) cpRow.reasons.push(`remote secrets for clusters not in the inventory: ${cpRow.strays.join(', ')} (re-run kubeconfig_secrets to prune)`);
    } catch (e) {
      secretsUnknown = `cannot list the remote secrets: ${errText(e)}`;
      cpRow.reasons.push(secretsUnknown);
    }
    cpRow.mtls = await mtlsOf(cp);
    if (cpRow.mtls.api === 'unknown') cpRow.reasons.push(`mTLS unknown: ${cpRow.mtls.error}`);
  }

  let pilotClusters: Set<string> | undefined;
  if (o.pilot) {
    pilotClusters = await pilotLoaded(o.pilot).catch(() => undefined);
    if (!pilotClusters && cpRow) cpRow.reasons.push(`Pilot debug endpoint ${o.pilot} not reachable`);
  }

  for (const row of rows.filter((r) => r.role === 'remote')) {
    const remote = conns.get(row.cluster);
    // Remote secret: present, and its kubeconfig (used in memory) reads but cannot write secrets.
    const secret = cpSecrets.find((s) => s.metadata.name === remoteSecretName(row.cluster));
    row.secret = { present: !!secret };
    if (!cp) row.secret = { error: 'control plane unreachable' };
    else if (secretsUnknown) row.secret = { error: secretsUnknown };
    else if (!secret) row.reasons.push(`remote secret ${remoteSecretName(row.cluster)} missing in the control plane (re-run kubeconfig_secrets)`);
    else row.secret = await probeKubeconfig(row.cluster, secret, o);
    if (secret && !(row.secret.authenticates && row.secret.canListServices && row.secret.canCreateSecrets === false)) {
      row.reasons.push(
        row.secret.error ??
          (!row.secret.authenticates ? 'remote secret does not authenticate' : !row.secret.canListServices ? 'remote secret cannot list services' : 'remote secret can create secrets (too much privilege)'),
      );
    }
    // Endpoints vs the control plane's current addresses.
    const vars = o.vars(row.cluster);
    const mode = (str(vars.istio_control_plane_discovery) ?? 'svc') as 'svc' | 'pod' | 'lb';
    if (cp && remote) {
      try {
        const want = await discoverAll(cp, mode, ns, (vars.istio_discovery_services as string[] | undefined) ?? defaultDiscoveryServices);
        const stale: string[] = [];
        for (const d of want) {
          const ep = await remote.getOrUndefined<any>(`/api/v1/namespaces/${ns}/endpoints/${d.name}`);
          const have = (ep?.subsets ?? []).flatMap((s: any) => (s.addresses ?? []).map((a: any) => a.ip)).sort();
          const labelled = ep?.metadata?.labels?.[discoveryLabel] === 'true';
          if (!ep || !labelled || have.join(',') !== [...d.addresses].sort().join(',')) stale.push(`${d.name}: has ${have.join(',') || 'none'}, control plane is at ${d.addresses.join(',')}`);
        }
        row.endpoints = { mode, inSync: stale.length === 0, stale };
        for (const s of stale) row.reasons.push(`stale Endpoints ${s} (re-run istio_remote)`);
      } catch (e) {
        row.endpoints = { mode, inSync: false, stale: [], error: errText(e) };
        row.reasons.push(`cannot compare Endpoints: ${errText(e)}`);
      }
    }
    if (pilotClusters) {
      row.pilot = { loaded: pilotClusters.has(row.cluster) };
      if (!row.pilot.loaded) row.reasons.push('Pilot has not loaded this cluster');
    }
  }

  if (o.routes) await checkRoutes(inventory, rows, o, controller);
  for (const r of rows) r.healthy = r.reasons.length === 0;
  await Promise.allSettled([...conns.values()].map((c) => c.close()));
  return rows;
}

/**
 * Mesh-wide mTLS from the control plane's policy objects. Only a 404 (no such object, or the API is not served)
 * means absent; a refusal (403) or any other failure is 'unknown', never 'off'.
 */
async function mtlsOf(cp: KubernetesConnection): Promise<NonNullable<ClusterStatus['mtls']>> {
  try {
    const pa = await cp.getOrUndefined<any>('/apis/security.istio.io/v1beta1/namespaces/istio-system/peerauthentications/default');
    if (pa) return { api: 'modern', mode: pa.spec?.mtls?.mode ?? 'PERMISSIVE' };
    const mp = await cp.getOrUndefined<any>('/apis/authentication.istio.io/v1alpha1/meshpolicies/default');
    if (mp) return { api: 'legacy', mode: mp.spec?.peers?.find((p: any) => 'mtls' in p)?.mtls?.mode ?? 'STRICT' };
    return { api: 'none' };
  } catch (e) {
    return { api: 'unknown', error: `cannot read the mesh's mTLS policy: ${errText(e)}` };
  }
}

/** Uses the remote secret's kubeconfig in memory: authenticates? lists services? may create secrets? */
async function probeKubeconfig(cluster: string, secret: any, o: StatusOptions): Promise<NonNullable<ClusterStatus['secret']>> {
  const encoded = secret.data?.[cluster];
  if (!encoded) return { present: true, authenticates: false, error: `remote secret has no data key '${cluster}'` };
  o.secret(encoded);
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  o.secret(text);
  let reading: KubeconfigReading;
  try {
    reading = parseKubeconfig(text, "the remote secret's kubeconfig", process.cwd());
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig does not parse: ${errText(e)}` };
  }
  const { server, ca, token, tlsServerName } = reading.credentials;
  if (token) o.secret(token);
  if (!token) return { present: true, authenticates: false, error: "remote secret's kubeconfig has no server or token" };
  const { connect } = await import('../connection/kubernetes.js');
  const host: Host = { name: `${cluster}-remote-secret`, kind: 'cluster', connection: 'kubernetes', cluster, vars: {}, api: { url: server, token, ca_data: ca?.toString('utf8'), ...(tlsServerName ? { tls_server_name: tlsServerName } : {}) } };
  let conn: KubernetesConnection;
  try {
    conn = await connect({ host, vars: {}, acceptNewHostKeys: false, log: () => undefined, warn: () => undefined, secret: o.secret, signal: new AbortController().signal });
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig: ${errText(e)}` };
  }
  try {
    const { KubeApiError } = await import('../connection/kubernetes.js');
    let canListServices = false;
    try {
      await conn.request({ method: 'GET', list: true, path: '/api/v1/services', query: { limit: 1 } });
      canListServices = true;
    } catch (e) {
      if (!(e instanceof KubeApiError) || e.status !== 403) throw e;
    }
    const review = await conn.request<any>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'secrets', namespace: 'istio-system' } } },
    });
    return { present: true, authenticates: true, canListServices, canCreateSecrets: review.status?.allowed === true };
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig: ${errText(e)}` };
  } finally {
    await conn.close();
  }
}

async function pilotLoaded(addr: string): Promise<Set<string>> {
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
async function checkRoutes(inventory: Inventory, rows: ClusterStatus[], o: StatusOptions, controller: AbortController): Promise<void> {
  const { classify, readRoutes, routeFacts, knownPeers, planNodeRoutes, DEFAULT_PROTOCOL, DEFAULT_PROTOCOL_NAME } = await import('../routes/node.js');
  const { planChanged, routeLine } = await import('../routes/plan.js');
  const { toBool } = await import('../template/values.js');
  const { ConnectionPool } = await import('../executor/connections.js');
  type Classes = ReturnType<typeof classify>;
  // Nodes are reached as a run reaches them (ansible_connection, one connection per node).
  const pool = new ConnectionPool({ inventory, acceptNewHostKeys: false, hostVars: o.vars, log: () => undefined, warn: () => undefined, secret: o.secret, signal: controller.signal });
  const nodesOf = (cluster: string) => inventory.groups.get(`${cluster}_nodes`) ?? [];
  const allNodes = inventory.clusters.flatMap((c) => nodesOf(c.name));
  const protocolOf = (node: string) => Number(o.vars(node).pod_cidr_routes_protocol ?? DEFAULT_PROTOCOL) || DEFAULT_PROTOCOL;
  const tables = new Map<string, Classes>();
  const unreadable = new Map<string, string>();
  const facts: unknown[] = [];
  try {
    await Promise.all(
      allNodes.map(async (name) => {
        const host = inventory.hosts.get(name)!;
        const vars = o.vars(name);
        try {
          const conn = (await pool.get(name)) as CommandConnection;
          const c = classify(await readRoutes(conn, name), protocolOf(name), DEFAULT_PROTOCOL_NAME);
          tables.set(name, c);
          facts.push(routeFacts(host, inventory, c, protocolOf(name), str(vars.pod_cidr_routes_via) ?? str(vars.ansible_host)));
        } catch (e) {
          unreadable.set(name, errText(e));
        }
      }),
    );
  } finally {
    await pool.closeAll();
  }
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
}
