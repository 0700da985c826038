// A minimal Envoy v2 ADS client, to ask a real Pilot what it would tell a sidecar: one gRPC stream
// (envoy.service.discovery.v2.AggregatedDiscoveryService/StreamAggregatedResources, plaintext as Pilot 1.3 serves it
// on its grpc port), CDS then EDS. The message definitions below are the subset of envoy/api/v2 this client reads,
// with the field numbers of envoy's data-plane API (go-control-plane as vendored by Istio 1.3); unknown fields are
// skipped by the decoder.
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';

const GOOGLE = `
syntax = "proto3";
package google.protobuf;
message Any { string type_url = 1; bytes value = 2; }
message Struct { map<string, Value> fields = 1; }
message Value {
  oneof kind { int32 null_value = 1; double number_value = 2; string string_value = 3; bool bool_value = 4; Struct struct_value = 5; ListValue list_value = 6; }
}
message ListValue { repeated Value values = 1; }
`;

const ENVOY = `
syntax = "proto3";
package envoy.api.v2;
message Node { string id = 1; string cluster = 2; google.protobuf.Struct metadata = 3; string build_version = 5; }
message DiscoveryRequest { string version_info = 1; Node node = 2; repeated string resource_names = 3; string type_url = 4; string response_nonce = 5; }
message DiscoveryResponse { string version_info = 1; repeated google.protobuf.Any resources = 2; string type_url = 4; string nonce = 5; }
message DataSource { oneof specifier { string filename = 1; bytes inline_bytes = 2; string inline_string = 3; } }
message TlsCertificate { DataSource certificate_chain = 1; DataSource private_key = 2; }
message CertificateValidationContext { DataSource trusted_ca = 1; repeated string verify_subject_alt_name = 4; }
message CommonTlsContext { repeated TlsCertificate tls_certificates = 2; CertificateValidationContext validation_context = 3; repeated string alpn_protocols = 4; }
message UpstreamTlsContext { CommonTlsContext common_tls_context = 1; string sni = 2; }
message EdsClusterConfig { string service_name = 2; }
message Cluster {
  enum DiscoveryType { STATIC = 0; STRICT_DNS = 1; LOGICAL_DNS = 2; EDS = 3; ORIGINAL_DST = 4; }
  string name = 1; DiscoveryType type = 2; EdsClusterConfig eds_cluster_config = 3; repeated Address hosts = 7;
  UpstreamTlsContext tls_context = 11; ClusterLoadAssignment load_assignment = 33;
}
message SocketAddress { string address = 2; oneof port_specifier { uint32 port_value = 3; string named_port = 4; } }
message Address { oneof address { SocketAddress socket_address = 1; } }
message Endpoint { Address address = 1; }
message LbEndpoint { oneof host_identifier { Endpoint endpoint = 1; string endpoint_name = 5; } }
message LocalityLbEndpoints { repeated LbEndpoint lb_endpoints = 2; }
message ClusterLoadAssignment { string cluster_name = 1; repeated LocalityLbEndpoints endpoints = 2; }
`;

const root = new protobuf.Root();
protobuf.parse(GOOGLE, root, { keepCase: true });
protobuf.parse(ENVOY, root, { keepCase: true });
const Request = root.lookupType('envoy.api.v2.DiscoveryRequest');
const Response = root.lookupType('envoy.api.v2.DiscoveryResponse');
const ClusterMsg = root.lookupType('envoy.api.v2.Cluster');
const LoadAssignment = root.lookupType('envoy.api.v2.ClusterLoadAssignment');

export const CDS = 'type.googleapis.com/envoy.api.v2.Cluster';
export const EDS = 'type.googleapis.com/envoy.api.v2.ClusterLoadAssignment';
const ADS = '/envoy.service.discovery.v2.AggregatedDiscoveryService/StreamAggregatedResources';

export interface XdsCluster {
  name: string;
  type: string;
  edsServiceName?: string;
  tls?: { certificateChain?: string; privateKey?: string; trustedCa?: string; alpn: string[]; sni?: string };
  /** Endpoints carried in the cluster itself (STATIC / STRICT_DNS: load_assignment or the older hosts), "address:port". */
  inline?: string[];
}

export interface XdsSnapshot {
  clusters: XdsCluster[];
  /** EDS: cluster name -> endpoints as "address:port". */
  endpoints: Record<string, string[]>;
}

export interface SidecarIdentity {
  ip: string;
  pod: string;
  namespace: string;
  /** ISTIO_META_CLUSTER_ID: the Kubernetes cluster the workload runs in. */
  clusterId?: string;
}

const socket = (a: any): string | undefined => (a?.socket_address ? `${a.socket_address.address}:${a.socket_address.port_value}` : undefined);

function assignmentEndpoints(la: any): string[] {
  return (la?.endpoints ?? []).flatMap((l: any) => l.lb_endpoints ?? []).map((e: any) => socket(e.endpoint?.address)).filter(Boolean).sort();
}

/** Node id and metadata as an Istio 1.3 sidecar sends them (sidecar~IP~pod.ns~ns.svc.cluster.local). */
function node(id: SidecarIdentity) {
  const str = (s: string) => ({ string_value: s });
  return {
    id: `sidecar~${id.ip}~${id.pod}.${id.namespace}~${id.namespace}.svc.cluster.local`,
    cluster: `${id.pod}.${id.namespace}`,
    build_version: 'meshplay-test-ads-client/1.3',
    metadata: {
      fields: {
        ISTIO_VERSION: str('1.3.8'),
        CONFIG_NAMESPACE: str(id.namespace),
        INTERCEPTION_MODE: str('REDIRECT'),
        POD_NAME: str(id.pod),
        ...(id.clusterId ? { CLUSTER_ID: str(id.clusterId) } : {}),
      },
    },
  };
}

function dataSource(d: any): string | undefined {
  return d?.filename ?? d?.inline_string ?? (d?.inline_bytes ? Buffer.from(d.inline_bytes).toString() : undefined);
}

function toCluster(c: any): XdsCluster {
  const ctx = c.tls_context?.common_tls_context;
  const inline = [...assignmentEndpoints(c.load_assignment), ...(c.hosts ?? []).map(socket).filter(Boolean)].sort();
  return {
    ...(inline.length ? { inline } : {}),
    name: c.name,
    type: typeof c.type === 'string' ? c.type : (ClusterMsg.lookupEnum('DiscoveryType').valuesById[c.type ?? 0] ?? String(c.type)),
    ...(c.eds_cluster_config?.service_name ? { edsServiceName: c.eds_cluster_config.service_name } : {}),
    ...(c.tls_context
      ? {
          tls: {
            certificateChain: dataSource(ctx?.tls_certificates?.[0]?.certificate_chain),
            privateKey: dataSource(ctx?.tls_certificates?.[0]?.private_key),
            trustedCa: dataSource(ctx?.validation_context?.trusted_ca),
            alpn: ctx?.alpn_protocols ?? [],
            sni: c.tls_context.sni || undefined,
          },
        }
      : {}),
  };
}

/**
 * Connects to Pilot's plaintext gRPC address as a sidecar, asks for every cluster (CDS) and then the endpoints
 * (EDS) of the clusters it names, ACKing each response as Envoy does; resolves with what Pilot sent.
 */
export async function fetchXds(grpcAddr: string, id: SidecarIdentity, opts: { timeoutMs?: number; edsFor?: (c: XdsCluster) => boolean } = {}): Promise<XdsSnapshot> {
  const client = new grpc.Client(grpcAddr, grpc.credentials.createInsecure());
  const call = client.makeBidiStreamRequest(
    ADS,
    (m: object) => Buffer.from(Request.encode(Request.fromObject(m)).finish()),
    (b: Buffer) => Response.toObject(Response.decode(b), { longs: Number, enums: String, bytes: Buffer, defaults: false, oneofs: false }),
  );
  const me = node(id);
  const snapshot: XdsSnapshot = { clusters: [], endpoints: {} };
  try {
    return await new Promise<XdsSnapshot>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no complete CDS+EDS answer from Pilot at ${grpcAddr} within ${opts.timeoutMs ?? 15_000} ms`)), opts.timeoutMs ?? 15_000);
      let edsNames: string[] = [];
      call.on('error', (e: Error) => {
        clearTimeout(timer);
        reject(new Error(`ADS stream to ${grpcAddr}: ${e.message}`));
      });
      call.on('data', (res: any) => {
        // ACK: the same type, version and nonce.
        call.write({ node: me, type_url: res.type_url, version_info: res.version_info, response_nonce: res.nonce, resource_names: res.type_url === EDS ? edsNames : [] });
        const resources: { type_url: string; value: Buffer }[] = res.resources ?? [];
        if (res.type_url === CDS) {
          snapshot.clusters = resources.map((r) => toCluster(ClusterMsg.toObject(ClusterMsg.decode(r.value), { enums: String, oneofs: false })));
          edsNames = snapshot.clusters.filter((c) => c.type === 'EDS' && (opts.edsFor?.(c) ?? true)).map((c) => c.edsServiceName ?? c.name);
          if (!edsNames.length) {
            clearTimeout(timer);
            resolve(snapshot);
            return;
          }
          call.write({ node: me, type_url: EDS, resource_names: edsNames });
        } else if (res.type_url === EDS) {
          for (const r of resources) {
            const la = LoadAssignment.toObject(LoadAssignment.decode(r.value), { longs: Number }) as any;
            snapshot.endpoints[la.cluster_name] = assignmentEndpoints(la);
          }
          if (edsNames.every((n) => n in snapshot.endpoints)) {
            clearTimeout(timer);
            resolve(snapshot);
          }
        }
      });
      call.write({ node: me, type_url: CDS, resource_names: [] });
    });
  } finally {
    call.cancel();
    client.close();
  }
}
