// The services clusters export to each other (a role's `mesh_exports`) and where each cluster's gateway is
// reached from the others. Shared by the modules that render the cross-cluster objects (mesh_service_entries,
// mesh_remote_routes) and by the status probes, so the module and `meshplay status` read one rule.
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { Inventory } from '../inventory/types.js';
import { get } from './kube.js';

export interface ExportPort {
  number: number;
  name?: string;
  protocol?: string;
}

export interface MeshExport {
  cluster: string;
  namespace: string;
  service: string;
  ports?: ExportPort[];
  /** Calling clusters (default: every other cluster). */
  callers?: string[];
}

/** The JSON schema of an `exports` argument (a list of MeshExport). */
export const EXPORTS_SCHEMA = {
  type: 'array',
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['cluster', 'namespace', 'service'],
    properties: {
      cluster: { type: 'string' },
      namespace: { type: 'string' },
      service: { type: 'string' },
      ports: {
        type: 'array',
        items: { type: 'object', additionalProperties: false, required: ['number'], properties: { number: { type: 'integer' }, name: { type: 'string' }, protocol: { type: 'string' } } },
      },
      callers: { type: 'array', items: { type: 'string' } },
    },
  },
};

export interface Gateway {
  cluster: string;
  address: string;
  port: number;
  source: string;
}

/** Where a cluster's 15443 gateway is reachable from other clusters, in order of preference. */
export async function gatewayOf(conn: KubernetesConnection, cluster: string, explicit: string | undefined, opts: { service: string; namespace: string; port: number }): Promise<Gateway> {
  if (explicit) {
    const [addr, p] = explicit.includes(':') && !explicit.includes('::') ? explicit.split(':') : [explicit, undefined];
    return { cluster, address: addr!, port: p ? Number(p) : opts.port, source: 'inventory gateway_address' };
  }
  const svc = await get<any>(conn, `/api/v1/namespaces/${opts.namespace}/services/${opts.service}`);
  if (!svc) throw new Error(`${cluster}: Service ${opts.namespace}/${opts.service} not found: the cluster has no ingress gateway to export through (set gateway_address for ${cluster} in the inventory if it is elsewhere)`);
  const ingress = svc.status?.loadBalancer?.ingress?.[0];
  if (ingress?.ip || ingress?.hostname) return { cluster, address: ingress.ip ?? ingress.hostname, port: opts.port, source: 'LoadBalancer' };
  const port = (svc.spec?.ports ?? []).find((p: any) => p.port === opts.port);
  if (!port?.nodePort) throw new Error(`${cluster}: Service ${opts.namespace}/${opts.service} has no LoadBalancer address and no nodePort for port ${opts.port}; set gateway_address for ${cluster} in the inventory`);
  const nodes = await conn.request<{ items: any[] }>({ method: 'GET', path: '/api/v1/nodes', list: true });
  const addrs = nodes.items
    .sort((a, b) => String(a.metadata?.name).localeCompare(String(b.metadata?.name)))
    .flatMap((n) => (n.status?.addresses ?? []).filter((a: any) => a.type === 'ExternalIP').concat((n.status?.addresses ?? []).filter((a: any) => a.type === 'InternalIP')));
  if (!addrs.length) throw new Error(`${cluster}: no node has an InternalIP/ExternalIP to reach nodePort ${port.nodePort}; set gateway_address for ${cluster} in the inventory`);
  return { cluster, address: addrs[0].address, port: port.nodePort, source: `node ${addrs[0].address} nodePort` };
}

/** `gateway_address` of a cluster in the inventory (the cluster's own key, its vars, group_vars or host_vars). */
export function explicitGateway(inventory: Inventory, cluster: string): string | undefined {
  const spec = inventory.clusters.find((c) => c.name === cluster);
  const v = spec?.gateway_address ?? inventory.hosts?.get(cluster)?.vars.gateway_address ?? spec?.vars?.gateway_address;
  return typeof v === 'string' && v ? v : undefined;
}

export function hostOf(e: Pick<MeshExport, 'service' | 'namespace'>): string {
  return `${e.service}.${e.namespace}.global`;
}
