// Where a meshplay run spends its time: phases seen from outside (ndjson event arrival times), the
// transport figures from the recap, and CPU self time by component from a V8 --cpu-prof profile.
import { readFileSync } from 'node:fs';
import { readFile, readdir } from 'node:fs/promises';
import { SourceMap } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Component a script URL belongs to, coarse enough to act on. */
export function component(url: string, fn: string): string {
  if (!url) {
    if (fn === '(idle)') return 'idle (waiting on network/children)';
    if (fn === '(garbage collector)') return 'garbage collector';
    if (fn === '(program)') return 'V8/native (program)';
    return 'native';
  }
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return `dep ${m[1]}`;
  const r = /dist\/(runner|lab|bench)\/([^/]+)/.exec(url);
  if (r) return r[1] === 'runner' ? `runner/${r[2]!.replace(/\.js$/, '')}` : r[1]!;
  if (url.startsWith('node:')) return 'node internals';
  return url;
}

const sourceMaps = new Map<string, SourceMap | null>();

/**
 * The CLI runs as an esbuild bundle (dist/bin/meshplay.cjs): a frame there is attributed to the source file its
 * function came from, through the bundle's source map, so the table names runner modules and dependencies.
 */
export function originalUrl(url: string, line: number, column: number): string {
  if (!url.includes('/dist/bin/')) return url;
  let map = sourceMaps.get(url);
  if (map === undefined) {
    try {
      // the bundle is compiled by vm.Script under its path; ES modules show file URLs
      map = new SourceMap(JSON.parse(readFileSync((url.startsWith('file:') ? fileURLToPath(url) : url) + '.map', 'utf8')));
    } catch {
      map = null;
    }
    sourceMaps.set(url, map);
  }
  const entry = map?.findEntry(line, column) as { originalSource?: string } | undefined;
  // sources are relative to dist/bin: ../runner/x.js -> /dist/runner/x.js (what component() expects)
  const source = entry?.originalSource;
  if (!source) return url;
  if (source.includes('node_modules/')) return source;
  return source.replace(/^(?:file:\/\/)?.*?\/(runner|lab|bench)\//, '/dist/$1/').replace(/\.ts$/, '.js');
}

/** Self time (ms) by component, largest first. */
export function cpuByComponent(profile: CpuProfile): Array<{ component: string; ms: number }> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const n = byId.get(id);
    const c = n ? component(originalUrl(n.callFrame.url, n.callFrame.lineNumber, n.callFrame.columnNumber), n.callFrame.functionName) : 'unknown';
    totals.set(c, (totals.get(c) ?? 0) + (profile.timeDeltas[i] ?? 0) / 1000);
  });
  return [...totals].map(([c, ms]) => ({ component: c, ms: Math.round(ms) })).sort((a, b) => b.ms - a.ms);
}

export async function readCpuProfile(dir: string): Promise<CpuProfile> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile')).sort();
  if (!files.length) throw new Error(`no .cpuprofile in ${dir}`);
  return JSON.parse(await readFile(join(dir, files.at(-1)!), 'utf8')) as CpuProfile;
}

export interface PhaseSplit {
  wallMs: number;
  /** Spawn until the first event: Node start, module loading, inventory and playbook loading. */
  startupMs: number;
  tasks: Array<{ task: string; ms: number }>;
  /** Last task end until the recap line arrived (closing connections, transport summary). */
  toRecapMs: number;
  /** Recap until the process exited. */
  exitMs: number;
}

/** Phases from ndjson events stamped with their arrival time (ms after spawn). */
export function phaseSplit(events: Array<Record<string, unknown> & { at: number }>, wallMs: number): PhaseSplit {
  const first = events[0]?.at ?? wallMs;
  const starts = new Map<string, number>();
  const tasks: PhaseSplit['tasks'] = [];
  let lastEnd = first;
  for (const e of events) {
    if (e.type === 'task_start') starts.set(String(e.task), e.at);
    if (e.type === 'task_end') {
      const s = starts.get(String(e.task)) ?? lastEnd;
      tasks.push({ task: String(e.task), ms: Math.round(e.at - s) });
      lastEnd = e.at;
    }
  }
  const recap = events.find((e) => e.type === 'recap')?.at ?? wallMs;
  return {
    wallMs: Math.round(wallMs),
    startupMs: Math.round(first),
    tasks,
    toRecapMs: Math.round(recap - lastEnd),
    exitMs: Math.round(wallMs - recap),
  };
}
