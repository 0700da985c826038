// Where a remote cluster's sidecars find the Istio control plane: read from the control-plane cluster, the
// selector-less Services + Endpoints a remote needs, and the probe that says whether a remote's Endpoints still
// point where the control plane is. One definition for the istio_discovery module (which returns the objects for a
// k8s task to apply) and for `meshplay status` (which compares them with what the remote holds).
//   svc: the control plane Services' ClusterIPs (needs routed service networks, seed 002)
//   pod: the pod IPs behind them (seed 003; breaks when a control-plane pod restarts)
//   lb:  a LoadBalancer ingress address, of the Service itself or of `<name>-ilb` (seed 003's fix)
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { KubeObject } from '../k8s/objects.js';

export type DiscoveryMode = 'svc' | 'pod' | 'lb';


/** Istio 1.3 control-plane Services a sidecar or gateway talks to; istiod (>= 1.5) when present. */
export const defaultDiscoveryServices = ['istiod', 'istio-pilot', 'istio-policy', 'istio-telemetry', 'zipkin'];

export interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  targetPort?: number | string;
}

export interface DiscoveredService {
  name: string;
  ports: { name?: string; port: number; protocol: string; endpointPort: number }[];
  /** Sorted addresses the remote's Endpoints should list. */
  addresses: string[];
  /** Where the addresses came from (Service name read). */
  source: string;
}

interface CpService {
  metadata: { name: string };
  spec: { type?: string; clusterIP?: string; selector?: Record<string, string>; ports?: ServicePort[] };
  status?: { loadBalancer?: { ingress?: { ip?: string; hostname?: string }[] } };
}

interface CpPod {
  metadata: { name: string; labels?: Record<string, string> };
  status?: { podIP?: string; phase?: string };
}

export const discoveryLabel = 'meshplay.io/istio-discovery';

const byIp = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** Pure: the addresses and ports a remote should use for one control-plane Service. */
export function discover(mode: DiscoveryMode, svc: CpService, all: Map<string, CpService>, pods: CpPod[]): DiscoveredService {
  const name = svc.metadata.name;
  const ports = (svc.spec.ports ?? []).map((p) => ({
    name: p.name,
    port: p.port,
    protocol: p.protocol ?? 'TCP',
    endpointPort: mode === 'pod' && typeof p.targetPort === 'number' ? p.targetPort : p.port,
  }));
  if (mode === 'svc') {
    const ip = svc.spec.clusterIP;
    if (!ip || ip === 'None') throw new Error(`Service ${name} in the control plane has no ClusterIP (headless): use istio_control_plane_discovery: pod`);
    return { name, ports, addresses: [ip], source: name };
  }
  if (mode === 'pod') {
    const sel = svc.spec.selector ?? {};
    if (!Object.keys(sel).length) throw new Error(`Service ${name} in the control plane has no selector: its pods cannot be found (use svc or lb)`);
    const ips = pods
      .filter((p) => Object.entries(sel).every(([k, v]) => p.metadata.labels?.[k] === v))
      .map((p) => p.status?.podIP)
      .filter((ip): ip is string => !!ip);
    if (!ips.length) throw new Error(`no pod of Service ${name} in the control plane has an IP yet (selector ${Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',')})`);
    return { name, ports, addresses: [...new Set(ips)].sort(byIp), source: name };
  }
  const lb = svc.spec.type === 'LoadBalancer' ? svc : all.get(`${name}-ilb`);
  if (!lb || lb.spec.type !== 'LoadBalancer') throw new Error(`Service ${name} is not type LoadBalancer and there is no ${name}-ilb LoadBalancer Service in the control plane`);
  const ingress = lb.status?.loadBalancer?.ingress ?? [];
  const ips = ingress.map((i) => i.ip).filter((ip): ip is string => !!ip);
  if (!ips.length) {
    const host = ingress.find((i) => i.hostname)?.hostname;
    throw new Error(host ? `LoadBalancer ${lb.metadata.name} has a hostname (${host}), not an IP: Endpoints need IPs` : `LoadBalancer ${lb.metadata.name} has no ingress address yet`);
  }
  return { name, ports, addresses: [...new Set(ips)].sort(byIp), source: lb.metadata.name };
}

/** Pure: the selector-less Service and its Endpoints in the remote. */
export function remoteObjects(d: DiscoveredService, namespace: string, controlPlane: string): KubeObject[] {
  const labels = { [discoveryLabel]: 'true', 'meshplay.io/control-plane': controlPlane };
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: d.name, namespace, labels },
      // Headless and selector-less: DNS answers the Endpoints below, which point into the control-plane cluster.
      spec: { clusterIP: 'None', ports: d.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.port, protocol: p.protocol })) },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: d.name, namespace, labels },
      subsets: [
        {
          addresses: d.addresses.map((ip) => ({ ip })),
          ports: d.ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), port: p.endpointPort, protocol: p.protocol })),
        },
      ],
    },
  ];
}

/** Reads the control plane's Services (and pods for `pod`) and discovers each wanted one that exists. */
export async function discoverAll(conn: KubernetesConnection, mode: DiscoveryMode, namespace: string, wanted: string[]): Promise<DiscoveredService[]> {
  const ns = encodeURIComponent(namespace);
  const svcs = await conn.request<{ items: CpService[] }>({ method: 'GET', list: true, path: `/api/v1/namespaces/${ns}/services` });
  const all = new Map(svcs.items.map((s) => [s.metadata.name, s]));
  const present = wanted.filter((n) => all.has(n));
  if (!present.length) {
    throw new Error(
      `${conn.host}: none of the Istio control-plane Services (${wanted.join(', ')}) exists in namespace ${namespace}: is Istio installed in the control-plane cluster?`,
    );
  }
  const pods = mode === 'pod' ? (await conn.request<{ items: CpPod[] }>({ method: 'GET', list: true, path: `/api/v1/namespaces/${ns}/pods` })).items : [];
  return present.map((n) => discover(mode, all.get(n)!, all, pods));
}

/** A remote's discovery Endpoints compared with where the control plane is now. */
export interface DiscoveryDrift {
  mode: DiscoveryMode;
  inSync: boolean;
  /** One line per Endpoints object that is missing, unlabelled or lists other addresses. */
  stale: string[];
}

/**
 * Whether the remote holds the Endpoints the istio_discovery module would return now: the same objects
 * (remoteObjects) compared by their addresses and the discovery label. Throws when either side cannot be read.
 */
export async function discoveryDrift(cp: KubernetesConnection, remote: KubernetesConnection, mode: DiscoveryMode, namespace: string, wanted: string[], controlPlane: string): Promise<DiscoveryDrift> {
  const found = await discoverAll(cp, mode, namespace, wanted);
  const stale: string[] = [];
  for (const d of found) {
    const want = remoteObjects(d, namespace, controlPlane).find((o) => o.kind === 'Endpoints') as any;
    const wantIps = ((want.subsets ?? []) as any[]).flatMap((s) => (s.addresses ?? []).map((a: any) => a.ip as string)).sort(byIp);
    const ep = await remote.getOrUndefined<any>(`/api/v1/namespaces/${encodeURIComponent(namespace)}/endpoints/${encodeURIComponent(d.name)}`);
    const have = ((ep?.subsets ?? []) as any[]).flatMap((s) => (s.addresses ?? []).map((a: any) => a.ip as string)).sort(byIp);
    const labelled = ep?.metadata?.labels?.[discoveryLabel] === 'true';
    if (!ep || !labelled || have.join(',') !== wantIps.join(',')) stale.push(`${d.name}: has ${have.join(',') || 'none'}, control plane is at ${wantIps.join(',')}`);
  }
  return { mode, inSync: stale.length === 0, stale };
}
