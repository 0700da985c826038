// `meshplay inventory --list` and `--graph`: the inventory as ansible-inventory shows it, secrets hidden.
import { groupChildren, MAGIC_KEYS } from './build.js';
import { Redactor } from '../secrets/redact.js';
import type { Host, Inventory } from './types.js';

/** Variables shown for a host: what the inventory gave it plus how it is reached (bulky magic specs left out). */
function shownVars(host: Host): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(host.vars)) if (!MAGIC_KEYS.includes(k) || k === 'cluster_name' || k === 'istio_control_plane') out[k] = v;
  const labels = (host.vars.node as { labels?: Record<string, string> } | undefined)?.labels;
  if (labels) out.node_labels = labels; // a node read from the API (from_api)
  out.ansible_connection = host.connection;
  if (host.address) out.ansible_host = host.address;
  if (host.ssh && Object.keys(host.ssh).length) out.ssh = host.ssh;
  if (host.api && Object.keys(host.api).length) out.api = host.api;
  return out;
}

/**
 * Like `ansible-inventory --list`: `_meta.hostvars`, and per group its own hosts and child groups. Secret values
 * (by the run's policy, and any value the redactor already knows, such as what a vault opened) show as
 * `<secret #N>`, the one mark every output uses.
 */
export function inventoryList(inv: Inventory, redactor: Redactor = new Redactor()): Record<string, unknown> {
  const hostvars: Record<string, unknown> = {};
  for (const h of inv.hosts.values()) if (h.kind !== 'local') hostvars[h.name] = shownVars(h);
  const out: Record<string, unknown> = { _meta: { hostvars: redactor.redact(hostvars) } };
  const children = groupChildren(inv.clusters);
  for (const group of inv.groups.keys()) {
    const entry: { hosts?: string[]; children?: string[] } = {};
    const kids = children.get(group);
    if (kids?.length) entry.children = kids;
    else if (group !== 'all' && inv.groups.get(group)!.length) entry.hosts = [...inv.groups.get(group)!];
    out[group] = entry;
  }
  return out;
}

/** Like `ansible-inventory --graph`: `@all:` then `  |--@group:` and `  |  |--host` lines. */
export function inventoryGraph(inv: Inventory, root = 'all'): string {
  const children = groupChildren(inv.clusters);
  const lines: string[] = [];
  const walk = (group: string, depth: number) => {
    lines.push(depth === 0 ? `@${group}:` : `  ${'|  '.repeat(depth - 1)}|--@${group}:`);
    const kids = children.get(group);
    if (kids) for (const k of kids) walk(k, depth + 1);
    else for (const h of inv.groups.get(group) ?? []) lines.push(`  ${'|  '.repeat(depth)}|--${h}`);
  };
  walk(root, 0);
  return lines.join('\n');
}
