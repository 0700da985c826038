// The module contract (runner/modules/types.ts): facts are read, then a pure `plan` decides from facts and the
// defaulted arguments. These tests call the pure plans of ip_routes, k8s, copy and template with facts written
// here, no host and no API server: the arguments go through the module's own schema defaults (applyDefaults, as
// the executor does) and templates through the real templater.
import t from 'tap';
import { applyDefaults } from '../runner/modules/args.js';
import ipRoutes, { planIpRoutes } from '../runner/modules/ip_routes.js';
import k8s, { planK8s, type K8sFacts } from '../runner/modules/k8s.js';
import copy from '../runner/modules/copy.js';
import template from '../runner/modules/template.js';
import { fileDigest } from '../runner/modules/files.js';
import { parseRoutes } from '../runner/routes/parse.js';
import { managedDigest } from '../runner/routes/node.js';
import { classify } from '../runner/routes/parse.js';
import { markCreated } from '../runner/k8s/ownership.js';
import { createTemplater } from '../runner/template/index.js';
import type { Host, Inventory } from '../runner/inventory/types.js';
import type { Module, PlanContext } from '../runner/modules/types.js';
import { RunScope } from '../runner/modules/run-scope.js';
import type { ApiResourceInfo } from '../runner/connection/kubernetes.js';

const node: Host = { name: 'east-1', kind: 'node', connection: 'ssh', cluster: 'east', address: '172.30.1.1', vars: {} };
const cluster: Host = { name: 'east', kind: 'cluster', connection: 'kubernetes', cluster: 'east', vars: {} };
const inventory: Inventory = {
  hosts: new Map([[node.name, node], [cluster.name, cluster]]),
  groups: new Map([['all', [node.name, cluster.name]], ['nodes', [node.name]]]),
  clusters: [],
  vars: {},
  topology: 'single-control-plane',
  sources: [],
} as unknown as Inventory;

function planContext(host: Host, vars: Record<string, unknown> = {}, check = false): PlanContext & { warnings: string[] } {
  const templater = createTemplater();
  const warnings: string[] = [];
  return {
    host,
    inventory,
    vars,
    check,
    diff: true,
    warnings,
    warn: (m) => warnings.push(m),
    log: () => {},
    secret: () => {},
    render: (v, extra) => templater.render(v, { ...vars, ...(extra ?? {}) }, { searchPaths: [] }),
    condition: (e, extra) => templater.condition(e, { ...vars, ...(extra ?? {}) }, { searchPaths: [] }),
    run: new RunScope(),
  };
}

/** The arguments as the executor hands them to a module: defaulted from its schema. */
const argsOf = <M extends Module>(mod: M, given: Record<string, unknown>) => applyDefaults<any>(mod.schema, given);

// A node's table as `ip -j -d route show table all` prints it: a kernel route, a block BIRD owns, one meshplay route.
const table = (managed: string) =>
  parseRoutes(
    '[{"type":"unicast","dst":"10.9.0.0/24","dev":"v0","protocol":"kernel","scope":"link","flags":[]},' +
      '{"type":"blackhole","dst":"10.244.1.0/26","protocol":"bird","scope":"global","flags":[]}' +
      managed +
      ']',
  );
const viaMeshplay = (dst: string, gw: string) => `,{"type":"unicast","dst":"${dst}","gateway":"${gw}","dev":"v0","protocol":"201","scope":"global","flags":[]}`;

t.test('ip_routes: the plan is a function of the table read and the arguments', async (t) => {
  const ctx = planContext(node);
  const want = argsOf(ipRoutes, { routes: [{ dest: '10.2.0.0/24', via: '10.9.0.2' }], prune: true });
  t.equal(want.protocol, 201, 'defaults come from the schema');
  t.equal(want.state, 'present');

  const empty = { routes: table('') };
  const add = planIpRoutes(empty, want, ctx);
  t.equal(add.changed, true);
  t.same(add.data.lines, ['route add 10.2.0.0/24 via 10.9.0.2 proto 201'], 'one line of ip -batch');
  t.match(add.msg, /1 to add, 0 to replace, 0 to delete/);
  t.same(add.fingerprints, [{ kind: 'routes', host: 'east-1', protocol: 201, digest: managedDigest([]) }], 'read from an empty managed table');
  t.same(planIpRoutes(empty, want, ctx), add, 'the same facts give the same plan');

  const converged = { routes: table(viaMeshplay('10.2.0.0/24', '10.9.0.2')) };
  const none = planIpRoutes(converged, want, ctx);
  t.equal(none.changed, false, 'converged: nothing to do');
  t.same(none.data.lines, []);
  t.not(none.fingerprints![0], add.fingerprints![0], 'a managed route more is another fingerprint');
  t.equal((none.fingerprints![0] as { digest: string }).digest, managedDigest(classify(converged.routes, 201).managed));

  const stray = { routes: table(viaMeshplay('10.2.0.0/24', '10.9.0.2') + viaMeshplay('10.3.0.0/24', '10.9.0.3')) };
  const pruned = planIpRoutes(stray, want, ctx);
  t.same(pruned.data.lines, ['route del 10.3.0.0/24 via 10.9.0.3 proto 201'], 'prune deletes the managed route no longer wanted');
  const kept = planIpRoutes(stray, { ...want, prune: false }, ctx);
  t.equal(kept.changed, false, 'without prune it stays');
});

t.test('ip_routes: overlapping pod blocks of two clusters are refused before any plan', async (t) => {
  const ctx = planContext(node);
  const peers = [
    { node: 'east-1', cluster: 'east', via: '10.9.0.1', owned_blocks: ['10.244.1.0/26'] },
    { node: 'west-1', cluster: 'west', via: '10.9.0.2', owned_blocks: ['10.244.1.0/27'] },
  ];
  t.throws(() => planIpRoutes({}, argsOf(ipRoutes, { peers, only_check: true }), ctx), /pod blocks of different clusters overlap/);
  t.throws(() => planIpRoutes({}, argsOf(ipRoutes, { routes: [] }), ctx), /no routing table was read/, 'a plan needs its facts');
});

const configMaps: ApiResourceInfo = { group: '', version: 'v1', apiVersion: 'v1', kind: 'ConfigMap', name: 'configmaps', namespaced: true, verbs: ['get', 'list', 'patch'] };

t.test('k8s: create, delete and prune are decided from the live objects and dry-runs read', async (t) => {
  const ctx = planContext(cluster);
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'demo', namespace: 'ns1' }, data: { a: '1' } };
  const args = argsOf(k8s, { definition: object });
  t.equal(args.server_side_apply.field_manager, 'meshplay', 'nested default');
  const body = markCreated(object, undefined);
  const preview = { ...body, metadata: { ...body.metadata, resourceVersion: '1', uid: 'u1' } };

  const missingDryRun: K8sFacts = { objects: [{ resource: configMaps, object, dryRuns: {} }], pruneFound: [] };
  t.throws(() => planK8s(missingDryRun, args, ctx), /no dry-run was read/, 'the plan never guesses what the server would say');

  const absent: K8sFacts = { objects: [{ resource: configMaps, object, dryRuns: { [JSON.stringify(body)]: preview } }], pruneFound: [] };
  const create = planK8s(absent, args, ctx);
  t.equal(create.changed, true);
  t.equal(create.msg, 'create ConfigMap ns1/demo');
  t.equal(create.data.items[0]!.action, 'create');
  t.same(create.data.items[0]!.desired, body, 'sends the body carrying the created mark');
  t.same(create.fingerprints, [{ kind: 'k8s', host: '', apiVersion: 'v1', resource: 'ConfigMap', namespace: 'ns1', name: 'demo', resourceVersion: null, digest: null }], 'read as absent');

  const live = { ...preview, metadata: { ...preview.metadata, resourceVersion: '42' } };
  const gone = planK8s({ objects: [{ resource: configMaps, object, live, dryRuns: {} }], pruneFound: [] }, argsOf(k8s, { definition: object, state: 'absent' }), ctx);
  t.equal(gone.changed, true);
  t.equal(gone.data.items[0]!.action, 'delete');
  t.equal((gone.fingerprints![0] as { resourceVersion: string }).resourceVersion, '42');

  // prune: of what the selector found, the object meshplay created and this task no longer defines is deleted;
  // one it did not create is left alone.
  const old = markCreated({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'ns1', resourceVersion: '7' } });
  const foreign = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'theirs', namespace: 'ns1', labels: { app: 'x' } } };
  const pruneArgs = argsOf(k8s, { definition: object, prune: { selector: 'app=x' } });
  const withPrune = planK8s({ ...absent, pruneFound: [{ resource: configMaps, objects: [old, foreign] }] }, pruneArgs, ctx);
  t.same(withPrune.data.prune.map((p) => [p.action, p.object.metadata?.name]), [['delete', 'old']]);
  t.match(withPrune.msg, /prune: delete ConfigMap ns1\/old/);
  t.equal(withPrune.fingerprints!.length, 2, 'the pruned object is a fingerprint too');
});

t.test('copy and template: content and mode against the file read, rendered by the real templater', async (t) => {
  const ctx = planContext(node, { port: 8080, name: 'east' });
  const current = { content: 'port 8080\n', mode: '644' };

  const tpl = argsOf(template, { src: 'x.j2', dest: '/etc/x.conf', mode: '0644' });
  const same = template.plan({ current, source: 'port {{ port }}\n' }, tpl, ctx);
  t.equal(same.changed, false, 'rendered text and mode as on the host');
  t.same(same.fingerprints, [{ kind: 'file', host: 'east-1', path: '/etc/x.conf', digest: fileDigest(current) }]);
  const edited = template.plan({ current, source: 'port {{ port + 1 }} # {{ name | upper }}\n' }, tpl, ctx);
  t.equal(edited.changed, true);
  t.equal(edited.data.content, 'port 8081 # EAST\n');
  t.same(edited.diff, [{ before: 'port 8080\n', after: 'port 8081 # EAST\n', beforeHeader: '/etc/x.conf', afterHeader: '/etc/x.conf' }]);

  const chmod = copy.plan({ current }, argsOf(copy, { content: 'port 8080\n', dest: '/etc/x.conf', mode: '0600' }), ctx);
  t.equal(chmod.changed, true, 'mode only');
  t.equal(chmod.data.contentChanged, false);
  t.equal(chmod.diff, undefined, 'no content diff for a mode change');
  const fresh = copy.plan({}, argsOf(copy, { content: { a: 1 }, dest: '/etc/y.json' }), ctx);
  t.equal(fresh.data.content, '{"a":1}', 'structured content is written as JSON');
  t.equal((fresh.fingerprints![0] as { digest: string | null }).digest, null, 'read as absent');
});
