// The SSH transport against real OpenSSH servers on loopback (test/helpers/sshd.ts).
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { connect as netConnect, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect, sshConnectionCount, sshHandshakeStats, shellQuote } from '../runner/connection/ssh.js';
import { isCommandConnection, UnreachableError } from '../runner/connection/types.js';
import type { ConnectOptions } from '../runner/connection/options.js';
import type { Inventory, SshSettings } from '../runner/inventory/types.js';
import { ConnectionPool } from '../runner/executor/connections.js';
import { startSshd, freePort, keygen, type TestSshd } from './helpers/sshd.js';

const warnings: string[] = [];

function opts(name: string, port: number, ssh: SshSettings, acceptNewHostKeys = false): ConnectOptions {
  return {
    host: { name, kind: 'node', connection: 'ssh', cluster: 'c1', address: '127.0.0.1', ssh: { port, user: 'root', ...ssh }, vars: {} },
    vars: {},
    acceptNewHostKeys,
    log: () => undefined,
    warn: (m) => warnings.push(m),
    secret: () => undefined,
    signal: new AbortController().signal,
  };
}

async function unreachable(t: Test, p: Promise<unknown>, pattern: RegExp): Promise<string> {
  try {
    await p;
  } catch (err) {
    t.ok(err instanceof UnreachableError, `UnreachableError (got ${(err as Error).name}: ${(err as Error).message})`);
    t.match((err as Error).message, pattern);
    return (err as Error).message;
  }
  t.fail('expected the connection to fail');
  return '';
}

let server: TestSshd;
let knownHosts: string;

t.before(async () => {
  server = await startSshd();
  knownHosts = join(server.dir, 'known_hosts');
  writeFileSync(knownHosts, server.knownHostsLine() + '\n');
});
t.teardown(async () => {
  await server?.stop();
});

const base = () => ({ private_key_file: server.clientKey, known_hosts_file: knownHosts, connect_timeout: 5 });

t.test('key auth, argv quoting, stdin, exit codes, stderr, env and cwd', async (t) => {
  const conn = await connect(opts('n1', server.port, base()));
  t.teardown(() => conn.close());
  t.equal(conn.kind, 'ssh');
  const words = ['a b', "it's", '"q"', '$HOME', '', 'x;y', '*'];
  const r = await conn.exec(['printf', '%s|', ...words]);
  t.equal(r.code, 0);
  t.equal(r.stdout, words.map((w) => w + '|').join(''));
  const cat = await conn.exec(['cat'], { stdin: 'hello\nworld' });
  t.equal(cat.stdout, 'hello\nworld');
  const fail = await conn.exec('echo oops >&2; exit 3');
  t.equal(fail.code, 3);
  t.equal(fail.stderr, 'oops\n');
  const env = await conn.exec('pwd; printf %s "$FOO"', { cwd: '/tmp', env: { FOO: "x 'y'" } });
  t.equal(env.stdout, "/tmp\nx 'y'");
  const timing = conn.timings();
  t.ok(timing.connectMs > 0, `connectMs measured (${timing.connectMs} ms)`);
  t.equal(timing.commands, 4);
  t.equal(shellQuote("it's"), `'it'\\''s'`);
});

t.test('20 concurrent execs share one TCP connection', async (t) => {
  const before = server.connectionCount();
  const opened = sshConnectionCount();
  const conn = await connect(opts('n1', server.port, base()));
  t.teardown(() => conn.close());
  const started = Date.now();
  const results = await Promise.all(
    Array.from({ length: 20 }, (_, i) => conn.exec(`sleep 0.2; echo ${i}`)),
  );
  t.same(results.map((r) => r.stdout.trim()), Array.from({ length: 20 }, (_, i) => String(i)));
  t.ok(results.every((r) => r.code === 0));
  t.equal(server.connectionCount() - before, 1, 'sshd accepted exactly one TCP connection');
  t.equal(sshConnectionCount() - opened, 1);
  // 8 channels at a time: three waves of 0.2 s at least.
  t.ok(Date.now() - started >= 550, `queued beyond 8 channels (${Date.now() - started} ms)`);
});

t.test('exec timeout kills the command', async (t) => {
  const conn = await connect(opts('n1', server.port, base()));
  t.teardown(() => conn.close());
  const r = await conn.exec(['sleep', '5'], { timeoutMs: 300 });
  t.equal(r.code, -1);
  t.match(r.stderr, /timed out after 300 ms/);
  t.ok(r.durationMs < 3000);
  t.equal((await conn.exec('echo still')).stdout, 'still\n', 'connection still usable');
});

t.test('become', async (t) => {
  const conn = await connect(opts('n1', server.port, base()));
  t.teardown(() => conn.close());
  const hasSudo = (await conn.exec('command -v sudo')).code === 0;
  const r = await conn.exec(['id', '-u'], { become: true });
  if (hasSudo) {
    t.equal(r.code, 0);
    t.equal(r.stdout.trim(), '0');
  } else {
    t.not(r.code, 0);
    t.match(r.stderr, /become needs sudo, which is not installed on n1/);
  }
});

t.test('become through a real sudo, logged in as a user that is not root', async (t) => {
  // Production nodes are reached as an unprivileged user with sudo. Two throwaway local users log in to the
  // test sshd with the test key: one may sudo without a password, the other must give its own.
  t.ok(existsSync('/usr/bin/sudo'), 'sudo is installed (scripts/install-deps.sh installs it)');
  const users = { nopw: 'mpbecome', pw: 'mpbecomepw' };
  const password = 'Sudo-Pass-5150-planted';
  const sudoers = '/etc/sudoers.d/meshplay-test-become';
  const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
  const cleanup = () => {
    for (const u of Object.values(users)) {
      try {
        run('userdel', [u]);
      } catch {
        /* not there */
      }
    }
    try {
      run('rm', ['-f', sudoers]);
    } catch {
      /* not there */
    }
  };
  cleanup(); // a killed earlier run may have left them
  t.teardown(cleanup);
  for (const u of Object.values(users)) run('useradd', ['-M', '-s', '/bin/sh', u]);
  // sshd (without PAM) refuses accounts whose password is locked ('!'): give real passwords
  run('chpasswd', [], `${users.nopw}:unused-${password}\n${users.pw}:${password}\n`);
  writeFileSync(sudoers, `${users.nopw} ALL=(ALL) NOPASSWD: ALL\n${users.pw} ALL=(ALL) ALL\n`, { mode: 0o440 });
  run('visudo', ['-cf', sudoers]);
  // sshd reads AuthorizedKeysFile as the user logging in: let them reach the (public) key list
  chmodSync(server.dir, 0o711);
  chmodSync(join(server.dir, 'authorized_keys'), 0o644);

  const as = (user: string, secrets: string[] = []) =>
    connect({ ...opts('n1', server.port, { ...base(), user }), secret: (v) => secrets.push(v) });
  const plain = await as(users.nopw);
  t.teardown(() => plain.close());
  t.not((await plain.exec(['id', '-u'])).stdout.trim(), '0', 'logged in unprivileged');
  const root = await plain.exec(['id', '-u'], { become: true });
  t.equal(root.code, 0, root.stderr);
  t.equal(root.stdout.trim(), '0', 'become: root through sudo -n');
  const shell = await plain.exec('echo "$HOME" > /dev/null && id -un', { become: true, env: { MP_X: 'a b' } });
  t.equal(shell.stdout.trim(), 'root', 'a shell command with environment, through sudo');

  const secrets: string[] = [];
  const withPw = await as(users.pw, secrets);
  t.teardown(() => withPw.close());
  const refused = await withPw.exec(['id', '-u'], { become: true });
  t.not(refused.code, 0, 'sudo -n fails when a password is required');
  t.match(refused.stderr, /password is required/);
  const ok = await withPw.exec(['id', '-u'], { become: true, becomePassword: password });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(ok.stdout.trim(), '0', 'become with the password on stdin (sudo -S)');
  t.notMatch(ok.stdout + ok.stderr, new RegExp(password), 'the password is not echoed back');
  t.ok(secrets.includes(password), 'the become password is registered for redaction');
  const wrong = await withPw.exec(['id', '-u'], { become: true, becomePassword: 'wrong-password-1' });
  t.not(wrong.code, 0, 'a wrong password fails the command');
  t.notMatch(wrong.stdout, /^0$/m);
});

t.test('unknown host key: refused with type and OpenSSH fingerprint', async (t) => {
  const empty = join(server.dir, 'empty_known_hosts');
  writeFileSync(empty, '');
  const expected = execFileSync('ssh-keygen', ['-lf', server.hostKeyPub], { encoding: 'utf8' }).split(' ')[1];
  t.match(expected, /^SHA256:[A-Za-z0-9+/]+$/);
  const msg = await unreachable(t, connect(opts('n1', server.port, { ...base(), known_hosts_file: empty })), /not known/);
  t.ok(msg.includes(expected), `message has ${expected}`);
  t.match(msg, /ssh-ed25519/);
  t.match(msg, /--ssh-accept-new/);
  t.match(msg, new RegExp(`ssh-keyscan -p ${server.port} 127.0.0.1`));
  t.equal(readFileSync(empty, 'utf8'), '', 'nothing recorded without accept-new');
});

t.test('accept-new records the key once, even from parallel connections, then strict works', async (t) => {
  const file = join(server.dir, 'sub', 'accept_known_hosts');
  const conns = await Promise.all(
    Array.from({ length: 4 }, () => connect(opts('n1', server.port, { ...base(), known_hosts_file: file }, true))),
  );
  await Promise.all(conns.map((c) => c.close()));
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  t.equal(lines.length, 1, 'one line for four parallel accepts');
  t.equal(lines[0], server.knownHostsLine());
  const strict = await connect(opts('n1', server.port, { ...base(), known_hosts_file: file }));
  t.equal((await strict.exec('echo ok')).stdout, 'ok\n');
  await strict.close();
});

t.test('changed host key fails even with accept-new', async (t) => {
  const other = join(server.dir, 'other_host');
  keygen(other);
  const file = join(server.dir, 'changed_known_hosts');
  const otherKey = readFileSync(other + '.pub', 'utf8').split(' ').slice(0, 2).join(' ');
  const content = `[127.0.0.1]:${server.port} ${otherKey}\n`;
  writeFileSync(file, content);
  const msg = await unreachable(t, connect(opts('n1', server.port, { ...base(), known_hosts_file: file }, true)), /HAS CHANGED/);
  t.match(msg, /ssh-keygen -R/);
  t.equal(readFileSync(file, 'utf8'), content, 'known_hosts untouched');
});

t.test('revoked host key is refused', async (t) => {
  const file = join(server.dir, 'revoked_known_hosts');
  const key = server.knownHostsLine().split(' ').slice(1).join(' ');
  writeFileSync(file, `${server.knownHostsLine()}\n@revoked * ${key}\n`);
  await unreachable(t, connect(opts('n1', server.port, { ...base(), known_hosts_file: file })), /@revoked/);
});

t.test('hashed and comma-list known_hosts entries', async (t) => {
  const hashed = join(server.dir, 'hashed_known_hosts');
  writeFileSync(hashed, server.knownHostsLine() + '\n');
  execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
  const text = readFileSync(hashed, 'utf8');
  t.match(text, /^\|1\|/, 'file is hashed');
  t.notMatch(text, /127\.0\.0\.1/);
  const c1 = await connect(opts('n1', server.port, { ...base(), known_hosts_file: hashed }));
  t.equal((await c1.exec('echo h')).stdout, 'h\n');
  await c1.close();

  const list = join(server.dir, 'list_known_hosts');
  const [name, ...key] = server.knownHostsLine().split(' ');
  writeFileSync(list, `# comment\nother.example,${name},10.0.0.1 ${key.join(' ')}\n`);
  const c2 = await connect(opts('n1', server.port, { ...base(), known_hosts_file: list }));
  await c2.close();
  t.pass('comma list with [host]:port matched');
});

t.test('wrong key: authentication failure names the methods tried', async (t) => {
  const msg = await unreachable(
    t,
    connect(opts('n1', server.port, { ...base(), private_key_file: server.wrongKey })),
    /authentication failed for root@127\.0\.0\.1/,
  );
  t.ok(msg.includes(`publickey (${server.wrongKey})`), msg);
});

t.test('key files are read once per run: a key replaced between two runs of one process is the one the second uses', async (t) => {
  const key = join(server.dir, 'replaced_key');
  copyFileSync(server.wrongKey, key);
  chmodSync(key, 0o600);
  const hosts = ['r1', 'r2'].map((name) => opts(name, server.port, { ...base(), private_key_file: key }).host);
  const inventory = { hosts: new Map(hosts.map((h) => [h.name, h])), groups: new Map([['all', ['r1', 'r2']]]), clusters: [], vars: {}, topology: 'single-control-plane', sources: [] } as unknown as Inventory;
  // One ConnectionPool per run, as the executor (and meshplay status) makes it.
  const run = () => new ConnectionPool({ inventory, acceptNewHostKeys: false, hostVars: () => ({}), log: () => undefined, warn: (m) => warnings.push(m), secret: () => undefined, signal: new AbortController().signal });
  const first = run();
  t.teardown(() => first.closeAll());
  await unreachable(t, first.get('r1'), /authentication failed/);
  copyFileSync(server.clientKey, key);
  await unreachable(t, first.get('r2'), /authentication failed/);
  t.pass('within the run, the key parsed for its first connection serves the next (read once per run)');
  const second = run();
  t.teardown(() => second.closeAll());
  const conn = await second.get('r1');
  if (!isCommandConnection(conn)) throw new Error('an ssh connection runs commands');
  t.equal((await conn.exec('echo fresh')).stdout, 'fresh\n', 'the next run reads the key file again and logs in with the new key');
});

t.test('encrypted key: passphrase from the named environment variable', async (t) => {
  const enc = join(server.dir, 'enc_key');
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'pass phrase', '-f', enc], { stdio: 'ignore' });
  writeFileSync(join(server.dir, 'authorized_keys'), readFileSync(server.clientKey + '.pub', 'utf8') + readFileSync(enc + '.pub', 'utf8'));
  await unreachable(t, connect(opts('n1', server.port, { ...base(), private_key_file: enc })), /encrypted.*private_key_passphrase_env/);
  process.env.MESHPLAY_TEST_PASSPHRASE = 'pass phrase';
  t.teardown(() => delete process.env.MESHPLAY_TEST_PASSPHRASE);
  const conn = await connect(
    opts('n1', server.port, { ...base(), private_key_file: enc, private_key_passphrase_env: 'MESHPLAY_TEST_PASSPHRASE' }),
  );
  t.equal((await conn.exec('echo e')).stdout, 'e\n');
  await conn.close();
});

t.test('connection dropped mid-command rejects in-flight execs as unreachable', async (t) => {
  const conn = await connect(opts('n1', server.port, base()));
  const running = conn.exec(['sleep', '5']);
  await new Promise((r) => setTimeout(r, 300));
  const started = Date.now();
  server.killSessions();
  await unreachable(t, running, /connection to n1 lost/);
  t.ok(Date.now() - started < 3000, 'noticed promptly');
  await unreachable(t, conn.exec('echo again'), /lost/);
  await conn.close();
});

t.test('connection refused', async (t) => {
  const port = await freePort();
  await unreachable(t, connect(opts('n1', port, base())), /connection refused by 127\.0\.0\.1:\d+/);
});

t.test('silent server: connect timeout', async (t) => {
  const sockets: Socket[] = [];
  const silent = createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
  const port = (silent.address() as { port: number }).port;
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    silent.close();
  });
  const started = Date.now();
  await unreachable(
    t,
    connect(opts('n1', port, { ...base(), connect_timeout: 1, handshake_timeout: 30 })),
    /timed out after 1s waiting for the SSH greeting of root@127\.0\.0\.1:\d+, which accepted the connection \(ssh\.connect_timeout\)/,
  );
  t.ok(Date.now() - started < 4000);
});

t.test('server that greets and then stalls: the handshake timeout, named as such, on its own clock', async (t) => {
  const port = await greetAndStall(t);
  const started = Date.now();
  const msg = await unreachable(
    t,
    connect(opts('n1', port, { ...base(), connect_timeout: 30, handshake_timeout: 1 })),
    /timed out after 1s in the SSH handshake with root@127\.0\.0\.1:\d+ \(key exchange and authentication; ssh\.handshake_timeout\)/,
  );
  t.notMatch(msg, /connect_timeout/);
  const ms = Date.now() - started;
  t.ok(ms >= 900 && ms < 4000, `failed after ${ms} ms: the handshake clock (1 s), not connect_timeout (30 s)`);
  t.equal(sshHandshakeStats().active, 0, 'the handshake slot was given back');
});

/** A server that sends the SSH version line, then never answers the key exchange. */
async function greetAndStall(t: Test): Promise<number> {
  const sockets: Socket[] = [];
  const stall = createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    s.resume();
    s.write('SSH-2.0-OpenSSH_9.2 stalls\r\n');
  });
  await new Promise<void>((r) => stall.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    sockets.forEach((s) => s.destroy());
    stall.close();
  });
  return (stall.address() as { port: number }).port;
}

t.test('more connections than handshake slots: every one connects, its handshake clock starts with its turn', async (t) => {
  const before = process.env.MESHPLAY_SSH_MAX_HANDSHAKES;
  process.env.MESHPLAY_SSH_MAX_HANDSHAKES = '2';
  t.teardown(() => {
    if (before === undefined) delete process.env.MESHPLAY_SSH_MAX_HANDSHAKES;
    else process.env.MESHPLAY_SSH_MAX_HANDSHAKES = before;
  });
  sshHandshakeStats(true);
  // Two stalled handshakes hold both slots for 3 s; the 7 real connections queued behind them have a 2 s handshake
  // timeout, so they connect only if their clock starts when their turn comes, not when they were queued.
  const stallPort = await greetAndStall(t);
  const holders = [0, 1].map((i) => connect(opts(`h${i}`, stallPort, { ...base(), handshake_timeout: 3 })));
  holders.forEach((h) => h.catch(() => undefined));
  await new Promise((r) => setTimeout(r, 200));
  const n = 7;
  const started = Date.now();
  const conns = await Promise.all(Array.from({ length: n }, (_, i) => connect(opts(`n${i}`, server.port, { ...base(), handshake_timeout: 2 }))));
  const ms = Date.now() - started;
  t.teardown(() => Promise.all(conns.map((c) => c.close())));
  t.ok(ms >= 2500, `the queued connections waited ${ms} ms in all, longer than their 2 s handshake timeout`);
  const outs = await Promise.all(conns.map((c) => (isCommandConnection(c) ? c.exec('echo ok') : undefined)));
  t.same(outs.map((r) => r?.stdout), Array(n).fill('ok\n'), 'all connected and run commands');
  for (const h of holders) await unreachable(t, h, /timed out after 3s in the SSH handshake .*ssh\.handshake_timeout/);
  const stats = sshHandshakeStats();
  t.equal(stats.peak, 2, 'at most 2 handshakes at once (MESHPLAY_SSH_MAX_HANDSHAKES)');
  t.equal(stats.active + stats.queued, 0, 'every slot given back');
  t.comment(`${n} connections behind 2 stalled handshakes, 2 slots: all connected after ${ms} ms`);
});

t.test('abort while waiting for a handshake slot', async (t) => {
  const before = process.env.MESHPLAY_SSH_MAX_HANDSHAKES;
  process.env.MESHPLAY_SSH_MAX_HANDSHAKES = '1';
  t.teardown(() => {
    if (before === undefined) delete process.env.MESHPLAY_SSH_MAX_HANDSHAKES;
    else process.env.MESHPLAY_SSH_MAX_HANDSHAKES = before;
  });
  // A greeting-then-stall server holds the only slot; the second connection waits for it and is aborted.
  const port = await greetAndStall(t);
  const holder = connect(opts('n1', port, { ...base(), handshake_timeout: 2 }));
  holder.catch(() => undefined);
  await new Promise((r) => setTimeout(r, 300));
  const ac = new AbortController();
  const o = opts('n2', server.port, base());
  const waiting = connect({ ...o, signal: ac.signal });
  await new Promise((r) => setTimeout(r, 300));
  t.equal(sshHandshakeStats().queued, 1, 'the second connection waits for the slot');
  const started = Date.now();
  ac.abort();
  await unreachable(t, waiting, /aborted/);
  t.ok(Date.now() - started < 500, 'abort is prompt');
  t.equal(sshHandshakeStats().queued, 0, 'left the queue');
  await unreachable(t, holder, /ssh\.handshake_timeout/);
  t.equal(sshHandshakeStats().active, 0);
});

t.test('jump host: bastion and node each checked against known_hosts', async (t) => {
  const node = await startSshd();
  t.teardown(() => node.stop());
  const file = join(server.dir, 'jump_known_hosts');
  writeFileSync(file, `${server.knownHostsLine()}\n${node.knownHostsLine()}\n`);
  const bastionBefore = server.connectionCount();
  const ssh = (f: string): SshSettings => ({
    private_key_file: node.clientKey,
    known_hosts_file: f,
    proxy_jump: { host: '127.0.0.1', port: server.port, user: 'root', private_key_file: server.clientKey },
  });
  const conn = await connect(opts('n2', node.port, ssh(file)));
  const r = await conn.exec('echo $SSH_CONNECTION');
  t.match(r.stdout, new RegExp(`127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${node.port}`));
  t.equal(server.connectionCount() - bastionBefore, 1, 'one bastion connection');
  t.equal(node.connectionCount(), 1, 'node reached once, through the bastion');
  await conn.close();

  // Node key unknown: refused even though the bastion is fine.
  const onlyBastion = join(server.dir, 'jump_only_bastion');
  writeFileSync(onlyBastion, `${server.knownHostsLine()}\n`);
  await unreachable(t, connect(opts('n2', node.port, ssh(onlyBastion))), new RegExp(`\\[127\\.0\\.0\\.1\\]:${node.port} is not known`));
  // Bastion key unknown.
  const onlyNode = join(server.dir, 'jump_only_node');
  writeFileSync(onlyNode, `${node.knownHostsLine()}\n`);
  await unreachable(t, connect(opts('n2', node.port, ssh(onlyNode))), /jump host 127\.0\.0\.1: host key of/);
  t.ok(existsSync(file));
});

t.test('close() sends the goodbye and does not wait for the server to close its side', async (t) => {
  // A relay that passes everything through but keeps the client's side open for 3 s after sshd has closed its
  // own: close() used to wait for that (up to its 2 s limit) at the end of every run.
  const held: Socket[] = [];
  const relay = createServer({ allowHalfOpen: true }, (client) => {
    const upstream = netConnect(server.port, '127.0.0.1');
    client.pipe(upstream, { end: true });
    upstream.on('data', (d: Buffer) => client.write(d));
    upstream.on('error', () => undefined);
    client.on('error', () => undefined);
    upstream.on('close', () => {
      held.push(client);
      setTimeout(() => client.destroy(), 3000).unref();
    });
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.teardown(() => {
    for (const s of held) s.destroy();
    relay.close();
  });
  const port = (relay.address() as { port: number }).port;
  const file = join(server.dir, 'relay_known_hosts');
  writeFileSync(file, server.knownHostsLine().replace(`]:${server.port} `, `]:${port} `) + '\n');
  const disconnects = () => (readFileSync(server.logFile, 'utf8').match(/Received disconnect from/g) ?? []).length;
  const before = disconnects();
  const conn = await connect(opts('n-close', port, { ...base(), known_hosts_file: file }));
  t.equal((await conn.exec('true')).code, 0);
  const started = performance.now();
  await conn.close();
  const ms = performance.now() - started;
  t.ok(ms < 1500, `close() returned in ${Math.round(ms)} ms while the relay held the connection open`);
  const deadline = Date.now() + 5000;
  while (disconnects() === before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  t.equal(disconnects(), before + 1, 'sshd logged the client\'s disconnect message: the goodbye was delivered, not dropped');
});
