// Real Kubernetes API servers for the lab: per cluster one etcd, one kube-apiserver and one
// kube-controller-manager on loopback ports, with their own PKI, state and logs under stateDir/kube/<cluster>.
// No kubelet or scheduler: Pods stay Pending, Nodes are registered by hand and stay NotReady.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { ApiSettings } from '../../runner/inventory/types.js';
import type { LabSpec } from '../spec.js';
import { makeClusterPki, type ClusterPki } from './pki.js';
import { adminRequest, labApply, type AdminCredentials } from './rest.js';
import { isAlive } from '../proc.js';

/** The lab's shape (lab/spec.ts); kubeUp uses names, service CIDRs and each node's address and pod block. */
export type KubeLabSpec = LabSpec;

interface ClusterState {
  name: string;
  serviceCidr: string;
  ports: { etcdClient: number; etcdPeer: number; apiserver: number };
  pids: { etcd?: number; apiserver?: number; controllerManager?: number };
  startedMs?: number;
}

export interface ClusterMeasurement {
  name: string;
  startMs?: number;
  rssMb: { etcd?: number; apiserver?: number; controllerManager?: number; total: number };
}

const repoRoot = findRepoRoot(path.dirname(fileURLToPath(import.meta.url)));

function findRepoRoot(from: string): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg) && fs.existsSync(path.join(dir, 'schemas'))) return dir;
    if (path.dirname(dir) === dir) return path.resolve(from, '../..');
  }
}

export function crdDir(): string {
  return path.join(repoRoot, 'schemas', 'crds');
}

/** Locates kube-apiserver and kube-controller-manager as envtest does. */
export function findKubeBinaries(): { apiserver: string; controllerManager: string; etcd: string } {
  const candidates = [process.env.KUBEBUILDER_ASSETS, path.resolve(repoRoot, '../shared/k8s/bin')].filter(
    (d): d is string => !!d,
  );
  for (const dir of candidates) {
    const apiserver = path.join(dir, 'kube-apiserver');
    const controllerManager = path.join(dir, 'kube-controller-manager');
    if (fs.existsSync(apiserver) && fs.existsSync(controllerManager)) {
      const etcd = [path.join(dir, 'etcd'), '/usr/bin/etcd'].find((p) => fs.existsSync(p));
      if (!etcd) throw new Error('etcd not found: install Debian\'s etcd-server (apt-get install etcd-server) or put an etcd binary beside kube-apiserver');
      return { apiserver, controllerManager, etcd };
    }
  }
  throw new Error(
    `kube-apiserver and kube-controller-manager not found (looked in ${candidates.join(', ')}). ` +
      'Set KUBEBUILDER_ASSETS to a directory holding both binaries (e.g. from a Kubernetes server release or ' +
      '`setup-envtest use`), or put them in ../shared/k8s/bin relative to the meshplay checkout.',
  );
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}


function rssMb(pid: number | undefined): number | undefined {
  if (!isAlive(pid)) return undefined;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : undefined;
  } catch {
    return undefined;
  }
}

/** First usable address of a CIDR (the `kubernetes` Service's ClusterIP). */
function firstAddress(cidr: string): string {
  const [ip] = cidr.split('/');
  const parts = ip.split('.').map(Number);
  parts[3] += 1;
  return parts.join('.');
}

class ClusterDir {
  constructor(readonly root: string) {}
  p(...names: string[]): string {
    return path.join(this.root, ...names);
  }
  get statePath() {
    return this.p('state.json');
  }
  readState(): ClusterState | undefined {
    try {
      return JSON.parse(fs.readFileSync(this.statePath, 'utf8')) as ClusterState;
    } catch {
      return undefined;
    }
  }
  writeState(s: ClusterState) {
    fs.writeFileSync(this.statePath, JSON.stringify(s, null, 2) + '\n');
  }
  creds(s: ClusterState): AdminCredentials {
    return {
      url: `https://127.0.0.1:${s.ports.apiserver}`,
      caPem: fs.readFileSync(this.p('pki', 'ca.crt'), 'utf8'),
      certPem: fs.readFileSync(this.p('pki', 'admin.crt'), 'utf8'),
      keyPem: fs.readFileSync(this.p('pki', 'admin.key'), 'utf8'),
    };
  }
}

async function writePki(dir: ClusterDir, name: string, serviceCidr: string): Promise<void> {
  if (fs.existsSync(dir.p('pki', 'sa.key'))) return;
  const pki: ClusterPki = await makeClusterPki(name, firstAddress(serviceCidr));
  await fsp.mkdir(dir.p('pki'), { recursive: true, mode: 0o700 });
  const files: Record<string, string> = {
    'ca.crt': pki.ca.certPem,
    'ca.key': pki.ca.keyPem,
    'apiserver.crt': pki.serving.certPem,
    'apiserver.key': pki.serving.keyPem,
    'admin.crt': pki.admin.certPem,
    'admin.key': pki.admin.keyPem,
    'controller-manager.crt': pki.controllerManager.certPem,
    'controller-manager.key': pki.controllerManager.keyPem,
    'sa.pub': pki.serviceAccount.publicPem,
    'sa.key': pki.serviceAccount.privatePem,
  };
  for (const [f, content] of Object.entries(files)) {
    await fsp.writeFile(dir.p('pki', f), content, { mode: f.endsWith('.key') ? 0o600 : 0o644 });
  }
}

function kubeconfigYaml(cluster: string, url: string, caPem: string, certPem: string, keyPem: string, user: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: url, 'certificate-authority-data': b64(caPem) } }],
    users: [{ name: user, user: { 'client-certificate-data': b64(certPem), 'client-key-data': b64(keyPem) } }],
    contexts: [{ name: cluster, context: { cluster, user } }],
    'current-context': cluster,
  };
  return JSON.stringify(doc, null, 2) + '\n'; // JSON is YAML; every kubeconfig reader accepts it
}

function writeKubeconfigs(dir: ClusterDir, s: ClusterState): void {
  const url = `https://127.0.0.1:${s.ports.apiserver}`;
  const read = (f: string) => fs.readFileSync(dir.p('pki', f), 'utf8');
  fs.writeFileSync(dir.p('kubeconfig'), kubeconfigYaml(s.name, url, read('ca.crt'), read('admin.crt'), read('admin.key'), `${s.name}-admin`), { mode: 0o600 });
  fs.writeFileSync(
    dir.p('controller-manager.kubeconfig'),
    kubeconfigYaml(s.name, url, read('ca.crt'), read('controller-manager.crt'), read('controller-manager.key'), 'system:kube-controller-manager'),
    { mode: 0o600 },
  );
}

function launch(dir: ClusterDir, logName: string, bin: string, args: string[]): number {
  const log = fs.openSync(dir.p(`${logName}.log`), 'a');
  // Detached with its own process group so `meshplay lab up` can exit while the cluster keeps running.
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', log, log] });
  fs.closeSync(log);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${bin}`);
  return child.pid;
}

function logTail(dir: ClusterDir, logName: string): string {
  try {
    const text = fs.readFileSync(dir.p(`${logName}.log`), 'utf8');
    return text.split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function healthy(creds: AdminCredentials, timeoutMs = 2000): Promise<boolean> {
  try {
    const res = await adminRequest(creds, 'GET', '/readyz', undefined, undefined, timeoutMs);
    return res.status === 200;
  } catch {
    return false;
  }
}

async function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

async function pickPorts(previous?: ClusterState['ports']): Promise<ClusterState['ports']> {
  if (previous && (await portFree(previous.etcdClient)) && (await portFree(previous.etcdPeer)) && (await portFree(previous.apiserver))) {
    return previous;
  }
  return { etcdClient: await freePort(), etcdPeer: await freePort(), apiserver: await freePort() };
}

async function waitFor(what: string, timeoutMs: number, check: () => Promise<boolean>, died?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    const death = died?.();
    if (death) throw new Error(death);
    if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// Every request a client makes, at Metadata level (verb, user, user agent, URI, status; no bodies, so no
// secret values), one JSON line per request once its response is complete. The controller manager's own
// traffic and health probes are left out: the log is for counting what the tools under test send.
const AUDIT_POLICY = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    users: ["system:kube-controller-manager"]
  - level: None
    userGroups: ["system:serviceaccounts:kube-system"]
  - level: None
    nonResourceURLs: ["/readyz*", "/healthz*", "/livez*"]
  - level: Metadata
`;

/** The API server's audit log (JSON lines, Metadata level) of the lab cluster `name`. */
export function auditLogPath(stateDir: string, name: string): string {
  return path.join(clusterDirOf(stateDir, name), 'audit.log');
}

export interface StartOptions {
  name: string;
  serviceCidr: string;
  /** Directory holding this cluster's state (pki, etcd data, logs, pids). */
  dir: string;
}

export interface StartedCluster {
  name: string;
  dir: string;
  api: ApiSettings & { kubeconfig: string; context: string; url: string };
  admin: AdminCredentials;
  pids: { etcd: number; apiserver: number; controllerManager: number };
  startMs: number;
  reused: boolean;
}

/** Starts (or finds running and healthy) one cluster's etcd, kube-apiserver and kube-controller-manager. */
export async function startCluster(opts: StartOptions): Promise<StartedCluster> {
  const t0 = Date.now();
  const dir = new ClusterDir(path.resolve(opts.dir));
  await fsp.mkdir(dir.root, { recursive: true, mode: 0o700 });
  const previous = dir.readState();
  const result = (s: ClusterState, reused: boolean): StartedCluster => ({
    name: s.name,
    dir: dir.root,
    api: { kubeconfig: dir.p('kubeconfig'), context: s.name, url: `https://127.0.0.1:${s.ports.apiserver}` },
    admin: dir.creds(s),
    pids: s.pids as StartedCluster['pids'],
    startMs: reused ? Date.now() - t0 : s.startedMs ?? 0,
    reused,
  });

  if (previous && isAlive(previous.pids.etcd) && isAlive(previous.pids.apiserver) && isAlive(previous.pids.controllerManager)) {
    if (await healthy(dir.creds(previous))) return result(previous, true);
  }
  if (previous) await stopPids(previous.pids);

  const bins = findKubeBinaries();
  await writePki(dir, opts.name, opts.serviceCidr);
  const state: ClusterState = { name: opts.name, serviceCidr: opts.serviceCidr, ports: await pickPorts(previous?.ports), pids: {} };
  writeKubeconfigs(dir, state);
  const { etcdClient, etcdPeer, apiserver } = state.ports;
  const pki = (f: string) => dir.p('pki', f);

  const etcdUrl = `http://127.0.0.1:${etcdClient}`;
  const peerUrl = `http://127.0.0.1:${etcdPeer}`;
  state.pids.etcd = launch(dir, 'etcd', bins.etcd, [
    `--name=${opts.name}`,
    `--data-dir=${dir.p('etcd')}`,
    `--listen-client-urls=${etcdUrl}`,
    `--advertise-client-urls=${etcdUrl}`,
    `--listen-peer-urls=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    `--initial-cluster=${opts.name}=${peerUrl}`,
    '--initial-cluster-state=new',
    `--initial-cluster-token=meshplay-lab-${opts.name}`,
    '--log-level=warn',
    '--logger=zap',
  ]);
  dir.writeState(state);

  fs.writeFileSync(dir.p('audit-policy.yaml'), AUDIT_POLICY);
  state.pids.apiserver = launch(dir, 'kube-apiserver', bins.apiserver, [
    `--etcd-servers=${etcdUrl}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${apiserver}`,
    `--cert-dir=${dir.p('pki')}`,
    `--tls-cert-file=${pki('apiserver.crt')}`,
    `--tls-private-key-file=${pki('apiserver.key')}`,
    `--client-ca-file=${pki('ca.crt')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki('sa.pub')}`,
    `--service-account-signing-key-file=${pki('sa.key')}`,
    `--service-cluster-ip-range=${opts.serviceCidr}`,
    '--authorization-mode=RBAC',
    '--endpoint-reconciler-type=none',
    '--allow-privileged=true',
    '--profiling=false',
    `--audit-policy-file=${dir.p('audit-policy.yaml')}`,
    `--audit-log-path=${dir.p('audit.log')}`,
    '--v=1',
  ]);
  dir.writeState(state);

  const creds = dir.creds(state);
  const exited = (): string | undefined => {
    if (!isAlive(state.pids.etcd)) return `etcd for cluster ${opts.name} exited:\n${logTail(dir, 'etcd')}`;
    if (!isAlive(state.pids.apiserver)) return `kube-apiserver for cluster ${opts.name} exited:\n${logTail(dir, 'kube-apiserver')}`;
    return undefined;
  };
  // Generous: on a loaded machine (CI, several labs at once) etcd + apiserver can take minutes; ready returns at once.
  await waitFor(`kube-apiserver of cluster ${opts.name}`, 180_000, () => healthy(creds), exited);

  state.pids.controllerManager = launch(dir, 'kube-controller-manager', bins.controllerManager, [
    `--kubeconfig=${dir.p('controller-manager.kubeconfig')}`,
    `--service-account-private-key-file=${pki('sa.key')}`,
    `--root-ca-file=${pki('ca.crt')}`,
    '--use-service-account-credentials',
    '--leader-elect=false',
    '--controllers=*',
    `--cluster-name=${opts.name}`,
    // Not serving its own HTTPS endpoint: four clusters would fight over the default port 10257.
    '--secure-port=0',
    '--v=1',
  ]);
  state.startedMs = Date.now() - t0;
  dir.writeState(state);
  return result(state, false);
}

async function stopPids(pids: ClusterState['pids']): Promise<void> {
  // API server and controller manager together, etcd last, so the API server can shut down cleanly.
  await Promise.all([pids.controllerManager, pids.apiserver].map(terminate));
  await terminate(pids.etcd);
}

async function terminate(pid: number | undefined): Promise<void> {
  if (!isAlive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (isAlive(pid)) process.kill(pid, 'SIGKILL');
}


/** Stops one cluster by its recorded PIDs; keeps its files unless `remove`. */
export async function stopCluster(dirPath: string, remove = false): Promise<void> {
  const dir = new ClusterDir(path.resolve(dirPath));
  const s = dir.readState();
  if (s) await stopPids(s.pids);
  if (remove) await fsp.rm(dir.root, { recursive: true, force: true });
}

/** Server-side applies every CRD in schemas/crds and waits until each is Established. */
export async function installIstioCrds(creds: AdminCredentials): Promise<string[]> {
  const names: string[] = [];
  for (const file of (await fsp.readdir(crdDir())).filter((f) => f.endsWith('.yaml')).sort()) {
    const text = await fsp.readFile(path.join(crdDir(), file), 'utf8');
    for (const doc of parseAllDocuments(text)) {
      const crd = doc.toJS() as { metadata: { name: string } } | null;
      if (!crd) continue;
      await labApply(creds, `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`, crd);
      names.push(crd.metadata.name);
    }
  }
  await Promise.all(
    names.map((name) =>
      waitFor(`CRD ${name}`, 30_000, async () => {
        const res = await adminRequest(creds, 'GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        if (res.status !== 200) return false;
        const conds: { type: string; status: string }[] = res.json().status?.conditions ?? [];
        return conds.some((c) => c.type === 'Established' && c.status === 'True');
      }),
    ),
  );
  return names;
}

/** Registers lab nodes as Node objects so the API and the routed network agree on names, addresses and pod blocks. */
export async function registerNodes(creds: AdminCredentials, nodes: { name: string; address: string; podBlock: string }[]): Promise<void> {
  for (const n of nodes) {
    const node = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name, labels: { 'kubernetes.io/hostname': n.name, 'meshplay.io/lab': 'true' } },
      spec: { podCIDR: n.podBlock, podCIDRs: [n.podBlock] },
    };
    await labApply(creds, `/api/v1/nodes/${n.name}`, node);
    await labApply(creds, `/api/v1/nodes/${n.name}/status`, {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: n.name },
      status: { addresses: [{ type: 'InternalIP', address: n.address }, { type: 'Hostname', address: n.name }] },
    });
  }
}

async function setupFingerprint(nodes: unknown): Promise<string> {
  const h = createHash('sha256').update(JSON.stringify(nodes));
  for (const f of (await fsp.readdir(crdDir())).sort()) h.update(f).update(await fsp.readFile(path.join(crdDir(), f)));
  return h.digest('hex');
}

function clusterDirOf(stateDir: string, name: string): string {
  return path.join(path.resolve(stateDir), 'kube', name);
}

/** Starts every cluster of the lab (in parallel), registers its nodes and installs the Istio CRDs. */
export async function kubeUp(spec: LabSpec, stateDir: string): Promise<Record<string, ApiSettings>> {
  const started = await Promise.all(
    spec.clusters.map(async (c) => {
      const dir = clusterDirOf(stateDir, c.name);
      const cluster = await startCluster({ name: c.name, serviceCidr: c.serviceCidr, dir });
      // A running cluster already set up for the same nodes and CRD files needs no requests at all.
      const setupKey = await setupFingerprint(c.nodes);
      const marker = path.join(dir, 'setup.sha256');
      if (cluster.reused && fs.existsSync(marker) && fs.readFileSync(marker, 'utf8') === setupKey) return cluster;
      await registerNodes(cluster.admin, c.nodes);
      await installIstioCrds(cluster.admin);
      fs.writeFileSync(marker, setupKey);
      return cluster;
    }),
  );
  return Object.fromEntries(started.map((c) => [c.name, c.api]));
}

/** Stops every lab cluster by its recorded PIDs and removes its state. */
export async function kubeDown(stateDir: string): Promise<void> {
  const root = path.join(path.resolve(stateDir), 'kube');
  let names: string[] = [];
  try {
    names = await fsp.readdir(root);
  } catch {
    return;
  }
  await Promise.all(names.map((n) => stopCluster(path.join(root, n), true)));
  await fsp.rm(root, { recursive: true, force: true });
}

export function measureCluster(dirPath: string): ClusterMeasurement | undefined {
  const s = new ClusterDir(path.resolve(dirPath)).readState();
  if (!s) return undefined;
  const etcd = rssMb(s.pids.etcd);
  const apiserver = rssMb(s.pids.apiserver);
  const controllerManager = rssMb(s.pids.controllerManager);
  return { name: s.name, startMs: s.startedMs, rssMb: { etcd, apiserver, controllerManager, total: (etcd ?? 0) + (apiserver ?? 0) + (controllerManager ?? 0) } };
}

/** One line per lab cluster: health, URL, PIDs and memory. */
export async function kubeStatus(stateDir: string): Promise<string[]> {
  const root = path.join(path.resolve(stateDir), 'kube');
  let names: string[] = [];
  try {
    names = (await fsp.readdir(root)).sort();
  } catch {
    return [];
  }
  const lines: string[] = [];
  for (const name of names) {
    const dir = new ClusterDir(path.join(root, name));
    const s = dir.readState();
    if (!s) continue;
    const up = isAlive(s.pids.apiserver) && (await healthy(dir.creds(s)));
    const m = measureCluster(dir.root);
    const procs = (['etcd', 'apiserver', 'controllerManager'] as const)
      .map((k) => `${k} ${isAlive(s.pids[k]) ? `pid ${s.pids[k]} ${m?.rssMb[k] ?? '?'} MB` : 'stopped'}`)
      .join(', ');
    lines.push(`${name}: ${up ? 'ready' : 'NOT READY'} https://127.0.0.1:${s.ports.apiserver} (${procs}; total ${m?.rssMb.total ?? 0} MB)`);
  }
  return lines;
}
