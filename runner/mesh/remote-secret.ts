// The remote secret Istio's control plane reads a remote cluster with (`istio-remote-secret-<cluster>`, labelled
// istio/multiCluster=true, data key <cluster> holding a kubeconfig): its names, the kubeconfig it carries, and the
// probe that decides whether one in a cluster works. One definition for the istio_remote_secret module (which
// builds it) and for `meshplay status` (which judges it). Kubeconfigs and tokens are used in memory only and
// registered as secrets before anything could print them.
import { isIP } from 'node:net';
import { stringify } from 'yaml';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { Host } from '../inventory/types.js';
import { parseKubeconfig, type KubeconfigReading } from '../k8s/kubeconfig.js';
import { isStatus } from './kube.js';

export const multiClusterLabel = 'istio/multiCluster';
export const clusterAnnotation = 'networking.istio.io/cluster';
export const remoteSecretName = (cluster: string) => `istio-remote-secret-${cluster}`;

export function kubeconfigFor(cluster: string, server: string, caPem: string, token: string, tlsServerName?: string): string {
  const doc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: cluster, cluster: { server, 'certificate-authority-data': Buffer.from(caPem).toString('base64'), ...(tlsServerName ? { 'tls-server-name': tlsServerName } : {}) } }],
    users: [{ name: cluster, user: { token } }],
    contexts: [{ name: cluster, context: { cluster, user: cluster } }],
    'current-context': cluster,
    preferences: {},
  };
  return stringify(doc, { lineWidth: 0 });
}

export function isLoopbackUrl(url: string): boolean {
  let host: string;
  try {
    host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  } catch {
    return false;
  }
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  if (isIP(host) === 4) return host.startsWith('127.');
  return host === '::1';
}

/** What a remote secret's kubeconfig may do: Istio needs it to read (list services) and nothing more. */
export interface RemoteSecretHealth {
  /** undefined: whether it exists could not be told (the listing failed). */
  present?: boolean;
  authenticates?: boolean;
  canListServices?: boolean;
  canCreateSecrets?: boolean;
  error?: string;
}

export function remoteSecretWorks(h: RemoteSecretHealth): boolean {
  return h.present === true && h.authenticates === true && h.canListServices === true && h.canCreateSecrets === false;
}

/** The remote secrets the control plane holds (by the label Istio watches). Throws when they cannot be listed. */
export async function listRemoteSecrets(cp: KubernetesConnection, namespace = 'istio-system'): Promise<any[]> {
  const r = await cp.request<{ items: any[] }>({ method: 'GET', list: true, path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`, query: { labelSelector: `${multiClusterLabel}=true` } });
  return r.items;
}

export interface ProbeOptions {
  /** Registers a value as a secret of the run before it could reach any output. */
  secret(value: string): void;
  /** Opens a kubernetes connection for a host built from the kubeconfig (the same connector a run uses). */
  connect(host: Host): Promise<KubernetesConnection>;
}

function firstLine(e: unknown): string {
  return (e as Error)?.message?.split('\n')[0] ?? String(e);
}

/** Uses the remote secret's kubeconfig in memory: authenticates? lists services? may create secrets? */
export async function probeRemoteSecret(cluster: string, secret: any, o: ProbeOptions): Promise<RemoteSecretHealth> {
  const encoded = secret?.data?.[cluster];
  if (!encoded) return { present: true, authenticates: false, error: `remote secret has no data key '${cluster}'` };
  o.secret(encoded);
  const text = Buffer.from(encoded, 'base64').toString('utf8');
  o.secret(text);
  let reading: KubeconfigReading;
  try {
    reading = parseKubeconfig(text, "the remote secret's kubeconfig", process.cwd());
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig does not parse: ${firstLine(e)}` };
  }
  const { server, ca, token, tlsServerName } = reading.credentials;
  if (token) o.secret(token);
  if (!token) return { present: true, authenticates: false, error: "remote secret's kubeconfig has no server or token" };
  const host: Host = { name: `${cluster}-remote-secret`, kind: 'cluster', connection: 'kubernetes', cluster, vars: {}, api: { url: server, token, ca_data: ca?.toString('utf8'), ...(tlsServerName ? { tls_server_name: tlsServerName } : {}) } };
  let conn: KubernetesConnection;
  try {
    conn = await o.connect(host);
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig: ${firstLine(e)}` };
  }
  try {
    let canListServices = false;
    try {
      await conn.request({ method: 'GET', list: true, path: '/api/v1/services', query: { limit: 1 } });
      canListServices = true;
    } catch (e) {
      if (!isStatus(e, 403)) throw e;
    }
    const review = await conn.request<any>({
      method: 'POST',
      path: '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews',
      body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: 'create', resource: 'secrets', namespace: 'istio-system' } } },
    });
    return { present: true, authenticates: true, canListServices, canCreateSecrets: review.status?.allowed === true };
  } catch (e) {
    return { present: true, authenticates: false, error: `remote secret's kubeconfig: ${firstLine(e)}` };
  } finally {
    await conn.close();
  }
}

/** Why a present remote secret does not work, in the words status prints. */
export function remoteSecretProblem(h: RemoteSecretHealth): string | undefined {
  if (h.present !== true || remoteSecretWorks(h)) return undefined;
  return h.error ?? (!h.authenticates ? 'remote secret does not authenticate' : !h.canListServices ? 'remote secret cannot list services' : 'remote secret can create secrets (too much privilege)');
}
