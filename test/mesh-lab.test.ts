// The multi-control-plane playbook against two REAL kube-apiservers (lab/kube), seeded with what an Istio
// multicluster-gateways install gives (lab/fixtures-multi.ts): converge, re-run changed=0, check mode,
// export removal, gateway address change, status, uninstall back to the original object lists.
// Uses lab/kube directly (API servers only): the network-namespace lab's names are machine-wide and another
// lab may be up; these plays never SSH to nodes.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubeUp, startCluster, stopCluster, type KubeLabSpec } from '../lab/kube/index.js';
import { seedMultiControlPlane, gatewayNodePort } from '../lab/fixtures-multi.js';
import { connectTo } from './helpers/kube.js';
import { meshplay, totals, results, repoRoot, failures } from './helpers/cli.js';
import type { KubernetesConnection } from '../runner/connection/kubernetes.js';
import { verifyCacerts, cacertsKeys } from '../runner/mesh/ca.js';
import { findServerBlock, forwardOf } from '../runner/mesh/corefile.js';
import { multiStatus } from '../runner/mesh/status.js';
import { kubeadmCorefile } from '../lab/fixtures-multi.js';
import type { ApiSettings, Inventory } from '../runner/inventory/types.js';
import { LAB_FORMS, writeLabForms } from '../lab/forms.js';
import { httpGet, startPilot, stopPilot, type PilotState } from '../lab/pilot.js';
import { fetchXds, type XdsSnapshot } from './helpers/xds.js';

/** What east's Pilot sends a sidecar in east for the `.global` clusters (CDS + EDS over ADS). */
async function globalXds(cluster: string, ok: (s: XdsSnapshot) => boolean): Promise<XdsSnapshot> {
  const ask = () => fetchXds(pilots.mpeast!.grpcAddr, { ip: '10.64.1.5', pod: 'productpage-0', namespace: 'default', clusterId: 'mpeast' }, { edsFor: (c) => c.name.endsWith('.global') }).catch((): XdsSnapshot => ({ clusters: [], endpoints: {} }));
  return eventually(`xDS for ${cluster}`, ask, ok);
}

// One lab for the whole file and every api form run against it (issue 13): allow for a loaded machine.
t.setTimeout(1_200_000);

const pilots: Record<string, PilotState> = {};

/** hostname -> address of every service in a Pilot's registry. */
async function registry(p: PilotState): Promise<Record<string, string | undefined>> {
  const res = await httpGet(`http://${p.httpAddr}/debug/registryz`);
  const list = (JSON.parse(res.body || '[]') ?? []) as { hostname: string; address?: string }[];
  return Object.fromEntries(list.map((s) => [s.hostname, s.address]));
}

async function eventually<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-mesh-lab-'));
const spec: KubeLabSpec = {
  clusters: [
    { name: 'mpeast', podCidr: '10.64.0.0/16', serviceCidr: '10.112.0.0/16', controlPlane: true, nodes: [{ name: 'mpeast-n1', address: '10.251.1.2', podBlock: '10.64.1.0/24' }] },
    { name: 'mpwest', podCidr: '10.65.0.0/16', serviceCidr: '10.113.0.0/16', controlPlane: false, nodes: [{ name: 'mpwest-n1', address: '10.251.2.2', podBlock: '10.65.1.0/24' }] },
  ],
};
const conns: Record<string, KubernetesConnection> = {};
let apis: Record<string, any> = {};
const inventoryFile = path.join(dir, 'inventory.yml');

const exportsAll = [
  { cluster: 'mpwest', namespace: 'default', service: 'reviews', ports: [{ number: 9080, name: 'http1', protocol: 'HTTP' }] },
  { cluster: 'mpwest', namespace: 'default', service: 'ratings', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] },
  { cluster: 'mpeast', namespace: 'shop', service: 'cart', ports: [{ number: 8080, name: 'grpc', protocol: 'GRPC' }] },
];

/** `form`: the clusters reached another way (lab/forms.ts), and their nodes read from the API when fromApi. */
function writeInventory(exports: unknown[], westGateway?: string, form?: { api: Record<string, ApiSettings>; fromApi?: boolean }) {
  const inv = {
    topology: 'multi-control-plane',
    clusters: spec.clusters.map((c) => ({
      name: c.name,
      istio_control_plane: c.controlPlane,
      api: form?.api[c.name] ?? apis[c.name],
      ...(c.name === 'mpwest' && westGateway ? { vars: { gateway_address: westGateway } } : {}),
      nodes: form?.fromApi ? 'from_api' : c.nodes.map((n) => ({ name: n.name, address: n.address })),
    })),
    vars: { mesh_exports: exports, mesh_ca_key_type: 'ecdsa-p256', meshplay_owner: 'mesh-lab-test' },
  };
  fs.writeFileSync(inventoryFile, stringify(inv));
}

async function play(name: string, extra: string[] = []) {
  const run = await meshplay(['run', path.join(repoRoot, 'playbooks', name), '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 120_000 });
  return run;
}

/** Everything a cluster holds that meshplay could have touched: names of objects + DNS ConfigMap data. */
async function snapshot(conn: KubernetesConnection): Promise<string[]> {
  const out: string[] = [];
  const lists: [string, string][] = [
    ['v1', 'secrets'], ['v1', 'configmaps'], ['v1', 'services'], ['apps/v1', 'deployments'],
    ['networking.istio.io/v1alpha3', 'serviceentries'], ['networking.istio.io/v1alpha3', 'gateways'],
    ['networking.istio.io/v1alpha3', 'envoyfilters'], ['networking.istio.io/v1alpha3', 'destinationrules'],
    ['networking.istio.io/v1alpha3', 'virtualservices'],
  ];
  for (const [gv, res] of lists) {
    const base = gv === 'v1' ? '/api/v1' : `/apis/${gv}`;
    const l = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: `${base}/${res}` });
    for (const i of l.items) {
      // Service-account token Secrets and kube-root-ca.crt come and go with the controller manager.
      if (res === 'configmaps' && i.metadata.name === 'kube-root-ca.crt') continue;
      out.push(`${res} ${i.metadata.namespace}/${i.metadata.name}`);
    }
  }
  for (const name of ['coredns', 'kube-dns']) {
    const cm = await conn.getOrUndefined<any>(`/api/v1/namespaces/kube-system/configmaps/${name}`);
    if (cm) out.push(`dns ${name} ${JSON.stringify(cm.data)} ${JSON.stringify(cm.metadata.annotations ?? {})}`);
  }
  return out.sort();
}

const before: Record<string, string[]> = {};
let forms: Awaited<ReturnType<typeof writeLabForms>>;

t.before(async () => {
  apis = await kubeUp(spec, dir);
  for (const [i, c] of spec.clusters.entries()) {
    const started = await startCluster({ name: c.name, serviceCidr: c.serviceCidr, dir: path.join(dir, 'kube', c.name) });
    await seedMultiControlPlane(started.admin, { index: i });
    conns[c.name] = await connectTo(c.name, { kubeconfig: apis[c.name].kubeconfig, context: apis[c.name].context });
  }
  // The per-form credentials (an operator ServiceAccount and its token) are the lab's, made before the "before"
  // snapshot: uninstall must give back exactly that state.
  forms = await writeLabForms(dir, spec.clusters.map((c) => c.name));
  for (const c of spec.clusters) before[c.name] = await snapshot(conns[c.name]!);
});

t.teardown(async () => {
  for (const c of Object.keys(pilots)) await stopPilot(path.join(dir, `pilot-${c}`));
  for (const c of Object.values(conns)) await c.close();
  for (const c of spec.clusters) await stopCluster(path.join(dir, 'kube', c.name), true);
  fs.rmSync(dir, { recursive: true, force: true });
});

async function secretFiles(conn: KubernetesConnection, name: string): Promise<Record<string, string>> {
  const s = await conn.request<any>({ method: 'GET', path: `/api/v1/namespaces/istio-system/secrets/${name}` });
  return Object.fromEntries(Object.entries(s.data as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]));
}

async function serviceEntries(conn: KubernetesConnection): Promise<Record<string, { address: string; endpoint: string; port: unknown }>> {
  const l = await conn.request<{ items: any[] }>({ method: 'GET', list: true, path: '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/serviceentries' });
  return Object.fromEntries(l.items.map((s) => [s.spec.hosts[0], { address: s.spec.addresses[0], endpoint: s.spec.endpoints[0].address, port: Object.values(s.spec.endpoints[0].ports)[0] }]));
}

let firstVips: Record<string, any> = {};

t.test('converges from scratch; second run changed=0; keys never printed', async (t) => {
  writeInventory(exportsAll);
  const checked = await play('multi-control-plane.yml', ['--check', '--diff']);
  t.equal(failures(checked), '', 'check mode from scratch runs');
  t.ok(totals(checked).changed > 0, 'and reports changes');
  for (const c of Object.keys(conns)) t.same(await snapshot(conns[c]!), before[c], `check mode from scratch changed nothing in ${c}`);
  t.notMatch(checked.stdout, /PRIVATE KEY/, 'no key material in the diff');
  const first = await play('multi-control-plane.yml');
  t.equal(failures(first), '', 'no failures');
  t.ok(totals(first).changed > 0, `first run changed ${totals(first).changed}`);

  const root = await secretFiles(conns.mpeast!, 'meshplay-root-ca');
  for (const c of ['mpeast', 'mpwest']) {
    const files = await secretFiles(conns[c]!, 'cacerts');
    t.same(Object.keys(files).sort(), [...cacertsKeys].sort());
    const v = await verifyCacerts(files, root['root-cert.pem']!);
    t.same(v.problems, [], `${c} cacerts chain to the shared root`);
    t.notOk(first.stdout.includes(files['ca-key.pem']!.split('\n')[1]!), `${c} intermediate key not in the output`);
  }
  t.notOk(first.stdout.includes(root['root-key.pem']!.split('\n')[1]!), 'root key not in the output');
  t.notOk(first.stdout.includes(Buffer.from(root['root-key.pem']!).toString('base64').slice(0, 40)), 'nor base64');

  // DNS: CoreDNS in east (Corefile kept byte for byte), kube-dns stubDomains in west.
  const dnsIp = async (c: string) => (await conns[c]!.request<any>({ method: 'GET', path: '/api/v1/namespaces/istio-system/services/istiocoredns' })).spec.clusterIP;
  const corefile = (await conns.mpeast!.request<any>({ method: 'GET', path: '/api/v1/namespaces/kube-system/configmaps/coredns' })).data.Corefile as string;
  t.ok(corefile.startsWith(kubeadmCorefile), 'original Corefile kept as is');
  t.same(forwardOf(findServerBlock(corefile, 'global')!)?.addresses, [await dnsIp('mpeast')]);
  const kubeDns = await conns.mpwest!.request<any>({ method: 'GET', path: '/api/v1/namespaces/kube-system/configmaps/kube-dns' });
  t.same(JSON.parse(kubeDns.data.stubDomains), { global: [await dnsIp('mpwest')] });
  t.equal(kubeDns.data.upstreamNameservers, '["8.8.8.8"]', 'other keys kept');

  // ServiceEntries: east calls west's reviews/ratings through west's node + 15443 nodePort; west calls east's cart.
  const eastSes = await serviceEntries(conns.mpeast!);
  t.same(Object.keys(eastSes).sort(), ['ratings.default.global', 'reviews.default.global']);
  t.same(eastSes['reviews.default.global']!.endpoint, '10.251.2.2');
  t.same(eastSes['reviews.default.global']!.port, gatewayNodePort(1));
  t.not(eastSes['reviews.default.global']!.address, eastSes['ratings.default.global']!.address, 'unique VIPs');
  for (const s of Object.values(eastSes)) t.match(s.address, /^(24\d|25[0-5])\./, 'VIP from 240.0.0.0/4');
  const westSes = await serviceEntries(conns.mpwest!);
  t.same(Object.keys(westSes), ['cart.shop.global']);
  firstVips = eastSes;

  const gw = await conns.mpwest!.getOrUndefined<any>('/apis/networking.istio.io/v1alpha3/namespaces/istio-system/gateways/istio-multicluster-ingressgateway');
  t.equal(gw?.spec?.servers?.[0]?.tls?.mode, 'AUTO_PASSTHROUGH');

  const second = await play('multi-control-plane.yml');
  t.equal(failures(second), '');
  t.equal(totals(second).changed ?? 0, 0, 'second run changed=0');
  const rootAfter = await secretFiles(conns.mpeast!, 'meshplay-root-ca');
  t.equal(rootAfter['root-cert.pem'], root['root-cert.pem'], 'root not regenerated');

  const status = await multiStatus({ hosts: new Map(), clusters: spec.clusters.map((c) => ({ name: c.name, istio_control_plane: c.controlPlane, nodes: [] })), vars: { mesh_exports: exportsAll } } as unknown as Inventory, new Map(Object.entries(conns)));
  t.equal(status.healthy, true, status.lines.join('\n'));
  const cli = await meshplay(['status', '-i', inventoryFile, '--output', 'json']);
  t.equal(cli.code, 0, `meshplay status on the multi-control-plane inventory: ${cli.stdout}${cli.stderr}`);
  t.equal(JSON.parse(cli.stdout).topology, 'multi-control-plane');

  // Acceptance: each cluster's own control plane (the real Pilot 1.3) sees the .global hosts at meshplay's addresses.
  for (const c of spec.clusters) pilots[c.name] = await startPilot({ stateDir: path.join(dir, `pilot-${c.name}`), cluster: c.name, kubeconfig: apis[c.name].kubeconfig });
  const eastReg = await eventually('east registry', () => registry(pilots.mpeast!), (r) => 'ratings.default.global' in r && 'reviews.default.global' in r);
  t.equal(eastReg['reviews.default.global'], eastSes['reviews.default.global']!.address, 'east Pilot: reviews.default.global at the allocated VIP');
  t.equal(eastReg['ratings.default.global'], eastSes['ratings.default.global']!.address, 'east Pilot: ratings.default.global at the allocated VIP');
  t.notOk('cart.shop.global' in eastReg, 'east does not import its own export');
  const westReg = await eventually('west registry', () => registry(pilots.mpwest!), (r) => 'cart.shop.global' in r);
  t.equal(westReg['cart.shop.global'], westSes['cart.shop.global']!.address, 'west Pilot: cart.shop.global at the allocated VIP');

  // What east's Pilot tells a sidecar: reviews.default.global is served by west's gateway, on the port behind 15443.
  const westGw = await conns.mpwest!.request<any>({ method: 'GET', path: '/api/v1/namespaces/istio-system/services/istio-ingressgateway' });
  const tlsNodePort = westGw.spec.ports.find((p: any) => p.port === 15443).nodePort as number;
  const reviews = 'outbound|9080||reviews.default.global';
  // resolution: DNS: a STRICT_DNS cluster whose endpoints come in the cluster itself.
  const inline = (s: XdsSnapshot) => s.clusters.find((c) => c.name === reviews)?.inline ?? [];
  const xds = await globalXds(reviews, (s) => inline(s).length > 0);
  t.same(inline(xds), [`10.251.2.2:${tlsNodePort}`], `east Pilot CDS ${reviews}: west's node and the nodePort of its gateway's 15443 port`);
  t.equal(xds.clusters.find((c) => c.name === reviews)?.type, 'STRICT_DNS');
  t.comment(`east Pilot CDS ${reviews}: type STRICT_DNS, endpoints ${JSON.stringify(inline(xds))}`);
});

t.test('check mode changes nothing; removing an export prunes only its entry, VIPs stay', async (t) => {
  const snap = await snapshot(conns.mpeast!);
  writeInventory(exportsAll.filter((e) => e.service !== 'reviews'));
  const checked = await play('multi-control-plane.yml', ['--check']);
  t.equal(failures(checked), '');
  t.ok(totals(checked).changed > 0, 'check mode reports the prune');
  t.same(await snapshot(conns.mpeast!), snap, 'check mode changed nothing');

  const pruned = await play('multi-control-plane.yml');
  t.equal(failures(pruned), '');
  const ses = await serviceEntries(conns.mpeast!);
  t.same(Object.keys(ses), ['ratings.default.global'], 'reviews entry pruned');
  t.equal(ses['ratings.default.global']!.address, firstVips['ratings.default.global'].address, 'ratings keeps its VIP');
  const reg = await eventually('east registry', () => registry(pilots.mpeast!), (r) => !('reviews.default.global' in r));
  t.notOk('reviews.default.global' in reg, 'east Pilot: reviews.default.global gone after the export is removed');
  t.equal(reg['ratings.default.global'], firstVips['ratings.default.global'].address);

  writeInventory(exportsAll);
  const back = await play('multi-control-plane.yml');
  t.equal(failures(back), '');
  const again = await serviceEntries(conns.mpeast!);
  t.equal(again['ratings.default.global']!.address, firstVips['ratings.default.global'].address);
  t.not(again['reviews.default.global']!.address, again['ratings.default.global']!.address);
});

t.test('ServiceEntry endpoints follow a gateway address change', async (t) => {
  const vipBefore = (await serviceEntries(conns.mpeast!))['reviews.default.global']!.address;
  writeInventory(exportsAll, '192.0.2.10:15443');
  const moved = await play('multi-control-plane.yml');
  t.equal(failures(moved), '');
  const ses = await serviceEntries(conns.mpeast!);
  t.equal(ses['reviews.default.global']!.endpoint, '192.0.2.10');
  t.equal(ses['reviews.default.global']!.port, 15443);
  const reviews = 'outbound|9080||reviews.default.global';
  const inline = (s: XdsSnapshot) => s.clusters.find((c) => c.name === reviews)?.inline ?? [];
  const xds = await globalXds(reviews, (s) => inline(s).join() === '192.0.2.10:15443');
  t.same(inline(xds), ['192.0.2.10:15443'], `east Pilot CDS ${reviews}: the gateway address and port 15443`);
  t.comment(`east Pilot CDS ${reviews} after the gateway move: ${JSON.stringify(inline(xds))}`);
  t.equal(ses['reviews.default.global']!.address, vipBefore, 'VIP unchanged by a gateway move');
  writeInventory(exportsAll);
  const back = await play('multi-control-plane.yml');
  t.equal(failures(back), '');
  t.equal((await serviceEntries(conns.mpeast!))['reviews.default.global']!.endpoint, '10.251.2.2', 'back to the node address');
});

// Issue 13: the multi-control-plane playbook and status through every way operators reach clusters. Forms take
// turns removing and restoring the `ratings` export, so each one writes (prunes or creates a ServiceEntry) and
// reports a healthy mesh.
t.test('every api form: kubeconfig + context, url + token_file, client certificate, credential plugin, nodes: from_api', async (t) => {
  const withoutRatings = exportsAll.filter((e) => e.service !== 'ratings');
  for (const [i, form] of LAB_FORMS.entries()) {
    await t.test(form, async (t) => {
      const exports = i % 2 === 0 ? withoutRatings : exportsAll;
      writeInventory(exports, undefined, form === 'from-api' ? { api: apis, fromApi: true } : { api: forms[form] });
      const run = await play('multi-control-plane.yml');
      t.equal(failures(run), '', 'no failures');
      t.ok(totals(run).changed > 0, `changed ${totals(run).changed}`);
      t.equal('ratings.default.global' in (await serviceEntries(conns.mpeast!)), i % 2 === 1, i % 2 === 0 ? 'ratings entry pruned' : 'ratings entry back');
      const cli = await meshplay(['status', '-i', inventoryFile, '--output', 'json']);
      t.equal(cli.code, 0, `status: ${cli.stdout.slice(-1500)}${cli.stderr}`);
    });
  }
  writeInventory(exportsAll);
  t.equal(failures(await play('multi-control-plane.yml')), '', 'back to the lab inventory with every export');
});

t.test('a new istiocoredns ClusterIP changes only that address', async (t) => {
  const cmPath = '/api/v1/namespaces/kube-system/configmaps/coredns';
  const before = (await conns.mpeast!.request<any>({ method: 'GET', path: cmPath })).data.Corefile as string;
  const oldIp = forwardOf(findServerBlock(before, 'global')!)!.addresses[0]!;
  await conns.mpeast!.request({ method: 'DELETE', path: '/api/v1/namespaces/istio-system/services/istiocoredns' });
  const started = await startCluster({ name: 'mpeast', serviceCidr: spec.clusters[0]!.serviceCidr, dir: path.join(dir, 'kube', 'mpeast') });
  await seedMultiControlPlane(started.admin, { index: 0 });
  const newIp = (await conns.mpeast!.request<any>({ method: 'GET', path: '/api/v1/namespaces/istio-system/services/istiocoredns' })).spec.clusterIP;
  t.not(newIp, oldIp, 'the Service got a new ClusterIP');
  const run = await play('multi-control-plane.yml');
  t.equal(failures(run), '');
  const after = (await conns.mpeast!.request<any>({ method: 'GET', path: cmPath })).data.Corefile as string;
  t.equal(after, before.replace(`forward . ${oldIp}`, `forward . ${newIp}`), 'only the address changed');
  t.equal(results(run).filter((r) => r.changed || r.result?.changed).length, 1, 'one task changed (the DNS edit)');
});

t.test('mesh CA: rotation only when asked, export dir 0600, root kept', async (t) => {
  const serial = async (c: string) => (await conns[c]!.request<any>({ method: 'GET', path: '/api/v1/namespaces/istio-system/secrets/cacerts' })).metadata.annotations['meshplay.io/ca-serial'];
  const rootBefore = (await secretFiles(conns.mpeast!, 'meshplay-root-ca'))['root-cert.pem'];
  const serials = { mpeast: await serial('mpeast'), mpwest: await serial('mpwest') };
  const exportDir = path.join(dir, 'export');
  const rotated = await play('multi-control-plane.yml', ['-e', 'mesh_ca_rotate=true', '-e', `mesh_ca_export_dir=${exportDir}`]);
  t.equal(failures(rotated), '');
  const root = await secretFiles(conns.mpeast!, 'meshplay-root-ca');
  t.equal(root['root-cert.pem'], rootBefore, 'root kept on rotation');
  for (const c of ['mpeast', 'mpwest'] as const) {
    t.not(await serial(c), serials[c], `${c} intermediate re-issued`);
    const files = await secretFiles(conns[c]!, 'cacerts');
    t.same((await verifyCacerts(files, root['root-cert.pem']!)).problems, []);
    const keyFile = path.join(exportDir, c, 'ca-key.pem');
    t.equal(fs.statSync(keyFile).mode & 0o777, 0o600, 'exported key is 0600');
    t.equal(fs.readFileSync(keyFile, 'utf8'), files['ca-key.pem'], 'export matches the Secret');
    t.notOk(rotated.stdout.includes(files['ca-key.pem']!.split('\n')[1]!), 'new key not printed');
  }
  const after = await play('multi-control-plane.yml');
  t.equal(totals(after).changed ?? 0, 0, 'no rotation without mesh_ca_rotate');
});

t.test('gateway variants: warning past 1.8.5, eastwest replaces the legacy objects', async (t) => {
  const newer = await play('multi-control-plane.yml', ['-e', 'istio_version=1.10.0']);
  t.equal(failures(newer), '');
  t.match(newer.stdout, /\.global` names and the SNI-rewriting EnvoyFilter work only up to\s+Istio 1\.8\.5 \/ 1\.9\.4/);
  const old = await play('multi-control-plane.yml');
  t.notMatch(old.stdout, /work only up to/);
  const ew = await play('multi-control-plane.yml', ['-e', 'istio_gateway_api=eastwest']);
  t.equal(failures(ew), '');
  const list = async (res: string) => (await conns.mpeast!.request<{ items: any[] }>({ method: 'GET', list: true, path: `/apis/networking.istio.io/v1alpha3/namespaces/istio-system/${res}` })).items.map((i) => i.metadata.name);
  t.same(await list('gateways'), ['cross-network-gateway']);
  t.same(await list('envoyfilters'), [], 'legacy EnvoyFilter pruned');
  const back = await play('multi-control-plane.yml');
  t.equal(failures(back), '');
  t.same(await list('gateways'), ['istio-multicluster-egressgateway', 'istio-multicluster-ingressgateway']);
});

t.test('Bookinfo split: objects in both clusters, second run changed=0', async (t) => {
  const first = await play('bookinfo-multi-control-plane.yml');
  t.equal(failures(first), '');
  const names = async (c: string, p: string) => (await conns[c]!.request<{ items: any[] }>({ method: 'GET', list: true, path: p })).items.map((i) => i.metadata.name).sort();
  t.same(await names('mpeast', '/apis/apps/v1/namespaces/default/deployments'), ['details-v1', 'productpage-v1', 'ratings-v1', 'reviews-v1']);
  t.same(await names('mpwest', '/apis/apps/v1/namespaces/default/deployments'), ['ratings-v1', 'reviews-v2', 'reviews-v3']);
  t.same(await names('mpeast', '/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices'), ['reviews']);
  t.same(await names('mpeast', '/apis/networking.istio.io/v1alpha3/namespaces/default/destinationrules'), ['reviews', 'reviews-global']);
  t.same(await names('mpwest', '/apis/networking.istio.io/v1alpha3/namespaces/default/destinationrules'), ['reviews']);
  t.ok('reviews.default.global' in (await serviceEntries(conns.mpeast!)));
  const vs = await conns.mpeast!.request<any>({ method: 'GET', path: '/apis/networking.istio.io/v1alpha3/namespaces/default/virtualservices/reviews' });
  t.same(vs.spec.http[0].match[0].headers['end-user'], { exact: 'jason' });
  t.same(vs.spec.http[0].route.map((r: any) => [r.destination.host, r.destination.subset, r.weight]), [['reviews.default.global', 'v2', 50], ['reviews.default.global', 'v3', 50]], 'jason: v2/v3 50/50 in the other cluster');
  t.same(vs.spec.http[1].route.map((r: any) => [r.destination.host, r.destination.subset]), [['reviews.default.svc.cluster.local', 'v1']], 'everyone else: the local v1');
  // Each subset selects a distinct set of workloads: exactly the one Deployment of its version.
  for (const c of ['mpeast', 'mpwest']) {
    const deps = (await conns[c]!.request<{ items: any[] }>({ method: 'GET', list: true, path: '/apis/apps/v1/namespaces/default/deployments' })).items;
    const dr = await conns[c]!.request<any>({ method: 'GET', path: '/apis/networking.istio.io/v1alpha3/namespaces/default/destinationrules/reviews' });
    for (const sub of dr.spec.subsets) {
      const selected = deps.filter((d) => d.spec.template.metadata.labels.app === 'reviews' && Object.entries(sub.labels).every(([k, v]) => d.spec.template.metadata.labels[k] === v)).map((d) => d.metadata.name);
      t.same(selected, [`reviews-${sub.name}`], `${c}: subset ${sub.name} selects only reviews-${sub.name}`);
    }
  }
  const second = await play('bookinfo-multi-control-plane.yml');
  t.equal(failures(second), '');
  t.equal(totals(second).changed ?? 0, 0, 'second run changed=0');
});

t.test('uninstall leaves each cluster as it was before the first run', async (t) => {
  // The nodes of this inventory are addresses only (API servers, no machines): the route play has no one to reach.
  const run = await play('uninstall.yml', ['-l', 'clusters']);
  t.equal(failures(run), '');
  for (const c of Object.keys(conns)) t.same(await snapshot(conns[c]!), before[c], `${c} object lists and DNS data as before`);
  const again = await play('uninstall.yml', ['-l', 'clusters']);
  t.equal(totals(again).changed ?? 0, 0, 'uninstall twice: changed=0');
});
