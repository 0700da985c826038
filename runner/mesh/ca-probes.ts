// The CA checks both mesh status reports make (multi-control-plane and separate meshes): the mesh root that the
// control plane cluster holds, and whether a cluster's `cacerts` chain to it. Read-only; key material stays here.
import type { Inventory } from '../inventory/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { verifyCacerts, cacertsKeys, type Cacerts } from './ca.js';

export const unb64 = (s: string | undefined) => (s === undefined ? undefined : Buffer.from(s, 'base64').toString('utf8'));

/** The mesh root certificate, or why it cannot be had (said in each cluster's cacerts check). */
export interface MeshRoot {
  pem?: string;
  problem: string;
}

export async function readMeshRoot(inventory: Inventory, connect: (cluster: string) => Promise<KubernetesConnection>, ns: string, secretName = 'meshplay-root-ca'): Promise<MeshRoot> {
  const rootCluster = inventory.clusters.find((c) => c.istio_control_plane)?.name;
  if (!rootCluster) return { problem: 'no cluster is marked istio_control_plane (it holds the mesh root CA)' };
  try {
    const s = await (await connect(rootCluster)).getOrUndefined<any>(`/api/v1/namespaces/${ns}/secrets/${secretName}`);
    return { pem: unb64(s?.data?.['root-cert.pem']), problem: `no mesh root CA in ${rootCluster} ${ns}/${secretName}` };
  } catch (e) {
    return { problem: `root cluster ${rootCluster} unreachable: ${(e as Error).message}` };
  }
}

/** Whether the cluster's `<ns>/cacerts` Secret exists, holds a key matching its certificate, and chains to the root. */
export async function probeCacerts(conn: KubernetesConnection, ns: string, root: MeshRoot): Promise<{ name: 'cacerts'; ok: boolean; detail: string }> {
  const cacerts = await conn.getOrUndefined<any>(`/api/v1/namespaces/${ns}/secrets/cacerts`);
  if (!cacerts) return { name: 'cacerts', ok: false, detail: `${ns}/cacerts missing` };
  if (!root.pem) return { name: 'cacerts', ok: false, detail: root.problem };
  const files = Object.fromEntries(cacertsKeys.map((k) => [k, unb64(cacerts.data?.[k])])) as Partial<Cacerts>;
  const v = await verifyCacerts(files, root.pem);
  return { name: 'cacerts', ok: v.ok, detail: v.ok ? `chains to the mesh root; ${v.keyType}, expires ${v.notAfter!.toISOString().slice(0, 10)}` : v.problems.join('; ') };
}
