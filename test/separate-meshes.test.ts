// The separate-meshes topology (seed 001) against three REAL kube-apiservers (lab/kube) seeded as Istio installs
// with ingress and egress gateways (lab/fixtures-multi.ts), each cluster's DNS answered by the REAL CoreDNS
// (lab/coredns.ts: dnsa and dnsc run CoreDNS, dnsb kube-dns, so both the template block and the separate CoreDNS behind
// stubDomains are exercised) and each cluster's own REAL Pilot (Istio 1.3) reading what meshplay declared.
// converge, re-run changed=0, status, prune of an export and of a cluster, uninstall back to the DNS as it was.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { kubeUp, startCluster, stopCluster, type KubeLabSpec } from '../lab/kube/index.js';
import { seedMultiControlPlane } from '../lab/fixtures-multi.js';
import { adminRequest, type AdminCredentials } from '../lab/kube/rest.js';
import { clusterDig, stopClusterDns, syncClusterDns, readClusterDns } from '../lab/coredns.js';
import { httpGet, startPilot, stopPilot, type PilotState } from '../lab/pilot.js';
import { meshplay, totals, results, repoRoot, failures } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-separate-'));
const spec: KubeLabSpec = {
  clusters: [
    { name: 'dnsa', podCidr: '10.66.0.0/16', serviceCidr: '10.114.0.0/16', controlPlane: true, nodes: [{ name: 'dnsa-n1', address: '10.252.1.2', podBlock: '10.66.1.0/24' }] },
    { name: 'dnsb', podCidr: '10.67.0.0/16', serviceCidr: '10.115.0.0/16', controlPlane: false, nodes: [{ name: 'dnsb-n1', address: '10.252.2.2', podBlock: '10.67.1.0/24' }] },
    { name: 'dnsc', podCidr: '10.68.0.0/16', serviceCidr: '10.116.0.0/16', controlPlane: false, nodes: [{ name: 'dnsc-n1', address: '10.252.3.2', podBlock: '10.68.1.0/24' }] },
  ],
};
const names = spec.clusters.map((c) => c.name);
const admin: Record<string, AdminCredentials & { kubeconfig: string }> = {};
const pilots: Record<string, PilotState> = {};
let apis: Record<string, any> = {};
const inventoryFile = path.join(dir, 'inventory.yml');

function writeInventory(vars: Record<string, unknown>, only = names) {
  const inv = {
    topology: 'separate-meshes',
    clusters: spec.clusters.filter((c) => only.includes(c.name)).map((c) => ({
      name: c.name,
      istio_control_plane: c.controlPlane,
      api: apis[c.name],
      nodes: c.nodes.map((n) => ({ name: n.name, address: n.address })),
    })),
    vars: { mesh_ca_key_type: 'ecdsa-p256', meshplay_owner: 'separate-meshes-test', ...vars },
  };
  fs.writeFileSync(inventoryFile, stringify(inv));
}

async function play(name: string, extra: string[] = []) {
  return meshplay(['run', path.join(repoRoot, 'playbooks', name), '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 180_000 });
}

const sync = (c: string) => syncClusterDns({ stateDir: dir, cluster: c, serviceCidr: spec.clusters.find((x) => x.name === c)!.serviceCidr, creds: admin[c]!, context: c });
const dig = (c: string, name: string, type = 'A') => clusterDig(dir, c, name, type);
const a = async (c: string, name: string) => {
  const r = await dig(c, name);
  return { status: r.status, ips: r.answers.filter((x) => x.type === 'A').map((x) => x.data) };
};

async function json(c: string, p: string): Promise<any> {
  const r = await adminRequest(admin[c]!, 'GET', p);
  return r.status === 200 ? JSON.parse(r.body) : undefined;
}

t.before(async () => {
  apis = await kubeUp(spec, dir);
  for (const [i, c] of spec.clusters.entries()) {
    const started = await startCluster({ name: c.name, serviceCidr: c.serviceCidr, dir: path.join(dir, 'kube', c.name) });
    await seedMultiControlPlane(started.admin, { index: i, egressGateway: true });
    admin[c.name] = { ...started.admin, kubeconfig: started.api.kubeconfig };
  }
});

t.teardown(async () => {
  for (const c of names) await stopClusterDns(dir, c);
  for (const c of Object.keys(pilots)) await stopPilot(path.join(dir, `pilot-${c}`));
  for (const c of spec.clusters) await stopCluster(path.join(dir, 'kube', c.name), true);
  fs.rmSync(dir, { recursive: true, force: true });
});
// ---- separate meshes (seed 001) -------------------------------------------------------------------------------------

const exportsSeparate = [
  { cluster: 'dnsb', namespace: 'default', service: 'reviews', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] },
  { cluster: 'dnsa', namespace: 'default', service: 'ratings', ports: [{ number: 9080, name: 'http', protocol: 'HTTP' }] },
  { cluster: 'dnsc', namespace: 'shop', service: 'cart', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], callers: ['dnsa'] },
];
const PLACEHOLDER = '240.0.0.2';

async function istioNames(c: string, res: string): Promise<string[]> {
  const l = await json(c, `/apis/networking.istio.io/v1alpha3/namespaces/istio-system/${res}`);
  return l.items.map((i: any) => i.metadata.name).sort();
}

/** Every host string anywhere in a Pilot debug document (registry hostnames, config `hosts`). */
function hostsIn(doc: unknown, out = new Set<string>()): Set<string> {
  if (Array.isArray(doc)) for (const d of doc) hostsIn(d, out);
  else if (doc && typeof doc === 'object') {
    for (const [k, v] of Object.entries(doc)) {
      if (k === 'hostname' && typeof v === 'string') out.add(v);
      else if (k === 'hosts' && Array.isArray(v)) {
        for (const h of v) if (typeof h === 'string') out.add(h);
      } else hostsIn(v, out);
    }
  }
  return out;
}

async function pilotHosts(c: string): Promise<{ registry: Set<string>; config: Set<string> }> {
  const reg = await httpGet(`http://${pilots[c]!.httpAddr}/debug/registryz`);
  const cfg = await httpGet(`http://${pilots[c]!.httpAddr}/debug/configz`);
  return { registry: hostsIn(JSON.parse(reg.body || '[]')), config: hostsIn(JSON.parse(cfg.body || '[]')) };
}

async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 300));
  }
}

const dnsSnapshot: Record<string, string> = {};

t.test('separate meshes: .remote names resolve to the placeholder, gateways and routes per seed 001, changed=0 on re-run', async (t) => {
  for (const c of names) {
    await sync(c);
    dnsSnapshot[c] = JSON.stringify([(await json(c, '/api/v1/namespaces/kube-system/configmaps/coredns'))?.data, (await json(c, '/api/v1/namespaces/kube-system/configmaps/kube-dns'))?.data]);
    const before = await eventually(() => a(c, 'x.svc.dnsb.remote'), (x) => x.status !== 'NO-ANSWER', 10_000);
    t.equal(before.status, 'NXDOMAIN', `${c}: x.svc.dnsb.remote does not resolve before meshplay (${before.status})`);
  }
  writeInventory({ mesh_exports: exportsSeparate });
  let t0 = Date.now();
  const first = await play('separate-meshes.yml');
  const firstMs = Date.now() - t0;
  t.equal(failures(first), '');
  t.ok(totals(first).changed > 0, `first run changed ${totals(first).changed}`);
  t0 = Date.now();
  const second = await play('separate-meshes.yml');
  const secondMs = Date.now() - t0;
  t.equal(failures(second), '');
  t.equal(totals(second).changed ?? 0, 0, 'second run changed=0');
  t.comment(`separate-meshes, 3 clusters: first run ${firstMs} ms, converged run ${secondMs} ms (whole processes)`);

  for (const c of names) {
    await sync(c);
    // A pod's resolver retries; so does this first query after the restart (the machine may be loaded).
    const r = await eventually(() => dig(c, 'reviews.default.svc.dnsb.remote'), (x) => x.status === 'NOERROR', 10_000);
    t.same({ status: r.status, ips: r.answers.map((x) => x.data) }, { status: 'NOERROR', ips: [PLACEHOLDER] }, `${c}: reviews.default.svc.dnsb.remote -> ${PLACEHOLDER} (${readClusterDns(dir, c)!.servers.cluster!.source})`);
    t.same((await a(c, 'x.svc.dnsb.remote')).ips, [PLACEHOLDER], `${c}: x.svc.dnsb.remote -> placeholder`);
    t.equal((await dig(c, 'x.svc.dnsb.remote', 'AAAA')).status, 'NOERROR', `${c}: AAAA gets an empty NOERROR, not SERVFAIL`);
    t.equal((await a(c, 'kubernetes.default.svc.cluster.local')).status, 'NOERROR', `${c}: the cluster zone still resolves`);
    t.comment(`dig @${c} reviews.default.svc.dnsb.remote -> ${r.status} ${r.answers.map((x) => `${x.data} ttl ${x.ttl}`).join(',')}`);
  }
  t.ok(readClusterDns(dir, 'dnsb')!.servers['istio-system-meshplay-remote-dns'], 'kube-dns cluster: meshplay\'s separate CoreDNS runs from its ConfigMap at its Service address');

  // dnsa calls dnsb (reviews) and dnsc (cart, callers [dnsa]); dnsb calls dnsa; dnsc calls dnsa.
  const nodePort80 = async (c: string) => (await json(c, '/api/v1/namespaces/istio-system/services/istio-ingressgateway')).spec.ports.find((p: any) => p.port === 80).nodePort;
  const se = await json('dnsa', '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/serviceentries/ingress-dnsb-remote');
  t.same(se.spec.hosts, ['ingress.dnsb.remote']);
  t.equal(se.spec.resolution, 'STATIC');
  t.same(se.spec.endpoints, [{ address: '10.252.2.2', ports: { http: await nodePort80('dnsb') } }], 'at dnsb\'s ingress (node address + nodePort of port 80)');
  t.same(await istioNames('dnsa', 'serviceentries'), ['ingress-dnsb-remote', 'ingress-dnsc-remote']);
  t.same(await istioNames('dnsb', 'serviceentries'), ['ingress-dnsa-remote'], 'dnsb may not call cart in dnsc');
  t.same(await istioNames('dnsa', 'gateways'), ['remote-egress-dnsb', 'remote-egress-dnsc', 'remote-ingress']);
  t.same(await istioNames('dnsa', 'destinationrules'), ['remote-egressgateway']);
  const vs = await json('dnsa', '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/virtualservices/remote-dnsb');
  t.same(vs.spec.hosts, ['*.svc.dnsb.remote']);
  t.same(vs.spec.http.map((h: any) => [h.match[0].gateways[0], h.route[0].destination.host]), [
    ['mesh', 'istio-egressgateway.istio-system.svc.cluster.local'],
    ['remote-egress-dnsb', 'ingress.dnsb.remote'],
  ], 'mesh -> egress gateway -> remote ingress');
  const ingressVs = await json('dnsb', '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/virtualservices/remote-export-reviews-default');
  t.same(ingressVs.spec.hosts, ['reviews.default.svc.dnsb.remote']);
  t.equal(ingressVs.spec.http[0].route[0].destination.host, 'reviews.default.svc.cluster.local');
  const gw = await json('dnsb', '/apis/networking.istio.io/v1alpha3/namespaces/istio-system/gateways/remote-ingress');
  t.same(gw.spec.servers[0].hosts, ['*.svc.dnsb.remote']);

  const status = await meshplay(['status', '-i', inventoryFile, '--output', 'json']);
  t.equal(status.code, 0, `meshplay status: ${status.stdout}${status.stderr}`);
  t.equal(JSON.parse(status.stdout).topology, 'separate-meshes');

  // The real Pilot of each cluster lists what meshplay declared.
  for (const c of names) pilots[c] = await startPilot({ stateDir: path.join(dir, `pilot-${c}`), cluster: c, kubeconfig: admin[c]!.kubeconfig });
  const want: Record<string, string[]> = { dnsa: ['dnsb', 'dnsc'], dnsb: ['dnsa'], dnsc: ['dnsa', 'dnsb'] };
  for (const c of names) {
    const h = await eventually(() => pilotHosts(c), (x) => want[c]!.every((o) => x.registry.has(`ingress.${o}.remote`) && x.config.has(`*.svc.${o}.remote`)));
    for (const o of want[c]!) {
      t.ok(h.registry.has(`ingress.${o}.remote`), `${c} Pilot /debug/registryz: ingress.${o}.remote`);
      t.ok(h.config.has(`*.svc.${o}.remote`), `${c} Pilot /debug/configz: VirtualService *.svc.${o}.remote`);
    }
    t.ok(h.config.has(`*.svc.${c}.remote`), `${c} Pilot /debug/configz: its ingress Gateway *.svc.${c}.remote`);
    t.comment(`${c} Pilot: registry ${[...h.registry].filter((x) => x.endsWith('.remote')).sort().join(' ')}; config ${[...h.config].filter((x) => x.endsWith('.remote')).sort().join(' ')}`);
  }
});

t.test('separate meshes: removing an export or a cluster prunes exactly its objects', async (t) => {
  const before = { dnsb: await istioNames('dnsb', 'virtualservices'), dnsa: await istioNames('dnsa', 'virtualservices') };
  writeInventory({ mesh_exports: exportsSeparate.filter((e) => e.service !== 'ratings') });
  const pruned = await play('separate-meshes.yml');
  t.equal(failures(pruned), '');
  t.same(await istioNames('dnsa', 'virtualservices'), before.dnsa.filter((n) => n !== 'remote-export-ratings-default'), 'dnsa: only the ratings ingress route is gone');
  t.same(await istioNames('dnsb', 'serviceentries'), [], 'dnsb no longer calls dnsa (it exported only ratings): its ServiceEntry is pruned');
  t.same(await istioNames('dnsb', 'virtualservices'), before.dnsb.filter((n) => n !== 'remote-dnsa'), 'and its egress route');
  t.same(await istioNames('dnsb', 'destinationrules'), [], 'and the egress DestinationRule (it calls nobody)');
  t.same(await istioNames('dnsa', 'serviceentries'), ['ingress-dnsb-remote', 'ingress-dnsc-remote'], 'dnsa unchanged as a caller');

  writeInventory({ mesh_exports: exportsSeparate.filter((e) => e.cluster !== 'dnsc') }, ['dnsa', 'dnsb']);
  const dropped = await play('separate-meshes.yml');
  t.equal(failures(dropped), '');
  t.same(await istioNames('dnsa', 'serviceentries'), ['ingress-dnsb-remote'], 'dnsc removed: its ServiceEntry in dnsa is pruned');
  t.same(await istioNames('dnsa', 'gateways'), ['remote-egress-dnsb', 'remote-ingress'], 'and its egress Gateway');
  const h = await eventually(() => pilotHosts('dnsa'), (x) => !x.registry.has('ingress.dnsc.remote'));
  t.notOk(h.registry.has('ingress.dnsc.remote'), 'dnsa Pilot no longer lists ingress.dnsc.remote');
  t.ok(h.registry.has('ingress.dnsb.remote'), 'but still ingress.dnsb.remote');
  const again = await play('separate-meshes.yml');
  t.equal(totals(again).changed ?? 0, 0, 'converged after the prune');
});

t.test('separate meshes: uninstall removes it, DNS back byte for byte', async (t) => {
  writeInventory({ mesh_exports: exportsSeparate });
  // The nodes of this lab are addresses only (no sshd): uninstall's route step is for real nodes, as in mesh-lab.
  const run = await play('uninstall.yml', ['-l', 'clusters']);
  t.equal(failures(run), '');
  for (const c of names) {
    t.same(await istioNames(c, 'virtualservices'), [], `${c}: no VirtualServices left`);
    t.same(await istioNames(c, 'serviceentries'), [], `${c}: no ServiceEntries left`);
    t.same(await istioNames(c, 'gateways'), [], `${c}: no Gateways left`);
    t.equal(JSON.stringify([(await json(c, '/api/v1/namespaces/kube-system/configmaps/coredns'))?.data, (await json(c, '/api/v1/namespaces/kube-system/configmaps/kube-dns'))?.data]), dnsSnapshot[c], `${c}: DNS ConfigMap data as before`);
    await sync(c);
    t.equal((await a(c, 'x.svc.dnsb.remote')).status, 'NXDOMAIN', `${c}: x.svc.dnsb.remote no longer resolves`);
    t.equal((await a(c, 'kubernetes.default.svc.cluster.local')).status, 'NOERROR', `${c}: cluster zone resolves`);
  }
  t.equal(await json('dnsb', '/api/v1/namespaces/istio-system/services/meshplay-remote-dns'), undefined, 'the separate CoreDNS Service is gone');
});
