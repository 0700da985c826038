// k8s_uninstall: gives a cluster back. Deletes every object meshplay created (label meshplay.io/created-by) of the
// given kinds, in the given order, and gives back every object it adopted (its recorded values restored, its marks
// removed): the rule of runner/k8s/ownership.ts. A Namespace meshplay created is deleted only when nothing
// meshplay did not create is left in it; otherwise it is kept and named in `kept`. The plan lists each object and
// what happens to it, so --check shows exactly what a run would delete or give back; a second run changes nothing.
import { array, number, object, required, string, withDefault, type ArgsOf } from './args.js';
import type { Fingerprint, Module, ModuleContext, ModuleResult, Plan, PlanContext } from './types.js';
import type { ApiResourceInfo, KubernetesConnection } from '../connection/kubernetes.js';
import { kubeConnection, listObjects, registerSecretValues, waitForDeletion } from '../k8s/client.js';
import { describe, type KubeObject } from '../k8s/objects.js';
import { adoptedSelector, createdSelector, isCreated } from '../k8s/ownership.js';
import { objectFingerprint } from '../k8s/fingerprint.js';
import { sendTakeBack, takeBack, takeBackDiff, takeBackLine, type PruneItem } from './k8s.js';

const schema = object({
  kinds: required(array(object({ kind: required(string()), api_version: withDefault(string(), 'v1') }))),
  /** Objects to leave even though meshplay created them (e.g. the mesh root CA). */
  keep: withDefault(array(object({ kind: required(string()), name: required(string()), namespace: string() })), []),
  wait_timeout: withDefault(number({ minimum: 0 }), 120),
});
type Args = ArgsOf<typeof schema>;

/** Per kind: what the ownership selectors found, or why the kind was skipped; and what deciding an object needs read. */
interface UninstallFacts {
  kinds: { skipped?: string; resource?: ApiResourceInfo; found: KubeObject[] }[];
  /** Endpoints (by describe()) whose Service has a selector. */
  selectorEndpoints: string[];
  /** Namespaces meshplay created -> what is in them that meshplay did not create. */
  foreign: Record<string, string[]>;
}

interface Data {
  items: PruneItem[];
}

const kept = (o: KubeObject, keep: Args['keep']) =>
  keep.some((k) => k.kind === o.kind && k.name === o.metadata?.name && (k.namespace === undefined || k.namespace === o.metadata?.namespace));

/** Objects a namespace's controllers make on their own, which go with the namespace or their owner. */
function madeByControllers(o: KubeObject, createdServices: Set<string>, createdAccounts: Set<string>): boolean {
  const meta = o.metadata ?? {};
  if (Array.isArray(meta.ownerReferences) && meta.ownerReferences.length) return true; // garbage-collected with its owner
  if (o.kind === 'ServiceAccount' && meta.name === 'default') return true;
  if (o.kind === 'ConfigMap' && meta.name === 'kube-root-ca.crt') return true;
  if (o.kind === 'Endpoints' && createdServices.has(meta.name ?? '')) return true;
  if (o.kind === 'Secret' && (o as { type?: string }).type === 'kubernetes.io/service-account-token') {
    const sa = meta.annotations?.['kubernetes.io/service-account.name'];
    return sa === 'default' || createdAccounts.has(sa ?? '');
  }
  return false;
}

/** Names of what is in `ns` that meshplay did not create (so deleting the namespace would take it). */
async function foreignContents(conn: KubernetesConnection, ns: string): Promise<string[]> {
  const resources = (await conn.listableResources()).filter((r) => r.namespaced && r.kind !== 'Event');
  const found: KubeObject[] = [];
  for (const r of resources) found.push(...(await listObjects(conn, r, ns)));
  const createdOf = (kind: string) => new Set(found.filter((o) => o.kind === kind && isCreated(o)).map((o) => o.metadata?.name ?? ''));
  const services = createdOf('Service');
  const accounts = createdOf('ServiceAccount');
  return found.filter((o) => !isCreated(o) && !madeByControllers(o, services, accounts)).map(describe);
}

async function selectorService(conn: KubernetesConnection, endpoints: KubeObject): Promise<boolean> {
  const svc = await conn.getOrUndefined<{ spec?: { selector?: Record<string, string> } }>(
    `/api/v1/namespaces/${encodeURIComponent(endpoints.metadata?.namespace ?? '')}/services/${encodeURIComponent(endpoints.metadata?.name ?? '')}`,
  );
  return !!svc?.spec?.selector && Object.keys(svc.spec.selector).length > 0;
}

/** What an object found needs before deciding: nothing (skip), or its take-back (then maybe more reads). */
function candidate(o: KubeObject, r: ApiResourceInfo, args: Args): PruneItem | undefined {
  if (kept(o, args.keep) || o.metadata?.deletionTimestamp) return undefined;
  return takeBack(r, o);
}

async function facts(ctx: ModuleContext, args: Args): Promise<UninstallFacts> {
  const conn = await kubeConnection(ctx);
  const out: UninstallFacts = { kinds: [], selectorEndpoints: [], foreign: {} };
  for (const k of args.kinds) {
    let r: ApiResourceInfo;
    try {
      r = await conn.resourceFor(k.api_version, k.kind);
    } catch {
      out.kinds.push({ skipped: `${k.kind} (${k.api_version} not served)`, found: [] });
      continue;
    }
    const found = [...(await listObjects(conn, r, undefined, createdSelector)), ...(await listObjects(conn, r, undefined, adoptedSelector))];
    out.kinds.push({ resource: r, found });
    for (const o of found) {
      registerSecretValues(ctx, o);
      const back = candidate(o, r, args);
      if (!back || r.group !== '') continue;
      if (o.kind === 'Endpoints' && (await selectorService(conn, o))) out.selectorEndpoints.push(describe(o));
      if (back.action === 'delete' && o.kind === 'Namespace') out.foreign[o.metadata!.name!] = await foreignContents(conn, o.metadata!.name!);
    }
  }
  return out;
}

export function planUninstall(f: UninstallFacts, args: Args, ctx: Pick<PlanContext, 'warn' | 'host'>): Plan<Data> {
  const items: PruneItem[] = [];
  const keptObjects: string[] = [];
  const terminating: string[] = [];
  const skippedKinds: string[] = [];
  for (const { skipped, resource: r, found } of f.kinds) {
    if (skipped || !r) {
      skippedKinds.push(skipped ?? '');
      continue;
    }
    for (const o of found) {
      if (kept(o, args.keep)) {
        keptObjects.push(`${describe(o)} (kept on request)`);
        continue;
      }
      if (o.metadata?.deletionTimestamp) {
        terminating.push(describe(o));
        continue;
      }
      const back = takeBack(r, o);
      if (!back) continue;
      // Endpoints of a Service with a selector are the endpoints controller's (it copies the Service's labels,
      // marks included) and go with the Service.
      if (o.kind === 'Endpoints' && r.group === '' && f.selectorEndpoints.includes(describe(o))) continue;
      if (back.action === 'delete' && o.kind === 'Namespace' && r.group === '') {
        const foreign = f.foreign[o.metadata!.name!] ?? [];
        if (foreign.length) {
          keptObjects.push(`${describe(o)} (holds what meshplay did not create: ${foreign.slice(0, 5).join(', ')}${foreign.length > 5 ? `, +${foreign.length - 5} more` : ''})`);
          continue;
        }
      }
      items.push(back);
    }
  }
  for (const k of keptObjects) if (!k.endsWith('(kept on request)')) ctx.warn(`${ctx.host.name}: ${k}`);
  const result = {
    delete: items.filter((i) => i.action === 'delete').map((i) => describe(i.object)),
    give_back: items.filter((i) => i.action === 'release').map((i) => describe(i.object)),
    kept: keptObjects,
    terminating,
    ...(skippedKinds.length ? { skipped_kinds: skippedKinds } : {}),
  };
  const fingerprints: Fingerprint[] = items.map((i) =>
    objectFingerprint(ctx.host.name, { apiVersion: i.resource.apiVersion, resource: i.resource.kind, namespace: i.object.metadata?.namespace, name: i.object.metadata?.name ?? '' }, i.object),
  );
  if (!items.length) return { changed: false, msg: terminating.length ? `nothing left to remove (${terminating.length} still terminating)` : 'nothing of meshplay left', result, data: { items } };
  return {
    changed: true,
    msg: items.map(takeBackLine).join('; '),
    diff: items.map(takeBackDiff),
    result,
    data: { items },
    fingerprints,
  };
}

const k8sUninstall: Module<typeof schema, UninstallFacts, Data> = {
  name: 'k8s_uninstall',
  schema,
  facts,
  plan: planUninstall,
  async apply(ctx, args, p): Promise<ModuleResult> {
    const conn = await kubeConnection(ctx);
    const deleted: string[] = [];
    const givenBack: string[] = [];
    // In the order planned: everything inside namespaces first, the namespaces last (the kinds' order).
    for (const item of p.data.items) {
      if (item.action === 'delete' && item.object.kind === 'Namespace') {
        // The objects planned before it are gone first, so the namespace never takes them along half-deleted.
        for (const d of p.data.items) if (d.action === 'delete' && d.object.kind !== 'Namespace') await waitForDeletion(ctx, conn, d.resource, d.object, args.wait_timeout, 0.2);
      }
      // A delete that finds the object gone (its owner's garbage collection got there first) still leaves it gone.
      if ((await sendTakeBack(conn, item)) || item.action === 'delete') (item.action === 'delete' ? deleted : givenBack).push(describe(item.object));
    }
    // Wait until deletions are complete, so that a second run finds nothing and reports changed=0.
    for (const d of p.data.items) if (d.action === 'delete') await waitForDeletion(ctx, conn, d.resource, d.object, args.wait_timeout, 0.2);
    return { changed: true, msg: p.msg, diff: p.diff, ...(p.result ?? {}), deleted, given_back: givenBack };
  },
};

export default k8sUninstall;
