// The engine end to end through the CLI, on localhost-connection fixtures.
import t from 'tap';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshplay, recapOf, results, totals } from './helpers/cli.js';

const fx = (name: string) => join('test', 'fixtures', 'engine', name);
const inv = ['-i', fx('inventory.yml')];
const work = () => mkdtempSync(join(tmpdir(), 'meshplay-engine-'));

t.test('file modules converge: second run changed=0, --check touches nothing', async (t) => {
  const dir = work();
  const check = await meshplay(['run', fx('files.yml'), ...inv, '-e', `workdir=${dir}`, '--check', '--output', 'ndjson']);
  t.equal(check.code, 0, check.stderr);
  t.same(readdirSync(dir), [], '--check wrote nothing');
  t.ok(totals(check).changed >= 2, 'check predicts changes');
  const first = await meshplay(['run', fx('files.yml'), ...inv, '-e', `workdir=${dir}`, '--output', 'ndjson']);
  t.equal(first.code, 0, first.stdout + first.stderr);
  t.equal(totals(first).changed, 3);
  t.equal(readFileSync(join(dir, 'a.txt'), 'utf8'), 'one\n');
  t.equal((statSync(join(dir, 'a.txt')).mode & 0o777).toString(8), '640');
  t.match(readFileSync(join(dir, 'b.txt'), 'utf8'), /greeting=hello\ncluster=east\ncluster=west\n/);
  const second = await meshplay(['run', fx('files.yml'), ...inv, '-e', `workdir=${dir}`, '--output', 'ndjson']);
  t.equal(second.code, 0, second.stdout + second.stderr);
  t.equal(totals(second).changed, 0, 'converged');
  const drift = await meshplay(['run', fx('files.yml'), ...inv, '-e', `workdir=${dir}`, '--check', '--detailed-exitcode', '--output', 'ndjson']);
  t.equal(drift.code, 0, 'nothing would change');
});

t.test('--check --diff shows the change; --detailed-exitcode exits 10 on drift', async (t) => {
  const dir = work();
  const r = await meshplay(['run', fx('files.yml'), ...inv, '-e', `workdir=${dir}`, '--check', '--diff', '--detailed-exitcode', '--output', 'plain']);
  t.equal(r.code, 10, r.stdout);
  t.match(r.stdout, /\+one/);
  t.match(r.stdout, /PLAY RECAP/);
  t.same(readdirSync(dir), []);
});

t.test('loops, when, register, handlers, run_once, delegate_to, retries, environment', async (t) => {
  const dir = work();
  const r = await meshplay(['run', fx('flow.yml'), ...inv, '-e', `workdir=${dir}`, '--output', 'ndjson']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  const order = r.events.filter((e) => e.type === 'task_start').map((e) => e.task);
  const i = (name: string) => order.indexOf(name);
  t.ok(i('first handler') > i('notify first handler'));
  t.ok(i('first handler') < i('after flush'), 'flush_handlers ran the notified handler');
  t.ok(i('second handler') > i('first handler') && i('second handler') < i('after flush'), 'handlers run in definition order, not notification order');
  t.equal(results(r, 'once for all').length, 1, 'run_once ran on one host');
  t.equal(totals(r).failed, 0);
});

t.test('renders shared between hosts never hide a fact set since', async (t) => {
  const r = await meshplay(['run', fx('shared-renders.yml'), ...inv, '--output', 'ndjson']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  for (const task of ['all see the first marks', 'all see the second marks', 'all see that one change']) {
    t.same(results(r, task).map((e) => e.status), ['ok', 'ok', 'ok'], task);
  }
  // within one task: hosts in turn (--forks 1), each render must see the fact the previous host just set
  const same = await meshplay(['run', fx('shared-renders-same-task.yml'), ...inv, '--forks', '1', '--output', 'ndjson']);
  t.equal(same.code, 0, same.stdout + same.stderr);
  t.same(results(same, 'each host saw the marks set before it in the same task').map((e) => e.status), ['ok', 'ok', 'ok']);
  // across tasks: a render kept from an earlier task is checked against what changed since
  const tasks = await meshplay(['run', fx('shared-renders-tasks.yml'), ...inv, '--output', 'ndjson']);
  t.equal(tasks.code, 2, 'east-2 failed as planned');
  for (const [task, hosts] of [
    ['all three play and see the marks', ['east-1', 'east-2', 'west-1']],
    ['the others see two hosts playing, and the same marks', ['east-1', 'west-1']],
    ['east-1 sees it', ['east-1', 'west-1']],
  ] as const) {
    t.same(results(tasks, task).map((e) => `${e.host} ${e.status}`), hosts.map((h) => `${h} ok`), task);
  }
});

t.test('block/rescue/always and ignore_errors are counted as Ansible does', async (t) => {
  const r = await meshplay(['run', fx('blocks.yml'), ...inv, '--output', 'ndjson']);
  t.equal(r.code, 0, r.stdout);
  const stats = recapOf(r).stats;
  t.equal(stats['east-1'].rescued, 1);
  t.equal(stats['east-1'].failed, 0);
  t.equal(stats['east-1'].ignored, 1);
  t.equal(stats['east-2'].rescued, 0);
  t.same(results(r, 'after failure').map((e) => e.host), ['east-2']);
  t.same(results(r, 'rescue runs').map((e) => e.host), ['east-1']);
  t.same(results(r, 'always runs').map((e) => e.host).sort(), ['east-1', 'east-2']);
  t.same(results(r, 'continues').map((e) => e.host).sort(), ['east-1', 'east-2']);
});

t.test('a failed host leaves the play, others go on, exit 2', async (t) => {
  const r = await meshplay(['run', fx('failing.yml'), ...inv, '--output', 'ndjson']);
  t.equal(r.code, 2);
  t.same(results(r, 'others continue').map((e) => e.host).sort(), ['east-1', 'east-2']);
  t.equal(recapOf(r).stats['west-1'].failed, 1);
  t.equal(recapOf(r).reason, 'failed');
});

t.test('any_errors_fatal stops every host', async (t) => {
  const r = await meshplay(['run', fx('fatal.yml'), ...inv, '--output', 'ndjson']);
  t.equal(r.code, 2);
  t.same(results(r, 'never reached'), []);
});

t.test('tags and limit select tasks and hosts', async (t) => {
  const names = async (...args: string[]) => {
    const r = await meshplay(['run', fx('tags.yml'), ...inv, '--output', 'ndjson', ...args]);
    t.equal(r.code, 0, r.stderr);
    return results(r).map((e) => e.task);
  };
  t.same(await names(), ['tagged a', 'tagged b', 'untagged', 'always runs']);
  t.same(await names('-t', 'a'), ['tagged a', 'always runs']);
  t.same(await names('--skip-tags', 'a,always'), ['tagged b', 'untagged']);
  t.same(await names('-t', 'debugonly'), ['always runs', 'never unless asked']);
  const lim = await meshplay(['run', fx('failing.yml'), ...inv, '-l', 'east-*', '--output', 'ndjson']);
  t.equal(lim.code, 0);
  t.same(Object.keys(recapOf(lim).stats).sort(), ['east-1', 'east-2']);
});

t.test('variable precedence follows Ansible', async (t) => {
  const r = await meshplay(['run', fx('precedence.yml'), ...inv, '-e', 'p_extra=extra', '--output', 'ndjson']);
  t.equal(r.code, 0, JSON.stringify(results(r).filter((e) => e.status === 'failed'), null, 1));
  t.equal(totals(r).failed, 0);
  t.ok(results(r, 'base : dependency runs first').length === 1, 'meta dependency ran');
});

t.test('a planted secret never appears in any output mode', async (t) => {
  const secret = 'planted-Secret-9f3a2c';
  for (const output of ['plain', 'json', 'ndjson']) {
    const dir = work();
    const junit = join(dir, 'junit.xml');
    const r = await meshplay(['run', fx('redaction.yml'), ...inv, '-e', `workdir=${dir}`, '--diff', '-vvv', '--output', output, '--junit', junit]);
    t.equal(r.code, 0, `${output}: ${r.stderr}`);
    t.notMatch(r.stdout + r.stderr, secret, `${output} output is clean`);
    t.notMatch(r.stdout + r.stderr, 'visible-only-without-no-log', `${output}: --diff respects no_log`);
    t.notMatch(r.stdout + r.stderr, 'task-scoped-Token-77d1', `${output}: a secret-named task var is masked`);
    t.notMatch(r.stdout + r.stderr, 'pin-Value-4711', `${output}: meshplay_secret_key_pattern widens what counts as secret`);
    t.notMatch(readFileSync(junit, 'utf8'), secret, 'junit is clean');
    t.match(r.stdout, /secret #1/, `${output} shows a stable mask`);
    if (output === 'plain') t.match(r.stdout, /"msg": "changed"/, 'short words stay readable');
  }
});

t.test('unreachable host: counted apart, others converge, exit 4', async (t) => {
  const r = await meshplay(['run', fx('unreachable.yml'), '-i', fx('inventory-unreachable.yml'), '--output', 'ndjson']);
  t.equal(r.code, 4, r.stdout);
  const stats = recapOf(r).stats;
  t.equal(stats['west-1'].unreachable, 1);
  t.equal(stats['west-1'].failed, 0);
  t.equal(stats['east-1'].ok, 1);
  t.equal(recapOf(r).reason, 'unreachable');
});

t.test('options and listing', async (t) => {
  t.equal((await meshplay(['run', fx('tags.yml'), ...inv, '--bogus'])).code, 5, 'unknown option exits 5');
  t.equal((await meshplay(['run'])).code, 5, 'missing playbook exits 5');
  const syntax = await meshplay(['run', fx('tags.yml'), ...inv, '--syntax-check']);
  t.equal(syntax.code, 0);
  const list = await meshplay(['run', fx('tags.yml'), ...inv, '--list-tasks', '--list-hosts']);
  t.match(list.stdout, /tagged a/);
  t.match(list.stdout, /hosts \(1\)/);
  const v = await meshplay(['--version']);
  t.match(v.stdout, /^meshplay \d+\.\d+\.\d+/);
});

t.test('a misspelled keyword is an error and nothing runs', async (t) => {
  const dir = work();
  const marker = join(dir, 'ran');
  const { writeFileSync } = await import('node:fs');
  const pb = join(dir, 'pb.yml');
  writeFileSync(pb, `- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: touch ${marker}\n    - debug: {msg: hi}\n      whne: false\n`);
  const r = await meshplay(['run', pb, ...inv]);
  t.equal(r.code, 4);
  t.match(r.stderr, new RegExp(`${pb}:6:7: unknown key 'whne'.*did you mean 'when'`));
  t.notOk(existsSync(marker));
});

t.test('serial batches stop at max_fail_percentage; include_role runs the role', async (t) => {
  const r = await meshplay(['run', fx('serial.yml'), ...inv, '--output', 'ndjson']);
  t.equal(r.code, 2);
  t.same(results(r, 'first').map((e) => e.host), ['east-1', 'east-2'], 'batches of one; west-1 never started');
  // As ansible-playbook (test/parity/cases/max-fail-percentage): max_fail_percentage ends the playbook run.
  t.same(results(r, 'base : dependency runs first'), [], 'the next play does not run');
  const role = await meshplay(['run', fx('serial.yml'), ...inv, '--output', 'ndjson', '-l', 'localhost']);
  t.equal(role.code, 0, role.stderr);
  t.same(results(role, 'base : dependency runs first').map((e) => e.host), ['localhost'], 'include_role runs the role');
  const start = await meshplay(['run', fx('serial.yml'), ...inv, '--output', 'ndjson', '--start-at-task', 'fail on east-2', '-l', 'east-1']);
  t.same(results(start).map((e) => e.task)[0], 'fail on east-2', 'starts at the named task');
});

t.test('Ctrl-C: running command finishes, no new task starts, recap printed, exit 99', async (t) => {
  const { spawn } = await import('node:child_process');
  const { cliPath, repoRoot } = await import('./helpers/cli.js');
  const child = spawn(process.execPath, [cliPath, 'run', fx('interrupt.yml'), ...inv, '--output', 'ndjson'], { cwd: repoRoot });
  let out = '';
  // Interrupt once the long command is running (the signal handler is installed by then).
  await new Promise<void>((resolve) => {
    child.stdout.on('data', (d) => {
      out += d;
      if (out.includes('"task_start"') && out.includes('"long"')) resolve();
    });
  });
  await new Promise((r) => setTimeout(r, 300));
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('close', r));
  t.equal(code, 99);
  const events = out.split('\n').filter(Boolean).map((l) => JSON.parse(l));
  t.ok(events.some((e) => e.type === 'task_result' && e.task === 'long'), 'the running command finished');
  t.notOk(events.some((e) => e.type === 'task_start' && e.task === 'must not start'));
  t.equal(events.at(-1).type, 'recap');
  t.equal(events.at(-1).reason, 'interrupted');
});

t.test('junit report lists task x host cases with failures', async (t) => {
  const dir = work();
  const junit = join(dir, 'r.xml');
  await meshplay(['run', fx('failing.yml'), ...inv, '--output', 'ndjson', '--junit', junit]);
  const xml = readFileSync(junit, 'utf8');
  t.match(xml, /<testsuite[^>]*name="failing"/);
  t.match(xml, /\[west-1\] fail on west-1[\s\S]*?<failure/);
  t.equal((xml.match(/<testcase /g) ?? []).length, 5, 'one case per task and host that ran');
});

t.test('extra vars as JSON and @file win over everything', async (t) => {
  const dir = work();
  const { writeFileSync } = await import('node:fs');
  writeFileSync(join(dir, 'extra.yml'), 'p_extra: extra\n');
  const json = await meshplay(['run', fx('precedence.yml'), ...inv, '-e', '{"p_extra": "extra"}', '--output', 'ndjson']);
  t.equal(json.code, 0, 'JSON form');
  const file = await meshplay(['run', fx('precedence.yml'), ...inv, '-e', `@${join(dir, 'extra.yml')}`, '--output', 'ndjson']);
  t.equal(file.code, 0, '@file form');
  const wrong = await meshplay(['run', fx('precedence.yml'), ...inv, '-e', 'p_extra=other', '--output', 'ndjson']);
  t.equal(wrong.code, 2, 'a different extra value fails the assertion, so the value really arrives');
  const bad = await meshplay(['run', fx('precedence.yml'), ...inv, '-e', '{"broken"']);
  t.equal(bad.code, 5, 'malformed -e is a bad option');
});

t.test('vars_files, loop_control, diff: false, become, wait_for, import_tasks', async (t) => {
  const dir = work();
  const r = await meshplay(['run', fx('keywords.yml'), ...inv, '-e', `workdir=${dir}`, '--diff', '--output', 'plain']);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.notMatch(r.stdout, 'quiet-diff-content', 'diff: false hides that task\'s diff');
  t.match(r.stdout, '+loud-diff-content', 'other tasks still show theirs');
  t.match(r.stdout, /\(item=a\)|=> \(item=a\)/, 'loop label shown instead of the whole item');
  t.notMatch(r.stdout, 'xxxxxxxx', 'the item itself is not printed');
  t.match(r.stdout, /imported at play level/);
});
