// k8s: make Kubernetes objects present (server-side apply) or absent, as kubernetes.core.k8s.
// Plan = GET the live object + a dry-run apply; "would change" is the dry-run result differing from live
// (ignoring server bookkeeping), so a converged object costs no persisting request. Apply sends the real apply.
import { validateIstioObjects } from './istio_validate.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { array, boolean, number, object, oneOf, required, string, typed, types, withDefault, type ArgsOf } from './args.js';
import type { FileDiff, Fingerprint, Module, ModuleContext, ModuleResult, Plan, PlanContext } from './types.js';
import type { ApiResourceInfo, KubernetesConnection } from '../connection/kubernetes.js';
import { applyIsNoop } from '../k8s/noop-apply.js';
import { objectFingerprint } from '../k8s/fingerprint.js';
import {
  deepEqual,
  describe,
  forCompare,
  forDiff,
  forOutput,
  parseDefinitions,
  redactSecretPair,
  toYaml,
  type KubeObject,
  waitConditionSchema,
} from '../k8s/objects.js';
import {
  deleteObject,
  explain,
  getLive,
  kubeConnection,
  listObjects,
  registerSecretValues,
  serverSideApply,
  waitForDeletion,
  waitForObject,
  type WaitSpec,
} from '../k8s/client.js';
import {
  afterRelease,
  isAdopted,
  isCreated,
  markAdopted,
  markCreated,
  mergeRecords,
  readRecord,
  recordPaths,
  releasePatch,
  revertPatch,
  touchesSecretData,
  withoutMarks,
} from '../k8s/ownership.js';
import { append } from '../arrays.js';

interface Item {
  resource: ApiResourceInfo;
  desired: KubeObject;
  live?: KubeObject;
  action: 'create' | 'patch' | 'none' | 'delete' | 'absent';
  /** The definition without meshplay's marks: what is applied if a create lands on an object made meanwhile. */
  plain?: KubeObject;
}

/** An object prune takes back: deleted (meshplay created it) or released (its recorded values put back). */
export interface PruneItem {
  resource: ApiResourceInfo;
  object: KubeObject;
  action: 'delete' | 'release';
  /** release: the merge patch. */
  patch?: Record<string, unknown>;
}

export interface K8sPlanData {
  items: Item[];
  prune: PruneItem[];
}

/** One object as read: its live state and the server's dry-run answer for each body meshplay may send. */
export interface ObjectFacts {
  resource: ApiResourceInfo;
  /** The definition (namespace resolved), before meshplay's marks. */
  object: KubeObject;
  live?: KubeObject;
  /** Dry-run results, keyed by the JSON of the body sent. */
  dryRuns: Record<string, KubeObject>;
}

export interface K8sFacts {
  owner?: string;
  objects: ObjectFacts[];
  /** prune: the kinds looked at and what the selector found of each. */
  pruneFound: { resource: ApiResourceInfo; objects: KubeObject[] }[];
}


const kindRef = object({ kind: required(string()), api_version: string() });

const schema = object({
  state: withDefault(oneOf(['present', 'absent']), 'present'),
  definition: types<unknown>(['object', 'array', 'string']),
  src: string(),
  kind: string(),
  api_version: withDefault(string(), 'v1'),
  name: string(),
  namespace: string(),
  wait: withDefault(boolean(), false),
  wait_condition: typed<WaitSpec['condition']>(waitConditionSchema),
  wait_for: string(),
  wait_timeout: withDefault(number({ minimum: 0 }), 120),
  wait_sleep: withDefault(number({ minimum: 0 }), 1),
  server_side_apply: withDefault(object({ field_manager: withDefault(string(), 'meshplay'), force_conflicts: boolean() }), {}),
  /** Accepted for compatibility with kubernetes.core.k8s; meshplay always applies server-side. */
  apply: boolean(),
  force: withDefault(boolean(), false),
  /** Value of the meshplay.io/owner label (defaults to the task variable meshplay_owner). */
  owner: string(),
  /**
   * Objects matching selector that this task no longer defines: those meshplay created are deleted, those it
   * adopted get their recorded values back (runner/k8s/ownership.ts); anything else is left alone.
   */
  prune: object({
    selector: required(string({ minLength: 1 })),
    keep: withDefault(array(string()), []),
    kinds: withDefault(array(kindRef), []),
    namespace: string(),
  }),
});
export type K8sArgs = ArgsOf<typeof schema>;

async function readSrc(ctx: ModuleContext, src: string): Promise<string> {
  const candidates = path.isAbsolute(src)
    ? [src]
    : [
        ...(ctx.roleDir ? [path.join(ctx.roleDir, 'files', src), path.join(ctx.roleDir, src)] : []),
        path.join(ctx.playbookDir, 'files', src),
        path.join(ctx.playbookDir, src),
      ];
  for (const c of candidates) {
    try {
      return await fs.readFile(c, 'utf8');
    } catch (e: any) {
      if (e?.code !== 'ENOENT') throw e;
    }
  }
  throw new Error(`src '${src}' not found; looked in: ${candidates.join(', ')}`);
}

/** Definitions from the arguments, completed with kind/api_version/name/namespace defaults. */
async function desiredObjects(ctx: ModuleContext, args: K8sArgs): Promise<KubeObject[]> {
  let objects: KubeObject[] = [];
  if (args.src) objects = parseDefinitions(await readSrc(ctx, args.src), args.src);
  if (args.definition !== undefined) append(objects, parseDefinitions(args.definition));
  if (!objects.length && args.kind && args.name) objects = [{ metadata: {} }];
  for (const o of objects) {
    o.apiVersion ??= args.api_version;
    if (args.kind) o.kind ??= args.kind;
    o.metadata ??= {};
    if (args.name) o.metadata.name ??= args.name;
    if (!o.kind) throw new Error(`an object has no kind: ${JSON.stringify(o.metadata)}`);
    if (!o.metadata.name) throw new Error(`${o.kind}: metadata.name is required (generateName is not supported: it is not idempotent)`);
  }
  return objects;
}

function waitSpec(args: K8sArgs): WaitSpec {
  return { condition: args.wait_condition, expression: args.wait_for, timeoutS: args.wait_timeout, sleepS: args.wait_sleep };
}

function wantsWait(args: K8sArgs): boolean {
  return !!(args.wait || args.wait_condition || args.wait_for);
}

function diffOf(item: Item, after: KubeObject | undefined): FileDiff {
  const [b, a] = redactSecretPair(item.live && forDiff(item.live), after && forDiff(after));
  return {
    before: toYaml(b),
    after: toYaml(a),
    beforeHeader: `${describe(item.desired)} (live)`,
    afterHeader: `${describe(item.desired)} (${after ? 'desired' : 'absent'})`,
  };
}

function keyOf(r: ApiResourceInfo, o: KubeObject): string {
  return `${r.group}/${r.kind}/${r.namespaced ? o.metadata?.namespace ?? '' : ''}/${o.metadata?.name}`;
}

/** Deleting a created object, or giving an adopted one back; undefined for an object meshplay has no part in. */
export function takeBack(resource: ApiResourceInfo, o: KubeObject): PruneItem | undefined {
  if (isCreated(o)) return { resource, object: o, action: 'delete' };
  if (!isAdopted(o)) return undefined;
  const record = readRecord(o);
  if (record instanceof Error) throw new Error(`${describe(o)}: ${record.message}; fix or remove the annotation and the label meshplay.io/adopted-by`);
  // The label without meshplay's record: a controller copied it from its source (the endpoints controller copies a
  // Service's labels onto its Endpoints); it follows the source when that is given back.
  if (!record) return undefined;
  return { resource, object: o, action: 'release', patch: releasePatch(o, record) };
}

/** prune: the kinds to look at (those of the definitions and prune.kinds), and one LIST by selector of each. */
async function readPrune(conn: KubernetesConnection, args: K8sArgs, objects: ObjectFacts[]): Promise<K8sFacts['pruneFound']> {
  const p = args.prune;
  if (!p) return [];
  const kinds = new Map<string, ApiResourceInfo>();
  for (const o of objects) kinds.set(`${o.resource.apiVersion}/${o.resource.kind}`, o.resource);
  for (const k of p.kinds) {
    const r = await conn.resourceFor(k.api_version ?? 'v1', k.kind);
    kinds.set(`${r.apiVersion}/${r.kind}`, r);
  }
  if (!kinds.size) throw new Error('prune: no kinds to prune: give prune.kinds or a definition');
  const out: K8sFacts['pruneFound'] = [];
  for (const r of kinds.values()) {
    const ns = r.namespaced ? p.namespace ?? args.namespace : undefined;
    // One LIST by the role's selector; which of them meshplay created or adopted is read from each object.
    out.push({ resource: r, objects: await listObjects(conn, r, ns, p.selector) });
  }
  return out;
}

/** Pure: what prune takes back of the objects found, given the items this task keeps. */
function planPrune(args: K8sArgs, found: K8sFacts['pruneFound'], items: Item[]): PruneItem[] {
  const keep = new Set(items.map((it) => keyOf(it.resource, it.desired)));
  const keepNames = new Set(args.prune?.keep ?? []);
  const out: PruneItem[] = [];
  for (const { resource: r, objects } of found) {
    for (const o of objects) {
      if (keep.has(keyOf(r, o)) || keepNames.has(o.metadata?.name ?? '')) continue;
      const back = takeBack(r, o);
      if (back) out.push(back);
    }
  }
  return out;
}

/** Sends a prune item: DELETE, or the release merge patch. True when something changed. */
export async function sendTakeBack(conn: KubernetesConnection, p: PruneItem): Promise<boolean> {
  if (p.action === 'delete') return deleteObject(conn, p.resource, p.object);
  try {
    await conn.request({ method: 'PATCH', path: conn.pathFor(p.resource, p.object.metadata?.namespace, p.object.metadata?.name), body: p.patch, contentType: 'application/merge-patch+json', query: { fieldManager: 'meshplay' } });
    return true;
  } catch (e) {
    throw explain(e, p.object, 'release (put back the values meshplay changed)');
  }
}

export function takeBackDiff(p: PruneItem): FileDiff {
  const after = p.action === 'release' ? afterRelease(p.object, p.patch!) : undefined;
  const [b, a] = redactSecretPair(forDiff(p.object), after && forDiff(after));
  return { before: toYaml(b), after: toYaml(a), beforeHeader: `${describe(p.object)} (live)`, afterHeader: `${describe(p.object)} (${after ? 'as before meshplay' : 'absent'})` };
}

export function takeBackLine(p: PruneItem): string {
  return p.action === 'delete' ? `delete ${describe(p.object)}` : `give back ${describe(p.object)} (${recordPaths(p.patch ?? {}).filter((x) => !x.startsWith('metadata.resourceVersion') && !x.includes('meshplay.io/adopted')).join(', ') || 'marks only'})`;
}

/** `pruned` (deleted) and `released` (given back) object names, each only when non-empty. */
function pruneSummary(done: { p: PruneItem; done: boolean }[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const pruned = done.filter((d) => d.done && d.p.action === 'delete').map((d) => describe(d.p.object));
  const released = done.filter((d) => d.done && d.p.action === 'release').map((d) => describe(d.p.object));
  if (pruned.length) out.pruned = pruned;
  if (released.length) out.released = released;
  return out;
}

/** True when an object carries fields of another field manager: it was not (only) made by this apply. */
function madeByOthers(o: KubeObject, fieldManager: string): boolean {
  const entries = ((o.metadata as { managedFields?: { manager?: string }[] } | undefined)?.managedFields ?? []);
  return entries.some((e) => e.manager !== fieldManager);
}

function summarise(items: Item[], results: (KubeObject | undefined)[], methods: string[], extra: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...extra };
  if (items.length === 1) {
    out.result = results[0] ? forOutput(results[0]) : {};
    out.method = methods[0];
  } else {
    out.results = items.map((it, i) => ({ result: results[i] ? forOutput(results[i]!) : {}, method: methods[i], name: describe(it.desired) }));
    out.method = methods.includes('created') ? 'created' : methods.includes('patched') ? 'patched' : methods.includes('deleted') ? 'deleted' : 'unchanged';
  }
  return out;
}

const dryRunKey = (o: KubeObject) => JSON.stringify(o);

/** What deciding one object still needs read: a dry-run of this body. */
class NeedDryRun {
  constructor(readonly body: KubeObject) {}
}

/**
 * Pure: the action on one object from its facts. Which body is sent depends on the live object (ownership marks)
 * and, for an adopted object, on what the dry-run says would change, so facts are read until this decides:
 * it returns a NeedDryRun for a body it has no server answer for.
 */
function decideObject(f: ObjectFacts, args: K8sArgs, owner: string | undefined, fieldManager: string, force: boolean): { item: Item; preview?: KubeObject; changed: boolean } | NeedDryRun {
  const { resource, object, live } = f;
  if (args.state === 'absent') return { item: { resource, desired: object, live, action: live ? 'delete' : 'absent' }, preview: live, changed: !!live };
  // Ownership (runner/k8s/ownership.ts): the created mark only on what this apply creates; an object that
  // existed is adopted: applied without meshplay's marks, and what the apply changes is recorded first.
  const plain = withoutMarks(object);
  let desired: KubeObject;
  let record: Record<string, unknown> | undefined;
  if (!live || isCreated(live)) desired = markCreated(object, owner);
  else {
    const r = readRecord(live);
    if (r instanceof Error) throw new Error(`${describe(object)}: ${r.message}; meshplay cannot tell what to give back on uninstall`);
    record = r;
    desired = record ? markAdopted(plain, record) : plain;
  }
  // Provably unchanged from the live object alone: no dry-run request (see runner/k8s/noop-apply.ts).
  if (live && applyIsNoop(live, desired, fieldManager)) return { item: { resource, desired, live, action: 'none' }, preview: live, changed: false };
  let preview = f.dryRuns[dryRunKey(desired)];
  if (!preview) return new NeedDryRun(desired);
  const changed = !live || !deepEqual(forCompare(live), forCompare(preview));
  if (live && changed && !isCreated(live)) {
    // First change to this adopted object (or to fields not recorded yet): record the values as they are.
    const merged = mergeRecords(record, revertPatch(live, preview));
    if (touchesSecretData(live, merged) && !force) {
      throw new Error(
        `${describe(object)} exists and was not created by meshplay; changing its data would leave uninstall unable to put ` +
          'the old values back (meshplay never copies secret values into an annotation). Delete or rename it, or set force: true to overwrite it for good',
      );
    }
    if (!deepEqual(merged, record)) {
      desired = markAdopted(plain, merged);
      preview = f.dryRuns[dryRunKey(desired)];
      if (!preview) return new NeedDryRun(desired);
    }
  }
  return { item: { resource, desired, live, plain, action: !live ? 'create' : changed ? 'patch' : 'none' }, preview: changed ? preview : live, changed };
}

const fieldManagerOf = (args: K8sArgs) => args.server_side_apply.field_manager;
const forceOf = (args: K8sArgs) => args.server_side_apply.force_conflicts ?? args.force;

/** Pure: the k8s plan from the objects read, their dry-runs and the prune listing. */
export function planK8s(facts: K8sFacts, args: K8sArgs, ctx: Pick<PlanContext, 'check'>): Plan<K8sPlanData> {
  const fieldManager = fieldManagerOf(args);
  const force = forceOf(args);
  const items: Item[] = [];
  const diff: FileDiff[] = [];
  const previews: (KubeObject | undefined)[] = [];
  for (const f of facts.objects) {
    const d = decideObject(f, args, facts.owner, fieldManager, force);
    if (d instanceof NeedDryRun) throw new Error(`${describe(d.body)}: no dry-run was read for this body`);
    items.push(d.item);
    previews.push(d.preview);
    if (d.changed) diff.push(diffOf(d.item, args.state === 'absent' ? undefined : d.preview));
  }
  const prune = planPrune(args, facts.pruneFound, items);
  for (const p of prune) diff.push(takeBackDiff(p));

  const changed = items.some((i) => i.action === 'create' || i.action === 'patch' || i.action === 'delete') || prune.length > 0;
  const methods = items.map((i) => ({ create: 'created', patch: 'patched', delete: 'deleted', none: 'unchanged', absent: 'unchanged' })[i.action]);
  const extra = pruneSummary(prune.map((p) => ({ p, done: true })));
  const ref = (r: ApiResourceInfo, o: KubeObject) => ({ apiVersion: r.apiVersion, resource: r.kind, namespace: o.metadata?.namespace, name: o.metadata?.name ?? '' });
  const fingerprints: Fingerprint[] = facts.objects.map((f) => objectFingerprint('', ref(f.resource, f.object), f.live));
  for (const p of prune) fingerprints.push(objectFingerprint('', ref(p.resource, p.object), p.object));
  // The outcome, not the path to it: the objects as they will be, and what prune takes back. (An earlier task of
  // the same run may have made an object already: then it is a patch or nothing rather than a create.)
  const changes = {
    objects: items.filter((i) => i.action !== 'none' && i.action !== 'absent').map((i) => (i.action === 'delete' ? { delete: describe(i.desired) } : i.desired)),
    prune: prune.map((p) => ({ action: p.action, object: describe(p.object), patch: p.patch })),
  };
  const plan: Plan<K8sPlanData> = { changed, diff, data: { items, prune }, fingerprints, changes };
  if (!changed) {
    // Nothing to write; a requested wait still applies outside check mode (the object may be waiting on a controller).
    plan.settle = !ctx.check && wantsWait(args) && args.state === 'present';
    plan.result = summarise(items, previews, methods, extra);
  } else {
    plan.msg = items
      .filter((i) => i.action !== 'none' && i.action !== 'absent')
      .map((i) => `${i.action === 'create' ? 'create' : i.action === 'patch' ? 'update' : 'delete'} ${describe(i.desired)}`)
      .concat(prune.map((p) => `prune: ${takeBackLine(p)}`))
      .join(', ');
    // Check mode reports what the server says the objects would become.
    plan.result = summarise(items, previews, methods, extra);
  }
  return plan;
}

const k8s: Module<typeof schema, K8sFacts, K8sPlanData> = {
  name: 'k8s',
  schema,

  async facts(ctx, args): Promise<K8sFacts> {
    const conn = await kubeConnection(ctx);
    const owner = args.owner ?? (typeof ctx.vars.meshplay_owner === 'string' ? ctx.vars.meshplay_owner : undefined);
    const objects = await desiredObjects(ctx, args);
    if (!objects.length && !args.prune) throw new Error('nothing to do: give definition, src, or kind + name');
    if (args.state === 'present') {
      // CRDs that preserve unknown fields accept anything: check Istio objects against Istio's schemas first.
      const problems = await validateIstioObjects(objects);
      if (problems.length) throw new Error(`invalid Istio object(s), nothing sent:\n  ${problems.join('\n  ')}`);
    }
    // Resolve every kind first so an unknown kind fails before anything is read or written.
    const read: ObjectFacts[] = [];
    for (const o of objects) {
      const resource = await conn.resourceFor(o.apiVersion!, o.kind!);
      if (resource.namespaced) o.metadata!.namespace ??= args.namespace ?? 'default';
      else delete o.metadata!.namespace;
      read.push({ resource, object: o, dryRuns: {} });
    }
    const fieldManager = fieldManagerOf(args);
    const force = forceOf(args);
    for (const f of read) {
      registerSecretValues(ctx, f.object);
      f.live = await getLive(conn, f.resource, f.object);
      registerSecretValues(ctx, f.live);
      // Read until the object's action is decided (at most two dry-runs: see decideObject).
      for (let d = decideObject(f, args, owner, fieldManager, force); d instanceof NeedDryRun; d = decideObject(f, args, owner, fieldManager, force)) {
        const preview = await serverSideApply(conn, f.resource, d.body, { fieldManager, force, dryRun: true });
        registerSecretValues(ctx, preview);
        f.dryRuns[dryRunKey(d.body)] = preview;
      }
    }
    const pruneFound = await readPrune(conn, args, read);
    for (const p of pruneFound) registerSecretValues(ctx, ...p.objects);
    return { owner, objects: read, pruneFound };
  },

  plan(facts, args, ctx) {
    const plan = planK8s(facts, args, ctx);
    for (const f of plan.fingerprints ?? []) f.host = ctx.host.name;
    return plan;
  },

  async apply(ctx, args, plan): Promise<ModuleResult> {
    const conn = await kubeConnection(ctx);
    const { items, prune } = plan.data;
    const force = forceOf(args);
    const fieldManager = fieldManagerOf(args);
    const results: (KubeObject | undefined)[] = [];
    const methods: string[] = [];
    if (!plan.changed) {
      // settle: nothing to write, wait for each object as asked.
      for (const it of items) results.push(await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args)));
      return { changed: false, ...summarise(items, results, items.map(() => 'unchanged'), {}) };
    }
    for (const it of items) {
      if (it.action === 'create' || it.action === 'patch') {
        let after = await serverSideApply(conn, it.resource, it.desired, { fieldManager, force, dryRun: false });
        if (it.action === 'create' && it.plain && madeByOthers(after, fieldManager)) {
          // Someone created it between our read and our apply: it is not ours to mark, nor to delete on uninstall.
          after = await serverSideApply(conn, it.resource, it.plain, { fieldManager, force, dryRun: false });
          ctx.warn(`${describe(it.desired)} was created by someone else while meshplay was creating it: applied without the created mark (uninstall will leave it)`);
        }
        registerSecretValues(ctx, after);
        if (wantsWait(args)) after = await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args));
        results.push(after);
        methods.push(it.action === 'create' ? 'created' : 'patched');
      } else if (it.action === 'delete') {
        const deleted = await deleteObject(conn, it.resource, it.desired);
        if (deleted && args.wait) await waitForDeletion(ctx, conn, it.resource, it.desired, args.wait_timeout, args.wait_sleep);
        results.push(undefined);
        methods.push(deleted ? 'deleted' : 'unchanged');
      } else {
        let current = it.live;
        if (wantsWait(args) && args.state === 'present') current = await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args));
        results.push(current);
        methods.push('unchanged');
      }
    }
    const done: { p: PruneItem; done: boolean }[] = [];
    for (const p of prune) done.push({ p, done: await sendTakeBack(conn, p) });
    if (args.wait) for (const p of prune) if (p.action === 'delete') await waitForDeletion(ctx, conn, p.resource, p.object, args.wait_timeout, args.wait_sleep);
    return {
      changed: true,
      diff: plan.diff,
      msg: plan.msg,
      ...summarise(items, results, methods, pruneSummary(done)),
    };
  },
};

export default k8s;
