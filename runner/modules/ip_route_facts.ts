// Gathers a node's routing table in one command and publishes who owns what: the pod blocks its BIRD
// announces (blackhole routes), routes BIRD learned, and routes meshplay manages. Never changes anything.
import type { CommandConnection } from '../connection/types.js';
import { classify, parseRoutes, type Route } from '../routes/parse.js';
import type { PeerFacts } from '../routes/peers.js';
import type { Module, ModuleContext } from './types.js';
import { commandConnection } from './util.js';

export const DEFAULT_PROTOCOL = 201;
export const DEFAULT_PROTOCOL_NAME = 'meshplay';

// One `ip` process lists both families: `table all` is the form that does not default to IPv4 only (classify()
// keeps the main table). A second process for IPv6 cost ~2 ms of a contended node's CPU per read, times 48 nodes.
const READ_ROUTES = 'ip -j -d route show table all';

/**
 * The table each node's ip_route_facts read in this run, handed once to the next ip_routes task on the same
 * node: the routes role reads facts and plans seconds apart, and a second read per node would double the
 * round trips of a converged run. Entries are used once and expire quickly, so a later task reads afresh.
 */
const readThisRun = new Map<string, { routes: Route[]; at: number }>();
const REUSE_WITHIN_MS = 15_000;

export function takeRecentRoutes(host: string): { routes: Route[]; ageMs: number } | undefined {
  const r = readThisRun.get(host);
  readThisRun.delete(host);
  const ageMs = r ? performance.now() - r.at : Infinity;
  return r && ageMs <= REUSE_WITHIN_MS ? { routes: r.routes, ageMs } : undefined;
}

export async function readRoutes(conn: CommandConnection, ctx: ModuleContext): Promise<Route[]> {
  const r = await conn.exec(READ_ROUTES, { env: ctx.environment });
  if (r.code !== 0) throw new Error(`reading routes on ${ctx.host.name} failed (rc ${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return parseRoutes(r.stdout);
}

export interface RouteFacts extends PeerFacts {
  bird_learned: Array<{ dest: string; via?: string; dev?: string }>;
  managed: Array<{ dest: string; via?: string; dev?: string; metric?: number }>;
  managed_protocol: number;
}

interface Args {
  managed_protocol?: number;
  managed_protocol_name?: string;
  /** Address other clusters should route this node's blocks via (default: the node's inventory address). */
  via?: string;
}

const mod: Module<Args> = {
  name: 'ip_route_facts',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      managed_protocol: { type: 'integer', minimum: 1, maximum: 255 },
      managed_protocol_name: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]*$' },
      via: { type: 'string' },
    },
  },
  async plan(ctx, args) {
    const proto = args.managed_protocol ?? DEFAULT_PROTOCOL;
    const conn = await commandConnection(ctx);
    const table = await readRoutes(conn, ctx);
    readThisRun.set(ctx.host.name, { routes: table, at: performance.now() });
    const c = classify(table, proto, args.managed_protocol_name ?? DEFAULT_PROTOCOL_NAME);
    const cluster = ctx.inventory.clusters.find((x) => x.name === ctx.host.cluster);
    const facts: RouteFacts = {
      node: ctx.host.name,
      cluster: ctx.host.cluster ?? '',
      via: args.via || ctx.host.address || '',
      owned_blocks: c.ownedBlocks.map((r) => r.dst),
      pod_cidr: cluster?.pod_cidr,
      bird_learned: c.birdLearned.map((r) => ({ dest: r.dst, via: r.gateway, dev: r.dev })),
      managed: c.managed.map((r) => ({ dest: r.dst, via: r.gateway, dev: r.dev, metric: r.metric })),
      managed_protocol: proto,
    };
    if (!facts.pod_cidr) delete facts.pod_cidr;
    return {
      changed: false,
      msg: `${facts.owned_blocks.length} owned block(s), ${facts.bird_learned.length} BIRD-learned, ${facts.managed.length} managed route(s)`,
      result: { ansible_facts: { routes: facts } },
    };
  },
  async apply() {
    throw new Error('ip_route_facts never changes anything');
  },
};

export default mod;
