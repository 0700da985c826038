// Issue 12, single control plane, on a full 3x1 lab (network namespaces, sshd, BIRD, real API servers): clusters
// seeded as a real Istio install and a real user would have them; the playbook, a prune (a cluster leaves the
// inventory), then uninstall (--check first) must leave every object that existed exactly as it was, take away every
// object meshplay created, and remove only the routes of meshplay's protocol. A second uninstall changes nothing.
import t from 'tap';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nodeExec } from '../lab/cli.js';
import { labCredentials } from '../lab/fixtures/control-plane.js';
import { kubeadmCorefile } from '../lab/fixtures-multi.js';
import { labApply, type AdminCredentials } from '../lab/kube/rest.js';
import { meshplay, results, totals, type CliRun } from './helpers/cli.js';
import { clusterLab } from './helpers/lab.js';
import { clusterSnapshot, content, nodeRoutes, settlesTo, snapshotDiff, stableSnapshot, type Snapshot } from './helpers/snapshot.js';

const canRun = process.getuid?.() === 0;

/** What the clusters hold before meshplay: an Istio 1.3 control plane in lab1, leftovers of an earlier remote install in lab2. */
async function seed(creds: Record<string, AdminCredentials>): Promise<string[]> {
  const seeded: string[] = [];
  const put = async (cluster: string, path: string, body: any) => {
    await labApply(creds[cluster]!, path, body);
    seeded.push(`${cluster}: ${body.kind} ${body.metadata.namespace ? `${body.metadata.namespace}/` : ''}${body.metadata.name}`);
  };
  const ns = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } });
  // lab1: the control plane's ConfigMaps and a workload certificate next to the fixture Services and Pilot pod.
  await put('lab1', '/api/v1/namespaces/istio-system/configmaps/istio', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system', labels: { app: 'istio', release: 'istio' } },
    data: { mesh: 'disablePolicyChecks: true\nenableTracing: true\nmixerCheckServer: istio-policy.istio-system.svc.cluster.local:15004\n' },
  });
  await put('lab1', '/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio-sidecar-injector', namespace: 'istio-system', labels: { app: 'sidecarInjectorWebhook', istio: 'sidecar-injector' } },
    data: { config: 'policy: enabled\ntemplate: |-\n  initContainers: []\n' },
  });
  await put('lab1', '/api/v1/namespaces/istio-system/secrets/istio.default', {
    apiVersion: 'v1', kind: 'Secret', type: 'istio.io/key-and-cert', metadata: { name: 'istio.default', namespace: 'istio-system', annotations: { 'istio.io/service-account.name': 'default' } },
    data: { 'cert-chain.pem': Buffer.from('not a real chain').toString('base64') },
  });
  // A remote secret the user made by hand for a cluster meshplay does not know: same label, not meshplay's.
  await put('lab1', '/api/v1/namespaces/istio-system/secrets/user-remote-secret', {
    apiVersion: 'v1', kind: 'Secret', type: 'Opaque', metadata: { name: 'user-remote-secret', namespace: 'istio-system', labels: { 'istio/multiCluster': 'true' } },
  });
  for (const [cluster, dns] of [['lab1', 'coredns'], ['lab2', 'kube-dns'], ['lab3', 'coredns']] as const) {
    await put(cluster, '/api/v1/namespaces/shop', ns('shop', { 'istio-injection': 'enabled' }));
    await put(cluster, '/api/v1/namespaces/shop/configmaps/shop-config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config', namespace: 'shop' }, data: { currency: 'EUR' } });
    await put(cluster, '/api/v1/namespaces/shop/secrets/shop-db', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-db', namespace: 'shop' }, stringData: { password: 'user-db-password-1' } });
    if (dns === 'coredns') {
      await put(cluster, '/api/v1/namespaces/kube-system/configmaps/coredns', {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system' },
        data: { Corefile: `# site DNS, edited by hand\n${kubeadmCorefile}example.org:53 {\n    errors\n    forward . 192.0.2.53\n}\n` },
      });
    } else {
      await put(cluster, '/api/v1/namespaces/kube-system/configmaps/kube-dns', {
        apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-dns', namespace: 'kube-system' },
        data: { stubDomains: '{"acme.local": ["10.0.0.10"]}\n', upstreamNameservers: '["8.8.8.8"]' },
      });
    }
  }
  // lab2: istio-system and the reader ServiceAccount left by an earlier istio-remote install (meshplay adopts them).
  await put('lab2', '/api/v1/namespaces/istio-system', ns('istio-system', { 'istio-injection': 'disabled' }));
  await put('lab2', '/api/v1/namespaces/istio-system/configmaps/istio', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system' }, data: { mesh: 'defaultConfig: {}\n' } });
  await put('lab2', '/api/v1/namespaces/istio-system/serviceaccounts/istio-reader-service-account', {
    apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'istio-reader-service-account', namespace: 'istio-system', labels: { app: 'istio-reader', release: 'istio-remote' } },
  });
  return seeded;
}

t.test('single control plane: uninstall gives every cluster and node back', { skip: canRun ? false : 'needs root (network namespaces)', timeout: 900_000 }, async (t) => {
  const { stateDir, inventoryFile, inventory: inv, conns } = await clusterLab(t, 'uninstall-single', { clusters: 3, nodes: 1 });
  const clusters: string[] = inv.clusters.map((c: any) => c.name);
  const nodes: string[] = inv.clusters.flatMap((c: any) => c.nodes.map((n: any) => n.name));
  t.same(clusters, ['lab1', 'lab2', 'lab3']);
  const creds = Object.fromEntries(clusters.map((c) => [c, labCredentials(stateDir, c)]));

  const seeded = await seed(creds);
  // Routes of other owners on every node: static, OSPF (188), and the kernel's and BIRD's the lab already has.
  for (const n of nodes) {
    for (const argv of [['blackhole', '198.51.100.0/24', 'proto', 'static'], ['blackhole', '203.0.113.0/24', 'proto', '188']]) {
      const r = await nodeExec(n, ['ip', 'route', 'add', ...argv], { stateDir });
      t.equal(r.exitCode, 0, `${n}: ip route add ${argv.join(' ')} ${r.stderr}`);
    }
    seeded.push(`${n}: routes 198.51.100.0/24 proto static, 203.0.113.0/24 proto ospf (188)`);
  }
  const before: Record<string, Snapshot> = {};
  for (const c of clusters) before[c] = await stableSnapshot(conns[c]!);
  const routesBefore: Record<string, string[]> = {};
  for (const n of nodes) routesBefore[n] = await nodeRoutes(n, stateDir);
  t.comment(`seeded:\n# ${seeded.join('\n# ')}`);

  const outputs: string[] = [];
  const run = async (playbook: string, ...extra: string[]): Promise<CliRun> => {
    const r = await meshplay(['run', `playbooks/${playbook}`, '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 300_000 });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const failed = (r: CliRun) => results(r).filter((e) => e.status === 'failed' || e.status === 'unreachable').map((e) => `${e.host} ${e.task}: ${e.result?.msg}`).join('\n') + r.stderr.slice(-1500);

  const install = await run('single-control-plane.yml');
  t.equal(install.code, 0, failed(install));
  // The run did change things the uninstall must take back (so the checks below can fail).
  const cp = conns.lab1!;
  t.ok(await cp.getOrUndefined('/api/v1/namespaces/istio-system/secrets/istio-remote-secret-lab2'), 'remote secret made');
  t.equal((await conns.lab3!.getOrUndefined<any>('/api/v1/namespaces/istio-system')).metadata.labels['meshplay.io/created-by'], 'meshplay', 'lab3: istio-system created by meshplay and marked');
  t.notOk((await cp.getOrUndefined<any>('/api/v1/namespaces/istio-system')).metadata.labels?.['meshplay.io/created-by'], 'lab1: istio-system existed: never marked');
  t.same(content(await cp.getOrUndefined('/api/v1/namespaces/istio-system')), before.lab1!['Namespace istio-system'], "lab1: istio-system untouched (meshplay's apply changed nothing in it)");
  const reader = await conns.lab2!.getOrUndefined<any>('/api/v1/namespaces/istio-system/serviceaccounts/istio-reader-service-account');
  t.equal(reader.metadata.labels['meshplay.io/adopted-by'], 'meshplay', 'lab2: the reader ServiceAccount that existed is adopted');
  t.notOk(reader.metadata.labels['meshplay.io/created-by'], '... and not marked created');
  for (const n of nodes) t.ok((await nodeRoutes(n, stateDir)).some((l) => / proto (201|meshplay)\b/.test(l)), `${n}: meshplay's routes present`);

  // Prune in a normal run: lab3 leaves the inventory; only its remote secret goes.
  const doc = structuredClone(inv);
  doc.clusters = doc.clusters.filter((c: any) => c.name !== 'lab3');
  const smaller = join(stateDir, 'two.yml');
  writeFileSync(smaller, stringify(doc));
  const cpBeforePrune = await clusterSnapshot(cp);
  const prune = await meshplay(['run', 'playbooks/single-control-plane.yml', '-i', smaller, '--tags', 'kubeconfig_secrets', '--output', 'ndjson'], { timeoutMs: 300_000 });
  outputs.push(prune.stdout, prune.stderr);
  t.equal(prune.code, 0, failed(prune));
  const afterPrune = snapshotDiff(cpBeforePrune, await clusterSnapshot(cp));
  t.equal(afterPrune, 'gone: Secret istio-system/istio-remote-secret-lab3', 'prune deleted exactly the remote secret meshplay made for lab3');
  t.same(content(await cp.getOrUndefined('/api/v1/namespaces/istio-system/secrets/user-remote-secret')), before.lab1!['Secret istio-system/user-remote-secret'], "the user's istio/multiCluster Secret untouched");

  // --check lists the plan and changes nothing.
  const installed: Record<string, Snapshot> = {};
  for (const c of clusters) installed[c] = await clusterSnapshot(conns[c]!);
  const check = await run('uninstall.yml', '--check');
  t.equal(check.code, 0, failed(check));
  const task = 'uninstall : Delete what meshplay created, give back what it adopted';
  const planned = Object.fromEntries(results(check, task).map((e) => [e.host, { delete: e.result.delete, give_back: e.result.give_back }]));
  for (const c of clusters) t.equal(snapshotDiff(installed[c]!, await clusterSnapshot(conns[c]!)), '', `${c}: --check changed nothing`);
  t.ok(planned.lab1.delete.includes('Secret istio-system/istio-remote-secret-lab2'), 'check lists the remote secret');
  t.ok(planned.lab3.delete.includes('Namespace istio-system'), 'check lists the namespace meshplay created in lab3');
  t.notOk(planned.lab1.delete.includes('Namespace istio-system'), "check never lists lab1's istio-system");
  // lab2's earlier istio-remote install: its reader ServiceAccount and its `istio` mesh ConfigMap (istio_remote's).
  t.same([...planned.lab2.give_back].sort(), ['ConfigMap istio-system/istio', 'ServiceAccount istio-system/istio-reader-service-account'], 'check lists the adopted ServiceAccount and istio ConfigMap to give back');
  const routePlan = results(check, 'Delete every route of meshplay\'s protocol');
  t.equal(routePlan.length, nodes.length, 'every node planned');
  for (const e of routePlan) t.ok(e.result.deleted > 0, `${e.host}: check lists ${e.result.deleted} route(s) to delete`);
  t.comment(`uninstall --check plan: ${JSON.stringify(planned)}`);

  const un = await run('uninstall.yml');
  t.equal(un.code, 0, failed(un));
  for (const e of results(un, task)) {
    t.same(e.result.deleted, planned[e.host].delete, `${e.host}: deleted exactly what --check listed`);
    t.same(e.result.given_back, planned[e.host].give_back, `${e.host}: gave back exactly what --check listed`);
  }
  for (const c of clusters) t.equal(await settlesTo(conns[c]!, before[c]!), '', `${c}: every object as before (full content), nothing of meshplay's left`);
  for (const n of nodes) t.same(await nodeRoutes(n, stateDir), routesBefore[n], `${n}: routes as before (meshplay's gone, static/ospf/bird/kernel kept)`);

  const again = await run('uninstall.yml');
  t.equal(again.code, 0, failed(again));
  t.equal(totals(again).changed ?? 0, 0, 'uninstall again: changed=0');
  t.notOk(outputs.join('\n').includes('user-db-password-1'), "the user's Secret value never printed");
  t.ok(existsSync(inventoryFile));
});
