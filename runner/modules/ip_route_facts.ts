// Gathers a node's routing table in one command and publishes who owns what: the pod blocks its BIRD
// announces (blackhole routes), routes BIRD learned, and routes meshplay manages. Never changes anything.
import { classify, DEFAULT_PROTOCOL, DEFAULT_PROTOCOL_NAME, readRoutes, routeFacts } from '../routes/node.js';
import type { Route } from '../routes/parse.js';
import { integer, object, string, withDefault } from './args.js';
import { runSlot, type RunScope } from './run-scope.js';
import type { Module } from './types.js';
import { commandConnection } from './util.js';

/**
 * The table each node's ip_route_facts read in this run, handed once to the next ip_routes task on the same
 * node: the routes role reads facts and plans seconds apart, and a second read per node would double the
 * round trips of a converged run. Entries are used once and expire quickly, so a later task reads afresh; they
 * live in the run's scope (ctx.run), so another run in the same process never sees them.
 */
const recentRoutes = runSlot('ip_route_facts.recentRoutes', () => new Map<string, { routes: Route[]; at: number }>());
const REUSE_WITHIN_MS = 15_000;

/** The table ip_route_facts read on this host earlier in this run, if within REUSE_WITHIN_MS; taken once. */
export function takeRecentRoutes(run: RunScope, host: string): { routes: Route[]; ageMs: number } | undefined {
  const read = run.get(recentRoutes);
  const r = read.get(host);
  read.delete(host);
  const ageMs = r ? performance.now() - r.at : Infinity;
  return r && ageMs <= REUSE_WITHIN_MS ? { routes: r.routes, ageMs } : undefined;
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
    const table = await readRoutes(await commandConnection(ctx), ctx.host.name, ctx.environment);
    ctx.run.get(recentRoutes).set(ctx.host.name, { routes: table, at: performance.now() });
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
