// A throwaway OpenSSH server on 127.0.0.1:<free port>, in its own temp dir with its own host key and
// one authorized client key. Started and stopped by PID only; never touches the system sshd.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestSshd {
  port: number;
  dir: string;
  pid: number;
  /** Private key that is in authorized_keys. */
  clientKey: string;
  /** A valid private key that is NOT authorized. */
  wrongKey: string;
  hostKeyPub: string;
  hostKeyType: string;
  logFile: string;
  /** A known_hosts line for this server (`[127.0.0.1]:port type key`). */
  knownHostsLine(): string;
  /** "Connection from" lines sshd logged: one per TCP connection accepted. */
  connectionCount(): number;
  /** PIDs of every process below the listener (per-connection sshd processes and their commands). */
  sessionPids(): number[];
  /** SIGKILL all per-connection processes: clients see the connection drop. */
  killSessions(): void;
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

export function keygen(file: string, type = 'ed25519'): void {
  execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', 'meshplay-test', '-f', file], { stdio: 'ignore' });
}

function children(pid: number): number[] {
  const out: number[] = [];
  let tasks: string[] = [];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      const list = readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim();
      for (const c of list ? list.split(/\s+/).map(Number) : []) out.push(c, ...children(c));
    } catch {
      /* gone */
    }
  }
  return out;
}

function killPid(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

export async function startSshd(opts: { hostKeyType?: string; extraConfig?: string[] } = {}): Promise<TestSshd> {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-sshd-'));
  const hostKeyType = opts.hostKeyType ?? 'ed25519';
  const hostKey = join(dir, `host_${hostKeyType}`);
  keygen(hostKey, hostKeyType);
  const clientKey = join(dir, 'client_ed25519');
  keygen(clientKey);
  const wrongKey = join(dir, 'wrong_ed25519');
  keygen(wrongKey);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(clientKey + '.pub'), { mode: 0o600 });
  const port = await freePort();
  const logFile = join(dir, 'sshd.log');
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${hostKey}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    'StrictModes no',
    'UsePAM no',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'AllowTcpForwarding yes',
    'LogLevel VERBOSE',
    'MaxStartups 100',
    'UseDNS no',
    // As in the lab: keep root's ~/.bashrc (pyenv, nvm...) out of every command, or one slow or stuck
    // startup file (a stale pyenv rehash lock waits 60 s) makes every test command slow.
    'SetEnv SHLVL=1',
    ...(opts.extraConfig ?? []),
  ];
  writeFileSync(join(dir, 'sshd_config'), config.join('\n') + '\n');
  if (!existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child: ChildProcess = spawn('/usr/sbin/sshd', ['-D', '-f', join(dir, 'sshd_config'), '-E', logFile], {
    stdio: 'ignore',
  });
  const pid = child.pid!;
  let exited = false;
  child.once('exit', () => (exited = true));
  const log = () => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const deadline = Date.now() + 10_000;
  while (!log().includes('Server listening')) {
    if (exited || Date.now() > deadline) throw new Error(`test sshd did not start:\n${log()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const hostKeyPub = readFileSync(hostKey + '.pub', 'utf8').trim();
  const server: TestSshd = {
    port,
    dir,
    pid,
    clientKey,
    wrongKey,
    hostKeyPub: hostKey + '.pub',
    hostKeyType,
    logFile,
    knownHostsLine: () => `[127.0.0.1]:${port} ${hostKeyPub.split(' ').slice(0, 2).join(' ')}`,
    connectionCount: () => (log().match(/Connection from /g) ?? []).length,
    sessionPids: () => children(pid),
    killSessions: () => children(pid).forEach(killPid),
    stop: async () => {
      const all = children(pid);
      killPid(pid);
      all.forEach(killPid);
      if (!exited) await new Promise((r) => child.once('exit', r));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return server;
}
