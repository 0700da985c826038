// A real Istio control plane for the lab: Istio 1.3's pilot-discovery (../shared/istio/bin, see its README) run
// against the control-plane cluster's kube-apiserver, so the remote secrets meshplay writes are read by Istio's own
// code. Files (mesh config, log, state with the PID) live under stateDir/pilot; it is stopped by that PID only.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import http from 'node:http';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from './kube/index.js';
import { isAlive, stopLabProcess } from './proc.js';

export interface PilotState {
  pid: number;
  cluster: string;
  httpAddr: string;
  grpcAddr: string;
  monitoringAddr: string;
  ctrlzPort: number;
  log: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function pilotBinary(): string {
  const candidates = [process.env.MESHPLAY_PILOT, path.resolve(repoRoot, '../shared/istio/bin/pilot-discovery')].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`pilot-discovery not found (looked at ${candidates.join(', ')}); set MESHPLAY_PILOT to Istio 1.3's pilot-discovery binary`);
  return found;
}

const dirOf = (stateDir: string) => path.join(path.resolve(stateDir), 'pilot');
const statePath = (stateDir: string) => path.join(dirOf(stateDir), 'state.json');

export function pilotState(stateDir: string): PilotState | undefined {
  try {
    const s = JSON.parse(fs.readFileSync(statePath(stateDir), 'utf8')) as PilotState;
    return isAlive(s.pid) ? s : undefined;
  } catch {
    return undefined;
  }
}

export function httpGet(url: string, timeoutMs = 3000): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${url} timed out`)));
    req.on('error', reject);
  });
}

/**
 * Starts Pilot against `kubeconfig` (the control-plane cluster's admin kubeconfig), or returns the running one.
 * The cluster needs the istio-system namespace and the Istio CRDs (the lab installs both).
 */
export async function startPilot(opts: { stateDir: string; cluster: string; kubeconfig: string; timeoutMs?: number }): Promise<PilotState> {
  const running = pilotState(opts.stateDir);
  if (running && running.cluster === opts.cluster) return running;
  if (running) await stopPilot(opts.stateDir);
  const dir = dirOf(opts.stateDir);
  await fsp.mkdir(dir, { recursive: true });
  // Kubernetes 1.26 no longer serves the Ingress version Pilot 1.3 watches; tracing needs a collector.
  await fsp.writeFile(path.join(dir, 'mesh.yaml'), 'ingressControllerMode: "OFF"\nenableTracing: false\n');
  await fsp.writeFile(path.join(dir, 'meshNetworks.yaml'), 'networks: {}\n');
  const [h, g, m, z] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const log = path.join(dir, 'pilot.log');
  const fd = fs.openSync(log, 'a');
  const child = spawn(
    pilotBinary(),
    [
      'discovery',
      '--kubeconfig', opts.kubeconfig,
      '--registries', 'Kubernetes',
      '--meshConfig', path.join(dir, 'mesh.yaml'),
      '--networksConfig', path.join(dir, 'meshNetworks.yaml'),
      '--disable-install-crds=true',
      '--httpAddr', `127.0.0.1:${h}`,
      '--grpcAddr', `127.0.0.1:${g}`,
      '--secureGrpcAddr', '',
      '--monitoringAddr', `127.0.0.1:${m}`,
      '--ctrlz_address', '127.0.0.1',
      '--ctrlz_port', String(z),
    ],
    { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, POD_NAMESPACE: 'istio-system' } },
  );
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error('could not start pilot-discovery');
  const state: PilotState = {
    pid: child.pid,
    cluster: opts.cluster,
    httpAddr: `127.0.0.1:${h}`,
    grpcAddr: `127.0.0.1:${g}`,
    monitoringAddr: `127.0.0.1:${m}`,
    ctrlzPort: z,
    log,
  };
  await fsp.writeFile(statePath(opts.stateDir), JSON.stringify(state, null, 2) + '\n');
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  for (;;) {
    if (!isAlive(child.pid)) throw new Error(`pilot-discovery exited:\n${tail(log)}`);
    try {
      if ((await httpGet(`http://${state.httpAddr}/debug/registryz`)).status === 200) return state;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`pilot-discovery not answering on ${state.httpAddr}:\n${tail(log)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function tail(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(-20).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Stops the lab's Pilot by its recorded PID. */
export async function stopPilot(stateDir: string): Promise<void> {
  let s: PilotState | undefined;
  try {
    s = JSON.parse(fs.readFileSync(statePath(stateDir), 'utf8')) as PilotState;
  } catch {
    return;
  }
  // Only the Pilot this lab started: its command line names this lab's mesh config.
  await stopLabProcess(s.pid, undefined, path.join(dirOf(stateDir), 'mesh.yaml'), 5000);
  await fsp.rm(statePath(stateDir), { force: true });
}

/** Hostnames of the Services Pilot's registry holds (GET /debug/registryz). */
export async function pilotServices(state: Pick<PilotState, 'httpAddr'>): Promise<string[]> {
  const res = await httpGet(`http://${state.httpAddr}/debug/registryz`);
  if (res.status !== 200) throw new Error(`Pilot /debug/registryz answered ${res.status}`);
  const list = JSON.parse(res.body || '[]') as { hostname?: string }[] | null;
  return (list ?? []).map((s) => s.hostname ?? '').filter(Boolean).sort();
}

/** Remote clusters Pilot reports loaded, from its log ("Adding new cluster member" / "Deleting cluster member"). */
export function pilotRemoteClusters(state: Pick<PilotState, 'log'>): string[] {
  const loaded = new Set<string>();
  let text = '';
  try {
    text = fs.readFileSync(state.log, 'utf8');
  } catch {
    return [];
  }
  for (const line of text.split('\n')) {
    const add = /Adding new cluster member: (\S+)/.exec(line);
    if (add) loaded.add(add[1]!);
    const del = /Deleting cluster member:? (\S+)/.exec(line);
    if (del) loaded.delete(del[1]!);
  }
  return [...loaded].sort();
}
