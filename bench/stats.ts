// Pure helpers of the bench: summary statistics, the Markdown table and the SVG chart.

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function summarize(values: number[]): Summary {
  if (!values.length) return { median: NaN, min: NaN, max: NaN, n: 0 };
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
  return { median: Math.round(median), min: Math.round(s[0]!), max: Math.round(s.at(-1)!), n: s.length };
}

// baseline: meshplay built from another checkout (--baseline DIR), to compare code before and after a change.
export const TOOLS = ['meshplay', 'floor', 'ansible', 'baseline'] as const;
export type Tool = (typeof TOOLS)[number];
export const PHASES = ['first', 'converged'] as const;
export type Phase = (typeof PHASES)[number];

export interface ScenarioResult {
  clusters: number;
  nodes: number;
  /** clusters × nodes */
  hosts: number;
  /** Routes each run must leave in place across all nodes. */
  routes: number;
  /** The tools this scenario ran (Ansible only up to --ansible-max-nodes; baseline only with --baseline). */
  tools: Tool[];
  /** Wall time of each run in ms, whole process, by tool and phase. */
  times: Partial<Record<Tool, Record<Phase, number[]>>>;
  summary: Partial<Record<Tool, Record<Phase, Summary>>>;
  /** meshplay's peak resident memory (MB) of each run, by phase. */
  peakMb: Record<Phase, number[]>;
  peakSummary: Record<Phase, Summary>;
  /** CPU time (user + system, ms) of the Node tools' runs: less disturbed than wall time by other work on the machine. */
  cpuSummary?: Partial<Record<Tool, Record<Phase, Summary>>>;
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

const sec = (ms: number) => (ms / 1000).toFixed(2);
const cell = (s: Summary) => `${sec(s.median)} (${sec(s.min)}–${sec(s.max)})`;

/** One row per scenario and phase: medians with min–max in seconds, meshplay's ratios and its peak memory. */
export function markdownTable(scenarios: ScenarioResult[]): string {
  const withBaseline = scenarios.some((s) => s.tools.includes('baseline'));
  const head = ['scenario', 'run', 'meshplay s', 'floor s', 'Ansible s', 'Ansible / meshplay', 'meshplay / floor'];
  if (withBaseline) head.push('baseline s', 'meshplay / baseline');
  head.push('meshplay peak MB');
  const rows = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const s of scenarios)
    for (const phase of PHASES) {
      const med = (t: Tool) => s.summary[t]?.[phase]?.median;
      const c = (t: Tool) => (s.summary[t] ? cell(s.summary[t]![phase]) : '—');
      const r = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? '—' : `${ratio(a, b)}×`);
      const cols = [`${s.clusters}×${s.nodes} (${s.routes} routes)`, phase, c('meshplay'), c('floor'), c('ansible'), r(med('ansible'), med('meshplay')), r(med('meshplay'), med('floor'))];
      if (withBaseline) cols.push(c('baseline'), r(med('meshplay'), med('baseline')));
      const p = s.peakSummary[phase];
      cols.push(p.n ? `${p.median} (${p.min}–${p.max})` : '—');
      rows.push(`| ${cols.join(' | ')} |`);
    }
  return rows.join('\n') + '\n';
}

/** CPU seconds (user + system) of the Node tools, medians, with meshplay's ratio to the floor. */
export function cpuTable(scenarios: ScenarioResult[]): string {
  const rows = ['| scenario | run | meshplay CPU s | floor CPU s | meshplay / floor | baseline CPU s |', '|---|---|---|---|---|---|'];
  for (const s of scenarios) {
    const c = s.cpuSummary;
    if (!c) continue;
    for (const phase of PHASES) {
      const m = c.meshplay?.[phase];
      const f = c.floor?.[phase];
      const b = c.baseline?.[phase];
      rows.push(`| ${s.clusters}×${s.nodes} | ${phase} | ${m ? cell(m) : '—'} | ${f ? cell(f) : '—'} | ${m && f ? `${ratio(m.median, f.median)}×` : '—'} | ${b ? cell(b) : '—'} |`);
    }
  }
  return rows.length > 2 ? rows.join('\n') + '\n' : '';
}

export interface TargetVerdict {
  scenario: string;
  target: string;
  value: string;
  met: boolean;
}

/** Issue 22's targets where this run measured them: 96 nodes (8×12) and 256 nodes (16×16). */
export function targetVerdicts(results: ScenarioResult[]): TargetVerdict[] {
  const out: TargetVerdict[] = [];
  for (const r of results) {
    if (r.hosts !== 96 && r.hosts !== 256) continue;
    const scenario = `${r.clusters}x${r.nodes}`;
    const m = r.summary.meshplay;
    const f = r.summary.floor;
    if (!m || !f) continue;
    const first = ratio(m.first.median, f.first.median);
    const conv = ratio(m.converged.median, f.converged.median);
    out.push({ scenario, target: 'first run ≤ 1.15× floor', value: `${first}×`, met: m.first.median <= 1.15 * f.first.median });
    out.push({ scenario, target: 'converged run ≤ 1.1× floor', value: `${conv}×`, met: m.converged.median <= 1.1 * f.converged.median });
    if (r.hosts === 256) {
      const peak = Math.max(r.peakSummary.first.max, r.peakSummary.converged.max);
      out.push({ scenario, target: 'meshplay peak memory < 300 MB', value: `${peak} MB (largest run)`, met: peak < 300 });
    }
  }
  return out;
}

export function targetLines(targets: TargetVerdict[]): string[] {
  if (!targets.length) return [];
  return [
    'Targets (issue 22, medians):',
    '',
    '| scenario | target | measured | met |',
    '|---|---|---|---|',
    ...targets.map((t) => `| ${t.scenario} | ${t.target} | ${t.value} | ${t.met ? 'yes' : 'NO'} |`),
    '',
  ];
}

const COLORS: Record<Tool, string> = { meshplay: '#1f77b4', floor: '#2ca02c', ansible: '#d62728', baseline: '#9467bd' };

/** Time against node count, one line per tool and phase (solid: first run, dashed: converged), each tool over the scenarios it ran. */
export function svgChart(scenarios: ScenarioResult[], title: string): string {
  const W = 640;
  const H = 400;
  const pad = { left: 60, right: 160, top: 40, bottom: 50 };
  const pts = [...scenarios].sort((a, b) => a.hosts - b.hosts);
  const maxX = Math.max(...pts.map((p) => p.hosts), 1);
  const medians = (t: Tool, ph: Phase) => pts.filter((p) => p.summary[t]).map((p) => ({ hosts: p.hosts, ms: p.summary[t]![ph].median }));
  const maxY = Math.max(...TOOLS.flatMap((t) => PHASES.flatMap((ph) => medians(t, ph).map((m) => m.ms))), 1) / 1000;
  const yTop = Math.ceil(maxY / niceStep(maxY)) * niceStep(maxY);
  const x = (v: number) => pad.left + (v / maxX) * (W - pad.left - pad.right);
  const y = (v: number) => H - pad.bottom - (v / yTop) * (H - pad.top - pad.bottom);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">`,
    `<rect width="${W}" height="${H}" fill="white"/>`,
    `<text x="${W / 2 - pad.right / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
    `<line x1="${pad.left}" y1="${H - pad.bottom}" x2="${W - pad.right}" y2="${H - pad.bottom}" stroke="black"/>`,
    `<line x1="${pad.left}" y1="${pad.top}" x2="${pad.left}" y2="${H - pad.bottom}" stroke="black"/>`,
    `<text x="${(pad.left + W - pad.right) / 2}" y="${H - 12}" text-anchor="middle">nodes (all clusters)</text>`,
    `<text transform="translate(16 ${(pad.top + H - pad.bottom) / 2}) rotate(-90)" text-anchor="middle">seconds (median, whole process)</text>`,
  ];
  const step = niceStep(yTop);
  for (let v = 0; v <= yTop + 1e-9; v += step)
    out.push(
      `<line x1="${pad.left}" y1="${y(v)}" x2="${W - pad.right}" y2="${y(v)}" stroke="#ddd"/>`,
      `<text x="${pad.left - 6}" y="${y(v) + 4}" text-anchor="end">${+v.toFixed(2)}</text>`,
    );
  for (const p of pts) out.push(`<text x="${x(p.hosts)}" y="${H - pad.bottom + 16}" text-anchor="middle">${p.hosts}</text>`);
  let legendY = pad.top;
  for (const t of TOOLS)
    for (const ph of PHASES) {
      const ms = medians(t, ph);
      if (!ms.length) continue;
      const dash = ph === 'converged' ? ' stroke-dasharray="6 4"' : '';
      const d = ms.map((m, i) => `${i ? 'L' : 'M'}${x(m.hosts).toFixed(1)} ${y(m.ms / 1000).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${COLORS[t]}" stroke-width="2"${dash}/>`);
      for (const m of ms) out.push(`<circle cx="${x(m.hosts).toFixed(1)}" cy="${y(m.ms / 1000).toFixed(1)}" r="3" fill="${COLORS[t]}"/>`);
      out.push(
        `<line x1="${W - pad.right + 12}" y1="${legendY}" x2="${W - pad.right + 40}" y2="${legendY}" stroke="${COLORS[t]}" stroke-width="2"${dash}/>`,
        `<text x="${W - pad.right + 46}" y="${legendY + 4}">${t} ${ph}</text>`,
      );
      legendY += 18;
    }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

function niceStep(max: number): number {
  const raw = max / 5;
  const mag = 10 ** Math.floor(Math.log10(raw || 1));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
}

function escapeXml(s: string): string {
  return s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
}

/** A bench option that must be a positive whole number. */
export function positiveInt(flag: string, value: string): number {
  if (!/^[1-9]\d*$/.test(value)) throw new Error(`${flag} needs a positive whole number (got ${value})`);
  return Number(value);
}
