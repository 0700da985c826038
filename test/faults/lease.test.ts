// One run at a time per mesh (issue 19 point 1), against a REAL kube-apiserver: the Lease
// istio-system/meshplay is taken before the first write, refused runs exit 7 naming the holder, a stale Lease is
// taken over, --check takes none, and the Lease is gone once a run ends. Each scenario records a row of the faults
// table (test/helpers/fault-table.ts): the other holder's Lease as read back from the server, every run's exit, and
// the ConfigMaps listed from the server compared with the ones the successful runs should have written.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { stringify } from 'yaml';
import { startTestCluster, connectTo, configMapItem, configMapItems, type TestCluster } from '../helpers/kube.js';
import { faultRow } from '../helpers/fault-table.js';
import { cliPath, meshplay, repoRoot } from '../helpers/cli.js';
import { acquireMeshLease, LEASE_NAME, LEASE_NAMESPACE } from '../../runner/k8s/lease.js';
import type { KubernetesConnection } from '../../runner/connection/kubernetes.js';

let cluster: TestCluster;
let conn: KubernetesConnection;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-lease-'));
const inventoryFile = path.join(dir, 'inventory.yml');
const playbookFile = path.join(dir, 'site.yml');
const leasePath = `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases/${LEASE_NAME}`;
const cmPath = (name: string) => `/api/v1/namespaces/default/configmaps/${name}`;
const SUITE = 'lease';
/** 1 when the Lease is held by `holder` (a regular expression on its identity), read from the server. */
const heldBy = async (holder: RegExp) => (holder.test((await conn.getOrUndefined<any>(leasePath))?.spec?.holderIdentity ?? '') ? 1 : 0);

function writePlaybook(cm: string, sleepS = 0) {
  const plays: any[] = [
    { name: 'write', hosts: 'control_plane', gather_facts: false, tasks: [{ name: 'configmap', k8s: { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: cm, namespace: 'default' }, data: { a: '1' } } } }] },
  ];
  if (sleepS) plays.push({ name: 'hold', hosts: 'localhost', gather_facts: false, tasks: [{ name: 'sleep', command: `sleep ${sleepS}` }] });
  fs.writeFileSync(playbookFile, stringify(plays));
}

const run = (extra: string[] = []) => meshplay(['run', playbookFile, '-i', inventoryFile, '--output', 'ndjson', ...extra], { timeoutMs: 120_000 });

t.before(async () => {
  cluster = await startTestCluster('lease');
  conn = await connectTo('lease', cluster.api);
  fs.writeFileSync(
    inventoryFile,
    stringify({ clusters: [{ name: 'lease', istio_control_plane: true, api: { kubeconfig: cluster.api.kubeconfig, context: cluster.api.context }, nodes: [] }] }),
  );
});

t.teardown(async () => {
  await conn?.close();
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test('a held Lease refuses a run (exit 7, naming the holder); --check takes none; --lock-timeout waits', async (t) => {
  const row = faultRow(t, SUITE, 'Lease held by another run', 'ConfigMaps');
  writePlaybook('held');
  const other = await acquireMeshLease(conn, { user: 'alice', host: 'ci-7', pid: 4242, playbook: 'other.yml', started: '2026-01-01T00:00:00Z' }, { timeoutS: 0 });
  row.injected = await heldBy(/^alice@ci-7:4242$/);
  const refused = await run();
  row.ran(refused.code);
  t.equal(refused.code, 7, `refused with the locked code\n${refused.stderr}`);
  t.match(refused.stderr, /locked by another meshplay run: alice@ci-7:4242 \(user alice, host ci-7, pid 4242, playbook other\.yml/);
  t.equal(await conn.getOrUndefined(cmPath('held')), undefined, 'the refused run wrote nothing');

  const checked = await run(['--check']);
  row.ran(checked.code);
  t.equal(checked.code, 0, `--check ran while the Lease was held\n${checked.stderr}`);
  t.equal((await conn.getOrUndefined<any>(leasePath))?.spec?.holderIdentity, 'alice@ci-7:4242', '--check left the holder alone');

  const waiting = run(['--lock-timeout', '60']);
  await new Promise((r) => setTimeout(r, 2000));
  await other.release();
  const waited = await waiting;
  row.ran(waited.code);
  t.equal(waited.code, 0, `the waiting run went on once the Lease was released\n${waited.stderr}`);
  t.equal(row.compare([configMapItem('held')], await configMapItems(conn)), 0, 'it wrote');
  t.equal(await conn.getOrUndefined(leasePath), undefined, 'and released the Lease at the end');
  row.done(t);
});

t.test('a stale Lease (holder stopped renewing) is taken over', async (t) => {
  const row = faultRow(t, SUITE, 'stale Lease (holder stopped renewing)', 'ConfigMaps');
  writePlaybook('stale');
  const old = new Date(Date.now() - 3600_000).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
  await conn.request({
    method: 'POST',
    path: `/apis/coordination.k8s.io/v1/namespaces/${LEASE_NAMESPACE}/leases`,
    body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: LEASE_NAME }, spec: { holderIdentity: 'crashed@gone:1', leaseDurationSeconds: 15, acquireTime: old, renewTime: old } },
  });
  row.injected = await heldBy(/^crashed@gone:1$/);
  const r = await run();
  row.ran(r.code);
  t.equal(r.code, 0, `took the stale Lease over\n${r.stderr}`);
  t.equal(row.compare([configMapItem('stale')], await configMapItems(conn)), 0, 'and wrote');
  t.equal(await conn.getOrUndefined(leasePath), undefined, 'Lease released');
  row.done(t);
});

t.test('two concurrent runs: one holds, the other exits 7 naming it', async (t) => {
  const row = faultRow(t, SUITE, 'a concurrent run holds the Lease', 'ConfigMaps');
  writePlaybook('concurrent', 30);
  const first = spawn(process.execPath, [cliPath, 'run', playbookFile, '-i', inventoryFile, '--output', 'ndjson'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'pipe'] });
  let firstErr = '';
  first.stderr.on('data', (d) => (firstErr += d));
  const firstDone = new Promise<number>((r) => first.on('close', (c) => r(c ?? -1)));
  let lease: any;
  for (let i = 0; i < 600 && !lease; i++) {
    lease = await conn.getOrUndefined<any>(leasePath);
    if (!lease) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(lease, 'the first run took the Lease');
  row.injected = await heldBy(new RegExp(`:${first.pid}$`));
  t.match(lease.spec.holderIdentity, new RegExp(`:${first.pid}$`), 'holding its identity');
  t.match(JSON.parse(lease.metadata.annotations['meshplay.io/holder']), { pid: first.pid, playbook: playbookFile });
  const second = await run();
  row.ran(second.code);
  t.equal(second.code, 7, `the second run is refused\n${second.stderr}`);
  t.match(second.stderr, new RegExp(`pid ${first.pid}, playbook ${playbookFile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.equal(row.ran(await firstDone), 0, `the first run finished\n${firstErr}`);
  t.equal(row.compare([configMapItem('concurrent')], await configMapItems(conn)), 0, 'it wrote');
  t.equal(await conn.getOrUndefined(leasePath), undefined, 'and released the Lease');
  row.done(t);
});

t.test('a run killed with SIGKILL on this host leaves its Lease behind; the next run takes it over at once', async (t) => {
  const row = faultRow(t, SUITE, 'the holder SIGKILLed, its Lease left', 'ConfigMaps');
  writePlaybook('killed', 30);
  const first = spawn(process.execPath, [cliPath, 'run', playbookFile, '-i', inventoryFile, '--output', 'ndjson'], { cwd: repoRoot, stdio: ['ignore', 'ignore', 'ignore'] });
  const firstDone = new Promise<void>((r) => first.on('close', (code, signal) => r(void row.ran(code, signal))));
  let lease: any;
  for (let i = 0; i < 600 && !lease; i++) {
    lease = await conn.getOrUndefined<any>(leasePath);
    if (!lease) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(lease, 'the first run took the Lease');
  first.kill('SIGKILL');
  await firstDone;
  t.equal(first.signalCode, 'SIGKILL', 'the holder was killed');
  row.injected = first.signalCode === 'SIGKILL' ? await heldBy(new RegExp(`:${first.pid}$`)) : 0;
  const left = await conn.getOrUndefined<any>(leasePath);
  t.match(left?.spec?.holderIdentity, new RegExp(`:${first.pid}$`), 'its Lease is still there, not expired');
  writePlaybook('after-kill');
  const next = await run();
  row.ran(next.code);
  t.equal(next.code, 0, `taken over without waiting for expiry (no --lock-timeout)\n${next.stderr}`);
  t.equal(row.compare([configMapItem('after-kill')], await configMapItems(conn)), 0, 'and wrote');
  t.equal(await conn.getOrUndefined(leasePath), undefined, 'Lease released');
  row.done(t);
});

t.test('a holder on another host is judged by expiry only, even with a pid that does not exist here', async (t) => {
  const row = faultRow(t, SUITE, 'Lease held from another host', 'ConfigMaps');
  writePlaybook('elsewhere');
  const held = await acquireMeshLease(conn, { user: 'root', host: 'another-host', pid: 999_999, pidns: 'pid:[1]', playbook: 'x.yml', started: new Date().toISOString() }, { timeoutS: 0 });
  t.teardown(() => held.release());
  row.injected = await heldBy(/^root@another-host:999999$/);
  const r = await run();
  row.ran(r.code);
  t.equal(r.code, 7, 'refused while the Lease is renewed');
  t.match(r.stderr, 'host another-host');
  t.equal(await conn.getOrUndefined(cmPath('elsewhere')), undefined, 'the refused run wrote nothing');
  await held.release();
  const after = await run();
  row.ran(after.code);
  t.equal(after.code, 0, `once released, the next run goes on\n${after.stderr}`);
  t.equal(row.compare([configMapItem('elsewhere')], await configMapItems(conn)), 0, 'and wrote');
  row.done(t);
});
