// Keeps the routes meshplay manages on a node (marked with its own protocol number) equal to the desired
// ones, in one `ip -batch -`. Routes of other owners (BIRD, the kernel, the operator) are never touched.
// With `peers` (the ip_route_facts of every node) the desired routes are every other cluster's pod
// blocks via their owning nodes, and overlapping blocks between clusters are refused.
import { batchLines, planChanged, routeLine, type DesiredRoute, type NormalisedRoutes, type PlannedRoute, type RoutePlan } from '../routes/plan.js';
import { outsideCidrWarnings, overlapProblems, probeTargets, type PeerFacts } from '../routes/peers.js';
import { classify, DEFAULT_PROTOCOL, DEFAULT_PROTOCOL_NAME, knownPeers, managedDigest, peerRoutes, planNodeRoutes, readRoutes, type KnownPeers } from '../routes/node.js';
import type { Route } from '../routes/parse.js';
import { array, boolean, integer, object, oneOf, required, string, types, withDefault, type ArgsOf } from './args.js';
import { takeRecentRoutes } from './ip_route_facts.js';
import { runSlot } from './run-scope.js';
import type { Fingerprint, Module, Plan, PlanContext } from './types.js';
import { commandConnection, shellQuote } from './util.js';

const route = object({ dest: required(string()), via: required(string()), dev: string(), metric: integer({ minimum: 0 }) });

const schema = object({
  routes: array(route),
  /** ip_route_facts of every node (entries of unreachable nodes may be missing). */
  peers: array(types<PeerFacts | null>(['object', 'null'])),
  /** Every node whose facts `peers` should hold (e.g. groups['nodes']): a node without facts stops pruning. */
  nodes: withDefault(array(string()), []),
  /** Only check `peers` for overlaps (run_once before any change); reads nothing from the host. */
  only_check: withDefault(boolean(), false),
  state: withDefault(oneOf(['present', 'absent']), 'present'),
  prune: withDefault(boolean(), false),
  protocol: withDefault(integer({ minimum: 1, maximum: 255 }), DEFAULT_PROTOCOL),
  protocol_name: withDefault(string({ pattern: '^[A-Za-z][A-Za-z0-9_-]*$' }), DEFAULT_PROTOCOL_NAME),
});
export type IpRoutesArgs = ArgsOf<typeof schema>;

/** The node's routing table (undefined under only_check, which reads nothing). */
export interface IpRoutesFacts {
  routes?: Route[];
}

export interface IpRoutesData {
  lines: string[];
  plan: RoutePlan;
}

// Every node checks the same peer set; the overlap check is quadratic in blocks, so it runs once per distinct
// set and run. The nodes of a task get the very same list (peerView's, shared by identity); the content key
// catches an equal list another task rendered on its own. Both memos live in the run's scope (ctx.run): they
// end with the run instead of growing for the life of the process.
interface PeerCheck {
  problems: string[];
  warnings: string[];
}
const peerChecks = runSlot('ip_routes.peerChecks', () => ({ byList: new WeakMap<object, PeerCheck>(), byKey: new Map<string, PeerCheck>() }));

function checkPeers(ctx: PlanContext, peers: PeerFacts[], warnAll: boolean): void {
  const checks = ctx.run.get(peerChecks);
  let check = checks.byList.get(peers);
  if (!check) {
    const key = JSON.stringify(peers.map((p) => [p.node, p.cluster, p.pod_cidr, p.owned_blocks]));
    check = checks.byKey.get(key);
    if (!check) {
      checks.byKey.set(key, (check = { problems: overlapProblems(peers), warnings: outsideCidrWarnings(peers) }));
      ctx.log(3, `${ctx.host.name}: checked the pod blocks of ${peers.length} node(s) for overlaps`);
    }
    checks.byList.set(peers, check);
  }
  if (check.problems.length)
    throw new Error(`pod blocks of different clusters overlap, so routes between them would be ambiguous; nothing was changed:\n- ${check.problems.join('\n- ')}`);
  for (const w of check.warnings) if (warnAll || w.startsWith(`node ${ctx.host.name} `)) ctx.warn(w);
}

// What the nodes planning against one peers list share, made once per run: the peers known (facts, plus stand-ins
// for expected nodes without any) and, per cluster, the routes its nodes want and the addresses they probe. At 256
// nodes each node otherwise normalised the same 240 routes and built the same 240 probes as its cluster's others.
// Keyed by the list's identity (the hosts of a task share its render; applyDefaults keeps it) and the expected nodes.
type Probe = ReturnType<typeof probeTargets>[number];
interface PeerView {
  known: KnownPeers;
  /** The clusters each node name appears under among the peers. */
  clustersOf: Map<string, Set<string>>;
  byCluster: Map<string, { routes: NormalisedRoutes; probes: readonly Probe[] }>;
}
const peerViews = runSlot('ip_routes.peerViews', () => new WeakMap<object, Map<unknown, PeerView>>());
const NO_NODES = Symbol('no expected nodes');

function peerView(ctx: PlanContext, raw: readonly unknown[], expected: readonly string[]): PeerView {
  const byList = ctx.run.get(peerViews);
  let byNodes = byList.get(raw);
  if (!byNodes) byList.set(raw, (byNodes = new Map()));
  // An empty list is a fresh [] per host (the schema's default): all empty lists are one key.
  const nodesKey = expected.length ? expected : NO_NODES;
  let view = byNodes.get(nodesKey);
  if (!view) {
    const known = knownPeers(raw, expected, ctx.inventory);
    const clustersOf = new Map<string, Set<string>>();
    for (const p of known.peers) {
      const set = clustersOf.get(p.node);
      if (set) set.add(p.cluster);
      else clustersOf.set(p.node, new Set([p.cluster]));
    }
    byNodes.set(nodesKey, (view = { known, clustersOf, byCluster: new Map() }));
  }
  return view;
}

/** The cluster's shared routes and probes, or undefined for a node whose name a peer of another cluster bears. */
function clusterView(view: PeerView, cluster: string, node: string): { routes: NormalisedRoutes; probes: readonly Probe[] } | undefined {
  const named = view.clustersOf.get(node);
  if (named && (named.size > 1 || !named.has(cluster))) return undefined;
  let shared = view.byCluster.get(cluster);
  if (!shared) {
    // Frozen: every node of the cluster returns these very probes in its result.
    const probes = Object.freeze(probeTargets({ cluster }, view.known.peers).map((p) => Object.freeze(p)));
    view.byCluster.set(cluster, (shared = { routes: peerRoutes(cluster, view.known.peers), probes }));
  }
  return shared;
}

// The diff shows what identifies a route (dest, via, metric); the kernel fills in dev by itself.
const lines = (routes: PlannedRoute[]) =>
  routes.map((r) => routeLine({ dest: r.dest, via: r.via, metric: r.metric })).join('\n') + (routes.length ? '\n' : '');

const mod: Module<typeof schema, IpRoutesFacts, IpRoutesData> = {
  name: 'ip_routes',
  schema,
  async facts(ctx, args) {
    if (args.only_check) return {};
    const connection = await commandConnection(ctx);
    const recent = takeRecentRoutes(ctx.run, ctx.host.name, connection);
    if (recent) ctx.log(2, `${ctx.host.name}: using the routes ip_route_facts read ${Math.round(recent.ageMs)} ms ago`);
    return { routes: recent?.routes ?? (await readRoutes(connection, ctx.host.name, ctx.environment)) };
  },
  plan: planIpRoutes,
  async apply(ctx, args, plan) {
    const conn = await commandConnection(ctx);
    // Naming the protocol makes `ip route` show "proto meshplay"; best effort (read-only /etc is fine).
    const script = nameProtocolScript(RT_PROTOS_CONF, `${args.protocol}\t${args.protocol_name}`) + 'ip -batch -';
    const data = plan.data;
    const r = await conn.exec(script, { stdin: data.lines.join('\n') + '\n', become: ctx.become, becomePassword: ctx.becomePassword, env: ctx.environment });
    const counts = { added: data.plan.add.length, deleted: data.plan.del.length, replaced: data.plan.replace.length };
    if (r.code !== 0)
      return {
        changed: true,
        failed: true,
        msg: `ip -batch failed on ${ctx.host.name} (rc ${r.code}); lines before the failing one were applied: ${r.stderr.trim()}`,
        commands: data.lines,
        ...counts,
      };
    return { ...(plan.result ?? {}), changed: true, ...counts, ...(plan.diff ? { diff: plan.diff } : {}) };
  },
};

/** Pure: the route changes of one node from its table, the peers' facts and the arguments. */
export function planIpRoutes(facts: IpRoutesFacts, args: IpRoutesArgs, ctx: PlanContext): Plan<IpRoutesData> {
  const proto = args.protocol;
  const protoName = args.protocol_name;
  // Nodes we could not read keep being routed through what their cluster peers' BIRD knows of them.
  const view = args.peers ? peerView(ctx, args.peers, args.nodes) : undefined;
  const { peers, missing, unnamed } = view?.known ?? knownPeers([], args.nodes, ctx.inventory);
  if (args.peers && !peers.length && args.peers.length)
    throw new Error('peers hold no route facts: pass the ip_route_facts of the nodes (hostvars[node].routes) after gathering them');
  if (args.only_check) {
    if (!args.peers) throw new Error('only_check needs peers');
    checkPeers(ctx, peers, true);
    const clusters = new Set(peers.map((p) => p.cluster));
    return { changed: false, msg: `no overlapping pod blocks among ${peers.length} node(s) of ${clusters.size} cluster(s)`, result: { overlaps: [] }, data: { lines: [], plan: { add: [], del: [], replace: [], after: [], warnings: [] } } };
  }
  let prune = args.prune;
  if (args.peers) {
    checkPeers(ctx, peers, false);
    // A node we could not read may still own blocks: pruning now would cut its pods off.
    if ((missing.length || unnamed) && prune) {
      prune = false;
      ctx.warn(
        `${ctx.host.name}: route facts of ${Math.max(missing.length, unnamed)} node(s) are missing${missing.length ? ` (${missing.join(', ')})` : ''}, ` +
          'unreachable or not in this run; not pruning routes this run',
      );
    }
  }
  if (!facts.routes) throw new Error(`${ctx.host.name}: no routing table was read`);
  const c = classify(facts.routes, proto, protoName);
  const cluster = ctx.host.cluster ?? '';
  const shared = view ? clusterView(view, cluster, ctx.host.name) : undefined;
  const plan = planNodeRoutes({
    node: ctx.host.name,
    cluster,
    classes: c,
    peers: args.peers ? peers : undefined,
    peerRoutes: shared?.routes,
    routes: args.routes,
    state: args.state,
    prune,
  });
  for (const w of plan.warnings) ctx.warn(`${ctx.host.name}: ${w}`);
  const batch = batchLines(plan, proto);
  const counts = { added: plan.add.length, deleted: plan.del.length, replaced: plan.replace.length };
  const header = `routes proto ${proto} (${protoName}) on ${ctx.host.name}`;
  return {
    changed: planChanged(plan),
    msg: planChanged(plan) ? `${counts.added} to add, ${counts.replaced} to replace, ${counts.deleted} to delete` : `${plan.after.length} route(s) as desired`,
    // Shown under --diff and kept in saved plans of changes; a converged node without --diff needs neither.
    ...(ctx.diff || planChanged(plan)
      ? { diff: [{ before: lines(c.managed.map((r) => ({ dest: r.dst, via: r.gateway, dev: r.dev, metric: r.metric }))), after: lines(plan.after), beforeHeader: header, afterHeader: header }] }
      : {}),
    result: {
      ...counts,
      routes: plan.after.map(routeLine),
      commands: batch,
      warnings: plan.warnings,
      probes: shared?.probes ?? (args.peers ? probeTargets({ cluster }, peers) : []),
    },
    data: { lines: batch, plan },
    fingerprints: [routesFingerprint(ctx.host.name, proto, c.managed)],
  };
}

export default mod;

/**
 * The fingerprint of a node's managed routes, its digest made when first read: only a saved plan (--plan-out,
 * --plan) reads it, and hashing 240 sorted routes on each of 256 nodes was a tenth of the route task's own time.
 */
function routesFingerprint(host: string, protocol: number, managed: readonly Route[]): Fingerprint {
  let digest: string | undefined;
  return {
    kind: 'routes',
    host,
    protocol,
    get digest(): string {
      return (digest ??= managedDigest(managed));
    },
  };
}

const RT_PROTOS_CONF = '/etc/iproute2/rt_protos.d/meshplay.conf';

/**
 * Shell that writes `entry` as the only line of `conf` unless it is already so, silently and whatever happens
 * (it ends with `;`). Shell builtins only when the file is already right: `$(cat ...)` forked a subshell and a
 * cat on every node (~3-6 ms of a contended node's CPU each, hundreds of nodes in a first run, where the floor
 * program runs `ip -batch -` alone).
 */
export function nameProtocolScript(conf: string, entry: string): string {
  const dir = conf.slice(0, conf.lastIndexOf('/')) || '/';
  return (
    `{ { { IFS= read -r meshplay_l && { IFS= read -r meshplay_x || :; }; } < ${shellQuote(conf)} && ` +
    `[ "$meshplay_l" = ${shellQuote(entry)} ] && [ -z "$meshplay_x" ]; } || ` +
    `{ mkdir -p ${shellQuote(dir)} && printf '%s\\n' ${shellQuote(entry)} > ${shellQuote(conf)}; }; } 2>/dev/null; `
  );
}
