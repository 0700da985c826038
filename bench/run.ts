// meshplay against Ansible and against the floor (bench/floor.ts) on the pod CIDR routes job, in the lab.
//   npm run bench -- [--clusters 4 --nodes 12 | --scenarios 2x3,2x12,4x12,8x12,16x16] [--runs 5]
//                    [--results DIR]   (default scenarios: 2x3,2x12,4x12,8x12,16x16)
//                    [--work DIR] [--no-profile] [--keep-lab]
//                    [--ansible-max-nodes 96]   (larger scenarios run meshplay and the floor only)
//                    [--baseline DIR]   (a built meshplay checkout timed beside this one: before and after)
//                    [--baseline-min-nodes N]   (the baseline only in scenarios of at least N nodes)
//   npm run bench -- --k8s [--runs 5] [--results DIR] [--work DIR] [--keep-lab]   (bench/k8s.ts)
// For each scenario: lab up (no Kubernetes), then per run and per tool (the order rotates run by run):
// reset the routes, time a first run, check, time a converged re-run, check. Times are whole processes.
// Only one lab can exist on the machine: run it under `flock /tmp/meshplay-lab.lock`.
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { labDown, labUp } from '../lab/cli.js';
import type { LabState } from '../lab/state.js';
import { REPO_ROOT } from '../lab/state.js';
import { k8sMain } from './k8s.js';
import { parseArgs } from 'node:util';
import { positiveInt } from './stats.js';
import { cpuByComponent, phaseSplit, readCpuProfile, type PhaseSplit } from './profile.js';
import { PHASES, TOOLS, cpuTable, markdownTable, targetLines, targetVerdicts, ratio, summarize, svgChart, type Phase, type ScenarioResult, type Summary, type Tool } from './stats.js';
import {
  closeAnsibleMasters, resetRoutes, routeCount, routeProblems, runAnsible, runFloorProcess, runMeshplay, timed,
  workPaths, writeAnsibleInventory, type RunOutcome, type Work,
} from './tools.js';

interface Options {
  scenarios: Array<{ clusters: number; nodes: number }>;
  runs: number;
  resultsDir: string;
  workDir: string;
  profile: boolean;
  keepLab: boolean;
  /** Ansible takes minutes per run beyond this many nodes; larger scenarios compare against the floor only. */
  ansibleMaxNodes: number;
  /** A built checkout of meshplay (dist/bin/cli.js) timed as the `baseline` tool. */
  baseline?: string;
  /** The baseline runs only in scenarios of at least this many nodes (it adds a quarter to the bench's time). */
  baselineMinNodes: number;
  /** Results file base name: `routes` for the default scenario set. */
  name: string;
}

// Up to 256 nodes (issue 22's sizes are 8x12 and 16x16); Ansible runs up to --ansible-max-nodes (96), where it
// takes about a minute per first + converged pair. About half an hour on a quiet 2-core machine.
const DEFAULT_SCENARIOS = '2x3,2x12,4x12,8x12,16x16';

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: {
      clusters: { type: 'string' },
      nodes: { type: 'string' },
      scenarios: { type: 'string' },
      runs: { type: 'string' },
      results: { type: 'string' },
      work: { type: 'string' },
      'no-profile': { type: 'boolean' },
      'keep-lab': { type: 'boolean' },
      'ansible-max-nodes': { type: 'string' },
      baseline: { type: 'string' },
      'baseline-min-nodes': { type: 'string' },
    },
  });
  const clusters = v.clusters === undefined ? undefined : positiveInt('--clusters', v.clusters);
  const nodes = v.nodes === undefined ? undefined : positiveInt('--nodes', v.nodes);
  const scenarios = v.scenarios;
  const o = {
    runs: v.runs === undefined ? 5 : positiveInt('--runs', v.runs),
    resultsDir: v.results ?? join(REPO_ROOT, 'bench/results'),
    workDir: v.work ?? join(REPO_ROOT, 'bench/.work'),
    profile: !v['no-profile'],
    keepLab: Boolean(v['keep-lab']),
    ansibleMaxNodes: v['ansible-max-nodes'] === undefined ? 96 : positiveInt('--ansible-max-nodes', v['ansible-max-nodes']),
    baseline: v.baseline === undefined ? undefined : resolve(v.baseline),
    baselineMinNodes: v['baseline-min-nodes'] === undefined ? 0 : positiveInt('--baseline-min-nodes', v['baseline-min-nodes']),
  };
  if (o.baseline && !existsSync(join(o.baseline, 'dist/bin/cli.js')))
    throw new Error(`--baseline ${o.baseline}: no dist/bin/cli.js there (build that checkout first: npm ci && npm run build)`);
  if ((clusters === undefined) !== (nodes === undefined)) throw new Error('give --clusters and --nodes together');
  const spec = clusters !== undefined ? `${clusters}x${nodes}` : (scenarios ?? DEFAULT_SCENARIOS);
  const list = spec.split(',').map((s) => {
    const m = /^(\d+)x(\d+)$/.exec(s.trim());
    if (!m) throw new Error(`scenario '${s}' is not CLUSTERSxNODES, e.g. 4x12`);
    return { clusters: Number(m[1]), nodes: Number(m[2]) };
  });
  return { ...o, scenarios: list, name: spec === DEFAULT_SCENARIOS ? 'routes' : `routes-${spec.replace(/,/g, '_')}` };
}

const log = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface RunRecord {
  scenario: string;
  run: number;
  tool: Tool;
  phase: Phase;
  ms: number;
  peakMb?: number;
  cpuMs?: number;
  changed: number;
  problems: string[];
}

function checkChanged(phase: Phase, changed: number, hosts: number): string[] {
  if (phase === 'converged' && changed !== 0) return [`converged re-run reported ${changed} changed host(s), expected 0`];
  if (phase === 'first' && changed !== hosts) return [`first run reported ${changed} changed host(s), expected ${hosts}`];
  return [];
}

async function runTool(opts: Options, tool: Tool, work: Work, hosts: number, controlDir: string): Promise<RunOutcome> {
  // Every node at once, as Ansible is given --forks = nodes: meshplay's default of 50 would run a 96-node task in
  // two overlapping waves while the other tools run all nodes together.
  const forks = ['--forks', String(hosts)];
  if (tool === 'meshplay') return runMeshplay(work, forks);
  if (tool === 'baseline') return runMeshplay(work, forks, [], opts.baseline);
  if (tool === 'floor') return runFloorProcess(work);
  return runAnsible(work, hosts, controlDir);
}

function toolsFor(opts: Options, hosts: number): Tool[] {
  return TOOLS.filter((t) => (t !== 'ansible' || hosts <= opts.ansibleMaxNodes) && (t !== 'baseline' || (opts.baseline && hosts >= opts.baselineMinNodes)));
}

async function scenario(
  opts: Options, work: Work, clusters: number, nodes: number, records: RunRecord[],
): Promise<{ result: ScenarioResult; state: LabState; lastMeshplay?: Record<Phase, RunOutcome> }> {
  const label = `${clusters}x${nodes}`;
  log(`${label}: lab up`);
  const up = await labUp({ clusters, nodes, kube: false, stateDir: work.stateDir, inventoryFile: work.inventoryFile, log: (l) => log(`lab: ${l}`) });
  const state = up.state;
  await writeAnsibleInventory(state, work);
  const hosts = state.nodes.length;
  const tools = toolsFor(opts, hosts);
  const times = Object.fromEntries(tools.map((t) => [t, { first: [] as number[], converged: [] as number[] }])) as Record<Tool, Record<Phase, number[]>>;
  const peakMb: Record<Phase, number[]> = { first: [], converged: [] };
  const cpuMs = Object.fromEntries(tools.map((t) => [t, { first: [] as number[], converged: [] as number[] }])) as Record<Tool, Record<Phase, number[]>>;
  let lastMeshplay: Record<Phase, RunOutcome> | undefined;
  for (let run = 0; run < opts.runs; run++) {
    const order = tools.map((_, i) => tools[(i + run) % tools.length]!);
    for (const tool of order) {
      const controlDir = join(work.dir, `cp-${run}`);
      await resetRoutes(state, work.stateDir);
      const outcomes = {} as Record<Phase, RunOutcome>;
      for (const phase of PHASES) {
        const out = await runTool(opts, tool, work, hosts, controlDir);
        const problems = [...out.problems, ...checkChanged(phase, out.changed, hosts), ...(await routeProblems(state, work.stateDir))];
        // Medians are of runs that passed their checks: a failed run's time measures the failure (it is listed).
        if (!problems.length) {
          times[tool][phase].push(out.ms);
          if (tool === 'meshplay' && out.peakMb !== undefined) peakMb[phase].push(out.peakMb);
          if (out.cpuMs !== undefined) cpuMs[tool][phase].push(out.cpuMs);
        }
        records.push({ scenario: label, run: run + 1, tool, phase, ms: Math.round(out.ms), peakMb: out.peakMb, cpuMs: out.cpuMs, changed: out.changed, problems });
        outcomes[phase] = out;
        const mem = (out.cpuMs === undefined ? '' : `, CPU ${(out.cpuMs / 1000).toFixed(2)} s`) + (out.peakMb === undefined ? '' : `, peak ${out.peakMb} MB`);
        log(`${label} run ${run + 1} ${tool} ${phase}: ${(out.ms / 1000).toFixed(2)} s${mem}, changed ${out.changed}${problems.length ? ` PROBLEMS: ${problems.join(' | ')}` : ''}`);
      }
      if (tool === 'ansible') await closeAnsibleMasters(controlDir);
      if (tool === 'meshplay') lastMeshplay = outcomes;
    }
  }
  const summary = Object.fromEntries(
    tools.filter((t) => PHASES.every((p) => times[t][p].length)).map((t) => [t, Object.fromEntries(PHASES.map((p) => [p, summarize(times[t][p])]))]),
  ) as Record<Tool, Record<Phase, Summary>>;
  const peakSummary = { first: summarize(peakMb.first), converged: summarize(peakMb.converged) };
  const cpuSummary = Object.fromEntries(
    tools.filter((t) => PHASES.every((p) => cpuMs[t][p].length)).map((t) => [t, Object.fromEntries(PHASES.map((p) => [p, summarize(cpuMs[t][p])]))]),
  ) as Partial<Record<Tool, Record<Phase, Summary>>>;
  return { result: { clusters, nodes, hosts, routes: routeCount(state), tools, times, summary, peakMb, peakSummary, cpuSummary }, state, lastMeshplay };
}

interface ProfileReport {
  scenario: string;
  /** `meshplay`, or `baseline` for the --baseline checkout. */
  tool: 'meshplay' | 'baseline';
  phases: Record<Phase, PhaseSplit>;
  transport: Record<Phase, Record<string, unknown> | undefined>;
  cpu: Record<Phase, Array<{ component: string; ms: number }>>;
  floor: Record<Phase, Record<string, number>>;
}

/** One extra profiled first run and converged run of meshplay (--cpu-prof), and of the floor for its split. */
async function profileRuns(work: Work, state: LabState, label: string, tool: 'meshplay' | 'baseline', root: string): Promise<ProfileReport> {
  const report = { scenario: label, tool, phases: {}, transport: {}, cpu: {}, floor: {} } as ProfileReport;
  await resetRoutes(state, work.stateDir);
  for (const phase of PHASES) {
    const dir = join(work.dir, `prof-${phase}`);
    await rm(dir, { recursive: true, force: true });
    await mkdir(dir, { recursive: true });
    // Timed runs stay unprofiled; this run's phases come from the ndjson, the CPU split from the profile.
    const out = await runMeshplay(work, ['--forks', String(state.nodes.length)], ['--cpu-prof', '--cpu-prof-dir', dir], root);
    if (out.problems.length) throw new Error(`profiled ${tool} ${phase} run failed: ${out.problems.join('; ')}`);
    report.phases[phase] = phaseSplit(out.events ?? [], out.ms);
    report.transport[phase] = out.transport;
    report.cpu[phase] = cpuByComponent(await readCpuProfile(dir));
  }
  await resetRoutes(state, work.stateDir);
  for (const phase of PHASES) {
    const t = await timed(process.execPath, [join(REPO_ROOT, 'dist/bench/floor.js'), work.stateDir]);
    if (t.code !== 0) throw new Error(`the floor's ${phase} run for the split failed: ${t.stderr.trim()}`);
    report.floor[phase] = { ...(JSON.parse(t.stdout) as Record<string, number>), wallMs: Math.round(t.ms) };
  }
  return report;
}

async function versionTimes(runs: number): Promise<Record<'meshplay' | 'ansible', Summary>> {
  const m: number[] = [];
  const a: number[] = [];
  for (let i = 0; i < Math.max(runs, 5); i++) {
    m.push((await timed(process.execPath, [join(REPO_ROOT, 'dist/bin/cli.js'), '--version'])).ms);
    a.push((await timed('ansible-playbook', ['--version'])).ms);
  }
  return { meshplay: summarize(m), ansible: summarize(a) };
}

function profileMarkdown(p: ProfileReport): string {
  const who = p.tool === 'baseline' ? 'the baseline (--baseline checkout)' : 'meshplay';
  const out = [`### Where ${who}'s time goes at ${p.scenario}`, ''];
  for (const phase of PHASES) {
    const s = p.phases[phase];
    const f = p.floor[phase]!;
    out.push(
      `**${phase} run** (profiled, so a little slower than the timed runs): wall ${s.wallMs} ms — start-up to first event ${s.startupMs} ms; ` +
        s.tasks.map((t) => `${t.task} ${t.ms} ms`).join('; ') +
        `; last task to recap ${s.toRecapMs} ms; recap to exit ${s.exitMs} ms.`,
      '',
      `Transport (recap): \`${JSON.stringify(p.transport[phase] ?? {})}\``,
      '',
      `Floor, same state: wall ${f.wallMs} ms — modules loaded at ${f.loadedMs} ms, all connected at ${f.connectedMs} ms, all read at ${f.readMs} ms, done at ${f.ms} ms.`,
      '',
      `| CPU self time (${p.tool}) | ms |`,
      '|---|---|',
      ...p.cpu[phase].slice(0, 14).map((c) => `| ${c.component} | ${c.ms} |`),
      '',
    );
  }
  return out.join('\n');
}

async function writeResults(
  opts: Options, started: Date, results: ScenarioResult[], records: RunRecord[],
  version: Record<'meshplay' | 'ansible', Summary> | undefined, profile: ProfileReport[],
): Promise<{ md: string; failures: RunRecord[] }> {
  const failures = records.filter((r) => r.problems.length);

  const doc = {
    startedAt: started.toISOString(),
    machine: { node: process.version, cpus: cpus().length, loadAverageAtWrite: loadavg().map((l) => +l.toFixed(1)) },
    runs: opts.runs,
    scenarios: results,
    ratios: results.map((r) => {
      const med = (t: Tool, p: Phase) => r.summary[t]?.[p].median;
      const over = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : ratio(a, b));
      return {
        scenario: `${r.clusters}x${r.nodes}`,
        ...Object.fromEntries(
          PHASES.map((p) => [p, {
            ansibleOverMeshplay: over(med('ansible', p), med('meshplay', p)),
            meshplayOverFloor: over(med('meshplay', p), med('floor', p)),
            ansibleOverFloor: over(med('ansible', p), med('floor', p)),
            meshplayOverBaseline: over(med('meshplay', p), med('baseline', p)),
          }]),
        ),
      };
    }),
    targets: targetVerdicts(results),
    version,
    profile,
    runsDetail: records,
    correctness: failures.length ? 'FAILED' : 'every run left exactly the expected routes; every converged re-run changed nothing',
  };
  const md = [
    `## meshplay vs Ansible: pod CIDR routes (${opts.runs} runs each, ${started.toISOString().slice(0, 10)})`,
    '',
    'Whole-process wall time in seconds, median (min–max). "first" starts from a lab without the routes; "converged" is the re-run right after.',
    'Verification pings off (`-e pod_cidr_routes_verify=false`). Floor: bench/floor.ts (ssh2, one `ip -j -d route show` and one `ip -batch -` per node).',
    '',
    `Machine: ${cpus().length} cores, Node ${process.version}; load average (1/5/15 min) when written: ${loadavg().map((l) => l.toFixed(1)).join(' / ')} — other work shared the machine, so spreads are wide.`,
    '',
    markdownTable(results),
    'CPU time of the Node processes (user + system, seconds; less disturbed than wall time by other work on the machine):',
    '',
    cpuTable(results),
    version
      ? `\`--version\`: meshplay ${version.meshplay.median} ms (${version.meshplay.min}–${version.meshplay.max}), ansible-playbook ${version.ansible.median} ms (${version.ansible.min}–${version.ansible.max}).`
      : '(run still in progress)',
    '',
    ...targetLines(doc.targets),
    `Correctness: ${doc.correctness}.`,
    ...(failures.length ? ['', ...failures.map((f) => `- ${f.scenario} run ${f.run} ${f.tool} ${f.phase}: ${f.problems.join('; ')}`)] : []),
    '',
    ...profile.map(profileMarkdown),
  ].join('\n');
  await writeFile(join(opts.resultsDir, `${opts.name}.json`), JSON.stringify(doc, null, 2) + '\n');
  await writeFile(join(opts.resultsDir, `${opts.name}.md`), md);
  await writeFile(join(opts.resultsDir, `${opts.name}.svg`), svgChart(results, 'pod CIDR routes: time against nodes'));
  return { md, failures };
}

async function main(): Promise<number> {
  // The Kubernetes scenario (bench/k8s.ts) is a separate job with its own lab and options.
  if (process.argv.includes('--k8s')) return k8sMain(process.argv.slice(2).filter((a) => a !== '--k8s'));
  const opts = parseOptions(process.argv.slice(2));
  const work = workPaths(opts.workDir);
  await mkdir(work.dir, { recursive: true });
  await mkdir(opts.resultsDir, { recursive: true });
  const records: RunRecord[] = [];
  const results: ScenarioResult[] = [];
  const profile: ProfileReport[] = [];
  const started = new Date();
  try {
    for (const s of opts.scenarios) {
      const { result, state } = await scenario(opts, work, s.clusters, s.nodes, records);
      results.push(result);
      await writeResults(opts, started, results, records, undefined, profile); // kept if a later scenario breaks
      // The sizes issue 22 sets targets for (96 and 256 nodes), else 4x12 or a lone scenario; the baseline too.
      const hosts = s.clusters * s.nodes;
      const profileHere = opts.profile && (hosts === 96 || hosts === 256 || (s.clusters === 4 && s.nodes === 12) || opts.scenarios.length === 1);
      if (profileHere) {
        const label = `${s.clusters}x${s.nodes}`;
        // A profiled run that fails (a node's handshake timing out on a loaded machine) costs its profile, never
        // the timed runs already measured: the bench once ended there with nothing written after the last scenario.
        const profiled = async (tool: 'meshplay' | 'baseline', root: string) => {
          log(`${label}: profiling ${tool === 'meshplay' ? 'meshplay' : 'the baseline'}`);
          try {
            profile.push(await profileRuns(work, state, label, tool, root));
          } catch (err) {
            log(`${label}: no profile of ${tool}: ${(err as Error).message}`);
          }
        };
        await profiled('meshplay', REPO_ROOT);
        if (opts.baseline && hosts >= opts.baselineMinNodes) await profiled('baseline', opts.baseline);
        await writeResults(opts, started, results, records, undefined, profile);
      }
    }
  } finally {
    if (!opts.keepLab) {
      log('lab down');
      await labDown({ kube: false, stateDir: work.stateDir, inventoryFile: work.inventoryFile });
    }
  }
  const version = await versionTimes(opts.runs);
  const { md, failures } = await writeResults(opts, started, results, records, version, profile);
  process.stdout.write(md);
  log(`results in ${join(opts.resultsDir, opts.name)}.{json,md,svg}`);
  if (failures.length) log(`${failures.length} run(s) failed their correctness checks`);
  return failures.length ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (err: Error) => {
    process.stderr.write(`bench: ${err.stack ?? err.message}\n`);
    process.exitCode = 1;
  },
);
