// Reading `ip -j -d route show` output and sorting routes by who owns them.
import { parseCidr } from './cidr.js';

export interface Route {
  /** Canonical CIDR (host routes get /32 or /128, `default` becomes 0.0.0.0/0). */
  dst: string;
  gateway?: string;
  dev?: string;
  /** Name when /etc/iproute2/rt_protos(.d) names it (`bird`, `kernel`, `meshplay`), else the number as a string. */
  protocol: string;
  /** unicast, blackhole, unreachable, prohibit, local, broadcast... */
  type: string;
  metric?: number;
  scope?: string;
}

interface IpJsonRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
  protocol?: string | number;
  type?: string;
  metric?: number;
  table?: string;
  scope?: string;
}

/**
 * The JSON values `ip -j` printed: one array for a table, one after another for several. One, the usual output, is
 * parsed whole without looking for a second first (that scan, a regular expression over each node's ~40 KB table,
 * cost more than the split it avoids).
 */
function jsonArrays(json: string): unknown[] {
  try {
    return [JSON.parse(json)];
  } catch {
    // several arrays one after another, or not JSON at all: each chunk is parsed to say which
  }
  const values: unknown[] = [];
  for (const chunk of json.split(/(?<=\])\s*(?=\[)/)) {
    const text = chunk.trim();
    if (!text) continue;
    try {
      values.push(JSON.parse(text));
    } catch (err) {
      throw new Error(`cannot parse 'ip -j route' output: ${(err as Error).message}: ${text.slice(0, 200)}`);
    }
  }
  return values;
}

/**
 * The main table's routes in one or more JSON arrays as printed by `ip -j [-d] route show [table all]` (several
 * commands' outputs may be concatenated, e.g. IPv4 then IPv6). Without -d, ip omits `type` for unicast and
 * `protocol` for boot: those defaults are filled in. Other tables (local, broadcast, policy tables) are left out
 * before anything is parsed: meshplay reads and changes the main table only, and the local table's IPv6 addresses,
 * different on every node, each cost a slow general parse (~30 µs) only to be dropped.
 */
export function parseRoutes(json: string): Route[] {
  const routes: Route[] = [];
  for (const parsed of jsonArrays(json)) {
    if (!Array.isArray(parsed)) throw new Error(`'ip -j route' output is not a JSON array: ${JSON.stringify(parsed).slice(0, 200)}`);
    for (const r of parsed as IpJsonRoute[]) {
      if (!r || typeof r.dst !== 'string' || (r.table !== undefined && r.table !== 'main')) continue;
      let dst: string;
      try {
        dst = parseCidr(r.dst).text;
      } catch {
        continue; // multicast or other exotic entries we never manage
      }
      const route: Route = { dst, protocol: r.protocol === undefined ? 'boot' : String(r.protocol), type: r.type ?? 'unicast' };
      if (r.gateway) route.gateway = r.gateway;
      if (r.dev) route.dev = r.dev;
      if (typeof r.metric === 'number') route.metric = r.metric;
      if (r.scope) route.scope = r.scope;
      routes.push(route);
    }
  }
  return routes;
}

/** BIRD's protocol number in rt_protos (12); `ip -j` prints `bird` when named, `12` otherwise. */
export const BIRD_PROTOCOL = 12;

export function isProtocol(route: Route, number: number, name?: string): boolean {
  return route.protocol === String(number) || (name !== undefined && route.protocol === name);
}

export interface RouteClasses {
  /** Blocks BIRD announces for this node (blackhole routes, as Calico installs for its own IPAM blocks). */
  ownedBlocks: Route[];
  /** Routes BIRD learned from peers (same cluster). */
  birdLearned: Route[];
  /** Routes meshplay installed (its protocol number or name). */
  managed: Route[];
  /** Everything else: kernel, the operator's own routes, other daemons. */
  other: Route[];
}

export function classify(routes: Route[], managedProto: number, managedName = 'meshplay'): RouteClasses {
  const out: RouteClasses = { ownedBlocks: [], birdLearned: [], managed: [], other: [] };
  for (const r of routes) {
    if (isProtocol(r, managedProto, managedName)) out.managed.push(r);
    else if (isProtocol(r, BIRD_PROTOCOL, 'bird')) (r.type === 'blackhole' ? out.ownedBlocks : out.birdLearned).push(r);
    else out.other.push(r);
  }
  return out;
}
