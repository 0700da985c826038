// Small Kubernetes helpers the mesh modules share (on top of the kubernetes connection).
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { KubeApiError } from '../connection/kubernetes.js';
import type { ModuleContext } from '../modules/types.js';
import type { Inventory } from '../inventory/types.js';
import { managedByLabel, managedByValue, ownerLabel, type KubeObject } from '../k8s/objects.js';

export const componentLabel = 'meshplay.io/component';

export async function clusterConnection(ctx: ModuleContext, cluster: string): Promise<KubernetesConnection> {
  const c = cluster === ctx.host.name ? await ctx.connection() : await ctx.connectionTo(cluster);
  if (c.kind !== 'kubernetes') throw new Error(`${cluster} is not a cluster host (connection '${c.kind}')`);
  return c as KubernetesConnection;
}

export function get<T = KubeObject>(conn: KubernetesConnection, path: string): Promise<T | undefined> {
  return conn.getOrUndefined<T>(path);
}

/** The cluster holding the mesh root CA: the one marked istio_control_plane (exactly one in this topology). */
export function rootClusterOf(inventory: Inventory): string {
  const marked = inventory.clusters.filter((c) => c.istio_control_plane).map((c) => c.name);
  if (marked.length !== 1) {
    throw new Error(`the mesh root CA lives in the cluster marked istio_control_plane: true; the inventory marks ${marked.length ? marked.join(', ') : 'none'}`);
  }
  return marked[0]!;
}

export function meshLabels(component: string, owner?: string): Record<string, string> {
  return { [managedByLabel]: managedByValue, [componentLabel]: component, ...(owner ? { [ownerLabel]: owner } : {}) };
}

export function ownerOf(ctx: ModuleContext, arg?: string): string | undefined {
  return arg ?? (typeof ctx.vars.meshplay_owner === 'string' ? ctx.vars.meshplay_owner : undefined);
}

export function isManaged(o: KubeObject | undefined): boolean {
  return o?.metadata?.labels?.[managedByLabel] === managedByValue;
}

export function b64(s: string): string {
  return Buffer.from(s, 'utf8').toString('base64');
}

export function unb64(s: string | undefined): string | undefined {
  return s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8');
}

export function isStatus(e: unknown, status: number): boolean {
  return e instanceof KubeApiError && e.status === status;
}
