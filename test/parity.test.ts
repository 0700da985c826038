// Differential parity with real Ansible (test/helpers/parity.ts): every case in test/parity/cases runs under
// meshplay and must match what ansible-playbook did (the recording), or show the declared stricter answer.
// The recordings are re-verified against the installed ansible-playbook: a rotating share of the cases on
// each run (all of them with PARITY_VERIFY=all), so they cannot drift from the real thing; a case edited
// since its recording fails at once (its inputs' digest changed).
import t from 'tap';
import { ANSIBLE_VERSION, ansibleVersion, compare, loadCases, mapLimit, runAnsible, runMeshplay, verdict } from './helpers/parity.js';

const cases = loadCases(process.env.PARITY_CASES ? new RegExp(process.env.PARITY_CASES) : undefined);

t.test('the corpus is large enough', async (t) => {
  t.ok(cases.length >= 150, `${cases.length} cases`);
});

t.test('meshplay matches the Ansible recordings', async (t) => {
  const verdicts = await mapLimit(cases, 2, async (c) => ({ c, diffs: verdict(c, await runMeshplay(c)) }));
  for (const { c, diffs } of verdicts) {
    if (c.spec.open && diffs.length) t.same(diffs, [], `${c.name} (open: ${c.spec.open})`, { todo: c.spec.open });
    else if (c.spec.open) t.fail(`${c.name} now matches Ansible: drop its "open" entry`);
    else t.same(diffs, [], c.name);
  }
});

t.test('the recordings are what the installed Ansible does', async (t) => {
  const version = await ansibleVersion();
  if (!version) {
    // CI installs ansible-core (scripts/install-deps.sh --bench): there, a missing Ansible is a failure.
    if (process.env.CI) t.fail('ansible-playbook is not installed: scripts/install-deps.sh --bench installs it');
    else t.pass('ansible-playbook is not installed: not verified here', { skip: 'ansible-playbook is not installed' });
    return;
  }
  t.equal(version, ANSIBLE_VERSION, 'the recordings come from this ansible-core');
  const all = process.env.PARITY_VERIFY === 'all';
  // Rotating share: one case in PARITY_SHARE (default 4) by day, so every case is re-verified within days.
  const share = Number(process.env.PARITY_SHARE ?? 4);
  const day = Math.floor(Date.now() / 86_400_000);
  const chosen = all ? cases : cases.filter((_, i) => (i + day) % share === 0);
  const checked = await mapLimit(chosen, Number(process.env.PARITY_JOBS ?? 3), async (c) => ({ c, r: await runAnsible(c) }));
  for (const { c, r } of checked) {
    if (!c.expected) t.fail(`${c.name}: no recording`);
    else t.same(compare(c.expected, r), [], `${c.name}: recording matches ansible-playbook ${version}`);
  }
});
