// Ownership (runner/k8s/ownership.ts) against a REAL kube-apiserver + controller-manager: the created mark only on
// what meshplay creates; objects that existed are adopted (their old values recorded) and given back exactly by
// prune and by k8s_uninstall; anything else is never touched. Objects are seeded the way a user would
// (server-side apply as "kubectl", and a plain POST).
import t from 'tap';
import { startTestCluster, connectTo, moduleContext, type TestCluster } from './helpers/kube.js';
import type { KubernetesConnection } from '../runner/connection/kubernetes.js';
import k8s from '../runner/modules/k8s.js';
import { callModule } from '../runner/executor/task.js';
import k8sUninstall from '../runner/modules/k8s_uninstall.js';
import type { Module, ModuleContext, ModuleResult } from '../runner/modules/types.js';
import { mergeRecords, revertPatch } from '../runner/k8s/ownership.js';

let cluster: TestCluster;
let conn: KubernetesConnection;

t.before(async () => {
  cluster = await startTestCluster('owntest', '10.97.0.0/16', { istioCrds: true });
  conn = await connectTo('owntest', { kubeconfig: cluster.api.kubeconfig, context: cluster.api.context });
});
t.teardown(async () => {
  await conn?.close();
  await cluster?.stop();
});

async function run(mod: Module, ctx: ModuleContext, args: Record<string, unknown>): Promise<ModuleResult> {
  return callModule(mod, ctx, args);
}

const serverFields = ['managedFields', 'resourceVersion', 'uid', 'creationTimestamp', 'generation'];
/** An object as the user sees it: everything but server bookkeeping. */
function content(o: any): any {
  const c = structuredClone(o);
  for (const k of serverFields) delete c.metadata?.[k];
  return c;
}

async function get(path: string): Promise<any> {
  return conn.getOrUndefined(path);
}

async function seed(path: string, body: any): Promise<any> {
  // As `kubectl apply --server-side` would.
  return conn.request({ method: 'PATCH', path, query: { fieldManager: 'kubectl', force: 'true' }, body, contentType: 'application/apply-patch+yaml' });
}

t.test('records: the merge patch that gives values back, first value wins', async (t) => {
  const before = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: '1' }, resourceVersion: '1' }, data: { k: 'old', keep: 'y' } };
  const after = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', labels: { a: '1', b: '2' }, resourceVersion: '2' }, data: { k: 'new', keep: 'y', added: 'z' } };
  const r = revertPatch(before, after);
  t.same(r, { metadata: { labels: { b: null } }, data: { k: 'old', added: null } });
  t.same(mergeRecords(r, { data: { k: 'newer', other: null } }), { metadata: { labels: { b: null } }, data: { k: 'old', added: null, other: null } });
});

const cmPath = (ns: string, n: string) => `/api/v1/namespaces/${ns}/configmaps/${n}`;

t.test('create marks; adopt records; prune and uninstall give back exactly; foreign objects untouched', async (t) => {
  const ctx = moduleContext(conn, { vars: { meshplay_owner: 'owntest' } });
  // The user's world before meshplay.
  await seed('/api/v1/namespaces/user-ns', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user-ns', labels: { team: 'a' }, annotations: { note: 'mine' } } });
  await seed(cmPath('user-ns', 'settings'), {
    apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'user-ns', labels: { app: 'shop', 'meshplay.io/component': 'demo' } }, data: { mode: 'PERMISSIVE', other: 'x' },
  });
  await seed(cmPath('user-ns', 'foreign'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'foreign', namespace: 'user-ns', labels: { 'meshplay.io/component': 'demo' } }, data: { a: 'b' } });
  await seed('/api/v1/namespaces/user-ns/secrets/creds', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'user-ns' }, stringData: { password: 'hunter22' } });
  const before = {
    ns: content(await get('/api/v1/namespaces/user-ns')),
    settings: content(await get(cmPath('user-ns', 'settings'))),
    foreign: content(await get(cmPath('user-ns', 'foreign'))),
    creds: content(await get('/api/v1/namespaces/user-ns/secrets/creds')),
  };

  // meshplay: the namespace (exists: nothing to change, so no trace), a new namespace, and two ConfigMaps.
  const defs = (mode: string) => [
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'user-ns' } },
    { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'mesh-ns' } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings', namespace: 'user-ns', labels: { 'meshplay.io/component': 'demo', tier: 'mesh' } }, data: { mode } },
    { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'made', namespace: 'user-ns', labels: { 'meshplay.io/component': 'demo' } }, data: { a: '1' } },
  ];
  const first = await run(k8s, ctx, { definition: defs('STRICT'), force: true });
  t.equal(first.changed, true, String(first.msg));
  const ns = await get('/api/v1/namespaces/user-ns');
  t.same(content(ns), before.ns, 'a Namespace that existed and needed nothing is left exactly as it was (no label)');
  const mesh = await get('/api/v1/namespaces/mesh-ns');
  t.equal(mesh.metadata.labels['meshplay.io/created-by'], 'meshplay', 'created: marked');
  t.equal(mesh.metadata.labels['meshplay.io/owner'], 'owntest');
  const settings = await get(cmPath('user-ns', 'settings'));
  t.notOk(settings.metadata.labels['meshplay.io/created-by'], 'adopted: never marked created');
  t.notOk(settings.metadata.labels['app.kubernetes.io/managed-by']);
  t.equal(settings.metadata.labels['meshplay.io/adopted-by'], 'meshplay');
  t.same(JSON.parse(settings.metadata.annotations['meshplay.io/adopted']), { metadata: { labels: { tier: null } }, data: { mode: 'PERMISSIVE' } });
  t.same(settings.data, { mode: 'STRICT', other: 'x' }, "meshplay's value applied, the user's other key kept");

  const again = await run(k8s, ctx, { definition: defs('STRICT'), force: true });
  t.equal(again.changed, false, 're-run: changed=0');

  // A Secret that existed: meshplay refuses to change its data (the old values could not be given back).
  const refused = await run(k8s, ctx, { definition: { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'creds', namespace: 'user-ns' }, stringData: { token: 'added-by-mesh' } } }).catch((e) => e);
  t.match(String(refused), /Secret user-ns\/creds exists and was not created by meshplay/);
  t.notOk(String(refused).includes('hunter22'), 'the message carries no secret value');

  // A second change to the adopted object keeps the first recorded value (the original).
  await run(k8s, ctx, { definition: defs('DISABLE'), force: true });
  t.same(JSON.parse((await get(cmPath('user-ns', 'settings'))).metadata.annotations['meshplay.io/adopted']).data, { mode: 'PERMISSIVE' });

  // prune by the role's selector: the created one deleted, the adopted one given back, the foreign one untouched.
  const pruned = await run(k8s, ctx, { definition: [defs('STRICT')[1]!], prune: { selector: 'meshplay.io/component=demo', namespace: 'user-ns', kinds: [{ kind: 'ConfigMap' }] } });
  t.same(pruned.pruned, ['ConfigMap user-ns/made']);
  t.same(pruned.released, ['ConfigMap user-ns/settings']);
  t.same(content(await get(cmPath('user-ns', 'settings'))), before.settings, 'adopted ConfigMap exactly as before');
  t.same(content(await get(cmPath('user-ns', 'foreign'))), before.foreign, 'foreign ConfigMap with the same selector label untouched');
  t.notOk(await get(cmPath('user-ns', 'made')), 'created ConfigMap deleted');

  // Adopt again, add a user object inside meshplay's namespace, then uninstall (check first: same plan).
  await run(k8s, ctx, { definition: defs('STRICT'), force: true });
  await seed(cmPath('mesh-ns', 'users-own'), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'users-own', namespace: 'mesh-ns' }, data: { x: 'y' } });
  const kinds = [{ kind: 'ConfigMap' }, { kind: 'Secret' }, { kind: 'Namespace' }];
  const check = await run(k8sUninstall, moduleContext(conn, { check: true }), { kinds });
  t.same(check.delete, ['ConfigMap user-ns/made'], 'check: lists what it would delete');
  t.same(check.give_back, ['ConfigMap user-ns/settings'], 'check: lists what it would give back');
  t.match(check.kept, [/Namespace mesh-ns \(holds what meshplay did not create: ConfigMap mesh-ns\/users-own\)/]);
  t.ok(await get(cmPath('user-ns', 'made')), 'check changed nothing');
  const un = await run(k8sUninstall, ctx, { kinds });
  t.same(un.deleted, check.delete, 'the run deletes exactly what check listed');
  t.same(un.given_back, check.give_back);
  t.ok(await get('/api/v1/namespaces/mesh-ns'), "meshplay's namespace kept: it holds a user's object");
  for (const [name, path] of [['ns', '/api/v1/namespaces/user-ns'], ['settings', cmPath('user-ns', 'settings')], ['foreign', cmPath('user-ns', 'foreign')], ['creds', '/api/v1/namespaces/user-ns/secrets/creds']] as const) {
    t.same(content(await get(path)), (before as any)[name], `${name} exactly as before`);
  }
  const second = await run(k8sUninstall, ctx, { kinds });
  t.equal(second.changed, false, 'uninstall again: changed=0');

  // Once the user's object is gone, the namespace meshplay created goes too.
  await conn.request({ method: 'DELETE', path: cmPath('mesh-ns', 'users-own') });
  const third = await run(k8sUninstall, ctx, { kinds });
  t.same(third.deleted, ['Namespace mesh-ns']);
  t.notOk(await get('/api/v1/namespaces/mesh-ns'));
});
