// What the pod_cidr_routes role decides for one node, in one place: reading a node's table, the facts it publishes
// (the blocks its BIRD owns, what BIRD learned, what meshplay manages), and the plan of route changes given every
// node's facts. The ip_route_facts and ip_routes modules and `meshplay status` all go through these functions, so
// status says "converged" exactly when a run would change nothing.
import { createHash } from 'node:crypto';
import type { CommandConnection } from '../connection/types.js';
import type { Host, Inventory } from '../inventory/types.js';
import { classify, parseRoutes, type Route, type RouteClasses } from './parse.js';
import { desiredRoutesFor, inferMissingPeers, type PeerFacts } from './peers.js';
import { normaliseRoutes, planRoutes, type DesiredRoute, type NormalisedRoutes, type RoutePlan } from './plan.js';

/** Protocol number marking meshplay's routes (unused by Debian's rt_protos, BIRD (12) and FRR (186-192)). */
export const DEFAULT_PROTOCOL = 201;
export const DEFAULT_PROTOCOL_NAME = 'meshplay';

// One `ip` process lists both families: `table all` is the form that does not default to IPv4 only (parseRoutes
// keeps the main table). A second process for IPv6 cost ~2 ms of a contended node's CPU per read, times 48 nodes.
const READ_ROUTES = 'ip -j -d route show table all';

/** The node's main routing table, both families (parseRoutes leaves the other tables out). Throws when `ip` fails. */
export async function readRoutes(conn: CommandConnection, node: string, env?: Record<string, string>): Promise<Route[]> {
  const r = await conn.exec(READ_ROUTES, { env });
  if (r.code !== 0) throw new Error(`reading routes on ${node} failed (rc ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return parseRoutes(r.stdout);
}

/** What ip_route_facts publishes as hostvars[node].routes. */
export interface RouteFacts extends PeerFacts {
  bird_learned: Array<{ dest: string; via?: string; dev?: string }>;
  managed: Array<{ dest: string; via?: string; dev?: string; metric?: number }>;
  managed_protocol: number;
}

/** Pure: the facts of a node from its classified table. `via` defaults to the node's inventory address. */
export function routeFacts(host: Host, inventory: Inventory, c: RouteClasses, protocol: number, via?: string): RouteFacts {
  const cluster = inventory.clusters.find((x) => x.name === host.cluster);
  const facts: RouteFacts = {
    node: host.name,
    cluster: host.cluster ?? '',
    via: via || host.address || '',
    owned_blocks: c.ownedBlocks.map((r) => r.dst),
    pod_cidr: cluster?.pod_cidr,
    bird_learned: c.birdLearned.map((r) => ({ dest: r.dst, via: r.gateway, dev: r.dev })),
    managed: c.managed.map((r) => ({ dest: r.dst, via: r.gateway, dev: r.dev, metric: r.metric })),
    managed_protocol: protocol,
  };
  if (!facts.pod_cidr) delete facts.pod_cidr;
  return facts;
}

export interface KnownPeers {
  /** Facts read, plus stand-ins for unread nodes that their cluster peers' BIRD routes to. */
  peers: PeerFacts[];
  /** Expected nodes without facts (unreachable, or not in this run). */
  missing: string[];
  /** Entries of the list that hold no facts at all. */
  unnamed: number;
  /** Stand-ins were used: the peer list is not the one the caller passed. */
  inferred: boolean;
}

/**
 * The peers a node plans against: the facts given (entries of unreachable nodes may be empty), and for each
 * expected node without facts, what its cluster peers' BIRD knows of it (its pods stay routed while it is down).
 */
export function knownPeers(raw: readonly unknown[], expected: readonly string[], inventory: Inventory): KnownPeers {
  const read = raw.filter((p): p is PeerFacts => !!p && typeof p === 'object' && Array.isArray((p as PeerFacts).owned_blocks));
  const have = new Set(read.map((p) => p.node));
  const missing = [...new Set(expected.filter((n) => !have.has(n)))];
  const standIns = inferMissingPeers(
    read,
    missing.flatMap((name) => {
      const h = inventory.hosts.get(name);
      return h?.cluster && h.address ? [{ node: name, cluster: h.cluster, address: h.address }] : [];
    }),
  );
  return { peers: [...read, ...standIns], missing, unnamed: raw.length - read.length, inferred: standIns.length > 0 };
}

export interface NodePlanInput {
  node: string;
  cluster: string;
  /** The node's table, classified with the managed protocol. */
  classes: RouteClasses;
  /** Peers' facts (knownPeers().peers); none when only explicit routes are managed. */
  peers?: PeerFacts[];
  /** Explicit routes besides those to other clusters' blocks. */
  routes?: DesiredRoute[];
  /**
   * The routes to other clusters' blocks, normalised already (peerRoutes(cluster, peers)): the same for every node of
   * a cluster, so a caller planning many nodes makes them once per cluster. Used only without explicit `routes`.
   */
  peerRoutes?: NormalisedRoutes;
  state?: 'present' | 'absent';
  prune: boolean;
}

/** Pure: the route changes that make the node's managed routes the desired ones. */
export function planNodeRoutes(o: NodePlanInput): RoutePlan {
  let desired: DesiredRoute[] | NormalisedRoutes;
  if (o.peerRoutes && !o.routes?.length) desired = o.peerRoutes;
  else {
    desired = [...(o.routes ?? [])];
    if (o.peers) desired.push(...desiredRoutesFor({ node: o.node, cluster: o.cluster }, o.peers));
  }
  return planRoutes({
    current: o.classes.managed,
    desired,
    state: o.state ?? 'present',
    prune: o.prune,
    ownedBlocks: o.classes.ownedBlocks.map((r) => r.dst),
    birdLearned: o.classes.birdLearned.map((r) => r.dst),
    other: o.classes.other,
  });
}

/**
 * The routes every node of `cluster` wants to other clusters' blocks, normalised: what planNodeRoutes makes from
 * peers for each node of the cluster, unless a peer of another cluster bears that node's name (that node leaves
 * such entries out: plan it without this).
 */
export function peerRoutes(cluster: string, peers: PeerFacts[]): NormalisedRoutes {
  return normaliseRoutes(desiredRoutesFor({ cluster }, peers));
}

export { classify };

/**
 * Digest of the routes meshplay manages on a node (its protocol, main table): what a plan of them was read from.
 * Order-free, and blind to routes of other owners, which meshplay never touches.
 */
export function managedDigest(managed: readonly Route[]): string {
  const lines = managed.map((r) => `${r.type} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''} ${r.metric ?? ''}`).sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex');
}
