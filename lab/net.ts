// Network namespaces, veths and the bridge. Everything created carries the `mpl-` prefix; the
// clean-up functions only ever select names with that prefix.
import { run } from './proc.js';
import { BRIDGE, LAB_NS, LAB_UPLINK, PREFIX, ROOT_LINK, parseCidr, formatIpv4 } from './spec.js';
import type { LabState, NodeState } from './state.js';

interface IpAddrInfo {
  ifname: string;
  addr_info?: { family: string; local: string; prefixlen: number }[];
}
interface IpRoute {
  dst: string;
}

/** Networks in use in the root namespace (addresses and routes), ignoring the lab's own link. */
export async function networksInUse(): Promise<string[]> {
  const out: string[] = [];
  const addrs = JSON.parse((await run('ip', ['-j', '-4', 'addr'])).stdout || '[]') as IpAddrInfo[];
  for (const link of addrs) {
    if (link.ifname.startsWith(PREFIX)) continue;
    for (const a of link.addr_info ?? []) {
      if (a.family !== 'inet') continue;
      const { base } = parseCidr(`${a.local}/${a.prefixlen}`);
      out.push(`${formatIpv4(base)}/${a.prefixlen}`);
    }
  }
  const routes = JSON.parse((await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all'])).stdout || '[]') as (IpRoute & { dev?: string })[];
  for (const r of routes) {
    if (!r.dst || r.dst === 'default' || r.dev?.startsWith(PREFIX)) continue;
    // Host routes come without a prefix length; broadcast/local entries are covered by the addresses.
    out.push(r.dst.includes('/') ? r.dst : `${r.dst}/32`);
  }
  return out.filter((c) => !c.startsWith('127.') && !c.startsWith('0.'));
}

export async function labNamespaces(): Promise<string[]> {
  const r = await run('ip', ['-j', 'netns', 'list'], { check: false });
  const list = JSON.parse(r.stdout.trim() || '[]') as { name: string }[];
  return list.map((n) => n.name).filter((n) => n.startsWith(PREFIX));
}

export async function rootLabLinks(): Promise<string[]> {
  const links = JSON.parse((await run('ip', ['-j', 'link'])).stdout || '[]') as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n.startsWith(PREFIX));
}

/** Delete every `mpl-` namespace and root link. Processes must have been stopped first. */
export async function removeLabNetwork(): Promise<void> {
  const namespaces = await labNamespaces();
  const links = await rootLabLinks();
  const lines = [...links.map((l) => `link del ${l}`), ...namespaces.map((n) => `netns del ${n}`)];
  if (lines.length) await run('ip', ['-force', '-batch', '-'], { input: lines.join('\n') + '\n', check: false });
  const left = [...(await labNamespaces()), ...(await rootLabLinks())];
  if (left.length) throw new Error(`could not remove lab network objects: ${left.join(', ')}`);
}

/** One `ip -batch` in the root namespace: namespaces, and veths created directly in their namespaces. */
export function rootBatch(state: LabState): string {
  const prefixLen = parseCidr(state.subnet).bits;
  const lines = [`netns add ${LAB_NS}`];
  for (const n of state.nodes) lines.push(`netns add ${n.namespace}`, `netns add ${n.podNamespace}`);
  lines.push(
    `link add ${ROOT_LINK} type veth peer name ${LAB_UPLINK} netns ${LAB_NS}`,
    `addr add ${state.rootAddress}/${prefixLen} dev ${ROOT_LINK}`,
    `link set ${ROOT_LINK} up`,
  );
  for (const n of state.nodes) {
    lines.push(
      `link add ${n.bridgePort} netns ${LAB_NS} type veth peer name eth0 netns ${n.namespace}`,
      `link add ${n.caliLink} netns ${n.namespace} type veth peer name eth0 netns ${n.podNamespace}`,
    );
  }
  return lines.join('\n') + '\n';
}

/** Script run inside the lab namespace: the bridge every node hangs off. It does not forward IP. */
export function labScript(state: LabState): string {
  const prefixLen = parseCidr(state.subnet).bits;
  const batch = [
    'link set lo up',
    `link add ${BRIDGE} type bridge stp_state 0 forward_delay 0`,
    `addr add ${state.gatewayAddress}/${prefixLen} dev ${BRIDGE}`,
    `link set ${BRIDGE} up`,
    `link set ${LAB_UPLINK} master ${BRIDGE} up`,
    ...state.nodes.map((n) => `link set ${n.bridgePort} master ${BRIDGE} up`),
  ];
  return [
    'set -e',
    // The gateway answers so nodes have a default route (proxy ARP needs one), but drops what it gets.
    'echo 0 > /proc/sys/net/ipv4/ip_forward',
    `ip -batch - <<'EOF'`,
    ...batch,
    'EOF',
    '',
  ].join('\n');
}

/** Script run inside a node namespace: its address, Calico-style pod wiring, then sshd and BIRD. */
export function nodeScript(state: LabState, node: NodeState, daemons: string[]): string {
  const prefixLen = parseCidr(state.subnet).bits;
  const cali = node.caliLink;
  const sysctl = (key: string, value: string | number) => `echo ${value} > /proc/sys/${key}`;
  return [
    'set -e',
    sysctl('net/ipv4/ip_forward', 1),
    sysctl('net/ipv4/conf/all/rp_filter', 0),
    sysctl('net/ipv4/conf/default/rp_filter', 0),
    `ip -batch - <<'EOF'`,
    'link set lo up',
    `addr add ${node.address}/${prefixLen} dev eth0`,
    'link set eth0 up',
    `route add default via ${state.gatewayAddress} dev eth0`,
    `link set ${cali} up`,
    `route add ${node.podAddress}/32 dev ${cali} scope link`,
    'EOF',
    sysctl('net/ipv4/conf/eth0/rp_filter', 0),
    sysctl(`net/ipv4/conf/${cali}/rp_filter`, 0),
    // Calico answers every ARP request from the pod (for 169.254.1.1) with the host end's MAC.
    sysctl(`net/ipv4/conf/${cali}/proxy_arp`, 1),
    sysctl(`net/ipv4/neigh/${cali}/proxy_delay`, 0),
    `ip -n ${node.podNamespace} -batch - <<'EOF'`,
    'link set lo up',
    `addr add ${node.podAddress}/32 dev eth0`,
    'link set eth0 up',
    'route add 169.254.1.1 dev eth0 scope link',
    'route add default via 169.254.1.1 dev eth0',
    'EOF',
    ...daemons,
    '',
  ].join('\n');
}

/** Re-point a node's pod at a new address (used when its block moves). */
export function movePodScript(node: NodeState, oldAddress: string): string {
  return [
    'set -e',
    `ip route del ${oldAddress}/32 dev ${node.caliLink} 2>/dev/null || true`,
    `ip route replace ${node.podAddress}/32 dev ${node.caliLink} scope link`,
    `ip -n ${node.podNamespace} -batch - <<'EOF'`,
    'addr flush dev eth0',
    `addr add ${node.podAddress}/32 dev eth0`,
    'route replace 169.254.1.1 dev eth0 scope link',
    'route replace default via 169.254.1.1 dev eth0',
    'EOF',
    '',
  ].join('\n');
}

const NEIGH_LIMITS = { gc_thresh1: 1024, gc_thresh2: 4096, gc_thresh3: 8192 };
const neighPath = (key: string) => `/proc/sys/net/ipv4/neigh/default/${key}`;

/**
 * Raise the root namespace's neighbour table limits when the lab is big (the knobs exist only
 * there). Never lowers them; the values found are kept in `savedFile` so `down` can put them back.
 */
export async function raiseNeighbourLimits(nodeCount: number, savedFile: string): Promise<void> {
  // Every node may hold a neighbour entry for every other node (and its pod and the gateway), and the
  // kernel's limits count them together: at 4x12 a full ping matrix needs ~2,400 entries, well over
  // the default gc_thresh3 of 1024, and the overflow drops packets.
  if (nodeCount * (nodeCount + 2) < 512) return;
  const { readFile, writeFile } = await import('node:fs/promises');
  const { existsSync } = await import('node:fs');
  const original: Record<string, number> = {};
  for (const key of Object.keys(NEIGH_LIMITS)) original[key] = Number((await readFile(neighPath(key), 'utf8')).trim());
  if (Object.entries(NEIGH_LIMITS).every(([k, v]) => original[k]! >= v)) return;
  if (!existsSync(savedFile)) await writeFile(savedFile, JSON.stringify(original) + '\n');
  // Raise thresh3 first: the kernel wants thresh1 <= thresh2 <= thresh3 to stay sensible.
  for (const key of ['gc_thresh3', 'gc_thresh2', 'gc_thresh1'] as const) {
    if (original[key]! < NEIGH_LIMITS[key]) await writeFile(neighPath(key), `${NEIGH_LIMITS[key]}\n`);
  }
}

/** Put back limits saved by raiseNeighbourLimits, unless someone changed them since. */
export async function restoreNeighbourLimits(savedFile: string): Promise<void> {
  const { readFile, writeFile, rm } = await import('node:fs/promises');
  let saved: Record<string, number>;
  try {
    saved = JSON.parse(await readFile(savedFile, 'utf8')) as Record<string, number>;
  } catch {
    return;
  }
  for (const key of ['gc_thresh1', 'gc_thresh2', 'gc_thresh3'] as const) {
    const current = Number((await readFile(neighPath(key), 'utf8')).trim());
    if (saved[key] !== undefined && current === NEIGH_LIMITS[key]) await writeFile(neighPath(key), `${saved[key]}\n`);
  }
  await rm(savedFile, { force: true });
}
