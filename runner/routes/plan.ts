// Planning route changes: what to add, replace and delete so the routes meshplay manages on a node
// become the desired ones, without touching routes it does not own (the operator's, BIRD's, the kernel's).
import { contains, isAddress, parseCidr, sortByDestination } from './cidr.js';
import type { Route } from './parse.js';

export interface DesiredRoute {
  dest: string;
  via: string;
  dev?: string;
  metric?: number;
}

/** A route line as meshplay writes it (dest always canonical). */
export interface PlannedRoute {
  dest: string;
  via?: string;
  dev?: string;
  metric?: number;
}

export interface RoutePlan {
  add: PlannedRoute[];
  replace: PlannedRoute[];
  del: PlannedRoute[];
  /** Managed routes after the change, for the diff. */
  after: PlannedRoute[];
  warnings: string[];
}

/** Desired routes validated and canonicalised once (normaliseRoutes), with the warnings that gave. */
export interface NormalisedRoutes {
  readonly routes: readonly DesiredRoute[];
  readonly warnings: readonly string[];
}

export interface PlanInput {
  /** Routes carrying meshplay's protocol. */
  current: Route[];
  /** As given, or normalised already (the routes every node of a cluster wants are normalised once per run). */
  desired: DesiredRoute[] | NormalisedRoutes;
  state?: 'present' | 'absent';
  prune?: boolean;
  /** Blocks this node's BIRD owns (blackhole) and routes it learned: never fought over. */
  ownedBlocks?: string[];
  birdLearned?: string[];
  /** Other routes in the table (kernel, operator's): a desired dest already there is left alone. */
  other?: Route[];
}

const key = (dest: string, metric?: number) => `${dest} metric ${metric ?? 0}`;

export function routeLine(r: PlannedRoute): string {
  let line = r.dest;
  if (r.via) line += ` via ${r.via}`;
  if (r.dev) line += ` dev ${r.dev}`;
  if (r.metric) line += ` metric ${r.metric}`;
  return line;
}

function fromRoute(r: Route): PlannedRoute {
  const p: PlannedRoute = { dest: r.dst };
  if (r.gateway) p.via = r.gateway;
  if (r.dev) p.dev = r.dev;
  if (r.metric) p.metric = r.metric;
  return p;
}

const byMetric = (a: PlannedRoute, b: PlannedRoute) => (a.metric ?? 0) - (b.metric ?? 0);
const sortByDest = (routes: PlannedRoute[]) => sortByDestination(routes, (r) => r.dest, byMetric);

/** Validates and canonicalises desired routes; identical duplicates collapse, conflicting ones are errors. */
export function normaliseDesired(desired: DesiredRoute[], warnings: string[]): DesiredRoute[] {
  const errors: string[] = [];
  const seen = new Map<string, DesiredRoute>();
  for (const d of desired) {
    let dest: string;
    try {
      const c = parseCidr(String(d.dest));
      dest = c.text;
      if (c.hadHostBits) warnings.push(`route destination ${d.dest} has host bits set; using ${dest}`);
    } catch (err) {
      errors.push((err as Error).message);
      continue;
    }
    if (typeof d.via !== 'string' || !isAddress(d.via)) {
      errors.push(`route to ${dest}: via '${d.via}' is not an IP address`);
      continue;
    }
    const n: DesiredRoute = { dest, via: d.via };
    if (d.dev) n.dev = d.dev;
    if (d.metric) n.metric = Number(d.metric);
    const k = key(dest, n.metric);
    const prior = seen.get(k);
    if (prior) {
      if (prior.via !== n.via || (prior.dev ?? '') !== (n.dev ?? ''))
        errors.push(`conflicting routes to ${dest}: via ${routeLine(prior)} and via ${routeLine(n)}`);
      continue;
    }
    seen.set(k, n);
  }
  if (errors.length) throw new Error(errors.join('\n'));
  return [...seen.values()];
}

/** normaliseDesired as a value: the routes and the warnings, kept together for reuse. */
export function normaliseRoutes(desired: DesiredRoute[]): NormalisedRoutes {
  const warnings: string[] = [];
  return { routes: normaliseDesired(desired, warnings), warnings };
}

export function planRoutes(input: PlanInput): RoutePlan {
  const normalised = Array.isArray(input.desired) ? normaliseRoutes(input.desired) : (input.desired as NormalisedRoutes);
  const warnings = [...normalised.warnings];
  const state = input.state ?? 'present';
  const desired = normalised.routes;
  const plan: RoutePlan = { add: [], replace: [], del: [], after: [], warnings };
  const current = input.current.map(fromRoute);
  const ownedBlocks = (input.ownedBlocks ?? []).map((b) => parseCidr(b));
  const birdLearned = new Set((input.birdLearned ?? []).map((b) => parseCidr(b).text));
  // By destination, then metric: a lookup per desired route without building a key string (61,440 at 256 nodes).
  const otherByDest = new Map<string, Map<number, Route>>();
  for (const r of input.other ?? []) {
    const byMetric = otherByDest.get(r.dst);
    if (byMetric) byMetric.set(r.metric ?? 0, r);
    else otherByDest.set(r.dst, new Map([[r.metric ?? 0, r]]));
  }

  if (state === 'absent') {
    const gone = new Set(desired.map((d) => d.dest));
    for (const c of current) (gone.has(c.dest) ? plan.del : plan.after).push(c);
    sortByDest(plan.after);
    return plan;
  }

  const wanted: DesiredRoute[] = [];
  for (const d of desired) {
    const dc = parseCidr(d.dest);
    const owned = ownedBlocks.find((b) => contains(b, dc) || contains(dc, b));
    if (owned) {
      warnings.push(`not routing ${d.dest} via ${d.via}: it overlaps ${owned.text}, a block this node's BIRD owns`);
      continue;
    }
    if (birdLearned.has(d.dest)) {
      warnings.push(`not routing ${d.dest} via ${d.via}: BIRD already routes it on this node`);
      continue;
    }
    const foreign = otherByDest.get(d.dest)?.get(d.metric ?? 0);
    if (foreign) {
      warnings.push(
        `not routing ${d.dest} via ${d.via}: a route to it (proto ${foreign.protocol}${foreign.gateway ? ` via ${foreign.gateway}` : ''}) ` +
          'exists that meshplay does not manage; delete it to let meshplay manage this destination',
      );
      continue;
    }
    wanted.push(d);
  }

  const matched = new Set<PlannedRoute>();
  // Current routes by destination, in table order: a lookup per desired route instead of a scan of the table.
  const currentByDest = new Map<string, PlannedRoute[]>();
  for (const c of current) {
    const list = currentByDest.get(c.dest);
    if (list) list.push(c);
    else currentByDest.set(c.dest, [c]);
  }
  for (const d of wanted) {
    const sameDest = currentByDest.get(d.dest) ?? [];
    const exact = sameDest.find(
      (c) => c.via === d.via && (c.metric ?? 0) === (d.metric ?? 0) && (d.dev === undefined || c.dev === d.dev),
    );
    if (exact) {
      matched.add(exact);
      plan.after.push(exact);
      continue;
    }
    const sameMetric = sameDest.find((c) => (c.metric ?? 0) === (d.metric ?? 0));
    if (sameMetric) {
      matched.add(sameMetric);
      plan.replace.push(d);
    } else plan.add.push(d);
    plan.after.push(d);
    // One managed route per destination: a different metric is the same route moved.
    for (const c of sameDest) if (c !== sameMetric && !matched.has(c)) {
      matched.add(c);
      plan.del.push(c);
    }
  }
  for (const c of current) {
    if (matched.has(c)) continue;
    if (input.prune) plan.del.push(c);
    else plan.after.push(c);
  }
  for (const list of [plan.add, plan.replace, plan.del, plan.after]) sortByDest(list);
  return plan;
}

export function planChanged(plan: RoutePlan): boolean {
  return plan.add.length + plan.replace.length + plan.del.length > 0;
}

/** The `ip -batch -` lines carrying out a plan: deletions first so a moved route never collides. */
export function batchLines(plan: RoutePlan, proto: number): string[] {
  const tail = (r: PlannedRoute) => `proto ${proto}${r.metric ? ` metric ${r.metric}` : ''}`;
  const target = (r: PlannedRoute) => [r.dest, r.via ? `via ${r.via}` : '', r.dev ? `dev ${r.dev}` : ''].filter(Boolean).join(' ');
  return [
    ...plan.del.map((r) => `route del ${r.dest}${r.via ? ` via ${r.via}` : ''} ${tail(r)}`),
    ...plan.replace.map((r) => `route replace ${target(r)} ${tail(r)}`),
    ...plan.add.map((r) => `route add ${target(r)} ${tail(r)}`),
  ];
}
