// istio_remote_secret: builds (in memory, never on disk) the kubeconfig Istio's control plane uses to read a remote
// cluster, and the Secret that carries it: `istio-remote-secret-<cluster>` labelled istio/multiCluster=true,
// annotated networking.istio.io/cluster, data key <cluster>. Read-only: a k8s task in the control plane applies
// the returned `definition`. The kubeconfig and token are registered as secrets, so no output shows them.
// Names, kubeconfig and the probe `meshplay status` judges it with: runner/mesh/remote-secret.ts.
import { boolean, object, required, string, typed, withDefault, type ArgsOf } from './args.js';
import type { Module } from './types.js';
import { secretValues, type KubeObject } from '../k8s/objects.js';
import { clusterAnnotation, isLoopbackUrl, kubeconfigFor, multiClusterLabel, remoteSecretName } from '../mesh/remote-secret.js';

const schema = object({
  cluster: required(string()),
  server: required(string()),
  /** The filled kubernetes.io/service-account-token Secret (its token and ca.crt are used). */
  token_secret: typed<KubeObject>({ type: 'object' }),
  token: string(),
  /** CA of the server (PEM or base64 PEM); empty: the token Secret's ca.crt. */
  ca_data: string(),
  /** Name the server's certificate is verified against, when the URL's host is not in it. */
  tls_server_name: string(),
  namespace: withDefault(string(), 'istio-system'),
  /** Silences the loopback warning (the lab's Pilot runs on the same machine as the API servers). */
  loopback_ok: withDefault(boolean(), false),
});
export type IstioRemoteSecretArgs = ArgsOf<typeof schema>;

const dns1123 = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

// Reads nothing: the Secret is built from the arguments (the token Secret a k8s_info task read).
const istioRemoteSecret: Module<typeof schema, undefined> = {
  name: 'istio_remote_secret',
  local: true,
  secretArgs: ['token'],
  schema,
  facts: async () => undefined,
  plan(_facts, args, ctx) {
    if (!dns1123.test(args.cluster) || args.cluster.length > 63) {
      throw new Error(`cluster name '${args.cluster}' cannot be a Secret data key for Istio: it must be a DNS-1123 label (lower case letters, digits, '-', at most 63)`);
    }
    let url: URL;
    try {
      url = new URL(args.server);
    } catch {
      throw new Error(`${args.cluster}: API server URL '${args.server}' is not a URL (set istio_remote_api_url, or api.url in the inventory)`);
    }
    if (url.protocol !== 'https:') throw new Error(`${args.cluster}: API server URL ${args.server} is not https: Istio would send the token in clear`);
    const fromSecret = secretValues(args.token_secret);
    const token = args.token ?? fromSecret.token;
    let ca = args.ca_data || fromSecret['ca.crt'];
    if (!token) throw new Error(`${args.cluster}: no ServiceAccount token (give token, or token_secret once the token controller has filled it)`);
    if (!ca) throw new Error(`${args.cluster}: no CA data for the API server (give ca_data, or a token_secret with ca.crt)`);
    if (!ca.includes('-----BEGIN')) ca = Buffer.from(ca, 'base64').toString('utf8');
    ctx.secret(token);
    if (isLoopbackUrl(args.server) && !args.loopback_ok) {
      ctx.warn(
        `${args.cluster}: the remote secret points Istio at ${args.server}, a loopback address: a control plane running ` +
          'in another cluster cannot reach it. Set api.url in the inventory to an address the control plane can route to.',
      );
    }
    const kubeconfig = kubeconfigFor(args.cluster, args.server, ca, token, args.tls_server_name || undefined);
    const encoded = Buffer.from(kubeconfig).toString('base64');
    ctx.secret(kubeconfig);
    ctx.secret(encoded);
    const definition: KubeObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'Opaque',
      metadata: {
        name: remoteSecretName(args.cluster),
        namespace: args.namespace,
        labels: { [multiClusterLabel]: 'true' },
        annotations: { [clusterAnnotation]: args.cluster },
      },
      data: { [args.cluster]: encoded },
    };
    return { changed: false, result: { definition, secret_name: remoteSecretName(args.cluster) } };
  },
};

export default istioRemoteSecret;
