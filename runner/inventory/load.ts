// loadInventory: read every source, report every problem at once (with file:line:column), then build
// the hosts, groups and variables the executor works with.
import { ValidationError, type Problem } from '../errors.js';
import type { Templater } from '../template/types.js';
import { carryFloats } from '../template/float.js';
import { loadYamlFile, type SourceFile } from '../yaml/source.js';
import {
  buildGroups,
  clusterGroups,
  clusterHost,
  clusterMagic,
  localHost,
  LOCALHOST,
  mergeSsh,
  nodeGroups,
  nodeHost,
  nodeMagic,
  userVars,
  type VarsSources,
} from './build.js';
import { checkAddresses, checkCidrs, checkControlPlane, checkIstioVersion, checkNames, type NodeEntry, type RawCluster } from './checks.js';
import { checkEnvLookups, renderTree, type RenderContext } from './render.js';
import { checkApi } from './api.js';
import { validateInventoryShape } from './schema.js';
import { expandSources, loadVarsFiles, type VarsFile } from './sources.js';
import type { ApiNodeSource, ClusterSpec, Host, Inventory, NodeSpec, SshSettings } from './types.js';
import { append } from '../arrays.js';

export interface LoadInventoryOptions {
  /** Renders templates in the inventory; without it only env lookups and plain variable names work. */
  templater?: Templater;
  /** Environment for lookup('env', ...); defaults to process.env. */
  env?: NodeJS.ProcessEnv;
  /**
   * Nodes read from the API for each `from_api` item (keyed by apiNodeKey). Without it, from_api items add no
   * hosts: loadInventoryWithApiNodes (api-nodes.ts) loads once, reads the Nodes, and loads again with them.
   */
  apiNodes?: Map<string, ApiNode[]>;
}

/** One Node object as read from a cluster's API. */
export interface ApiNode {
  name: string;
  address: string;
  labels: Record<string, string>;
}

export function apiNodeKey(cluster: string, item: number): string {
  return `${cluster}#${item}`;
}

type Topology = Inventory['topology'];

function isRecord(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === 'object' && !Array.isArray(v);
}

interface InventoryDoc {
  src: SourceFile;
  value: Record<string, unknown>;
}

export function loadInventory(paths: string[], opts: LoadInventoryOptions = {}): Inventory {
  const problems: Problem[] = [];
  const ctx: RenderContext = { templater: opts.templater, env: opts.env ?? process.env, problems };
  if (!paths.length) throw new ValidationError([{ message: 'no inventory given', expected: '-i <inventory file or directory>' }]);

  const sources = expandSources(paths);
  append(problems, sources.problems);
  const docs: InventoryDoc[] = [];
  for (const file of sources.files) {
    const src = loadYamlFile(file);
    if (src.problems.length) {
      append(problems, src.problems);
      continue;
    }
    const value = src.value ?? {}; // an empty file contributes nothing
    append(problems, validateInventoryShape(src, value));
    if (isRecord(value)) docs.push({ src, value });
  }

  // Merge in order: clusters appended, vars and ssh defaults merged key by key, the last topology wins.
  const rawClusters: RawCluster[] = [];
  const inventoryVars: Record<string, unknown> = {};
  let topology: Topology = 'single-control-plane';
  for (const d of docs) {
    const list = d.value.clusters;
    if (Array.isArray(list)) list.forEach((c, i) => isRecord(c) && rawClusters.push({ value: c, src: d.src, path: ['clusters', i] }));
    if (isRecord(d.value.vars)) {
      checkEnvLookups(d.value.vars, ['vars'], d.src, ctx);
      Object.assign(inventoryVars, d.value.vars);
      carryFloats(inventoryVars, d.value.vars);
    }
    if (d.value.topology === 'single-control-plane' || d.value.topology === 'multi-control-plane' || d.value.topology === 'separate-meshes') topology = d.value.topology;
  }
  if (docs.length && !docs.some((d) => 'clusters' in d.value)) {
    problems.push(docs[0].src.problem([], 'the inventory lists no clusters', 'a `clusters:` list with at least one cluster'));
  }

  const groupFiles = loadVarsFiles(sources.varsDirs, 'group_vars', problems);
  const hostFiles = loadVarsFiles(sources.varsDirs, 'host_vars', problems);
  for (const f of [...groupFiles, ...hostFiles]) checkEnvLookups(f.vars, f.path, f.src, ctx);
  const varsSources: VarsSources = { inventory: inventoryVars, groupVars: mergeByTarget(groupFiles), hostVars: mergeByTarget(hostFiles) };

  const fallback = docs[0]?.src.positionOf([]) ?? { file: paths[0], line: 0, column: 0 };
  checkControlPlane(rawClusters, problems, fallback);
  checkIstioVersion(docs, rawClusters, topology, problems);

  const sshDefaults = mergeSsh(
    ...docs.map((d) => (isRecord(d.value.ssh) ? (renderTree(d.value.ssh, ['ssh'], d.src, { ...inventoryVars, ...varsSources.groupVars.get('all') }, ctx) as SshSettings) : undefined)),
  );
  const apiNodeSources: ApiNodeSource[] = [];
  const clusters = rawClusters.map((c) => expandNodes(renderCluster(c, topology, varsSources, ctx), opts.apiNodes, apiNodeSources));
  checkNames(clusters, problems);
  checkAddresses(clusters, problems);
  checkCidrs(clusters, problems);
  const apiFacts = new Map(clusters.map((c) => [String(c.value.name), checkApi(c, ctx.env, problems)]));

  const specs = clusters.map((c) => toSpec(c.value, c.nodes!));
  const groups = buildGroups(specs);
  for (const f of groupFiles) {
    if (f.strict && !groups.has(f.target)) problems.push(f.src.problem([], `group_vars for '${f.target}', which is not a group of this inventory`, `one of: ${[...groups.keys()].join(', ')}`));
  }
  const hostNames = new Set([...groups.get('all')!, LOCALHOST]);
  for (const f of hostFiles) {
    if (f.strict && !hostNames.has(f.target)) problems.push(f.src.problem([], `host_vars for '${f.target}', which is not a host of this inventory`, `one of: ${[...hostNames].join(', ')}`));
  }
  if (problems.length) throw new ValidationError(inReadingOrder(problems, sources.files));

  const hosts = new Map<string, Host>();
  specs.forEach((c, i) => {
    const origin = clusters[i];
    const apiFact = apiFacts.get(c.name);
    hosts.set(c.name, clusterHost(c, withMagic(userVars(c.name, clusterGroups(c), [c.vars], varsSources), clusterMagic(c, topology, apiFact)), origin.src.positionOf(origin.path)));
    c.nodes.forEach((n, j) => {
      const vars = withMagic(userVars(n.name, nodeGroups(c), [c.vars, n.vars], varsSources), nodeMagic(c, n, topology, apiFact));
      hosts.set(n.name, nodeHost(c, n, mergeSsh(sshDefaults, c.ssh, n.ssh), vars, origin.src.positionOf(origin.nodes![j]!.path)));
    });
  });
  hosts.set(LOCALHOST, localHost(userVars(LOCALHOST, ['all'], [], varsSources), topology));

  return { hosts, groups, clusters: specs, vars: inventoryVars, topology, sources: sources.files, apiNodeSources };
}

/** Problems file by file (in the order the files were read), top to bottom within a file. */
function inReadingOrder(problems: Problem[], files: string[]): Problem[] {
  const fileRank = (p: Problem) => {
    const i = p.file === undefined ? -1 : files.indexOf(p.file);
    return i < 0 ? files.length : i;
  };
  return problems
    .map((p, i) => ({ p, i }))
    .sort((a, b) => fileRank(a.p) - fileRank(b.p) || (a.p.file ?? '').localeCompare(b.p.file ?? '') || (a.p.line ?? 0) - (b.p.line ?? 0) || (a.p.column ?? 0) - (b.p.column ?? 0) || a.i - b.i)
    .map(({ p }) => p);
}

/** A host's variables: the user's, then meshplay's own over them (whole floats keep their marks, template/float.ts). */
function withMagic(user: Record<string, unknown>, magic: Record<string, unknown>): Record<string, unknown> {
  const vars = { ...user, ...magic };
  carryFloats(vars, user, magic);
  return vars;
}

function mergeByTarget(files: VarsFile[]): Map<string, Record<string, unknown>> {
  const out = new Map<string, Record<string, unknown>>();
  for (const f of files) {
    const merged = { ...out.get(f.target), ...f.vars };
    carryFloats(merged, out.get(f.target), f.vars);
    out.set(f.target, merged);
  }
  return out;
}

/** Render the templates of one cluster and its nodes, each with the variables its host will see. */
function renderCluster(c: RawCluster, topology: Topology, vs: VarsSources, ctx: RenderContext): RawCluster {
  const name = String(c.value.name);
  const controlPlane = c.value.istio_control_plane === true;
  const clusterVars = isRecord(c.value.vars) ? c.value.vars : {};
  const groups = ['all', 'clusters', controlPlane ? 'control_plane' : 'remotes', name];
  const scope = { ...userVars(name, groups, [clusterVars], vs), inventory_hostname: name, cluster_name: name, istio_control_plane: controlPlane, topology };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(c.value)) {
    if (k === 'nodes' && Array.isArray(v)) {
      out.nodes = v.map((n, i) => (isRecord(n) ? renderNode(n, c, i, { name, controlPlane, clusterVars, topology }, vs, ctx) : n));
    } else if (k === 'vars' || k === 'name' || k === 'istio_control_plane') {
      if (k === 'vars') checkEnvLookups(v, [...c.path, k], c.src, ctx);
      out[k] = v;
    } else out[k] = renderTree(v, [...c.path, k], c.src, scope, ctx);
  }
  return { ...c, value: out };
}

function renderNode(
  n: Record<string, unknown>,
  c: RawCluster,
  index: number,
  cl: { name: string; controlPlane: boolean; clusterVars: Record<string, unknown>; topology: Topology },
  vs: VarsSources,
  ctx: RenderContext,
): Record<string, unknown> {
  const name = String(n.name);
  const nodeVars = isRecord(n.vars) ? n.vars : {};
  const scope = {
    ...userVars(name, ['all', 'nodes', `${cl.name}_nodes`], [cl.clusterVars, nodeVars], vs),
    inventory_hostname: name,
    cluster_name: cl.name,
    istio_control_plane: cl.controlPlane,
    topology: cl.topology,
  };
  const path = [...c.path, 'nodes', index];
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(n)) {
    if (k === 'vars' || k === 'name') {
      if (k === 'vars') checkEnvLookups(v, [...path, k], c.src, ctx);
      out[k] = v;
    } else out[k] = renderTree(v, [...path, k], c.src, scope, ctx);
  }
  return out;
}

/**
 * The cluster's nodes with every from_api item (or `nodes: from_api`) replaced by the Nodes read for it, each
 * placed at the item's path (so problems and host positions point at the from_api that brought it in).
 */
function expandNodes(c: RawCluster, apiNodes: Map<string, ApiNode[]> | undefined, sources: ApiNodeSource[]): RawCluster {
  const written = c.value.nodes;
  const items: unknown[] = written === 'from_api' ? [{ from_api: {} }] : Array.isArray(written) ? written : [];
  const cluster = String(c.value.name);
  const nodes: NodeEntry[] = [];
  items.forEach((item, i) => {
    const path = written === 'from_api' ? [...c.path, 'nodes'] : [...c.path, 'nodes', i];
    if (!isRecord(item)) return;
    if (!('from_api' in item)) {
      nodes.push({ value: item, path });
      return;
    }
    const spec = isRecord(item.from_api) ? item.from_api : {};
    const selector = typeof spec.selector === 'string' ? spec.selector : undefined;
    sources.push({ cluster, item: i, ...(selector ? { selector } : {}), position: c.src.positionOf(path) });
    for (const n of apiNodes?.get(apiNodeKey(cluster, i)) ?? []) {
      const value: Record<string, unknown> = { name: n.name, address: n.address, labels: n.labels };
      if (isRecord(item.ssh)) value.ssh = item.ssh;
      if (isRecord(item.vars)) value.vars = item.vars;
      nodes.push({ value, path, fromApi: true });
    }
  });
  return { ...c, nodes };
}

function toSpec(v: Record<string, unknown>, entries: NodeEntry[]): ClusterSpec {
  const nodes = entries.map((n) => ({ ...n.value }) as unknown as NodeSpec);
  return { ...v, name: String(v.name), istio_control_plane: v.istio_control_plane === true, nodes } as ClusterSpec;
}

/** Merged variables of a host, with `groups` (group -> hosts) and `group_names` (its groups but `all`), as Ansible exposes them. */
export function hostVars(inv: Inventory, name: string): Record<string, unknown> {
  const host = inv.hosts.get(name);
  if (!host) throw new Error(`unknown host '${name}' (hosts: ${[...inv.hosts.keys()].join(', ')})`);
  const index = groupIndex(inv);
  const vars = { ...host.vars, groups: index.groups, group_names: index.namesOf.get(name) ?? [] };
  carryFloats(vars, host.vars);
  return vars;
}

interface GroupIndex {
  groups: Record<string, string[]>;
  namesOf: Map<string, string[]>;
}

// Computed once per inventory: hostVars is called for every host, often many times. Keyed by the inventory object
// (whose groups are fixed once loaded), so it is a pure memo that goes with its inventory, not state of a run.
const groupIndexes = new WeakMap<Inventory, GroupIndex>();

function groupIndex(inv: Inventory): GroupIndex {
  let index = groupIndexes.get(inv);
  if (!index) {
    const namesOf = new Map<string, string[]>();
    for (const [g, hs] of inv.groups) {
      if (g === 'all') continue;
      for (const h of hs) namesOf.set(h, [...(namesOf.get(h) ?? []), g]);
    }
    for (const names of namesOf.values()) names.sort();
    index = { groups: Object.fromEntries([...inv.groups].map(([g, hs]) => [g, [...hs]])), namesOf };
    groupIndexes.set(inv, index);
  }
  return index;
}
