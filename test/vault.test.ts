// Ansible Vault, with the real ansible-vault and ansible-playbook as the oracle: meshplay opens what they wrote,
// they open what meshplay wrote, a playbook with vaulted variables gives the same result under both, and no
// decrypted value reaches any output.
import t from 'tap';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliPath } from './helpers/cli.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], opts: { cwd: string; input?: string; env?: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, {
      cwd: opts.cwd,
      env: { ...process.env, NO_COLOR: '1', ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_HOME: join(opts.cwd, '.ansible'), ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

const SECRETS = {
  db: 'db-password-from-group-vars-1111',
  file: 'vars-file-secret-2222',
  token: 'inline-api-token-3333',
  extra: 'extra-vars-secret-4444',
};

/** A directory with password sources: two files, a script and a client script (which answers per label). */
function setup(): { dir: string; mp: (args: string[], input?: string) => Promise<Run>; av: (args: string[], input?: string) => Promise<Run>; ap: (args: string[]) => Promise<Run> } {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-vault-'));
  writeFileSync(join(dir, 'pw-alpha'), 'alpha-password\n');
  writeFileSync(join(dir, 'pw-bravo'), '  bravo-password  \n');
  writeFileSync(join(dir, 'pw-script.sh'), '#!/bin/sh\necho charlie-password\n');
  chmodSync(join(dir, 'pw-script.sh'), 0o755);
  // A client script is asked for a label: `--vault-id LABEL`; exit 2 means it has no password for it.
  writeFileSync(join(dir, 'keyring-client.sh'), '#!/bin/sh\n[ "$1" = --vault-id ] || exit 3\ncase "$2" in\n  ops) echo delta-password ;;\n  *) echo "no secret for $2" >&2; exit 2 ;;\nesac\n');
  chmodSync(join(dir, 'keyring-client.sh'), 0o755);
  return {
    dir,
    mp: (args, input) => run(process.execPath, [cliPath, ...args], { cwd: dir, input }),
    av: (args, input) => run('ansible-vault', args, { cwd: dir, input }),
    ap: (args) => run('ansible-playbook', args, { cwd: dir }),
  };
}

t.test('meshplay opens what ansible-vault encrypt wrote: 1.1, 1.2 with labels, scripts, several vault ids', async (t) => {
  const { dir, mp, av } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = 'db_password: s3cr3t-value-123\nlist: [1, 2]\n';
  const cases: { file: string; encrypt: string[]; open: string[][]; header: string }[] = [
    { file: 'v11.yml', encrypt: ['--vault-password-file', 'pw-alpha'], header: '$ANSIBLE_VAULT;1.1;AES256', open: [['--vault-password-file', 'pw-alpha'], ['--vault-id', 'dev@pw-bravo', '--vault-id', 'pw-alpha']] },
    { file: 'v12.yml', encrypt: ['--vault-id', 'dev@pw-bravo'], header: '$ANSIBLE_VAULT;1.2;AES256;dev', open: [['--vault-id', 'prod@pw-alpha', '--vault-id', 'dev@pw-bravo'], ['--vault-password-file', 'pw-bravo']] },
    { file: 'vscript.yml', encrypt: ['--vault-id', 'prod@pw-script.sh'], header: '$ANSIBLE_VAULT;1.2;AES256;prod', open: [['--vault-id', 'prod@pw-script.sh'], ['--vault-password-file', 'pw-script.sh']] },
    { file: 'vclient.yml', encrypt: ['--vault-id', 'ops@keyring-client.sh'], header: '$ANSIBLE_VAULT;1.2;AES256;ops', open: [['--vault-id', 'ops@keyring-client.sh']] },
    {
      file: 'vmany.yml',
      encrypt: ['--vault-id', 'dev@pw-bravo', '--vault-id', 'prod@pw-alpha', '--encrypt-vault-id', 'prod'],
      header: '$ANSIBLE_VAULT;1.2;AES256;prod',
      open: [['--vault-id', 'dev@pw-bravo', '--vault-id', 'prod@pw-alpha']],
    },
  ];
  let oracle: Run | undefined;
  for (const c of cases) {
    writeFileSync(join(dir, c.file), plain);
    const enc = await av(['encrypt', ...c.encrypt, c.file]);
    t.equal(enc.code, 0, `ansible-vault encrypt ${c.encrypt.join(' ')}: ${enc.stderr}`);
    t.equal(readFileSync(join(dir, c.file), 'utf8').split('\n')[0], c.header, `${c.file}: header as ansible-vault wrote it`);
    // ansible-vault view of the first file is the oracle for all (same plaintext; ansible-vault is slow to start)
    oracle ??= await av(['view', ...c.open[0], c.file]);
    t.equal(oracle.code, 0, `oracle: ansible-vault view ${c.open[0].join(' ')}`);
    for (const open of c.open) {
      const view = await mp(['vault', 'view', ...open, c.file]);
      t.same({ code: view.code, stdout: view.stdout }, { code: oracle.code, stdout: oracle.stdout }, `meshplay vault view ${open.join(' ')} ${c.file} prints what ansible-vault prints (${view.stderr})`);
      const out = await mp(['vault', 'decrypt', ...open, '--output', '-', c.file]);
      t.equal(out.stdout, plain, `meshplay vault decrypt --output - ${c.file}`);
    }
  }
  // encrypt_string with several ids, labelled 1.2 values, read from a vars file by `meshplay inventory`
  const es = await av(['encrypt_string', '--vault-id', 'dev@pw-bravo', '--vault-id', 'prod@pw-alpha', '--encrypt-vault-id', 'dev', '--name', 'inline_token', SECRETS.token]);
  t.equal(es.code, 0, 'ansible-vault encrypt_string');
  t.match(es.stdout, /^inline_token: !vault \|\n {10}\$ANSIBLE_VAULT;1\.2;AES256;dev\n/);
  mkdirSync(join(dir, 'inv', 'group_vars'), { recursive: true });
  writeFileSync(join(dir, 'inv', 'inventory.yml'), 'clusters:\n  - {name: east, istio_control_plane: true, api: {url: "https://127.0.0.1:6443", token: never-contacted}, pod_cidr: 10.1.0.0/16, nodes: []}\n');
  writeFileSync(join(dir, 'inv', 'group_vars', 'all.yml'), `${es.stdout}\nplain_value: visible\n`);
  const host = await mp(['inventory', '-i', 'inv/inventory.yml', '--host', 'east', '--vault-id', 'prod@pw-alpha', '--vault-id', 'dev@pw-bravo']);
  t.equal(host.code, 0, `meshplay inventory reads the !vault value: ${host.stderr}`);
  const vars = JSON.parse(host.stdout);
  t.equal(vars.plain_value, 'visible');
  t.match(vars.inline_token, /^<secret #\d+>$/, 'the decrypted value is shown masked');
  t.notOk(host.stdout.includes(SECRETS.token) || host.stdout.includes('$ANSIBLE_VAULT'), 'neither the value nor the vault text is shown');
});

t.test('ansible-vault and ansible-playbook open what meshplay wrote', async (t) => {
  const { dir, mp, av, ap } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const plain = 'secret_value: written-by-meshplay-5555\n';
  writeFileSync(join(dir, 'a.yml'), plain);
  const enc11 = await mp(['vault', 'encrypt', '--vault-password-file', 'pw-alpha', 'a.yml']);
  t.equal(enc11.code, 0, `meshplay vault encrypt: ${enc11.stderr}`);
  const a = readFileSync(join(dir, 'a.yml'), 'utf8');
  t.match(a, /^\$ANSIBLE_VAULT;1\.1;AES256\n([0-9a-f]{80}\n)+[0-9a-f]{1,80}\n$/, '1.1 envelope, lines of 80');
  t.equal(statSync(join(dir, 'a.yml')).mode & 0o777, 0o600, 'the encrypted file is readable by its owner only, as ansible-vault leaves it');
  const view11 = await av(['view', '--vault-password-file', 'pw-alpha', 'a.yml']);
  t.same([view11.code, view11.stdout], [0, plain], 'ansible-vault view reads meshplay 1.1');

  // stdin in, a labelled 1.2 file out
  const enc12 = await mp(['vault', 'encrypt', '--vault-id', 'qa@pw-bravo', '--output', 'b.yml'], plain);
  t.equal(enc12.code, 0, `meshplay vault encrypt from stdin: ${enc12.stderr}`);
  t.match(readFileSync(join(dir, 'b.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;qa\n/);
  const dec12 = await av(['decrypt', '--vault-id', 'qa@pw-bravo', '--output', '-', 'b.yml']);
  t.same([dec12.code, dec12.stdout], [0, plain], 'ansible-vault decrypt reads meshplay 1.2');

  // rekey: the old password no longer opens it, the new one does
  const rekey = await mp(['vault', 'rekey', '--vault-id', 'qa@pw-bravo', '--new-vault-id', 'prod@pw-script.sh', 'b.yml']);
  t.equal(rekey.code, 0, `meshplay vault rekey: ${rekey.stderr}`);
  t.match(rekey.stderr, /Rekey successful/);
  t.match(readFileSync(join(dir, 'b.yml'), 'utf8'), /^\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
  t.equal((await av(['view', '--vault-id', 'qa@pw-bravo', 'b.yml'])).code, 1, 'ansible-vault: the old password no longer opens it');
  t.equal((await av(['view', '--vault-id', 'prod@pw-script.sh', 'b.yml'])).stdout, plain, 'ansible-vault: the new one does');

  // decrypt in place, then encrypt_string with several ids, used by a real ansible-playbook run
  const dec = await mp(['vault', 'decrypt', '--vault-password-file', 'pw-alpha', 'a.yml']);
  t.equal(dec.code, 0);
  t.equal(readFileSync(join(dir, 'a.yml'), 'utf8'), plain, 'meshplay vault decrypt in place');
  const many = await mp(['vault', 'encrypt_string', '--vault-id', 'dev@pw-bravo', '--vault-id', 'prod@pw-alpha', '--encrypt-vault-id', 'prod', '-n', 'one', SECRETS.token, '-n', 'two', SECRETS.extra]);
  t.equal(many.code, 0, `meshplay vault encrypt_string: ${many.stderr}`);
  t.match(many.stderr, /# The encrypted version of variable \("one", the string #1 from the command line args\)\./, 'the delimiters ansible-vault writes for several strings');
  t.match(many.stdout, /^one: !vault \|\n {10}\$ANSIBLE_VAULT;1\.2;AES256;prod\n/);
  const stdinString = await mp(['vault', 'encrypt_string', '--vault-password-file', 'pw-alpha', '--stdin-name', 'three'], SECRETS.file);
  t.equal(stdinString.code, 0, `encrypt_string from stdin: ${stdinString.stderr}`);
  const indent = (s: string) => s.split('\n').map((l) => `    ${l}`).join('\n');
  writeFileSync(
    join(dir, 'pb.yml'),
    `- hosts: localhost\n  connection: local\n  gather_facts: false\n  vars:\n${indent(many.stdout)}\n${indent(stdinString.stdout)}\n  tasks:\n    - copy: {content: "{{ one }}|{{ two }}|{{ three }}", dest: "{{ playbook_dir }}/out.txt"}\n`,
  );
  const played = await ap(['-i', 'localhost,', 'pb.yml', '--vault-id', 'dev@pw-bravo', '--vault-password-file', 'pw-alpha']);
  t.equal(played.code, 0, `ansible-playbook uses meshplay's encrypt_string output: ${played.stdout}${played.stderr}`);
  t.equal(readFileSync(join(dir, 'out.txt'), 'utf8'), `${SECRETS.token}|${SECRETS.extra}|${SECRETS.file}`);
});

/** group_vars (whole file), vars_files (whole file, labelled), an inline !vault and `-e @file`, in one playbook. */
function vaultedPlaybook(dir: string): { enc: (args: string[]) => Promise<void> } {
  writeFileSync(join(dir, 'inventory.yml'), 'clusters:\n  - {name: east, istio_control_plane: true, api: {url: "https://127.0.0.1:6443", token: never-contacted}, pod_cidr: 10.1.0.0/16, nodes: []}\n');
  writeFileSync(join(dir, 'ansible-hosts.yml'), 'all:\n  hosts:\n    localhost: {ansible_connection: local}\n');
  mkdirSync(join(dir, 'group_vars', 'all'), { recursive: true });
  mkdirSync(join(dir, 'vars'), { recursive: true });
  writeFileSync(join(dir, 'group_vars', 'all', 'vault.yml'), `vault_db_password: ${SECRETS.db}\n`);
  writeFileSync(join(dir, 'vars', 'secret.yml'), `file_secret: ${SECRETS.file}\n`);
  writeFileSync(join(dir, 'extra.yml'), `extra_secret: ${SECRETS.extra}\n`);
  return {
    enc: async (args) => {
      const r = await run('ansible-vault', ['encrypt', ...args], { cwd: dir });
      if (r.code !== 0) throw new Error(`ansible-vault encrypt ${args.join(' ')}: ${r.stderr}`);
    },
  };
}

async function writePlaybook(dir: string, extraTasks = ''): Promise<void> {
  const es = await run('ansible-vault', ['encrypt_string', '--vault-id', 'dev@pw-bravo', '--name', 'api_token', SECRETS.token], { cwd: dir });
  const inline = es.stdout.split('\n').map((l) => `    ${l}`).join('\n');
  writeFileSync(
    join(dir, 'site.yml'),
    `- hosts: localhost
  gather_facts: false
  vars_files: [vars/secret.yml]
  vars:
${inline}
  tasks:
    - name: write what the vaults hold
      copy:
        content: "{{ vault_db_password }}|{{ file_secret }}|{{ api_token }}|{{ extra_secret }}"
        dest: "{{ outdir }}/result.txt"
${extraTasks}`,
  );
}

const ALL_PASSWORDS = ['--vault-password-file', 'pw-alpha', '--vault-id', 'dev@pw-bravo', '--vault-id', 'prod@pw-script.sh'];

t.test('a playbook with vaulted variables gives the same result under meshplay and ansible-playbook', async (t) => {
  const { dir, mp, ap } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { enc } = vaultedPlaybook(dir);
  await enc(['--vault-password-file', 'pw-alpha', 'group_vars/all/vault.yml']);
  await enc(['--vault-id', 'prod@pw-script.sh', 'vars/secret.yml']);
  await enc(['--vault-password-file', 'pw-alpha', 'extra.yml']);
  await writePlaybook(dir);
  mkdirSync(join(dir, 'out-ansible'));
  mkdirSync(join(dir, 'out-meshplay'));
  const oracle = await ap(['-i', 'ansible-hosts.yml', 'site.yml', ...ALL_PASSWORDS, '-e', '@extra.yml', '-e', `outdir=${join(dir, 'out-ansible')}`]);
  t.equal(oracle.code, 0, `ansible-playbook: ${oracle.stdout}${oracle.stderr}`);
  const mine = await mp(['run', 'site.yml', '-i', 'inventory.yml', ...ALL_PASSWORDS, '-e', '@extra.yml', '-e', `outdir=${join(dir, 'out-meshplay')}`, '--output', 'plain']);
  t.equal(mine.code, 0, `meshplay: ${mine.stdout}${mine.stderr}`);
  const expected = `${SECRETS.db}|${SECRETS.file}|${SECRETS.token}|${SECRETS.extra}`;
  t.equal(readFileSync(join(dir, 'out-ansible', 'result.txt'), 'utf8'), expected, 'ansible-playbook wrote the decrypted values');
  t.equal(readFileSync(join(dir, 'out-meshplay', 'result.txt'), 'utf8'), expected, 'meshplay wrote the same');
  for (const s of Object.values(SECRETS)) t.notOk(`${mine.stdout}${mine.stderr}`.includes(s), `meshplay's output does not show ${s.slice(0, 12)}...`);
});

t.test('no decrypted value reaches any output format', async (t) => {
  const { dir, mp } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { enc } = vaultedPlaybook(dir);
  await enc(['--vault-password-file', 'pw-alpha', 'group_vars/all/vault.yml']);
  await enc(['--vault-id', 'prod@pw-script.sh', 'vars/secret.yml']);
  await enc(['--vault-password-file', 'pw-alpha', 'extra.yml']);
  await writePlaybook(
    dir,
    `    - debug: {msg: "token is {{ api_token }}, db is {{ vault_db_password }}"}
    - debug: {var: file_secret}
    - set_fact: {combined: "{{ extra_secret }}-and-more"}
    - debug: {var: combined}
    - fail: {msg: "failing with {{ api_token }} inside"}
`,
  );
  const runs: [string, string[]][] = [
    ['pretty', ['-vvv']],
    ['plain', ['-vvv']],
    ['plain', ['--check']],
    ['json', ['-vvv']],
    ['ndjson', ['-vvv']],
  ];
  for (const [output, mode] of runs) {
    const junit = join(dir, `junit-${output}.xml`);
    const out = join(dir, `out-${output}-${mode[0]}`);
    mkdirSync(out, { recursive: true });
    const r = await mp(['run', 'site.yml', '-i', 'inventory.yml', ...ALL_PASSWORDS, '-e', '@extra.yml', '-e', `outdir=${out}`, '--diff', '--output', output, '--junit', junit, ...mode]);
    t.equal(r.code, 2, `${output} ${mode.join(' ')}: the fail task fails the host (${r.stderr})`);
    const shown = `${r.stdout}${r.stderr}${readFileSync(junit, 'utf8')}`;
    t.match(shown, /<secret #\d+>/, `${output} ${mode.join(' ')}: masks are shown`);
    const leaked = Object.values(SECRETS).filter((s) => shown.includes(s));
    t.same(leaked, [], `${output} ${mode.join(' ')} --diff --junit: no decrypted value in stdout, stderr or junit`);
  }
});

t.test('a vaulted value without a password is a validation error naming the file, line and key (exit 4)', async (t) => {
  const { dir, mp, ap } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { enc } = vaultedPlaybook(dir);
  await enc(['--vault-id', 'prod@pw-script.sh', 'vars/secret.yml']);
  writeFileSync(join(dir, 'group_vars', 'all', 'vault.yml'), `vault_db_password: not-secret\n`);
  await writePlaybook(dir);
  const oracle = await ap(['-i', 'ansible-hosts.yml', 'site.yml', '-e', 'outdir=.', '-e', 'extra_secret=x']);
  t.not(oracle.code, 0, 'ansible-playbook refuses too');
  t.match(oracle.stdout + oracle.stderr, /no vault secrets/);
  for (const output of ['plain', 'json']) {
    const r = await mp(['run', 'site.yml', '-i', 'inventory.yml', '-e', `outdir=${dir}`, '-e', 'extra_secret=x', '--output', output]);
    t.equal(r.code, 4, `${output}: exit 4`);
    const text = r.stdout + r.stderr;
    t.match(text, /site\.yml:5:\d+: the !vault value of '\[0\]\.vars\.api_token' \(vault id 'dev'\) and no vault password was given/, 'the inline value: file:line and key');
    t.match(text, /vars\/secret\.yml:1:1: this file is encrypted with Ansible Vault \(vault id 'prod'\) and no vault password was given/, 'the whole file: file:line');
    t.match(text, /--vault-password-file FILE, --vault-id LABEL@SOURCE or --ask-vault-pass/, 'says how to give one');
    t.notOk(text.includes('$ANSIBLE_VAULT'), 'the vault text is not shown');
    t.notOk(existsSync(join(dir, 'result.txt')), 'nothing ran: the vault text was never used as a value');
  }
  const json = await mp(['run', 'site.yml', '-i', 'inventory.yml', '-e', `outdir=${dir}`, '-e', 'extra_secret=x', '--output', 'json']);
  t.match(JSON.parse(json.stdout.trim().split('\n').pop()!), { exitCode: 4, reason: 'validation' });
});

t.test('a wrong password is an error naming the file, with ansible-playbook\'s exit code', async (t) => {
  const { dir, mp, ap } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { enc } = vaultedPlaybook(dir);
  await enc(['--vault-password-file', 'pw-alpha', 'group_vars/all/vault.yml']);
  await enc(['--vault-id', 'prod@pw-script.sh', 'vars/secret.yml']);
  await writePlaybook(dir);
  // every password but the one vars/secret.yml needs
  const wrong = ['--vault-password-file', 'pw-alpha', '--vault-id', 'dev@pw-bravo'];
  const oracle = await ap(['-i', 'ansible-hosts.yml', 'site.yml', ...wrong, '-e', 'outdir=.', '-e', 'extra_secret=x']);
  t.match(oracle.stdout + oracle.stderr, /Decryption failed \(no vault secrets were found that could decrypt\) on .*vars\/secret\.yml/, 'oracle names the file');
  t.not(oracle.code, 0);
  const r = await mp(['run', 'site.yml', '-i', 'inventory.yml', ...wrong, '-e', `outdir=${dir}`, '-e', 'extra_secret=x', '--output', 'plain']);
  t.equal(r.code, oracle.code, `meshplay exits as ansible-playbook does (${oracle.code})`);
  t.match(r.stderr, /vars\/secret\.yml:1:1: this file is encrypted with Ansible Vault \(vault id 'prod'\): Decryption failed \(no vault secrets were found that could decrypt\)/);
  t.notOk(existsSync(join(dir, 'result.txt')), 'nothing ran');
  // an inline value with the wrong password
  const inline = await mp(['run', 'site.yml', '-i', 'inventory.yml', ...ALL_PASSWORDS.slice(0, 2), '--vault-id', 'dev@pw-alpha', '--vault-id', 'prod@pw-script.sh', '-e', `outdir=${dir}`, '-e', 'extra_secret=x', '--output', 'plain']);
  t.equal(inline.code, oracle.code);
  t.match(inline.stderr, /site\.yml:5:\d+: the !vault value of '\[0\]\.vars\.api_token' \(vault id 'dev'\): Decryption failed/);
});

t.test('an encrypted inventory opens with the password; its variables are secrets, its names are not', async (t) => {
  const { dir, mp } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(
    join(dir, 'inventory.yml'),
    `clusters:\n  - name: east\n    istio_control_plane: true\n    api: {url: "https://127.0.0.1:6443", token: cluster-token-6666}\n    pod_cidr: 10.1.0.0/16\n    nodes: []\nvars:\n  inventory_note: inventory-var-secret-7777\n`,
  );
  const enc = await run('ansible-vault', ['encrypt', '--vault-password-file', 'pw-alpha', 'inventory.yml'], { cwd: dir });
  t.equal(enc.code, 0);
  const missing = await mp(['inventory', '-i', 'inventory.yml', '--list']);
  t.equal(missing.code, 4, 'no password: exit 4');
  t.match(missing.stderr, /inventory\.yml:1:1: this file is encrypted with Ansible Vault and no vault password was given/);
  const list = await mp(['inventory', '-i', 'inventory.yml', '--list', '--vault-password-file', 'pw-alpha']);
  t.equal(list.code, 0, list.stderr);
  const data = JSON.parse(list.stdout);
  t.ok(data._meta.hostvars.east, 'the cluster is a host: its name is not masked');
  t.match(data._meta.hostvars.east.inventory_note, /^<secret #\d+>$/);
  t.notOk(list.stdout.includes('inventory-var-secret-7777') || list.stdout.includes('cluster-token-6666'));
  const wrong = await mp(['inventory', '-i', 'inventory.yml', '--list', '--vault-password-file', 'pw-bravo']);
  t.equal(wrong.code, 1, 'wrong password: exit 1');
});

/** Runs a command on a new pseudo-terminal, answers each prompt (in order) once it appears, returns the screen. */
function onTerminal(dir: string, answers: string[], cmd: string[]): Promise<Run> {
  const py = `
import os, pty, sys, select, json
answers = json.loads(sys.argv[1]); cmd = sys.argv[2:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
out = b''; seen = 0
while True:
    r, _, _ = select.select([fd], [], [], 60)
    if not r: break
    try: data = os.read(fd, 4096)
    except OSError: break
    if not data: break
    out += data
    # a prompt is complete when the screen ends with ': ' after the last answer
    if answers and out.rstrip(b' ').endswith(b':') and out.count(b': ') > seen:
        seen = out.count(b': ')
        os.write(fd, (answers.pop(0) + '\\n').encode())
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
`;
  return run('python3', ['-c', py, JSON.stringify(answers), ...cmd], { cwd: dir });
}

t.test('--ask-vault-pass and --vault-id LABEL@prompt: on a terminal without echo, else from stdin, as ansible does', async (t) => {
  const { dir, mp, av } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'f.yml'), 'k: terminal-value-8888\n');
  t.equal((await av(['encrypt', '--vault-password-file', 'pw-alpha', 'f.yml'])).code, 0);
  writeFileSync(join(dir, 'g.yml'), 'k: labelled-value-9999\n');
  t.equal((await av(['encrypt', '--vault-id', 'dev@pw-bravo', 'g.yml'])).code, 0);

  for (const [args, answers, prompt] of [
    [['--ask-vault-pass', 'f.yml'], ['alpha-password'], 'Vault password: '],
    [['--vault-id', 'dev@prompt', 'g.yml'], ['bravo-password'], 'Vault password (dev): '],
    [['--vault-id', 'dev@prompt', '--vault-id', 'pw-alpha', 'f.yml', 'g.yml'], ['bravo-password'], 'Vault password (dev): '],
  ] as const) {
    const oracle = await onTerminal(dir, [...answers], ['ansible-vault', 'view', ...args]);
    const mine = await onTerminal(dir, [...answers], [process.execPath, cliPath, 'vault', 'view', ...args]);
    t.equal(oracle.code, 0, `oracle on a terminal: ansible-vault view ${args.join(' ')}`);
    t.equal(mine.code, 0, `meshplay vault view ${args.join(' ')} on a terminal: ${mine.stdout}`);
    t.ok(mine.stdout.startsWith(prompt), `the prompt is ansible's: ${JSON.stringify(prompt)}`);
    t.ok(oracle.stdout.startsWith(prompt), 'oracle prompt');
    for (const a of answers) t.notOk(mine.stdout.includes(a), 'the typed password is not echoed');
    t.match(mine.stdout, (args as readonly string[]).includes('g.yml') ? /labelled-value-9999/ : /terminal-value-8888/);
  }

  // no controlling terminal: the password is read from stdin, after a warning on stderr
  const noTty = (cmd: string[], input: string) => run('setsid', ['-w', ...cmd], { cwd: dir, input });
  const oracle = await noTty(['ansible-vault', 'view', '--ask-vault-pass', 'f.yml'], 'alpha-password\n');
  const mine = await noTty([process.execPath, cliPath, 'vault', 'view', '--ask-vault-pass', 'f.yml'], 'alpha-password\n');
  t.same([mine.code, mine.stdout], [oracle.code, oracle.stdout], 'without a terminal both read stdin');
  t.match(mine.stderr, /Warning: Password input may be echoed\.\nVault password: /);
  const eof = await noTty([process.execPath, cliPath, 'vault', 'view', '--ask-vault-pass', 'f.yml'], '');
  const eofOracle = await noTty(['ansible-vault', 'view', '--ask-vault-pass', 'f.yml'], '');
  t.equal(eof.code, eofOracle.code, `empty stdin: exit ${eofOracle.code} as ansible-vault`);
  t.match(eof.stderr, /EOFError \(ctrl-d\) on prompt for \(default\)/);

  // a playbook run asking on stdin: the recap is the one a password file gives
  writeFileSync(join(dir, 'inventory.yml'), 'clusters:\n  - {name: east, istio_control_plane: true, api: {url: "https://127.0.0.1:6443", token: never-contacted}, pod_cidr: 10.1.0.0/16, nodes: []}\n');
  writeFileSync(join(dir, 'pb.yml'), '- hosts: localhost\n  gather_facts: false\n  vars_files: [f.yml]\n  tasks:\n    - assert: {that: ["k == \'terminal-value-8888\'"]}\n');
  const played = await noTty([process.execPath, cliPath, 'run', 'pb.yml', '-i', 'inventory.yml', '--ask-vault-pass', '--output', 'plain'], 'alpha-password\n');
  t.equal(played.code, 0, `meshplay run --ask-vault-pass reading stdin: ${played.stdout}${played.stderr}`);
  t.notOk(played.stdout.includes('terminal-value-8888'));
});

t.test('meshplay vault fails where ansible-vault fails, with its exit code', async (t) => {
  const { dir, mp, av } = setup();
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'plain.yml'), 'a: 1\n');
  writeFileSync(join(dir, 'enc.yml'), 'a: 1\n');
  t.equal((await av(['encrypt', '--vault-password-file', 'pw-alpha', 'enc.yml'])).code, 0);
  const cases: [string, string[], RegExp][] = [
    ['several ids, no --encrypt-vault-id', ['encrypt', '--vault-id', 'a@pw-alpha', '--vault-id', 'b@pw-bravo', '--output', '-', 'plain.yml'], /The vault-ids a,b are available to encrypt/],
    ['--encrypt-vault-id names no given id', ['encrypt', '--vault-id', 'a@pw-alpha', '--encrypt-vault-id', 'zz', '--output', '-', 'plain.yml'], /Did not find a match for --encrypt-vault-id=zz/],
    ['wrong password', ['decrypt', '--vault-password-file', 'pw-bravo', '--output', '-', 'enc.yml'], /Decryption failed \(no vault secrets were found that could decrypt\) on .*enc\.yml/],
    ['not encrypted', ['view', '--vault-password-file', 'pw-alpha', 'plain.yml'], /input is not vault encrypted data/],
    ['already encrypted', ['encrypt', '--vault-password-file', 'pw-alpha', '--output', '-', 'enc.yml'], /input is already encrypted/],
    ["';' in a vault id", ['view', '--vault-id', 'a;b@pw-alpha', 'enc.yml'], /The character ';' is not allowed in vault ids/],
    ['missing password file', ['view', '--vault-password-file', 'no-such-file', 'enc.yml'], /The vault password file .*no-such-file was not found/],
    ['client script without a secret for the label', ['view', '--vault-id', 'nope@keyring-client.sh', 'enc.yml'], /did not find a secret for vault-id=nope/],
    ['empty encrypt_string', ['encrypt_string', '--vault-password-file', 'pw-alpha', '-'], /stdin was empty, not encrypting/],
  ];
  for (const [what, args, message] of cases) {
    const oracle = await av(args);
    const mine = await mp(['vault', ...args]);
    t.not(oracle.code, 0, `oracle fails: ${what}`);
    t.equal(mine.code, oracle.code, `${what}: exit ${oracle.code} as ansible-vault`);
    t.match(mine.stderr, message, `${what}: says why`);
    t.match(oracle.stderr, message, `${what}: in ansible-vault's words`);
  }
});

t.test('meshplay vault ACTION --help lists the options ansible-vault takes for it', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-vault-help-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const expected: Record<string, string[]> = {
    encrypt: ['--vault-id', '--vault-password-file', '--ask-vault-pass', '--output', '--encrypt-vault-id'],
    decrypt: ['--vault-id', '--output'],
    view: ['--vault-id', '--ask-vault-pass'],
    encrypt_string: ['--name', '--stdin-name', '--prompt', '--output', '--encrypt-vault-id'],
    rekey: ['--new-vault-password-file', '--new-vault-id', '--encrypt-vault-id'],
  };
  for (const [action, options] of Object.entries(expected)) {
    const r = await run(process.execPath, [cliPath, 'vault', action, '--help'], { cwd: dir });
    t.equal(r.code, 0, `${action} --help`);
    t.match(r.stdout, new RegExp(`^usage: meshplay vault ${action}`));
    for (const o of options) t.match(r.stdout, new RegExp(`\\n\\s+(-\\w, )?${o}\\b`), `${action} lists ${o}`);
  }
  const typo = await run(process.execPath, [cliPath, 'vault', 'view', '--vault-passwd-file', 'x', 'f.yml'], { cwd: dir });
  t.equal(typo.code, 5, 'a misspelled option exits 5');
  t.match(typo.stderr, /did you mean '--vault-password-file'\?/);
});
