// What a lab cluster needs for the multi-control-plane topology, standing in for an Istio 1.1-1.8
// "multicluster gateways" install: the istio-system Services istiocoredns (ClusterIP, port 53) and
// istio-ingressgateway (NodePort, 15443 among its ports), and the cluster DNS configuration — a CoreDNS
// `coredns` ConfigMap (kubeadm's default Corefile) or a kube-dns `kube-dns` ConfigMap, so both paths of
// global_dns are exercised. Applied server-side as the lab's own field manager (never labelled managed-by
// meshplay, so meshplay's uninstall leaves them). Idempotent.
import { adminRequest, labApply, type AdminCredentials } from './kube/rest.js';

export type LabDns = 'coredns' | 'kube-dns';

export const kubeadmCorefile = `.:53 {
    errors
    health {
       lameduck 5s
    }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
       pods insecure
       fallthrough in-addr.arpa ip6.arpa
       ttl 30
    }
    prometheus :9153
    forward . /etc/resolv.conf {
       max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
`;

export interface MultiFixtureOptions {
  /** Which DNS the cluster "runs"; default: coredns for even indexes, kube-dns for odd ones. */
  dns?: LabDns;
  /** Position of the cluster in the lab (0-based), used for the default DNS and the 15443 nodePort. */
  index: number;
  /** Also the istio-egressgateway Service (separate meshes funnel their outbound traffic through it). */
  egressGateway?: boolean;
}

export interface MultiFixture {
  dns: LabDns;
  gatewayNodePort: number;
}

/** The 15443 nodePort of cluster `index`: fixed, so tests and docs can name it. */
export function gatewayNodePort(index: number): number {
  return 31443 + index;
}

export async function seedMultiControlPlane(creds: AdminCredentials, opts: MultiFixtureOptions): Promise<MultiFixture> {
  const dns: LabDns = opts.dns ?? (opts.index % 2 === 0 ? 'coredns' : 'kube-dns');
  const nodePort = gatewayNodePort(opts.index);
  // Only when missing: the single-control-plane fixtures (lab/fixtures/control-plane.ts) apply the same Namespace
  // with labels as the same field manager, and a second apply without them would remove them.
  if ((await adminRequest(creds, 'GET', '/api/v1/namespaces/istio-system')).status === 404) {
    await labApply(creds, '/api/v1/namespaces/istio-system', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } });
  }
  await labApply(creds, '/api/v1/namespaces/istio-system/services/istiocoredns', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'istiocoredns', namespace: 'istio-system', labels: { app: 'istiocoredns' } },
    spec: {
      selector: { app: 'istiocoredns' },
      ports: [
        { name: 'dns', port: 53, protocol: 'UDP' },
        { name: 'dns-tcp', port: 53, protocol: 'TCP' },
      ],
    },
  });
  await labApply(creds, '/api/v1/namespaces/istio-system/services/istio-ingressgateway', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'istio-ingressgateway', namespace: 'istio-system', labels: { app: 'istio-ingressgateway', istio: 'ingressgateway' } },
    spec: {
      type: 'NodePort',
      selector: { app: 'istio-ingressgateway', istio: 'ingressgateway' },
      ports: [
        { name: 'http2', port: 80, targetPort: 80, protocol: 'TCP' },
        { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
        { name: 'tls', port: 15443, targetPort: 15443, protocol: 'TCP', nodePort },
      ],
    },
  });
  if (opts.egressGateway) {
    await labApply(creds, '/api/v1/namespaces/istio-system/services/istio-egressgateway', {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'istio-egressgateway', namespace: 'istio-system', labels: { app: 'istio-egressgateway', istio: 'egressgateway' } },
      spec: {
        selector: { app: 'istio-egressgateway', istio: 'egressgateway' },
        ports: [
          { name: 'http2', port: 80, targetPort: 80, protocol: 'TCP' },
          { name: 'https', port: 443, targetPort: 443, protocol: 'TCP' },
        ],
      },
    });
  }
  // The DNS ConfigMap is created only when missing: meshplay edits it, and a later `lab up` must not undo that.
  const cmName = dns === 'coredns' ? 'coredns' : 'kube-dns';
  const exists = (await adminRequest(creds, 'GET', `/api/v1/namespaces/kube-system/configmaps/${cmName}`)).status === 200;
  if (exists) return { dns, gatewayNodePort: nodePort };
  if (dns === 'coredns') {
    await labApply(creds, '/api/v1/namespaces/kube-system/configmaps/coredns', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'coredns', namespace: 'kube-system' },
      data: { Corefile: kubeadmCorefile },
    });
  } else {
    await labApply(creds, '/api/v1/namespaces/kube-system/configmaps/kube-dns', {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'addonmanager.kubernetes.io/mode': 'EnsureExists' } },
      data: { upstreamNameservers: '["8.8.8.8"]' },
    });
  }
  return { dns, gatewayNodePort: nodePort };
}
