// mesh_dns_info: which DNS the cluster runs (read-only), so a role can choose between editing a Corefile and
// deploying a server of its own behind kube-dns stubDomains. Same lookup as mesh_global_dns.
import type { Module, Plan } from './types.js';
import { clusterConnection } from '../mesh/kube.js';
import { findDnsConfig, noDnsConfig } from './mesh_global_dns.js';
import { templateBlockText } from '../mesh/corefile.js';

export interface DnsInfoArgs {
  dns?: 'auto' | 'coredns' | 'kube-dns';
  dns_namespace?: string;
  /** With zone: also return `template_corefile`, the Corefile of a server answering every A query in zone with it. */
  answer?: string;
  zone?: string;
}

const dnsInfo: Module<DnsInfoArgs, never> = {
  name: 'mesh_dns_info',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      dns: { enum: ['auto', 'coredns', 'kube-dns'] },
      dns_namespace: { type: 'string' },
      answer: { type: 'string', pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' },
      zone: { type: 'string', pattern: '^[a-z0-9.-]+$' },
    },
  },
  async plan(ctx, args): Promise<Plan<never>> {
    const conn = await clusterConnection(ctx, ctx.host.name);
    const ns = args.dns_namespace ?? 'kube-system';
    const found = await findDnsConfig(conn, ns, args.dns ?? 'auto');
    if (!found) throw noDnsConfig(conn, ns, args.dns ?? 'auto');
    const { cm, key, flavour } = found;
    // `corefile`: the cluster DNS reads a Corefile meshplay can add a server block to; otherwise only stubDomains.
    const template = args.answer && args.zone ? { template_corefile: templateBlockText(args.zone, args.answer) } : {};
    return { changed: false, result: { dns: flavour, configmap: `${ns}/${cm.metadata!.name}`, key, corefile: key === 'Corefile', ...template } };
  },
  async apply() {
    return { changed: false };
  },
};

export default dnsInfo;
