// One table and one chart from several bench result files, e.g. the small scenarios (with Ansible) and the large
// ones (without) measured in two runs:
//   node dist/bench/combine.js bench/results/routes bench/results/routes-2x3_2x12_4x12.json bench/results/routes-8x12_16x16.json
// writes bench/results/routes.{md,svg}. Each file's scenarios stay as measured; the page names the files and
// their dates, since ratios are only comparable within one file (each file's tools ran side by side).
import { readFile, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { PHASES, cpuTable, markdownTable, summarize, svgChart, targetLines, targetVerdicts, type ScenarioResult, type Tool } from './stats.js';

interface RunDetail {
  scenario: string;
  tool: Tool;
  phase: (typeof PHASES)[number];
  ms: number;
  peakMb?: number;
  cpuMs?: number;
  problems: string[];
}

interface ResultFile {
  startedAt: string;
  runs: number;
  machine?: { loadAverageAtWrite?: number[] };
  scenarios: ScenarioResult[];
  runsDetail: RunDetail[];
}

/**
 * A scenario's figures from its runs that passed their checks only: a failed run (a node unreachable, a hung
 * connection killed) has a time that measures the failure, not the job. Returns what was left out.
 */
function passedOnly(s: ScenarioResult, details: RunDetail[]): string[] {
  const label = `${s.clusters}x${s.nodes}`;
  const excluded: string[] = [];
  const ok = (t: Tool, p: RunDetail['phase']) => details.filter((r) => r.scenario === label && r.tool === t && r.phase === p && !r.problems.length);
  for (const t of s.tools) {
    const failed = details.filter((r) => r.scenario === label && r.tool === t && r.problems.length).length;
    if (failed) excluded.push(`${label} ${t}: ${failed} run(s) failed their checks and are left out`);
    const phases = Object.fromEntries(PHASES.map((p) => [p, summarize(ok(t, p).map((r) => r.ms))]));
    if (PHASES.some((p) => phases[p]!.n === 0)) {
      delete s.summary[t];
      if (s.cpuSummary) delete s.cpuSummary[t];
      continue;
    }
    s.summary[t] = phases as Record<RunDetail['phase'], ReturnType<typeof summarize>>;
    if (s.cpuSummary?.[t]) s.cpuSummary[t] = Object.fromEntries(PHASES.map((p) => [p, summarize(ok(t, p).flatMap((r) => (r.cpuMs === undefined ? [] : [r.cpuMs])))])) as never;
    if (t === 'meshplay') s.peakSummary = Object.fromEntries(PHASES.map((p) => [p, summarize(ok(t, p).flatMap((r) => (r.peakMb === undefined ? [] : [r.peakMb])))])) as never;
  }
  return excluded;
}

async function main(): Promise<number> {
  const [out, ...files] = process.argv.slice(2);
  if (!out || !files.length) {
    process.stderr.write('usage: node dist/bench/combine.js OUT_BASENAME RESULT.json...\n');
    return 2;
  }
  const docs = await Promise.all(files.map(async (f) => ({ file: f, doc: JSON.parse(await readFile(f, 'utf8')) as ResultFile })));
  const excluded = docs.flatMap((d) => d.doc.scenarios.flatMap((s) => passedOnly(s, d.doc.runsDetail)));
  const scenarios = docs.flatMap((d) => d.doc.scenarios).sort((a, b) => a.hosts - b.hosts);
  const md = [
    '## pod CIDR routes: every scenario (combined)',
    '',
    'Combined from these bench runs (within each, the tools ran side by side in a rotating order; see each file for the',
    "run's details, profiles and correctness checks):",
    '',
    ...docs.map((d) => `- [${basename(d.file, '.json')}.md](${basename(d.file, '.json')}.md): started ${d.doc.startedAt}, ${d.doc.runs} runs, scenarios ${d.doc.scenarios.map((s) => `${s.clusters}×${s.nodes}`).join(', ')}`),
    '',
    'Medians over the runs that passed their checks (every node holds exactly the expected routes, the first run changed',
    'every node and the re-run none); a tool with no passing run in a scenario shows —.',
    ...(excluded.length ? ['', ...excluded.map((e) => `- ${e}`)] : []),
    '',
    markdownTable(scenarios),
    'CPU time of the Node processes (user + system, seconds):',
    '',
    cpuTable(scenarios),
    ...targetLines(targetVerdicts(scenarios)),
  ].join('\n');
  await writeFile(`${out}.md`, md);
  await writeFile(`${out}.svg`, svgChart(scenarios, 'pod CIDR routes: time against nodes'));
  process.stdout.write(md);
  return 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`combine: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
