// Running the three tools on the lab, resetting the lab between runs, and checking each run's result.
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { nodeExec } from '../lab/cli.js';
import type { LabState } from '../lab/state.js';
import { REPO_ROOT, labPaths } from '../lab/state.js';

export const PROTO = 201;

export interface Work {
  /** Scratch dir (gitignored): lab state, inventories, ssh control sockets, profiles. */
  dir: string;
  stateDir: string;
  inventoryFile: string;
  ansibleInventory: string;
}

export function workPaths(dir: string): Work {
  return { dir, stateDir: join(dir, 'lab'), inventoryFile: join(dir, 'lab.yml'), ansibleInventory: join(dir, 'ansible-inventory.yml') };
}

export interface Timed {
  ms: number;
  code: number;
  stdout: string;
  stderr: string;
  /** ms after spawn at which each stdout line arrived. */
  lineTimes: number[];
}

/** Runs a command to completion; the time is the whole process, spawn to exit. */
export function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(cmd, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const lineTimes: number[] = [];
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      const now = performance.now() - started;
      // indexOf, not a loop over characters: a 256-node run prints 12 MB of ndjson, and this process shares the
      // machine's cores with the program it times (the character loop cost it ~0.1-0.2 s of CPU per run).
      for (let i = d.indexOf('\n'); i !== -1; i = d.indexOf('\n', i + 1)) lineTimes.push(now);
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err) => reject(new Error(`cannot run ${cmd}: ${err.message}`)));
    child.on('close', (code) => resolve({ ms: performance.now() - started, code: code ?? 128, stdout, stderr, lineTimes }));
  });
}

const RUSAGE_PRELOAD = join(REPO_ROOT, 'bench/rusage.cjs');

/** A Node program timed as a whole process, with its peak resident memory (MB) and CPU time (ms) read through bench/rusage.cjs. */
export async function timedNode(args: string[]): Promise<Timed & { peakMb?: number; cpuMs?: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'meshplay-bench-rusage-'));
  const file = join(dir, 'rusage.json');
  try {
    const t = await timed(process.execPath, ['--require', RUSAGE_PRELOAD, ...args], { ...process.env, MESHPLAY_BENCH_RUSAGE_FILE: file });
    const u = JSON.parse(await readFile(file, 'utf8').catch(() => '{}')) as { maxRSS?: number; userCPU?: number; systemCPU?: number };
    return {
      ...t,
      peakMb: u.maxRSS ? Math.round(u.maxRSS / 1024) : undefined,
      cpuMs: u.userCPU === undefined ? undefined : Math.round((u.userCPU + (u.systemCPU ?? 0)) / 1000),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

// ---- the lab ---------------------------------------------------------------------------------

/** "dst via gateway" of every route each node must hold: every block of other clusters via its owner. */
export function expectedRoutes(state: LabState): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  for (const n of state.nodes)
    out.set(n.name, new Set(state.nodes.filter((m) => m.cluster !== n.cluster).map((m) => `${m.podBlock} via ${m.address}`)));
  return out;
}

export function routeCount(state: LabState): number {
  return [...expectedRoutes(state).values()].reduce((a, s) => a + s.size, 0);
}

async function eachNode<T>(state: LabState, fn: (node: string) => Promise<T>): Promise<T[]> {
  // ip netns exec forks a process per node; 16 at a time keeps the 2-core machine responsive.
  const results: T[] = [];
  const names = state.nodes.map((n) => n.name);
  for (let i = 0; i < names.length; i += 16) results.push(...(await Promise.all(names.slice(i, i + 16).map(fn))));
  return results;
}

/** Deletes every protocol-201 route on every node: what both meshplay and the Ansible peer add. */
export async function resetRoutes(state: LabState, stateDir: string): Promise<void> {
  const failed = (
    await eachNode(state, async (n) => {
      const r = await nodeExec(n, ['ip', 'route', 'flush', 'proto', String(PROTO)], { stateDir });
      return r.exitCode === 0 ? undefined : `${n}: ${r.stderr.trim()}`;
    })
  ).filter(Boolean);
  if (failed.length) throw new Error(`resetting routes failed on ${failed.length} node(s): ${failed.slice(0, 3).join('; ')}${failed.length > 3 ? '; …' : ''}`);
}

/** What is wrong with the routes on the nodes: missing or unexpected protocol-201 routes. */
export async function routeProblems(state: LabState, stateDir: string): Promise<string[]> {
  const expected = expectedRoutes(state);
  const problems = await eachNode(state, async (n) => {
    const r = await nodeExec(n, ['ip', '-j', 'route', 'show', 'proto', String(PROTO)], { stateDir });
    if (r.exitCode !== 0) return [`${n}: ip route show failed: ${r.stderr.trim()}`];
    const have = new Set((JSON.parse(r.stdout || '[]') as Array<{ dst: string; gateway?: string }>).map((x) => `${x.dst} via ${x.gateway}`));
    const want = expected.get(n)!;
    const missing = [...want].filter((x) => !have.has(x));
    const extra = [...have].filter((x) => !want.has(x));
    const out: string[] = [];
    if (missing.length) out.push(`${n}: ${missing.length} route(s) missing, e.g. ${missing[0]}`);
    if (extra.length) out.push(`${n}: ${extra.length} unexpected route(s), e.g. ${extra[0]}`);
    return out;
  });
  const all = problems.flat();
  // A run that missed every node names a few and counts the rest, rather than printing 256 lines.
  return all.length > 6 ? [...all.slice(0, 5), `… and ${all.length - 5} more node problem(s)`] : all;
}

/** The lab as an Ansible inventory: group `nodes`, one child group per cluster carrying `cluster`. */
export async function writeAnsibleInventory(state: LabState, work: Work): Promise<void> {
  const p = labPaths(work.stateDir);
  const clusters: Record<string, unknown> = {};
  for (const c of state.spec.clusters)
    clusters[`cluster_${c.name.replace(/\W/g, '_')}`] = {
      vars: { cluster: c.name },
      hosts: Object.fromEntries(c.nodes.map((n) => [n.name, { ansible_host: n.address }])),
    };
  const inv = {
    all: {
      vars: {
        ansible_user: 'root',
        ansible_ssh_private_key_file: p.clientKey,
        ansible_ssh_common_args: `-o UserKnownHostsFile=${p.knownHosts} -o StrictHostKeyChecking=yes`,
      },
      children: { nodes: { children: clusters } },
    },
  };
  await writeFile(work.ansibleInventory, '# Generated by bench/run.ts from the lab state.\n' + stringify(inv));
}

// ---- the tools -------------------------------------------------------------------------------

export interface RunOutcome {
  ms: number;
  /** Hosts (meshplay, Ansible) or nodes (floor) reported changed. */
  changed: number;
  problems: string[];
  /** Node tools: peak resident memory of the process in MB, and its CPU time (user + system) in ms. */
  peakMb?: number;
  cpuMs?: number;
  /** meshplay only: the recap's transport figures and per-line arrival times. */
  transport?: Record<string, unknown>;
  events?: Array<Record<string, unknown> & { at: number }>;
}

/** meshplay's routes job; `root` is the checkout whose build and playbook run (another one for the baseline). */
export async function runMeshplay(work: Work, extraArgs: string[] = [], nodeArgs: string[] = [], root = REPO_ROOT): Promise<RunOutcome> {
  const t = await timedNode([
    ...nodeArgs,
    join(root, 'dist/bin/cli.js'),
    'run',
    join(root, 'playbooks/pod-cidr-routes.yml'),
    '-i',
    work.inventoryFile,
    '--output',
    'ndjson',
    '-e',
    'pod_cidr_routes_verify=false',
    ...extraArgs,
  ]);
  const lines = t.stdout.split('\n').filter(Boolean);
  const events = lines.map((l, i): Record<string, unknown> & { at: number } => {
    try {
      return { ...(JSON.parse(l) as Record<string, unknown>), at: t.lineTimes[i] ?? t.ms };
    } catch {
      return { type: 'unparsed', line: l, at: t.lineTimes[i] ?? t.ms };
    }
  });
  const recap = events.find((e) => e.type === 'recap') as
    | { stats: Record<string, { changed: number; failed: number; unreachable: number }>; exitCode: number; transport?: Record<string, unknown> }
    | undefined;
  const problems: string[] = [];
  if (t.code !== 0) {
    const r = recap as { reason?: string; problems?: string[] } | undefined;
    const failures = events
      .filter((e) => e.type === 'task_result' && (e.status === 'failed' || e.status === 'unreachable'))
      .slice(0, 3)
      .map((e) => `${String(e.host)} ${String(e.task)}: ${String((e.result as { msg?: unknown } | undefined)?.msg ?? '')}`);
    const failedCount = events.filter((e) => e.type === 'task_result' && (e.status === 'failed' || e.status === 'unreachable')).length;
    const why = [r?.reason, ...(r?.problems ?? []), ...failures, failedCount > 3 ? `${failedCount} failed or unreachable results in all` : '', t.stderr.trim()].filter(Boolean).join('; ');
    problems.push(`meshplay exited ${t.code}: ${why.slice(0, 2000)}`);
  }
  if (!recap) problems.push('meshplay printed no recap');
  if (t.peakMb === undefined) problems.push('no peak memory figure (bench/rusage.cjs wrote nothing)');
  const stats = Object.values(recap?.stats ?? {});
  return {
    ms: t.ms,
    peakMb: t.peakMb,
    cpuMs: t.cpuMs,
    changed: stats.filter((s) => s.changed > 0).length,
    problems,
    transport: recap?.transport,
    events,
  };
}

export async function runFloorProcess(work: Work): Promise<RunOutcome> {
  const t = await timedNode([join(REPO_ROOT, 'dist/bench/floor.js'), work.stateDir, '--proto', String(PROTO)]);
  const problems: string[] = [];
  let changed = 0;
  if (t.code !== 0) problems.push(`floor exited ${t.code}: ${t.stderr.trim()}`);
  else changed = (JSON.parse(t.stdout) as { changedNodes: number }).changedNodes;
  return { ms: t.ms, peakMb: t.peakMb, cpuMs: t.cpuMs, changed, problems };
}

function ansibleEnv(work: Work, controlDir: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    ANSIBLE_CONFIG: join(REPO_ROOT, 'bench/ansible/ansible.cfg'),
    ANSIBLE_SSH_CONTROL_PATH_DIR: controlDir,
    ANSIBLE_NOCOLOR: '1',
  };
}

export async function runAnsible(work: Work, forks: number, controlDir: string): Promise<RunOutcome> {
  await mkdir(controlDir, { recursive: true });
  const t = await timed(
    'ansible-playbook',
    ['-i', work.ansibleInventory, '--forks', String(forks), join(REPO_ROOT, 'bench/ansible/routes.yml')],
    ansibleEnv(work, controlDir),
  );
  const problems: string[] = [];
  const recap = parseAnsibleRecap(t.stdout);
  const changed = recap.filter((h) => h.changed > 0).length;
  if (!recap.length) problems.push('ansible-playbook printed no PLAY RECAP');
  const bad = recap.filter((h) => h.failed || h.unreachable).map((h) => h.host);
  if (bad.length) problems.push(`ansible failed or unreachable on ${bad.join(', ')}`);
  if (t.code !== 0) problems.push(`ansible-playbook exited ${t.code}: ${(t.stderr || t.stdout).trim().slice(0, 2000)}`);
  return { ms: t.ms, changed, problems };
}

/** Host lines of the default callback's PLAY RECAP: `host : ok=3 changed=1 unreachable=0 failed=0 ...`. */
export function parseAnsibleRecap(stdout: string): Array<{ host: string } & Record<string, number>> {
  const at = stdout.lastIndexOf('PLAY RECAP');
  if (at < 0) return [];
  const hosts: Array<{ host: string } & Record<string, number>> = [];
  for (const line of stdout.slice(at).split('\n').slice(1)) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    const counts = Object.fromEntries([...m[2]!.matchAll(/(\w+)=(\d+)/g)].map((x) => [x[1]!, Number(x[2])]));
    hosts.push({ ...counts, host: m[1]! } as { host: string } & Record<string, number>);
  }
  return hosts;
}

/** Closes the ControlPersist masters of one Ansible run so the next first run starts cold. */
export async function closeAnsibleMasters(controlDir: string): Promise<void> {
  const sockets = await readdir(controlDir).catch(() => [] as string[]);
  await Promise.all(sockets.map((s) => timed('ssh', ['-O', 'exit', '-o', `ControlPath=${join(controlDir, s)}`, 'ignored'])));
  await rm(controlDir, { recursive: true, force: true });
}
