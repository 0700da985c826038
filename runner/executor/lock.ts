// The run's hold on the mesh (issue 19): before the first write a run takes the mesh Lease on the control plane
// cluster (runner/k8s/lease.ts). --check writes nothing and takes no lock; playbooks whose plays target no
// cluster host take none either.
import { ExitCode } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { selectHosts } from '../inventory/patterns.js';
import type { Playbook } from '../playbook/types.js';
import type { Connection } from '../connection/types.js';

export interface RunLock {
  release(): Promise<void>;
}

const NO_LOCK: RunLock = { release: async () => {} };

/** Whether any play targets a cluster host (a templated pattern is assumed to). */
export function touchesClusters(inventory: Inventory, playbooks: Playbook[], limit?: string): boolean {
  return playbooks.some((pb) =>
    pb.plays.some((play) => {
      if (String(play.hosts).includes('{{')) return true;
      return selectHosts(inventory, String(play.hosts), limit).hosts.some((h) => inventory.hosts.get(h)?.kind === 'cluster');
    }),
  );
}

/**
 * Takes the mesh Lease for a run, or returns the exit code that ends the run (ExitCode.locked) after saying
 * which run holds it.
 */
export async function lockMesh(
  inventory: Inventory,
  playbooks: Playbook[],
  opts: { check: boolean; lockTimeout: number; limit?: string; playbooks: string[] },
  signal: AbortSignal,
  run: {
    /** The run's own connection to a host (its pool): one connection per cluster, and a cluster that cannot be
     * reached costs one connect timeout for the whole run, not one for the lock and another for the tasks. */
    connection(host: string): Promise<Connection>;
    /** Masks the run's secrets in a message printed before the reporters run. */
    mask(text: string): string;
  },
): Promise<RunLock | number> {
  if (opts.check) return NO_LOCK;
  const controlPlane = inventory.groups.get('control_plane')?.map((h) => inventory.hosts.get(h)).find((h) => h?.kind === 'cluster');
  if (!controlPlane || !touchesClusters(inventory, playbooks, opts.limit)) return NO_LOCK;
  const [{ KubernetesConnection }, { acquireMeshLease, holderInfo, MeshLocked }] = await Promise.all([import('../connection/kubernetes.js'), import('../k8s/lease.js')]);
  let conn: Connection;
  try {
    conn = await run.connection(controlPlane.name);
  } catch (e) {
    // The run itself reports the unreachable cluster, host by host; it cannot write to it either.
    process.stderr.write(`[WARNING]: ${controlPlane.name}: mesh Lease not taken: ${run.mask((e as Error).message)}\n`);
    return NO_LOCK;
  }
  // ansible_connection may make the control plane host something else (a test running it locally): no Lease then.
  if (!(conn instanceof KubernetesConnection)) return NO_LOCK;
  try {
    const lease = await acquireMeshLease(conn, holderInfo(opts.playbooks), { timeoutS: opts.lockTimeout, signal });
    return { release: () => lease.release() };
  } catch (e) {
    if (e instanceof MeshLocked) {
      process.stderr.write(`ERROR: ${e.message}\n`);
      return ExitCode.locked;
    }
    throw e;
  }
}
