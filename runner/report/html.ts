// Renders a MeshReport (runner/report/model.ts) as one self-contained HTML page: inline CSS and SVG, no script,
// no font, image or request of any kind (the Content-Security-Policy forbids them, so a page that tried would
// show it as a console error). Every text is escaped; the model holds masked values only.
import type { HostStats } from '../output/events.js';
import type { Health, MeshReport, RouteCell, TimelineEntry } from './model.js';

const esc = (s: unknown): string =>
  String(s ?? '').replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const HEALTH_TEXT: Record<Health, string> = { ok: 'healthy', bad: 'NOT healthy', unknown: 'unknown' };

function badge(state: string, text = state): string {
  return `<span class="badge s-${esc(state)}">${esc(text)}</span>`;
}

function ms(n: number): string {
  if (n < 1000) return `${Math.round(n)} ms`;
  if (n < 60_000) return `${(n / 1000).toFixed(n < 10_000 ? 2 : 1)} s`;
  return `${Math.floor(n / 60_000)} min ${Math.round((n % 60_000) / 1000)} s`;
}

const CSS = `
:root{--ok:#1a7f37;--bad:#cf222e;--unk:#9a6700;--mut:#57606a;--line:#d0d7de;--bg:#f6f8fa}
*{box-sizing:border-box}body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;color:#1f2328;background:#fff}
header{padding:18px 28px;background:#24292f;color:#fff}header h1{margin:0 0 4px;font-size:20px}header .meta{color:#c9d1d9;font-size:12px}
main{padding:8px 28px 40px;max-width:1400px}section{margin-top:26px}h2{font-size:16px;border-bottom:1px solid var(--line);padding-bottom:4px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}th{background:var(--bg);font-weight:600}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff;background:var(--mut)}
.s-ok,.s-working,.s-routed,.s-healthy,.s-STRICT{background:var(--ok)}.s-bad,.s-broken,.s-missing,.s-wrong,.s-failed,.s-unreachable{background:var(--bad)}
.s-unknown,.s-PERMISSIVE,.s-changed{background:var(--unk)}.s-own,.s-bird{background:#8c959f}
.matrix td{text-align:center;font-size:12px;min-width:82px}.matrix td.c-routed{background:#dafbe1}.matrix td.c-missing,.matrix td.c-wrong{background:#ffebe9}
.matrix td.c-unknown{background:#fff8c5}.matrix td.c-own{background:#eaeef2}.matrix td.c-bird{background:#f6f8fa;color:var(--mut)}
.ping-ok{color:var(--ok);font-weight:700}.ping-fail{color:var(--bad);font-weight:700}
pre.diff{background:var(--bg);border:1px solid var(--line);padding:8px;overflow:auto;font:12px/1.4 ui-monospace,monospace;margin:4px 0 10px}
.add{color:var(--ok)}.del{color:var(--bad)}.hunk{color:#0969da}.reasons{margin:2px 0 0 18px;padding:0;color:var(--bad)}
.muted{color:var(--mut)}details{margin:4px 0}summary{cursor:pointer}svg text{font-family:system-ui,sans-serif}
.grid{display:flex;gap:28px;flex-wrap:wrap}
`;

function topologySvg(r: MeshReport): string {
  const clusters = r.clusters;
  if (!clusters.length) return '<p class="muted">No clusters.</p>';
  const nodeH = 40;
  const boxW = 250;
  const gap = 40;
  const heights = clusters.map((c) => 70 + Math.max(1, c.nodes.length) * (nodeH + 6));
  const remotes = clusters.filter((c) => c.role !== 'control-plane').length;
  const H = Math.max(...heights) + 34 + 16 * Math.max(1, remotes);
  const W = clusters.length * (boxW + gap) + gap;
  const color = (h: Health) => (h === 'ok' ? '#1a7f37' : h === 'bad' ? '#cf222e' : '#9a6700');
  const x = (i: number) => gap + i * (boxW + gap);
  const parts: string[] = [];
  const cpIndex = clusters.findIndex((c) => c.role === 'control-plane');
  // Control plane -> remote: the remote secret, coloured by its health.
  let lane = 0;
  clusters.forEach((c, i) => {
    if (cpIndex < 0 || i === cpIndex) return;
    const s = r.secrets.find((x) => x.cluster === c.name);
    const stroke = s?.state === 'working' ? '#1a7f37' : s?.state === 'unknown' || !s ? '#9a6700' : '#cf222e';
    const x1 = x(cpIndex) + boxW / 2;
    const x2 = x(i) + boxW / 2;
    // One lane per remote, so the lines and their labels never overlap.
    const y = H - 12 - 16 * lane++;
    parts.push(`<path d="M${x1} ${heights[cpIndex]! + 10} V${y} H${x2} V${heights[i]! + 10}" fill="none" stroke="${stroke}" stroke-width="2" stroke-dasharray="${s?.state === 'working' ? '' : '6 4'}"><title>remote secret of ${esc(c.name)}: ${esc(s?.state ?? 'unknown')}</title></path>`);
    parts.push(`<text x="${x2 + (x2 > x1 ? 6 : -6)}" y="${y - 4}" text-anchor="${x2 > x1 ? 'start' : 'end'}" font-size="11" fill="${stroke}">secret ${esc(c.name)}: ${esc(s?.state ?? 'unknown')}</text>`);
  });
  clusters.forEach((c, i) => {
    const cx = x(i);
    parts.push(`<g class="cluster" data-cluster="${esc(c.name)}" data-health="${c.health}">`);
    parts.push(`<rect x="${cx}" y="10" width="${boxW}" height="${heights[i]}" rx="10" fill="${c.role === 'control-plane' ? '#ddf4ff' : '#f6f8fa'}" stroke="${color(c.health)}" stroke-width="2"/>`);
    parts.push(`<text x="${cx + 12}" y="32" font-size="15" font-weight="700">${esc(c.name)}</text>`);
    parts.push(`<text x="${cx + boxW - 12}" y="32" font-size="11" text-anchor="end" fill="#57606a">${esc(c.role)}</text>`);
    parts.push(`<text x="${cx + 12}" y="50" font-size="11" fill="${c.api.reachable ? '#1a7f37' : '#cf222e'}">API ${esc(c.api.reachable ? c.api.version ?? 'up' : 'unreachable')}${c.podCidr ? ` · pods ${esc(c.podCidr)}` : ''}</text>`);
    c.nodes.forEach((n, j) => {
      const ny = 62 + j * (nodeH + 6);
      const routing = r.routes.nodes.find((x) => x.node === n.name);
      const blocks = r.routes.blocks.filter((b) => b.node === n.name).map((b) => b.block);
      const stroke = !routing ? '#8c959f' : routing.source === 'table' ? '#1a7f37' : '#9a6700';
      parts.push(`<g class="node" data-node="${esc(n.name)}"><rect x="${cx + 10}" y="${ny}" width="${boxW - 20}" height="${nodeH}" rx="6" fill="#fff" stroke="${stroke}"/>`);
      parts.push(`<text x="${cx + 18}" y="${ny + 16}" font-size="12" font-weight="600">${esc(n.name)}</text><text x="${cx + boxW - 18}" y="${ny + 16}" font-size="11" text-anchor="end" fill="#57606a">${esc(n.address ?? '')}</text>`);
      parts.push(`<text x="${cx + 18}" y="${ny + 32}" font-size="11" fill="#57606a">${esc(blocks.length ? `BIRD: ${blocks.join(', ')}` : routing?.source === 'unknown' ? 'blocks unknown' : 'routes not read')}</text></g>`);
    });
    if (!c.nodes.length) parts.push(`<text x="${cx + 12}" y="80" font-size="11" fill="#57606a">no nodes in the inventory</text>`);
    parts.push('</g>');
  });
  return `<svg id="topology" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="clusters and nodes">${parts.join('')}</svg>`;
}

function clustersSection(r: MeshReport): string {
  const rows = r.clusters
    .map(
      (c) => `<tr data-cluster="${esc(c.name)}"><td><b>${esc(c.name)}</b></td><td>${esc(c.role)}</td><td>${c.api.reachable ? esc(c.api.version ?? 'up') : `${badge('bad', 'unreachable')} <span class="muted">${esc(c.api.error ?? '')}</span>`}</td>
<td>${esc(c.podCidr ?? '')}</td><td>${esc(c.serviceCidr ?? '')}</td><td>${c.nodes.map((n) => `${esc(n.name)} <span class="muted">${esc(n.address ?? '')}</span>`).join('<br>')}</td>
<td>${badge(c.health, HEALTH_TEXT[c.health])}${c.reasons.length ? `<ul class="reasons">${c.reasons.map((x) => `<li>${esc(x)}</li>`).join('')}</ul>` : ''}</td></tr>`,
    )
    .join('\n');
  return `<section id="clusters"><h2>Clusters and nodes</h2>${topologySvg(r)}
<table><thead><tr><th>Cluster</th><th>Role</th><th>API</th><th>Pod CIDR</th><th>Service CIDR</th><th>Nodes</th><th>Health</th></tr></thead><tbody>
${rows}</tbody></table></section>`;
}

const CELL_TEXT: Record<RouteCell['state'], string> = { own: 'own block', bird: 'BIRD', routed: 'routed', wrong: 'wrong via', missing: 'missing', unknown: 'unknown' };

function matrixSection(r: MeshReport): string {
  const m = r.routes;
  if (!m.checked) return `<section id="route-matrix"><h2>Route matrix</h2><p class="muted">The nodes' routes were not read.</p></section>`;
  const head = m.blocks.map((b) => `<th title="${esc(`owned by ${b.node} (${b.cluster}), via ${b.via ?? '?'}`)}">${esc(b.block)}<br><span class="muted">${esc(b.node)}</span></th>`).join('');
  const body = m.nodes
    .map((n) => {
      const cells = m.blocks
        .map((b) => {
          const c = m.cells.find((x) => x.from === n.node && x.block === b.block)!;
          const ping = c.ping ? ` <span class="ping-${c.ping}" title="ping ${c.ping}">${c.ping === 'ok' ? '&#10003;' : '&#10007;'}</span>` : '';
          const via = c.state === 'routed' || c.state === 'wrong' ? `<br><span class="muted">via ${esc(c.via)}</span>` : '';
          return `<td class="c-${c.state}" data-from="${esc(c.from)}" data-block="${esc(c.block)}" data-state="${c.state}"${c.ping ? ` data-ping="${c.ping}"` : ''}>${CELL_TEXT[c.state]}${via}${ping}</td>`;
        })
        .join('');
      return `<tr><th>${esc(n.node)} <span class="muted">${esc(n.cluster)}</span>${n.error ? `<br>${badge('unknown')} <span class="muted">${esc(n.error)}</span>` : ''}</th>${cells}</tr>`;
    })
    .join('\n');
  const pinged = m.cells.some((c) => c.ping);
  return `<section id="route-matrix"><h2>Route matrix</h2>
<p class="muted">Rows: the node routing; columns: the pod blocks each node's BIRD owns (Calico blocks, not Node.spec.podCIDR). Another cluster's block is routed via the node that owns it.${pinged ? ' &#10003;/&#10007;: the pod_cidr_routes role\'s ping of a pod in the block, this run.' : ' No pings ran.'}</p>
<table class="matrix"><thead><tr><th>from \\ block</th>${head}</tr></thead><tbody>
${body}</tbody></table></section>`;
}

function secretsSection(r: MeshReport): string {
  const rows = r.secrets.map((s) => `<tr data-cluster="${esc(s.cluster)}" data-state="${s.state}"><td>istio-remote-secret-${esc(s.cluster)}</td><td>${badge(s.state)}</td><td>${esc(s.detail ?? '')}</td></tr>`).join('\n');
  return `<section id="secrets"><h2>Remote secrets</h2>${r.secrets.length ? `<table><thead><tr><th>Secret (in the control plane)</th><th>Health</th><th>Detail</th></tr></thead><tbody>${rows}</tbody></table>` : '<p class="muted">No remote clusters.</p>'}</section>`;
}

function meshSection(r: MeshReport): string {
  const mt = r.mtls;
  const mode = mt.api === 'none' ? badge('bad', 'off') : mt.api === 'unknown' ? badge('unknown') : badge(mt.mode ?? 'unknown', mt.mode ?? '?');
  const gws = r.gateways.map((g) => `<tr data-gateway="${esc(`${g.cluster}/${g.namespace}/${g.name}`)}"><td>${esc(g.cluster)}</td><td>${esc(g.namespace)}/${esc(g.name)}</td><td>${g.servers.map(esc).join('<br>')}</td></tr>`).join('\n');
  const errs = r.gatewayErrors.map((e) => `<tr><td>${esc(e.cluster)}</td><td colspan="2">${badge('unknown')} ${esc(e.error)}</td></tr>`).join('\n');
  return `<section id="mesh"><h2>Gateways and mTLS</h2><div class="grid">
<div id="mtls" data-api="${esc(mt.api)}" data-mode="${esc(mt.mode ?? '')}"><h3>Mesh-wide mTLS</h3><p>${mode} <span class="muted">${esc(mt.api === 'modern' ? 'PeerAuthentication' : mt.api === 'legacy' ? 'MeshPolicy' : '')}${mt.cluster ? ` in ${esc(mt.cluster)}` : ''}</span></p>${mt.error ? `<p class="muted">${esc(mt.error)}</p>` : ''}</div>
<div id="gateways"><h3>Gateways</h3>${r.gateways.length || r.gatewayErrors.length ? `<table><thead><tr><th>Cluster</th><th>Gateway</th><th>Servers</th></tr></thead><tbody>${gws}${errs}</tbody></table>` : '<p class="muted">No Istio Gateway objects.</p>'}</div>
</div></section>`;
}

function diffHtml(diff: string): string {
  return diff
    .split('\n')
    .map((l) => {
      const cls = l.startsWith('+++') || l.startsWith('---') ? 'hunk' : l.startsWith('+') ? 'add' : l.startsWith('-') ? 'del' : l.startsWith('@@') ? 'hunk' : '';
      return cls ? `<span class="${cls}">${esc(l)}</span>` : esc(l);
    })
    .join('\n');
}

function changesSection(r: MeshReport): string {
  if (r.kind === 'status') return '';
  const verb = r.run?.check ? 'would change (check mode)' : 'changed';
  const items = r.changes
    .map((c) => `<details class="change" data-host="${esc(c.host)}" open><summary><b>${esc(c.host)}</b> &mdash; ${esc(c.task)}${c.msg ? ` <span class="muted">${esc(c.msg)}</span>` : ''}</summary>${c.diff ? `<pre class="diff">${diffHtml(c.diff)}</pre>` : '<p class="muted">no diff (run with --diff to record one)</p>'}</details>`)
    .join('\n');
  return `<section id="changes"><h2>What ${verb} in this run (${r.changes.length})</h2>${items || '<p class="muted">Nothing changed.</p>'}</section>`;
}

function timelineSection(r: MeshReport): string {
  if (r.kind === 'status') return '';
  const entries = r.timeline;
  if (!entries.length) return '<section id="timeline"><h2>Where the time went</h2><p class="muted">No task ran.</p></section>';
  const hosts = [...new Set(entries.map((e) => e.host))];
  const end = Math.max(1, ...entries.map((e) => e.startMs + e.durationMs), r.run?.durationMs ?? 0);
  const left = 150;
  const W = 1100;
  const lane = 22;
  const H = hosts.length * lane + 30;
  const xOf = (t: number) => left + (t / end) * (W - left - 10);
  const colour = (s: string) => (s === 'changed' ? '#bf8700' : s === 'failed' || s === 'unreachable' ? '#cf222e' : s === 'skipped' ? '#afb8c1' : '#2da44e');
  const parts: string[] = [];
  for (let k = 0; k <= 5; k++) {
    const t = (end * k) / 5;
    parts.push(`<line x1="${xOf(t)}" y1="0" x2="${xOf(t)}" y2="${H - 18}" stroke="#eaeef2"/><text x="${xOf(t)}" y="${H - 4}" font-size="10" text-anchor="middle" fill="#57606a">${esc(ms(t))}</text>`);
  }
  hosts.forEach((h, i) => {
    const y = i * lane + 4;
    parts.push(`<text x="${left - 8}" y="${y + 13}" font-size="11" text-anchor="end">${esc(h)}</text>`);
    for (const e of entries.filter((x) => x.host === h)) {
      const x1 = xOf(e.startMs);
      const w = Math.max(1.5, xOf(e.startMs + e.durationMs) - x1);
      parts.push(`<rect class="bar" data-host="${esc(h)}" x="${x1.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${lane - 6}" fill="${colour(e.status)}"><title>${esc(`${e.task} on ${h}: ${e.status}, ${ms(e.durationMs)}`)}</title></rect>`);
    }
  });
  const byTask = new Map<string, { total: number; max: number; hosts: number }>();
  for (const e of entries) {
    const t = byTask.get(e.task) ?? { total: 0, max: 0, hosts: 0 };
    t.total += e.durationMs;
    t.max = Math.max(t.max, e.durationMs);
    t.hosts++;
    byTask.set(e.task, t);
  }
  const slow = [...byTask.entries()].sort((a, b) => b[1].max - a[1].max).slice(0, 12);
  const rows = slow.map(([task, t]) => `<tr><td>${esc(task)}</td><td>${t.hosts}</td><td>${esc(ms(t.max))}</td><td>${esc(ms(t.total))}</td></tr>`).join('');
  return `<section id="timeline"><h2>Where the time went</h2><p class="muted">One lane per host, one bar per task (green ok, amber changed, red failed, grey skipped); total ${esc(ms(end))}.</p>
<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="timeline">${parts.join('')}</svg>
<table><thead><tr><th>Slowest tasks</th><th>Hosts</th><th>Longest host</th><th>Sum over hosts</th></tr></thead><tbody>${rows}</tbody></table></section>`;
}

function recapTable(recap: Record<string, HostStats>): string {
  const keys: (keyof HostStats)[] = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];
  const rows = Object.entries(recap)
    .map(([h, s]) => `<tr><td>${esc(h)}</td>${keys.map((k) => `<td${s[k] && (k === 'failed' || k === 'unreachable') ? ' class="ping-fail"' : ''}>${s[k]}</td>`).join('')}</tr>`)
    .join('');
  return `<table id="recap"><thead><tr><th>Host</th>${keys.map((k) => `<th>${k}</th>`).join('')}</tr></thead><tbody>${rows}</tbody></table>`;
}

export function renderReport(r: MeshReport): string {
  const summary = r.run
    ? `<section id="summary"><h2>Run</h2><p>${badge(r.run.exitCode === 0 ? 'ok' : 'bad', `exit ${r.run.exitCode} (${r.run.reason})`)}${r.run.check ? ` ${badge('unknown', 'check mode')}` : ''} in ${esc(ms(r.run.durationMs))}</p>${recapTable(r.run.recap)}${r.warnings.length ? `<details><summary>${r.warnings.length} warning(s)</summary><ul>${r.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></details>` : ''}</section>`
    : '';
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(r.title)}</title><style>${CSS}</style></head>
<body data-kind="${r.kind}" data-health="${r.health}">
<header><h1>${esc(r.title)} ${badge(r.health, HEALTH_TEXT[r.health])}</h1><div class="meta">${esc(r.version)} · ${esc(r.topology)} · ${esc(r.kind === 'run' ? 'run report' : 'status of the live mesh')} · generated ${esc(r.generatedAt)}</div></header>
<main>
${summary}
${clustersSection(r)}
${matrixSection(r)}
${secretsSection(r)}
${meshSection(r)}
${changesSection(r)}
${timelineSection(r)}
</main></body></html>
`;
}

export type { TimelineEntry };
