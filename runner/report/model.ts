// The report of a run or of the live mesh, as a value: what `--report FILE.html` draws. Built from the status
// probes (runner/mesh/single-status.ts: clusters, remote secrets, mTLS, gateways, each node's BIRD blocks and
// managed routes) and, for a run, from its events (changes with their masked diffs, per task and host timing,
// the role's pings). Rendering is runner/report/html.ts; nothing here knows HTML.
import type { HostStats } from '../output/events.js';
import type { Inventory } from '../inventory/types.js';
import type { MeshStatus, NodeRouting } from '../mesh/single-status.js';
import { contains, parseCidr } from '../routes/cidr.js';

export type Health = 'ok' | 'bad' | 'unknown';

export interface ReportCluster {
  name: string;
  role: 'control-plane' | 'remote';
  api: { reachable: boolean; version?: string; error?: string };
  podCidr?: string;
  serviceCidr?: string;
  health: Health;
  reasons: string[];
  nodes: { name: string; address?: string }[];
}

/** One cell of the route matrix: how `from` reaches the pod block `block`. */
export interface RouteCell {
  from: string;
  block: string;
  /** own: the node's block; bird: same cluster (BIRD routes it); routed: a managed route via the owner;
   *  wrong: a managed route via another address; missing: no managed route; unknown: the table was not read. */
  state: 'own' | 'bird' | 'routed' | 'wrong' | 'missing' | 'unknown';
  via?: string;
  /** The pod_cidr_routes role's ping of a pod address in the block from this node, when it ran. */
  ping?: 'ok' | 'fail';
}

export interface RouteMatrix {
  checked: boolean;
  nodes: { node: string; cluster: string; source: NodeRouting['source']; error?: string }[];
  blocks: { block: string; node: string; cluster: string; via?: string }[];
  cells: RouteCell[];
}

export interface ReportSecret {
  cluster: string;
  state: 'working' | 'broken' | 'missing' | 'unknown';
  detail?: string;
}

export interface ReportChange {
  play: string;
  task: string;
  host: string;
  msg?: string;
  /** Unified diff, from already-masked events. */
  diff?: string;
}

export interface TimelineEntry {
  play: string;
  task: string;
  host: string;
  status: string;
  startMs: number;
  durationMs: number;
}

export interface MeshReport {
  kind: 'run' | 'status';
  title: string;
  generatedAt: string;
  version: string;
  topology: string;
  health: Health;
  /** Run: exit code, check mode and the recap per host. */
  run?: { exitCode: number; reason: string; check: boolean; durationMs: number; recap: Record<string, HostStats> };
  clusters: ReportCluster[];
  routes: RouteMatrix;
  secrets: ReportSecret[];
  mtls: { cluster?: string; api: string; mode?: string; error?: string };
  gateways: { cluster: string; namespace: string; name: string; servers: string[] }[];
  gatewayErrors: { cluster: string; error: string }[];
  changes: ReportChange[];
  timeline: TimelineEntry[];
  warnings: string[];
}

/** What a run contributes (collected from its events by runner/report/collect.ts). */
export interface RunFacts {
  playbooks: string[];
  check: boolean;
  changes: ReportChange[];
  timeline: TimelineEntry[];
  /** node -> pod address -> answered. */
  pings: Map<string, Map<string, boolean>>;
  warnings: string[];
  recap?: { exitCode: number; reason: string; durationMs: number; stats: Record<string, HostStats> };
}

function blockOf(address: string, blocks: string[]): string | undefined {
  try {
    const a = parseCidr(address);
    return blocks.find((b) => contains(parseCidr(b), a));
  } catch {
    return undefined; // not an address: the ping line is not the role's
  }
}

/** Pure: the matrix of every read node against every known pod block. */
export function routeMatrix(nodes: NodeRouting[], pings?: RunFacts['pings']): RouteMatrix {
  const blocks = nodes.flatMap((n) => n.blocks.map((block) => ({ block, node: n.node, cluster: n.cluster, via: n.via })));
  const cells: RouteCell[] = [];
  for (const from of nodes) {
    const answered = pings?.get(from.node);
    const pinged = new Map<string, boolean>();
    for (const [addr, ok] of answered ?? []) {
      const b = blockOf(addr, blocks.map((x) => x.block));
      if (b) pinged.set(b, ok);
    }
    for (const b of blocks) {
      let cell: RouteCell;
      if (b.node === from.node) cell = { from: from.node, block: b.block, state: 'own' };
      else if (b.cluster === from.cluster) cell = { from: from.node, block: b.block, state: from.source === 'table' ? 'bird' : 'unknown' };
      else if (from.source !== 'table') cell = { from: from.node, block: b.block, state: 'unknown' };
      else {
        const route = from.managed.find((r) => r.dest === b.block);
        cell = !route
          ? { from: from.node, block: b.block, state: 'missing' }
          : { from: from.node, block: b.block, state: route.via === b.via ? 'routed' : 'wrong', via: route.via };
      }
      if (pinged.has(b.block)) cell.ping = pinged.get(b.block) ? 'ok' : 'fail';
      cells.push(cell);
    }
  }
  return {
    checked: nodes.length > 0,
    nodes: nodes.map((n) => ({ node: n.node, cluster: n.cluster, source: n.source, ...(n.error ? { error: n.error } : {}) })),
    blocks,
    cells,
  };
}

function secretState(s: NonNullable<MeshStatus['clusters'][number]['secret']>): ReportSecret {
  return { cluster: '', ...(s.present === undefined ? { state: 'unknown' as const, detail: s.error } : !s.present ? { state: 'missing' as const } : s.authenticates && s.canListServices && s.canCreateSecrets === false ? { state: 'working' as const, detail: 'authenticates, lists services, cannot create secrets' } : { state: 'broken' as const, detail: s.error ?? (!s.authenticates ? 'does not authenticate' : !s.canListServices ? 'cannot list services' : 'can create secrets (too much privilege)') }) };
}

export interface BuildInput {
  kind: 'run' | 'status';
  title: string;
  version: string;
  inventory: Inventory;
  status: MeshStatus;
  run?: RunFacts;
  now?: Date;
}

/** Pure: the report from the live probes and (for a run) the run's facts. */
export function buildReport(input: BuildInput): MeshReport {
  const { inventory, status, run } = input;
  const clusters: ReportCluster[] = status.clusters.map((row) => {
    const inv = inventory.clusters.find((c) => c.name === row.cluster);
    const unknown = row.secret?.present === undefined && row.secret !== undefined || row.mtls?.api === 'unknown' || row.routes?.unknown === true || row.routes?.checked === false && !!row.routes.error && row.routes.error !== 'no nodes in the inventory';
    return {
      name: row.cluster,
      role: row.role,
      api: row.api,
      podCidr: inv?.pod_cidr,
      serviceCidr: inv?.service_cidr,
      health: row.healthy ? 'ok' : unknown && row.reasons.length > 0 && row.api.reachable ? 'unknown' : 'bad',
      reasons: row.reasons,
      nodes: (inventory.groups.get(`${row.cluster}_nodes`) ?? []).map((n) => ({ name: n, address: inventory.hosts.get(n)?.address })),
    };
  });
  const cp = status.clusters.find((r) => r.role === 'control-plane');
  const gateways: MeshReport['gateways'] = [];
  const gatewayErrors: MeshReport['gatewayErrors'] = [];
  for (const [cluster, g] of [...status.gateways].sort((a, b) => a[0].localeCompare(b[0]))) {
    if (g.error) gatewayErrors.push({ cluster, error: g.error });
    for (const gw of g.gateways) {
      gateways.push({
        cluster,
        namespace: gw.namespace,
        name: gw.name,
        servers: gw.servers.map((s) => `${s.protocol ?? '?'} ${s.port ?? '?'}${s.tlsMode ? ` (TLS ${s.tlsMode})` : ''} ${s.hosts.join(', ')}`.trim()),
      });
    }
  }
  const health: Health = clusters.every((c) => c.health === 'ok') && (!run?.recap || run.recap.exitCode === 0) ? 'ok' : clusters.some((c) => c.health === 'bad') || (run?.recap && run.recap.exitCode !== 0) ? 'bad' : 'unknown';
  return {
    kind: input.kind,
    title: input.title,
    generatedAt: (input.now ?? new Date()).toISOString(),
    version: input.version,
    topology: inventory.topology ?? 'single-control-plane',
    health,
    ...(run?.recap ? { run: { exitCode: run.recap.exitCode, reason: run.recap.reason, check: run.check, durationMs: run.recap.durationMs, recap: run.recap.stats } } : {}),
    clusters,
    routes: routeMatrix(status.nodes, run?.pings),
    secrets: status.clusters.filter((r) => r.role === 'remote' && r.secret).map((r) => ({ ...secretState(r.secret!), cluster: r.cluster })),
    mtls: cp?.mtls ? { cluster: cp.cluster, ...cp.mtls } : { api: 'unknown', error: cp ? (cp.api.error ?? 'not read') : 'no control plane cluster' },
    gateways,
    gatewayErrors,
    changes: run?.changes ?? [],
    timeline: run?.timeline ?? [],
    warnings: run?.warnings ?? [],
  };
}
