// mesh_service_entries: the ServiceEntries the cluster this task runs on (the *calling* cluster) needs for
// every service other clusters export to it: host `<service>.<namespace>.global`, MESH_INTERNAL, resolution
// DNS, a virtual address from runner/mesh/vip.ts, and an endpoint at the exporting cluster's gateway (15443).
// It only reads (changed is always false) and returns `definitions`; the role applies them with k8s + prune,
// so writes, --check and --diff behave like every other object.
import { integer, object, required, string, typed, withDefault, type ArgsOf } from './args.js';
import type { Module } from './types.js';
import { allocateVips, defaultVipRange } from '../mesh/vip.js';
import { EXPORTS_SCHEMA, explicitGateway, gatewayOf, hostOf, type ExportPort, type Gateway, type MeshExport } from '../mesh/exports.js';
import { clusterConnection, componentLabel, meshLabels, ownerOf } from '../mesh/kube.js';
import type { KubeObject } from '../k8s/objects.js';

const schema = object({
  exports: required(typed<MeshExport[]>(EXPORTS_SCHEMA)),
  namespace: withDefault(string(), 'istio-system'),
  vip_range: withDefault(string(), defaultVipRange),
  gateway_port: withDefault(integer(), 15443),
  gateway_service: withDefault(string(), 'istio-ingressgateway'),
  gateway_namespace: withDefault(string(), 'istio-system'),
  owner: string(),
});
type ServiceEntriesArgs = ArgsOf<typeof schema>;

/** What this cluster imports: exports of other clusters it may call. */
const importsOf = (args: ServiceEntriesArgs, me: string) => args.exports.filter((e) => e.cluster !== me && (!e.callers || e.callers.includes(me)));

export const component = 'service-entries';

export function entryName(e: MeshExport): string {
  return `${e.service}-${e.namespace}-${e.cluster}`.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 253);
}

function portName(p: ExportPort): string {
  return p.name ?? `${(p.protocol ?? 'tcp').toLowerCase()}-${p.number}`;
}

const serviceEntries: Module<typeof schema, { serviceEntries: KubeObject[]; gateways: Map<string, Gateway> }> = {
  name: 'mesh_service_entries',
  schema,

  // Reads the ServiceEntries the cluster has (addresses in use) and the gateway of every cluster it imports from.
  async facts(ctx, args) {
    const me = ctx.host.name;
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
    const mine = importsOf(args, me);
    const conn = await clusterConnection(ctx, me);
    const seRes = await conn.resourceFor('networking.istio.io/v1alpha3', 'ServiceEntry');
    const all = await conn.request<{ items: KubeObject[] }>({ method: 'GET', path: conn.pathFor(seRes), list: true });
    const gateways = new Map<string, Gateway>();
    const gwOpts = { service: args.gateway_service, namespace: args.gateway_namespace, port: args.gateway_port };
    for (const c of new Set(mine.map((e) => e.cluster))) {
      const explicit = explicitGateway(ctx.inventory, c);
      gateways.set(c, await gatewayOf(explicit ? conn : await clusterConnection(ctx, c), c, explicit, gwOpts));
    }
    return { serviceEntries: all.items, gateways };
  },

  plan({ serviceEntries: all, gateways }, args, ctx) {
    const me = ctx.host.name;
    const ns = args.namespace;
    const mine = importsOf(args, me);
    const existing: Record<string, string> = {};
    const reserved: string[] = [];
    for (const se of all) {
      const spec = (se as any).spec ?? {};
      const ours = se.metadata?.labels?.[componentLabel] === component && se.metadata?.namespace === ns;
      const addresses: string[] = spec.addresses ?? [];
      if (ours && spec.hosts?.[0] && addresses[0]) existing[spec.hosts[0]] = addresses[0];
      else reserved.push(...addresses.map((a) => a.split('/')[0]!));
    }
    const alloc = allocateVips(mine.map(hostOf), existing, args.vip_range, reserved);
    for (const m of alloc.moved) ctx.warn(`${me}: ${m.host} had ${m.from} (${m.reason}); it gets a new address`);
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
};

export default serviceEntries;
