// mesh_remote_routes: the Istio objects of seed 001's separate meshes for the cluster this task runs on.
//  - as an exporting cluster: the ingress Gateway for `*.svc.<me>.remote`, and per export a VirtualService sending
//    `<service>.<namespace>.svc.<me>.remote` from that Gateway to the local Service;
//  - as a calling cluster, for every other cluster that exports something to it: a STATIC ServiceEntry
//    `ingress.<other>.remote` at that cluster's ingress address, an egress Gateway for `*.svc.<other>.remote`, and a
//    VirtualService sending `*.svc.<other>.remote` from the mesh to the local egress gateway and from the egress
//    gateway to `ingress.<other>.remote` (the egress funnel), plus the egress gateway's DestinationRule (subset
//    `remote`) the mesh route names.
// It only reads (changed is always false) and returns `definitions`; the role applies them with k8s + prune, so every
// object a removed export or cluster leaves behind is pruned, and --check/--diff work as for every object.
import { integer, object, record, required, string, typed, withDefault } from './args.js';
import type { Module } from './types.js';
import { clusterConnection, meshLabels, ownerOf } from '../mesh/kube.js';
import { calleesOf, component, ingressHost, remoteClusterLabel, remoteHost } from '../mesh/remote-names.js';
import { EXPORTS_SCHEMA, explicitGateway, gatewayOf, type Gateway, type MeshExport } from '../mesh/exports.js';

const schema = object({
  exports: required(typed<MeshExport[]>(EXPORTS_SCHEMA)),
  /** Namespace of every object (and of the gateways' Services). */
  namespace: withDefault(string(), 'istio-system'),
  /** Port the ingress and egress gateways serve `.remote` hosts on (seed 001: 80, HTTP). */
  port: withDefault(integer(), 80),
  ingress_service: withDefault(string(), 'istio-ingressgateway'),
  egress_service: withDefault(string(), 'istio-egressgateway'),
  ingress_selector: record(string()),
  egress_selector: record(string()),
  domain: withDefault(string({ pattern: '^[a-z0-9-]+$' }), 'remote'),
  owner: string(),
});

const dns1123 = (s: string) => s.toLowerCase().replace(/[^a-z0-9-]/g, '-').slice(0, 63).replace(/-+$/, '');

const remoteRoutes: Module<typeof schema, { gateways: Record<string, Gateway> }> = {
  name: 'mesh_remote_routes',
  schema,

  // Reads the ingress gateway address of every cluster this one calls.
  async facts(ctx, args) {
    const me = ctx.host.name;
    const { namespace: ns, port, domain } = args;
    const clusters = new Set(ctx.inventory.clusters.map((c) => c.name));
    for (const e of args.exports) {
      if (!clusters.has(e.cluster)) throw new Error(`mesh_exports: cluster '${e.cluster}' (export ${remoteHost(e, domain)}) is not in the inventory; clusters: ${[...clusters].join(', ')}`);
      for (const c of e.callers ?? []) if (!clusters.has(c)) throw new Error(`mesh_exports: caller '${c}' of ${remoteHost(e, domain)} is not in the inventory`);
    }
    const gateways: Record<string, Gateway> = {};
    const gwOpts = { service: args.ingress_service, namespace: ns, port };
    for (const o of calleesOf(args.exports, me)) {
      const explicit = explicitGateway(ctx.inventory, o);
      gateways[o] = await gatewayOf(await clusterConnection(ctx, explicit ? me : o), o, explicit, gwOpts);
    }
    return { gateways };
  },

  plan({ gateways }, args, ctx) {
    const me = ctx.host.name;
    const { namespace: ns, port, domain } = args;
    const owner = ownerOf(ctx, args.owner);
    const labels = (extra: Record<string, string> = {}) => ({ ...meshLabels(component, owner), ...extra });
    const ingressGateway = `${domain}-ingress`;
    const egressSvcHost = `${args.egress_service}.${ns}.svc.cluster.local`;
    const http = { number: port, name: 'http', protocol: 'HTTP' };
    const defs: Record<string, unknown>[] = [];

    // Exporting side: accept *.svc.<me>.remote at the ingress gateway, route each export to its Service.
    defs.push({
      apiVersion: 'networking.istio.io/v1alpha3',
      kind: 'Gateway',
      metadata: { name: ingressGateway, namespace: ns, labels: labels() },
      spec: { selector: args.ingress_selector ?? { istio: 'ingressgateway' }, servers: [{ hosts: [`*.svc.${me}.${domain}`], port: http }] },
    });
    const mine = args.exports.filter((e) => e.cluster === me).sort((a, b) => remoteHost(a).localeCompare(remoteHost(b)));
    for (const e of mine) {
      const target = e.ports?.[0]?.number ?? 80;
      defs.push({
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'VirtualService',
        metadata: { name: dns1123(`${domain}-export-${e.service}-${e.namespace}`), namespace: ns, labels: labels() },
        spec: {
          hosts: [remoteHost(e, domain)],
          gateways: [ingressGateway],
          http: [{ route: [{ destination: { host: `${e.service}.${e.namespace}.svc.cluster.local`, port: { number: target } } }] }],
        },
      });
    }

    // Calling side: one ServiceEntry, egress Gateway and VirtualService per cluster called.
    const callees = calleesOf(args.exports, me);
    if (callees.length) {
      defs.push({
        apiVersion: 'networking.istio.io/v1alpha3',
        kind: 'DestinationRule',
        metadata: { name: `${domain}-egressgateway`, namespace: ns, labels: labels() },
        spec: { host: egressSvcHost, subsets: [{ name: domain }] },
      });
    }
    for (const o of callees) {
      const gw = gateways[o]!;
      const egressGateway = dns1123(`${domain}-egress-${o}`);
      const wildcard = `*.svc.${o}.${domain}`;
      const ingress = ingressHost(o, domain);
      const tag = { [remoteClusterLabel]: o };
      defs.push(
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'ServiceEntry',
          metadata: { name: dns1123(`ingress-${o}-${domain}`), namespace: ns, labels: labels(tag) },
          spec: { hosts: [ingress], ports: [http], resolution: 'STATIC', endpoints: [{ address: gw.address, ports: { http: gw.port } }] },
        },
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'Gateway',
          metadata: { name: egressGateway, namespace: ns, labels: labels(tag) },
          spec: { selector: args.egress_selector ?? { istio: 'egressgateway' }, servers: [{ hosts: [wildcard], port: http }] },
        },
        {
          apiVersion: 'networking.istio.io/v1alpha3',
          kind: 'VirtualService',
          metadata: { name: dns1123(`${domain}-${o}`), namespace: ns, labels: labels(tag) },
          spec: {
            hosts: [wildcard],
            gateways: ['mesh', egressGateway],
            http: [
              { match: [{ gateways: ['mesh'], port }], route: [{ destination: { host: egressSvcHost, subset: domain, port: { number: port } } }] },
              { match: [{ gateways: [egressGateway], port }], route: [{ destination: { host: ingress, port: { number: port } } }] },
            ],
          },
        },
      );
    }
    return {
      changed: false,
      result: {
        definitions: defs,
        callees,
        exports: mine.map((e) => remoteHost(e, domain)),
        gateways,
        prune_selector: `meshplay.io/component=${component}`,
      },
    };
  },
};

export default remoteRoutes;
