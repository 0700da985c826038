// The Istio Gateways a cluster serves (networking.istio.io Gateway objects, every namespace): what the
// ingress_gateway and multicluster_gateway roles leave, read for `meshplay status --report` and the run report.
// A cluster that does not serve the kind has none; any other failure is unknown (error), never "none".
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { isStatus } from './kube.js';

export interface GatewayServer {
  port?: number;
  protocol?: string;
  tlsMode?: string;
  hosts: string[];
}

export interface MeshGateway {
  namespace: string;
  name: string;
  selector: Record<string, string>;
  servers: GatewayServer[];
}

export interface ClusterGateways {
  gateways: MeshGateway[];
  error?: string;
}

export async function listGateways(conn: KubernetesConnection): Promise<ClusterGateways> {
  try {
    const list = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: '/apis/networking.istio.io/v1alpha3/gateways' });
    const gateways = list.items
      .map((g): MeshGateway => ({
        namespace: String(g.metadata?.namespace ?? ''),
        name: String(g.metadata?.name ?? ''),
        selector: { ...(g.spec?.selector ?? {}) },
        servers: ((g.spec?.servers ?? []) as any[]).map((s) => ({
          port: typeof s.port?.number === 'number' ? s.port.number : undefined,
          protocol: typeof s.port?.protocol === 'string' ? s.port.protocol : undefined,
          tlsMode: typeof s.tls?.mode === 'string' ? s.tls.mode : undefined,
          hosts: Array.isArray(s.hosts) ? s.hosts.map(String) : [],
        })),
      }))
      .sort((a, b) => `${a.namespace}/${a.name}`.localeCompare(`${b.namespace}/${b.name}`));
    return { gateways };
  } catch (e) {
    if (isStatus(e, 404)) return { gateways: [] };
    return { gateways: [], error: `cannot list the Gateways: ${(e as Error)?.message?.split('\n')[0] ?? String(e)}` };
  }
}
