// `nodes: from_api`: a cluster's machines read from its Node objects once, at the start of a run (name, InternalIP,
// labels), so a 200-node cluster needs no typing. The inventory is loaded once to learn which clusters ask for it
// (and to validate everything else), the Nodes are read with one LIST per from_api item, and the inventory is
// loaded again with them: names, addresses and clashes with listed nodes are then checked like any other node.
import { ValidationError, type Problem } from '../errors.js';
import { apiNodeKey, loadInventory, type ApiNode, type LoadInventoryOptions } from './load.js';
import type { Inventory } from './types.js';

export interface ApiNodeOptions extends LoadInventoryOptions {
  /** Registers secret values (tokens) the connection reads, so no output shows them. */
  secret?(value: string): void;
  log?(level: number, message: string): void;
  warn?(message: string): void;
}

function internalIp(node: any): string | undefined {
  const addresses: { type?: string; address?: string }[] = node?.status?.addresses ?? [];
  return addresses.find((a) => a.type === 'InternalIP' && a.address)?.address;
}

/** loadInventory, plus the hosts of every `from_api` item. Unreadable APIs are validation problems at the item. */
export async function loadInventoryWithApiNodes(paths: string[], opts: ApiNodeOptions = {}): Promise<Inventory> {
  const first = loadInventory(paths, opts);
  const sources = first.apiNodeSources ?? [];
  if (!sources.length) return first;
  const { connect } = await import('../connection/kubernetes.js');
  const problems: Problem[] = [];
  const found = new Map<string, ApiNode[]>();
  const controller = new AbortController();
  const byCluster = new Map<string, typeof sources>();
  for (const s of sources) byCluster.set(s.cluster, [...(byCluster.get(s.cluster) ?? []), s]);
  await Promise.all(
    [...byCluster].map(async ([cluster, items]) => {
      const host = first.hosts.get(cluster)!;
      let conn;
      try {
        conn = await connect({
          host,
          vars: host.vars,
          acceptNewHostKeys: false,
          log: opts.log ?? (() => undefined),
          warn: opts.warn ?? (() => undefined),
          secret: opts.secret ?? (() => undefined),
          signal: controller.signal,
        });
      } catch (e) {
        for (const s of items) problems.push({ ...s.position, message: `cannot read the nodes of cluster '${cluster}' (from_api): ${(e as Error).message}`, expected: "a cluster API meshplay can reach (see the cluster's api)" });
        return;
      }
      try {
        for (const s of items) {
          let list: { items: any[] };
          try {
            list = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: '/api/v1/nodes', query: { labelSelector: s.selector } });
          } catch (e) {
            problems.push({ ...s.position, message: `cannot list the nodes of cluster '${cluster}' (from_api${s.selector ? ` selector ${s.selector}` : ''}): ${(e as Error).message}` });
            continue;
          }
          const nodes: ApiNode[] = [];
          for (const n of list.items) {
            const address = internalIp(n);
            if (!address) {
              problems.push({ ...s.position, message: `node '${n.metadata?.name}' of cluster '${cluster}' (from_api) has no InternalIP address`, expected: 'Node objects whose status.addresses hold an InternalIP (what meshplay connects to over SSH), or list that node by hand' });
              continue;
            }
            nodes.push({ name: String(n.metadata.name), address, labels: { ...(n.metadata.labels ?? {}) } });
          }
          if (!nodes.length && !list.items.length) opts.warn?.(`cluster '${cluster}': from_api${s.selector ? ` with selector ${s.selector}` : ''} found no nodes`);
          found.set(apiNodeKey(cluster, s.item), nodes);
        }
      } finally {
        await conn.close();
      }
    }),
  );
  if (problems.length) throw new ValidationError(problems);
  return loadInventory(paths, { ...opts, apiNodes: found });
}
