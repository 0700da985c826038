// Pod CIDR routing between clusters: each node routes every other cluster's pod blocks via the node
// that owns the block (inside a cluster BIRD already does that). Overlaps make this ambiguous and are
// refused before anything changes.
import { contains, firstAddress, overlaps, parseCidr, type Cidr } from './cidr.js';
import type { DesiredRoute } from './plan.js';

/** What ip_route_facts publishes about a node (hostvars[node].routes). */
export interface PeerFacts {
  node: string;
  cluster: string;
  /** Address other clusters' nodes route this node's blocks via. */
  via: string;
  owned_blocks: string[];
  /** The node's cluster pod CIDR, when the inventory sets one. */
  pod_cidr?: string;
  /** Routes the node's BIRD learned from its cluster peers (dest via the owning node). */
  bird_learned?: Array<{ dest: string; via?: string }>;
}

/** A node whose facts could not be read (unreachable), as the inventory knows it. */
export interface MissingNode {
  node: string;
  cluster: string;
  address: string;
}

/**
 * Stand-in facts for nodes that could not be read: the blocks their cluster peers' BIRD routes via
 * their address. Lets the other clusters keep (or get) routes to pods of a node whose sshd is down.
 * A node no reachable peer routes to gets no stand-in.
 */
export function inferMissingPeers(peers: PeerFacts[], missing: MissingNode[]): PeerFacts[] {
  const out: PeerFacts[] = [];
  for (const m of missing) {
    const blocks = new Set<string>();
    for (const p of peers) {
      if (!p || p.cluster !== m.cluster || p.node === m.node) continue;
      for (const r of p.bird_learned ?? []) if (r.via === m.address) {
        const c = tryCidr(r.dest);
        if (c) blocks.add(c.text);
      }
    }
    if (blocks.size) out.push({ node: m.node, cluster: m.cluster, via: m.address, owned_blocks: [...blocks] });
  }
  return out;
}

function tryCidr(s: string | undefined): Cidr | undefined {
  if (!s) return undefined;
  try {
    return parseCidr(s);
  } catch {
    return undefined;
  }
}

/** Routes `self` needs: every block owned by a node of another cluster, via that node (without `node`: any node of the cluster). */
export function desiredRoutesFor(self: { node?: string; cluster: string }, peers: PeerFacts[]): DesiredRoute[] {
  const out: DesiredRoute[] = [];
  for (const p of peers) {
    if (!p || p.cluster === self.cluster || (self.node !== undefined && p.node === self.node)) continue;
    for (const block of p.owned_blocks ?? []) out.push({ dest: block, via: p.via });
  }
  return out;
}

/** Blocks or pod CIDRs of different clusters that overlap: each message names both owners. */
export function overlapProblems(peers: PeerFacts[]): string[] {
  const problems = new Set<string>();
  const blocks: Array<{ owner: string; cluster: string; cidr: Cidr; text: string }> = [];
  const podCidrs = new Map<string, { cidr: Cidr; text: string }>();
  for (const p of peers) {
    if (!p) continue;
    for (const b of p.owned_blocks ?? []) {
      const c = tryCidr(b);
      if (c) blocks.push({ owner: `node ${p.node} (cluster ${p.cluster})`, cluster: p.cluster, cidr: c, text: c.text });
    }
    const pc = tryCidr(p.pod_cidr);
    if (pc && !podCidrs.has(p.cluster)) podCidrs.set(p.cluster, { cidr: pc, text: pc.text });
  }
  for (let i = 0; i < blocks.length; i++)
    for (let j = i + 1; j < blocks.length; j++) {
      const a = blocks[i];
      const b = blocks[j];
      if (a.cluster !== b.cluster && overlaps(a.cidr, b.cidr))
        problems.add(`pod block ${a.text} of ${a.owner} overlaps pod block ${b.text} of ${b.owner}`);
    }
  for (const a of blocks)
    for (const [cluster, pc] of podCidrs)
      if (cluster !== a.cluster && overlaps(a.cidr, pc.cidr))
        problems.add(`pod block ${a.text} of ${a.owner} overlaps pod_cidr ${pc.text} of cluster ${cluster}`);
  const clusters = [...podCidrs];
  for (let i = 0; i < clusters.length; i++)
    for (let j = i + 1; j < clusters.length; j++)
      if (overlaps(clusters[i][1].cidr, clusters[j][1].cidr))
        problems.add(
          `pod_cidr ${clusters[i][1].text} of cluster ${clusters[i][0]} overlaps pod_cidr ${clusters[j][1].text} of cluster ${clusters[j][0]}`,
        );
  return [...problems];
}

/** Blocks a node owns outside its cluster's pod_cidr (routable, but the inventory is probably stale). */
export function outsideCidrWarnings(peers: PeerFacts[]): string[] {
  const out: string[] = [];
  for (const p of peers) {
    const pc = tryCidr(p?.pod_cidr);
    if (!pc) continue;
    for (const b of p.owned_blocks ?? []) {
      const c = tryCidr(b);
      if (c && !contains(pc, c)) out.push(`node ${p.node} (cluster ${p.cluster}) owns block ${c.text}, outside its cluster's pod_cidr ${pc.text}`);
    }
  }
  return out;
}

/** One address to ping per other cluster (first host address of its first block), for verification. */
export function probeTargets(self: { cluster: string }, peers: PeerFacts[]): Array<{ cluster: string; node: string; block: string; address: string }> {
  // One address in every block of every other cluster: a block routed wrongly shows up on its own.
  const out = [];
  for (const p of peers) {
    if (!p || p.cluster === self.cluster) continue;
    for (const block of p.owned_blocks ?? []) {
      const c = parseCidr(block);
      out.push({ cluster: p.cluster, node: p.node, block: c.text, address: firstAddress(c) });
    }
  }
  return out;
}
