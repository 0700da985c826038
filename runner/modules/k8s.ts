// k8s: make Kubernetes objects present (server-side apply) or absent, as kubernetes.core.k8s.
// Plan = GET the live object + a dry-run apply; "would change" is the dry-run result differing from live
// (ignoring server bookkeeping), so a converged object costs no persisting request. Apply sends the real apply.
import { validateIstioObjects } from './istio_validate.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FileDiff, Module, ModuleContext, ModuleResult, Plan } from './types.js';
import type { ApiResourceInfo, KubernetesConnection } from '../connection/kubernetes.js';
import { applyIsNoop } from '../k8s/noop-apply.js';
import {
  deepEqual,
  describe,
  forCompare,
  forDiff,
  forOutput,
  managedByLabel,
  managedByValue,
  parseDefinitions,
  redactSecretPair,
  toYaml,
  withMeshplayLabels,
  type KubeObject,
  waitConditionSchema,
} from '../k8s/objects.js';
import {
  deleteObject,
  getLive,
  kubeConnection,
  listObjects,
  registerSecretValues,
  serverSideApply,
  waitForDeletion,
  waitForObject,
  type WaitSpec,
} from '../k8s/client.js';

export interface K8sArgs {
  state?: 'present' | 'absent';
  definition?: unknown;
  src?: string;
  kind?: string;
  api_version?: string;
  name?: string;
  namespace?: string;
  wait?: boolean;
  wait_condition?: { type: string; status?: string | boolean; reason?: string };
  wait_for?: string;
  wait_timeout?: number;
  wait_sleep?: number;
  server_side_apply?: { field_manager?: string; force_conflicts?: boolean };
  /** Accepted for compatibility with kubernetes.core.k8s; meshplay always applies server-side. */
  apply?: boolean;
  force?: boolean;
  /** Value of the meshplay.io/owner label (defaults to the task variable meshplay_owner). */
  owner?: string;
  /** Deletes meshplay-managed objects matching selector that this task no longer defines. */
  prune?: {
    selector: string;
    keep?: string[];
    kinds?: { kind: string; api_version?: string }[];
    namespace?: string;
  };
}

interface Item {
  resource: ApiResourceInfo;
  desired: KubeObject;
  live?: KubeObject;
  action: 'create' | 'patch' | 'none' | 'delete' | 'absent';
}

interface PlanData {
  items: Item[];
  prune: { resource: ApiResourceInfo; object: KubeObject }[];
}


const kindRef = {
  type: 'object',
  additionalProperties: false,
  required: ['kind'],
  properties: { kind: { type: 'string' }, api_version: { type: 'string' } },
};

const schema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    state: { enum: ['present', 'absent'] },
    definition: { type: ['object', 'array', 'string'] },
    src: { type: 'string' },
    kind: { type: 'string' },
    api_version: { type: 'string' },
    name: { type: 'string' },
    namespace: { type: 'string' },
    wait: { type: 'boolean' },
    wait_condition: waitConditionSchema,
    wait_for: { type: 'string' },
    wait_timeout: { type: 'number', minimum: 0 },
    wait_sleep: { type: 'number', minimum: 0 },
    server_side_apply: {
      type: 'object',
      additionalProperties: false,
      properties: { field_manager: { type: 'string' }, force_conflicts: { type: 'boolean' } },
    },
    apply: { type: 'boolean' },
    force: { type: 'boolean' },
    owner: { type: 'string' },
    prune: {
      type: 'object',
      additionalProperties: false,
      required: ['selector'],
      properties: {
        selector: { type: 'string', minLength: 1 },
        keep: { type: 'array', items: { type: 'string' } },
        kinds: { type: 'array', items: kindRef },
        namespace: { type: 'string' },
      },
    },
  },
};

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
  if (args.definition !== undefined) objects.push(...parseDefinitions(args.definition));
  if (!objects.length && args.kind && args.name) objects = [{ metadata: {} }];
  for (const o of objects) {
    o.apiVersion ??= args.api_version ?? 'v1';
    if (args.kind) o.kind ??= args.kind;
    o.metadata ??= {};
    if (args.name) o.metadata.name ??= args.name;
    if (!o.kind) throw new Error(`an object has no kind: ${JSON.stringify(o.metadata)}`);
    if (!o.metadata.name) throw new Error(`${o.kind}: metadata.name is required (generateName is not supported: it is not idempotent)`);
  }
  return objects;
}

function waitSpec(args: K8sArgs): WaitSpec {
  return { condition: args.wait_condition, expression: args.wait_for, timeoutS: args.wait_timeout ?? 120, sleepS: args.wait_sleep ?? 1 };
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

async function planPrune(conn: KubernetesConnection, args: K8sArgs, items: Item[]): Promise<PlanData['prune']> {
  const p = args.prune!;
  const kinds = new Map<string, ApiResourceInfo>();
  for (const it of items) kinds.set(`${it.resource.apiVersion}/${it.resource.kind}`, it.resource);
  for (const k of p.kinds ?? []) {
    const r = await conn.resourceFor(k.api_version ?? 'v1', k.kind);
    kinds.set(`${r.apiVersion}/${r.kind}`, r);
  }
  if (!kinds.size) throw new Error('prune: no kinds to prune: give prune.kinds or a definition');
  const keep = new Set(items.map((it) => keyOf(it.resource, it.desired)));
  const keepNames = new Set(p.keep ?? []);
  const out: PlanData['prune'] = [];
  for (const r of kinds.values()) {
    const ns = r.namespaced ? p.namespace ?? args.namespace : undefined;
    const found = await listObjects(conn, r, ns, `${managedByLabel}=${managedByValue},${p.selector}`);
    for (const o of found) {
      // The server filtered already; checking again keeps a mistyped selector from ever touching unmanaged objects.
      if (o.metadata?.labels?.[managedByLabel] !== managedByValue) continue;
      if (keep.has(keyOf(r, o)) || keepNames.has(o.metadata?.name ?? '')) continue;
      out.push({ resource: r, object: o });
    }
  }
  return out;
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

const k8s: Module<K8sArgs, PlanData> = {
  name: 'k8s',
  schema,

  async plan(ctx, args): Promise<Plan<PlanData>> {
    const conn = await kubeConnection(ctx);
    const state = args.state ?? 'present';
    const owner = args.owner ?? (typeof ctx.vars.meshplay_owner === 'string' ? ctx.vars.meshplay_owner : undefined);
    const objects = await desiredObjects(ctx, args);
    if (!objects.length && !args.prune) throw new Error('nothing to do: give definition, src, or kind + name');
    if (state === 'present') {
      // CRDs that preserve unknown fields accept anything: check Istio objects against Istio's schemas first.
      const problems = await validateIstioObjects(objects);
      if (problems.length) throw new Error(`invalid Istio object(s), nothing sent:\n  ${problems.join('\n  ')}`);
    }

    // Resolve every kind first so an unknown kind fails before anything is written.
    const resolved: { resource: ApiResourceInfo; object: KubeObject }[] = [];
    for (const o of objects) {
      const resource = await conn.resourceFor(o.apiVersion!, o.kind!);
      if (resource.namespaced) o.metadata!.namespace ??= args.namespace ?? 'default';
      else delete o.metadata!.namespace;
      resolved.push({ resource, object: state === 'present' ? withMeshplayLabels(o, owner) : o });
    }

    const force = args.server_side_apply?.force_conflicts ?? args.force ?? false;
    const fieldManager = args.server_side_apply?.field_manager ?? 'meshplay';
    const items: Item[] = [];
    const diff: FileDiff[] = [];
    const previews: (KubeObject | undefined)[] = [];
    for (const { resource, object } of resolved) {
      registerSecretValues(ctx, object);
      const live = await getLive(conn, resource, object);
      registerSecretValues(ctx, live);
      if (state === 'absent') {
        items.push({ resource, desired: object, live, action: live ? 'delete' : 'absent' });
        if (live) diff.push(diffOf({ resource, desired: object, live, action: 'delete' }, undefined));
        previews.push(live);
        continue;
      }
      if (live && applyIsNoop(live, object, fieldManager)) {
        // Provably unchanged from the live object alone: no dry-run request (see runner/k8s/noop-apply.ts).
        items.push({ resource, desired: object, live, action: 'none' });
        previews.push(live);
        continue;
      }
      const preview = await serverSideApply(conn, resource, object, { fieldManager, force, dryRun: true });
      registerSecretValues(ctx, preview);
      const changed = !live || !deepEqual(forCompare(live), forCompare(preview));
      const item: Item = { resource, desired: object, live, action: !live ? 'create' : changed ? 'patch' : 'none' };
      items.push(item);
      previews.push(changed ? preview : live);
      if (changed) diff.push(diffOf(item, preview));
    }

    const prune = args.prune ? await planPrune(conn, args, items) : [];
    for (const p of prune) {
      registerSecretValues(ctx, p.object);
      diff.push(diffOf({ resource: p.resource, desired: p.object, live: p.object, action: 'delete' }, undefined));
    }

    const changed = items.some((i) => i.action === 'create' || i.action === 'patch' || i.action === 'delete') || prune.length > 0;
    const methods = items.map((i) => ({ create: 'created', patch: 'patched', delete: 'deleted', none: 'unchanged', absent: 'unchanged' })[i.action]);
    const extra: Record<string, unknown> = prune.length ? { pruned: prune.map((p) => describe(p.object)) } : {};
    const plan: Plan<PlanData> = { changed, diff, data: { items, prune } };

    if (!changed) {
      // Nothing to write; a requested wait still applies (the object may be waiting on a controller).
      let results = previews;
      if (!ctx.check && wantsWait(args) && state === 'present') {
        results = [];
        for (const it of items) results.push(await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args)));
      }
      plan.result = summarise(items, results, methods, extra);
    } else {
      plan.msg = items
        .filter((i) => i.action !== 'none' && i.action !== 'absent')
        .map((i) => `${i.action === 'create' ? 'create' : i.action === 'patch' ? 'update' : 'delete'} ${describe(i.desired)}`)
        .concat(prune.map((p) => `prune ${describe(p.object)}`))
        .join(', ');
      // Check mode reports what the server says the objects would become.
      plan.result = summarise(items, previews, methods, extra);
    }
    return plan;
  },

  async apply(ctx, args, plan): Promise<ModuleResult> {
    const conn = await kubeConnection(ctx);
    const { items, prune } = plan.data!;
    const force = args.server_side_apply?.force_conflicts ?? args.force ?? false;
    const fieldManager = args.server_side_apply?.field_manager ?? 'meshplay';
    const results: (KubeObject | undefined)[] = [];
    const methods: string[] = [];
    for (const it of items) {
      if (it.action === 'create' || it.action === 'patch') {
        let after = await serverSideApply(conn, it.resource, it.desired, { fieldManager, force, dryRun: false });
        registerSecretValues(ctx, after);
        if (wantsWait(args)) after = await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args));
        results.push(after);
        methods.push(it.action === 'create' ? 'created' : 'patched');
      } else if (it.action === 'delete') {
        const deleted = await deleteObject(conn, it.resource, it.desired);
        if (deleted && args.wait) await waitForDeletion(ctx, conn, it.resource, it.desired, args.wait_timeout ?? 120, args.wait_sleep ?? 1);
        results.push(undefined);
        methods.push(deleted ? 'deleted' : 'unchanged');
      } else {
        let current = it.live;
        if (wantsWait(args) && (args.state ?? 'present') === 'present') current = await waitForObject(ctx, conn, it.resource, it.desired, waitSpec(args));
        results.push(current);
        methods.push('unchanged');
      }
    }
    const pruned: string[] = [];
    for (const p of prune) {
      if (await deleteObject(conn, p.resource, p.object)) pruned.push(describe(p.object));
    }
    if (args.wait) for (const p of prune) await waitForDeletion(ctx, conn, p.resource, p.object, args.wait_timeout ?? 120, args.wait_sleep ?? 1);
    return {
      changed: true,
      diff: plan.diff,
      msg: plan.msg,
      ...summarise(items, results, methods, pruned.length ? { pruned } : {}),
    };
  },
};

export default k8s;
