// Differential parity with real Ansible (test/helpers/parity.ts): every case in test/parity/cases runs under
// meshplay and must match what ansible-playbook did (the recording), or show the declared stricter answer.
// Cases meshplay does not match yet are named, with the reason, in test/parity/known-differences.json and in
// the README; each is reported as TODO, and the test fails when one of them matches (drop it) or is silently
// green. The recordings cannot drift: each carries the ansible-core version and a digest of the case's inputs
// (an edited case fails at once), and a rotating share of the cases is re-run under the installed
// ansible-playbook on each run (all of them with PARITY_VERIFY=all).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './helpers/cli.js';
import { ANSIBLE_VERSION, SILENTLY_GREEN, ansibleVersion, compare, deliberateAnswers, deliberateVerdict, knownDifferences, loadCases, mapLimit, runAnsible, runMeshplay, verdict } from './helpers/parity.js';

const cases = loadCases(process.env.PARITY_CASES ? new RegExp(process.env.PARITY_CASES) : undefined);
const known = knownDifferences();
const answers = deliberateAnswers();

t.test('the corpus is large enough', async (t) => {
  t.ok(cases.length >= 150 || process.env.PARITY_CASES, `${cases.length} cases`);
});

t.test('the known differences are real cases and written in the README', async (t) => {
  const readme = readFileSync(join(repoRoot, 'README.md'), 'utf8');
  const all = new Set(loadCases().map((c) => c.name));
  for (const [name, reason] of Object.entries(known)) {
    t.ok(all.has(name), `${name} is a case`);
    t.ok(reason.trim().length > 0, `${name} says why`);
    t.ok(readme.includes(`\`${name}\``), `the README's "Differences from Ansible" names ${name}`);
  }
  for (const name of Object.keys(answers)) t.ok(known[name]?.startsWith('kept on purpose'), `${name}: a deliberate answer belongs to a difference kept on purpose`);
  for (const [name, reason] of Object.entries(known)) {
    if (reason.startsWith('kept on purpose')) t.ok(answers[name], `${name}: kept on purpose, so test/parity/deliberate-answers.json says what meshplay writes`);
  }
});

// A loaded CI machine runs these far slower than an idle one (about 1 min each there): tap's 600 s default is too tight.
const SLOW = { timeout: 1_800_000 };

t.test('meshplay matches the Ansible recordings', SLOW, async (t) => {
  // Several at once: some cases mostly wait (wait_for, retries with delay).
  const verdicts = await mapLimit(cases, Number(process.env.PARITY_JOBS ?? 4), async (c) => {
    const r = await runMeshplay(c);
    return { c, diffs: verdict(c, r), deliberate: answers[c.name] ? deliberateVerdict(c, r, answers[c.name]) : undefined };
  });
  for (const { c, diffs, deliberate } of verdicts) {
    const reason = known[c.name];
    if (reason === undefined) t.same(diffs, [], c.name);
    else if (diffs.some((d) => d.startsWith(SILENTLY_GREEN))) t.same(diffs, [], `${c.name}: a known difference may not be silently green`);
    else if (diffs.length && deliberate) t.same(deliberate, [], `${c.name}: meshplay's deliberate answer (${reason})`);
    else if (diffs.length) t.same(diffs, [], `${c.name} (known difference: ${reason})`, { todo: reason });
    else t.fail(`${c.name} now matches Ansible: drop it from test/parity/known-differences.json and the README`);
  }
});

t.test('the recordings are what the installed Ansible does', SLOW, async (t) => {
  for (const c of cases) t.ok(c.expected?.ansible === ANSIBLE_VERSION, `${c.name}: recorded from ansible-core ${ANSIBLE_VERSION}`);
  const version = await ansibleVersion();
  if (!version) {
    // CI installs ansible-core (scripts/install-deps.sh --bench): there, a missing Ansible is a failure.
    if (process.env.CI) t.fail('ansible-playbook is not installed: scripts/install-deps.sh --bench installs it');
    else t.pass('ansible-playbook is not installed: not verified here', { skip: 'ansible-playbook is not installed' });
    return;
  }
  t.equal(version, ANSIBLE_VERSION, 'the recordings come from this ansible-core');
  const all = process.env.PARITY_VERIFY === 'all';
  // Rotating share: one case in PARITY_SHARE by day, so every case is re-verified within that many days.
  const share = Number(process.env.PARITY_SHARE ?? 6);
  const day = Math.floor(Date.now() / 86_400_000);
  const chosen = all ? cases : cases.filter((_, i) => (i + day) % share === 0);
  const checked = await mapLimit(chosen, Number(process.env.PARITY_JOBS ?? 3), async (c) => ({ c, r: await runAnsible(c) }));
  for (const { c, r } of checked) {
    if (!c.expected) t.fail(`${c.name}: no recording`);
    else t.same(compare(c.expected, r), [], `${c.name}: recording matches ansible-playbook ${version}`);
  }
});
