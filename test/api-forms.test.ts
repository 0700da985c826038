// Issue 13: the ways operators reach clusters, outside the playbook matrix (which is in single-control-plane and
// mesh-lab): KUBECONFIG lists merged as the real kubectl merges them, `~`, current-context, forms refused at
// validation with file:line and what to write instead, a failing credential plugin through the CLI (its stderr
// shown, its secrets masked), and `nodes: from_api` against a real API server.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { stringify } from 'yaml';
import { loadKubeconfigs, selectContext } from '../runner/k8s/kubeconfig.js';
import { resolveApi } from '../runner/k8s/resolve.js';
import { validateInventoryShape } from '../runner/inventory/schema.js';
import { loadYamlFile } from '../runner/yaml/source.js';
import { startTestCluster, type TestCluster } from './helpers/kube.js';
import { meshplay, repoRoot } from './helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mp-api-forms-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
const write = (name: string, doc: unknown) => {
  const f = path.join(dir, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, typeof doc === 'string' ? doc : stringify(doc));
  return f;
};
const b64 = (s: string) => Buffer.from(s).toString('base64');

t.test('KUBECONFIG lists merge as the real kubectl merges them', async (t) => {
  // a: defines `shared`, user `u`, contexts, current-context. b: redefines `shared` and `u` (dropped, whole), adds
  // its own cluster/user/context and another current-context (ignored: a set it first). missing: skipped.
  const a = write('merge/a.yaml', {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'ctx-a',
    clusters: [{ name: 'shared', cluster: { server: 'https://a.example:6443', 'tls-server-name': 'api.a', 'certificate-authority-data': b64('CA-A') } }],
    users: [{ name: 'u', user: { token: 'tok-a' } }],
    contexts: [{ name: 'ctx-a', context: { cluster: 'shared', user: 'u' } }, { name: 'both', context: { cluster: 'shared', user: 'ub' } }],
  });
  const b = write('merge/b.yaml', {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'ctx-b',
    clusters: [
      { name: 'shared', cluster: { server: 'https://b.example:6443', 'certificate-authority-data': b64('CA-B') } },
      { name: 'bonly', cluster: { server: 'https://b-only.example:6443' } },
    ],
    users: [{ name: 'u', user: { token: 'tok-b-for-u' } }, { name: 'ub', user: { token: 'tok-ub' } }],
    contexts: [{ name: 'ctx-a', context: { cluster: 'bonly', user: 'ub' } }, { name: 'ctx-b', context: { cluster: 'bonly', user: 'ub' } }],
  });
  const missing = path.join(dir, 'merge', 'missing.yaml');
  const cases: { list: string[]; context?: string }[] = [
    { list: [a, b] },
    { list: [b, a] },
    { list: [a, missing, b], context: 'ctx-b' },
    { list: [a, b], context: 'both' },
    { list: [b, a], context: 'ctx-a' },
  ];
  for (const c of cases) {
    const env = { ...process.env, KUBECONFIG: c.list.join(':') };
    const kubectl = JSON.parse(
      execFileSync('kubectl', ['config', 'view', '--minify', '--raw', '-o', 'json', ...(c.context ? ['--context', c.context] : [])], { env, encoding: 'utf8' }),
    );
    const theirs = {
      server: kubectl.clusters[0].cluster.server,
      tlsServerName: kubectl.clusters[0].cluster['tls-server-name'],
      ca: kubectl.clusters[0].cluster['certificate-authority-data'],
      token: kubectl.users[0].user.token,
    };
    const r = resolveApi(c.context ? { context: c.context } : {}, { KUBECONFIG: c.list.join(':'), HOME: dir });
    const ours = { server: r.server, tlsServerName: r.tlsServerName, ca: r.ca?.toString('base64'), token: r.token };
    t.same(ours, theirs, `KUBECONFIG=${c.list.map((f) => path.basename(f)).join(':')}${c.context ? ` context ${c.context}` : ''}: as kubectl`);
  }
  // the same merge read through loadKubeconfigs: the whole entry of the first file, none of the second's keys
  const merged = loadKubeconfigs([a, b]);
  t.same(merged.users.get('u')!.value, { token: 'tok-a' });
  t.equal(merged.currentContext, 'ctx-a');
  t.throws(() => selectContext(merged, { context: 'nope' }), /context 'nope' not found in .*a\.yaml:.*b\.yaml; it has: ctx-a, both, ctx-b/);
});

t.test('~, current-context and a kubeconfig named in the inventory', async (t) => {
  const home = path.join(dir, 'home');
  write('home/.kube/config', {
    apiVersion: 'v1', kind: 'Config', 'current-context': 'second',
    clusters: [{ name: 'c1', cluster: { server: 'https://one.example:6443' } }, { name: 'c2', cluster: { server: 'https://two.example:6443' } }],
    users: [{ name: 'u', user: { tokenFile: 'tok' } }],
    contexts: [{ name: 'first', context: { cluster: 'c1', user: 'u' } }, { name: 'second', context: { cluster: 'c2', user: 'u' } }],
  });
  write('home/.kube/tok', 'file-token\n');
  const env = { HOME: home };
  t.equal(resolveApi({ kubeconfig: '~/.kube/config' }, env).server, 'https://two.example:6443', 'current-context when none is named');
  t.equal(resolveApi({ kubeconfig: '~/.kube/config', context: 'first' }, env).server, 'https://one.example:6443');
  t.equal(resolveApi({ context: 'first' }, env).server, 'https://one.example:6443', 'no kubeconfig, no KUBECONFIG: ~/.kube/config');
  const r = resolveApi({ context: 'first' }, env);
  t.equal(r.token, 'file-token', 'tokenFile relative to the kubeconfig');
  t.equal(r.credential, 'token_file');
  t.match(r.source, /kubeconfig .*home\/\.kube\/config context first/);
});

t.test('forms that cannot work are refused at validation: exit 4, file:line, what to write instead', async (t) => {
  const kc = write('refuse/kubeconfig', {
    apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'c', cluster: { server: 'https://10.9.9.9:6443' } }],
    users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1', command: 'x', interactiveMode: 'Always' } } }],
    contexts: [{ name: 'east', context: { cluster: 'c', user: 'u' } }],
  });
  write('refuse/ca.crt', 'not checked here');
  const inv = write(
    'refuse/inventory.yml',
    [
      'clusters:',
      '  - name: a', //                                     line 2
      '    istio_control_plane: true',
      '    api: {url: https://10.0.0.1:6443}', //           line 4: no credential
      '  - name: b',
      '    api:',
      '      url: https://10.0.0.2:6443',
      '      token: abc',
      '      token_file: /etc/tok', //                      line 9: both
      '  - name: c',
      '    api:',
      `      kubeconfig: ${kc}`,
      '      context: west', //                             line 13: not in the file
      '  - name: d',
      '    api:',
      `      kubeconfig: ${kc}`,
      '      context: east', //                             line 17 (the kubeconfig, line 16): plugin needs a terminal
      '  - name: e',
      '    api:',
      '      url: https://10.0.0.5:6443',
      '      token: abc',
      `      ca_file: ${path.join(dir, 'refuse/ca.crt')}`, // line 22: CA and insecure together
      '      insecure_skip_tls_verify: true',
      '  - name: f',
      '    api:',
      '      url: https://10.0.0.6:6443',
      '      client_cert_file: /etc/c.crt', //              line 27: no key
      '',
    ].join('\n'),
  );
  const r = await meshplay(['inventory', '-i', inv, '--list']);
  t.equal(r.code, 4, r.stderr);
  const expect: [number, RegExp][] = [
    [4, /api\.url is set but no credentials \(expected api\.token_file \(or api\.token\), or api\.client_cert_file \+ api\.client_key_file; or api\.kubeconfig \+ api\.context/],
    [9, /api\.token and api\.token_file are both set \(expected one of them\)/],
    [13, /context 'west' not found in .*kubeconfig; it has: east \(expected api\.context naming one of the contexts listed\)/],
    [16, /interactiveMode Always needs a terminal/],
    [22, /insecure_skip_tls_verify is set together with a CA \(expected either the CA/],
    [27, /api\.client_cert_file is set without api\.client_key_file \(expected api\.client_key_file/],
  ];
  for (const [line, re] of expect) {
    const hit = r.stderr.split('\n').find((l) => l.includes(`inventory.yml:${line}:`));
    t.match(hit ?? '(no problem at that line)', re, `line ${line}`);
  }
  t.equal(r.stderr.split('\n').filter((l) => l.startsWith('ERROR:')).length, expect.length, 'every problem at once, nothing else');
});

t.test('inventory/example.yml: committed, valid in shape, and shows every form', async (t) => {
  const file = path.join(repoRoot, 'inventory', 'example.yml');
  const src = loadYamlFile(file);
  t.same(src.problems, []);
  t.same(validateInventoryShape(src, src.value), [], 'the schema accepts it');
  const text = fs.readFileSync(file, 'utf8');
  for (const key of ['kubeconfig:', 'context:', 'token_file:', 'ca_file:', 'ca_data:', 'client_cert_file:', 'client_key_file:', 'insecure_skip_tls_verify:', 'nodes: from_api', '- from_api:', 'KUBECONFIG', 'exec']) {
    t.ok(text.includes(key), `shows ${key}`);
  }
  t.match(fs.readFileSync(path.join(repoRoot, '.gitignore'), 'utf8'), /^inventory\/lab\.yml$/m, 'the lab inventory stays ignored');
});

let cluster: TestCluster;
const labNodes = [
  { name: 'forms-n1', address: '10.250.7.2', podBlock: '10.66.1.0/24' },
  { name: 'forms-n2', address: '10.250.7.3', podBlock: '10.66.2.0/24' },
];

t.test('against a real API server', async (t) => {
  cluster = await startTestCluster('forms', '10.96.0.0/16', { labNodes });
  t.teardown(() => cluster.stop());
  const api = { url: cluster.api.url, ca_file: cluster.files.ca, client_cert_file: cluster.files.adminCert, client_key_file: cluster.files.adminKey };
  const inventory = (nodes: unknown, clusterApi: unknown = api) =>
    write(`inv-${Math.random().toString(36).slice(2)}.yml`, {
      clusters: [{ name: 'forms', istio_control_plane: true, api: clusterApi, pod_cidr: '10.66.0.0/16', nodes }],
      ssh: { user: 'root' },
    });

  await t.test('nodes: from_api and mixed with listed nodes; --list-hosts and inventory --list show them', async (t) => {
    const all = await meshplay(['inventory', '-i', inventory('from_api'), '--list']);
    t.equal(all.code, 0, all.stderr);
    const listed = JSON.parse(all.stdout);
    t.same(listed.forms_nodes.hosts, ['forms-n1', 'forms-n2']);
    t.equal(listed._meta.hostvars['forms-n2'].ansible_host, '10.250.7.3', 'InternalIP is the address');
    t.equal(listed._meta.hostvars['forms-n2'].node_labels['meshplay.io/lab'], 'true', 'labels');
    const mixed = inventory([{ name: 'forms-gw', address: '10.250.7.9' }, { from_api: { selector: 'kubernetes.io/hostname=forms-n2' }, vars: { role: 'worker' } }]);
    const hosts = await meshplay(['run', path.join(repoRoot, 'playbooks', 'lab-smoke.yml'), '-i', mixed, '--list-hosts']);
    t.equal(hosts.code, 0, hosts.stderr);
    t.match(hosts.stdout, /forms-gw/);
    t.match(hosts.stdout, /forms-n2/);
    t.notMatch(hosts.stdout, /forms-n1/, 'the selector left forms-n1 out');
    const host = JSON.parse((await meshplay(['inventory', '-i', mixed, '--host', 'forms-n2'])).stdout);
    t.equal(host.role, 'worker', "the from_api item's vars reach its nodes");
  });

  await t.test('a listed node clashing with one read from the API is an error at both', async (t) => {
    const clash = inventory([{ name: 'forms-n1', address: '10.250.7.20' }, { from_api: {} }]);
    const r = await meshplay(['inventory', '-i', clash, '--list']);
    t.equal(r.code, 4);
    t.match(r.stderr, /node name 'forms-n1' \(read from the API by from_api\) clashes with the node 'forms-n1' at .*inv-\w+\.yml:\d+:\d+/);
  });

  await t.test('a failing credential plugin: unreachable, its stderr shown, its secrets masked', async (t) => {
    const plugin = write('plugin-fails.sh', '#!/bin/sh\necho "login failed: session for $SSO_SECRET expired" >&2\nexit 2\n');
    fs.chmodSync(plugin, 0o700);
    const kc = write('exec-fails.kubeconfig', {
      apiVersion: 'v1', kind: 'Config', 'current-context': 'forms',
      clusters: [{ name: 'forms', cluster: { server: cluster.api.url, 'certificate-authority': cluster.files.ca } }],
      users: [{ name: 'u', user: { exec: { apiVersion: 'client.authentication.k8s.io/v1beta1', command: plugin, env: [{ name: 'SSO_SECRET', value: 'sso-s3cr3t-value' }] } } }],
      contexts: [{ name: 'forms', context: { cluster: 'forms', user: 'u' } }],
    });
    const r = await meshplay(['run', path.join(repoRoot, 'playbooks', 'lab-smoke.yml'), '-i', inventory([], { kubeconfig: kc }), '--output', 'plain']);
    t.equal(r.code, 4, 'unreachable');
    const all = r.stdout + r.stderr;
    t.match(all, /credential plugin .*plugin-fails\.sh failed with exit status 2: login failed: session for .* expired/);
    t.notOk(all.includes('sso-s3cr3t-value'), 'the secret the plugin printed is masked');
  });
});
