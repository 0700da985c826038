// Gathers a node's routing table in one command and publishes who owns what: the pod blocks its BIRD
// announces (blackhole routes), routes BIRD learned, and routes meshplay manages. Never changes anything.
import { classify, DEFAULT_PROTOCOL, DEFAULT_PROTOCOL_NAME, readRoutes, routeFacts } from '../routes/node.js';
import type { Route } from '../routes/parse.js';
import { integer, object, string, withDefault } from './args.js';
import { runSlot, type RunScope } from './run-scope.js';
import type { CommandConnection } from '../connection/types.js';
import type { Module } from './types.js';
import { commandConnection } from './util.js';

/**
 * The table each node's ip_route_facts read in this run, handed once to the next ip_routes task on the same
 * node: the routes role reads facts and plans in consecutive tasks, and a second read per node would double the
 * round trips of a converged run. The table is handed over only while it is what a new read would see from
 * meshplay's side: no command ran on the node's connection since (a task in between may have changed its
 * routes), and the read is at most REUSE_WITHIN_MS old (a long pause lets BIRD or an operator change it). The
 * age is not what keeps it right, so it is far above the read phase of a large run: with 15 s, the nodes read
 * first in a 256-node run (a read phase of 15-20 s on 2 cores) read their tables a second time. Entries are
 * used once and live in the run's scope (ctx.run), so another run in the same process never sees them.
 */
interface RecentRead {
  routes: Route[];
  at: number;
  /** The connection that read it and how many commands it had run then (the read included). */
  connection: CommandConnection;
  commands: number;
}
const recentRoutes = runSlot('ip_route_facts.recentRoutes', () => new Map<string, RecentRead>());
const REUSE_WITHIN_MS = 300_000;

/**
 * The table ip_route_facts read on this host earlier in this run, taken once: when `connection` is the one that
 * read it, has run no command since, and the read is within REUSE_WITHIN_MS.
 */
export function takeRecentRoutes(run: RunScope, host: string, connection: CommandConnection): { routes: Route[]; ageMs: number } | undefined {
  const read = run.get(recentRoutes);
  const r = read.get(host);
  read.delete(host);
  if (!r || r.connection !== connection || connection.timings().commands !== r.commands) return undefined;
  const ageMs = performance.now() - r.at;
  return ageMs <= REUSE_WITHIN_MS ? { routes: r.routes, ageMs } : undefined;
}

const schema = object({
  managed_protocol: withDefault(integer({ minimum: 1, maximum: 255 }), DEFAULT_PROTOCOL),
  managed_protocol_name: withDefault(string({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$' }), DEFAULT_PROTOCOL_NAME),
  /** Address other clusters should route this node's blocks via (default: the node's inventory address). */
  via: string(),
});

const mod: Module<typeof schema, Route[]> = {
  name: 'ip_route_facts',
  schema,
  async facts(ctx) {
    const connection = await commandConnection(ctx);
    const table = await readRoutes(connection, ctx.host.name, ctx.environment);
    ctx.run.get(recentRoutes).set(ctx.host.name, { routes: table, at: performance.now(), connection, commands: connection.timings().commands });
    return table;
  },
  plan(table, args, ctx) {
    const c = classify(table, args.managed_protocol, args.managed_protocol_name);
    const facts = routeFacts(ctx.host, ctx.inventory, c, args.managed_protocol, args.via);
    return {
      changed: false,
      msg: `${facts.owned_blocks.length} owned block(s), ${facts.bird_learned.length} BIRD-learned, ${facts.managed.length} managed route(s)`,
      result: { ansible_facts: { routes: facts } },
    };
  },
};

export default mod;
