// The whole lab (network-namespace nodes + real API servers) and the sample playbook through the CLI.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { labDown, labUp } from '../lab/cli.js';
import { meshplay, recapOf, results } from './helpers/cli.js';

const stateDir = mkdtempSync(join(tmpdir(), 'meshplay-smoke-'));
const inventoryFile = join(stateDir, 'lab.yml');

t.teardown(() => labDown({ stateDir, kube: true }));

t.test('lab up with API servers, then the smoke playbook lists nodes through the API and runs hostname over SSH', async (t) => {
  const up = await labUp({ clusters: 2, nodes: 2, kube: true, stateDir, inventoryFile, log: () => undefined });
  t.equal(up.state.spec.clusters.length, 2);
  const r = await meshplay(['run', 'playbooks/lab-smoke.yml', '-i', inventoryFile, '--output', 'ndjson']);
  t.equal(r.code, 0, r.stdout.slice(-3000) + r.stderr);
  const listed = results(r, 'list nodes');
  t.same(listed.map((e) => e.host).sort(), ['lab1', 'lab2']);
  for (const e of listed) t.same(e.result.resources.map((n: any) => n.metadata.name).sort(), [`${e.host}-n1`, `${e.host}-n2`]);
  t.same(results(r, 'hostname').map((e) => e.status), ['ok', 'ok', 'ok', 'ok']);
  const transport = recapOf(r).transport;
  t.equal(transport.ssh.connections, 4, 'one SSH connection per node');
  t.equal(transport.kubernetes.connections, 2, 'one API client per cluster');
  t.notOk(transport.kubernetes.requests?.PATCH, 'a read-only playbook writes nothing');
});

t.test('an API server that is down makes its cluster unreachable; the rest of the run goes on (exit 4)', async (t) => {
  const { readFileSync } = await import('node:fs');
  const state = JSON.parse(readFileSync(join(stateDir, 'kube', 'lab2', 'state.json'), 'utf8')) as { pids: { apiserver: number } };
  process.kill(state.pids.apiserver, 'SIGTERM'); // started by this test's lab, recorded by it
  await new Promise((r) => setTimeout(r, 1500));
  const r = await meshplay(['run', 'playbooks/lab-smoke.yml', '-i', inventoryFile, '--output', 'ndjson']);
  t.equal(r.code, 4, r.stdout.slice(-2000));
  const stats = recapOf(r).stats;
  t.equal(stats.lab2.unreachable, 1, 'lab2 unreachable');
  t.equal(stats.lab2.failed, 0, 'not counted as failed');
  t.equal(stats.lab1.failed + stats.lab1.unreachable, 0, 'lab1 fine');
  t.same(results(r, 'hostname').map((e) => e.status), ['ok', 'ok', 'ok', 'ok'], 'every node still ran');
});
