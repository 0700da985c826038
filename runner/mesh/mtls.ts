// The mesh-wide mutual TLS setting as the mtls role leaves it in the control plane: a PeerAuthentication `default`
// in the Istio namespace (modern API) or the MeshPolicy `default` (legacy, Istio <= 1.4). Read by `meshplay status`
// and the report. Only a 404 (no such object, or the API is not served) means absent; a refusal (403) or any
// other failure is 'unknown', never 'off'.
import type { KubernetesConnection } from '../connection/kubernetes.js';

export interface MeshMtls {
  api: 'modern' | 'legacy' | 'none' | 'unknown';
  /** STRICT | PERMISSIVE (as the object says; a MeshPolicy peer without a mode is STRICT, as Istio reads it). */
  mode?: string;
  error?: string;
}

export async function meshMtls(cp: KubernetesConnection, namespace = 'istio-system'): Promise<MeshMtls> {
  try {
    const pa = await cp.getOrUndefined<any>(`/apis/security.istio.io/v1beta1/namespaces/${encodeURIComponent(namespace)}/peerauthentications/default`);
    if (pa) return { api: 'modern', mode: pa.spec?.mtls?.mode ?? 'PERMISSIVE' };
    const mp = await cp.getOrUndefined<any>('/apis/authentication.istio.io/v1alpha1/meshpolicies/default');
    if (mp) return { api: 'legacy', mode: mp.spec?.peers?.find((p: any) => 'mtls' in p)?.mtls?.mode ?? 'STRICT' };
    return { api: 'none' };
  } catch (e) {
    return { api: 'unknown', error: `cannot read the mesh's mTLS policy: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}` };
  }
}
