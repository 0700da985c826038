// The lab stops only its own daemons (PID checked against /proc: binary and command line), including a daemon
// whose binary was given through a symlink (a ../shared that links elsewhere): /proc shows the resolved path.
import t from 'tap';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive, isLabProcess, stopLabProcess } from '../lab/proc.js';

t.test('a daemon started through a symlinked binary is recognised and stopped', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-proc-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const linked = join(dir, 'sleep');
  symlinkSync('/bin/sleep', linked);
  const marker = join(dir, 'marker');
  // sleep accepts a suffix-less number only; the marker rides in argv[0] via exec -a, as a daemon's config path would.
  const child = spawn('bash', ['-c', `exec -a "${linked} ${marker}" ${linked} 30`], { stdio: 'ignore' });
  t.teardown(() => child.kill('SIGKILL'));
  await new Promise((r) => setTimeout(r, 300));
  t.ok(await isLabProcess(child.pid!, linked, marker), 'recognised by the path it was started with');
  t.notOk(await isLabProcess(child.pid!, '/bin/true', marker), 'another binary is not it');
  t.notOk(await isLabProcess(child.pid!, linked, join(dir, 'other-marker')), 'another marker is not it');
  t.ok(await stopLabProcess(child.pid!, linked, marker), 'stopped');
  await new Promise((r) => setTimeout(r, 100));
  t.notOk(isAlive(child.pid!), 'gone');
});
