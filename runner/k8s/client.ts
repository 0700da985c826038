// Kubernetes operations the k8s modules share: getting the cluster connection, server-side apply
// (real and dry-run), delete, list and waiting, with errors phrased for the operator.
import type { Connection } from '../connection/types.js';
import { sleep } from '../sleep.js';
import type { ModuleContext } from '../modules/types.js';
import type { ApiResourceInfo, KubernetesConnection } from '../connection/kubernetes.js';
import { KubeApiError } from '../connection/kubernetes.js';
import { conflictMessage, describe, secretStrings, type KubeObject } from './objects.js';

export async function kubeConnection(ctx: ModuleContext, delegateTo?: string): Promise<KubernetesConnection> {
  const c: Connection = delegateTo ? await ctx.connectionTo(delegateTo) : await ctx.connection();
  if (c.kind !== 'kubernetes') {
    throw new Error(`${c.host} is not a cluster host (connection '${c.kind}'); run Kubernetes tasks on cluster hosts (hosts: clusters, control_plane, remotes...)`);
  }
  return c as KubernetesConnection;
}

export interface ApplyOptions {
  fieldManager: string;
  force: boolean;
  dryRun: boolean;
}

/** Explains a failed request in terms of the object being handled. */
export function explain(err: unknown, object: KubeObject, action: string): Error {
  if (!(err instanceof KubeApiError)) return err as Error;
  const what = describe(object);
  if (err.status === 409 && err.reason === 'Conflict' && err.causes.length) {
    return new Error(conflictMessage(what, err.causes, err.message), { cause: err });
  }
  if (err.status === 403) {
    return new Error(`${what}: ${action} forbidden by RBAC (${err.verb} ${err.path}): ${err.message.replace(/^.*?: 403 Forbidden: /, '')}`, { cause: err });
  }
  if (err.status === 422) {
    const fields = err.causes.map((c) => `${c.field ?? '?'}: ${c.message ?? ''}`).join('; ');
    return new Error(`${what}: invalid: ${fields || err.message}`, { cause: err });
  }
  return new Error(`${what}: ${action} failed: ${err.message}`, { cause: err });
}

export async function serverSideApply(conn: KubernetesConnection, r: ApiResourceInfo, desired: KubeObject, opts: ApplyOptions): Promise<KubeObject> {
  try {
    return await conn.request<KubeObject>({
      method: 'PATCH',
      path: conn.pathFor(r, desired.metadata?.namespace, desired.metadata?.name),
      query: { fieldManager: opts.fieldManager, force: opts.force ? 'true' : undefined },
      body: desired,
      contentType: 'application/apply-patch+yaml',
      dryRun: opts.dryRun,
    });
  } catch (e) {
    throw explain(e, desired, opts.dryRun ? 'apply (dry-run)' : 'apply');
  }
}

export async function getLive(conn: KubernetesConnection, r: ApiResourceInfo, o: KubeObject): Promise<KubeObject | undefined> {
  try {
    return await conn.getOrUndefined<KubeObject>(conn.pathFor(r, o.metadata?.namespace, o.metadata?.name));
  } catch (e) {
    throw explain(e, o, 'read');
  }
}

/** DELETE; true when something was deleted, false when it was already gone. */
export async function deleteObject(conn: KubernetesConnection, r: ApiResourceInfo, o: KubeObject): Promise<boolean> {
  try {
    await conn.request({
      method: 'DELETE',
      path: conn.pathFor(r, o.metadata?.namespace, o.metadata?.name),
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background' },
    });
    return true;
  } catch (e) {
    if (e instanceof KubeApiError && e.status === 404) return false;
    throw explain(e, o, 'delete');
  }
}

export async function listObjects(
  conn: KubernetesConnection,
  r: ApiResourceInfo,
  namespace: string | undefined,
  labelSelector?: string,
  fieldSelector?: string,
): Promise<KubeObject[]> {
  try {
    const list = await conn.request<{ items: KubeObject[] }>({
      method: 'GET',
      list: true,
      path: conn.pathFor(r, namespace),
      query: { labelSelector: labelSelector || undefined, fieldSelector: fieldSelector || undefined },
    });
    // List items carry no apiVersion/kind; put them back so results are complete objects.
    return list.items.map((i) => ({ apiVersion: r.apiVersion, kind: r.kind, ...i }));
  } catch (e) {
    throw explain(e, { kind: r.kind, metadata: { name: '*', namespace } }, 'list');
  }
}

export function registerSecretValues(ctx: Pick<ModuleContext, 'secret'>, ...objects: (KubeObject | undefined)[]): void {
  for (const o of objects) for (const s of secretStrings(o)) ctx.secret(s);
}

export interface WaitSpec {
  condition?: { type: string; status?: string | boolean; reason?: string };
  /** Jinja expression over `resource`. */
  expression?: string;
  timeoutS: number;
  sleepS: number;
}

function conditionMet(o: KubeObject, c: NonNullable<WaitSpec['condition']>): boolean {
  const conds = ((o.status as { conditions?: { type: string; status: string; reason?: string }[] } | undefined)?.conditions) ?? [];
  const want = c.status === undefined ? 'True' : String(c.status).replace(/^true$/, 'True').replace(/^false$/, 'False');
  return conds.some((x) => x.type === c.type && x.status === want && (c.reason === undefined || x.reason === c.reason));
}

/**
 * Waits until the object exists and satisfies the condition/expression; returns it. Each read is a LIST of that
 * one name, whose resourceVersion is the collection's current one: the watch that follows starts there and ends
 * at the next change, so the wait answers as soon as a controller acts. (An object's own resourceVersion can be
 * long compacted away, and a watch from it fails at once.) When watching is refused, or a watch ends without a
 * change, it sleeps sleepS seconds before reading again, as polling would.
 */
export async function waitForObject(ctx: ModuleContext, conn: KubernetesConnection, r: ApiResourceInfo, o: KubeObject, spec: WaitSpec): Promise<KubeObject> {
  const deadline = Date.now() + spec.timeoutS * 1000;
  const collection = conn.pathFor(r, o.metadata?.namespace);
  const byName = `metadata.name=${o.metadata?.name ?? ''}`;
  let canWatch = true;
  let last: KubeObject | undefined;
  for (;;) {
    let listVersion: string | undefined;
    try {
      const list = await conn.request<{ metadata?: { resourceVersion?: string }; items: KubeObject[] }>({
        method: 'GET',
        list: true,
        path: collection,
        query: { fieldSelector: byName },
      });
      listVersion = list.metadata?.resourceVersion;
      last = list.items[0] ? { apiVersion: r.apiVersion, kind: r.kind, ...list.items[0] } : undefined;
    } catch (e) {
      throw explain(e, o, 'read');
    }
    if (last) {
      registerSecretValues(ctx, last);
      const okCondition = !spec.condition || conditionMet(last, spec.condition);
      const okExpr = !spec.expression || ctx.condition(spec.expression, { resource: last });
      if (okCondition && okExpr) return last;
    }
    const left = deadline - Date.now();
    if (left <= 0) {
      const what = spec.expression ? `'${spec.expression}'` : spec.condition ? `condition ${spec.condition.type}=${spec.condition.status ?? 'True'}` : 'existence';
      throw new Error(`${describe(o)}: timed out after ${spec.timeoutS} s waiting for ${what}${last ? '' : ' (object does not exist)'}`);
    }
    if (canWatch && listVersion) {
      try {
        if ((await conn.watchForChange(collection, { fieldSelector: byName, resourceVersion: listVersion }, left, ctx.signal)) === 'changed') continue;
      } catch (e) {
        if (!(e instanceof KubeApiError)) throw e;
        canWatch = false; // e.g. RBAC grants list but not watch
      }
    }
    if (ctx.signal.aborted) throw new Error(`${describe(o)}: interrupted while waiting`);
    await sleep(Math.min(spec.sleepS * 1000, left), ctx.signal);
    if (ctx.signal.aborted) throw new Error(`${describe(o)}: interrupted while waiting`);
  }
}

export async function waitForDeletion(ctx: ModuleContext, conn: KubernetesConnection, r: ApiResourceInfo, o: KubeObject, timeoutS: number, sleepS: number): Promise<void> {
  const deadline = Date.now() + timeoutS * 1000;
  while (await getLive(conn, r, o)) {
    if (Date.now() >= deadline) throw new Error(`${describe(o)}: still present ${timeoutS} s after deletion (finalizers?)`);
    if (ctx.signal.aborted) throw new Error(`${describe(o)}: interrupted while waiting for deletion`);
    await new Promise((res) => setTimeout(res, sleepS * 1000));
  }
}
