// The probe of the separate-meshes topology (seed 001), for `meshplay status`: per cluster, whether its cacerts chain
// to the shared root, whether *.remote resolves to the placeholder (Corefile template block, or kube-dns stubDomains
// to meshplay's separate CoreDNS), whether its ingress Gateway and export routes exist, and whether every cluster it
// calls has its ServiceEntry (at that cluster's current ingress address), egress Gateway and VirtualService.
// Read-only; never prints key material.
import type { Inventory } from '../inventory/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { findServerBlock } from './corefile.js';
import { parseStubDomains } from './stubdomains.js';
import { probeCacerts, readMeshRoot } from './ca-probes.js';
import { componentLabel } from './kube.js';
import { connector, reachable, type Connections, type MultiStatus, type ClusterStatus } from './status.js';
import { explicitGateway, gatewayOf, type MeshExport } from './exports.js';
import { calleesOf, component, ingressHost, remoteClusterLabel, remoteHost } from './remote-names.js';

export interface SeparateCheck {
  name: 'cacerts' | 'dns' | 'ingress' | 'egress';
  ok: boolean;
  detail: string;
}

export interface SeparateStatusOptions {
  namespace?: string;
  rootSecret?: string;
  domain?: string;
  placeholder?: string;
  port?: number;
  exports?: MeshExport[];
}

async function listNames(conn: KubernetesConnection, ns: string, res: string): Promise<any[]> {
  const l = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: `/apis/networking.istio.io/v1alpha3/namespaces/${ns}/${res}`, query: { labelSelector: `${componentLabel}=${component}` } });
  return l.items;
}

export async function separateMeshesStatus(inventory: Inventory, connections: Connections, opts: SeparateStatusOptions = {}): Promise<MultiStatus> {
  const connect = connector(connections);
  const ns = opts.namespace ?? 'istio-system';
  const domain = opts.domain ?? (typeof inventory.vars.mesh_remote_domain === 'string' ? inventory.vars.mesh_remote_domain : 'remote');
  const placeholder = opts.placeholder ?? (typeof inventory.vars.mesh_remote_placeholder === 'string' ? inventory.vars.mesh_remote_placeholder : '240.0.0.2');
  const port = opts.port ?? 80;
  const exports = opts.exports ?? ((inventory.vars.mesh_exports as MeshExport[] | undefined) ?? []);
  const root = await readMeshRoot(inventory, connect, ns, opts.rootSecret);

  const clusters: ClusterStatus[] = [];
  for (const c of inventory.clusters) {
    const checks: SeparateCheck[] = [];
    const conn = await reachable(connect, c.name);
    if (!conn) {
      clusters.push({ cluster: c.name, reachable: false, checks: [] });
      continue;
    }
    checks.push(await probeCacerts(conn, ns, root));

    // DNS: the template block in the Corefile, or stubDomains to meshplay's separate CoreDNS.
    const coredns = await conn.getOrUndefined<any>('/api/v1/namespaces/kube-system/configmaps/coredns');
    const kubeDns = coredns ? undefined : await conn.getOrUndefined<any>('/api/v1/namespaces/kube-system/configmaps/kube-dns');
    const corefile: string | undefined = coredns?.data?.Corefile ?? kubeDns?.data?.Corefile;
    try {
      if (corefile !== undefined) {
        const b = findServerBlock(corefile, domain);
        const text = b ? corefile.slice(b.lineStart, b.lineEnd) : '';
        const ok = !!b && b.directives.some((d) => d.name === 'template') && text.includes(` IN A ${placeholder}"`);
        checks.push({ name: 'dns', ok, detail: ok ? `CoreDNS ${domain}:53 answers ${placeholder}` : b ? `CoreDNS ${domain}:53 does not answer ${placeholder}` : `CoreDNS has no ${domain}:53 block` });
      } else if (kubeDns) {
        const servers = parseStubDomains(kubeDns.data?.stubDomains)[domain];
        const svc = await conn.getOrUndefined<any>(`/api/v1/namespaces/${ns}/services/meshplay-remote-dns`);
        const cm = await conn.getOrUndefined<any>(`/api/v1/namespaces/${ns}/configmaps/meshplay-remote-dns`);
        const ip = svc?.spec?.clusterIP;
        const answers = typeof cm?.data?.Corefile === 'string' && cm.data.Corefile.includes(` IN A ${placeholder}"`);
        const ok = !!ip && servers?.length === 1 && servers[0] === ip && answers;
        checks.push({ name: 'dns', ok, detail: ok ? `kube-dns stubDomains ${domain} -> ${ip} (meshplay-remote-dns answers ${placeholder})` : `kube-dns stubDomains ${domain} is ${servers?.join(' ') ?? 'missing'}; meshplay-remote-dns ${ip ? `at ${ip}${answers ? '' : ` does not answer ${placeholder}`}` : 'missing'}` });
      } else checks.push({ name: 'dns', ok: false, detail: 'no coredns or kube-dns ConfigMap in kube-system' });
    } catch (e) {
      checks.push({ name: 'dns', ok: false, detail: (e as Error).message });
    }

    try {
      const gws = await listNames(conn, ns, 'gateways');
      const vss = await listNames(conn, ns, 'virtualservices');
      const ses = await listNames(conn, ns, 'serviceentries');
      const problems: string[] = [];
      const ingress = gws.find((g) => !g.metadata.labels?.[remoteClusterLabel] && g.spec?.servers?.some((s: any) => s.hosts?.includes(`*.svc.${c.name}.${domain}`)));
      if (!ingress) problems.push(`no ingress Gateway for *.svc.${c.name}.${domain}`);
      const exported = exports.filter((e) => e.cluster === c.name).map((e) => remoteHost(e, domain));
      const routed = new Set(vss.flatMap((v) => (v.spec?.gateways ?? []).includes(ingress?.metadata?.name) ? v.spec.hosts ?? [] : []));
      for (const h of exported) if (!routed.has(h)) problems.push(`no ingress route for ${h}`);
      checks.push({ name: 'ingress', ok: !problems.length, detail: problems.length ? problems.join('; ') : `Gateway ${ingress.metadata.name} for *.svc.${c.name}.${domain}; ${exported.length} export route(s)` });

      const egressProblems: string[] = [];
      const callees = calleesOf(exports, c.name);
      for (const o of callees) {
        const se = ses.find((s) => s.spec?.hosts?.includes(ingressHost(o, domain)));
        if (!se) {
          egressProblems.push(`no ServiceEntry ${ingressHost(o, domain)}`);
        } else if (inventory.clusters.some((x) => x.name === o)) {
          const explicit = explicitGateway(inventory, o);
          const gw = await gatewayOf(explicit ? conn : await connect(o), o, explicit, { service: 'istio-ingressgateway', namespace: ns, port });
          const ep = se.spec?.endpoints?.[0];
          const p = Object.values(ep?.ports ?? {})[0];
          if (ep?.address !== gw.address || p !== gw.port) egressProblems.push(`${ingressHost(o, domain)} at ${ep?.address}:${p} but ${o}'s ingress is ${gw.address}:${gw.port}`);
        }
        if (!gws.some((g) => g.metadata.labels?.[remoteClusterLabel] === o)) egressProblems.push(`no egress Gateway for *.svc.${o}.${domain}`);
        if (!vss.some((v) => v.metadata.labels?.[remoteClusterLabel] === o && v.spec?.hosts?.includes(`*.svc.${o}.${domain}`))) egressProblems.push(`no VirtualService for *.svc.${o}.${domain}`);
      }
      for (const s of ses) {
        const o = s.metadata.labels?.[remoteClusterLabel];
        if (o && !callees.includes(o)) egressProblems.push(`stale ServiceEntry ${s.metadata.name} (${o} exports nothing to ${c.name})`);
      }
      checks.push({ name: 'egress', ok: !egressProblems.length, detail: egressProblems.length ? egressProblems.join('; ') : callees.length ? `egress funnel to ${callees.join(', ')}` : 'calls no other mesh' });
    } catch (e) {
      checks.push({ name: 'ingress', ok: false, detail: (e as Error).message });
    }
    clusters.push({ cluster: c.name, reachable: true, checks: checks as unknown as ClusterStatus['checks'] });
  }
  const lines = clusters.flatMap((c) => (c.reachable ? c.checks.map((x) => `${c.cluster} ${x.name} ${x.ok ? 'ok' : 'FAIL'} ${x.detail}`) : [`${c.cluster} unreachable`]));
  return { healthy: clusters.every((c) => c.reachable && c.checks.every((x) => x.ok)), clusters, lines };
}
