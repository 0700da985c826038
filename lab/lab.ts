// The lab's operations: up, down, status, and the helpers tests and the bench use to poke at nodes.
import { createHash } from 'node:crypto';
import { readdir, readFile, rm, rmdir, writeFile, mkdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { dirname, join } from 'node:path';
import type { ApiSettings } from '../runner/inventory/types.js';
import {
  BGP_AS, DEFAULT_SHAPE, LAB_NS, ROOT_LINK, addressIn, bridgePortName, buildSpec, caliName, chooseSubnet,
  gatewayAddress, nodeNamespace, podNamespace, rootAddress, sameShape, validateShape,
  type LabShape, type LabSpec,
} from './spec.js';
import { INVENTORY_FILE, STATE_DIR, labPaths, nodePaths, readState, writeState, type LabState, type LabTopology, type NodeState } from './state.js';
import { pool, run, sleep, type RunResult } from './proc.js';
import { knownHostsText, sshdPid, sshdStartCommand, stopNodeSshd, waitForPid, writeSshdFiles } from './sshd.js';
import { bgpSessions, birdPid, birdStartCommand, birdc, stopNodeBird, writeBirdConfig } from './bird.js';
import {
  labNamespaces, labScript, movePodScript, networksInUse, nodeScript, raiseNeighbourLimits, removeLabNetwork,
  restoreNeighbourLimits, rootBatch, rootLabLinks,
} from './net.js';
import { inventoryText, labInventory, writeInventory } from './inventory.js';

/** Process fan-out: the machine has 2 cores, most of the work is the kernel's. */
const PARALLEL = 8;

export interface LabOptions {
  stateDir?: string;
  inventoryFile?: string;
  log?: (line: string) => void;
}

export interface UpOptions extends LabOptions {
  clusters?: number;
  nodes?: number;
  overlap?: boolean;
  /** Start the per-cluster Kubernetes API servers (lab/kube) too. Default true. */
  kube?: boolean;
  /** Which Istio topology the lab stands in for: what it seeds and how many Pilots it runs. */
  topology?: LabTopology;
  /** Time allowed for every BGP session to come up and every block to be routed. */
  routingTimeoutMs?: number;
}

export interface UpResult {
  state: LabState;
  rebuilt: boolean;
  ms: number;
  inventoryFile: string;
  warnings: string[];
}

interface KubeLab {
  kubeUp(spec: LabSpec, stateDir: string): Promise<Record<string, ApiSettings>>;
  kubeDown(stateDir: string): Promise<void>;
  kubeStatus(stateDir: string): Promise<string[]>;
}

async function loadKube(): Promise<{ kube?: KubeLab; why?: string }> {
  // A variable specifier: lab/kube is another part of the project and may not be built yet.
  const specifier = './kube/index.js';
  try {
    const mod = (await import(specifier)) as Partial<KubeLab>;
    if (typeof mod.kubeUp !== 'function' || typeof mod.kubeDown !== 'function') return { why: 'lab/kube/index does not export kubeUp/kubeDown' };
    return { kube: mod as KubeLab };
  } catch (err) {
    return { why: (err as Error).message.split('\n')[0] };
  }
}

const sha1 = (s: string): string => createHash('sha1').update(s).digest('hex');

function resolveOptions(opts: LabOptions) {
  return {
    stateDir: opts.stateDir ?? STATE_DIR,
    inventoryFile: opts.inventoryFile ?? INVENTORY_FILE,
    log: opts.log ?? (() => undefined),
  };
}

function makeState(shape: LabShape, subnet: string, spec: LabSpec): LabState {
  const nodes: NodeState[] = [];
  spec.clusters.forEach((c, ci) =>
    c.nodes.forEach((n, ni) =>
      nodes.push({
        name: n.name,
        cluster: c.name,
        address: n.address,
        podBlock: n.podBlock,
        podAddress: n.podAddress ?? addressIn(n.podBlock, 1),
        namespace: nodeNamespace(n.name),
        podNamespace: podNamespace(n.name),
        caliLink: caliName(n.name, sha1),
        bridgePort: bridgePortName(ci + 1, ni + 1),
      }),
    ),
  );
  return {
    version: 1,
    createdAt: new Date().toISOString(),
    shape,
    subnet,
    rootAddress: rootAddress(subnet),
    gatewayAddress: gatewayAddress(subnet),
    labNamespace: LAB_NS,
    rootLink: ROOT_LINK,
    spec,
    nodes,
  };
}

function peersOf(state: LabState, node: NodeState): NodeState[] {
  return state.nodes.filter((n) => n.cluster === node.cluster && n.name !== node.name);
}

function findNode(state: LabState, name: string): NodeState {
  const node = state.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`no lab node named ${name} (nodes: ${state.nodes.map((n) => n.name).join(', ')})`);
  return node;
}

async function requireState(stateDir: string): Promise<LabState> {
  const state = await readState(stateDir);
  if (!state) throw new Error(`no lab is up (no ${labPaths(stateDir).stateFile}); run \`meshplay lab up\``);
  return state;
}

/** Stop every daemon whose pid file is in the state dir, then delete all `mpl-` network objects. */
async function teardownNetwork(stateDir: string): Promise<void> {
  let nodes: string[] = [];
  try {
    nodes = await readdir(join(stateDir, 'nodes'));
  } catch {
    /* nothing recorded */
  }
  await pool(nodes, PARALLEL, async (node) => {
    await stopNodeSshd(stateDir, node);
    await stopNodeBird(stateDir, node);
  });
  await removeLabNetwork();
  await rm(join(stateDir, 'nodes'), { recursive: true, force: true });
}

async function daemonsRunning(stateDir: string, state: LabState): Promise<boolean> {
  const namespaces = new Set(await labNamespaces());
  if (!namespaces.has(LAB_NS)) return false;
  if (!(await rootLabLinks()).includes(ROOT_LINK)) return false;
  const ok = await pool(state.nodes, PARALLEL, async (n) =>
    namespaces.has(n.namespace) && namespaces.has(n.podNamespace) &&
    (await sshdPid(stateDir, n.name)) !== undefined && (await birdPid(stateDir, n.name)) !== undefined,
  );
  return ok.every(Boolean);
}

interface IpRouteJson {
  dst: string;
  type?: string;
  gateway?: string;
  dev?: string;
  protocol?: string;
}

export async function birdRoutes(node: NodeState): Promise<IpRouteJson[]> {
  const r = await run('ip', ['-n', node.namespace, '-j', '-4', 'route', 'show', 'proto', 'bird']);
  return JSON.parse(r.stdout.trim() || '[]') as IpRouteJson[];
}

/** Why a node's routing is not yet as Calico would have it, or undefined when it is. */
async function routingProblem(stateDir: string, state: LabState, node: NodeState): Promise<string | undefined> {
  const peers = peersOf(state, node);
  const sessions = await bgpSessions(stateDir, node.name).catch((e: Error) => e);
  if (sessions instanceof Error) return `birdc: ${sessions.message}`;
  const up = sessions.filter((s) => s.info === 'Established').length;
  if (up < peers.length) return `${up}/${peers.length} BGP sessions established`;
  const routes = await birdRoutes(node);
  if (!routes.some((r) => r.dst === node.podBlock && r.type === 'blackhole')) return `no blackhole route for ${node.podBlock}`;
  for (const p of peers) {
    if (p.podBlock === node.podBlock) continue;
    if (!routes.some((r) => r.dst === p.podBlock && r.gateway === p.address)) return `no route to ${p.podBlock} via ${p.address}`;
  }
  return undefined;
}

async function waitForRouting(stateDir: string, state: LabState, timeoutMs: number): Promise<void> {
  let pending = state.nodes;
  const deadline = Date.now() + timeoutMs;
  const problems = new Map<string, string>();
  for (;;) {
    const results = await pool(pending, PARALLEL, (n) => routingProblem(stateDir, state, n));
    problems.clear();
    pending = pending.filter((n, i) => {
      if (results[i]) problems.set(n.name, results[i]!);
      return results[i] !== undefined;
    });
    if (!pending.length) return;
    if (Date.now() > deadline) {
      const detail = [...problems].slice(0, 8).map(([n, p]) => `${n}: ${p}`).join('; ');
      throw new Error(`BGP did not converge within ${timeoutMs} ms (${pending.length} nodes not ready: ${detail}); see ${join(stateDir, 'nodes', '<node>', 'bird.log')}`);
    }
    await sleep(150);
  }
}

async function ensureClientKey(stateDir: string): Promise<string> {
  const p = labPaths(stateDir);
  await mkdir(stateDir, { recursive: true });
  try {
    return (await readFile(`${p.clientKey}.pub`, 'utf8')).trim();
  } catch {
    await rm(p.clientKey, { force: true });
    await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'meshplay-lab', '-f', p.clientKey]);
    return (await readFile(`${p.clientKey}.pub`, 'utf8')).trim();
  }
}

async function writeKnownHosts(stateDir: string, state: LabState): Promise<void> {
  const entries = await Promise.all(
    state.nodes.map(async (n) => ({
      address: n.address,
      hostKey: (await readFile(`${nodePaths(stateDir, n.name).hostKey}.pub`, 'utf8')).trim().split(/\s+/).slice(0, 2).join(' '),
    })),
  );
  await writeFile(labPaths(stateDir).knownHosts, knownHostsText(entries));
}

/** Start the node's namespaces' contents: addresses, pod, sshd, BIRD. The namespaces and veths exist already. */
async function bringUpNode(stateDir: string, state: LabState, node: NodeState): Promise<void> {
  const p = nodePaths(stateDir, node.name);
  const script = nodeScript(state, node, [sshdStartCommand(stateDir, node.name), birdStartCommand(stateDir, node.name)]);
  await writeFile(p.upScript, script);
  await run('ip', ['netns', 'exec', node.namespace, 'sh', p.upScript]);
  node.sshdPid = await waitForPid(() => sshdPid(stateDir, node.name), `sshd of ${node.name} (log ${p.sshdLog})`);
  node.birdPid = await waitForPid(() => birdPid(stateDir, node.name), `bird of ${node.name} (log ${p.birdLog})`);
}

async function finishWithKube(
  spec: LabSpec, stateDir: string, state: LabState, useKube: boolean, warnings: string[], log: (l: string) => void,
  topology: LabTopology,
): Promise<Record<string, ApiSettings>> {
  if (state.topology !== topology) {
    await stopPilots(stateDir, state);
    await (await import('./coredns.js')).stopLabDns(stateDir);
  }
  state.topology = topology;
  if (!useKube) return {};
  const { kube, why } = await loadKube();
  if (!kube) {
    const w = `kube lab not available (${why}); inventory has no api settings`;
    warnings.push(w);
    log(`warning: ${w}`);
    return {};
  }
  log('starting Kubernetes API servers (lab/kube)');
  const api = await kube.kubeUp(spec, stateDir);
  state.api = api as Record<string, unknown>;
  const { labCredentials } = await import('./fixtures/control-plane.js');
  const { startPilot } = await import('./pilot.js');
  state.pilots = {};
  if (topology === 'multi-control-plane' || topology === 'separate-meshes') {
    // Every cluster runs its own control plane: its gateway and DNS fixtures, and its own real Pilot.
    const { seedMultiControlPlane } = await import('./fixtures-multi.js');
    await Promise.all(spec.clusters.map(async (c, index) => {
      const creds = labCredentials(stateDir, c.name);
      await seedMultiControlPlane(creds, { index, egressGateway: topology === 'separate-meshes' });
      const pilot = await startPilot({ stateDir: join(stateDir, `pilot-${c.name}`), cluster: c.name, kubeconfig: creds.kubeconfig });
      state.pilots![c.name] = pilot.httpAddr;
      log(`Pilot (pilot-discovery 1.3) for ${c.name}: debug endpoint http://${pilot.httpAddr}`);
    }));
    await startLabDns(spec, stateDir, log);
    return api;
  }
  // What a real control plane would have: its istio-system Services (lab fixtures) and a real Pilot
  // that reads the remote secrets meshplay writes.
  const cp = spec.clusters.find((c) => c.controlPlane)!.name;
  const { seedControlPlane } = await import('./fixtures/control-plane.js');
  const creds = labCredentials(stateDir, cp);
  await seedControlPlane(creds);
  const pilot = await startPilot({ stateDir, cluster: cp, kubeconfig: creds.kubeconfig });
  state.pilots[cp] = pilot.httpAddr;
  log(`Pilot (pilot-discovery 1.3) for ${cp}: debug endpoint http://${pilot.httpAddr}`);
  // Each remote's sidecar injector URL (lab/injector.ts runs the real injector once meshplay installed it).
  const { injectorUrls } = await import('./injector.js');
  state.injectorUrls = await injectorUrls(stateDir, spec.clusters.filter((c) => !c.controlPlane).map((c) => c.name));
  return api;
}

/** The real CoreDNS of every cluster (lab/coredns.ts), reading what is in the cluster now. */
async function startLabDns(spec: LabSpec, stateDir: string, log: (l: string) => void): Promise<void> {
  const { syncClusterDns } = await import('./coredns.js');
  const { labCredentials } = await import('./fixtures/control-plane.js');
  for (const c of spec.clusters) {
    const s = await syncClusterDns({ stateDir, cluster: c.name, serviceCidr: c.serviceCidr, creds: labCredentials(stateDir, c.name) });
    log(`CoreDNS (1.10.1) for ${c.name}: ${s.address} in netns ${s.namespace} (\`ip netns exec ${s.namespace} dig @${s.address} NAME\`)`);
  }
}

/** Per-cluster inventory variables: the injector URL of each remote (single control plane). */
function labClusterVars(state: LabState): Record<string, Record<string, unknown>> {
  if (state.topology === 'multi-control-plane') return {};
  return Object.fromEntries(Object.entries(state.injectorUrls ?? {}).map(([c, url]) => [c, { istio_sidecar_injector_url: url }]));
}

function labVars(state: LabState): Record<string, unknown> {
  const pilots = state.pilots ?? {};
  const cp = state.spec.clusters.find((c) => c.controlPlane)?.name;
  if (state.topology === 'multi-control-plane' || state.topology === 'separate-meshes') return Object.keys(pilots).length ? { istio_pilot_debug_addresses: pilots } : {};
  return cp && pilots[cp] ? { istio_pilot_debug_address: pilots[cp] } : {};
}

async function stopPilots(stateDir: string, state: LabState | undefined): Promise<void> {
  const { stopPilot } = await import('./pilot.js');
  await stopPilot(stateDir);
  for (const c of state?.spec.clusters ?? []) await stopPilot(join(stateDir, `pilot-${c.name}`));
}

/**
 * inventory/lab-<form>.yml beside lab.yml: the same lab reached each way operators reach clusters (lab/forms.ts).
 * Only with API servers (no api settings, no forms).
 */
async function writeFormInventories(stateDir: string, inventoryFile: string, state: LabState, api: Record<string, ApiSettings>): Promise<void> {
  if (!Object.keys(api).length) return;
  const { writeLabForms, formInventoryFile } = await import('./forms.js');
  const paths = labPaths(stateDir);
  const forms = await writeLabForms(stateDir, state.spec.clusters.map((c) => c.name));
  const ssh = { privateKeyFile: paths.clientKey, knownHostsFile: paths.knownHosts };
  for (const [form, formApi] of Object.entries(forms)) {
    await writeInventory(formInventoryFile(inventoryFile, form as keyof typeof forms), inventoryText(labInventory(state.spec, ssh, formApi, labVars(state), state.topology, labClusterVars(state))));
  }
  const fromApi = labInventory(state.spec, ssh, api, labVars(state), state.topology, labClusterVars(state));
  for (const c of fromApi.clusters) (c as { nodes: unknown }).nodes = 'from_api';
  await writeInventory(formInventoryFile(inventoryFile, 'from-api'), inventoryText(fromApi));
}

export async function labUp(opts: UpOptions = {}): Promise<UpResult> {
  const { stateDir, inventoryFile, log } = resolveOptions(opts);
  const started = Date.now();
  const shape: LabShape = {
    clusters: opts.clusters ?? DEFAULT_SHAPE.clusters,
    nodes: opts.nodes ?? DEFAULT_SHAPE.nodes,
    overlap: opts.overlap ?? false,
  };
  validateShape(shape);
  const useKube = opts.kube ?? true;
  const topology: LabTopology = opts.topology ?? 'single-control-plane';
  const routingTimeoutMs = opts.routingTimeoutMs ?? 30_000 + shape.clusters * shape.nodes * 250;
  const warnings: string[] = [];
  const paths = labPaths(stateDir);

  const previous = await readState(stateDir);
  if (previous && sameShape(previous.shape, shape) && (await daemonsRunning(stateDir, previous))) {
    log(`lab already up with ${shape.clusters}x${shape.nodes}${shape.overlap ? ' (overlapping pod CIDRs)' : ''}; checking it`);
    await waitForRouting(stateDir, previous, routingTimeoutMs);
    await raiseNeighbourLimits(previous.nodes.length, paths.neighLimits);
    const api = await finishWithKube(previous.spec, stateDir, previous, useKube, warnings, log, topology);
    await writeState(stateDir, previous);
    await writeInventory(inventoryFile, inventoryText(labInventory(previous.spec, { privateKeyFile: paths.clientKey, knownHostsFile: paths.knownHosts }, api, labVars(previous), previous.topology, labClusterVars(previous))));
    await writeFormInventories(stateDir, inventoryFile, previous, api);
    return { state: previous, rebuilt: false, ms: Date.now() - started, inventoryFile, warnings };
  }

  if (previous) log(previous && !sameShape(previous.shape, shape) ? 'lab shape changed: rebuilding' : 'lab not healthy: rebuilding');
  if (useKube || previous) {
    const { kube } = await loadKube();
    if (kube && previous) {
      await (await import('./injector.js')).stopInjectors(stateDir);
      await kube.kubeDown(stateDir);
    }
  }
  await (await import('./coredns.js')).stopLabDns(stateDir);
  await teardownNetwork(stateDir);
  await rm(paths.stateFile, { force: true });

  const subnet = chooseSubnet(await networksInUse(), shape);
  const spec = buildSpec(shape, subnet);
  const state = makeState(shape, subnet, spec);
  log(`lab network ${subnet}: ${shape.clusters} clusters x ${shape.nodes} nodes`);
  await writeState(stateDir, state); // recorded before anything is created, so a crash can be cleaned up

  const clientPub = await ensureClientKey(stateDir);
  await writeFile(paths.authorizedKeys, clientPub + '\n');
  await pool(state.nodes, PARALLEL, async (n) => {
    await writeSshdFiles(stateDir, n.name);
    await writeBirdConfig(stateDir, n, peersOf(state, n));
  });
  await writeKnownHosts(stateDir, state);

  await mkdir('/run/sshd', { recursive: true }); // sshd's privilege separation directory
  await raiseNeighbourLimits(state.nodes.length, paths.neighLimits);
  await run('ip', ['-batch', '-'], { input: rootBatch(state) });
  await run('ip', ['netns', 'exec', LAB_NS, 'sh', '-c', labScript(state)]);
  await pool(state.nodes, PARALLEL, (n) => bringUpNode(stateDir, state, n));
  await writeState(stateDir, state);
  log(`nodes started in ${Date.now() - started} ms; waiting for BGP`);
  await waitForRouting(stateDir, state, routingTimeoutMs);
  log(`routing converged at ${Date.now() - started} ms`);

  const api = await finishWithKube(spec, stateDir, state, useKube, warnings, log, topology);
  await writeState(stateDir, state);
  await writeInventory(inventoryFile, inventoryText(labInventory(spec, { privateKeyFile: paths.clientKey, knownHostsFile: paths.knownHosts }, api, labVars(state), state.topology, labClusterVars(state))));
  await writeFormInventories(stateDir, inventoryFile, state, api);
  return { state, rebuilt: true, ms: Date.now() - started, inventoryFile, warnings };
}

export async function labDown(opts: LabOptions & { kube?: boolean } = {}): Promise<void> {
  const { stateDir, inventoryFile, log } = resolveOptions(opts);
  if (opts.kube ?? true) {
    await stopPilots(stateDir, await readState(stateDir));
    await (await import('./coredns.js')).stopLabDns(stateDir);
    await (await import('./injector.js')).stopInjectors(stateDir);
    const { kube, why } = await loadKube();
    if (kube) await kube.kubeDown(stateDir);
    else log(`kube lab not available (${why}); skipping its teardown`);
  }
  await teardownNetwork(stateDir);
  const p = labPaths(stateDir);
  await restoreNeighbourLimits(p.neighLimits);
  const { LAB_FORMS, formInventoryFile } = await import('./forms.js');
  const formFiles = LAB_FORMS.map((f) => formInventoryFile(inventoryFile, f));
  for (const f of [p.stateFile, p.knownHosts, p.authorizedKeys, p.clientKey, `${p.clientKey}.pub`, inventoryFile, ...formFiles]) await rm(f, { force: true });
  await rm(join(stateDir, 'forms'), { recursive: true, force: true });
  // Only when empty: lab/kube keeps its own files in the state dir, other inventories may sit beside lab.yml.
  await rmdir(stateDir).catch(() => undefined);
  await rmdir(dirname(inventoryFile)).catch(() => undefined);
}

export interface NodeHealth {
  node: NodeState;
  namespace: boolean;
  sshd: boolean;
  sshAnswers: boolean;
  bird: boolean;
  sessionsUp: number;
  sessionsWanted: number;
  problem?: string;
}

export interface StatusResult {
  healthy: boolean;
  state?: LabState;
  nodes: NodeHealth[];
  kube: string[];
  lines: string[];
}

function tcpAnswers(address: string, port: number, timeoutMs = 1500): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      sock.destroy();
      resolve(ok);
    };
    // sshd speaks first: a banner proves it is the daemon, not just an open port.
    sock.once('data', (d) => done(d.toString('latin1').startsWith('SSH-')));
    sock.once('timeout', () => done(false));
    sock.once('error', () => done(false));
  });
}

export async function labStatus(opts: LabOptions & { kube?: boolean } = {}): Promise<StatusResult> {
  const { stateDir } = resolveOptions(opts);
  const state = await readState(stateDir);
  if (!state) return { healthy: false, nodes: [], kube: [], lines: ['lab is down (no state in ' + stateDir + ')'] };
  const namespaces = new Set(await labNamespaces());
  const nodes = await pool(state.nodes, PARALLEL, async (node): Promise<NodeHealth> => {
    const wanted = peersOf(state, node).length;
    const h: NodeHealth = {
      node, namespace: namespaces.has(node.namespace), sshd: (await sshdPid(stateDir, node.name)) !== undefined,
      sshAnswers: false, bird: (await birdPid(stateDir, node.name)) !== undefined, sessionsUp: 0, sessionsWanted: wanted,
    };
    h.sshAnswers = h.namespace && (await tcpAnswers(node.address, 22));
    if (h.bird) {
      const sessions = await bgpSessions(stateDir, node.name).catch(() => []);
      h.sessionsUp = sessions.filter((s) => s.info === 'Established').length;
      if (h.sessionsUp === wanted) h.problem = await routingProblem(stateDir, state, node);
    }
    return h;
  });
  let kube: string[] = [];
  if (opts.kube ?? true) {
    const { kube: k } = await loadKube();
    if (k && typeof k.kubeStatus === 'function') kube = await k.kubeStatus(stateDir).catch((e: Error) => [`kube status failed: ${e.message}`]);
  }
  const healthy = namespaces.has(LAB_NS) && nodes.every((h) => h.namespace && h.sshd && h.sshAnswers && h.bird && h.sessionsUp === h.sessionsWanted && !h.problem);
  const lines = [
    `lab network ${state.subnet} (root end ${state.rootAddress} on ${state.rootLink}, bridge in namespace ${state.labNamespace}); BGP AS ${BGP_AS}`,
    ...statusTable(state, nodes),
    ...kube,
    ...(await import('./coredns.js')).labDnsStatus(stateDir, state.spec.clusters.map((c) => c.name)),
    healthy ? 'lab healthy' : 'lab NOT healthy',
  ];
  return { healthy, state, nodes, kube, lines };
}

function statusTable(state: LabState, nodes: NodeHealth[]): string[] {
  const rows = [['CLUSTER', 'POD CIDR', 'NODE', 'ADDRESS', 'POD BLOCK', 'SSH', 'BGP', 'ROUTES']];
  for (const h of nodes) {
    const cluster = state.spec.clusters.find((c) => c.name === h.node.cluster)!;
    rows.push([
      h.node.cluster + (cluster.controlPlane ? '*' : ''),
      cluster.podCidr,
      h.node.name,
      h.node.address,
      h.node.podBlock,
      !h.namespace ? 'no-netns' : h.sshAnswers ? 'up' : h.sshd ? 'silent' : 'down',
      h.bird ? `${h.sessionsUp}/${h.sessionsWanted}` : 'down',
      h.problem ?? (h.bird && h.sessionsUp === h.sessionsWanted ? 'ok' : '-'),
    ]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return [...rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()), '(* = Istio control plane cluster)'];
}

// ---- helpers for tests and the bench -------------------------------------------------------

/** Run argv inside a node's network namespace (as root, in the root filesystem). Never throws on exit code. */
export async function nodeExec(nodeName: string, argv: string[], opts: LabOptions & { input?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  const { stateDir } = resolveOptions(opts);
  const node = findNode(await requireState(stateDir), nodeName);
  return run('ip', ['netns', 'exec', node.namespace, ...argv], { check: false, input: opts.input, timeoutMs: opts.timeoutMs });
}

export async function stopSshd(nodeName: string, opts: LabOptions = {}): Promise<void> {
  const { stateDir } = resolveOptions(opts);
  const state = await requireState(stateDir);
  const node = findNode(state, nodeName);
  await stopNodeSshd(stateDir, node.name);
  delete node.sshdPid;
  await writeState(stateDir, state);
}

export async function startSshd(nodeName: string, opts: LabOptions = {}): Promise<number> {
  const { stateDir } = resolveOptions(opts);
  const state = await requireState(stateDir);
  const node = findNode(state, nodeName);
  const running = await sshdPid(stateDir, node.name);
  if (running !== undefined) return running;
  await run('ip', ['netns', 'exec', node.namespace, 'sh', '-c', sshdStartCommand(stateDir, node.name)]);
  node.sshdPid = await waitForPid(() => sshdPid(stateDir, node.name), `sshd of ${node.name}`);
  await writeState(stateDir, state);
  return node.sshdPid;
}

/**
 * Give the node a new host key and restart its sshd. known_hosts keeps the old key unless asked,
 * so a client that checks host keys sees a changed key. Returns the new `ssh-ed25519 AAAA...`.
 */
export async function regenHostKey(nodeName: string, opts: LabOptions & { updateKnownHosts?: boolean } = {}): Promise<string> {
  const { stateDir } = resolveOptions(opts);
  const state = await requireState(stateDir);
  const node = findNode(state, nodeName);
  const key = await writeSshdFiles(stateDir, node.name, true);
  const wasRunning = (await sshdPid(stateDir, node.name)) !== undefined;
  if (wasRunning) {
    await stopSshd(nodeName, opts);
    await startSshd(nodeName, opts);
  }
  if (opts.updateKnownHosts) await writeKnownHosts(stateDir, state);
  return key;
}

/** Make the node own `newBlock` instead of its block: BIRD reconfigured live, the pod renumbered. */
export async function moveBlock(nodeName: string, newBlock: string, opts: LabOptions = {}): Promise<void> {
  const { stateDir } = resolveOptions(opts);
  const state = await requireState(stateDir);
  const node = findNode(state, nodeName);
  const oldPodAddress = node.podAddress;
  node.podBlock = newBlock;
  node.podAddress = addressIn(newBlock, 1);
  for (const c of state.spec.clusters) {
    for (const n of c.nodes) if (n.name === node.name) Object.assign(n, { podBlock: node.podBlock, podAddress: node.podAddress });
  }
  await writeBirdConfig(stateDir, node, peersOf(state, node));
  const out = await birdc(stateDir, node.name, ['configure']);
  if (!/Reconfigured|Reconfiguration in progress/.test(out)) throw new Error(`birdc configure on ${node.name} failed: ${out.trim()}`);
  await run('ip', ['netns', 'exec', node.namespace, 'sh', '-c', movePodScript(node, oldPodAddress)]);
  await writeState(stateDir, state);
}

export async function labState(opts: LabOptions = {}): Promise<LabState | undefined> {
  return readState(resolveOptions(opts).stateDir);
}
