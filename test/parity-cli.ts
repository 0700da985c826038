// `npm run parity:record [REGEX]`: re-records the expectations of the parity cases from the installed
// ansible-playbook. `npm run parity [REGEX]` runs meshplay against the recordings and prints each difference;
// a case in test/parity/known-differences.json is reported as KNOWN with its reason (not a failure), unless it
// is silently green or now matches (then its entry must go); a difference kept on purpose must give exactly its
// answer in test/parity/deliberate-answers.json.
import { ANSIBLE_VERSION, SILENTLY_GREEN, ansibleVersion, deliberateAnswers, deliberateVerdict, knownDifferences, loadCases, mapLimit, record, runAnsible, runMeshplay, verdict } from './helpers/parity.js';

const [mode, pattern] = process.argv.slice(2);
const cases = loadCases(pattern ? new RegExp(pattern) : undefined);
if (mode === 'record') {
  const version = await ansibleVersion();
  if (!version) throw new Error('ansible-playbook not found: scripts/install-deps.sh --bench installs it');
  if (version !== ANSIBLE_VERSION) process.stderr.write(`warning: recording with ansible-core ${version}, not ${ANSIBLE_VERSION}\n`);
  await mapLimit(cases, Number(process.env.PARITY_JOBS ?? 3), async (c) => {
    const r = await runAnsible(c);
    record(c, r, version);
    process.stdout.write(`${c.name}: exit ${r.exit} ${JSON.stringify(r.recap)}\n`);
    if (process.env.PARITY_VERBOSE) process.stdout.write(r.log);
  });
} else {
  const known = knownDifferences();
  const answers = deliberateAnswers();
  let bad = 0;
  let knownSeen = 0;
  await mapLimit(cases, Number(process.env.PARITY_JOBS ?? 2), async (c) => {
    const r = await runMeshplay(c);
    const diffs = verdict(c, r);
    const reason = known[c.name];
    const deliberate = answers[c.name] ? deliberateVerdict(c, r, answers[c.name]) : [];
    if (reason !== undefined && diffs.length && deliberate.length) {
      bad++;
      process.stdout.write(`CHANGED ${c.name}: no longer the deliberate answer of test/parity/deliberate-answers.json\n  ${deliberate.join('\n  ')}\n`);
    } else if (reason !== undefined && diffs.length && !diffs.some((d) => d.startsWith(SILENTLY_GREEN))) {
      knownSeen++;
      process.stdout.write(`KNOWN ${c.name}: ${reason}\n  ${diffs.join('\n  ')}\n`);
    } else if (reason !== undefined && !diffs.length) {
      bad++;
      process.stdout.write(`FIXED ${c.name}: matches Ansible now; drop it from known-differences.json and the README\n`);
    } else if (diffs.length) {
      bad++;
      process.stdout.write(`DIFF ${c.name}\n  ${diffs.join('\n  ')}\n`);
    }
    if (diffs.length && process.env.PARITY_VERBOSE) process.stdout.write(r.log);
  });
  process.stdout.write(`${cases.length - bad - knownSeen}/${cases.length} cases match, ${knownSeen} known differences, ${bad} unexpected\n`);
  process.exitCode = bad ? 1 : 0;
}
