// mesh_global_dns: make `*.global` resolve through the istiocoredns Service, in whichever DNS the cluster runs.
// CoreDNS: a `global:53 { errors; cache 30; forward . <ip> }` server block in the Corefile, edited in place
// (runner/mesh/corefile.ts keeps every other byte). kube-dns: `global: [<ip>]` merged into stubDomains.
// What was there before is recorded in an annotation the first time, so state: absent puts it back exactly
// and leaves alone a configuration meshplay never touched.
import { object, oneOf, string, withDefault } from './args.js';
import type { Fingerprint, Module } from './types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { restoreBlock, upsertForwardBlock, upsertTemplateBlock } from '../mesh/corefile.js';
import { mergeStubDomain, parseStubDomains, restoreStubDomain } from '../mesh/stubdomains.js';
import { deepEqual } from '../k8s/objects.js';
import { clusterConnection, get } from '../mesh/kube.js';
import type { KubeObject } from '../k8s/objects.js';
import { objectFingerprint } from '../k8s/fingerprint.js';

const schema = object({
  state: withDefault(oneOf(['present', 'absent']), 'present'),
  dns: withDefault(oneOf(['auto', 'coredns', 'kube-dns']), 'auto'),
  zone: withDefault(string({ pattern: '^[a-z0-9.-]+$' }), 'global'),
  /** Address to forward to; default: the ClusterIP of istiocoredns_service. */
  upstream: string(),
  /**
   * CoreDNS only: answer every A query in the zone with this address (a `template` block, seed 001's `*.remote`
   * placeholder) instead of forwarding. kube-dns cannot, so there the zone still forwards (to istiocoredns_service,
   * e.g. a separate CoreDNS that answers with the template).
   */
  answer: string({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' }),
  istiocoredns_service: withDefault(string(), 'istiocoredns'),
  istiocoredns_namespace: withDefault(string(), 'istio-system'),
  dns_namespace: withDefault(string(), 'kube-system'),
});

type Found = NonNullable<Awaited<ReturnType<typeof findDnsConfig>>>;

/** The DNS ConfigMap found, and the istiocoredns Service when the upstream is read from it. */
interface GlobalDnsFacts {
  found?: Found;
  /** Read only when needed; null: read and absent. */
  service?: any;
  where: string;
}

export const recordAnnotation = 'meshplay.io/global-dns';

/** Each zone keeps its own record, so the .global and .remote edits of one ConfigMap undo independently. */
export function recordAnnotationFor(zone: string): string {
  return zone === 'global' ? recordAnnotation : `meshplay.io/dns-${zone}`;
}

interface Record_ {
  /** Which ConfigMap key was edited. */
  key: 'Corefile' | 'stubDomains';
  /** CoreDNS: the zone block before ('' = none); kube-dns: the zone's servers before (null = none). */
  previous: string | string[] | null;
  separator?: boolean;
  /** Whether the key existed in the ConfigMap before. */
  hadKey: boolean;
  /** kube-dns: stubDomains exactly as it was written, so giving back keeps its formatting byte for byte. */
  text?: string;
}

interface PlanData {
  path: string;
  /** The merge patch to send; undefined when nothing changes. */
  patch?: Record<string, unknown>;
}

function cmPath(ns: string, name: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/configmaps/${encodeURIComponent(name)}`;
}

/** Which ConfigMap holds the DNS configuration, and which format it is in. */
export async function findDnsConfig(conn: KubernetesConnection, ns: string, dns: string): Promise<{ cm: KubeObject; key: 'Corefile' | 'stubDomains'; flavour: string } | undefined> {
  const coredns = dns !== 'kube-dns' ? await get(conn, cmPath(ns, 'coredns')) : undefined;
  if (coredns && typeof (coredns.data as any)?.Corefile === 'string') return { cm: coredns, key: 'Corefile', flavour: 'coredns' };
  const kubeDns = dns !== 'coredns' ? await get(conn, cmPath(ns, 'kube-dns')) : undefined;
  if (kubeDns) {
    // Some distributions (IBM Cloud Private) run CoreDNS under the kube-dns name, with a Corefile in it.
    if (typeof (kubeDns.data as any)?.Corefile === 'string') return { cm: kubeDns, key: 'Corefile', flavour: 'coredns (ConfigMap kube-dns)' };
    return { cm: kubeDns, key: 'stubDomains', flavour: 'kube-dns' };
  }
  return undefined;
}

export function noDnsConfig(conn: KubernetesConnection, ns: string, dns: string): Error {
  return new Error(
    `${conn.host}: no DNS ConfigMap found in ${ns} (looked for ${dns === 'kube-dns' ? '' : 'coredns with a Corefile'}${dns === 'auto' ? ' and ' : ''}${dns === 'coredns' ? '' : 'kube-dns'}); ` +
      'set mesh_dns (coredns | kube-dns) or mesh_dns_namespace if the cluster keeps it elsewhere',
  );
}

const globalDns: Module<typeof schema, GlobalDnsFacts, PlanData> = {
  name: 'mesh_global_dns',
  schema,

  async facts(ctx, args) {
    const conn = await clusterConnection(ctx, ctx.host.name);
    const found = await findDnsConfig(conn, args.dns_namespace, args.dns);
    if (!found && args.state !== 'absent') throw noDnsConfig(conn, args.dns_namespace, args.dns);
    const template = found?.key === 'Corefile' && args.answer !== undefined;
    const service = found && args.state === 'present' && !args.upstream && !template
      ? (await get<any>(conn, `/api/v1/namespaces/${args.istiocoredns_namespace}/services/${args.istiocoredns_service}`)) ?? null
      : undefined;
    return { found, service, where: conn.host };
  },

  plan(f, args, ctx) {
    const zone = args.zone;
    const dnsNs = args.dns_namespace;
    const found = f.found;
    // Nothing meshplay could have edited: giving back is already done.
    if (!found) return { changed: false, msg: `no DNS ConfigMap in ${dnsNs}: nothing to give back`, result: { zone, action: 'unchanged' }, data: { path: '' } };
    const { cm, key, flavour } = found;
    const name = cm.metadata!.name!;
    const fingerprints: Fingerprint[] = [objectFingerprint(ctx.host.name, { apiVersion: 'v1', resource: 'ConfigMap', namespace: dnsNs, name }, cm)];
    const data = (cm.data ?? {}) as Record<string, string>;
    const annotations = cm.metadata?.annotations ?? {};
    const annotation = recordAnnotationFor(zone);
    const recorded: Record_ | undefined = annotations[annotation] ? JSON.parse(annotations[annotation]!) : undefined;
    const before = data[key] ?? '';
    let after = before;
    let action = 'unchanged';
    let record: Record_ | null | undefined; // undefined: leave the annotation; null: remove it
    let upstream: string | undefined;

    if (args.state === 'present') {
      upstream = args.upstream;
      const template = key === 'Corefile' && args.answer !== undefined;
      if (!upstream && !template) {
        const svcNs = args.istiocoredns_namespace;
        const svcName = args.istiocoredns_service;
        const svc = f.service;
        upstream = svc?.spec?.clusterIP;
        if (!svc && ctx.check) upstream = `<ClusterIP of ${svcNs}/${svcName} once created>`;
        else if (!upstream || upstream === 'None') {
          throw new Error(`${ctx.host.name}: Service ${svcNs}/${svcName} ${svc ? 'has no ClusterIP' : 'not found'}; install the Istio control plane with istiocoredns (multicluster gateways values) first, or give upstream`);
        }
      }
      if (template) {
        const e = upsertTemplateBlock(before, zone, args.answer!);
        after = e.text;
        action = e.action;
        upstream = undefined;
        if (e.changed && !recorded) record = { key, previous: e.previousBlock, separator: e.separatorAdded, hadKey: key in data };
      } else if (key === 'Corefile') {
        const e = upsertForwardBlock(before, zone, upstream!);
        after = e.text;
        action = e.action;
        if (e.changed && !recorded) record = { key, previous: e.previousBlock, separator: e.separatorAdded, hadKey: key in data };
      } else {
        const e = mergeStubDomain(data.stubDomains, zone, [upstream!]);
        after = e.text;
        action = e.action;
        if (e.changed && !recorded) record = { key, previous: e.previous ?? null, hadKey: key in data, ...(key in data ? { text: data.stubDomains } : {}) };
      }
    } else if (recorded) {
      if (recorded.key === 'Corefile') {
        const e = restoreBlock(before, zone, (recorded.previous as string) ?? '', !!recorded.separator);
        after = e.text;
        action = e.action;
      } else {
        const e = restoreStubDomain(data.stubDomains, zone, (recorded.previous as string[] | null) ?? undefined);
        after = e.text;
        action = e.action;
        // The same domains and servers as when meshplay first edited it: put back the text exactly as it was.
        if (recorded.text !== undefined && after !== recorded.text && deepEqual(parseStubDomains(after), parseStubDomains(recorded.text))) {
          after = recorded.text;
          if (action === 'unchanged') action = 'restored';
        }
      }
      record = null;
    }

    const dataChanged = after !== before;
    const changed = dataChanged || record !== undefined;
    const result = { dns: flavour, configmap: `${dnsNs}/${name}`, key, zone, upstream, answer: key === 'Corefile' ? args.answer : undefined, action };
    if (!changed) return { changed: false, result, data: { path: cmPath(dnsNs, name) }, fingerprints };
    const patchData: Record<string, string | null> = {};
    if (dataChanged) patchData[key] = after === '' && record === null && recorded && !recorded.hadKey ? null : after;
    const patch: Record<string, unknown> = {
      metadata: { resourceVersion: cm.metadata!.resourceVersion, annotations: { [annotation]: record === null ? null : JSON.stringify(record) } },
      ...(dataChanged ? { data: patchData } : {}),
    };
    if (record === undefined) delete (patch.metadata as any).annotations;
    return {
      changed: true,
      msg: `${action === 'unchanged' ? 'record' : action} ${zone} in ${dnsNs}/${name} (${flavour})${upstream ? ` -> ${upstream}` : ''}${key === 'Corefile' && args.answer ? ` answering ${args.answer}` : ''}`,
      diff: dataChanged ? [{ before, after, beforeHeader: `ConfigMap ${dnsNs}/${name} ${key} (live)`, afterHeader: `ConfigMap ${dnsNs}/${name} ${key} (desired)` }] : [],
      result,
      data: { path: cmPath(dnsNs, name), patch },
      fingerprints,
    };
  },

  async apply(ctx, _args, plan) {
    const conn = await clusterConnection(ctx, ctx.host.name);
    if (!plan.data.patch) throw new Error('mesh_global_dns: no patch planned');
    // A merge patch touches only the one key (and our annotation); resourceVersion makes a concurrent edit fail
    // instead of being overwritten.
    await conn.request({ method: 'PATCH', path: plan.data.path, body: plan.data.patch, contentType: 'application/merge-patch+json' });
    return { changed: true, msg: plan.msg, diff: plan.diff, ...(plan.result ?? {}) };
  },
};

export default globalDns;
