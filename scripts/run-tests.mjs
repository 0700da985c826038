#!/usr/bin/env node
// Runs every compiled test file with node-tap and ends with one `N passed, N failed` line
// counting test points (assertions and subtests that are leaves), so CI reads the result correctly.
// Arguments are test files or directories of them (`npm run faults` passes dist/test/faults). The faults suite's
// files append one row per scenario to the file named by MESHPLAY_FAULT_ROWS (test/helpers/fault-table.ts); once
// every file ran, the combined table is printed, just before the final line.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
const files = only.length ? only.flatMap((p) => (statSync(p).isDirectory() ? find(p).sort() : [p])) : find(join(root, 'dist/test')).sort();
const rowsDir = mkdtempSync(join(tmpdir(), 'meshplay-fault-rows-'));
const rowsFile = join(rowsDir, 'rows.jsonl');
const child = spawn(join(root, 'node_modules/.bin/tap'), ['--reporter=tap', '--jobs=1', '--disable-coverage', '--allow-incomplete-coverage', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  // Renders shared between hosts are frozen under test, so a module that mutates its arguments fails here.
  env: { ...process.env, MESHPLAY_FREEZE_SHARED_RENDERS: '1', MESHPLAY_FAULT_ROWS: rowsFile },
});
let passed = 0;
let failed = 0;
let skipped = 0;
let buf = '';
const count = (line) => {
  // Leaf points only: a subtest's own summary line is followed by its children already counted.
  const m = /^(\s*)(not ok|ok) \d+( - .*)?$/.exec(line);
  if (!m) return;
  if (/# SKIP|# TODO/i.test(line)) skipped++;
  else if (m[2] === 'ok') passed++;
  else failed++;
};
const leafLines = [];
child.stdout.on('data', (d) => {
  process.stdout.write(d);
  buf += d;
  const lines = buf.split('\n');
  buf = lines.pop();
  leafLines.push(...lines);
});
child.on('close', async (code) => {
  if (buf) leafLines.push(buf);
  // A point is a leaf unless the line before it (ignoring YAML diagnostics) closes a deeper subtest.
  // Failed leaves are named again at the end with their subtest path: CI often keeps only a log's tail.
  let prevIndent = -1;
  const subtests = []; // [indent, name] of the '# Subtest:' lines enclosing the current line
  const failures = [];
  for (const line of leafLines) {
    const sub = /^(\s*)# Subtest: (.*)$/.exec(line);
    if (sub) {
      while (subtests.length && subtests[subtests.length - 1][0] >= sub[1].length) subtests.pop();
      subtests.push([sub[1].length, sub[2]]);
      continue;
    }
    const m = /^(\s*)(not ok|ok) \d+/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const isParent = prevIndent > indent;
    prevIndent = indent;
    if (isParent) continue;
    const before = failed;
    count(line);
    if (failed > before) {
      const path = subtests.filter(([i]) => i < indent).map(([, n]) => n);
      failures.push(`${path.join(' > ')}${path.length ? ' > ' : ''}${line.trim()}`);
    }
  }
  await faultsTable();
  if (failures.length) console.log(`\n# failed:\n${failures.map((f) => `#   ${f}`).join('\n')}`);
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});

/** The faults suite's combined table, when any of its files ran (and which of them recorded nothing). */
async function faultsTable() {
  const faultFiles = files.filter((f) => /[\\/]faults[\\/][^\\/]+\.test\.js$/.test(f));
  try {
    if (!faultFiles.length) return;
    const { readFaultRows, formatFaultTable } = await import(join(root, 'dist/test/helpers/fault-table.js'));
    const rows = readFaultRows(rowsFile);
    const silent = faultFiles.map((f) => f.replace(/^.*[\\/]/, '').replace(/\.test\.js$/, '')).filter((s) => !rows.some((r) => r.suite === s));
    console.log('\n# faults: what was injected, how often, the runs and their exits, and what was lost');
    if (rows.length) console.log(formatFaultTable(rows).map((l) => `# ${l}`).join('\n'));
    if (silent.length) console.log(`# no rows from: ${silent.join(', ')} (skipped, or ended before its first scenario)`);
  } finally {
    rmSync(rowsDir, { recursive: true, force: true });
  }
}
