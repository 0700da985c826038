// Hosts and groups from (rendered) cluster specs, and the variables each host sees.
import type { ApiSettings, ClusterSpec, Host, Inventory, NodeSpec, SshSettings } from './types.js';
import type { SourcePosition } from '../yaml/source.js';
import type { ApiFact } from '../k8s/resolve.js';
import { carryFloats } from '../template/float.js';

export const LOCALHOST = 'localhost';

/** Group names a cluster host belongs to, from least to most specific (the order group_vars apply in). */
export function clusterGroups(c: ClusterSpec): string[] {
  return ['all', 'clusters', c.istio_control_plane ? 'control_plane' : 'remotes', c.name];
}

export function nodeGroups(c: ClusterSpec): string[] {
  return ['all', 'nodes', `${c.name}_nodes`];
}

/** Every group, in a fixed order: all, clusters, nodes, control_plane, remotes, then <cluster> and <cluster>_nodes per cluster. */
export function buildGroups(clusters: ClusterSpec[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  const clusterHosts = clusters.map((c) => c.name);
  const nodeHosts = clusters.flatMap((c) => c.nodes.map((n) => n.name));
  groups.set('all', clusters.flatMap((c) => [c.name, ...c.nodes.map((n) => n.name)]));
  groups.set('clusters', clusterHosts);
  groups.set('nodes', nodeHosts);
  groups.set('control_plane', clusters.filter((c) => c.istio_control_plane).map((c) => c.name));
  groups.set('remotes', clusters.filter((c) => !c.istio_control_plane).map((c) => c.name));
  for (const c of clusters) {
    // The group named after a cluster holds only the cluster itself (its API), so `hosts: east` means the
    // same thing whether `east` is read as the host or the group; its machines are `east_nodes`.
    groups.set(c.name, [c.name]);
    groups.set(`${c.name}_nodes`, c.nodes.map((n) => n.name));
  }
  return groups;
}

/** Child groups, for --list and --graph (hosts of a parent are the union of its own and its children's). */
export function groupChildren(clusters: ClusterSpec[]): Map<string, string[]> {
  return new Map([
    ['all', ['clusters', 'nodes']],
    ['clusters', ['control_plane', 'remotes', ...clusters.map((c) => c.name)]],
    ['nodes', clusters.map((c) => `${c.name}_nodes`)],
  ]);
}

export interface VarsSources {
  inventory: Record<string, unknown>;
  groupVars: Map<string, Record<string, unknown>>;
  hostVars: Map<string, Record<string, unknown>>;
}

/** Variables the inventory gives a host: inventory vars < group_vars (all < other groups) < cluster vars < node vars < host_vars. */
export function userVars(name: string, groups: string[], layers: Array<Record<string, unknown> | undefined>, src: VarsSources): Record<string, unknown> {
  const out: Record<string, unknown> = { ...src.inventory };
  const applied = [src.inventory, ...groups.map((g) => src.groupVars.get(g)), ...layers, src.hostVars.get(name)];
  for (const layer of applied.slice(1)) Object.assign(out, layer);
  carryFloats(out, ...applied); // whole floats (5.0) stay floats for templates (template/float.ts)
  return out;
}

/** Variables meshplay sets itself; they win over user variables, as Ansible's magic variables do. */
/**
 * `cluster_api` is the cluster's resolved API (runner/k8s/resolve.ts): server, ca_data, tls_server_name,
 * credential kind; whatever form the inventory's `api` takes. Roles read it, never `cluster.api`.
 */
export function clusterMagic(c: ClusterSpec, topology: Inventory['topology'], api?: ApiFact): Record<string, unknown> {
  return { inventory_hostname: c.name, cluster_name: c.name, cluster: c, istio_control_plane: c.istio_control_plane, topology, ...(api ? { cluster_api: api } : {}) };
}

export function nodeMagic(c: ClusterSpec, n: NodeSpec, topology: Inventory['topology'], api?: ApiFact): Record<string, unknown> {
  return {
    ...clusterMagic(c, topology, api),
    inventory_hostname: n.name,
    node: { name: n.name, address: n.address, ...(n.labels ? { labels: n.labels } : {}) },
    address: n.address,
    ansible_host: n.address,
  };
}

export const MAGIC_KEYS = ['inventory_hostname', 'cluster_name', 'cluster', 'cluster_api', 'istio_control_plane', 'topology', 'node', 'address', 'ansible_host'];

/** Effective SSH settings: later layers override earlier ones key by key; proxy_jump is replaced whole. */
export function mergeSsh(...layers: Array<SshSettings | undefined>): SshSettings {
  const out: SshSettings = {};
  for (const l of layers) if (l) Object.assign(out, l);
  return out;
}

export function clusterHost(c: ClusterSpec, vars: Record<string, unknown>, position?: SourcePosition): Host {
  const api: ApiSettings | undefined = c.api ? { ...c.api } : undefined;
  return { name: c.name, kind: 'cluster', connection: 'kubernetes', cluster: c.name, api, vars, position };
}

export function nodeHost(c: ClusterSpec, n: NodeSpec, ssh: SshSettings, vars: Record<string, unknown>, position?: SourcePosition): Host {
  return { name: n.name, kind: 'node', connection: 'ssh', cluster: c.name, address: n.address, ssh, vars, position };
}

export function localHost(vars: Record<string, unknown>, topology: Inventory['topology']): Host {
  const own = { ...vars, inventory_hostname: LOCALHOST, topology };
  carryFloats(own, vars);
  return { name: LOCALHOST, kind: 'local', connection: 'local', vars: own };
}
