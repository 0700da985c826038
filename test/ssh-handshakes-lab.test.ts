// The SSH handshake pool against a real lab (1 cluster x 6 netns nodes with sshd): with 2 handshake slots
// (MESHPLAY_SSH_MAX_HANDSHAKES) and 6 nodes reached at once, every node still connects and runs its task; the
// verbose log shows each connection's phases (reached, waited for a slot, handshake), and some waited.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { meshplay, recapOf } from './helpers/cli.js';
import { developerLabRunning, nodeLab } from './helpers/lab.js';

const skip =
  process.getuid?.() !== 0 ? 'needs root (network namespaces)'
  : !process.env.MESHPLAY_TEST_REPLACE_LAB && (await developerLabRunning())
    ? 'a lab is up; this test would replace it: run `meshplay lab down` first (or set MESHPLAY_TEST_REPLACE_LAB=1)'
  : false;

t.test('6 lab nodes through 2 handshake slots all connect', { skip }, async (t) => {
  const { up, opts } = await nodeLab(t, 'handshakes', { clusters: 1, nodes: 6 });
  const nodes = up.state.nodes.map((n) => n.name);
  t.equal(nodes.length, 6);
  const playbook = join(opts.stateDir, 'site.yml');
  await writeFile(playbook, "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - command: 'true'\n");
  const r = await meshplay(['run', playbook, '-i', opts.inventoryFile, '--output', 'ndjson', '-vvv'], {
    env: { MESHPLAY_SSH_MAX_HANDSHAKES: '2' },
    timeoutMs: 120_000,
  });
  t.equal(r.code, 0, `exit ${r.code}\n${r.stderr}`);
  const stats = recapOf(r).stats ?? recapOf(r);
  for (const n of nodes) t.match(stats[n], { ok: 1, unreachable: 0, failed: 0 }, `${n} ran its task`);
  const phases = r.events
    .filter((e) => e.type === 'log' && /handshake slot/.test(e.message))
    .map((e) => /reached in (\d+) ms .* waited (\d+) ms for a handshake slot, handshake (\d+) ms/.exec(e.message));
  t.equal(phases.length, 6, 'one phase line per connection');
  const waited = phases.map((m) => Number(m?.[2]));
  t.ok(waited.filter((w) => w > 0).length >= 3, `with 2 slots, at least 3 of 6 waited for one: ${waited.join(', ')} ms`);
  t.comment(`phases (reached/waited/handshake ms): ${phases.map((m) => `${m?.[1]}/${m?.[2]}/${m?.[3]}`).join(' ')}`);
});
