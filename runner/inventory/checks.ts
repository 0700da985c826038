// Rules an inventory must follow beyond its shape: one control plane, unique names and addresses,
// CIDRs that are networks and do not collide (pods must be routable across clusters).
import ipaddr from 'ipaddr.js';
import type { Problem } from '../errors.js';
import type { PathSegment, SourceFile, SourcePosition } from '../yaml/source.js';
import { remoteComponentVersions, remoteVersionProblem } from '../mesh/remote-versions.js';

/** A cluster mapping as read from one inventory file, with where it is. */
export interface RawCluster {
  value: Record<string, unknown>;
  src: SourceFile;
  /** ['clusters', index] in `src`. */
  path: PathSegment[];
  /**
   * The cluster's nodes once `from_api` items are replaced by the Nodes read from the API (each at the item's
   * path); unset before that, when the nodes are the `nodes` list as written.
   */
  nodes?: NodeEntry[];
}

export interface NodeEntry {
  value: Record<string, unknown>;
  path: PathSegment[];
  /** Read from the cluster's API by a from_api item (at `path`). */
  fromApi?: boolean;
}

/** Names that are groups (or the implicit localhost), so no cluster or node may take them. */
export const RESERVED_NAMES = ['all', 'clusters', 'nodes', 'remotes', 'ungrouped', 'localhost'];

export function at(p: SourcePosition): string {
  return `${p.file}:${p.line}:${p.column}`;
}

export function nodesOf(c: RawCluster): NodeEntry[] {
  if (c.nodes) return c.nodes;
  const nodes = c.value.nodes;
  if (!Array.isArray(nodes)) return [];
  return nodes.flatMap((n, i) => (n && typeof n === 'object' && !Array.isArray(n) ? [{ value: n as Record<string, unknown>, path: [...c.path, 'nodes', i] }] : []));
}

export function checkControlPlane(clusters: RawCluster[], problems: Problem[], fallback: SourcePosition): void {
  if (!clusters.length) return;
  const marked = clusters.filter((c) => c.value.istio_control_plane === true);
  const expected = 'exactly one cluster with istio_control_plane: true (it runs istiod; the others are remotes)';
  if (marked.length === 0) {
    const first = clusters[0];
    const pos = first ? first.src.positionOf(first.path.slice(0, 1), true) : fallback;
    problems.push({ ...pos, message: `no cluster is marked istio_control_plane: true (clusters: ${clusters.map((c) => String(c.value.name)).join(', ')})`, expected });
  } else if (marked.length > 1) {
    const where = marked.map((c) => `'${String(c.value.name)}' at ${at(c.src.positionOf([...c.path, 'istio_control_plane']))}`);
    const pos = marked[1].src.positionOf([...marked[1].path, 'istio_control_plane']);
    problems.push({ ...pos, message: `${marked.length} clusters are marked istio_control_plane: true: ${where.join(', ')}`, expected });
  }
}

/** Cluster names, node names (one namespace: both are hosts) must be unique and not a reserved group name. */
export function checkNames(clusters: RawCluster[], problems: Problem[]): void {
  const seen = new Map<string, { kind: string; pos: SourcePosition; fromApi?: boolean }>();
  const claim = (name: unknown, kind: 'cluster' | 'node', src: SourceFile, path: PathSegment[], fromApi = false) => {
    if (typeof name !== 'string') return;
    const pos = src.positionOf(fromApi ? path : [...path, 'name']);
    if (RESERVED_NAMES.includes(name)) {
      problems.push({ ...pos, message: `${kind} name '${name}' is reserved`, expected: `a name other than ${RESERVED_NAMES.join(', ')} (they are groups or the implicit localhost)` });
      return;
    }
    const prior = seen.get(name);
    if (!prior) {
      seen.set(name, { kind, pos, fromApi });
      return;
    }
    const fromApiNote = (api: boolean | undefined) => (api ? ' (read from the API by from_api)' : '');
    const message = fromApi || prior.fromApi
      ? `${kind} name '${name}'${fromApiNote(fromApi)} clashes with the ${prior.kind} '${name}'${fromApiNote(prior.fromApi)} at ${at(prior.pos)}`
      : prior.kind === kind
        ? `duplicate ${kind} name '${name}' (first defined at ${at(prior.pos)})`
        : `${kind} name '${name}' is already the name of a ${prior.kind} (at ${at(prior.pos)})`;
    problems.push({ ...pos, message, expected: 'cluster and node names unique across the whole inventory' });
  };
  for (const c of clusters) claim(c.value.name, 'cluster', c.src, c.path);
  for (const c of clusters) for (const n of nodesOf(c)) claim(n.value.name, 'node', c.src, n.path, n.fromApi);
}

const HOSTNAME_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/i;

export function isIpAddress(s: string): boolean {
  return s.includes(':') ? ipaddr.IPv6.isValid(s) : ipaddr.IPv4.isValidFourPartDecimal(s);
}

/** An RFC 1123 hostname that cannot be mistaken for a malformed IPv4 address. */
export function isHostname(s: string): boolean {
  if (s.length > 253) return false;
  const labels = s.replace(/\.$/, '').split('.');
  if (!labels.every((l) => l.length <= 63 && HOSTNAME_LABEL.test(l))) return false;
  return !/^\d+$/.test(labels[labels.length - 1]);
}

/** Node addresses: IPs or hostnames, unique across the inventory. Run on rendered values. */
export function checkAddresses(clusters: RawCluster[], problems: Problem[]): void {
  const seen = new Map<string, { node: string; pos: SourcePosition }>();
  for (const c of clusters) {
    for (const n of nodesOf(c)) {
      const address = n.value.address;
      if (typeof address !== 'string' || !address) continue;
      const pos = c.src.positionOf(n.fromApi ? n.path : [...n.path, 'address']);
      const node = String(n.value.name);
      if (!isIpAddress(address) && !isHostname(address)) {
        problems.push({ ...pos, message: `address '${address}' of node '${node}' is neither an IP address nor a hostname`, expected: 'an IPv4 or IPv6 address, or a DNS hostname' });
        continue;
      }
      const key = isIpAddress(address) ? ipaddr.parse(address).toNormalizedString() : address.toLowerCase().replace(/\.$/, '');
      const prior = seen.get(key);
      if (prior) {
        problems.push({ ...pos, message: `duplicate node address '${address}': node '${node}' and node '${prior.node}' (at ${at(prior.pos)})`, expected: 'every node at its own address' });
      } else seen.set(key, { node, pos });
    }
  }
}

interface Network {
  cluster: string;
  field: 'pod_cidr' | 'service_cidr';
  text: string;
  range: [ipaddr.IPv4 | ipaddr.IPv6, number];
  pos: SourcePosition;
}

/** A CIDR's network, or a problem saying why it is not one. */
function parseNetwork(text: string): { range?: [ipaddr.IPv4 | ipaddr.IPv6, number]; error?: string; expected?: string } {
  const v4 = !text.includes(':');
  const valid = v4 ? ipaddr.IPv4.isValidCIDRFourPartDecimal(text) : ipaddr.IPv6.isValidCIDR(text);
  if (!valid) return { error: 'is not a valid CIDR', expected: 'an address/prefix-length such as 10.1.0.0/16' };
  const [addr, bits] = ipaddr.parseCIDR(text);
  const network = v4 ? ipaddr.IPv4.networkAddressFromCIDR(text) : ipaddr.IPv6.networkAddressFromCIDR(text);
  if (network.toString() !== addr.toString()) {
    const net = `${network.toString()}/${bits}`;
    return { range: [network, bits], error: `has host bits set: the network is ${net}`, expected: `the network address with host bits zero (${net})` };
  }
  return { range: [addr, bits] };
}

function overlaps(a: Network, b: Network): boolean {
  if (a.range[0].kind() !== b.range[0].kind()) return false;
  return a.range[0].match(b.range) || b.range[0].match(a.range);
}

/** Valid networks; pod CIDRs disjoint across clusters and from every service CIDR. Run on rendered values. */
export function checkCidrs(clusters: RawCluster[], problems: Problem[]): void {
  const nets: Network[] = [];
  for (const c of clusters) {
    for (const field of ['pod_cidr', 'service_cidr'] as const) {
      const text = c.value[field];
      if (typeof text !== 'string') continue;
      const pos = c.src.positionOf([...c.path, field]);
      const parsed = parseNetwork(text);
      if (parsed.error) problems.push({ ...pos, message: `${field} '${text}' of cluster '${String(c.value.name)}' ${parsed.error}`, expected: parsed.expected });
      // A network with host bits set still says which addresses it covers, so overlaps are reported too.
      if (parsed.range) nets.push({ cluster: String(c.value.name), field, text, range: parsed.range, pos });
    }
  }
  const pods = nets.filter((n) => n.field === 'pod_cidr');
  const services = nets.filter((n) => n.field === 'service_cidr');
  pods.forEach((a, i) => {
    for (const b of pods.slice(0, i)) {
      if (!overlaps(a, b)) continue;
      problems.push({
        ...a.pos,
        message: `pod_cidr ${a.text} of cluster '${a.cluster}' overlaps pod_cidr ${b.text} of cluster '${b.cluster}' (at ${at(b.pos)})`,
        expected: 'a pod CIDR per cluster disjoint from all others, so pod IPs route across clusters',
      });
    }
  });
  for (const p of pods) {
    for (const s of services) {
      if (!overlaps(p, s)) continue;
      problems.push({
        ...p.pos,
        message: `pod_cidr ${p.text} of cluster '${p.cluster}' overlaps service_cidr ${s.text} of cluster '${s.cluster}' (at ${at(s.pos)})`,
        expected: 'pod CIDRs disjoint from every service CIDR',
      });
    }
  }
}

/**
 * Single control plane: every remote gets Istio's remote components rendered for `istio_version`, so a version
 * meshplay has no templates for is refused here, before anything runs (inventory vars and cluster vars).
 */
export function checkIstioVersion(docs: { src: SourceFile; value: Record<string, unknown> }[], clusters: RawCluster[], topology: string, problems: Problem[]): void {
  if (topology !== 'single-control-plane') return;
  const expected = `istio_version ${remoteComponentVersions.map((v) => `${v}.x`).join(' or ')} (the versions whose remote components meshplay knows)`;
  const check = (vars: unknown, src: SourceFile, path: PathSegment[]) => {
    if (!vars || typeof vars !== 'object' || Array.isArray(vars) || !('istio_version' in vars)) return;
    const version = (vars as Record<string, unknown>).istio_version;
    // A template (e.g. a lookup) is rendered later; the role checks the rendered value again.
    if (typeof version === 'string' && version.includes('{{')) return;
    const problem = remoteVersionProblem(version);
    if (problem) problems.push({ ...src.positionOf([...path, 'istio_version']), message: problem, expected });
  };
  for (const d of docs) check(d.value.vars, d.src, ['vars']);
  for (const c of clusters) check(c.value.vars, c.src, [...c.path, 'vars']);
}
