// The launcher's V8 code cache (runner/launch.ts), on a copy of the built CLI in a temporary directory: made by the
// first run, used (not made again) by the next, made again when V8 refuses it, upgraded once from a short run's,
// kept out of the bundle's directory when it cannot be written there, and never made when turned off.
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import t from 'tap';
import { repoRoot } from './helpers/cli.js';

/** A copy of the built CLI with what it reads beside it (linked), so its cache files are this test's alone. */
function install(): { root: string; bin: string; xdg: string } {
  const root = mkdtempSync(join(tmpdir(), 'meshplay-cache-'));
  const bin = join(root, 'dist', 'bin');
  mkdirSync(bin, { recursive: true });
  for (const f of ['cli.js', 'meshplay.cjs']) copyFileSync(join(repoRoot, 'dist', 'bin', f), join(bin, f));
  copyFileSync(join(repoRoot, 'package.json'), join(root, 'package.json'));
  for (const [link, target] of [['node_modules', 'node_modules'], ['schemas', 'schemas'], ['dist/generated', 'dist/generated']])
    symlinkSync(join(repoRoot, target), join(root, link));
  return { root, bin, xdg: join(root, 'xdg') };
}

function run(where: { root: string; bin: string; xdg: string }, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [join(where.bin, 'cli.js'), ...args], {
    cwd: where.root,
    encoding: 'utf8',
    env: { ...process.env, XDG_CACHE_HOME: where.xdg, NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const cacheFiles = (dir: string) => {
  try {
    return readdirSync(dir).filter((f) => f.endsWith('.v8cache'));
  } catch {
    return [];
  }
};

t.test('the first run makes the cache, the next uses it; a refused one is made again', async (t) => {
  const at = install();
  t.teardown(() => rmSync(at.root, { recursive: true, force: true }));
  const version = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')).version;

  const first = run(at, ['--version']);
  t.equal(first.code, 0);
  t.equal(first.stdout.trim(), `meshplay ${version}`);
  t.equal(first.stderr, '', 'nothing said about the cache');
  const [name] = cacheFiles(at.bin);
  t.ok(name, 'a cache beside the bundle');
  t.match(name!, new RegExp(`^meshplay-[0-9a-f]{16}-${process.version}-${process.arch}\\.v8cache$`), 'named by the bundle, Node and the machine');
  const file = join(at.bin, name!);
  const made = readFileSync(file);
  t.equal(made[0], 0, 'made at the exit of a short run');
  t.ok(made.length > 10_000, 'holds compiled code');

  // A cache made again is a new file (written aside, renamed into place), even when its bytes are the same.
  const inode = statSync(file).ino;
  const second = run(at, ['--version']);
  t.equal(second.stdout.trim(), `meshplay ${version}`);
  t.equal(statSync(file).ino, inode, 'used as it is: not made again');

  // Bytes V8 cannot take (a cache of another build under this name, a torn write): refused, the run goes on, and a
  // good cache replaces it.
  const torn = Buffer.concat([Buffer.from([0]), made.subarray(1, 200), Buffer.alloc(5000, 7)]);
  writeFileSync(file, torn);
  const third = run(at, ['--version']);
  t.equal(third.code, 0);
  t.equal(third.stdout.trim(), `meshplay ${version}`);
  const remade = readFileSync(file);
  t.not(remade.length, torn.length, 'made again');
  const remadeInode = statSync(file).ino;
  const fourth = run(at, ['--version']);
  t.equal(fourth.code, 0);
  t.equal(statSync(file).ino, remadeInode, 'and that one is used');
  t.same(cacheFiles(at.bin), [name], 'no temporary file left');
});

t.test('a run longer than a second makes its cache at the end of that second, once upgrading a short run\'s', async (t) => {
  const at = install();
  t.teardown(() => rmSync(at.root, { recursive: true, force: true }));
  const playbook = join(at.root, 'slow.yml');
  writeFileSync(playbook, '- hosts: localhost\n  gather_facts: false\n  tasks:\n    - command: sleep 1.5\n');
  const inventory = join(repoRoot, 'test', 'fixtures', 'engine', 'inventory.yml');
  run(at, ['--version']);
  const [name] = cacheFiles(at.bin);
  const file = join(at.bin, name!);
  const short = readFileSync(file);
  t.equal(short[0], 0);

  const long = run(at, ['run', playbook, '-i', inventory]);
  t.equal(long.code, 0, long.stderr);
  const upgraded = readFileSync(file);
  t.equal(upgraded[0], 1, 'made again by the longer run');
  t.ok(upgraded.length > short.length, 'holding more of the code');

  const inode = statSync(file).ino;
  run(at, ['--version']);
  t.equal(statSync(file).ino, inode, 'a short run keeps the longer run\'s cache');
  run(at, ['run', playbook, '-i', inventory]);
  t.equal(statSync(file).ino, inode, 'and so does the next long run: it is made once');
});

t.test('where the bundle\'s directory cannot take it, the cache goes to the user\'s cache directory', async (t) => {
  const at = install();
  t.teardown(() => rmSync(at.root, { recursive: true, force: true }));
  run(at, ['--version']);
  const [name] = cacheFiles(at.bin);
  rmSync(join(at.bin, name!));
  // The tests run as root, whom permissions do not stop: a directory in the file's place does.
  mkdirSync(join(at.bin, name!, 'occupied'), { recursive: true });
  const r = run(at, ['--version']);
  t.equal(r.code, 0);
  const userDir = join(at.xdg, 'meshplay');
  t.same(cacheFiles(userDir), [name], 'made in $XDG_CACHE_HOME/meshplay');
  t.equal(statSync(userDir).mode & 0o777, 0o700, 'a directory only its user can enter');
  t.equal(statSync(join(userDir, name!)).mode & 0o777, 0o600);
  const kept = statSync(join(userDir, name!)).ino;
  run(at, ['--version']);
  t.equal(statSync(join(userDir, name!)).ino, kept, 'and used from there');
});

t.test('MESHPLAY_CODE_CACHE=0: no cache is read or made', async (t) => {
  const at = install();
  t.teardown(() => rmSync(at.root, { recursive: true, force: true }));
  const r = run(at, ['--version'], { MESHPLAY_CODE_CACHE: '0' });
  t.equal(r.code, 0);
  t.same(cacheFiles(at.bin), []);
  t.same(cacheFiles(join(at.xdg, 'meshplay')), []);
});
