// Issue 17: the remote side of a single-control-plane mesh, checked by the real programs. A 2x1 lab (network
// namespaces with sshd + BIRD, real kube-apiservers, Istio 1.3's real Pilot) runs the single-control-plane playbook;
// lab/injector.ts then runs Istio 1.3's real sidecar-injector from the Deployment, ConfigMaps and Secret meshplay
// installed in the remote, registered through meshplay's webhook. The tests read what the API server stored for a
// new Pod, and what Pilot sends a sidecar over xDS (a small ADS client, test/helpers/xds.ts).
import t from 'tap';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labState, labUp } from '../lab/cli.js';
import { labCredentials, moveService } from '../lab/fixtures/control-plane.js';
import { pilotRemoteClusters, pilotState } from '../lab/pilot.js';
import { syncInjectors } from '../lab/injector.js';
import { run as runProc } from '../lab/proc.js';
import { adminRequest, labApply, type AdminCredentials } from '../lab/kube/rest.js';
import { meshplay, results, totals, type CliRun, failures } from './helpers/cli.js';
import { fetchXds, type XdsSnapshot } from './helpers/xds.js';

const playbook = 'playbooks/single-control-plane.yml';

async function get(creds: AdminCredentials, path: string): Promise<any | undefined> {
  const r = await adminRequest(creds, 'GET', path);
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new Error(`GET ${path}: ${r.status} ${r.body.slice(0, 200)}`);
  return r.json();
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let error: unknown;
  for (;;) {
    try {
      last = await fn();
      if (ok(last)) return last;
    } catch (e) {
      error = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(last)?.slice(0, 600)} ${error ? String(error) : ''}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

let podCount = 0;
/** Creates a one-container Pod and returns what the API server stored (after any admission webhook). */
async function createPod(creds: AdminCredentials, namespace: string): Promise<any> {
  const name = `web-${++podCount}`;
  const body = { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] } };
  // The ServiceAccount admission plugin refuses pods until the controller made the namespace's default SA.
  return until(`Pod ${namespace}/${name} created`, async () => {
    const r = await adminRequest(creds, 'POST', `/api/v1/namespaces/${namespace}/pods`, body);
    if (r.status >= 300) throw new Error(`HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return r.json();
  }, () => true, 20_000);
}

const containerNames = (pod: any): string[] => pod.spec.containers.map((c: any) => c.name);
function discoveryAddress(pod: any): string | undefined {
  const args: string[] = pod.spec.containers.find((c: any) => c.name === 'istio-proxy')?.args ?? [];
  const i = args.indexOf('--discoveryAddress');
  return i >= 0 ? args[i + 1] : undefined;
}

t.test('remote components on a 2x1 lab: real injector, real Pilot over xDS', { timeout: 600_000 }, async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'mpl-remote-test-'));
  const inventoryFile = join(stateDir, 'inventory', 'lab.yml');
  t.teardown(async () => {
    await labDown({ stateDir, inventoryFile }).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });
  const t0 = Date.now();
  await labUp({ stateDir, inventoryFile, clusters: 2, nodes: 1 });
  t.comment(`2x1 lab up in ${Date.now() - t0} ms`);
  const state = (await labState({ stateDir }))!;
  const cp = labCredentials(stateDir, 'lab1');
  const remote = labCredentials(stateDir, 'lab2');
  const pilot = pilotState(stateDir)!;
  const client = state.nodes.find((n) => n.cluster === 'lab1')!;
  const workload = state.nodes.find((n) => n.cluster === 'lab2')!;
  const play = (...extra: string[]) => meshplay(['run', playbook, '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 240_000 });
  const ping = async (address: string) => (await runProc('ip', ['netns', 'exec', client.podNamespace, 'ping', '-c', '1', '-W', '1', '-q', address], { check: false })).exitCode === 0;

  // A workload that runs only in the remote: a Service and a Ready Pod at the address of the lab's pod there.
  await labApply(remote, '/api/v1/namespaces/shop', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'shop' } });
  await labApply(remote, '/api/v1/namespaces/shop/services/web', {
    apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'shop' },
    spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 80 }] },
  });
  await until('the workload Pod', () => labApply(remote, '/api/v1/namespaces/shop/pods/web-0', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop', labels: { app: 'web' } },
    spec: { nodeName: workload.name, containers: [{ name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] }] },
  }), () => true, 20_000);
  await labApply(remote, '/api/v1/namespaces/shop/pods/web-0/status', {
    apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web-0', namespace: 'shop' },
    status: { phase: 'Running', podIP: workload.podAddress, podIPs: [{ ip: workload.podAddress }], conditions: [{ type: 'Ready', status: 'True' }] },
  });
  await labApply(remote, '/api/v1/namespaces/demo', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'demo', labels: { 'istio-injection': 'enabled' } } });

  await t.test('before meshplay: no webhook, no sidecar; the remote pod is unreachable', async (t) => {
    t.same(await syncInjectors(stateDir, ['lab2']).then((s) => s.map((x) => x.state)), ['absent'], 'the lab runs no injector: meshplay installed none');
    const pod = await createPod(remote, 'demo');
    t.same(containerNames(pod), ['web'], 'a Pod in a labelled namespace stays as it was');
    t.notOk(await ping(workload.podAddress), `${workload.podAddress} (lab2) does not answer from lab1's pod namespace yet`);
  });

  const first = await play('-e', 'istio_mtls_api=legacy');
  t.equal(failures(first), '', 'the single-control-plane playbook runs');
  t.comment(`first run: changed=${totals(first).changed}`);

  let pilotIp = '';
  await t.test('the real injector, run from what meshplay installed, gives new Pods the sidecar and the discovered Pilot address', async (t) => {
    const [s] = await syncInjectors(stateDir, ['lab2']);
    t.equal(s!.state, 'running', `injector serving at ${s!.url}`);
    const webhook = await get(remote, '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector');
    t.same(webhook.webhooks[0].admissionReviewVersions, ['v1beta1']);
    t.equal(webhook.webhooks[0].clientConfig.url, s!.url, 'registered at the lab injector URL the inventory names');
    pilotIp = (await get(cp, '/api/v1/namespaces/istio-system/services/istio-pilot')).spec.clusterIP;
    const pod = await createPod(remote, 'demo');
    t.same(containerNames(pod), ['web', 'istio-proxy'], 'istio-proxy injected');
    t.same(pod.spec.initContainers?.map((c: any) => c.name), ['istio-init']);
    t.equal(discoveryAddress(pod), `${pilotIp}:15010`, `discoveryAddress is the control plane's istio-pilot ClusterIP (${pilotIp})`);
    t.match(pod.metadata.annotations?.['sidecar.istio.io/status'], /istio-proxy/);
    t.comment(`injected Pod demo/${pod.metadata.name}: containers ${containerNames(pod).join(', ')}; init ${pod.spec.initContainers.map((c: any) => c.name).join(', ')}; --discoveryAddress ${discoveryAddress(pod)}`);
    const plain = await createPod(remote, 'shop');
    t.same(containerNames(plain), ['web'], 'no sidecar outside labelled namespaces');
  });

  await t.test('Pilot tells a sidecar in lab1: the remote-only Service\'s endpoints are lab2\'s pod, reachable, over Istio mTLS', async (t) => {
    await until('Pilot to load lab2', async () => pilotRemoteClusters(pilot), (c) => c.includes('lab2'));
    const id = { ip: client.podAddress, pod: 'client-0', namespace: 'default', clusterId: 'lab1' };
    const cluster = 'outbound|80||web.shop.svc.cluster.local';
    const snap: XdsSnapshot = await until('EDS for web.shop', () => fetchXds(pilot.grpcAddr, id, { edsFor: (c) => c.name === cluster }), (s) => (s.endpoints[cluster] ?? []).length > 0);
    t.same(snap.endpoints[cluster], [`${workload.podAddress}:80`], `EDS ${cluster}: lab2's pod`);
    const c = snap.clusters.find((x) => x.name === cluster)!;
    t.equal(c.type, 'EDS');
    t.same(c.tls && { chain: c.tls.certificateChain, key: c.tls.privateKey, ca: c.tls.trustedCa }, { chain: '/etc/certs/cert-chain.pem', key: '/etc/certs/key.pem', ca: '/etc/certs/root-cert.pem' }, 'ISTIO_MUTUAL: Istio\'s workload certificate files');
    t.ok(c.tls?.alpn.includes('istio'), `ALPN ${c.tls?.alpn.join(',')}`);
    t.comment(`CDS ${cluster}: type ${c.type}, tls ${JSON.stringify(c.tls)}; EDS ${JSON.stringify(snap.endpoints[cluster])}`);
    t.ok(await ping(workload.podAddress), `${workload.podAddress} answers a ping from lab1's pod namespace (routes meshplay made)`);
  });

  await t.test('a control-plane address change and a re-run: new Pods get the new address; a dropped component is pruned', async (t) => {
    const moved = pilotIp === '10.201.200.200' ? '10.201.200.201' : '10.201.200.200';
    await moveService(cp, 'istio-pilot', moved);
    t.ok(await get(remote, '/apis/apps/v1/namespaces/istio-system/deployments/istio-citadel'), 'Citadel installed by the first run');
    const t1 = Date.now();
    const r = await play('--tags', 'istio_remote', '-e', 'istio_remote_citadel=false');
    t.equal(failures(r), '');
    for (const p of ['/apis/apps/v1/namespaces/istio-system/deployments/istio-citadel', '/api/v1/namespaces/istio-system/services/istio-citadel', '/apis/rbac.authorization.k8s.io/v1/clusterroles/istio-citadel-istio-system']) {
      t.notOk(await get(remote, p), `istio_remote_citadel: false prunes ${p}`);
    }
    t.comment(`re-run with --tags istio_remote: ${Date.now() - t1} ms, changed=${totals(r).changed}`);
    await syncInjectors(stateDir, ['lab2']);
    // The injector reloads its mesh config from the changed file; the next Pod shows whether it has.
    const pod = await until('a Pod with the new address', () => createPod(remote, 'demo'), (p) => discoveryAddress(p) === `${moved}:15010`, 20_000);
    t.equal(discoveryAddress(pod), `${moved}:15010`);
  });

  await t.test('uninstall removes the webhook and the injector: no sidecar again', async (t) => {
    const t1 = Date.now();
    const r = await meshplay(['run', 'playbooks/uninstall.yml', '-i', inventoryFile, '--output', 'ndjson'], { timeoutMs: 240_000 });
    t.equal(failures(r), '');
    t.comment(`uninstall: ${Date.now() - t1} ms`);
    for (const p of [
      '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/istio-sidecar-injector',
      '/apis/apps/v1/namespaces/istio-system/deployments/istio-sidecar-injector',
      '/apis/apps/v1/namespaces/istio-system/deployments/istio-citadel',
      '/api/v1/namespaces/istio-system/configmaps/istio-sidecar-injector',
      '/api/v1/namespaces/istio-system/configmaps/istio',
      '/apis/rbac.authorization.k8s.io/v1/clusterroles/istio-sidecar-injector-istio-system',
    ]) t.notOk(await get(remote, p), `${p} removed`);
    t.same((await syncInjectors(stateDir, ['lab2'])).map((s) => s.state), ['absent'], 'the lab stops the injector');
    t.same(containerNames(await createPod(remote, 'demo')), ['web'], 'a new Pod has no sidecar');
  });
});
