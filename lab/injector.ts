// The lab's stand-in for a kubelet running Istio's sidecar injector in each remote cluster: it reads back the
// `istio-sidecar-injector` Deployment meshplay installed, writes the files of the ConfigMaps and Secret that
// Deployment mounts (as the kubelet would), and runs Istio 1.3's real injector (../shared/istio/bin/sidecar-injector)
// with the Deployment's own arguments on a loopback port. The API server reaches it through meshplay's
// MutatingWebhookConfiguration: the lab gives each remote cluster a fixed injector URL (the inventory variable
// istio_sidecar_injector_url), meshplay registers it and puts the URL's address in the serving certificate.
// Nothing here comes from meshplay's inputs: no Deployment in the cluster, no injector.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import net from 'node:net';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { freePort } from './kube/index.js';
import { isAlive, stopLabProcess } from './proc.js';
import { adminRequest, type AdminCredentials } from './kube/rest.js';
import { labCredentials } from './fixtures/control-plane.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const NS = 'istio-system';
const DEPLOYMENT = 'istio-sidecar-injector';

export function injectorBinary(): string {
  const candidates = [process.env.MESHPLAY_SIDECAR_INJECTOR, path.resolve(repoRoot, '../shared/istio/bin/sidecar-injector')].filter(
    (p): p is string => !!p,
  );
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`sidecar-injector not found (looked at ${candidates.join(', ')}); set MESHPLAY_SIDECAR_INJECTOR to Istio 1.3's sidecar-injector`);
  return found;
}

interface InjectorRecord {
  cluster: string;
  port: number;
  monitoringPort: number;
  pid?: number;
  /** Hash of the arguments the running injector was started with (a change restarts it). */
  argsHash?: string;
}

const dirOf = (stateDir: string, cluster: string) => path.join(path.resolve(stateDir), 'injector', cluster);
const recordPath = (stateDir: string, cluster: string) => path.join(dirOf(stateDir, cluster), 'state.json');

function readRecord(stateDir: string, cluster: string): InjectorRecord | undefined {
  try {
    return JSON.parse(fs.readFileSync(recordPath(stateDir, cluster), 'utf8')) as InjectorRecord;
  } catch {
    return undefined;
  }
}

async function writeRecord(stateDir: string, r: InjectorRecord): Promise<void> {
  await fsp.mkdir(dirOf(stateDir, r.cluster), { recursive: true });
  await fsp.writeFile(recordPath(stateDir, r.cluster), JSON.stringify(r, null, 2) + '\n');
}

/** The injector URL of each remote cluster, with its port chosen once (kept across `lab up`s). */
export async function injectorUrls(stateDir: string, clusters: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const cluster of clusters) {
    let r = readRecord(stateDir, cluster);
    if (!r) {
      r = { cluster, port: await freePort(), monitoringPort: await freePort() };
      await writeRecord(stateDir, r);
    }
    out[cluster] = `https://127.0.0.1:${r.port}/inject`;
  }
  return out;
}

export interface InjectorStatus {
  cluster: string;
  /** running: serving what the cluster holds; absent: meshplay installed no injector Deployment there. */
  state: 'running' | 'absent';
  url?: string;
  pid?: number;
  log?: string;
}

interface Volume {
  name: string;
  configMap?: { name: string; items?: { key: string; path: string }[] };
  secret?: { secretName: string; items?: { key: string; path: string }[] };
}

async function get(creds: AdminCredentials, p: string): Promise<any | undefined> {
  const r = await adminRequest(creds, 'GET', p);
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new Error(`GET ${p}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  return r.json();
}

/** Writes `content` only when it differs: the injector reloads on every change in the directories it watches. */
async function writeIfChanged(file: string, content: string | Buffer): Promise<boolean> {
  const buf = Buffer.isBuffer(content) ? content : Buffer.from(content);
  try {
    if ((await fsp.readFile(file)).equals(buf)) return false;
  } catch {
    /* new file */
  }
  await fsp.mkdir(path.dirname(file), { recursive: true });
  await fsp.writeFile(`${file}.tmp`, buf, { mode: 0o600 });
  await fsp.rename(`${file}.tmp`, file);
  return true;
}

/**
 * The injector's kubeconfig: a token of the ServiceAccount the Deployment names (TokenRequest), as the kubelet would
 * mount it, so the injector talks to the API with the RBAC meshplay gave it (and is not counted as admin traffic).
 */
async function injectorKubeconfig(stateDir: string, cluster: string, creds: AdminCredentials, serviceAccount: string): Promise<string> {
  const file = path.join(dirOf(stateDir, cluster), 'kubeconfig');
  const r = await adminRequest(creds, 'POST', `/api/v1/namespaces/${NS}/serviceaccounts/${encodeURIComponent(serviceAccount)}/token`, {
    apiVersion: 'authentication.k8s.io/v1',
    kind: 'TokenRequest',
    spec: { expirationSeconds: 86_400 },
  });
  if (r.status >= 300) throw new Error(`${cluster}: token for ServiceAccount ${serviceAccount}: HTTP ${r.status}: ${r.body.slice(0, 200)}`);
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server: creds.url, 'certificate-authority-data': Buffer.from(creds.caPem).toString('base64') } }],
    users: [{ name: serviceAccount, user: { token: r.json().status.token } }],
    contexts: [{ name: cluster, context: { cluster, user: serviceAccount } }],
    'current-context': cluster,
  };
  await writeIfChanged(file, JSON.stringify(doc, null, 2) + '\n');
  return file;
}

/** Stops this cluster's injector, verified by its command line naming this lab's kubeconfig for it. */
function stop(stateDir: string, cluster: string, pid: number | undefined): Promise<boolean> {
  return stopLabProcess(pid, undefined, `--kubeconfig=${path.join(dirOf(stateDir, cluster), 'kubeconfig')}`, 5000);
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port, timeout: 500 });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.once('connect', () => done(true));
    s.once('timeout', () => done(false));
    s.once('error', () => done(false));
  });
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * One pass for one remote cluster: the injector runs exactly when meshplay's Deployment exists, with the files of
 * the volumes it mounts as they are in the cluster now. Resolves when the injector listens (or is stopped).
 */
export async function syncInjector(stateDir: string, cluster: string): Promise<InjectorStatus> {
  const creds = labCredentials(stateDir, cluster);
  const record = readRecord(stateDir, cluster) ?? { cluster, port: await freePort(), monitoringPort: await freePort() };
  const dir = dirOf(stateDir, cluster);
  const deployment = await get(creds, `/apis/apps/v1/namespaces/${NS}/deployments/${DEPLOYMENT}`);
  if (!deployment) {
    await stop(stateDir, cluster, record.pid);
    delete record.pid;
    delete record.argsHash;
    await writeRecord(stateDir, record);
    return { cluster, state: 'absent' };
  }
  const pod = deployment.spec.template.spec;
  const container = pod.containers[0];
  const volumes = new Map<string, Volume>((pod.volumes ?? []).map((v: Volume) => [v.name, v]));
  // Each mount becomes a directory under dir/root, as the kubelet would project it.
  const mounts: { mountPath: string; local: string }[] = [];
  for (const m of container.volumeMounts ?? []) {
    const v = volumes.get(m.name);
    const local = path.join(dir, 'root', m.mountPath);
    mounts.push({ mountPath: m.mountPath, local });
    let data: Record<string, Buffer> = {};
    let items: { key: string; path: string }[] | undefined;
    if (v?.configMap) {
      const cm = await get(creds, `/api/v1/namespaces/${NS}/configmaps/${v.configMap.name}`);
      if (!cm) throw new Error(`${cluster}: ConfigMap ${v.configMap.name} mounted by ${DEPLOYMENT} does not exist`);
      data = Object.fromEntries(Object.entries((cm.data ?? {}) as Record<string, string>).map(([k, s]) => [k, Buffer.from(s)]));
      items = v.configMap.items;
    } else if (v?.secret) {
      const s = await get(creds, `/api/v1/namespaces/${NS}/secrets/${v.secret.secretName}`);
      if (!s) throw new Error(`${cluster}: Secret ${v.secret.secretName} mounted by ${DEPLOYMENT} does not exist`);
      data = Object.fromEntries(Object.entries((s.data ?? {}) as Record<string, string>).map(([k, b]) => [k, Buffer.from(b, 'base64')]));
      items = v.secret.items;
    } else continue;
    const files = items ?? Object.keys(data).map((key) => ({ key, path: key }));
    for (const f of files) {
      if (!data[f.key]) throw new Error(`${cluster}: key ${f.key} missing from the ${m.name} volume of ${DEPLOYMENT}`);
      await writeIfChanged(path.join(local, f.path), data[f.key]!);
    }
  }
  // The Deployment's own arguments, with in-pod paths mapped to the projected files. The health file goes
  // outside every watched directory (a write there would make the injector reload in a loop).
  const localPath = (p: string): string => {
    if (p === '/health') return path.join(dir, 'health');
    const m = mounts.find((x) => p.startsWith(x.mountPath.replace(/\/?$/, '/')));
    return m ? path.join(m.local, p.slice(m.mountPath.replace(/\/?$/, '/').length)) : p;
  };
  const args = (container.args as string[]).map((a) => {
    const eq = /^(--[A-Za-z]+)=(\/.*)$/.exec(a);
    return eq ? `${eq[1]}=${localPath(eq[2]!)}` : a;
  });
  // The chart's injector reads `values` beside `config` by default (/etc/istio/inject/values).
  if (!args.some((a) => a.startsWith('--injectValues'))) args.push(`--injectValues=${localPath('/etc/istio/inject/values')}`);
  args.push(`--port=${record.port}`, `--monitoringPort=${record.monitoringPort}`, `--kubeconfig=${path.join(dir, 'kubeconfig')}`);
  const argsHash = createHash('sha256').update(JSON.stringify(args)).digest('hex');
  const log = path.join(dir, 'sidecar-injector.log');
  if (!isAlive(record.pid) || record.argsHash !== argsHash) {
    await stop(stateDir, cluster, record.pid);
    await injectorKubeconfig(stateDir, cluster, creds, pod.serviceAccountName ?? 'default');
    const fd = fs.openSync(log, 'a');
    const child = spawn(injectorBinary(), args, { detached: true, stdio: ['ignore', fd, fd], cwd: dir });
    fs.closeSync(fd);
    child.unref();
    if (!child.pid) throw new Error('could not start sidecar-injector');
    record.pid = child.pid;
    record.argsHash = argsHash;
    await writeRecord(stateDir, record);
  }
  const deadline = Date.now() + 15_000;
  while (!(await answers(record.port))) {
    if (!isAlive(record.pid)) throw new Error(`${cluster}: sidecar-injector exited:\n${tail(log)}`);
    if (Date.now() > deadline) throw new Error(`${cluster}: sidecar-injector not listening on ${record.port}:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return { cluster, state: 'running', url: `https://127.0.0.1:${record.port}/inject`, pid: record.pid, log };
}

/** syncInjector for every given remote cluster. */
export async function syncInjectors(stateDir: string, clusters: string[]): Promise<InjectorStatus[]> {
  return Promise.all(clusters.map((c) => syncInjector(stateDir, c)));
}

/** Stops every lab injector by its recorded PID. */
export async function stopInjectors(stateDir: string): Promise<void> {
  let clusters: string[] = [];
  try {
    clusters = await fsp.readdir(path.join(path.resolve(stateDir), 'injector'));
  } catch {
    return;
  }
  for (const c of clusters) {
    const r = readRecord(stateDir, c);
    await stop(stateDir, c, r?.pid);
  }
  await fsp.rm(path.join(path.resolve(stateDir), 'injector'), { recursive: true, force: true });
}
