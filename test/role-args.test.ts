// Role argument specs: meshplay checks a role's inputs before anything runs, with Ansible's type rules. The
// verdicts come from the real ansible-playbook running the same role with the same values: where Ansible's
// validation task fails the host, meshplay must refuse before running (exit 4, naming the option), and where
// Ansible accepts, meshplay must run. Also: every role in roles/ has a spec whose defaults are its defaults,
// misspelled variables are caught, and problems carry file:line.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync, existsSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'yaml';
import { meshplay, repoRoot } from './helpers/cli.js';

const run = promisify(execFile);
const fixture = join(repoRoot, 'test', 'fixtures', 'role-args');

// Values given with `-e @file` (typed YAML, as both programs read it). Each case sets req_opt unless it tests it.
const cases: Record<string, string> = {
  'all valid': 'req_opt: x\nint_opt: 3\nfloat_opt: 1.5\nbool_opt: true\nstr_opt: alpha\nlist_opt: [1, 2]\ndict_opt: {name: a, port: 80}',
  'int from a string of digits': 'req_opt: x\nint_opt: "42"',
  // 3.0 is left out: JavaScript numbers have no float type, so meshplay reads it as the int 3 (README: Differences from Ansible).
  'int from a fraction': 'req_opt: x\nint_opt: 3.5',
  'int from letters': 'req_opt: x\nint_opt: abc',
  'float from a string': 'req_opt: x\nfloat_opt: "2.5"',
  'float from letters': 'req_opt: x\nfloat_opt: two',
  'bool from yes': 'req_opt: x\nbool_opt: "yes"',
  'bool from off': 'req_opt: x\nbool_opt: "off"',
  'bool from 1': 'req_opt: x\nbool_opt: 1',
  'bool from maybe': 'req_opt: x\nbool_opt: maybe',
  'str choice by number': 'req_opt: x\nstr_opt: 3',
  'str outside choices': 'req_opt: x\nstr_opt: gamma',
  'str from a list': 'req_opt: x\nstr_opt: [alpha]',
  'list from a comma string': 'req_opt: x\nlist_opt: "1,2"',
  'list with a non-int element': 'req_opt: x\nlist_opt: [1, x]',
  'list from a mapping': 'req_opt: x\nlist_opt: {a: 1}',
  'dict missing its required key': 'req_opt: x\ndict_opt: {port: 80}',
  'dict with a wrong sub-type': 'req_opt: x\ndict_opt: {name: a, port: eighty}',
  'dict with an unknown key': 'req_opt: x\ndict_opt: {name: a, colour: red}',
  'dict from a list': 'req_opt: x\ndict_opt: [a]',
  'required missing': 'int_opt: 3',
  'required from a number': 'req_opt: 5',
};

async function ansibleVerdict(dir: string, varsFile: string): Promise<boolean> {
  try {
    await run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', 'playbook.yml', '-e', `@${varsFile}`], {
      cwd: dir,
      env: { ...process.env, ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_RETRY_FILES_ENABLED: 'false' },
    });
    return true;
  } catch (e) {
    const code = (e as { code?: number }).code;
    if (code !== 2) throw new Error(`ansible-playbook exited ${code}: ${(e as { stdout?: string }).stdout}`);
    return false;
  }
}

t.test('type verdicts match the real ansible-playbook', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-role-args-'));
  cpSync(fixture, dir, { recursive: true });
  const names = Object.keys(cases);
  const files = names.map((n, i) => {
    const f = join(dir, `case-${i}.yml`);
    writeFileSync(f, `${cases[n]}\n`);
    return f;
  });
  // Two at a time: Ansible takes about a second per run.
  const verdicts: boolean[] = new Array(names.length);
  let next = 0;
  await Promise.all([0, 1].map(async () => {
    while (next < names.length) {
      const i = next++;
      verdicts[i] = await ansibleVerdict(dir, files[i]!);
    }
  }));
  t.ok(verdicts.some((v) => v) && verdicts.some((v) => !v), 'the cases include accepted and refused values');
  for (const [i, name] of names.entries()) {
    const r = await meshplay(['run', 'playbook.yml', '-i', 'inventory.yml', '-e', `@${files[i]}`], { cwd: dir });
    if (verdicts[i]) {
      t.equal(r.code, 0, `${name}: Ansible accepts, meshplay runs (${r.stderr.trim()})`);
      t.match(r.stdout, /typed-role-body/, `${name}: the role ran`);
    }
    else {
      t.equal(r.code, 4, `${name}: Ansible refuses, meshplay refuses before running`);
      t.notMatch(r.stdout, /typed-role-body/, `${name}: nothing ran`);
      t.match(r.stderr, /role 'typed'/, `${name}: the message names the role`);
    }
  }
});

t.test('a wrong value in the inventory is reported at its file:line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-role-args-'));
  cpSync(fixture, dir, { recursive: true });
  writeFileSync(join(dir, 'inventory.yml'), 'clusters:\n  - name: solo\n    istio_control_plane: true\n    pod_cidr: 10.1.0.0/16\n    nodes: []\nvars:\n  req_opt: x\n  int_opt: lots\n');
  const r = await meshplay(['run', 'playbook.yml', '-i', 'inventory.yml'], { cwd: dir });
  t.equal(r.code, 4);
  t.match(r.stderr, /inventory\.yml:8:3: role 'typed': int_opt must be an int, got the string "lots" \(from inventory\)/);
});

t.test('a role variable that is misspelled: a warning naming the closest name; an error with --strict', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-role-args-'));
  cpSync(fixture, dir, { recursive: true });
  writeFileSync(join(dir, 'vars.yml'), 'req_opt: x\nbool_otp: true\n');
  const warn = await meshplay(['run', 'playbook.yml', '-i', 'inventory.yml', '-e', '@vars.yml'], { cwd: dir });
  t.equal(warn.code, 0, warn.stderr);
  t.match(warn.stderr, /\[WARNING\]: vars\.yml:2:1: 'bool_otp' \(set in -e\) is declared by no role in this run and nothing reads it; did you mean 'bool_opt'\?/);
  const strict = await meshplay(['run', 'playbook.yml', '-i', 'inventory.yml', '-e', '@vars.yml', '--strict'], { cwd: dir });
  t.equal(strict.code, 4);
  t.match(strict.stderr, /ERROR: vars\.yml:2:1: 'bool_otp'.*did you mean 'bool_opt'\?/);
  t.notMatch(strict.stdout, /typed-role-body/);
});

t.test("the repository's roles: a misspelled variable on the single-control-plane playbook is caught", async (t) => {
  const r = await meshplay(['run', 'playbooks/single-control-plane.yml', '-i', 'test/fixtures/role-args/two-clusters.yml', '--syntax-check', '--strict', '-e', 'istio_remote_api_ulr=https://10.0.0.9:6443']);
  t.equal(r.code, 4);
  t.match(r.stderr, /'istio_remote_api_ulr' \(set in -e\).*did you mean 'istio_remote_api_url'\?/);
  const wrongType = await meshplay(['run', 'playbooks/single-control-plane.yml', '-i', 'test/fixtures/role-args/two-clusters.yml', '--syntax-check', '-e', 'istio_mtls_mode=LOOSE']);
  t.equal(wrongType.code, 4);
  t.match(wrongType.stderr, /role 'mtls': istio_mtls_mode must be one of "STRICT", "PERMISSIVE", got "LOOSE"/);
});

t.test('every role has argument specs, every option is described, and spec defaults are the role defaults', async (t) => {
  const roles = readdirSync(join(repoRoot, 'roles'));
  for (const role of roles) {
    const specFile = join(repoRoot, 'roles', role, 'meta', 'argument_specs.yml');
    t.ok(existsSync(specFile), `${role} has meta/argument_specs.yml`);
    if (!existsSync(specFile)) continue;
    const spec = parse(readFileSync(specFile, 'utf8')).argument_specs.main;
    const defaultsFile = join(repoRoot, 'roles', role, 'defaults', 'main.yml');
    const defaults = existsSync(defaultsFile) ? (parse(readFileSync(defaultsFile, 'utf8')) ?? {}) : {};
    for (const [name, o] of Object.entries(spec.options as Record<string, { description?: string; default?: unknown }>)) {
      t.ok(o.description, `${role}: ${name} is described`);
      if ('default' in o) t.same(o.default, defaults[name], `${role}: ${name}'s spec default is its defaults/main.yml value`);
    }
    for (const name of Object.keys(defaults)) t.ok(name in spec.options, `${role}: default ${name} is declared in the spec`);
  }
});
