// mesh_dns_info: which DNS the cluster runs (read-only), so a role can choose between editing a Corefile and
// deploying a server of its own behind kube-dns stubDomains. Same lookup as mesh_global_dns.
import { object, oneOf, string, withDefault } from './args.js';
import type { Module } from './types.js';
import { clusterConnection } from '../mesh/kube.js';
import { findDnsConfig, noDnsConfig } from './mesh_global_dns.js';
import { templateBlockText } from '../mesh/corefile.js';

const schema = object({
  dns: withDefault(oneOf(['auto', 'coredns', 'kube-dns']), 'auto'),
  dns_namespace: withDefault(string(), 'kube-system'),
  /** With zone: also return `template_corefile`, the Corefile of a server answering every A query in zone with it. */
  answer: string({ pattern: '^\\d{1,3}(\\.\\d{1,3}){3}$' }),
  zone: string({ pattern: '^[a-z0-9.-]+$' }),
});

type Found = NonNullable<Awaited<ReturnType<typeof findDnsConfig>>>;

const dnsInfo: Module<typeof schema, Found> = {
  name: 'mesh_dns_info',
  schema,
  async facts(ctx, args) {
    const conn = await clusterConnection(ctx, ctx.host.name);
    const found = await findDnsConfig(conn, args.dns_namespace, args.dns);
    if (!found) throw noDnsConfig(conn, args.dns_namespace, args.dns);
    return found;
  },
  plan({ cm, key, flavour }, args) {
    // `corefile`: the cluster DNS reads a Corefile meshplay can add a server block to; otherwise only stubDomains.
    const template = args.answer && args.zone ? { template_corefile: templateBlockText(args.zone, args.answer) } : {};
    return { changed: false, result: { dns: flavour, configmap: `${args.dns_namespace}/${cm.metadata!.name}`, key, corefile: key === 'Corefile', ...template } };
  },
};

export default dnsInfo;
