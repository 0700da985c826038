// A registered variable is a module's result named by the playbook author. Its name does not make every string in
// it secret — masking the host name, an object's name or the apply method (what happened once: the recap showed
// `<secret #44>` for a cluster after `register: kubeconfig_secrets_token`). What is secret in it is found by the
// names inside it, and, under a secret-looking register name, the command output the name describes.
import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { meshplay, recapOf, repoRoot } from './helpers/cli.js';

t.test('registered results: metadata stays readable, secrets inside stay masked', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-secrets-registered-'));
  const inventory = join(dir, 'inventory.yml');
  const playbook = join(dir, 'site.yml');
  writeFileSync(inventory, stringify({ clusters: [{ name: 'alpha', istio_control_plane: true, api: { url: 'https://127.0.0.1:1', token: 'never-contacted-1234' }, nodes: [] }] }));
  writeFileSync(
    playbook,
    stringify([
      {
        name: 'register',
        hosts: 'localhost',
        gather_facts: false,
        tasks: [
          { name: 'a result naming the cluster', set_fact: { reader_token: { cluster: 'alpha', method: 'apply', token: 'inner-token-value-77' } } },
          { name: 'fetch a token', command: 'echo printed-token-value-88', register: 'sa_token' },
          { name: 'an ordinary command', command: 'echo alpha apply', register: 'reader_token_result' },
        ],
      },
      {
        name: 'show',
        hosts: 'localhost',
        gather_facts: false,
        tasks: [{ name: 'show', debug: { msg: 'cluster alpha by apply; {{ reader_token_result.stdout }}; {{ sa_token.stdout }}; {{ reader_token.token }}' } }],
      },
    ]),
  );
  const r = await meshplay(['run', playbook, '-i', inventory, '--output', 'ndjson']);
  t.equal(r.code, 0, r.stderr);
  const msg = r.events.find((e) => e.type === 'task_result' && e.task === 'show')?.result?.msg as string;
  t.match(msg, /^cluster alpha by apply; /, 'the cluster and the method stay readable');
  // (The command's own result shows its output, as in Ansible: `no_log: true` hides that one.)
  t.notOk(msg.includes('printed-token-value-88'), 'later, the output of a command registered as sa_token is masked');
  t.notOk(r.stdout.includes('inner-token-value-77'), 'a token inside a secret-named variable is masked');
  t.match(msg, /secret #\d+>; <secret #\d+>$/, 'both shown as masks');
  t.ok('localhost' in recapOf(r).stats, 'the recap names the host');
});

t.test("the reader token Secret's name shows, its token does not (kubeconfig_secrets' own defaults)", async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-secrets-registered-'));
  const inventory = join(dir, 'inventory.yml');
  const playbook = join(dir, 'site.yml');
  const token = 'planted-reader-token-value-51';
  writeFileSync(inventory, stringify({ clusters: [{ name: 'alpha', istio_control_plane: true, api: { url: 'https://127.0.0.1:1', token: 'never-contacted-1234' }, nodes: [] }] }));
  // The role's defaults name the Secret (istio_reader_token_secret_name); the Secret as the token controller fills
  // it is what the role registers and hands to istio_remote_secret.
  writeFileSync(
    playbook,
    stringify([
      {
        name: 'reader token',
        hosts: 'localhost',
        gather_facts: false,
        vars_files: [join(repoRoot, 'roles', 'kubeconfig_secrets', 'defaults', 'main.yml')],
        tasks: [
          {
            name: 'the token Secret as read',
            set_fact: {
              reader: {
                apiVersion: 'v1',
                kind: 'Secret',
                type: 'kubernetes.io/service-account-token',
                metadata: { name: '{{ istio_reader_token_secret_name }}', namespace: '{{ istio_namespace }}' },
                data: { token: Buffer.from(token).toString('base64') },
              },
            },
          },
          { name: 'show', debug: { msg: 'Secret {{ istio_namespace }}/{{ istio_reader_token_secret_name }} holds {{ reader.data.token | b64decode }}' } },
          { name: 'the object', debug: { var: 'reader' } },
        ],
      },
    ]),
  );
  for (const output of ['plain', 'ndjson']) {
    const r = await meshplay(['run', playbook, '-i', inventory, '--output', output, '-vvv']);
    t.equal(r.code, 0, r.stderr);
    const all = r.stdout + r.stderr;
    t.match(all, /Secret istio-system\/istio-reader-service-account-token holds <secret #\d+>/, `${output}: the Secret's name in clear, its token masked`);
    t.match(all, /"name":\s*"istio-reader-service-account-token"/, `${output}: the object's name in clear`);
    for (const form of [token, Buffer.from(token).toString('base64')]) t.notOk(all.includes(form), `${output}: the token does not leak (${form.slice(0, 12)}...)`);
  }
  // The former variable name reads as a secret value (as client_secret does): set, it is still used, and masked.
  const former = await meshplay(['run', playbook, '-i', inventory, '--output', 'plain', '-e', 'istio_reader_token_secret=custom-reader-token']);
  t.equal(former.code, 0, former.stderr);
  t.match(former.stdout, /Secret istio-system\/<secret #\d+> holds <secret #\d+>/, 'istio_reader_token_secret, when set, names the Secret and is masked');
  t.notOk(former.stdout.includes('custom-reader-token'));
});
