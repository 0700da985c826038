// Kubernetes API faults (issue 19 point 3), injected by a real proxy (test/helpers/fault-proxy.ts) between meshplay
// and a REAL kube-apiserver: 429 with Retry-After, 503 without it, connection resets before and after the server
// acted, a stalled answer, a TLS handshake that never completes, a server that keeps failing, and a 409 conflict
// from another field manager. Each run either survives (the objects are as the playbook says, a re-run reports
// changed=0) or stops with exit 4 naming the cluster and the last answer — never a partial apply reported as done.
// Each scenario records a row of the faults table (test/helpers/fault-table.ts): faults counted in the proxy's log,
// every run's exit code, and the ConfigMaps listed from the server compared with the expected ones.
import t, { type Test } from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startTestCluster, connectTo, configMapItem, configMapItems, type TestCluster } from '../helpers/kube.js';
import { meshplay, recapOf, totals } from '../helpers/cli.js';
import { FaultProxy, silentListener, type Fault } from '../helpers/fault-proxy.js';
import { faultRow } from '../helpers/fault-table.js';
import { UnreachableError } from '../../runner/connection/types.js';
import type { KubernetesConnection } from '../../runner/connection/kubernetes.js';
import type { ApiSettings } from '../../runner/inventory/types.js';

let cluster: TestCluster;
let direct: KubernetesConnection;
let proxy: FaultProxy;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-api-faults-'));
const inventoryFile = path.join(dir, 'inventory.yml');
const playbookFile = path.join(dir, 'site.yml');
const cmPath = (name: string) => `/api/v1/namespaces/default/configmaps/${name}`;
const cmRe = (name: string) => new RegExp(`^/api/v1/namespaces/default/configmaps/${name}(\\?|$)`);

const SUITE = 'api-faults';

function proxiedApi(url = proxy.url): ApiSettings {
  return { url, ca_file: cluster.files.ca, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey };
}

function writeInventory(vars: Record<string, unknown> = {}, api: ApiSettings = proxiedApi()) {
  fs.writeFileSync(inventoryFile, stringify({ clusters: [{ name: 'faulty', istio_control_plane: true, api, nodes: [] }], vars }));
}

/** One play on the cluster: ConfigMaps `names`, each with data `data`. */
function writePlaybook(names: string[], data: Record<string, string> = { a: '1' }, extra: Record<string, unknown> = {}) {
  fs.writeFileSync(
    playbookFile,
    stringify([
      {
        name: 'objects',
        hosts: 'control_plane',
        gather_facts: false,
        tasks: names.map((n) => ({ name: `configmap ${n}`, k8s: { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: n, namespace: 'default' }, data }, ...extra } })),
      },
    ]),
  );
}

const run = (extra: string[] = []) => meshplay(['run', playbookFile, '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 120_000 });

async function data(name: string): Promise<Record<string, string> | undefined> {
  return (await direct.getOrUndefined<any>(cmPath(name)))?.data;
}

const cm = configMapItem;
/** Every ConfigMap the server holds in default, listed through the direct connection (not the proxy). */
const objects = () => configMapItems(direct);

/** Faults the proxy answered since `since`. */
const faulted = (since: number) => proxy.seen.filter((s) => s.at >= since && s.outcome !== 'forwarded');

t.before(async () => {
  cluster = await startTestCluster('faults');
  const pki = (f: string) => path.join(cluster.dir, 'pki', f);
  proxy = await FaultProxy.start({ url: cluster.api.url, caFile: cluster.files.ca, certFile: cluster.files.adminCert, keyFile: cluster.files.adminKey }, { certFile: pki('apiserver.crt'), keyFile: pki('apiserver.key') });
  direct = await connectTo('faults', { url: cluster.api.url, ca_file: cluster.files.ca, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey });
});

t.teardown(async () => {
  await direct?.close();
  await proxy?.close();
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

/**
 * Runs the playbook with `faults` injected and checks it survived: exit 0, every ConfigMap holds the data, and a
 * re-run without faults reports changed=0. Returns how many faulted requests the proxy answered.
 */
async function survives(t: Test, label: string, names: string[], faults: Fault[], check: (started: number) => void = () => undefined) {
  const row = faultRow(t, SUITE, label, 'ConfigMaps');
  const expected = names.map((n) => cm(n));
  writeInventory({ kubernetes_request_timeout: 2 });
  writePlaybook(names);
  proxy.clear();
  proxy.inject(...faults);
  const started = Date.now();
  const first = await run();
  row.ran(first.code);
  row.injected = faulted(started).length;
  t.equal(first.code, 0, `${label}: the run survived\n${first.stderr}`);
  t.ok(row.injected > 0, `${label}: ${row.injected} faults were injected`);
  t.equal(row.compare(expected, await objects()), 0, `${label}: every object is there with its data`);
  check(started);
  proxy.clear();
  const again = await run();
  row.ran(again.code);
  t.equal(again.code, 0, `${label}: re-run ok`);
  t.equal(totals(again).changed ?? 0, 0, `${label}: re-run changed=0`);
  row.compare(expected, await objects());
  row.done(t);
}

t.test('429 with Retry-After: waited as asked, then the apply goes through', async (t) => {
  await survives(t, '429 Retry-After: 1 (x2, apply)', ['rate-limited'], [{ method: 'PATCH', path: cmRe('rate-limited'), times: 2, action: { status: 429, retryAfter: '1' } }], (started) => {
    const patches = proxy.count('PATCH', cmRe('rate-limited'), started);
    t.ok(patches.length >= 3, `the PATCH was sent again after each 429 (${patches.length} PATCHes)`);
    t.ok(patches[1]!.at - patches[0]!.at >= 950 && patches[2]!.at - patches[1]!.at >= 950, `each retry waited the 1 s the server asked (${patches[1]!.at - patches[0]!.at} ms, ${patches[2]!.at - patches[1]!.at} ms)`);
  });
});

t.test('503 without Retry-After on reads: retried with backoff', async (t) => {
  await survives(t, '503 (x3, reads)', ['unavailable'], [{ method: 'GET', path: cmRe('unavailable'), times: 3, action: { status: 503 } }]);
});

t.test('a reset after the server applied: the idempotent apply is sent again, no duplicate, no error', async (t) => {
  await survives(t, 'reset after apply (x1)', ['reset-after'], [{ method: 'PATCH', path: /^\/api\/v1\/namespaces\/default\/configmaps\/reset-after\?(?!.*dryRun)/, times: 1, action: { reset: 'after' } }]);
});

t.test('a reset before the server saw it, and a stalled answer: retried', async (t) => {
  await survives(t, 'reset before + stall 3 s (timeout 2 s)', ['reset-before', 'stalled'], [
    { method: 'PATCH', path: cmRe('reset-before'), times: 1, action: { reset: 'before' } },
    { method: 'GET', path: cmRe('stalled'), times: 1, action: { stallMs: 3000 } },
  ]);
});

t.test('a POST the server may have acted on is not repeated; the error says the cluster is unreachable', async (t) => {
  const row = faultRow(t, SUITE, 'reset after POST, 429 on POST (API requests)', 'ConfigMaps');
  const conn = await connectTo('faulty', proxiedApi());
  t.teardown(() => conn.close());
  proxy.clear();
  proxy.inject({ method: 'POST', path: /^\/api\/v1\/namespaces\/default\/configmaps(\?|$)/, times: 1, action: { reset: 'after' } });
  const started = Date.now();
  const body = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'posted' }, data: { a: '1' } };
  const err = await conn.request({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body }).then(
    () => undefined,
    (e) => e,
  );
  row.ran(err === undefined ? 0 : null, err?.name ?? 'error');
  t.ok(err instanceof UnreachableError, `an UnreachableError (${err})`);
  t.match(String(err?.message), /faulty: Kubernetes API .* unreachable \(POST \/api\/v1\/namespaces\/default\/configmaps\)/);
  t.equal(proxy.count('POST', /configmaps/, started).length, 1, 'the POST was sent once');
  t.same(await data('posted'), { a: '1' }, 'the server had created it: a repeated POST would have failed with AlreadyExists');
  // A 429 means the server did not act: then even a POST is sent again.
  proxy.inject({ method: 'POST', path: /configmaps(\?|$)/, times: 1, action: { status: 429, retryAfter: '0' } });
  const again = await conn.request({ method: 'POST', path: '/api/v1/namespaces/default/configmaps', body: { ...body, metadata: { name: 'posted-2' } } });
  row.ran(again.metadata?.name === 'posted-2' ? 0 : null, 'unexpected answer');
  t.equal(again.metadata?.name, 'posted-2', 'a POST answered 429 was sent again and created');
  row.injected = faulted(started).length;
  t.equal(row.injected, 2, 'the proxy injected the reset and the 429');
  row.compare([cm('posted'), cm('posted-2')], await objects());
  row.done(t);
});

t.test('a server that keeps failing: exit 4 naming the cluster and the last answer; nothing reported done; the next run heals', async (t) => {
  const row = faultRow(t, SUITE, '503 on every try', 'ConfigMaps');
  writeInventory();
  writePlaybook(['keeps-failing']);
  proxy.clear();
  proxy.inject({ path: cmRe('keeps-failing'), times: 1000, action: { status: 503 } });
  const started = Date.now();
  const failed = await run();
  row.ran(failed.code);
  row.injected = faulted(started).length;
  t.equal(failed.code, 4, `exit 4\n${failed.stderr}`);
  const recap = recapOf(failed);
  t.equal(recap.stats.faulty?.unreachable, 1, 'the cluster is unreachable in the recap');
  t.equal(recap.stats.faulty?.changed ?? 0, 0, 'nothing counted as changed');
  t.match(failed.stdout + failed.stderr, /faulty: Kubernetes API https:\/\/127\.0\.0\.1:\d+ answered 503 to (GET|PATCH) \S+ 5 times; last answer: .*injected 503/);
  t.equal(await data('keeps-failing'), undefined, 'and nothing was written');
  proxy.clear();
  const healed = await run();
  row.ran(healed.code);
  t.equal(healed.code, 0, 'the next run converges');
  t.equal(totals(healed).changed, 1, 'creating the object');
  t.equal(row.compare([cm('keeps-failing')], await objects()), 0, 'the object is there with its data');
  const third = await run();
  row.ran(third.code);
  t.equal(totals(third).changed ?? 0, 0, 'and the third run changes nothing');
  row.compare([cm('keeps-failing')], await objects());
  row.done(t);
});

t.test('a TLS handshake that never completes costs one connect timeout, then exit 4', async (t) => {
  const row = faultRow(t, SUITE, 'TLS handshake hangs', 'ConfigMaps');
  const silent = await silentListener();
  t.teardown(() => silent.close());
  writeInventory({ kubernetes_connect_timeout: 1 }, proxiedApi(silent.url));
  writePlaybook(['never']);
  const t0 = Date.now();
  const r = await run();
  const took = Date.now() - t0;
  row.ran(r.code);
  row.injected = silent.accepted();
  t.equal(r.code, 4, `exit 4\n${r.stderr}`);
  t.match(r.stdout + r.stderr, /faulty: Kubernetes API https:\/\/127\.0\.0\.1:\d+ unreachable \(GET \/version\): no connection within 1000 ms/);
  t.equal(silent.accepted(), 1, 'one connection attempt, not retried');
  t.ok(took < 8000, `the run ended after about one connect timeout (${took} ms; the request timeout is 30 s)`);
  t.equal(await data('never'), undefined, 'nothing was written');
  writeInventory();
  proxy.clear();
  const healed = await run();
  row.ran(healed.code);
  t.equal(healed.code, 0, `once the server answers, the next run converges\n${healed.stderr}`);
  row.compare([cm('never')], await objects());
  row.done(t);
});

t.test('a 409 conflict with another field manager: the task fails naming the manager and the field; the object keeps its value', async (t) => {
  const row = faultRow(t, SUITE, '409 field-manager conflict', 'ConfigMaps');
  writeInventory();
  proxy.clear();
  await direct.request({
    method: 'PATCH',
    path: `${cmPath('contested')}?fieldManager=other-controller`,
    contentType: 'application/apply-patch+yaml',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'contested', namespace: 'default' }, data: { a: 'theirs' } },
  });
  writePlaybook(['contested'], { a: 'ours' });
  const started = Date.now();
  const r = await run();
  row.ran(r.code);
  row.injected = proxy.seen.filter((s) => s.at >= started && s.status === 409).length;
  t.ok(row.injected > 0, `the server answered 409 (${row.injected} times)`);
  t.equal(r.code, 2, `the host failed (exit 2)\n${r.stderr}`);
  t.match(r.stdout, /fields are owned by another field manager \(other-controller\)/);
  t.match(r.stdout, /\.data\.a/);
  t.equal(row.compare([cm('contested', { a: 'theirs' })], await objects()), 0, 'the other manager keeps its value');
  writePlaybook(['contested'], { a: 'ours' }, { server_side_apply: { force_conflicts: true } });
  const forced = await run();
  row.ran(forced.code);
  t.equal(forced.code, 0, `force_conflicts takes the field over\n${forced.stderr}`);
  t.equal(row.compare([cm('contested', { a: 'ours' })], await objects()), 0, 'the object holds our value');
  row.done(t);
});
