// One secret policy for every output: values planted under secret-looking names (as people name them, not as the
// lab does) must not appear in any output format at -vvv with --diff, nor in error excerpts; and values that are
// not secret stay readable.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath, meshplay, recapOf, repoRoot } from './helpers/cli.js';
import { SecretPolicy, defaultSecretPolicy } from '../runner/secrets/policy.js';

const pem = (n: number) =>
  `-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC${n}plantedPemBody${n}\n-----END PRIVATE KEY-----`;

/** name (as written in the inventory) → planted value; the value names its own number so a leak says which. */
const planted: Record<string, string> = {
  api_key: 'planted-01-apikey-Q7',
  apiKey: 'planted-02-camelApiKey-Z3',
  db_passwd: 'planted-03-dbpasswd-K9',
  ssh_pass: 'planted-04-sshpass-W2',
  password: 'planted-05-password-R8',
  db_password: 'planted-06-dbpassword-T1',
  access_token: 'planted-07-accesstoken-Y6',
  refresh_token: 'planted-08-refreshtoken-U4',
  client_secret: 'planted-09-clientsecret-I5',
  aws_secret_access_key: 'planted-10-awssecret-O0',
  access_key: 'planted-11-accesskey-P3',
  private_key_passphrase: 'planted-12-passphrase-A1',
  auth_token: 'planted-13-authtoken-S2',
  vault_password: 'planted-14-vaultpass-D3',
  session_cookie: 'planted-15-cookie-F4',
  gitlab_credentials: 'planted-16-credentials-G5',
  encryption_key: 'planted-17-encryptionkey-H6',
  apiToken: 'planted-18-camelApiToken-J7',
  signing_key: 'planted-19-signingkey-L8',
  become_password: 'planted-20-becomepass-X9',
  PASSWD: 'planted-21-upperpasswd-C0',
};
/** Planted deeper: nested mappings, lists, headers, inline keys, a bearer token in free text. */
const nested = {
  kube_user: 'planted-22-clientkeydata-V1',
  list_password: 'planted-23-listpassword-B2',
  authorization: 'Basic cGxhbnRlZC0yNC1iYXNpYy1hdXRo',
  x_api_key: 'planted-25-xapikey-N3',
  bearer: 'planted26BearerTokenM4xyz',
  private_key: pem(27),
  pem_in_text: pem(28),
  extra: 'planted-29-extravar-Q5',
  task_var: 'planted-30-taskvar-W6',
  set_fact: 'planted-31-', // + api_key: a value computed from a secret, stored under a secret name
  webhook: 'planted-32-webhooksecret-E7',
  numeric: '86753091', // written unquoted: a YAML number under a secret name
};
const allPlanted = [...Object.values(planted), ...Object.values(nested).filter((v) => v !== nested.set_fact), `${nested.set_fact}${planted.api_key}`];
/** Values that look like nothing secret, under names that are not secret: they must stay visible. */
const visible = { note: 'visible-Marker-4242', secret_name: 'istio-remote-secret-west', token_file: '/var/run/visible-token-path' };

function quoted(s: string): string {
  return JSON.stringify(s);
}

function fixture(): { dir: string; inventory: string; playbook: string } {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-secrets-'));
  const vars = [
    ...Object.entries(planted).map(([k, v]) => `  ${k}: ${quoted(v)}`),
    `  kubeconfig_doc: {users: [{name: admin, user: {client-key-data: ${quoted(nested.kube_user)}}}]}`,
    `  db_users: [{name: app, password: ${quoted(nested.list_password)}}]`,
    `  http_headers: {Authorization: ${quoted(nested.authorization)}, X-Api-Key: ${quoted(nested.x_api_key)}, Accept: application/json}`,
    `  curl_command: ${quoted(`curl -H 'Authorization: Bearer ${nested.bearer}' https://example.invalid`)}`,
    `  tls_private_key: ${quoted(nested.private_key)}`,
    `  pem_blob: ${quoted(`key follows\n${nested.pem_in_text}\n`)}`,
    `  db_pin_password: ${nested.numeric}`,
    ...Object.entries(visible).map(([k, v]) => `  ${k}: ${quoted(v)}`),
  ];
  const inventory = join(dir, 'inventory.yml');
  writeFileSync(
    inventory,
    [
      'clusters:',
      '  - name: east',
      '    istio_control_plane: true',
      '    vars: {ansible_connection: local}',
      '    nodes: [{name: east-1, address: 127.0.0.11}]',
      'vars:',
      ...vars,
      '',
    ].join('\n'),
  );
  const names = Object.keys(planted);
  const everything = `{{ [${names.join(', ')}, kubeconfig_doc.users[0].user['client-key-data'], db_users[0].password, http_headers.Authorization, http_headers['X-Api-Key'], curl_command, db_pin_password, extra_secret] | join(' ') }}`;
  const playbook = join(dir, 'playbook.yml');
  writeFileSync(
    playbook,
    `- hosts: localhost
  gather_facts: false
  tasks:
    - name: every value in one message
      debug: {msg: ${quoted(everything)}}
${names.map((n) => `    - name: var ${n}\n      debug: {var: ${n}}`).join('\n')}
    - name: nested structures by name
      debug: {var: kubeconfig_doc}
    - name: a list of users
      debug: {var: db_users}
    - name: headers
      debug: {var: http_headers}
    - name: a bearer token in free text
      debug: {var: curl_command}
    - name: inline keys
      debug: {msg: "{{ tls_private_key }} / {{ pem_blob }}"}
    - name: a registered command echoes them
      command: echo ${everything}
      register: echoed
      changed_when: false
    - name: the registered result shown
      debug: {var: echoed}
    - name: a computed value stored under a secret name
      set_fact: {github_token: "${nested.set_fact}{{ api_key }}"}
    - name: the computed value used
      debug: {msg: "token is {{ github_token }}"}
    - name: a task var named like a secret
      debug: {msg: "hook {{ webhook_secret }}"}
      vars: {webhook_secret: ${quoted(nested.webhook)}}
    - name: a file holding them, shown as a diff
      copy: {content: "${everything}\\n{{ tls_private_key }}\\n", dest: "${dir}/{{ conf_name }}.conf"}
    - name: a failure message carrying them
      fail: {msg: "cannot log in with ${everything}"}
      ignore_errors: true
    - name: values that are not secret stay readable
      debug: {msg: "{{ note }} {{ secret_name }} {{ token_file }}"}
`,
  );
  return { dir, inventory, playbook };
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `--output pretty` draws only on a terminal: run it under a pseudo-terminal (util-linux `script`). */
function runOnTerminal(args: string[]): Promise<{ code: number; out: string }> {
  const command = [process.execPath, cliPath, ...args].map(shellQuote).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', command, '/dev/null'], { cwd: repoRoot, env: { ...process.env, NO_COLOR: '1', TERM: 'xterm' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

function leaks(text: string): string[] {
  return allPlanted.filter((v) => text.includes(v) || text.includes(v.split('\n')[1] ?? '\u0000'));
}

t.test('the policy: secret-looking names are secret, names and paths are not', async (t) => {
  for (const name of [...Object.keys(planted), 'client-key-data', 'clientKeyData', 'Authorization', 'X-Api-Key', 'private_key', 'tls_private_key', 'webhook_secret', 'github_token'])
    t.ok(defaultSecretPolicy.isSecretName(name), `${name} is secret`);
  for (const name of ['note', 'secret_name', 'token_file', 'private_key_file', 'ca_data', 'client_key_file', 'secretRef', 'meshplay_secret_key_pattern', 'key', 'ssh_key_file', 'error', 'Accept'])
    t.notOk(defaultSecretPolicy.isSecretName(name), `${name} is not secret`);
  // A variable naming a Secret object says so (*_secret_name, *_secret_ref): shown. One ending in `secret` may be
  // either a Secret's name or a secret value, and stays secret (kubeconfig_secrets names its input *_secret_name).
  for (const name of ['istio_reader_token_secret_name', 'reader_token_secret_ref', 'tokenSecretName'])
    t.notOk(defaultSecretPolicy.isSecretName(name), `${name} names a Secret: not secret`);
  for (const name of ['istio_reader_token_secret', 'oauth_token_secret', 'token_secret', 'shared_secret'])
    t.ok(defaultSecretPolicy.isSecretName(name), `${name} may hold a secret value: secret`);
  const widened = SecretPolicy.fromInventory({ meshplay_secret_key_pattern: '^site_pin$' });
  t.ok(widened.isSecretName('site_pin'), 'the inventory widens the names');
  t.notOk(defaultSecretPolicy.isSecretName('site_pin'));
  t.throws(() => SecretPolicy.fromInventory({ meshplay_secret_key_pattern: '(' }), { name: 'SecretPolicyError' });
});

t.test('planted secrets appear in no output format at -vvv with --diff', async (t) => {
  const { dir, inventory, playbook } = fixture();
  const common = ['run', playbook, '-i', inventory, '-e', `extra_secret=${nested.extra}`, '--diff', '-vvv'];
  for (const output of ['plain', 'json', 'ndjson']) {
    const junit = join(dir, `${output}.xml`);
    // A file per format, so each run shows the diff of a new file.
    const r = await meshplay([...common, '-e', `conf_name=${output}`, '--output', output, '--junit', junit]);
    t.equal(r.code, 0, `${output}: exit 0\n${r.stderr}`);
    t.same(leaks(r.stdout + r.stderr), [], `${output}: no planted value printed`);
    t.same(leaks(readFileSync(junit, 'utf8')), [], `${output}: no planted value in the JUnit report`);
    for (const v of Object.values(visible)) t.ok(r.stdout.includes(v), `${output}: '${v}' is not secret and stays readable`);
    t.match(r.stdout, /secret #\d+/, `${output}: masks are shown`);
    if (output === 'ndjson') {
      const copy = r.events.find((e) => e.type === 'task_result' && e.task === 'a file holding them, shown as a diff');
      t.match(copy?.result?.diff?.[0]?.after, /secret #/, 'the copy task shows a diff, masked');
      t.same(recapOf(r).stats.localhost, { ok: 35, changed: 1, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 1 }, 'every task ran');
    }
  }
  const pretty = await runOnTerminal([...common, '-e', 'conf_name=pretty', '--output', 'pretty']);
  t.equal(pretty.code, 0, 'pretty: exit 0');
  if (pretty.code !== 0) t.comment(pretty.out.slice(-2000));
  t.match(pretty.out, /PLAY RECAP/, 'pretty ran to the recap');
  t.same(leaks(pretty.out), [], 'pretty: no planted value printed');
  t.ok(pretty.out.includes(visible.note), 'pretty: a non-secret value stays readable');
  t.match(pretty.out, /secret #\d+/, 'pretty: masks are shown');
});

t.test('meshplay inventory masks the same values with the same mark, and shows what is not secret', async (t) => {
  const { inventory } = fixture();
  for (const args of [['--list'], ['--host', 'east'], ['--host', 'east-1']]) {
    const r = await meshplay(['inventory', '-i', inventory, ...args]);
    t.equal(r.code, 0, `inventory ${args.join(' ')}: ${r.stderr}`);
    const leaked = leaks(r.stdout + r.stderr).filter((v) => !v.startsWith(nested.set_fact) && v !== nested.extra && v !== nested.webhook);
    t.same(leaked, [], `inventory ${args.join(' ')}: no planted value printed`);
    for (const v of Object.values(visible)) t.ok(r.stdout.includes(v), `inventory ${args.join(' ')}: '${v}' is not secret and stays readable`);
    const vars = JSON.parse(r.stdout);
    const hostvars = args[0] === '--list' ? vars._meta.hostvars.east : vars;
    t.match(hostvars.api_key, /^<secret #\d+>$/, 'the mark a run prints, not a second one');
    t.match(hostvars.db_pin_password, /^<secret #\d+>$/, 'a numeric password is masked too');
    t.equal(hostvars.secret_name, visible.secret_name);
  }
});

t.test('error excerpts never quote the line holding a secret', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-excerpts-'));
  const { playbook, inventory } = fixture();
  // -e @file whose broken line holds the password
  const extra = join(dir, 'extra.yml');
  writeFileSync(extra, `user: app\npassword: planted-40-efile-pass: oops\n`);
  const e1 = await meshplay(['run', playbook, '-i', inventory, '-e', `@${extra}`]);
  t.equal(e1.code, 4, 'a broken -e file is a validation problem');
  t.match(e1.stderr, new RegExp(`${extra}:2:\\d+: YAML syntax error`), 'the error says where');
  t.notMatch(e1.stdout + e1.stderr, 'planted-40', 'and does not quote the line');
  // -e with broken JSON
  const e2 = await meshplay(['run', playbook, '-i', inventory, '-e', '{"api_key": planted-41-json-key}']);
  t.equal(e2.code, 5);
  t.match(e2.stderr, /invalid JSON/);
  t.notMatch(e2.stdout + e2.stderr, 'planted-41', 'the JSON error does not quote the input');
  // a kubeconfig whose broken line holds the token
  const kubeconfig = join(dir, 'kubeconfig');
  writeFileSync(
    kubeconfig,
    'apiVersion: v1\nclusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]\ncontexts: [{name: c, context: {cluster: c, user: u}}]\ncurrent-context: c\nusers:\n- name: u\n  user:\n    token: planted-42-kube-token: oops\n',
  );
  const inv = join(dir, 'inventory.yml');
  writeFileSync(inv, `clusters:\n  - name: east\n    istio_control_plane: true\n    api: {kubeconfig: ${kubeconfig}}\n    nodes: [{name: east-1, address: 127.0.0.11}]\n`);
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, `- hosts: east\n  gather_facts: false\n  tasks:\n    - k8s_info: {kind: Namespace}\n`);
  for (const output of ['plain', 'ndjson']) {
    const r = await meshplay(['run', pb, '-i', inv, '-vvv', '--output', output]);
    t.not(r.code, 0, `${output}: the run fails`);
    t.match(r.stdout + r.stderr, /kubeconfig:8:\d+: invalid YAML/, `${output}: the error says where`);
    t.notMatch(r.stdout + r.stderr, 'planted-42', `${output}: the kubeconfig's token line is not quoted`);
  }
  const status = await meshplay(['status', '-i', inv, '--output', 'json']);
  t.notMatch(status.stdout + status.stderr, 'planted-42', 'status does not quote it either');
});

t.test('status masks registered values, not fields named like secrets', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-status-'));
  const inv = join(dir, 'inventory.yml');
  // Nothing listens on port 1: both API servers are unreachable, so the remote secret cannot be checked.
  writeFileSync(
    inv,
    `clusters:\n  - name: east\n    istio_control_plane: true\n    api: {url: "https://127.0.0.1:1", token: planted-43-status-token}\n    nodes: []\n` +
      `  - name: west\n    api: {url: "https://127.0.0.1:1", token: planted-43-status-token}\n    nodes: []\n`,
  );
  const r = await meshplay(['status', '-i', inv, '--output', 'json', '--no-routes']);
  t.equal(r.code, 1, 'unreachable clusters are not healthy');
  const west = JSON.parse(r.stdout).clusters.find((c: { cluster: string }) => c.cluster === 'west');
  t.match(west.secret.error, /control plane/, `secret.error is readable: ${west.secret.error}`);
  t.notMatch(r.stdout + r.stderr, 'planted-43', 'the token is not printed');
});
