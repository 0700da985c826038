// One run at a time per mesh: a coordination.k8s.io/v1 Lease named `meshplay` in the control plane cluster's
// istio-system. A run takes it before its first write, renews it while it runs and deletes it at the end; a
// Lease whose holder stopped renewing (renewTime + leaseDurationSeconds in the past) is taken over, so a crashed
// run blocks the next one for at most the lease duration, and not at all when it ran on this host and its process
// is gone (SIGKILL: the next run takes over at once). Writes use the Lease's resourceVersion, so two runs
// racing for a free or stale Lease cannot both win.
import { readlinkSync } from 'node:fs';
import os from 'node:os';
import { KubeApiError, type KubernetesConnection } from '../connection/kubernetes.js';
import { sleep } from '../sleep.js';
import { createdLabels } from './ownership.js';

export const LEASE_NAME = 'meshplay';
export const LEASE_NAMESPACE = 'istio-system';
export const LEASE_SECONDS = 15;
export const HOLDER_ANNOTATION = 'meshplay.io/holder';

const leasePath = (name = '') => `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases${name ? `/${name}` : ''}`;

/** Who holds the mesh: written into the Lease so the refused run can name it. */
export interface HolderInfo {
  user: string;
  host: string;
  pid: number;
  /** The pid namespace the pid belongs to (Linux: /proc/self/ns/pid), so a pid is only judged where it means something. */
  pidns?: string;
  playbook: string;
  started: string;
}

/** Another run holds the mesh's Lease (and kept it past --lock-timeout). */
export class MeshLocked extends Error {
  constructor(readonly cluster: string, readonly holder: string, readonly detail: string) {
    super(`${cluster}: the mesh is locked by another meshplay run: ${holder}${detail ? ` (${detail})` : ''}; Lease ${LEASE_NAMESPACE}/${LEASE_NAME}`);
  }
}

export interface MeshLease {
  readonly identity: string;
  release(): Promise<void>;
}

/** MicroTime as the API server parses it (RFC 3339 with six fraction digits). */
const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

export function holderInfo(playbooks: string[]): HolderInfo {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    /* no passwd entry: keep 'unknown' */
  }
  return { user, host: os.hostname(), pid: process.pid, pidns: pidNamespace(), playbook: playbooks.join(','), started: new Date().toISOString() };
}

function pidNamespace(): string | undefined {
  try {
    return readlinkSync('/proc/self/ns/pid');
  } catch {
    return undefined;
  }
}

/**
 * A holder that provably ended without releasing the Lease (SIGKILL, a crash): it ran on this host, in this pid
 * namespace, and its process no longer exists. Its Lease is taken over at once instead of after it expires; a
 * holder elsewhere (another host or container) is only ever judged by expiry.
 */
function abandoned(lease: any): boolean {
  const h = holderOf(lease);
  const ns = pidNamespace();
  if (!h || !ns || h.pidns !== ns || h.host !== os.hostname() || typeof h.pid !== 'number' || h.pid === process.pid) return false;
  if (lease?.spec?.holderIdentity !== `${h.user}@${h.host}:${h.pid}`) return false;
  try {
    process.kill(h.pid, 0);
    return false; // alive (or reused by another process: then wait for expiry, the safe side)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

function expired(lease: any, now = Date.now()): boolean {
  const spec = lease?.spec ?? {};
  if (!spec.holderIdentity) return true;
  const renewed = Date.parse(spec.renewTime ?? spec.acquireTime ?? '');
  if (!Number.isFinite(renewed)) return true;
  return renewed + (spec.leaseDurationSeconds ?? LEASE_SECONDS) * 1000 < now;
}

/** The holder a Lease's annotation records, when it has one meshplay wrote. */
function holderOf(lease: any): Partial<HolderInfo> | undefined {
  try {
    return JSON.parse(lease?.metadata?.annotations?.[HOLDER_ANNOTATION] ?? '') as Partial<HolderInfo>;
  } catch {
    return undefined;
  }
}

function describeHolder(lease: any): { holder: string; detail: string } {
  const holder = String(lease?.spec?.holderIdentity ?? 'unknown');
  const h = holderOf(lease);
  // Without the annotation the identity alone names it.
  const detail = h ? `user ${h.user}, host ${h.host}, pid ${h.pid}, playbook ${h.playbook}, started ${h.started}` : '';
  return { holder, detail };
}

async function ensureNamespace(conn: KubernetesConnection): Promise<void> {
  if (await conn.getOrUndefined(`/api/v1/namespaces/${LEASE_NAMESPACE}`)) return;
  try {
    // Created with meshplay's marks (runner/k8s/README.md): uninstall may remove it when nothing else is inside.
    await conn.request({ lock: true, method: 'POST', path: '/api/v1/namespaces', body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: LEASE_NAMESPACE, labels: createdLabels() } } });
  } catch (e) {
    if (!(e instanceof KubeApiError && e.status === 409)) throw e;
  }
}

/**
 * Takes the mesh Lease on `conn` (the control plane cluster), waiting up to `timeoutS` seconds while another live
 * run holds it; throws MeshLocked naming the holder when it is still held then.
 */
export async function acquireMeshLease(
  conn: KubernetesConnection,
  info: HolderInfo,
  opts: { timeoutS: number; signal?: AbortSignal; leaseSeconds?: number },
): Promise<MeshLease> {
  const leaseSeconds = opts.leaseSeconds ?? LEASE_SECONDS;
  const identity = `${info.user}@${info.host}:${info.pid}`;
  const deadline = Date.now() + opts.timeoutS * 1000;
  const spec = () => ({ holderIdentity: identity, leaseDurationSeconds: leaseSeconds, acquireTime: microTime(), renewTime: microTime() });
  const annotations = { [HOLDER_ANNOTATION]: JSON.stringify(info) };
  await ensureNamespace(conn);
  let held: any;
  for (;;) {
    const live: any = await conn.getOrUndefined(leasePath(LEASE_NAME));
    try {
      if (!live) {
        held = await conn.request({ lock: true, method: 'POST', path: leasePath(), body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE_NAME, namespace: LEASE_NAMESPACE, annotations }, spec: spec() } });
        break;
      }
      if (expired(live) || abandoned(live)) {
        const taken = { ...live, metadata: { ...live.metadata, annotations: { ...(live.metadata.annotations ?? {}), ...annotations } }, spec: { ...spec(), leaseTransitions: (live.spec?.leaseTransitions ?? 0) + 1 } };
        held = await conn.request({ lock: true, method: 'PUT', path: leasePath(LEASE_NAME), body: taken });
        break;
      }
    } catch (e) {
      // Another run created or took it between our read and write: read again.
      if (e instanceof KubeApiError && e.status === 409) continue;
      throw e;
    }
    if (Date.now() >= deadline || opts.signal?.aborted) {
      const { holder, detail } = describeHolder(live);
      throw new MeshLocked(conn.host, holder, detail);
    }
    await sleep(Math.min(1000, Math.max(50, deadline - Date.now())));
  }
  // Renew at a third of the duration so one slow request does not lose it.
  let renewing: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    renewing = renewing.then(async () => {
      try {
        held = await conn.request({ lock: true, method: 'PUT', path: leasePath(LEASE_NAME), body: { ...held, spec: { ...held.spec, renewTime: microTime() } } });
      } catch {
        /* the next tick tries again; a lost Lease shows as a 409 there too */
      }
    });
  }, (leaseSeconds * 1000) / 3);
  timer.unref();
  return {
    identity,
    async release() {
      clearInterval(timer);
      await renewing;
      try {
        await conn.request({ lock: true, method: 'DELETE', path: leasePath(LEASE_NAME), body: { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: held.metadata.uid, resourceVersion: held.metadata.resourceVersion } } });
      } catch {
        /* taken over or gone already: nothing of ours to release */
      }
    },
  };
}
