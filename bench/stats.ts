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

export const TOOLS = ['meshplay', 'floor', 'ansible'] as const;
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
  /** Wall time of each run in ms, whole process, by tool and phase. */
  times: Record<Tool, Record<Phase, number[]>>;
  summary: Record<Tool, Record<Phase, Summary>>;
}

export function ratio(a: number, b: number): number {
  return Math.round((a / b) * 100) / 100;
}

const sec = (ms: number) => (ms / 1000).toFixed(2);
const cell = (s: Summary) => `${sec(s.median)} (${sec(s.min)}–${sec(s.max)})`;

/** One row per scenario and phase: medians with min–max in seconds, and meshplay's ratios. */
export function markdownTable(scenarios: ScenarioResult[]): string {
  const rows = [
    '| scenario | run | meshplay s | floor s | Ansible s | Ansible / meshplay | meshplay / floor |',
    '|---|---|---|---|---|---|---|',
  ];
  for (const s of scenarios)
    for (const phase of PHASES) {
      const m = s.summary.meshplay[phase];
      const f = s.summary.floor[phase];
      const a = s.summary.ansible[phase];
      rows.push(
        `| ${s.clusters}×${s.nodes} (${s.routes} routes) | ${phase} | ${cell(m)} | ${cell(f)} | ${cell(a)} | ${ratio(a.median, m.median)}× | ${ratio(m.median, f.median)}× |`,
      );
    }
  return rows.join('\n') + '\n';
}

const COLORS: Record<Tool, string> = { meshplay: '#1f77b4', floor: '#2ca02c', ansible: '#d62728' };

/** Time against node count, one line per tool and phase (solid: first run, dashed: converged). */
export function svgChart(scenarios: ScenarioResult[], title: string): string {
  const W = 640;
  const H = 400;
  const pad = { left: 60, right: 160, top: 40, bottom: 50 };
  const pts = [...scenarios].sort((a, b) => a.hosts - b.hosts);
  const maxX = Math.max(...pts.map((p) => p.hosts), 1);
  const maxY = Math.max(...pts.flatMap((p) => TOOLS.flatMap((t) => PHASES.map((ph) => p.summary[t][ph].median))), 1) / 1000;
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
      const dash = ph === 'converged' ? ' stroke-dasharray="6 4"' : '';
      const d = pts.map((p, i) => `${i ? 'L' : 'M'}${x(p.hosts).toFixed(1)} ${y(p.summary[t][ph].median / 1000).toFixed(1)}`).join(' ');
      out.push(`<path d="${d}" fill="none" stroke="${COLORS[t]}" stroke-width="2"${dash}/>`);
      for (const p of pts) out.push(`<circle cx="${x(p.hosts).toFixed(1)}" cy="${y(p.summary[t][ph].median / 1000).toFixed(1)}" r="3" fill="${COLORS[t]}"/>`);
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
