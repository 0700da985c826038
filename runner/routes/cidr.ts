// CIDR helpers over ipaddr.js: normalising destinations and testing overlap.
import ipaddr from 'ipaddr.js';

export interface Cidr {
  /** Canonical text, network address / prefix length. */
  text: string;
  addr: ipaddr.IPv4 | ipaddr.IPv6;
  bits: number;
  /** The input had host bits set (10.1.0.5/26). */
  hadHostBits: boolean;
  /** IPv4 only: the network address as an unsigned 32-bit number, for comparisons without ipaddr.js objects. */
  v4?: number;
}

const parsed = new Map<string, Cidr>();

/**
 * Parses `a.b.c.d/n`, a bare address (a host route) or `default`; throws on anything else.
 * Results are cached: planning for every node of a large lab parses the same few hundred blocks many times. The
 * cache is process-wide on purpose: a pure function of the text (the same answer in any run), bounded in size.
 */
export function parseCidr(input: string): Cidr {
  let c = parsed.get(input);
  if (!c) {
    c = parseCidrUncached(input);
    if (parsed.size < 100_000) parsed.set(input, c);
  }
  return c;
}

// Dotted-quad IPv4 without leading zeros (which ipaddr.js would read as octal): the common case, parsed
// without ipaddr.js's general parser, which cost ~0.1 ms a call when a large lab's route tables are read.
const PLAIN_IPV4 = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})(?:\/(0|[1-9]\d?))?$/;

function parsePlainIpv4(s: string): Cidr | undefined {
  const m = PLAIN_IPV4.exec(s);
  if (!m) return undefined;
  const octets = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  const bits = m[5] === undefined ? 32 : Number(m[5]);
  if (bits > 32 || octets.some((o) => o > 255)) return undefined; // the general path words the error
  const value = ((octets[0]! << 24) | (octets[1]! << 16) | (octets[2]! << 8) | octets[3]!) >>> 0;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  const net = (value & mask) >>> 0;
  const netOctets = [net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255];
  return { text: `${netOctets.join('.')}/${bits}`, addr: new ipaddr.IPv4(netOctets), bits, hadHostBits: net !== value, v4: net };
}

function parseCidrUncached(input: string): Cidr {
  const s = input.trim();
  if (s === 'default') return parseCidrUncached('0.0.0.0/0');
  const fast = parsePlainIpv4(s);
  if (fast) return fast;
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  let bits: number;
  if (s.includes('/')) {
    if (!ipaddr.isValidCIDR(s)) throw new Error(`'${input}' is not a valid CIDR`);
    [addr, bits] = ipaddr.parseCIDR(s);
  } else {
    if (!ipaddr.isValid(s)) throw new Error(`'${input}' is not a valid address or CIDR`);
    addr = ipaddr.parse(s);
    bits = addr.kind() === 'ipv4' ? 32 : 128;
  }
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) {
    addr = (addr as ipaddr.IPv6).toIPv4Address();
    bits -= 96;
  }
  const network =
    addr.kind() === 'ipv4'
      ? ipaddr.IPv4.networkAddressFromCIDR(`${addr.toString()}/${bits}`)
      : ipaddr.IPv6.networkAddressFromCIDR(`${addr.toString()}/${bits}`);
  const bytes = network.toByteArray();
  return {
    text: `${network.toString()}/${bits}`,
    addr: network,
    bits,
    hadHostBits: network.toString() !== addr.toString(),
    ...(network.kind() === 'ipv4' ? { v4: ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0 } : {}),
  };
}

/** Whether the first `bits` bits of two IPv4 network numbers are equal. */
function samePrefix(a: number, b: number, bits: number): boolean {
  // A shift by 32 is a shift by 0 in JavaScript: a /0 prefix matches everything.
  return bits === 0 || a >>> (32 - bits) === b >>> (32 - bits);
}

// Planning at 256 nodes compares every pair of blocks: IPv4 pairs compare numbers instead of ipaddr.js objects.
export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.v4 !== undefined && b.v4 !== undefined) return samePrefix(a.v4, b.v4, Math.min(a.bits, b.bits));
  if (a.addr.kind() !== b.addr.kind()) return false;
  return (a.addr as ipaddr.IPv4).match([b.addr as ipaddr.IPv4, b.bits]) || (b.addr as ipaddr.IPv4).match([a.addr as ipaddr.IPv4, a.bits]);
}

/** Whether `inner` lies entirely inside `outer`. */
export function contains(outer: Cidr, inner: Cidr): boolean {
  if (outer.v4 !== undefined && inner.v4 !== undefined) return inner.bits >= outer.bits && samePrefix(outer.v4, inner.v4, outer.bits);
  return outer.addr.kind() === inner.addr.kind() && inner.bits >= outer.bits && (inner.addr as ipaddr.IPv4).match([outer.addr as ipaddr.IPv4, outer.bits]);
}

/** First host address of a block (network + 1), e.g. the lab's pod address; the network itself for /32. */
export function firstAddress(c: Cidr): string {
  if (c.v4 !== undefined) {
    // IPv4 without ipaddr.js objects: probes ask this of every block of every other cluster, on every node.
    const n = c.bits >= 31 ? c.v4 : c.v4 + 1;
    return `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
  }
  const max = c.addr.kind() === 'ipv4' ? 32 : 128;
  if (c.bits >= max - 1) return c.addr.toString();
  const bytes = c.addr.toByteArray();
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i] < 255) {
      bytes[i]++;
      break;
    }
    bytes[i] = 0;
  }
  return ipaddr.fromByteArray(bytes).toString();
}

// Every node checks every peer's gateway: answers are kept per text (a pure function of it; bounded).
const addressAnswers = new Map<string, boolean>();

export function isAddress(s: string): boolean {
  let answer = addressAnswers.get(s);
  if (answer === undefined) {
    // Plain dotted quads without ipaddr.js's general parser; other forms (IPv6, octal or hex octets) keep its answer.
    answer = !s.includes('/') && (parsePlainIpv4(s) !== undefined || ipaddr.isValid(s));
    if (addressAnswers.size < 100_000) addressAnswers.set(s, answer);
  }
  return answer;
}

// The order of route destinations in plans and diffs: numeric collation ("10.1.0.64/26" before "10.1.0.128/26").
// Two canonical IPv4 CIDRs compare as (address, prefix) numbers, which is the same order without a collator call
// per comparison; anything else goes to the collator.
let numeric: Intl.Collator | undefined;

interface DestinationKey {
  text: string;
  /** The parse of a canonical IPv4 CIDR (its text is the input), else undefined. */
  ipv4?: Cidr;
}

function destinationKey(text: string): DestinationKey {
  const c = parsed.get(text) ?? parsePlainIpv4(text);
  return { text, ipv4: c?.v4 !== undefined && c.text === text ? c : undefined };
}

function compareKeys(a: DestinationKey, b: DestinationKey): number {
  if (a.ipv4 && b.ipv4) return a.ipv4.v4! - b.ipv4.v4! || a.ipv4.bits - b.ipv4.bits;
  numeric ??= new Intl.Collator('en', { numeric: true });
  return numeric.compare(a.text, b.text);
}

export function compareDestinations(a: string, b: string): number {
  return compareKeys(destinationKey(a), destinationKey(b));
}

/**
 * `items` sorted by destination (compareDestinations' order), then by `tie`: each destination is classified once,
 * not once per comparison.
 */
export function sortByDestination<T>(items: T[], dest: (item: T) => string, tie: (a: T, b: T) => number): T[] {
  const keyed = items.map((item) => ({ item, key: destinationKey(dest(item)) }));
  keyed.sort((x, y) => compareKeys(x.key, y.key) || tie(x.item, y.item));
  for (let i = 0; i < keyed.length; i++) items[i] = keyed[i]!.item;
  return items;
}
