// The commonly used part of ansible.utils' ipaddr/ipv4/ipv6/ipsubnet/ipmath filters, on ipaddr.js.
// Addresses are handled as BigInt so IPv4 and IPv6 share the arithmetic.

import ipaddr from 'ipaddr.js';

interface Net {
  version: 4 | 6;
  bits: number;
  /** The address as written (for 10.1.2.3/16 this is 10.1.2.3). */
  ip: bigint;
  prefix: number;
  /** Whether the input carried a prefix (`/16`) or netmask. */
  hasPrefix: boolean;
}

function toBig(addr: ipaddr.IPv4 | ipaddr.IPv6): bigint {
  return addr.toByteArray().reduce((acc, byte) => (acc << 8n) | BigInt(byte), 0n);
}

function fromBig(value: bigint, version: 4 | 6): string {
  const length = version === 4 ? 4 : 16;
  const bytes: number[] = [];
  for (let i = 0; i < length; i++) {
    bytes.unshift(Number(value & 0xffn));
    value >>= 8n;
  }
  const addr = ipaddr.fromByteArray(bytes);
  return addr.kind() === 'ipv6' ? (addr as ipaddr.IPv6).toRFC5952String() : addr.toString();
}

/** Parse `10.1.2.3`, `10.1.0.0/16`, `10.1.0.0/255.255.0.0`, `fd00::/64`; undefined when not an address. */
export function parseNet(value: unknown): Net | undefined {
  if (typeof value !== 'string') return undefined;
  const text = value.trim();
  const [addressPart, prefixPart, ...rest] = text.split('/');
  if (rest.length > 0 || !addressPart) return undefined;
  let address: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    if (ipaddr.IPv4.isValidFourPartDecimal(addressPart)) address = ipaddr.IPv4.parse(addressPart);
    else if (ipaddr.IPv6.isValid(addressPart)) address = ipaddr.IPv6.parse(addressPart);
    else return undefined;
  } catch {
    return undefined;
  }
  const version = address.kind() === 'ipv4' ? 4 : 6;
  const bits = version === 4 ? 32 : 128;
  let prefix = bits;
  if (prefixPart !== undefined) {
    if (/^\d+$/.test(prefixPart)) {
      prefix = Number(prefixPart);
    } else if (version === 4 && ipaddr.IPv4.isValidFourPartDecimal(prefixPart)) {
      const fromMask = ipaddr.IPv4.parse(prefixPart).prefixLengthFromSubnetMask();
      if (fromMask === null) return undefined;
      prefix = fromMask;
    } else {
      return undefined;
    }
    if (prefix > bits) return undefined;
  }
  return { version, bits, ip: toBig(address), prefix, hasPrefix: prefixPart !== undefined };
}

function mask(net: Net): bigint {
  const all = (1n << BigInt(net.bits)) - 1n;
  return (all >> BigInt(net.bits - net.prefix)) << BigInt(net.bits - net.prefix) & all;
}
const network = (net: Net) => net.ip & mask(net);
const size = (net: Net) => 1n << BigInt(net.bits - net.prefix);
const broadcast = (net: Net) => network(net) + size(net) - 1n;
const str = (net: Net, value: bigint) => fromBig(value, net.version);

function isPrivate(net: Net): boolean {
  const addr = ipaddr.parse(str(net, net.ip));
  const range = addr.range();
  return ['private', 'uniqueLocal', 'loopback', 'linkLocal', 'carrierGradeNat'].includes(range);
}

type Query = string | number | undefined | null;

/** One value through one query; false (as Ansible) when the value does not qualify. */
function queryOne(value: unknown, query: Query, version?: 4 | 6): unknown {
  const net = parseNet(value);
  if (!net || (version && net.version !== version)) return false;
  const single = size(net) === 1n;
  if (typeof query === 'number' || (typeof query === 'string' && /^-?\d+$/.test(query))) {
    const n = BigInt(query);
    const total = size(net);
    if (n >= 0n && n < total) return `${str(net, network(net) + n)}/${net.prefix}`;
    if (n < 0n && -n <= total) return `${str(net, broadcast(net) + n + 1n)}/${net.prefix}`;
    return false;
  }
  const cidr = `${str(net, network(net))}/${net.prefix}`;
  switch (query ?? '') {
    case '':
    case 'bool':
      return query === 'bool' ? true : value;
    case 'address':
      // a network address (10.1.0.0/16) is not an address
      return single || net.ip !== network(net) || net.bits - net.prefix === 1 ? str(net, net.ip) : false;
    case 'host':
      if (single) return `${str(net, net.ip)}/${net.prefix}`;
      return net.ip !== network(net) ? `${str(net, net.ip)}/${net.prefix}` : false;
    case 'host/prefix':
    case 'address/prefix':
      return !single && net.ip !== network(net) && (net.version === 6 || net.ip !== broadcast(net)) ? `${str(net, net.ip)}/${net.prefix}` : false;
    case 'network':
      return str(net, network(net));
    case 'net':
      return !single && net.ip === network(net) ? cidr : false;
    case 'cidr':
    case 'subnet':
    case 'network/prefix':
      return cidr;
    case 'netmask':
      return str(net, mask(net));
    case 'hostmask':
      return str(net, size(net) - 1n);
    case 'prefix':
      return net.prefix;
    case 'broadcast':
      return net.version === 4 && net.prefix < 31 ? str(net, broadcast(net)) : false;
    case 'size':
      return Number(size(net));
    case 'first_usable':
      return size(net) > 2n ? str(net, network(net) + 1n) : false;
    case 'last_usable':
      return size(net) > 2n ? str(net, broadcast(net) - (net.version === 4 ? 1n : 0n)) : false;
    case 'range_usable':
      return size(net) > 2n ? `${str(net, network(net) + 1n)}-${str(net, broadcast(net) - 1n)}` : false;
    case 'version':
      return net.version;
    case 'ipv4':
      return net.version === 4 ? value : false;
    case 'ipv6':
      return net.version === 6 ? value : false;
    case 'private':
      return isPrivate(net) ? value : false;
    case 'public':
      return isPrivate(net) ? false : value;
    case 'wrap':
      return net.version === 6 ? (net.hasPrefix ? `[${str(net, net.ip)}]/${net.prefix}` : `[${str(net, net.ip)}]`) : value;
    default: {
      // another address or network: does the value lie inside it?
      const outer = parseNet(query);
      if (outer && outer.version === net.version && outer.prefix <= net.prefix && network({ ...net, prefix: outer.prefix }) === network(outer)) return value;
      if (outer) return false;
      throw new Error(`ipaddr: unknown query '${query}'`);
    }
  }
}

/** `ipaddr(query)`: on a list, keeps the items that qualify (mapped through the query). */
export function ipaddrFilter(value: unknown, query?: Query, version?: 4 | 6): unknown {
  if (Array.isArray(value)) {
    return value.map((item) => queryOne(item, query, version)).filter((item) => item !== false && item !== null);
  }
  return queryOne(value, query, version);
}

/**
 * `'10.0.0.0/16' | ipsubnet(24)` → number of /24s; `ipsubnet(24, 1)` → the second /24;
 * `'10.0.5.7' | ipsubnet(20)` → the /20 containing the address.
 */
export function ipsubnetFilter(value: unknown, query?: Query, index?: number): unknown {
  const net = parseNet(value);
  if (!net) return false;
  if (query === undefined || query === null || query === '') return `${str(net, network(net))}/${net.prefix}`;
  const newPrefix = Number(query);
  if (!Number.isInteger(newPrefix) || newPrefix > net.bits || newPrefix < 0) return false;
  if (!net.hasPrefix || newPrefix <= net.prefix) {
    if (newPrefix > net.prefix) return false;
    const containing = { ...net, prefix: newPrefix };
    return `${str(net, network(containing))}/${newPrefix}`;
  }
  const count = 1n << BigInt(newPrefix - net.prefix);
  if (index === undefined || index === null) return Number(count);
  let n = BigInt(index);
  if (n < 0n) n += count;
  if (n < 0n || n >= count) return false;
  const step = 1n << BigInt(net.bits - newPrefix);
  return `${str(net, network(net) + n * step)}/${newPrefix}`;
}

/** `'10.1.0.1' | ipmath(5)` → `10.1.0.6`. */
export function ipmathFilter(value: unknown, amount: unknown): unknown {
  const net = parseNet(value);
  if (!net) throw new Error(`ipmath: '${String(value)}' is not an IP address`);
  const result = net.ip + BigInt(Number(amount));
  if (result < 0n || result >= 1n << BigInt(net.bits)) throw new Error(`ipmath: result out of range for ${String(value)} + ${String(amount)}`);
  return str(net, result);
}
