// Small Kubernetes helpers the mesh modules share (on top of the kubernetes connection).
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { KubeApiError } from '../connection/kubernetes.js';
import type { Connection } from '../connection/types.js';
import type { Inventory } from '../inventory/types.js';
import type { KubeObject } from '../k8s/objects.js';
import { createdLabels, isCreated } from '../k8s/ownership.js';

export const componentLabel = 'meshplay.io/component';

/** What these helpers need of a module's context (structural: the mesh layer does not depend on runner/modules). */
export interface ClusterContext {
  host: { name: string };
  vars: Record<string, unknown>;
  connection(): Promise<Connection>;
  connectionTo(hostName: string): Promise<Connection>;
}

export async function clusterConnection(ctx: ClusterContext, cluster: string): Promise<KubernetesConnection> {
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

/** Labels of an object meshplay creates for a component (the created mark: runner/k8s/ownership.ts). */
export function meshLabels(component: string, owner?: string): Record<string, string> {
  return { ...createdLabels(owner), [componentLabel]: component };
}

export function ownerOf(ctx: Pick<ClusterContext, 'vars'>, arg?: string): string | undefined {
  return arg ?? (typeof ctx.vars.meshplay_owner === 'string' ? ctx.vars.meshplay_owner : undefined);
}

/** Created by meshplay (not merely touched by it): see runner/k8s/ownership.ts. */
export function isManaged(o: KubeObject | undefined): boolean {
  return isCreated(o);
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
