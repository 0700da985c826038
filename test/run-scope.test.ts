// State modules share between tasks lives in the run (ctx.run, runner/modules/run-scope.ts), not in module
// globals: two playbook runs in one process through the real executor (Runner, as `meshplay run` builds it), and the
// second never sees what the first cached. The routes are read from a stand-in `ip` (on the task's PATH) that
// prints a table file the test rewrites between runs, on the engine fixtures' local-connection hosts.
import t from 'tap';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Runner } from '../runner/executor/run.js';
import { loadInventory } from '../runner/inventory/index.js';
import { loadPlaybook } from '../runner/playbook/load.js';
import { Redactor } from '../runner/secrets/redact.js';
import { SecretPolicy } from '../runner/secrets/policy.js';
import { createTemplater } from '../runner/template/index.js';
import type { RunEvent } from '../runner/output/events.js';

const dir = mkdtempSync(join(tmpdir(), 'meshplay-run-scope-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const bin = join(dir, 'bin');
mkdirSync(bin);
writeFileSync(join(bin, 'ip'), '#!/bin/sh\nexec cat "$MESHPLAY_TEST_ROUTES"\n');
chmodSync(join(bin, 'ip'), 0o755);
const routesFile = join(dir, 'routes.json');
const tableWith = join(dir, 'with.json');
const tableWithout = join(dir, 'without.json');
const kernel = '{"type":"unicast","dst":"10.9.0.0/24","dev":"v0","protocol":"kernel","scope":"link","flags":[]}';
// The route the plays want, already there (meshplay's protocol 201) or not.
writeFileSync(tableWith, `[${kernel},{"type":"unicast","dst":"10.2.0.0/24","gateway":"10.9.0.2","dev":"v0","protocol":"201","scope":"global","flags":[]}]\n`);
writeFileSync(tableWithout, `[${kernel}]\n`);
const useTable = (file: string) => copyFileSync(file, routesFile);

const environment = `environment: {PATH: "${bin}:${process.env.PATH}", MESHPLAY_TEST_ROUTES: "${routesFile}"}`;
const wanted = 'routes: [{dest: 10.2.0.0/24, via: 10.9.0.2}]';
function playbook(name: string, tasks: string): string {
  const file = join(dir, `${name}.yml`);
  writeFileSync(file, `- hosts: east-1\n  gather_facts: false\n  tasks:\n${tasks}`);
  return file;
}
const readFacts = playbook('read', `    - name: read\n      ip_route_facts: {}\n      ${environment}\n`);
const planRoutes = playbook('plan', `    - name: plan\n      ip_routes: {${wanted}}\n      ${environment}\n`);
const readThenPlan = playbook(
  'read-then-plan',
  `    - name: read\n      ip_route_facts: {}\n      ${environment}\n` + `    - name: plan\n      ip_routes: {${wanted}}\n      ${environment}\n`,
);
const readChangePlan = playbook(
  'read-change-plan',
  `    - name: read\n      ip_route_facts: {}\n      ${environment}\n` +
    `    - name: the table changes after the read\n      command: cp ${tableWithout} ${routesFile}\n      check_mode: false\n` +
    `    - name: plan\n      ip_routes: {${wanted}}\n      ${environment}\n`,
);
const peers =
  '[{node: east-1, cluster: east, via: 127.0.0.11, pod_cidr: 10.1.0.0/16, owned_blocks: [10.1.0.0/26]},' +
  ' {node: west-1, cluster: west, via: 127.0.0.21, pod_cidr: 10.2.0.0/16, owned_blocks: [10.2.0.0/26]}]';
const checkPeers = join(dir, 'check.yml');
writeFileSync(checkPeers, `- hosts: east-1,east-2\n  gather_facts: false\n  tasks:\n    - name: check\n      ip_routes: {only_check: true, peers: ${peers}}\n`);

/** One playbook run through the executor, as `meshplay run --check -vvv` makes it, in this process. */
async function run(file: string): Promise<{ code: number; events: RunEvent[] }> {
  const templater = createTemplater();
  const inventory = loadInventory([join('test', 'fixtures', 'engine', 'inventory.yml')], { templater });
  const secrets = SecretPolicy.fromInventory(inventory.vars);
  const events: RunEvent[] = [];
  const runner = new Runner({
    inventory,
    playbooks: [await loadPlaybook(file)],
    templater,
    redactor: new Redactor({ policy: secrets }),
    reporters: [{ onEvent: (e) => void events.push(e), close: async () => {} }],
    extraVars: {},
    check: true,
    diff: false,
    forks: 5,
    tags: [],
    skipTags: [],
    verbosity: 3,
    acceptNewHostKeys: false,
    detailedExitcode: false,
    signal: new AbortController().signal,
    secrets,
  });
  return { code: await runner.run(), events };
}

const resultOf = (r: { events: RunEvent[] }, task: string) =>
  r.events.flatMap((e) => (e.type === 'task_result' && e.task === task ? [e] : []));
const logs = (r: { events: RunEvent[] }, pattern: RegExp) => r.events.filter((e) => e.type === 'log' && pattern.test(e.message));
const reused = /using the routes ip_route_facts read/;

t.test('routes read by ip_route_facts are reused within the run that read them, never by the next run', async (t) => {
  useTable(tableWith);
  const first = await run(readFacts);
  t.equal(first.code, 0, 'the first run succeeded');
  t.same(resultOf(first, 'read').map((e) => (e.result as any).ansible_facts.routes.managed), [[{ dest: '10.2.0.0/24', via: '10.9.0.2', dev: 'v0' }]], 'the first run read the route');

  // The route is gone before the next run, seconds (well within the reuse window) after the first one read it.
  useTable(tableWithout);
  const second = await run(planRoutes);
  t.equal(second.code, 0);
  const [plan] = resultOf(second, 'plan');
  t.equal(logs(second, reused).length, 0, 'the second run reads the table itself');
  t.equal(plan?.status, 'changed', 'and plans from what it read: the route is missing');
  t.match(plan?.result.msg, /1 to add/);

  // Within one run, the table ip_route_facts read is what ip_routes plans from (one read per node)...
  useTable(tableWith);
  const both = await run(readThenPlan);
  t.equal(both.code, 0);
  t.equal(logs(both, reused).length, 1, 'ip_routes used the table ip_route_facts read in this run');
  t.equal(resultOf(both, 'plan')[0]?.status, 'ok', 'planned from that table (the route was there when it was read)');

  // ...unless a command ran on the node in between: it may have changed the routes, so ip_routes reads again.
  useTable(tableWith);
  const changed = await run(readChangePlan);
  t.equal(changed.code, 0);
  t.equal(logs(changed, reused).length, 0, 'a command ran on the node after the read: the table is read again');
  t.equal(resultOf(changed, 'plan')[0]?.status, 'changed', 'and the plan sees what the command did: the route is missing');
  t.match(resultOf(changed, 'plan')[0]?.result.msg, /1 to add/);
});

t.test('the peers overlap check is shared by the hosts of a run, and made again by the next run', async (t) => {
  const checked = /checked the pod blocks of 2 node\(s\) for overlaps/;
  const first = await run(checkPeers);
  t.equal(first.code, 0);
  t.same(resultOf(first, 'check').map((e) => e.status).sort(), ['ok', 'ok'], 'both hosts passed the check');
  t.equal(logs(first, checked).length, 1, 'two hosts, one check');
  const second = await run(checkPeers);
  t.equal(second.code, 0);
  t.same(resultOf(second, 'check').map((e) => e.status).sort(), ['ok', 'ok']);
  t.equal(logs(second, checked).length, 1, 'the second run checks for itself: nothing of the first run is reused');
});
