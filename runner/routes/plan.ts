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

  // By position in the table: 256 nodes' plans made a Set entry and an array per current route, and a closure
  // per desired route (the same decisions as a scan of the table, in table order).
  const matched = new Uint8Array(current.length);
  // Current routes by destination: its one position, or all of them in table order when there are several.
  const byDest = new Map<string, number | number[]>();
  for (let i = 0; i < current.length; i++) {
    const dest = current[i]!.dest;
    const at = byDest.get(dest);
    if (at === undefined) byDest.set(dest, i);
    else if (typeof at === 'number') byDest.set(dest, [at, i]);
    else at.push(i);
  }
  for (const d of wanted) {
    const at = byDest.get(d.dest);
    const many = typeof at === 'object' ? at : undefined;
    const count = at === undefined ? 0 : many ? many.length : 1;
    const metric = d.metric ?? 0;
    // The first route to this destination that is exactly the desired one, else the first with its metric.
    let exact = -1;
    let sameMetric = -1;
    for (let k = 0; k < count && exact < 0; k++) {
      const i = many ? many[k]! : (at as number);
      const c = current[i]!;
      if ((c.metric ?? 0) !== metric) continue;
      if (c.via === d.via && (d.dev === undefined || c.dev === d.dev)) exact = i;
      else if (sameMetric < 0) sameMetric = i;
    }
    if (exact >= 0) {
      matched[exact] = 1;
      plan.after.push(current[exact]!);
      continue;
    }
    if (sameMetric >= 0) {
      matched[sameMetric] = 1;
      plan.replace.push(d);
    } else plan.add.push(d);
    plan.after.push(d);
    // One managed route per destination: a different metric is the same route moved.
    for (let k = 0; k < count; k++) {
      const i = many ? many[k]! : (at as number);
      if (i !== sameMetric && !matched[i]) {
        matched[i] = 1;
        plan.del.push(current[i]!);
      }
    }
  }
  for (let i = 0; i < current.length; i++) {
    if (matched[i]) continue;
    if (input.prune) plan.del.push(current[i]!);
    else plan.after.push(current[i]!);
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
