// Whole-cluster and whole-node snapshots for the uninstall tests: every object of every listable kind with its
// full content (server bookkeeping aside), and every route of a node's main table.
import type { KubernetesConnection } from '../../runner/connection/kubernetes.js';
import { deepEqual } from '../../runner/k8s/objects.js';
import { nodeExec } from '../../lab/cli.js';

/** Written by the server on every write, or by controllers on their own schedule: not content. */
const serverFields = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation', 'selfLink'];
/**
 * Kinds that change without anyone asking (events, leader-election leases), and EndpointSlices, which the
 * endpoint-slice controller rewrites whenever pods come and go (Endpoints, compared, say the same), and the lab's
 * Nodes, which the node-lifecycle controller taints when their (absent) kubelet never reports.
 */
const volatileKinds = new Set(['Event', 'Lease', 'ComponentStatus', 'EndpointSlice', 'Node']);
/** Stamped by the endpoints controller when pods matching a Service come or go. */
const controllerAnnotations = ['endpoints.kubernetes.io/last-change-trigger-time'];

export function content(o: any): any {
  const c = structuredClone(o);
  for (const k of serverFields) delete c.metadata?.[k];
  const a = c.metadata?.annotations;
  if (a) {
    for (const k of controllerAnnotations) delete a[k];
    if (!Object.keys(a).length) delete c.metadata.annotations;
  }
  return c;
}

export type Snapshot = Record<string, any>;

const keyOf = (o: any) => `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;

/** Every object of the cluster, keyed "Kind ns/name". */
export async function clusterSnapshot(conn: KubernetesConnection): Promise<Snapshot> {
  const out: Snapshot = {};
  for (const r of await conn.listableResources()) {
    if (volatileKinds.has(r.kind)) continue;
    const list = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: conn.pathFor(r) });
    for (const i of list.items) {
      const o = { apiVersion: r.apiVersion, kind: r.kind, ...i };
      out[`${r.group ? `${r.group}/` : ''}${keyOf(o)}`] = content(o);
    }
  }
  return out;
}

/** What differs between two snapshots, one line per object ("" when equal). */
export function snapshotDiff(before: Snapshot, after: Snapshot): string {
  const lines: string[] = [];
  for (const k of Object.keys(before)) if (!(k in after)) lines.push(`gone: ${k}`);
  for (const k of Object.keys(after)) if (!(k in before)) lines.push(`new: ${k}`);
  for (const k of Object.keys(before)) {
    if (k in after && !deepEqual(before[k], after[k])) lines.push(`changed: ${k}\n  before: ${JSON.stringify(before[k]).slice(0, 600)}\n  after:  ${JSON.stringify(after[k]).slice(0, 600)}`);
  }
  return lines.join('\n');
}

/** Polls until the snapshot equals `want` (controllers finish garbage collection), or returns the last difference. */
export async function settlesTo(conn: KubernetesConnection, want: Snapshot, timeoutMs = 60_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = snapshotDiff(want, await clusterSnapshot(conn));
    if (!d || Date.now() > deadline) return d;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** A snapshot taken once two consecutive reads agree (controllers done with what seeding started). */
export async function stableSnapshot(conn: KubernetesConnection, timeoutMs = 60_000): Promise<Snapshot> {
  const deadline = Date.now() + timeoutMs;
  let last = await clusterSnapshot(conn);
  for (;;) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await clusterSnapshot(conn);
    if (!snapshotDiff(last, now)) return now;
    if (Date.now() > deadline) throw new Error(`cluster never settled:\n${snapshotDiff(last, now)}`);
    last = now;
  }
}

/** The node's main routing table, one line per route, sorted. */
export async function nodeRoutes(node: string, stateDir: string): Promise<string[]> {
  const r = await nodeExec(node, ['ip', 'route', 'show', 'table', 'main'], { stateDir });
  if (r.exitCode !== 0) throw new Error(`ip route on ${node}: ${r.stderr}`);
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}
