// The names seed 001's separate meshes give each other (`<service>.<namespace>.svc.<cluster>.remote`,
// `ingress.<cluster>.remote`), the label marking the objects of that topology, and which clusters a cluster calls.
// Shared by the mesh_remote_routes module that renders the objects and by the separate-meshes status probe.
import type { MeshExport } from './exports.js';

export const component = 'separate-meshes';
export const remoteClusterLabel = 'meshplay.io/remote-cluster';

/** `<service>.<namespace>.svc.<cluster>.remote`: how other meshes name an exported service. */
export function remoteHost(e: Pick<MeshExport, 'service' | 'namespace' | 'cluster'>, domain = 'remote'): string {
  return `${e.service}.${e.namespace}.svc.${e.cluster}.${domain}`;
}

export function ingressHost(cluster: string, domain = 'remote'): string {
  return `ingress.${cluster}.${domain}`;
}

/** Other clusters this cluster calls: those exporting at least one service to it. */
export function calleesOf(exports: MeshExport[], me: string): string[] {
  return [...new Set(exports.filter((e) => e.cluster !== me && (!e.callers || e.callers.includes(me))).map((e) => e.cluster))].sort();
}
