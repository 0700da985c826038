// `npm run parity:record [REGEX]`: re-records the expectations of the parity cases from the installed
// ansible-playbook. `npm run parity [REGEX]` runs meshplay against the recordings and prints each difference.
import { ANSIBLE_VERSION, ansibleVersion, loadCases, mapLimit, record, runAnsible, runMeshplay, verdict } from './helpers/parity.js';

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
  let bad = 0;
  await mapLimit(cases, Number(process.env.PARITY_JOBS ?? 2), async (c) => {
    const r = await runMeshplay(c);
    const diffs = verdict(c, r);
    if (diffs.length) {
      bad++;
      process.stdout.write(`DIFF ${c.name}${c.spec.open ? ' (open)' : ''}\n  ${diffs.join('\n  ')}\n`);
      if (process.env.PARITY_VERBOSE) process.stdout.write(r.log);
    }
  });
  process.stdout.write(`${cases.length - bad}/${cases.length} cases match\n`);
  process.exitCode = bad ? 1 : 0;
}
