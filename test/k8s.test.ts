// k8s / k8s_info modules and the kubernetes connection against a REAL kube-apiserver + controller-manager.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify as stringifyYaml } from 'yaml';
import { startTestCluster, connectTo, moduleContext, type TestCluster } from './helpers/kube.js';
import { KubeApiError, watchEventOutcome, type KubernetesConnection } from '../runner/connection/kubernetes.js';
import type { RequestCounts } from '../runner/connection/types.js';
import { UnreachableError } from '../runner/connection/types.js';
import k8s from '../runner/modules/k8s.js';
import k8sInfo from '../runner/modules/k8s_info.js';
import { callModule } from '../runner/executor/task.js';
import type { ModuleContext, ModuleResult } from '../runner/modules/types.js';
import { kubeStatus, kubeUp } from '../lab/kube/index.js';
import { conflictMessage, parseDefinitions, redactSecretPair } from '../runner/k8s/objects.js';

let cluster: TestCluster;
const labNodes = [
  { name: 'k8stest-n1', address: '10.250.1.2', podBlock: '10.64.1.0/24' },
  { name: 'k8stest-n2', address: '10.250.1.3', podBlock: '10.64.2.0/24' },
];
let conn: KubernetesConnection;

t.test('pure helpers: definitions, Secret diff markers, conflict message', async (t) => {
  // watch lines as kube-apiserver 1.26 writes them: only object events count as a change
  t.equal(watchEventOutcome('{"type":"ADDED","object":{"kind":"ConfigMap","metadata":{"name":"a"}}}'), 'changed');
  t.equal(watchEventOutcome('{"type":"MODIFIED","object":{}}'), 'changed');
  t.equal(watchEventOutcome('{"type":"DELETED","object":{}}'), 'changed');
  t.equal(
    watchEventOutcome('{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version: 1 (812)","reason":"Expired","code":410}}'),
    'ended',
    '410 Gone is not a change: the waiter sleeps and reads again instead of looping',
  );
  t.equal(watchEventOutcome('{"type":"BOOKMARK","object":{}}'), 'ended');
  t.equal(watchEventOutcome('not json'), 'ended');
  t.same(
    parseDefinitions('a: 1\n---\n---\nkind: List\nitems:\n  - kind: X\n  - kind: Y\n').map((o) => o.kind ?? o.a),
    [1, 'X', 'Y'],
  );
  const before = { apiVersion: 'v1', kind: 'Secret', data: { a: Buffer.from('same').toString('base64'), b: Buffer.from('old').toString('base64') } };
  const after = { apiVersion: 'v1', kind: 'Secret', stringData: { a: 'same', b: 'new', c: 'added' } };
  const [b, a] = redactSecretPair(before, after);
  t.same(b!.data, { a: '<redacted>', b: '<redacted: old value>' });
  t.same(a!.data, { a: '<redacted>', b: '<redacted: new value>', c: '<redacted: new value>' });
  t.notOk('stringData' in a!);
  t.match(
    conflictMessage('ConfigMap ns/x', [{ field: '.data.k', message: 'conflict with "helm" using v1' }], ''),
    /another field manager \(helm\)[\s\S]*- \.data\.k/,
  );
});

t.before(async () => {
  // Fails (not skips) with instructions when the binaries are missing.
  cluster = await startTestCluster('k8stest', '10.96.0.0/16', { labNodes });
  t.comment(`cluster started in ${cluster.startMs} ms`);
  conn = await connectTo('k8stest', { kubeconfig: cluster.api.kubeconfig, context: cluster.api.context });
});

t.teardown(async () => {
  await conn?.close();
  await cluster?.stop();
});

/** What the executor does: arguments validated and defaulted, facts, plan, then apply only when changed and not checking. */
async function run(ctx: ModuleContext, args: Record<string, unknown>): Promise<ModuleResult> {
  return callModule(k8s, ctx, args);
}

function delta(before: RequestCounts, after: RequestCounts) {
  const byVerb: Record<string, number> = {};
  for (const [k, v] of Object.entries(after.byVerb)) {
    const n = (v ?? 0) - ((before.byVerb as any)[k] ?? 0);
    if (n) byVerb[k] = n;
  }
  return { byVerb, persisting: after.persisting - before.persisting, dryRun: after.dryRun - before.dryRun };
}

async function counted<T>(fn: () => Promise<T>) {
  const before = conn.requestCounts();
  const value = await fn();
  return { value, d: delta(before, conn.requestCounts()) };
}

const ns = { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mp-test' } };

t.test('bare Namespace: created, then second run changed=0 with zero persisting requests', async (t) => {
  const ctx = moduleContext(conn);
  const first = await run(ctx, { definition: ns });
  t.equal(first.changed, true);
  t.equal(first.method, 'created');
  t.equal((first.result as any).metadata.labels['app.kubernetes.io/managed-by'], 'meshplay');
  const { value: second, d } = await counted(() => run(ctx, { definition: ns }));
  t.equal(second.changed, false, 'second run unchanged');
  t.equal(second.method, 'unchanged');
  t.equal(d.persisting, 0, 'no persisting request');
  t.same(d.byVerb.POST ?? 0, 0);
  const third = await counted(() => run(ctx, { definition: ns }));
  t.equal(third.value.changed, false, 'third run unchanged');
  t.equal(third.d.persisting, 0);
});

t.test('ConfigMap: SSA create, converge, update one field', async (t) => {
  const ctx = moduleContext(conn);
  const cm = (v: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'cm1', namespace: 'mp-test' }, data: { a: '1', b: v } });
  const created = await counted(() => run(ctx, { definition: cm('x') }));
  t.equal(created.value.changed, true);
  t.equal(created.value.method, 'created');
  t.equal(created.d.persisting, 1, 'one persisting request (the apply)');
  t.equal(created.d.byVerb.PATCH, 2, 'dry-run + real apply');

  const again = await counted(() => run(ctx, { definition: cm('x') }));
  t.equal(again.value.changed, false);
  t.equal(again.d.persisting, 0, 'converged: zero persisting requests');
  t.same(again.d.byVerb, { GET: 1 }, 'one GET: the live object and its managedFields prove the apply a no-op, no dry-run');

  // a key meshplay owned and no longer sets would be removed by the apply: not a no-op, the server is asked
  const dropped = await counted(() => run(ctx, { definition: { ...cm('x'), data: { a: '1' } } }));
  t.equal(dropped.value.changed, true, 'dropping an owned key is a change');
  t.equal(dropped.d.byVerb.PATCH, 2, 'dry-run + real apply');
  t.same((await conn.request({ method: 'GET', path: '/api/v1/namespaces/mp-test/configmaps/cm1' })).data, { a: '1' }, 'the key is gone');
  await run(ctx, { definition: cm('x') });

  const updated = await run(ctx, { definition: cm('y') });
  t.equal(updated.changed, true);
  t.equal(updated.method, 'patched');
  const live = await conn.request({ method: 'GET', path: '/api/v1/namespaces/mp-test/configmaps/cm1' });
  t.same(live.data, { a: '1', b: 'y' });

  // namespace default from the arg, definition as YAML text
  const yamlDef = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm-yaml\ndata:\n  k: v\n---\n';
  const fromYaml = await run(ctx, { definition: yamlDef, namespace: 'mp-test' });
  t.equal(fromYaml.changed, true);
  t.equal((fromYaml.result as any).metadata.namespace, 'mp-test');
});

t.test('Service: defaulted fields (targetPort, clusterIP, sessionAffinity) do not stop a converged run skipping the dry-run', async (t) => {
  const ctx = moduleContext(conn);
  const svc = (ports: { name: string; port: number }[]) => ({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'svc-noop', namespace: 'mp-test' },
    spec: { ports: ports.map((p) => ({ ...p, protocol: 'TCP' })) },
  });
  const two = [{ name: 'grpc', port: 15010 }, { name: 'http', port: 8080 }];
  t.equal((await run(ctx, { definition: svc(two) })).changed, true);
  const again = await counted(() => run(ctx, { definition: svc(two) }));
  t.equal(again.value.changed, false);
  t.same(again.d.byVerb, { GET: 1 }, 'no dry-run');
  const reordered = await counted(() => run(ctx, { definition: svc([two[1]!, two[0]!]) }));
  t.ok(reordered.d.byVerb.PATCH! >= 1, 'keyed list in another order: the server is asked');
  const oneLess = await counted(() => run(ctx, { definition: svc([two[0]!]) }));
  t.equal(oneLess.value.changed, true, 'an owned port dropped is a change');
  const live = await conn.request({ method: 'GET', path: '/api/v1/namespaces/mp-test/services/svc-noop' });
  t.same(live.spec.ports.map((p: any) => p.port), [15010]);
  const settled = await counted(() => run(ctx, { definition: svc([two[0]!]) }));
  t.same(settled.d.byVerb, { GET: 1 }, 'converged again without a dry-run');
});

t.test('conflict with another field manager names it and the field', async (t) => {
  await conn.request({
    method: 'PATCH',
    path: '/api/v1/namespaces/mp-test/configmaps/contested',
    query: { fieldManager: 'kubectl' },
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'contested', namespace: 'mp-test' }, data: { owner: 'kubectl' } },
    contentType: 'application/apply-patch+yaml',
  });
  const ctx = moduleContext(conn);
  const def = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'contested', namespace: 'mp-test' }, data: { owner: 'meshplay' } };
  const before = conn.requestCounts();
  await t.rejects(run(ctx, { definition: def }), /another field manager \(kubectl\)[\s\S]*\.data\.owner/);
  t.equal(delta(before, conn.requestCounts()).persisting, 0, 'nothing written');
  const forced = await run(ctx, { definition: def, server_side_apply: { force_conflicts: true } });
  t.equal(forced.changed, true);
  t.equal((forced.result as any).data.owner, 'meshplay');
});

t.test('check mode: only GET and dry-run, nothing changes', async (t) => {
  const ctx = moduleContext(conn, { check: true, diff: true });
  const def = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'checked', namespace: 'mp-test' }, data: { a: '1' } };
  const { value, d } = await counted(() => run(ctx, { definition: def }));
  t.equal(value.changed, true, 'would change');
  t.equal(d.persisting, 0);
  t.ok(d.dryRun >= 1);
  t.equal(d.byVerb.POST ?? 0, 0);
  t.equal(d.byVerb.DELETE ?? 0, 0);
  t.equal(await conn.getOrUndefined('/api/v1/namespaces/mp-test/configmaps/checked'), undefined, 'not created');
  const diff = (value.diff as any[])[0];
  t.match(diff.after, /a: "1"/);
  t.equal(diff.before, '');

  // absent in check mode deletes nothing
  const absent = await counted(() => run(ctx, { state: 'absent', kind: 'ConfigMap', name: 'cm1', namespace: 'mp-test' }));
  t.equal(absent.value.changed, true);
  t.same(absent.d.byVerb, { GET: 1 });
  t.ok(await conn.getOrUndefined('/api/v1/namespaces/mp-test/configmaps/cm1'), 'still there');
});

t.test('Secret: diff masks data and excludes managedFields; data vs stringData is no change', async (t) => {
  const ctx = moduleContext(conn, { diff: true });
  const secretValue = 'hunter2-very-secret';
  const created = await run(ctx, {
    definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'mp-test' }, stringData: { password: secretValue } },
  });
  t.equal(created.changed, true);
  const text = JSON.stringify(created.diff);
  t.notMatch(text, secretValue);
  t.notMatch(text, Buffer.from(secretValue).toString('base64'));
  t.notMatch(text, /managedFields|resourceVersion|creationTimestamp|uid:/);
  t.match(text, /<redacted: new value>/);
  t.ok(ctx.captured.secrets.has(secretValue), 'decoded value registered as secret');

  const sameAsData = await counted(() =>
    run(ctx, {
      definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'mp-test' }, data: { password: Buffer.from(secretValue).toString('base64') } },
    }),
  );
  t.equal(sameAsData.value.changed, false, 'data with the same decoded value: unchanged');
  t.equal(sameAsData.d.persisting, 0);
  const sameStringData = await run(ctx, {
    definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'mp-test' }, stringData: { password: secretValue } },
  });
  t.equal(sameStringData.changed, false, 'stringData again: unchanged');

  const changedValue = await run(ctx, {
    definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's1', namespace: 'mp-test' }, stringData: { password: 'another-value-123' } },
  });
  t.equal(changedValue.changed, true);
  const d = (changedValue.diff as any[])[0];
  t.match(d.before, /<redacted: old value>/);
  t.match(d.after, /<redacted: new value>/);
  t.notMatch(JSON.stringify(changedValue.diff), /another-value-123/);
});

let robotToken = '';

t.test('wait_for on a token Secret filled by the real tokens controller', async (t) => {
  const ctx = moduleContext(conn);
  await run(ctx, { definition: { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot', namespace: 'mp-test' } } });
  const t0 = Date.now();
  const res = await run(ctx, {
    definition: {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/service-account-token',
      metadata: { name: 'robot-token', namespace: 'mp-test', annotations: { 'kubernetes.io/service-account.name': 'robot' } },
    },
    wait: true,
    wait_for: 'resource.data.token is defined',
    wait_timeout: 60,
    wait_sleep: 30, // waiting watches the object; a 30 s poll would time this test out
  });
  t.comment(`token filled after ${Date.now() - t0} ms`);
  const token64 = (res.result as any).data?.token;
  t.ok(token64, 'token present in result');
  robotToken = Buffer.from(token64, 'base64').toString('utf8');
  t.ok(ctx.captured.secrets.has(robotToken), 'token registered as secret');

  const again = await counted(() =>
    run(ctx, {
      definition: {
        apiVersion: 'v1',
        kind: 'Secret',
        type: 'kubernetes.io/service-account-token',
        metadata: { name: 'robot-token', namespace: 'mp-test', annotations: { 'kubernetes.io/service-account.name': 'robot' } },
      },
    }),
  );
  t.equal(again.value.changed, false, 'controller-filled data does not count as drift');
  t.equal(again.d.persisting, 0);
});

t.test('auth variants: token, client certificate, refused basic auth, insecure warning', async (t) => {
  const admin = moduleContext(conn);
  await run(admin, {
    definition: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cm-reader', namespace: 'mp-test' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }],
    },
  });
  await run(admin, {
    definition: {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'robot-reads', namespace: 'mp-test' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'robot', namespace: 'mp-test' }],
    },
  });
  t.ok(robotToken, 'token from the previous test');
  const captured = { warnings: [] as string[], secrets: new Set<string>(), logs: [] as string[] };
  const tokenConn = await connectTo('k8stest', { url: cluster.api.url, token: robotToken, ca_file: cluster.files.ca }, captured);
  t.ok(captured.secrets.has(robotToken), 'token registered as secret by connect');
  const info = await callModule(k8sInfo, moduleContext(tokenConn), { kind: 'ConfigMap', namespace: 'mp-test' });
  t.ok((info.resources as any[]).some((r) => r.metadata.name === 'cm1'), 'token auth lists configmaps');

  // RBAC-limited token: clear 403 naming verb and resource
  await t.rejects(
    run(moduleContext(tokenConn), { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'nope', namespace: 'mp-test' }, data: { a: 'b' } } }),
    /ConfigMap mp-test\/nope: apply \(dry-run\) forbidden by RBAC[\s\S]*cannot patch resource "configmaps"/,
  );
  await t.rejects(callModule(k8sInfo, moduleContext(tokenConn), { kind: 'Secret', namespace: 'mp-test' }), /forbidden[\s\S]*cannot list resource "secrets"/);
  // an object that appears later: the admin's wait watches and ends at the event, not at the next 30 s poll
  const adminBefore = conn.requestCounts();
  setTimeout(() => void run(admin, { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'watched', namespace: 'mp-test' }, data: { a: 'b' } } }), 600);
  const t0 = Date.now();
  const watched = await callModule(k8sInfo, moduleContext(conn), { kind: 'ConfigMap', name: 'watched', namespace: 'mp-test', wait: true, wait_timeout: 60, wait_sleep: 30 });
  t.equal((watched.resources as any[])[0]?.metadata.name, 'watched');
  t.ok(Date.now() - t0 < 20_000, `seen through the watch after ${Date.now() - t0} ms, before any 30 s poll`);
  t.ok((conn.requestCounts().byVerb.WATCH ?? 0) > (adminBefore.byVerb.WATCH ?? 0), 'a watch was opened');
  // a wait that never succeeds costs a read and one long watch per round, never a tight loop
  const loopBefore = conn.requestCounts();
  await t.rejects(
    callModule(k8sInfo, moduleContext(conn), { kind: 'ConfigMap', name: 'watched', namespace: 'mp-test', wait: true, wait_condition: { type: 'Never' }, wait_timeout: 3, wait_sleep: 1 }),
    /timed out after 3 s waiting for condition Never=True/,
  );
  const loopAfter = conn.requestCounts();
  t.ok((loopAfter.byVerb.LIST ?? 0) - (loopBefore.byVerb.LIST ?? 0) <= 3, 'at most 3 reads in 3 s');
  t.ok((loopAfter.byVerb.WATCH ?? 0) - (loopBefore.byVerb.WATCH ?? 0) <= 2, 'at most 2 watches in 3 s');

  // the robot may get configmaps but not watch them: waiting falls back to polling and still sees the object appear
  const before = tokenConn.requestCounts();
  setTimeout(() => void run(admin, { definition: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'late', namespace: 'mp-test' }, data: { a: 'b' } } }), 600);
  const late = await callModule(k8sInfo, moduleContext(tokenConn), { kind: 'ConfigMap', name: 'late', namespace: 'mp-test', wait: true, wait_timeout: 30, wait_sleep: 0.2 });
  t.equal((late.resources as any[])[0]?.metadata.name, 'late', 'found by polling after the forbidden watch');
  const after = tokenConn.requestCounts();
  t.equal((after.byVerb.WATCH ?? 0) - (before.byVerb.WATCH ?? 0), 1, 'one watch tried, then polling');
  t.ok((after.byVerb.LIST ?? 0) - (before.byVerb.LIST ?? 0) >= 3, 'several reads while polling');
  await tokenConn.close();

  const certConn = await connectTo('k8stest', { url: cluster.api.url, ca_file: cluster.files.ca, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey });
  const facts = await certConn.gatherFacts();
  t.match(facts.kubernetes.server_version, /^v1\.\d+/);
  t.ok(facts.kubernetes.api_groups.includes('apps'));
  t.equal(facts.kubernetes.istio_crds, true, 'lab installed the Istio CRDs');
  await certConn.close();

  // a user certificate without rights is authenticated but forbidden
  const nobody = await cluster.clientCert('nobody');
  const nobodyConn = await connectTo('k8stest', { url: cluster.api.url, ca_file: cluster.files.ca, client_cert_file: nobody.cert, client_key_file: nobody.key });
  await t.rejects(callModule(k8sInfo, moduleContext(nobodyConn), { kind: 'ConfigMap', namespace: 'mp-test' }), /User "nobody" cannot list resource "configmaps"/);
  await nobodyConn.close();

  await t.rejects(connectTo('k8stest', { url: cluster.api.url, username: 'admin', password: 'pw' }), /removed basic authentication[\s\S]*api\.token/);

  // kubeconfigs read without the client library: files relative to the kubeconfig, a chosen context, a token file
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-kubeconfig-'));
  fs.copyFileSync(cluster.files.ca, path.join(dir, 'ca.crt'));
  fs.copyFileSync(cluster.files.adminCert, path.join(dir, 'admin.crt'));
  fs.copyFileSync(cluster.files.adminKey, path.join(dir, 'admin.key'));
  fs.writeFileSync(path.join(dir, 'robot.token'), `${robotToken}\n`);
  const kubeconfig = (user: Record<string, unknown>) =>
    stringifyYaml({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: cluster.api.url, 'certificate-authority': 'ca.crt' } }],
      users: [{ name: 'u', user }, { name: 'other', user: { token: 'not-this-one' } }],
      contexts: [{ name: 'chosen', context: { cluster: 'lab', user: 'u' } }, { name: 'current', context: { cluster: 'lab', user: 'other' } }],
      'current-context': 'current',
    });
  fs.writeFileSync(path.join(dir, 'cert.yaml'), kubeconfig({ 'client-certificate': 'admin.crt', 'client-key': 'admin.key' }));
  const relLogs = { warnings: [] as string[], secrets: new Set<string>(), logs: [] as string[] };
  const relConn = await connectTo('k8stest', { kubeconfig: path.join(dir, 'cert.yaml'), context: 'chosen' }, relLogs);
  t.ok((await relConn.gatherFacts()).kubernetes.nodes.length >= 0, 'relative certificate paths and the chosen context authenticate');
  t.notMatch(relLogs.logs.join('\n'), /client-node/, 'read without the client library');
  await relConn.close();
  fs.writeFileSync(path.join(dir, 'token-file.yaml'), kubeconfig({ tokenFile: 'robot.token' }));
  const tfCaptured = { warnings: [] as string[], secrets: new Set<string>(), logs: [] as string[] };
  const tfConn = await connectTo('k8stest', { kubeconfig: path.join(dir, 'token-file.yaml'), context: 'chosen' }, tfCaptured);
  await t.rejects(callModule(k8sInfo, moduleContext(tfConn), { kind: 'Secret', namespace: 'mp-test' }), /system:serviceaccount:mp-test:robot" cannot list resource "secrets"/, 'the token file is the robot');
  t.ok(tfCaptured.secrets.has(robotToken), 'a token read from a file is registered as a secret');
  await tfConn.close();
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'cert.yaml'), context: 'missing' }), /context 'missing' not found in .*cert\.yaml; it has: chosen, current/);

  // an inventory token replaces the kubeconfig's user: it must not ride along with the admin certificate
  const overridden = await connectTo('k8stest', { kubeconfig: path.join(dir, 'cert.yaml'), context: 'chosen', token: robotToken });
  await t.rejects(callModule(k8sInfo, moduleContext(overridden), { kind: 'Secret', namespace: 'mp-test' }), /mp-test:robot" cannot list resource "secrets"/, 'runs as the robot, not as the admin');
  await overridden.close();
  // a token file wins over an inline token, as in client-go
  fs.writeFileSync(path.join(dir, 'both.yaml'), kubeconfig({ token: 'not-a-valid-token', tokenFile: 'robot.token' }));
  const both = await connectTo('k8stest', { kubeconfig: path.join(dir, 'both.yaml'), context: 'chosen' });
  t.ok(((await callModule(k8sInfo, moduleContext(both), { kind: 'ConfigMap', namespace: 'mp-test' })).resources as any[]).length > 0, 'authenticated with the file');
  await both.close();
  // refused with a reason instead of silently connecting some other way
  fs.writeFileSync(path.join(dir, 'basic.yaml'), kubeconfig({ username: 'admin', password: 'pw-in-kubeconfig' }));
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'basic.yaml'), context: 'chosen' }), /basic authentication \(username\/password\), which Kubernetes removed in 1\.19/);
  fs.writeFileSync(path.join(dir, 'as.yaml'), kubeconfig({ token: 'x', as: 'someone' }));
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'as.yaml'), context: 'chosen' }), /sets as \(impersonation\), which meshplay does not support/);
  const proxied = stringifyYaml({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: { server: cluster.api.url, 'proxy-url': 'http://127.0.0.1:3128' } }],
    users: [{ name: 'u', user: { token: 'x' } }],
    contexts: [{ name: 'c', context: { cluster: 'lab', user: 'u' } }],
    'current-context': 'c',
  });
  fs.writeFileSync(path.join(dir, 'proxy.yaml'), proxied);
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'proxy.yaml') }), /proxy-url, which meshplay does not support/);

  // credential plugins: real executables printing ExecCredentials, run by meshplay itself (no client library)
  const plugin = (name: string, body: string) => {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\n${body}\n`, { mode: 0o700 });
    return path.join(dir, name);
  };
  const execUser = (command: string, apiVersion = 'client.authentication.k8s.io/v1beta1', extra: Record<string, unknown> = {}) =>
    kubeconfig({ exec: { apiVersion, command, interactiveMode: 'Never', ...extra } });
  const credential = (token: string, apiVersion = 'client.authentication.k8s.io/v1beta1', expiry?: string) =>
    JSON.stringify({ apiVersion, kind: 'ExecCredential', status: { token, ...(expiry ? { expirationTimestamp: expiry } : {}) } });
  const later = new Date(Date.now() + 3600_000).toISOString();
  // v1beta1, a relative command (resolved against the kubeconfig's directory, as client-go does), a far expiry:
  // the plugin runs once for any number of requests
  plugin('plugin.sh', `cat <<'EOF'\n${credential(robotToken, undefined, later)}\nEOF`);
  fs.writeFileSync(path.join(dir, 'exec.yaml'), execUser('./plugin.sh'));
  const execCaptured = { warnings: [] as string[], secrets: new Set<string>(), logs: [] as string[] };
  const execConn = await connectTo('k8stest', { kubeconfig: path.join(dir, 'exec.yaml'), context: 'chosen' }, execCaptured);
  t.notMatch(execCaptured.logs.join('\n'), /client-node/, 'no client library');
  const viaPlugin = await callModule(k8sInfo, moduleContext(execConn), { kind: 'ConfigMap', namespace: 'mp-test' });
  t.ok((viaPlugin.resources as any[]).some((r) => r.metadata.name === 'cm1'), "the plugin's token authenticates");
  await t.rejects(callModule(k8sInfo, moduleContext(execConn), { kind: 'Secret', namespace: 'mp-test' }), /mp-test:robot" cannot list resource "secrets"/, 'as the robot');
  t.ok(execCaptured.secrets.has(robotToken), "the plugin's token is registered as a secret");
  t.equal(execConn.pluginRuns(), 1, 'cached until its expirationTimestamp: one run for every request');
  await execConn.close();

  // v1 with an expiry already (nearly) reached: every request asks the plugin again
  plugin('short.sh', `exp=$(date -u -d "@$(( $(date +%s) + 2 ))" +%Y-%m-%dT%H:%M:%SZ)\nprintf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"%s"}}' '${robotToken}' "$exp"`);
  fs.writeFileSync(path.join(dir, 'short.yaml'), execUser(path.join(dir, 'short.sh'), 'client.authentication.k8s.io/v1'));
  const shortConn = await connectTo('k8stest', { kubeconfig: path.join(dir, 'short.yaml'), context: 'chosen' });
  await callModule(k8sInfo, moduleContext(shortConn), { kind: 'ConfigMap', namespace: 'mp-test' });
  t.ok(shortConn.pluginRuns() >= 2, `an expiring credential is renewed (${shortConn.pluginRuns()} runs)`);
  await shortConn.close();

  // a credential the real API server rejects (401) makes meshplay run the plugin again; the second run's token works
  const counter = path.join(dir, 'runs');
  plugin('revoked.sh', `n=$(cat ${counter} 2>/dev/null || echo 0); echo $((n+1)) > ${counter}\nif [ "$n" = 0 ]; then t=not-a-valid-token; else t='${robotToken}'; fi\nprintf '{"apiVersion":"client.authentication.k8s.io/v1beta1","kind":"ExecCredential","status":{"token":"%s","expirationTimestamp":"${later}"}}' "$t"`);
  fs.writeFileSync(path.join(dir, 'revoked.yaml'), execUser(path.join(dir, 'revoked.sh')));
  const renewed = await connectTo('k8stest', { kubeconfig: path.join(dir, 'revoked.yaml'), context: 'chosen' });
  t.ok((((await callModule(k8sInfo, moduleContext(renewed), { kind: 'ConfigMap', namespace: 'mp-test' })).resources) as any[]).length > 0, 'authenticated after the 401');
  t.equal(renewed.pluginRuns(), 2, 'ran again after the 401, then kept the new credential');
  t.equal(fs.readFileSync(counter, 'utf8').trim(), '2', 'the plugin process ran twice');
  await renewed.close();

  // a failing plugin: unreachable, with its stderr
  plugin('failing.sh', `echo "error: SSO session expired; run 'login' again" >&2\nexit 3`);
  fs.writeFileSync(path.join(dir, 'failing.yaml'), execUser(path.join(dir, 'failing.sh'), 'client.authentication.k8s.io/v1beta1', { installHint: 'install it from example.com' }));
  const failing = await connectTo('k8stest', { kubeconfig: path.join(dir, 'failing.yaml'), context: 'chosen' }).catch((e) => e);
  t.ok(failing instanceof UnreachableError, 'the cluster is unreachable');
  t.match(failing.message, /credential plugin .*failing\.sh failed with exit status 3: error: SSO session expired; run 'login' again/);
  fs.writeFileSync(path.join(dir, 'missing.yaml'), execUser('no-such-plugin-binary', 'client.authentication.k8s.io/v1beta1', { installHint: 'install it from example.com' }));
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'missing.yaml'), context: 'chosen' }), /could not be started \(ENOENT\); install it from example\.com/);
  // what client-go refuses is refused before anything runs
  fs.writeFileSync(path.join(dir, 'alpha.yaml'), execUser(path.join(dir, 'plugin.sh'), 'client.authentication.k8s.io/v1alpha1'));
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'alpha.yaml'), context: 'chosen' }), /v1alpha1' is not supported; use client\.authentication\.k8s\.io\/v1 or/);
  fs.writeFileSync(path.join(dir, 'always.yaml'), execUser(path.join(dir, 'plugin.sh'), 'client.authentication.k8s.io/v1', { interactiveMode: 'Always' }));
  await t.rejects(connectTo('k8stest', { kubeconfig: path.join(dir, 'always.yaml'), context: 'chosen' }), /interactiveMode Always needs a terminal/);
  fs.rmSync(dir, { recursive: true, force: true });

  const warned = { warnings: [] as string[], secrets: new Set<string>(), logs: [] as string[] };
  const insecure = await connectTo('k8stest', { url: cluster.api.url, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey, insecure: true }, warned);
  t.match(warned.warnings.join('\n'), /NOT verified/);
  await insecure.close();

  // wrong CA: TLS failure is unreachable
  await t.rejects(
    connectTo('k8stest', { url: cluster.api.url, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey }),
    UnreachableError,
  );
});

t.test('unknown kind fails before any write, listing what the server offers', async (t) => {
  const ctx = moduleContext(conn);
  const before = conn.requestCounts();
  await t.rejects(
    run(ctx, {
      definition: [
        { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'first', namespace: 'mp-test' } },
        { apiVersion: 'telemetry.istio.io/v1alpha1', kind: 'Telemetry', metadata: { name: 'tm', namespace: 'mp-test' } },
      ],
    }),
    /does not serve telemetry\.istio\.io\/v1alpha1 \(kind Telemetry\)[\s\S]*Istio CRDs/,
  );
  await t.rejects(run(ctx, { definition: { apiVersion: 'v1', kind: 'ConfigMapp', metadata: { name: 'x' } } }), /no kind 'ConfigMapp' in v1; it offers: .*ConfigMap/);
  t.equal(delta(before, conn.requestCounts()).persisting, 0);
  t.equal(await conn.getOrUndefined('/api/v1/namespaces/mp-test/configmaps/first'), undefined);
});

t.test('lab: nodes registered, Istio CRDs served, kubeUp idempotent', async (t) => {
  const facts = await conn.gatherFacts();
  t.equal(facts.kubernetes.istio_crds, true);
  t.same(
    facts.kubernetes.nodes.map((n) => ({ name: n.name, ip: n.addresses.find((a) => a.type === 'InternalIP')?.address, cidr: n.pod_cidr })),
    labNodes.map((n) => ({ name: n.name, ip: n.address, cidr: n.podBlock })),
  );
  for (const g of ['networking.istio.io', 'security.istio.io', 'authentication.istio.io', 'config.istio.io', 'rbac.istio.io']) {
    t.ok(facts.kubernetes.api_groups.includes(g), `${g} served`);
  }
  const ctx = moduleContext(conn);
  const vs = {
    apiVersion: 'networking.istio.io/v1alpha3',
    kind: 'VirtualService',
    metadata: { name: 'reviews', namespace: 'mp-test' },
    spec: { hosts: ['reviews'], http: [{ route: [{ destination: { host: 'reviews', subset: 'v2' }, weight: 100 }] }] },
  };
  t.equal((await run(ctx, { definition: vs })).changed, true);
  const again = await counted(() => run(ctx, { definition: vs }));
  t.equal(again.value.changed, false, 'custom resource converges');
  t.equal(again.d.persisting, 0);
  const mp = { apiVersion: 'authentication.istio.io/v1alpha1', kind: 'MeshPolicy', metadata: { name: 'default' }, spec: { peers: [{ mtls: {} }] } };
  t.equal((await run(ctx, { definition: mp, namespace: 'ignored-for-cluster-scope' })).changed, true);

  const t0 = Date.now();
  const spec = { clusters: [{ name: 'k8stest', podCidr: '', serviceCidr: '10.96.0.0/16', controlPlane: true, nodes: labNodes }] };
  const settings = await kubeUp(spec, cluster.stateDir);
  t.ok(Date.now() - t0 < 1000, `re-run of kubeUp on a healthy cluster is quick (${Date.now() - t0} ms)`);
  t.same(settings.k8stest, cluster.api);
  const status = await kubeStatus(cluster.stateDir);
  t.match(status[0], /^k8stest: ready https:\/\/127\.0\.0\.1:\d+ \(etcd pid \d+ \d+ MB, apiserver pid/);
  t.comment(status[0]);
});

t.test('absent deletes and is idempotent', async (t) => {
  const ctx = moduleContext(conn);
  const del = await run(ctx, { state: 'absent', kind: 'ConfigMap', name: 'cm-yaml', namespace: 'mp-test', wait: true });
  t.equal(del.changed, true);
  t.equal(del.method, 'deleted');
  t.equal(await conn.getOrUndefined('/api/v1/namespaces/mp-test/configmaps/cm-yaml'), undefined);
  const { value, d } = await counted(() => run(ctx, { state: 'absent', kind: 'ConfigMap', name: 'cm-yaml', namespace: 'mp-test' }));
  t.equal(value.changed, false);
  t.equal(d.persisting, 0);
});

t.test('prune removes only meshplay-managed objects of the owner', async (t) => {
  const ctx = moduleContext(conn);
  const cm = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'mp-test' }, data: { x: name } });
  await run(ctx, { definition: [cm('keep-me'), cm('stale-1'), cm('stale-2')], owner: 'remote-secrets' });
  await run(ctx, { definition: cm('other-owner'), owner: 'someone-else' });
  // same owner label but not managed by meshplay: must survive
  await conn.request({
    method: 'POST',
    path: '/api/v1/namespaces/mp-test/configmaps',
    body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'hand-made', labels: { 'meshplay.io/owner': 'remote-secrets' } } },
  });
  const res = await run(ctx, { definition: cm('keep-me'), owner: 'remote-secrets', prune: { selector: 'meshplay.io/owner=remote-secrets' } });
  t.equal(res.changed, true);
  t.same((res.pruned as string[]).sort(), ['ConfigMap mp-test/stale-1', 'ConfigMap mp-test/stale-2']);
  const names = ((await conn.request({ method: 'GET', path: '/api/v1/namespaces/mp-test/configmaps', list: true })).items as any[]).map((i) => i.metadata.name);
  t.ok(names.includes('keep-me'));
  t.ok(names.includes('other-owner'));
  t.ok(names.includes('hand-made'));
  t.notOk(names.includes('stale-1'));
  t.notOk(names.includes('stale-2'));

  // prune-only (e.g. a cluster left the inventory): kinds + keep, no definition
  const again = await counted(() => run(ctx, { prune: { selector: 'meshplay.io/owner=remote-secrets', kinds: [{ kind: 'ConfigMap' }], namespace: 'mp-test', keep: ['keep-me'] } }));
  t.equal(again.value.changed, false, 'nothing left to prune');
  t.equal(again.d.persisting, 0);
});

t.test('k8s_info: get, list with selectors, Secret values registered', async (t) => {
  const ctx = moduleContext(conn);
  const one = await callModule(k8sInfo, ctx, { kind: 'Secret', name: 's1', namespace: 'mp-test' });
  t.equal(one.changed, false);
  const s = (one.resources as any[])[0];
  t.equal(Buffer.from(s.data.password, 'base64').toString(), 'another-value-123', 'value usable by later tasks');
  t.ok(ctx.captured.secrets.has('another-value-123'), 'but registered for redaction');
  t.notOk(s.metadata.managedFields);
  const labelled = await callModule(k8sInfo, ctx, { kind: 'ConfigMap', label_selectors: ['meshplay.io/owner=someone-else'] });
  t.same((labelled.resources as any[]).map((r) => r.metadata.name), ['other-owner'], 'across namespaces');
  const byField = await callModule(k8sInfo, ctx, { kind: 'ConfigMap', namespace: 'mp-test', field_selectors: ['metadata.name=keep-me'] });
  t.equal((byField.resources as any[]).length, 1);
  const missing = await callModule(k8sInfo, ctx, { kind: 'ConfigMap', name: 'absent-one', namespace: 'mp-test' });
  t.same(missing.resources, []);
});

t.test('API server stopped: UnreachableError', async (t) => {
  const counts = conn.requestCounts();
  t.ok(counts.byVerb.GET && counts.byVerb.PATCH, 'counts by verb');
  t.comment(`requests over the suite: ${JSON.stringify(counts)}`);
  const rss = fs.readFileSync(`/proc/${cluster.pids.apiserver}/status`, 'utf8').match(/VmRSS:\s+(\d+)/)?.[1];
  t.comment(`kube-apiserver RSS ${Math.round(Number(rss) / 1024)} MB`);
  process.kill(cluster.pids.apiserver, 'SIGTERM');
  await new Promise((r) => setTimeout(r, 1500));
  const ctx = moduleContext(conn);
  await t.rejects(callModule(k8sInfo, ctx, { kind: 'ConfigMap', namespace: 'mp-test' }), UnreachableError);
  await t.rejects(connectTo('k8stest', { kubeconfig: cluster.api.kubeconfig }), UnreachableError);
  t.ok(KubeApiError);
});
