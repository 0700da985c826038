// One truthiness for conditions (when, assert's that, failed_when, changed_when, until; the k8s wait expression
// goes through the same ModuleContext.condition) and Ansible's `bool` filter, each decided by the real
// ansible-playbook 2.14: the same playbook runs under both programs and every item's verdict must agree.
// What Ansible does (and meshplay must do): a condition is Jinja truthiness of the expression's value, so the
// strings "false", "no", "off" and "0" are TRUE and only "" is false; `| bool` is true for yes/on/1/true in any
// case and the number 1, false for everything else ('y', 't', ' yes', 2), and None stays None.
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { meshplay, results } from './helpers/cli.js';

const run = promisify(execFile);

/** Values as people write them: YAML strings that look boolean, numbers, booleans, empty and full collections, null. */
const values: unknown[] = ['false', 'False', 'FALSE', 'no', 'No', 'off', '0', '', ' ', 'yes', 'on', '1', 'true', 'True', ' yes', 'y', 'n', 't', 'f', 'none', 'None', 'null', 0, 1, 2, -1, 0, 0.5, true, false, [], [0], {}, { a: 1 }, null];
/**
 * `when: "{{ item }}"` renders, then evaluates the text again as an expression: text that is not a Jinja literal
 * ("yes", "FALSE", " ") is an undefined variable and fails the whole task in Ansible, so only the others are looped.
 */
const templatedValues: unknown[] = ['false', 'False', '0', '', '1', 'true', 'True', 'none', 'None', 0, 1, 2, 0.5, true, false, [], [0], {}, { a: 1 }, null];

type Verdict = string;
const kinds: Record<string, { task: Record<string, unknown>; verdict: (r: Record<string, any>) => Verdict }> = {
  when: { task: { debug: { msg: 'ran' }, when: 'item' }, verdict: (r) => (r.skipped ? 'false' : 'true') },
  templated_when: { task: { debug: { msg: 'ran' }, when: '{{ item }}', loop: '{{ templated }}' }, verdict: (r) => (r.skipped ? 'false' : 'true') },
  assert: { task: { assert: { that: 'item' } }, verdict: (r) => (r.failed ? 'false' : 'true') },
  failed_when: { task: { debug: { msg: 'ran' }, failed_when: 'item' }, verdict: (r) => String(Boolean(r.failed)) },
  changed_when: { task: { debug: { msg: 'ran' }, changed_when: 'item' }, verdict: (r) => String(Boolean(r.changed)) },
  until: { task: { debug: { msg: 'ran' }, until: 'item', retries: 1, delay: 0 }, verdict: (r) => (r.failed ? 'false' : 'true') },
  bool_filter: { task: { debug: { msg: '{{ [item | bool] }}' } }, verdict: (r) => JSON.stringify(r.msg ?? null) },
};

function playbook(): string {
  const tasks = Object.entries(kinds).map(([name, k]) => ({ name, loop: '{{ values }}', ignore_errors: true, ...k.task }));
  tasks.push({ name: 'a templated condition naming no variable fails', debug: { msg: 'ran' }, when: '{{ text }}', vars: { text: 'yes' }, ignore_errors: true } as never);
  // JSON (which is YAML): every string quoted, so neither reader's YAML 1.1 booleans (no, off, y, n) change a value.
  return JSON.stringify([{ hosts: 'localhost', gather_facts: false, vars: { values, templated: templatedValues }, tasks }], null, 1);
}

/** Item verdicts per task name, from ansible-playbook's json callback. */
async function ansibleVerdicts(dir: string): Promise<Map<string, Verdict[] | string>> {
  const { stdout } = await run('ansible-playbook', ['-i', 'localhost,', '-c', 'local', 'playbook.yml'], {
    cwd: dir,
    env: { ...process.env, ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_NOCOLOR: '1', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3', ANSIBLE_RETRY_FILES_ENABLED: 'false' },
    maxBuffer: 64 * 1024 * 1024,
  });
  const out = new Map<string, Verdict[] | string>();
  for (const task of JSON.parse(stdout).plays[0].tasks) {
    const name: string = task.task.name;
    const host = task.hosts.localhost;
    out.set(name, kinds[name] ? host.results.map(kinds[name]!.verdict) : host.failed ? 'failed' : 'ran');
  }
  return out;
}

t.test('conditions and the bool filter decide as ansible-playbook 2.14 decides', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-truthiness-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'playbook.yml'), playbook());
  writeFileSync(join(dir, 'inventory.yml'), 'clusters:\n  - name: east\n    istio_control_plane: true\n    vars: {ansible_connection: local}\n    nodes: [{name: east-1, address: 127.0.0.11}]\n');
  const [oracle, mp] = await Promise.all([ansibleVerdicts(dir), meshplay(['run', join(dir, 'playbook.yml'), '-i', join(dir, 'inventory.yml'), '--output', 'ndjson'])]);
  t.equal(mp.code, 0, `meshplay ran the playbook: ${mp.stderr}`);
  t.same([...oracle.keys()], [...Object.keys(kinds), 'a templated condition naming no variable fails'], 'ansible-playbook ran every task');
  // The oracle's own answer to the question the issue names: the string "no" is a true condition.
  t.equal((oracle.get('when') as Verdict[])[values.indexOf('no')], 'true', 'Ansible: when: on the string "no" runs the task');
  for (const [name, expected] of oracle) {
    const r = results(mp, name)[0]?.result ?? {};
    if (typeof expected === 'string') {
      t.equal(r.failed ? 'failed' : 'ran', expected, `${name}: as ansible-playbook`);
      continue;
    }
    const items: Record<string, any>[] = r.results ?? [];
    const got = items.map(kinds[name]!.verdict);
    const loop = name === 'templated_when' ? templatedValues : values;
    const wrong = loop.flatMap((v, i) => (got[i] === expected[i] ? [] : [`${JSON.stringify(v)}: ansible ${expected[i]}, meshplay ${got[i]}`]));
    t.same(wrong, [], `${name}: every item as ansible-playbook decides it`);
  }
});
