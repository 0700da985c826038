// The lab's shape as plain data. Pure functions only: everything here is unit-testable
// without touching the machine. lab/kube/ imports LabSpec from here.

export interface LabNode {
  name: string;
  /** The node's address on the lab network (what meshplay SSHes to). */
  address: string;
  /** The /26 Calico-style block this node owns inside its cluster's pod CIDR. */
  podBlock: string;
  /** Address of the node's one pod (first host address of podBlock). */
  podAddress?: string;
}

export interface LabCluster {
  name: string;
  podCidr: string;
  serviceCidr: string;
  controlPlane: boolean;
  nodes: LabNode[];
}

export interface LabSpec {
  clusters: LabCluster[];
}

export interface LabShape {
  clusters: number;
  nodes: number;
  /** All clusters share one pod CIDR (and therefore the same blocks). */
  overlap: boolean;
}

export const DEFAULT_SHAPE: LabShape = { clusters: 2, nodes: 3, overlap: false };
export const MAX_CLUSTERS = 50;
export const MAX_NODES = 250; // node j of cluster i is x.y.i.j

/**
 * Every name the lab creates on the machine starts with this, so it can find (and only touch) its own.
 * MESHPLAY_LAB_PREFIX gives a second lab on the same machine its own names (2-4 characters ending in `-`,
 * so node interface names stay within Linux's 15 characters); each lab then clears only its own.
 */
export const PREFIX = labPrefix(process.env.MESHPLAY_LAB_PREFIX);

function labPrefix(value: string | undefined): string {
  if (value === undefined || value === '') return 'mpl-';
  if (!/^[a-z][a-z0-9]{0,2}-$/.test(value)) throw new Error(`MESHPLAY_LAB_PREFIX=${value}: expected 1-3 lowercase letters or digits followed by '-', e.g. mpb-`);
  return value;
}
export const BGP_AS = 64512;

/** Candidate lab networks, tried in order; the first not used on the machine wins. */
export const SUBNET_CANDIDATES = [
  '10.213.0.0/16', '10.214.0.0/16', '10.215.0.0/16', '10.216.0.0/16', '10.217.0.0/16',
  '10.223.0.0/16', '10.233.0.0/16', '172.29.0.0/16', '172.30.0.0/16',
];

export function parseIpv4(addr: string): number {
  const parts = addr.split('.');
  if (parts.length !== 4) throw new Error(`not an IPv4 address: ${addr}`);
  let n = 0;
  for (const p of parts) {
    const v = Number(p);
    if (!/^\d{1,3}$/.test(p) || v > 255) throw new Error(`not an IPv4 address: ${addr}`);
    n = n * 256 + v;
  }
  return n;
}

export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function parseCidr(cidr: string): { base: number; bits: number } {
  const [addr, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  if (!addr || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`not an IPv4 CIDR: ${cidr}`);
  const size = 2 ** (32 - bits);
  const base = Math.floor(parseIpv4(addr) / size) * size;
  return { base, bits };
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = parseCidr(a);
  const y = parseCidr(b);
  const xEnd = x.base + 2 ** (32 - x.bits);
  const yEnd = y.base + 2 ** (32 - y.bits);
  return x.base < yEnd && y.base < xEnd;
}

/** Address `offset` within the network `cidr` (offset 0 is the network address). */
export function addressIn(cidr: string, offset: number): string {
  const { base, bits } = parseCidr(cidr);
  if (offset < 0 || offset >= 2 ** (32 - bits)) throw new Error(`offset ${offset} outside ${cidr}`);
  return formatIpv4(base + offset);
}

/** Block `index` (0-based) of size /26 in `podCidr`. */
export function podBlockOf(podCidr: string, index: number): string {
  return `${addressIn(podCidr, index * 64)}/26`;
}

export function podCidrOf(clusterIndex: number, overlap: boolean): string {
  return overlap ? '10.101.0.0/16' : `10.${100 + clusterIndex}.0.0/16`;
}

export function serviceCidrOf(clusterIndex: number): string {
  return `10.${200 + clusterIndex}.0.0/16`;
}

/** Lab-network addresses: x.y.0.1 is the root namespace end, x.y.0.254 the lab gateway, x.y.i.j node j of cluster i. */
export function rootAddress(subnet: string): string {
  return addressIn(subnet, 1);
}

export function gatewayAddress(subnet: string): string {
  return addressIn(subnet, 254);
}

export function nodeAddress(subnet: string, clusterIndex: number, nodeIndex: number): string {
  return addressIn(subnet, clusterIndex * 256 + nodeIndex);
}

export function validateShape(shape: LabShape): void {
  if (!Number.isInteger(shape.clusters) || shape.clusters < 1 || shape.clusters > MAX_CLUSTERS) {
    throw new Error(`--clusters must be an integer between 1 and ${MAX_CLUSTERS} (got ${shape.clusters})`);
  }
  if (!Number.isInteger(shape.nodes) || shape.nodes < 1 || shape.nodes > MAX_NODES) {
    throw new Error(`--nodes must be an integer between 1 and ${MAX_NODES} (got ${shape.nodes})`);
  }
}

export function buildSpec(shape: LabShape, subnet: string): LabSpec {
  validateShape(shape);
  const clusters: LabCluster[] = [];
  for (let i = 1; i <= shape.clusters; i++) {
    const name = `lab${i}`;
    const podCidr = podCidrOf(i, shape.overlap);
    const nodes: LabNode[] = [];
    for (let j = 1; j <= shape.nodes; j++) {
      const podBlock = podBlockOf(podCidr, j - 1);
      nodes.push({ name: `${name}-n${j}`, address: nodeAddress(subnet, i, j), podBlock, podAddress: addressIn(podBlock, 1) });
    }
    clusters.push({ name, podCidr, serviceCidr: serviceCidrOf(i), controlPlane: i === 1, nodes });
  }
  return { clusters };
}

/** Every CIDR the spec routes, so the lab network can be chosen clear of them. */
export function specCidrs(shape: LabShape): string[] {
  const out: string[] = [];
  for (let i = 1; i <= shape.clusters; i++) out.push(podCidrOf(i, shape.overlap), serviceCidrOf(i));
  return out;
}

/**
 * First candidate /16 that overlaps none of the networks in use (addresses and routes of the root
 * namespace, given as CIDRs) nor the lab's own pod/service CIDRs.
 */
export function chooseSubnet(inUse: string[], shape: LabShape, candidates = SUBNET_CANDIDATES): string {
  const avoid = [...inUse, ...specCidrs(shape)];
  for (const c of candidates) {
    if (!avoid.some((u) => cidrsOverlap(c, u))) return c;
  }
  throw new Error(`no free lab network: every candidate (${candidates.join(', ')}) overlaps a network in use on this machine`);
}

// Names of things on the machine. Interface names are limited to 15 characters.
export const LAB_NS = `${PREFIX}lab`;
export const ROOT_LINK = `${PREFIX}root`;
export const LAB_UPLINK = `${PREFIX}up`;
export const BRIDGE = `${PREFIX}br0`;

export function nodeNamespace(node: string): string {
  return `${PREFIX}${node}`;
}

export function podNamespace(node: string): string {
  return `${PREFIX}${node}-pod`;
}

/** Bridge-side end of a node's uplink veth, e.g. mpl-n1-12. */
export function bridgePortName(clusterIndex: number, nodeIndex: number): string {
  return `${PREFIX}n${clusterIndex}-${nodeIndex}`;
}

/** Calico names the host end of a pod's veth `cali` + 11 hex characters of a hash. */
export function caliName(node: string, hash: (s: string) => string): string {
  return `cali${hash(node).slice(0, 11)}`;
}

export function shapeOf(spec: LabSpec): LabShape {
  const overlap = spec.clusters.length > 1 && spec.clusters.every((c) => c.podCidr === spec.clusters[0]!.podCidr);
  return { clusters: spec.clusters.length, nodes: spec.clusters[0]?.nodes.length ?? 0, overlap };
}

export function sameShape(a: LabShape, b: LabShape): boolean {
  return a.clusters === b.clusters && a.nodes === b.nodes && a.overlap === b.overlap;
}
