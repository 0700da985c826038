// `meshplay status` for the multi-control-plane topology: per cluster, whether its cacerts chain to the mesh
// root, whether *.global resolves through istiocoredns, whether the 15443 gateway objects exist, and whether
// its ServiceEntries agree with the other clusters' gateways. Read-only; never prints key material.
import type { Inventory } from '../inventory/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { findServerBlock, forwardOf } from './corefile.js';
import { parseStubDomains } from './stubdomains.js';
import { probeCacerts, readMeshRoot } from './ca-probes.js';
import { componentLabel } from './kube.js';
import { explicitGateway, gatewayOf, hostOf, type MeshExport } from './exports.js';

export interface StatusCheck {
  name: 'cacerts' | 'dns' | 'gateway' | 'service-entries';
  ok: boolean;
  detail: string;
}

export interface ClusterStatus {
  cluster: string;
  reachable: boolean;
  checks: StatusCheck[];
}

export interface MultiStatus {
  healthy: boolean;
  clusters: ClusterStatus[];
  /** One line per check, `<cluster> <check> ok|FAIL <detail>`, for printing. */
  lines: string[];
}

export type Connections = Map<string, KubernetesConnection> | ((cluster: string) => Promise<KubernetesConnection>);

/** The cluster's connection when its API answers, else undefined (the row says unreachable). */
export async function reachable(connect: (cluster: string) => Promise<KubernetesConnection>, cluster: string): Promise<KubernetesConnection | undefined> {
  try {
    const conn = await connect(cluster);
    await conn.request({ method: 'GET', path: '/version' });
    return conn;
  } catch {
    return undefined;
  }
}

export function connector(c: Connections): (cluster: string) => Promise<KubernetesConnection> {
  if (typeof c === 'function') return c;
  return async (name) => {
    const conn = c.get(name);
    if (!conn) throw new Error(`no connection to ${name}`);
    return conn;
  };
}

export interface MultiStatusOptions {
  namespace?: string;
  rootSecret?: string;
  zone?: string;
  serviceEntryNamespace?: string;
  exports?: MeshExport[];
}

export async function multiStatus(inventory: Inventory, connections: Connections, opts: MultiStatusOptions = {}): Promise<MultiStatus> {
  const connect = connector(connections);
  const ns = opts.namespace ?? 'istio-system';
  const zone = opts.zone ?? 'global';
  const seNs = opts.serviceEntryNamespace ?? 'istio-system';
  const exports = opts.exports ?? ((inventory.vars.mesh_exports as MeshExport[] | undefined) ?? []);
  const root = await readMeshRoot(inventory, connect, ns, opts.rootSecret);

  const clusters: ClusterStatus[] = [];
  for (const c of inventory.clusters) {
    const checks: StatusCheck[] = [];
    const conn = await reachable(connect, c.name);
    if (!conn) {
      clusters.push({ cluster: c.name, reachable: false, checks: [] });
      continue;
    }
    checks.push(await probeCacerts(conn, ns, root));
    // DNS
    const svc = await conn.getOrUndefined<any>(`/api/v1/namespaces/istio-system/services/istiocoredns`);
    const ip = svc?.spec?.clusterIP;
    const coredns = await conn.getOrUndefined<any>('/api/v1/namespaces/kube-system/configmaps/coredns');
    const kubeDns = coredns ? undefined : await conn.getOrUndefined<any>('/api/v1/namespaces/kube-system/configmaps/kube-dns');
    const corefile: string | undefined = coredns?.data?.Corefile ?? kubeDns?.data?.Corefile;
    if (!ip) checks.push({ name: 'dns', ok: false, detail: 'istio-system/istiocoredns Service missing' });
    else if (corefile !== undefined) {
      let upstream: string[] | undefined;
      try {
        const b = findServerBlock(corefile, zone);
        upstream = b ? forwardOf(b)?.addresses : undefined;
      } catch (e) {
        checks.push({ name: 'dns', ok: false, detail: (e as Error).message });
      }
      if (!checks.some((x) => x.name === 'dns')) {
        const ok = !!upstream && upstream.length === 1 && upstream[0] === ip;
        checks.push({ name: 'dns', ok, detail: ok ? `CoreDNS ${zone}:53 -> ${ip}` : upstream ? `CoreDNS ${zone}:53 forwards to ${upstream.join(' ')}, istiocoredns is ${ip}` : `CoreDNS has no ${zone}:53 block` });
      }
    } else if (kubeDns) {
      let servers: string[] | undefined;
      try {
        servers = parseStubDomains(kubeDns.data?.stubDomains)[zone];
      } catch (e) {
        servers = undefined;
      }
      const ok = !!servers && servers.length === 1 && servers[0] === ip;
      checks.push({ name: 'dns', ok, detail: ok ? `kube-dns stubDomains ${zone} -> ${ip}` : `kube-dns stubDomains ${zone} is ${servers ? servers.join(' ') : 'missing'}, istiocoredns is ${ip}` });
    } else checks.push({ name: 'dns', ok: false, detail: 'no coredns or kube-dns ConfigMap in kube-system' });
    // gateway
    try {
      const gws = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: `/apis/networking.istio.io/v1alpha3/namespaces/${ns}/gateways`, query: { labelSelector: `${componentLabel}=multicluster-gateway` } });
      const names = gws.items.map((g) => g.metadata.name);
      checks.push({ name: 'gateway', ok: names.length > 0, detail: names.length ? `Gateway ${names.join(', ')}` : 'no multicluster Gateway' });
    } catch (e) {
      checks.push({ name: 'gateway', ok: false, detail: (e as Error).message });
    }
    // ServiceEntries vs the exporting clusters' gateways
    try {
      const ses = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: `/apis/networking.istio.io/v1alpha3/namespaces/${seNs}/serviceentries`, query: { labelSelector: `${componentLabel}=service-entries` } });
      const problems: string[] = [];
      const vips = new Map<string, string>();
      for (const se of ses.items) {
        const from = se.metadata.labels?.['meshplay.io/exporting-cluster'];
        const addr = se.spec?.addresses?.[0];
        if (addr && vips.has(addr)) problems.push(`${se.metadata.name} shares ${addr} with ${vips.get(addr)}`);
        if (addr) vips.set(addr, se.metadata.name);
        if (!inventory.clusters.some((x) => x.name === from)) {
          problems.push(`${se.metadata.name}: exporting cluster ${from} not in the inventory`);
          continue;
        }
        const explicit = explicitGateway(inventory, from);
        const gw = await gatewayOf(await connect(from), from, explicit, { service: 'istio-ingressgateway', namespace: 'istio-system', port: 15443 });
        const ep = se.spec?.endpoints?.[0];
        const ports = Object.values(ep?.ports ?? {});
        if (ep?.address !== gw.address || !ports.every((p) => p === gw.port)) problems.push(`${se.metadata.name}: endpoint ${ep?.address}:${ports.join(',')} but ${from}'s gateway is ${gw.address}:${gw.port}`);
      }
      const expected = exports.filter((e) => e.cluster !== c.name && (!e.callers || e.callers.includes(c.name))).map(hostOf);
      const have = new Set(ses.items.map((s) => s.spec?.hosts?.[0]));
      for (const h of expected) if (!have.has(h)) problems.push(`no ServiceEntry for ${h}`);
      checks.push({ name: 'service-entries', ok: !problems.length, detail: problems.length ? problems.join('; ') : `${ses.items.length} ServiceEntries consistent with the exporting gateways` });
    } catch (e) {
      checks.push({ name: 'service-entries', ok: false, detail: (e as Error).message });
    }
    clusters.push({ cluster: c.name, reachable: true, checks });
  }
  const lines = clusters.flatMap((c) =>
    c.reachable ? c.checks.map((x) => `${c.cluster} ${x.name} ${x.ok ? 'ok' : 'FAIL'} ${x.detail}`) : [`${c.cluster} unreachable`],
  );
  return { healthy: clusters.every((c) => c.reachable && c.checks.every((x) => x.ok)), clusters, lines };
}
