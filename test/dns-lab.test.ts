// Every DNS change meshplay makes, answered by the REAL CoreDNS (../shared/coredns/bin/coredns 1.10.1) run by the lab
// (lab/coredns.ts) against two REAL kube-apiservers: one cluster runs CoreDNS (kube-system/coredns, kubeadm's
// Corefile), the other kube-dns (stubDomains, translated as kubeadm does). Each cluster's DNS lives in network
// namespaces this test creates; istiocoredns and the upstream resolvers are stand-ins at their addresses there, so
// no query can leave them. Queries are `dig` from inside the cluster's DNS namespace, as a pod would ask.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubeUp, startCluster, stopCluster, type KubeLabSpec } from '../lab/kube/index.js';
import { seedMultiControlPlane } from '../lab/fixtures-multi.js';
import { adminRequest, type AdminCredentials } from '../lab/kube/rest.js';
import { clusterDig, stopClusterDns, syncClusterDns, UPSTREAM_EXAMPLE_ANSWER, readClusterDns } from '../lab/coredns.js';
import { meshplay, results, repoRoot, failures } from './helpers/cli.js';
import { upsertForwardBlock } from '../runner/mesh/corefile.js';


const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-dns-lab-'));
const spec: KubeLabSpec = {
  clusters: [
    { name: 'dnsa', podCidr: '10.66.0.0/16', serviceCidr: '10.114.0.0/16', controlPlane: true, nodes: [{ name: 'dnsa-n1', address: '10.252.1.2', podBlock: '10.66.1.0/24' }] },
    { name: 'dnsb', podCidr: '10.67.0.0/16', serviceCidr: '10.115.0.0/16', controlPlane: false, nodes: [{ name: 'dnsb-n1', address: '10.252.2.2', podBlock: '10.67.1.0/24' }] },
  ],
};
const names = spec.clusters.map((c) => c.name);
const admin: Record<string, AdminCredentials & { kubeconfig: string }> = {};
let apis: Record<string, any> = {};
const inventoryFile = path.join(dir, 'inventory.yml');
const corefileDir = path.join(repoRoot, 'test', 'fixtures', 'mesh', 'corefiles');

const exportsMulti = [
  { cluster: 'dnsb', namespace: 'default', service: 'reviews', ports: [{ number: 9080, name: 'http1', protocol: 'HTTP' }] },
  { cluster: 'dnsa', namespace: 'shop', service: 'cart', ports: [{ number: 8080, name: 'grpc', protocol: 'GRPC' }] },
];

function writeInventory(topology: string, vars: Record<string, unknown>) {
  const inv = {
    topology,
    clusters: spec.clusters.map((c) => ({
      name: c.name,
      istio_control_plane: c.controlPlane,
      api: apis[c.name],
      nodes: c.nodes.map((n) => ({ name: n.name, address: n.address })),
    })),
    vars: { mesh_ca_key_type: 'ecdsa-p256', meshplay_owner: 'dns-lab-test', ...vars },
  };
  fs.writeFileSync(inventoryFile, stringify(inv));
}

async function play(name: string, extra: string[] = []) {
  return meshplay(['run', path.join(repoRoot, 'playbooks', name), '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 120_000 });
}

const input = (c: string) => ({ stateDir: dir, cluster: c, serviceCidr: spec.clusters.find((x) => x.name === c)!.serviceCidr, creds: admin[c]!, context: c });
const sync = (c: string) => syncClusterDns(input(c));
const dig = (c: string, name: string, type = 'A') => clusterDig(dir, c, name, type);
const a = async (c: string, name: string) => {
  const r = await dig(c, name);
  return { status: r.status, ips: r.answers.filter((x) => x.type === 'A').map((x) => x.data) };
};

async function json(c: string, p: string): Promise<any> {
  const r = await adminRequest(admin[c]!, 'GET', p);
  return r.status === 200 ? JSON.parse(r.body) : undefined;
}

async function seAddress(c: string, host: string): Promise<string | undefined> {
  const l = await json(c, '/apis/networking.istio.io/v1alpha3/serviceentries');
  return l.items.find((s: any) => s.spec.hosts.includes(host))?.spec.addresses?.[0];
}

t.before(async () => {
  apis = await kubeUp(spec, dir);
  for (const [i, c] of spec.clusters.entries()) {
    const started = await startCluster({ name: c.name, serviceCidr: c.serviceCidr, dir: path.join(dir, 'kube', c.name) });
    await seedMultiControlPlane(started.admin, { index: i });
    admin[c.name] = { ...started.admin, kubeconfig: started.api.kubeconfig };
  }
});

t.teardown(async () => {
  for (const c of names) await stopClusterDns(dir, c);
  for (const c of spec.clusters) await stopCluster(path.join(dir, 'kube', c.name), true);
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('before meshplay: the cluster zone resolves, .global does not, upstream names reach only the stand-in', async (t) => {
  for (const c of names) {
    const s = await sync(c);
    t.ok(s.servers.cluster, `${c}: the cluster DNS runs (${s.servers.cluster?.source})`);
    const k = await a(c, 'kubernetes.default.svc.cluster.local');
    t.same(k, { status: 'NOERROR', ips: [spec.clusters.find((x) => x.name === c)!.serviceCidr.replace('0.0/16', '0.1')] }, `${c}: kubernetes.default.svc.cluster.local -> the kubernetes Service`);
    const istiocoredns = (await json(c, '/api/v1/namespaces/istio-system/services/istiocoredns')).spec.clusterIP;
    t.same(await a(c, 'istiocoredns.istio-system.svc.cluster.local'), { status: 'NOERROR', ips: [istiocoredns] }, `${c}: Services resolve through the kubernetes plugin`);
    t.equal((await a(c, 'reviews.default.global')).status, 'NXDOMAIN', `${c}: reviews.default.global does not resolve before meshplay`);
    t.same(await a(c, 'www.example.org'), { status: 'NOERROR', ips: [UPSTREAM_EXAMPLE_ANSWER] }, `${c}: other names go to the upstream stand-in`);
  }
  t.equal(readClusterDns(dir, 'dnsb')!.servers.cluster!.source, 'ConfigMap kube-system/kube-dns (stubDomains, as kubeadm translates them)');
  t.same(readClusterDns(dir, 'dnsb')!.servers.upstream!.addresses.sort(), ['192.0.2.53', '8.8.8.8'].sort(), 'kube-dns upstreamNameservers 8.8.8.8 is a stand-in address inside the lab namespace');
});

t.test('after the multi-control-plane run: .global resolves to meshplay\'s VIP through istiocoredns', async (t) => {
  writeInventory('multi-control-plane', { mesh_exports: exportsMulti });
  const run = await play('multi-control-plane.yml');
  t.equal(failures(run), '');
  for (const c of names) await sync(c);
  const reviewsVip = await seAddress('dnsa', 'reviews.default.global');
  t.match(reviewsVip, /^\d+\.\d+\.\d+\.\d+$/, 'dnsa has a ServiceEntry for reviews.default.global with a VIP');
  const ra = await a('dnsa', 'reviews.default.global');
  t.same(ra, { status: 'NOERROR', ips: [reviewsVip] }, `CoreDNS cluster dnsa: reviews.default.global -> ${reviewsVip} (global:53 -> istiocoredns)`);
  const cartVip = await seAddress('dnsb', 'cart.shop.global');
  t.same(await a('dnsb', 'cart.shop.global'), { status: 'NOERROR', ips: [cartVip] }, `kube-dns cluster dnsb: cart.shop.global -> ${cartVip} (stubDomains -> istiocoredns)`);
  t.equal((await a('dnsb', 'reviews.default.global')).status, 'NXDOMAIN', 'dnsb does not import its own export');
  for (const c of names) {
    t.equal((await a(c, 'kubernetes.default.svc.cluster.local')).status, 'NOERROR', `${c}: the cluster zone still resolves`);
    t.same((await a(c, 'www.example.org')).ips, [UPSTREAM_EXAMPLE_ANSWER], `${c}: upstream still reached`);
  }
  t.comment(`dig reviews.default.global @dnsa -> ${ra.status} ${ra.ips.join(',')}; cart.shop.global @dnsb -> ${cartVip}`);
});

t.test('every Corefile meshplay writes into the real-world Corefiles loads in the real CoreDNS', async (t) => {
  // The edit mesh_global_dns makes (upsertForwardBlock, the function it calls) of each real-world Corefile, put in the
  // cluster's ConfigMap and run by the lab's CoreDNS; the playbook run above wrote the kubeadm one the same way.
  const cmPath = '/api/v1/namespaces/kube-system/configmaps/coredns';
  const original = await json('dnsa', cmPath);
  const setCorefile = async (text: string) => {
    const cm = await json('dnsa', cmPath);
    const r = await adminRequest(admin.dnsa!, 'PUT', cmPath, { ...cm, data: { ...cm.data, Corefile: text } });
    t.equal(r.status, 200, 'Corefile replaced');
  };
  const istiocoredns = (await json('dnsa', '/api/v1/namespaces/istio-system/services/istiocoredns')).spec.clusterIP;
  const vip = await seAddress('dnsa', 'reviews.default.global');
  for (const f of fs.readdirSync(corefileDir).sort()) {
    const text = fs.readFileSync(path.join(corefileDir, f), 'utf8');
    const edit = upsertForwardBlock(text, 'global', istiocoredns);
    t.ok(edit.changed, `${f}: meshplay's edit (${edit.action})`);
    await setCorefile(edit.text);
    if (/^\s*proxy\b/m.test(text)) {
      // Written for CoreDNS < 1.5 (proxy was removed in 1.5): 1.10 refuses the original exactly as meshplay's result.
      const loads = () => sync('dnsa').then(() => 'loaded', (e: Error) => /Error during parsing: .*/.exec(e.message)?.[0] ?? e.message);
      const edited = await loads();
      await setCorefile(text);
      const original = await loads();
      t.match(edited, /Unknown directive 'proxy'/, `${f}: CoreDNS 1.10 refuses proxy (a CoreDNS < 1.5 Corefile): ${edited}`);
      t.equal(edited, original, `${f}: meshplay's edit adds no error of its own`);
      continue;
    }
    const s = await sync('dnsa').catch((e: Error) => e);
    t.notOk(s instanceof Error, `${f} edited by meshplay loads in CoreDNS 1.10.1${s instanceof Error ? `: ${s.message}` : ''}`);
    t.same(await a('dnsa', 'reviews.default.global'), { status: 'NOERROR', ips: [vip] }, `${f}: reviews.default.global resolves`);
    t.equal((await a('dnsa', 'kubernetes.default.svc.cluster.local')).status, 'NOERROR', `${f}: the cluster zone still resolves`);
  }
  await setCorefile(original.data.Corefile);
  await sync('dnsa');
});

t.test('after uninstall: .global no longer resolves, the rest does', async (t) => {
  // The nodes of this inventory are addresses only (API servers, no machines): the route play has no one to reach.
  const run = await play('uninstall.yml', ['-l', 'clusters']);
  t.equal(failures(run), '');
  for (const c of names) {
    await sync(c);
    t.equal((await a(c, 'reviews.default.global')).status, 'NXDOMAIN', `${c}: reviews.default.global gone`);
    t.equal((await a(c, 'cart.shop.global')).status, 'NXDOMAIN', `${c}: cart.shop.global gone`);
    t.equal((await a(c, 'kubernetes.default.svc.cluster.local')).status, 'NOERROR', `${c}: cluster zone resolves`);
  }
});

