// mesh_service_entries: the ServiceEntries the cluster this task runs on (the *calling* cluster) needs for
// every service other clusters export to it: host `<service>.<namespace>.global`, MESH_INTERNAL, resolution
// DNS, a virtual address from runner/mesh/vip.ts, and an endpoint at the exporting cluster's gateway (15443).
// It only reads (changed is always false) and returns `definitions`; the role applies them with k8s + prune,
// so writes, --check and --diff behave like every other object.
import type { Module, Plan } from './types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { allocateVips, defaultVipRange } from '../mesh/vip.js';
import { clusterConnection, componentLabel, get, meshLabels, ownerOf } from '../mesh/kube.js';
import type { KubeObject } from '../k8s/objects.js';
import type { Inventory } from '../inventory/types.js';

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

export interface ServiceEntriesArgs {
  exports: MeshExport[];
  namespace?: string;
  vip_range?: string;
  gateway_port?: number;
  gateway_service?: string;
  gateway_namespace?: string;
  owner?: string;
}

export interface Gateway {
  cluster: string;
  address: string;
  port: number;
  source: string;
}

export const component = 'service-entries';

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

export function entryName(e: MeshExport): string {
  return `${e.service}-${e.namespace}-${e.cluster}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 253);
}

function portName(p: ExportPort): string {
  return p.name ?? `${(p.protocol ?? 'tcp').toLowerCase()}-${p.number}`;
}

const serviceEntries: Module<ServiceEntriesArgs, never> = {
  name: 'mesh_service_entries',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['exports'],
    properties: {
      exports: {
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
      },
      namespace: { type: 'string' },
      vip_range: { type: 'string' },
      gateway_port: { type: 'integer' },
      gateway_service: { type: 'string' },
      gateway_namespace: { type: 'string' },
      owner: { type: 'string' },
    },
  },

  async plan(ctx, args): Promise<Plan<never>> {
    const me = ctx.host.name;
    const ns = args.namespace ?? 'istio-system';
    const range = args.vip_range ?? defaultVipRange;
    const clusters = new Map(ctx.inventory.clusters.map((c) => [c.name, c]));
    for (const e of args.exports) {
      if (!clusters.has(e.cluster)) throw new Error(`mesh_exports: cluster '${e.cluster}' (export ${hostOf(e)}) is not in the inventory; clusters: ${[...clusters.keys()].join(', ')}`);
    }
    const seen = new Map<string, string>();
    for (const e of args.exports) {
      const prev = seen.get(hostOf(e));
      if (prev && prev !== e.cluster) throw new Error(`mesh_exports: ${hostOf(e)} is exported by both ${prev} and ${e.cluster}; a .global host must have one exporting cluster`);
      seen.set(hostOf(e), e.cluster);
    }
    const mine = args.exports.filter((e) => e.cluster !== me && (!e.callers || e.callers.includes(me)));

    const conn = await clusterConnection(ctx, me);
    const seRes = await conn.resourceFor('networking.istio.io/v1alpha3', 'ServiceEntry');
    const all = await conn.request<{ items: KubeObject[] }>({ method: 'GET', path: conn.pathFor(seRes), list: true });
    const existing: Record<string, string> = {};
    const reserved: string[] = [];
    for (const se of all.items) {
      const spec = (se as any).spec ?? {};
      const ours = se.metadata?.labels?.[componentLabel] === component && se.metadata?.namespace === ns;
      const addresses: string[] = spec.addresses ?? [];
      if (ours && spec.hosts?.[0] && addresses[0]) existing[spec.hosts[0]] = addresses[0];
      else reserved.push(...addresses.map((a) => a.split('/')[0]!));
    }
    const alloc = allocateVips(mine.map(hostOf), existing, range, reserved);
    for (const m of alloc.moved) ctx.warn(`${me}: ${m.host} had ${m.from} (${m.reason}); it gets a new address`);

    const gateways = new Map<string, Gateway>();
    const gwOpts = { service: args.gateway_service ?? 'istio-ingressgateway', namespace: args.gateway_namespace ?? 'istio-system', port: args.gateway_port ?? 15443 };
    for (const c of new Set(mine.map((e) => e.cluster))) {
      const explicit = explicitGateway(ctx.inventory, c);
      gateways.set(c, await gatewayOf(explicit ? conn : await clusterConnection(ctx, c), c, explicit, gwOpts));
    }
    const owner = ownerOf(ctx, args.owner);
    const definitions = mine
      .sort((a, b) => entryName(a).localeCompare(entryName(b)))
      .map((e) => {
        const gw = gateways.get(e.cluster)!;
        const ports = (e.ports ?? [{ number: 80, name: 'http', protocol: 'HTTP' }]).map((p) => ({ number: p.number, name: portName(p), protocol: (p.protocol ?? 'TCP').toUpperCase() }));
        return {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'ServiceEntry',
          metadata: { name: entryName(e), namespace: ns, labels: { ...meshLabels(component, owner), 'meshplay.io/exporting-cluster': e.cluster } },
          spec: {
            hosts: [hostOf(e)],
            location: 'MESH_INTERNAL',
            ports,
            resolution: 'DNS',
            addresses: [alloc.addresses[hostOf(e)]],
            endpoints: [{ address: gw.address, ports: Object.fromEntries(ports.map((p) => [p.name, gw.port])), labels: { cluster: e.cluster } }],
          },
        };
      });
    return {
      changed: false,
      result: {
        definitions,
        addresses: Object.fromEntries(mine.map((e) => [hostOf(e), alloc.addresses[hostOf(e)]])),
        gateways: Object.fromEntries([...gateways].map(([k, v]) => [k, v])),
        prune_selector: `${componentLabel}=${component}`,
      },
    };
  },

  async apply() {
    return { changed: false };
  },
};

export default serviceEntries;
