// Virtual addresses for `<service>.<namespace>.global` hosts. The address only has to be unique within a
// calling cluster (the sidecar captures it; nothing routes it), and stable: an application that resolved it
// must keep reaching the same service across runs, and adding or removing another export must not move it.
//
// Allocation: every host keeps the address it already has (read back from the live ServiceEntries); a new
// host starts at a hash of its name within the range and probes forward to the first free address.
// - Unique by construction: an address is handed out only when it is not in the used set.
// - Stable under removal: no surviving host is ever re-placed (a pure hash-and-probe over the sorted host
//   list would move a host that had probed past a removed one back onto the freed slot).
// - Stable under addition: existing hosts are pinned; the new one probes around them.
// - Deterministic across machines: the same exports and the same live state give the same addresses;
//   with no live state, the same exports give the same addresses in every cluster.
import { createHash } from 'node:crypto';
import ipaddr from 'ipaddr.js';

export const defaultVipRange = '240.0.0.0/4';

export interface Range {
  cidr: string;
  /** First and last allocatable addresses as integers (network and broadcast addresses excluded). */
  first: number;
  last: number;
}

export function parseRange(cidr: string): Range {
  let parsed: [ipaddr.IPv4 | ipaddr.IPv6, number];
  try {
    parsed = ipaddr.parseCIDR(cidr);
  } catch {
    throw new Error(`VIP range '${cidr}' is not a CIDR (e.g. ${defaultVipRange})`);
  }
  const [addr, bits] = parsed;
  if (addr.kind() !== 'ipv4') throw new Error(`VIP range '${cidr}': only IPv4 ranges are supported`);
  if (bits > 30) throw new Error(`VIP range '${cidr}' is too small (at most /30)`);
  const size = 2 ** (32 - bits);
  const n = toInt((addr as ipaddr.IPv4).toString());
  const base = n - (n % size);
  const range = { cidr, first: base + 1, last: base + size - 2 };
  if (addr.range() === 'loopback') {
    // The Istio 1.1 docs used 127.255.0.0/16; later releases withdrew it because sidecars may capture loopback.
    return { ...range, cidr: `${cidr} (loopback: not recommended)` };
  }
  return range;
}

export function toInt(ip: string): number {
  return ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
}

export function toIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

export function inRange(range: Range, ip: string): boolean {
  if (!ipaddr.IPv4.isValid(ip) || !/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return false;
  const n = toInt(ip);
  return n >= range.first && n <= range.last;
}

function startSlot(host: string, range: Range): number {
  const size = range.last - range.first + 1;
  const h = createHash('sha256').update(host).digest();
  // 48 bits of the hash: uniform enough for any range up to /4, no float precision issues.
  const v = h.readUIntBE(0, 6);
  return range.first + (v % size);
}

export interface Allocation {
  addresses: Record<string, string>;
  /** Hosts whose existing address was dropped (outside the range, or shared with another host). */
  moved: { host: string; from: string; reason: string }[];
}

/**
 * Addresses for `hosts`. `existing` maps hosts to the address they have now; `reserved` are addresses in use
 * by something else in the cluster (ServiceEntries meshplay did not create) and are never handed out.
 */
export function allocateVips(hosts: string[], existing: Record<string, string> = {}, cidr = defaultVipRange, reserved: string[] = []): Allocation {
  const range = parseRange(cidr);
  const size = range.last - range.first + 1;
  const wanted = [...new Set(hosts)].sort();
  if (wanted.length + reserved.length > size) throw new Error(`VIP range ${cidr} has ${size} addresses; ${wanted.length} hosts + ${reserved.length} reserved do not fit`);
  const used = new Set<number>(reserved.filter((r) => inRange(range, r)).map(toInt));
  const addresses: Record<string, string> = {};
  const moved: Allocation['moved'] = [];
  // Pinned first, in sorted order, so when two hosts claim one address the same host wins on every machine.
  for (const host of wanted) {
    const ip = existing[host];
    if (ip === undefined) continue;
    if (!inRange(range, ip)) {
      moved.push({ host, from: ip, reason: `outside ${cidr}` });
      continue;
    }
    if (used.has(toInt(ip))) {
      moved.push({ host, from: ip, reason: 'shared with another host' });
      continue;
    }
    used.add(toInt(ip));
    addresses[host] = ip;
  }
  for (const host of wanted) {
    if (addresses[host]) continue;
    let slot = startSlot(host, range);
    while (used.has(slot)) slot = slot === range.last ? range.first : slot + 1;
    used.add(slot);
    addresses[host] = toIp(slot);
  }
  return { addresses, moved };
}
