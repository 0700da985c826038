import type { SourcePosition } from '../yaml/source.js';

export type ConnectionKind = 'local' | 'ssh' | 'kubernetes';

export interface SshSettings {
  user?: string;
  port?: number;
  private_key_file?: string;
  /** Name of an environment variable holding the key's passphrase. */
  private_key_passphrase_env?: string;
  password?: string;
  known_hosts_file?: string;
  /** Seconds to reach the server: TCP connect (or the jump host's channel) and its SSH greeting (default 10). */
  connect_timeout?: number;
  /** Seconds for the SSH handshake (key exchange, host key check, authentication) from when it starts (default 30). */
  handshake_timeout?: number;
  proxy_jump?: { host: string; port?: number; user?: string; private_key_file?: string };
  become_password?: string;
}

export interface ApiSettings {
  url?: string;
  kubeconfig?: string;
  context?: string;
  token?: string;
  /** File holding a bearer token (read when meshplay connects, so a rotated token is picked up). */
  token_file?: string;
  ca_file?: string;
  ca_data?: string;
  client_cert_file?: string;
  client_key_file?: string;
  /** Do not verify the server's certificate (warned on every run). `insecure` is the older name. */
  insecure_skip_tls_verify?: boolean;
  insecure?: boolean;
  /** Server name to verify the certificate against (and send as SNI) when it differs from the URL's host. */
  tls_server_name?: string;
  username?: string;
  password?: string;
}

export interface NodeSpec {
  name: string;
  address: string;
  /** Labels of the Node object, for nodes read from the API (`from_api`). */
  labels?: Record<string, string>;
  ssh?: SshSettings;
  vars?: Record<string, unknown>;
}

export interface ClusterSpec {
  name: string;
  istio_control_plane: boolean;
  api?: ApiSettings;
  pod_cidr?: string;
  service_cidr?: string;
  ssh?: SshSettings;
  nodes: NodeSpec[];
  vars?: Record<string, unknown>;
  [extra: string]: unknown;
}

export interface Host {
  name: string;
  kind: 'cluster' | 'node' | 'local';
  connection: ConnectionKind;
  /** Name of the cluster this host is or belongs to (undefined for localhost). */
  cluster?: string;
  /** Network address for SSH (nodes only). */
  address?: string;
  /** Effective SSH settings (defaults < cluster < node), nodes only. */
  ssh?: SshSettings;
  /** Effective API settings, cluster hosts only. */
  api?: ApiSettings;
  /** Variables as the inventory gives them (group_vars/host_vars merged, before play vars). */
  vars: Record<string, unknown>;
  position?: SourcePosition;
}

export interface Inventory {
  /** All hosts including the implicit `localhost`. */
  hosts: Map<string, Host>;
  /** Group name -> host names, in inventory order. Includes all, clusters, nodes, control_plane, remotes, <cluster>, <cluster>_nodes. */
  groups: Map<string, string[]>;
  clusters: ClusterSpec[];
  /** Inventory-wide `vars:`. */
  vars: Record<string, unknown>;
  /** Inventory topology (single-control-plane by default). */
  topology: 'single-control-plane' | 'multi-control-plane' | 'separate-meshes';
  sources: string[];
  /** The `from_api` items of every cluster: whose Nodes to read at the start (runner/inventory/api-nodes.ts). */
  apiNodeSources?: ApiNodeSource[];
}

export interface ApiNodeSource {
  cluster: string;
  /** Index of the item in the cluster's `nodes` list (0 for `nodes: from_api`). */
  item: number;
  selector?: string;
  position: SourcePosition;
}
