#!/usr/bin/env node
// Runs every compiled test file with node-tap and ends with one `N passed, N failed` line
// counting test points (assertions and subtests that are leaves), so CI reads the result correctly.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const only = process.argv.slice(2);
function find(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? find(p) : p.endsWith('.test.js') ? [p] : [];
  });
}
const files = only.length ? only : find(join(root, 'dist/test')).sort();
const child = spawn(join(root, 'node_modules/.bin/tap'), ['--reporter=tap', '--jobs=1', '--disable-coverage', '--allow-incomplete-coverage', ...files], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
  // Renders shared between hosts are frozen under test, so a module that mutates its arguments fails here.
  env: { ...process.env, MESHPLAY_FREEZE_SHARED_RENDERS: '1' },
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
child.on('close', (code) => {
  if (buf) leafLines.push(buf);
  // A point is a leaf unless the line before it (ignoring YAML diagnostics) closes a deeper subtest.
  let prevIndent = -1;
  for (const line of leafLines) {
    const m = /^(\s*)(not ok|ok) \d+/.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const isParent = prevIndent > indent;
    prevIndent = indent;
    if (!isParent) count(line);
    else if (m[2] === 'not ok' && !/# SKIP|# TODO/i.test(line)) {
      /* failure already counted at its leaf */
    }
  }
  if (code !== 0 && failed === 0) failed = 1;
  console.log(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
  process.exit(code ?? 1);
});
