// scratch (not committed): top functions by self time, and inclusive time by function, from a cpuprofile dir
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { originalUrl } from '../dist/bench/profile.js';
const dir = process.argv[2];
const f = readdirSync(dir).find((x) => x.endsWith('.cpuprofile'));
const p = JSON.parse(readFileSync(join(dir, f), 'utf8'));
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map(), incl = new Map();
const name = (n) => { const u = originalUrl(n.callFrame.url, n.callFrame.lineNumber, n.callFrame.columnNumber); return `${n.callFrame.functionName || '(anon)'} ${u.replace(/.*node_modules\//, '').replace(/.*\/dist\//, '')}`; };
p.samples.forEach((id, i) => {
  const dt = (p.timeDeltas[i] ?? 0) / 1000;
  let n = byId.get(id); const k = name(n);
  self.set(k, (self.get(k) ?? 0) + dt);
  const seen = new Set();
  for (let cur = id; cur !== undefined; cur = parent.get(cur)) { const kk = name(byId.get(cur)); if (seen.has(kk)) continue; seen.add(kk); incl.set(kk, (incl.get(kk) ?? 0) + dt); }
});
const top = (m, n) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${v.toFixed(0).padStart(6)}  ${k}`).join('\n');
console.log('SELF\n' + top(self, +process.argv[3] || 40));
console.log('\nINCLUSIVE\n' + top(incl, +process.argv[4] || 60));
