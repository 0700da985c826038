// Issue 12, multiple control planes and the Bookinfo demo, on two REAL API servers (lab/kube; these plays never
// SSH to nodes, and uninstall runs with -l clusters: the inventory's nodes are addresses only): each cluster seeded as an Istio 1.3 multicluster-gateways install and a user would have it; the
// multi-control-plane and Bookinfo playbooks, a prune (an export leaves the inventory), then uninstall (--check
// first) must leave every object that existed exactly as it was — the Corefile and stubDomains byte for byte — and
// take away every object meshplay created. A second uninstall changes nothing.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubeUp, startCluster, stopCluster, type KubeLabSpec } from '../lab/kube/index.js';
import { seedMultiControlPlane, kubeadmCorefile } from '../lab/fixtures-multi.js';
import { seedControlPlane } from '../lab/fixtures/control-plane.js';
import { labApply, type AdminCredentials } from '../lab/kube/rest.js';
import { connectTo } from './helpers/kube.js';
import { meshplay, results, totals, repoRoot, type CliRun } from './helpers/cli.js';
import { clusterSnapshot, settlesTo, snapshotDiff, stableSnapshot, type Snapshot } from './helpers/snapshot.js';
import type { KubernetesConnection } from '../runner/connection/kubernetes.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-uninstall-multi-'));
const spec: KubeLabSpec = {
  clusters: [
    { name: 'unmeast', podCidr: '10.66.0.0/16', serviceCidr: '10.114.0.0/16', controlPlane: true, nodes: [{ name: 'unmeast-n1', address: '10.252.1.2', podBlock: '10.66.1.0/24' }] },
    { name: 'unmwest', podCidr: '10.67.0.0/16', serviceCidr: '10.115.0.0/16', controlPlane: false, nodes: [{ name: 'unmwest-n1', address: '10.252.2.2', podBlock: '10.67.1.0/24' }] },
  ],
};
const conns: Record<string, KubernetesConnection> = {};
const inventoryFile = path.join(dir, 'inventory.yml');

t.teardown(async () => {
  for (const c of Object.values(conns)) await c.close().catch(() => undefined);
  for (const c of spec.clusters) await stopCluster(path.join(dir, 'kube', c.name), true).catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
});

/** A user's and Istio's objects in one cluster; returns what was seeded (for the report). */
async function seed(creds: AdminCredentials, cluster: string, index: number): Promise<string[]> {
  const seeded: string[] = [];
  const put = async (p: string, body: any) => {
    await labApply(creds, p, body);
    seeded.push(`${cluster}: ${body.kind} ${body.metadata.namespace ? `${body.metadata.namespace}/` : ''}${body.metadata.name}`);
  };
  // The DNS configuration as a site has it, before the fixtures would write the default one.
  if (index === 0) {
    await put('/api/v1/namespaces/kube-system/configmaps/coredns', {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'coredns', namespace: 'kube-system', labels: { 'k8s-app': 'kube-dns' } },
      data: { Corefile: `# site DNS, edited by hand\n${kubeadmCorefile}\n# corporate zone\nexample.org:53 {\n    errors\n    cache 10\n    forward . 192.0.2.53 192.0.2.54\n}\n`, extra: 'kept' },
    });
  } else {
    await put('/api/v1/namespaces/kube-system/configmaps/kube-dns', {
      apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'kube-dns', namespace: 'kube-system', labels: { 'addonmanager.kubernetes.io/mode': 'EnsureExists' } },
      data: { stubDomains: '{"acme.local": ["10.0.0.10"], "corp.example": ["10.0.0.11", "10.0.0.12"]}', upstreamNameservers: '["8.8.8.8"]' },
    });
  }
  await seedControlPlane(creds); // istio-system: istio-pilot, istio-policy, istio-telemetry, zipkin, a Pilot pod
  await seedMultiControlPlane(creds, { index }); // istiocoredns, istio-ingressgateway (15443)
  seeded.push(`${cluster}: Namespace istio-system, Services istio-pilot, istio-pilot-ilb, istio-policy, istio-telemetry, zipkin, istiocoredns, istio-ingressgateway, Pod istio-pilot-fixture`);
  await put('/api/v1/namespaces/istio-system/configmaps/istio', {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'istio', namespace: 'istio-system', labels: { app: 'istio' } }, data: { mesh: 'enableTracing: true\n' },
  });
  await put('/api/v1/namespaces/istio-system/secrets/istio.default', {
    apiVersion: 'v1', kind: 'Secret', type: 'istio.io/key-and-cert', metadata: { name: 'istio.default', namespace: 'istio-system' }, data: { 'root-cert.pem': Buffer.from('a root').toString('base64') },
  });
  // A ServiceEntry of the user's own, with the label meshplay's service_entries prune selects on.
  await put('/apis/networking.istio.io/v1alpha3/namespaces/istio-system/serviceentries/user-api', {
    apiVersion: 'networking.istio.io/v1alpha3', kind: 'ServiceEntry', metadata: { name: 'user-api', namespace: 'istio-system', labels: { 'meshplay.io/component': 'service-entries' } },
    spec: { hosts: ['api.example.org'], location: 'MESH_EXTERNAL', ports: [{ number: 443, name: 'https', protocol: 'TLS' }], resolution: 'DNS' },
  });
  await put('/api/v1/namespaces/shop', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop', labels: { team: 'shop' } } });
  await put('/api/v1/namespaces/shop/configmaps/shop-config', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'shop-config', namespace: 'shop' }, data: { currency: 'EUR' } });
  await put('/api/v1/namespaces/shop/secrets/shop-db', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'shop-db', namespace: 'shop' }, stringData: { password: 'user-db-password-2' } });
  await put('/api/v1/namespaces/default/configmaps/app-settings', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'app-settings', namespace: 'default' }, data: { a: 'b' } });
  if (index === 1) {
    // The user already runs a ratings Service where Bookinfo puts one: meshplay adopts it and must give it back.
    await put('/api/v1/namespaces/default/services/ratings', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'ratings', namespace: 'default', labels: { app: 'ratings', owner: 'user' } },
      spec: { selector: { app: 'ratings' }, ports: [{ name: 'http', port: 9080, targetPort: 9080, protocol: 'TCP' }] },
    });
  }
  return seeded;
}

function writeInventory(exports: unknown[], apis: Record<string, any>) {
  fs.writeFileSync(inventoryFile, stringify({
    topology: 'multi-control-plane',
    clusters: spec.clusters.map((c) => ({ name: c.name, istio_control_plane: c.controlPlane, api: apis[c.name], nodes: c.nodes.map((n) => ({ name: n.name, address: n.address })) })),
    vars: { mesh_exports: exports, mesh_ca_key_type: 'ecdsa-p256' },
  }));
}

t.test('multiple control planes + Bookinfo: uninstall gives every cluster back', { timeout: 900_000 }, async (t) => {
  const apis = await kubeUp(spec, dir);
  const seeded: string[] = [];
  const before: Record<string, Snapshot> = {};
  for (const [i, c] of spec.clusters.entries()) {
    const started = await startCluster({ name: c.name, serviceCidr: c.serviceCidr, dir: path.join(dir, 'kube', c.name) });
    seeded.push(...(await seed(started.admin, c.name, i)));
    conns[c.name] = await connectTo(c.name, { kubeconfig: apis[c.name]!.kubeconfig, context: apis[c.name]!.context });
    before[c.name] = await stableSnapshot(conns[c.name]!);
  }
  t.comment(`seeded:\n# ${seeded.join('\n# ')}`);
  const [east, west] = [conns.unmeast!, conns.unmwest!];
  const exports = [
    { cluster: 'unmwest', namespace: 'default', service: 'ratings', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] },
    { cluster: 'unmeast', namespace: 'shop', service: 'cart', ports: [{ number: 8080, name: 'grpc', protocol: 'GRPC' }] },
  ];
  writeInventory(exports, apis);
  const outputs: string[] = [];
  const play = async (name: string, ...extra: string[]): Promise<CliRun> => {
    const r = await meshplay(['run', path.join(repoRoot, 'playbooks', name), '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 300_000 });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  const failed = (r: CliRun) => results(r).filter((e) => e.status === 'failed').map((e) => `${e.host} ${e.task}: ${e.result?.msg}`).join('\n') + (r.code ? r.stderr.slice(-1500) : '');

  for (const p of ['multi-control-plane.yml', 'bookinfo-multi-control-plane.yml']) {
    const r = await play(p);
    t.equal(r.code, 0, `${p}: ${failed(r)}`);
  }
  const corefile: string = (await east.getOrUndefined<any>('/api/v1/namespaces/kube-system/configmaps/coredns')).data.Corefile;
  t.match(corefile, /global:53 \{/, 'the global block was added (so the give-back can fail)');
  const ratings = await west.getOrUndefined<any>('/api/v1/namespaces/default/services/ratings');
  t.equal(ratings.metadata.labels['meshplay.io/adopted-by'], 'meshplay', "the user's ratings Service is adopted, not marked created");
  t.equal(ratings.metadata.labels['meshplay.io/component'], 'bookinfo');
  t.ok(await east.getOrUndefined('/apis/networking.istio.io/v1alpha3/namespaces/istio-system/serviceentries/ratings-default-unmwest'), 'ServiceEntry for the ratings export');

  // Prune in a normal run: the cart export leaves the inventory; only meshplay's ServiceEntry for it goes.
  const westBefore = await clusterSnapshot(west);
  writeInventory(exports.slice(0, 1), apis);
  const pruned = await play('multi-control-plane.yml');
  t.equal(pruned.code, 0, failed(pruned));
  t.equal(snapshotDiff(westBefore, await clusterSnapshot(west)), 'gone: networking.istio.io/ServiceEntry istio-system/cart-shop-unmeast', 'prune deleted only the ServiceEntry meshplay made for cart');
  const userApi = 'networking.istio.io/ServiceEntry istio-system/user-api';
  t.ok(before.unmwest![userApi], "the user's ServiceEntry with the same label was seeded");
  t.same((await clusterSnapshot(west))[userApi], before.unmwest![userApi], "... and is untouched");

  const installed: Record<string, Snapshot> = { unmeast: await clusterSnapshot(east), unmwest: await clusterSnapshot(west) };
  const check = await play('uninstall.yml', '-l', 'clusters', '--check', '--diff');
  t.equal(check.code, 0, failed(check));
  for (const c of Object.keys(conns)) t.equal(snapshotDiff(installed[c]!, await clusterSnapshot(conns[c]!)), '', `${c}: --check changed nothing`);
  const task = 'uninstall : Delete what meshplay created, give back what it adopted';
  const planned = Object.fromEntries(results(check, task).map((e) => [e.host, { delete: e.result.delete, give_back: e.result.give_back }]));
  t.same(planned.unmwest.give_back, ['Service default/ratings'], 'check lists the adopted Service to give back');
  t.ok(planned.unmeast.delete.includes('Secret istio-system/meshplay-root-ca'), 'check lists the root CA');
  for (const c of Object.keys(conns)) t.notOk(planned[c].delete.some((d: string) => d.startsWith('Namespace ')), `${c}: no namespace to delete (meshplay created none)`);
  const dnsPlan = results(check, 'uninstall : Take meshplay\'s zone out of the cluster DNS configuration');
  t.same(dnsPlan.map((e) => e.status).sort(), ['changed', 'changed'], 'check: both DNS configurations would be given back');
  t.comment(`uninstall --check plan: ${JSON.stringify(planned)}`);

  const un = await play('uninstall.yml', '-l', 'clusters');
  t.equal(un.code, 0, failed(un));
  for (const e of results(un, task)) {
    t.same(e.result.deleted, planned[e.host].delete, `${e.host}: deleted exactly what --check listed`);
    t.same(e.result.given_back, planned[e.host].give_back, `${e.host}: gave back exactly what --check listed`);
  }
  for (const c of Object.keys(conns)) t.equal(await settlesTo(conns[c]!, before[c]!), '', `${c}: every object as before (full content: Corefile, stubDomains, Services, Secrets), nothing of meshplay's left`);

  const again = await play('uninstall.yml', '-l', 'clusters');
  t.equal(again.code, 0, failed(again));
  t.equal(totals(again).changed ?? 0, 0, 'uninstall again: changed=0');
  t.notOk(outputs.join('\n').includes('user-db-password-2'), "the user's Secret value never printed");
});
