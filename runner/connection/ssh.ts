// SSH transport: one ssh2 connection per node for the whole run; every exec is a channel on it.
// Anything that breaks the transport (refused, timeout, auth, host key, drop) is an UnreachableError,
// so the executor counts the host unreachable rather than failed.
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import net from 'node:net';
import { availableParallelism, homedir } from 'node:os';
import type { Duplex } from 'node:stream';
import type { AnyAuthMethod, Client as ClientType, ClientChannel, ConnectConfig, ParsedKey } from 'ssh2';
import type { Host, SshSettings } from '../inventory/types.js';
import type { ConnectOptions, SshKeyCache } from './options.js';
import type { CommandConnection, ConnectionTimings, ExecOptions, ExecResult } from './types.js';
import { UnreachableError } from './types.js';
import {
  appendKnownHost,
  fingerprint,
  keyTypeOf,
  knownHostsName,
  knownKeyTypes,
  readKnownHosts,
  verifyHostKey,
} from './known-hosts.js';

/** OpenSSH's default MaxSessions is 10; stay under it so channel opens never get refused. */
const MAX_CHANNELS = 8;
const DEFAULT_CONNECT_TIMEOUT_S = 10;
const DEFAULT_HANDSHAKE_TIMEOUT_S = 30;
/** The longest banner (pre-version lines included) read while waiting for the server's "SSH-" line. */
const MAX_GREETING_BYTES = 64 * 1024;

// Opening a connection has two phases with two clocks:
// 1. reaching the server: the TCP connect (or the jump host's forwarded channel) and the server's SSH greeting
//    (its "SSH-2.0-..." line), bounded by ssh.connect_timeout, as OpenSSH's ConnectTimeout bounds its connect
//    and identification exchange. This is waiting, not work, so every connection the pool opens (--max-connecting)
//    does it at once, and 1,000 hosts that never answer cost about one connect_timeout per 256.
// 2. the handshake proper (key exchange, host key check, authentication): CPU work on both ends, so at most
//    sshHandshakeLimit() run at once in this process, each bounded by ssh.handshake_timeout from the moment it
//    starts, not from when it was queued. Before, one clock (ssh2's readyTimeout = connect_timeout) covered both,
//    and 256 handshakes started together on a loaded 2-core machine queued behind each other's CPU work until
//    the late ones passed 10 s although every node was reachable.

/**
 * Handshakes run at once in this process: 4 per CPU, at least 32. A loopback handshake costs tens of ms of CPU
 * (sshd's fork/re-exec, kex, auth), so 32 at once on 2 cores finish in well under a second each, far from any
 * timeout; with remote nodes a handshake is mostly round trips, and 32 in flight keep 256 nodes at ~8 rounds of
 * handshakes rather than 32 (a pool of 8). MESHPLAY_SSH_MAX_HANDSHAKES overrides it (tests, tuning).
 */
export function sshHandshakeLimit(): number {
  const env = Number(process.env.MESHPLAY_SSH_MAX_HANDSHAKES);
  if (process.env.MESHPLAY_SSH_MAX_HANDSHAKES && Number.isInteger(env) && env >= 1) return env;
  return Math.max(32, 4 * availableParallelism());
}

let handshaking = 0;
let handshakePeak = 0;
const handshakeQueue: Array<() => void> = [];

/** Handshakes running now, the most seen at once (since the last reset) and those waiting for a slot. */
export function sshHandshakeStats(reset = false): { active: number; peak: number; queued: number } {
  const stats = { active: handshaking, peak: handshakePeak, queued: handshakeQueue.length };
  if (reset) handshakePeak = handshaking;
  return stats;
}

/** Waits for a handshake slot; resolves to its release (idempotent). Rejects if the run is aborted meanwhile. */
function handshakeSlot(signal: AbortSignal): Promise<() => void> {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    // A slot is handed straight to the next waiter, so the count never exceeds the limit.
    const next = handshakeQueue.shift();
    if (next) next();
    else handshaking--;
  };
  if (handshaking < sshHandshakeLimit()) {
    handshaking++;
    handshakePeak = Math.max(handshakePeak, handshaking);
    return Promise.resolve(release);
  }
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      const i = handshakeQueue.indexOf(wake);
      if (i >= 0) handshakeQueue.splice(i, 1);
      reject(new Error('aborted'));
    };
    const wake = () => {
      signal.removeEventListener('abort', onAbort);
      handshakePeak = Math.max(handshakePeak, handshaking);
      resolve(release);
    };
    if (signal.aborted) return reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    handshakeQueue.push(wake);
  });
}

// Fast, modern algorithms first; the rest of ssh2's defaults stay as fallbacks for older servers.
// Measured against the local OpenSSH 9.2 (12 connects each, median): curve25519 or ecdh-p256 or
// dh-group14 kex, aes128-gcm or chacha20, ed25519 or rsa host key all land at 72-82 ms, within noise:
// set-up time is sshd's fork/re-exec and auth, not crypto. So the choice is on security grounds
// (curve25519, ed25519, AEAD ciphers), and the real saving is reusing one connection per node.
const PREFERRED_KEX = ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'ecdh-sha2-nistp256'];
const PREFERRED_HOST_KEY = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'rsa-sha2-512', 'rsa-sha2-256'];
const PREFERRED_CIPHER = ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com'];

let connectionsOpened = 0;
/** TCP connections opened by this process (bastion connections included); for tests and the recap. */
export function sshConnectionCount(): number {
  return connectionsOpened;
}

export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return homedir() + path.slice(1);
  return path;
}

/** POSIX shell quoting: safe words stay bare, everything else single-quoted. */
export function shellQuote(word: string): string {
  if (word !== '' && /^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export function commandString(command: string[] | string, options: ExecOptions = {}): string {
  let cmd = typeof command === 'string' ? command : command.map(shellQuote).join(' ');
  const env = Object.entries(options.env ?? {});
  const prefix: string[] = [];
  // sshd accepts only AcceptEnv variables through the protocol: export them in the command instead.
  if (env.length) {
    for (const [k, v] of env) {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid environment variable name '${k}'`);
      prefix.push(`${k}=${shellQuote(v)}; export ${k};`);
    }
  }
  if (options.cwd) prefix.push(`cd ${shellQuote(options.cwd)} &&`);
  if (prefix.length) cmd = `${prefix.join(' ')} ${cmd}`;
  // Whether cmd is one simple command (quoted argv) that sudo/timeout can run without a shell.
  let simple = typeof command !== 'string' && !prefix.length;
  if (options.timeoutMs) {
    // sshd refuses signal requests in many set-ups (e.g. root sessions), so the remote side enforces the
    // limit itself; GNU/busybox timeout signals the whole process group, then KILLs after a second.
    const seconds = Math.max(options.timeoutMs / 1000, 0.001);
    cmd = `timeout -k 1 ${seconds} ${simple ? cmd : `sh -c ${shellQuote(cmd)}`}`;
    simple = true;
  }
  if (options.become) {
    const sudo = options.becomePassword !== undefined ? "sudo -S -p '' --" : 'sudo -n --';
    cmd = `${sudo} ${simple ? cmd : `sh -c ${shellQuote(cmd)}`}`;
  } else if (prefix.length && !options.timeoutMs) {
    // The login shell may not be POSIX; sh -c keeps `export`/`cd` semantics predictable.
    cmd = `sh -c ${shellQuote(cmd)}`;
  }
  return cmd;
}

interface Endpoint {
  /** Inventory name, for messages. */
  label: string;
  address: string;
  port: number;
  user: string;
  ssh: SshSettings;
  keyFile?: string;
}

function describe(e: Endpoint): string {
  return `${e.user}@${e.address}:${e.port}`;
}

/**
 * Each key file is read and parsed once per run, not once per node: ssh2 takes the parsed key as is, and
 * parsing (PEM conversion, key objects) for every one of 48 connections showed in the profile. The cache is the
 * run's (options.sshKeys, made by its ConnectionPool), so a key file replaced between two runs of one process
 * is read afresh.
 */
function parsedKey(file: string, passphrase: string | undefined, cache: SshKeyCache | undefined): Promise<ParsedKey | Error> {
  const cacheKey = `${file}\0${passphrase ?? ''}`;
  let p = cache?.get(cacheKey);
  if (!p) {
    p = Promise.all([readFile(file), loadSsh2()]).then(([data, { utils }]) => utils.parseKey(data, passphrase) as ParsedKey | Error);
    if (cache) {
      cache.set(cacheKey, p);
      p.catch(() => cache.delete(cacheKey));
    }
  }
  return p;
}

async function authMethods(e: Endpoint, options: ConnectOptions): Promise<{ methods: AnyAuthMethod[]; names: string[] }> {
  const methods: AnyAuthMethod[] = [];
  const names: string[] = [];
  const keyFiles = e.keyFile
    ? [expandHome(e.keyFile)]
    : ['~/.ssh/id_ed25519', '~/.ssh/id_ecdsa', '~/.ssh/id_rsa'].map(expandHome).filter((f) => existsSync(f));
  const passphraseEnv = e.ssh.private_key_passphrase_env;
  const passphrase = passphraseEnv ? process.env[passphraseEnv] : undefined;
  if (passphraseEnv && passphrase === undefined && e.keyFile)
    options.warn(`${e.label}: private_key_passphrase_env names ${passphraseEnv}, which is not set`);
  if (passphrase) options.secret(passphrase);
  for (const file of keyFiles) {
    let parsed: ParsedKey | Error;
    try {
      parsed = await parsedKey(file, passphrase, options.sshKeys);
    } catch (err) {
      throw new UnreachableError(e.label, `cannot read SSH private key ${file}: ${(err as Error).message}`);
    }
    if (parsed instanceof Error) {
      const hint = /encrypted|passphrase/i.test(parsed.message)
        ? passphraseEnv
          ? ` (is ${passphraseEnv} the right passphrase?)`
          : ' (the key is encrypted: set ssh.private_key_passphrase_env to the name of a variable holding its passphrase)'
        : '';
      throw new UnreachableError(e.label, `cannot use SSH private key ${file}: ${parsed.message}${hint}`);
    }
    methods.push({ type: 'publickey', username: e.user, key: parsed, passphrase });
    names.push(`publickey (${file})`);
  }
  if (process.env.SSH_AUTH_SOCK) {
    methods.push({ type: 'agent', username: e.user, agent: process.env.SSH_AUTH_SOCK });
    names.push('agent (SSH_AUTH_SOCK)');
  }
  if (e.ssh.password) {
    options.secret(e.ssh.password);
    methods.push({ type: 'password', username: e.user, password: e.ssh.password });
    names.push('password');
  }
  return { methods, names };
}

// ssh2's own default (and supported) lists; `prepend` in ssh2 does not move an algorithm that is
// already listed, so exact lists are built from them instead.
type Client = ClientType;
type Ssh2 = typeof import('ssh2');

let ssh2Loading: Promise<Ssh2> | undefined;

/**
 * ssh2 (with its crypto set-up, ~70 ms of CPU) is loaded on first use, after the first TCP connections are on their
 * way: the servers' start-up (sshd's fork and re-exec for each connection) and this load overlap instead of adding up.
 * ssh2 is CommonJS: its exports are the default export under NodeNext ESM.
 */
function loadSsh2(): Promise<Ssh2> {
  return (ssh2Loading ??= import('ssh2').then((m) => ((m as { default?: Ssh2 }).default ?? m) as Ssh2));
}

let ssh2Constants: Record<string, string[]> | undefined;

function ordered(preferred: string[], defaults: string[], supported: string[]): string[] {
  return [...new Set([...preferred.filter((a) => supported.includes(a)), ...defaults])];
}

export function algorithmsFor(knownTypes: string[]): ConnectConfig['algorithms'] {
  // Ask for a host key type known_hosts already has, so a host scanned for one type only is not "unknown".
  const hostKeyOrder: string[] = [];
  for (const t of knownTypes) {
    if (t === 'ssh-rsa') hostKeyOrder.push('rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa');
    else hostKeyOrder.push(t);
  }
  const c = (ssh2Constants ??= createRequire(import.meta.url)('ssh2/lib/protocol/constants.js') as Record<string, string[]>);
  return {
    kex: ordered(PREFERRED_KEX, c.DEFAULT_KEX, c.SUPPORTED_KEX),
    cipher: ordered(PREFERRED_CIPHER, c.DEFAULT_CIPHER, c.SUPPORTED_CIPHER),
    serverHostKey: ordered([...hostKeyOrder, ...PREFERRED_HOST_KEY], c.DEFAULT_SERVER_HOST_KEY, c.SUPPORTED_SERVER_HOST_KEY),
  } as ConnectConfig['algorithms'];
}

/**
 * Phase 1: reaches the SSH server of `e`, over `via` (a jump host's forwarded channel) or a TCP connection of its
 * own, and waits for the server's greeting line, all within ssh.connect_timeout. Resolves to the stream, paused,
 * with what was read put back for ssh2 to parse.
 */
function reachServer(e: Endpoint, timeoutS: number, signal: AbortSignal, via?: Duplex, timing: { tcpMs?: number } = {}): Promise<Duplex> {
  let sock: Duplex;
  let tcp: net.Socket | undefined;
  if (via) sock = via;
  else {
    const started = performance.now();
    sock = tcp = net.connect({ host: e.address, port: e.port });
    tcp.once('connect', () => (timing.tcpMs = Math.round(performance.now() - started)));
    connectionsOpened++;
  }
  return new Promise<Duplex>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let bytes = 0;
    let settled = false;
    const connected = () => !tcp || !tcp.connecting;
    const cleanup = () => {
      settled = true;
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      sock.off('data', onData);
      sock.off('error', onError);
      sock.off('close', onClose);
      sock.off('end', onClose);
    };
    const fail = (msg: string, cause?: Error) => {
      if (settled) return;
      cleanup();
      sock.on('error', () => undefined); // a late error of the destroyed socket must not go unhandled
      sock.destroy();
      reject(new UnreachableError(e.label, msg, cause ? { cause } : undefined));
    };
    const onData = (d: Buffer) => {
      chunks.push(d);
      bytes += d.length;
      const text = Buffer.concat(chunks).toString('latin1');
      // RFC 4253 4.2: the server may send other lines before its version line.
      if (/(^|\n)SSH-[^\n]*\n/.test(text)) {
        cleanup();
        sock.pause();
        sock.unshift(Buffer.concat(chunks));
        // Until ssh2 takes the stream over (after a wait for a handshake slot), an error must not go unhandled;
        // openClient sees the stream destroyed.
        sock.on('error', () => undefined);
        resolve(sock);
      } else if (bytes > MAX_GREETING_BYTES)
        fail(`${describe(e)} does not speak SSH: no "SSH-" version line in its first ${bytes} bytes`);
    };
    const onError = (err: Error & { code?: string }) => {
      if (err.code === 'ECONNREFUSED') fail(`connection refused by ${e.address}:${e.port} (is sshd running there?)`, err);
      else fail(`cannot connect to ${describe(e)}: ${err.message}`, err);
    };
    const onClose = () =>
      fail(`cannot connect to ${describe(e)}: the connection was closed before the server's SSH greeting${connected() ? ' (is sshd refusing connections, e.g. MaxStartups?)' : ''}`);
    const onAbort = () => fail(`cannot connect to ${describe(e)}: aborted`);
    // libuv runs due timers before it polls for I/O: after the event loop was busy for longer than the timeout
    // (preparing hundreds of hosts on a loaded machine), the timer would fire before a connect or greeting that
    // had already arrived. Decide one turn later (setImmediate runs after the poll), once that I/O is handled.
    const timer = setTimeout(() => setImmediate(onTimeout), timeoutS * 1000);
    const onTimeout = () => {
      if (settled) return;
      if (connected())
        fail(`timed out after ${timeoutS}s waiting for the SSH greeting of ${describe(e)}, which accepted the connection (ssh.connect_timeout)`);
      else fail(`timed out after ${timeoutS}s connecting to ${describe(e)} (ssh.connect_timeout)`);
    };
    sock.on('data', onData);
    sock.on('error', onError);
    sock.on('close', onClose);
    sock.on('end', onClose);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Opens one authenticated client to `e`: reaches the server (phase 1, over `via` when going through a jump host),
 * then does the handshake in a slot of the handshake pool (phase 2).
 */
async function openClient(e: Endpoint, options: ConnectOptions, via?: Duplex): Promise<Client> {
  const knownHostsFile = expandHome(e.ssh.known_hosts_file ?? '~/.ssh/known_hosts');
  const timeoutS = e.ssh.connect_timeout ?? DEFAULT_CONNECT_TIMEOUT_S;
  const handshakeS = e.ssh.handshake_timeout ?? DEFAULT_HANDSHAKE_TIMEOUT_S;
  // Reaching the server is waiting (the network, sshd's start-up): it starts first, and loading ssh2, reading
  // known_hosts and parsing keys happen meanwhile. Its failure is handled where it is awaited below.
  const started = performance.now();
  const timing: { tcpMs?: number } = {};
  const reaching = reachServer(e, timeoutS, options.signal, via, timing);
  reaching.catch(() => undefined);
  const drop = () => void reaching.then((sock) => sock.destroy(), () => undefined);
  let Client: Ssh2['Client'];
  let entries: Awaited<ReturnType<typeof readKnownHosts>>;
  let methods: AnyAuthMethod[];
  let names: string[];
  try {
    [{ Client }, entries, { methods, names }] = await Promise.all([loadSsh2(), readKnownHosts(knownHostsFile), authMethods(e, options)]);
  } catch (err) {
    drop();
    throw err;
  }
  if (!methods.length) {
    drop();
    throw new UnreachableError(
      e.label,
      `no SSH credentials for ${describe(e)}: set ssh.private_key_file or ssh.password, or run an ssh-agent (SSH_AUTH_SOCK)`,
    );
  }
  let hostKeyProblem: string | undefined;
  const tried: string[] = [];

  const hostVerifier = (blob: Buffer, verify: (ok: boolean) => void): void => {
    const verdict = verifyHostKey(entries, e.address, e.port, blob);
    if (verdict.status === 'known') return verify(true);
    // What the messages below name: a hash and a parse per node, only for a key that is not simply known.
    const type = keyTypeOf(blob);
    const fp = fingerprint(blob);
    const name = knownHostsName(e.address, e.port);
    if (verdict.status === 'revoked') {
      hostKeyProblem = `host key of ${name} (${type} ${fp}) is marked @revoked in ${knownHostsFile}:${verdict.line}; refusing to connect`;
      return verify(false);
    }
    if (verdict.status === 'changed') {
      hostKeyProblem =
        `@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${name} @@@ ` +
        `It now offers ${type} ${fp}, but ${knownHostsFile} line(s) ${verdict.lines.join(', ')} hold a different ${type} key. ` +
        `Someone could be intercepting the connection, or the host was reinstalled. Refusing to connect (also with --ssh-accept-new). ` +
        `If the change is expected, remove the old entry: ssh-keygen -R '${name}' -f ${knownHostsFile}`;
      return verify(false);
    }
    if (!options.acceptNewHostKeys) {
      hostKeyProblem =
        `host key of ${name} is not known: ${type} ${fp} is not in ${knownHostsFile}` +
        (verdict.otherTypes.length ? ` (which has only ${verdict.otherTypes.join(', ')} for it)` : '') +
        `. Check the fingerprint, then rerun with --ssh-accept-new, or add it with: ` +
        `ssh-keyscan -p ${e.port} ${e.address} >> ${knownHostsFile}`;
      return verify(false);
    }
    appendKnownHost(knownHostsFile, e.address, e.port, blob).then(
      (wrote) => {
        if (wrote) options.warn(`${e.label}: recorded new host key ${type} ${fp} for ${name} in ${knownHostsFile}`);
        verify(true);
      },
      (err: Error) => {
        hostKeyProblem = `cannot record host key of ${name} in ${knownHostsFile}: ${err.message}`;
        verify(false);
      },
    );
  };

  const pending = methods.map((method, i) => ({ method, name: names[i] }));
  const authHandler = (authsLeft: string[] | null, _partial: boolean | null, next: (m: AnyAuthMethod | false) => void) => {
    let m = pending.shift();
    // Skip methods the server says it will not accept, as OpenSSH's client does.
    while (m && authsLeft && !authsLeft.includes(m.method.type === 'agent' ? 'publickey' : m.method.type)) m = pending.shift();
    if (!m) return next(false);
    tried.push(m.name);
    next(m.method);
  };

  const sock = await reaching;
  const reached = performance.now();
  let release: () => void;
  try {
    release = await handshakeSlot(options.signal);
  } catch (err) {
    sock.destroy();
    throw new UnreachableError(e.label, `cannot connect to ${describe(e)}: ${(err as Error).message}`, { cause: err });
  }
  // Anything the socket met while this host waited for its slot: ssh2 would not see it happen again.
  if (sock.destroyed || !sock.readable) {
    release();
    throw new UnreachableError(e.label, `cannot connect to ${describe(e)}: the connection was closed while waiting to start the SSH handshake`);
  }
  const handshakeStarted = performance.now();

  const client = new Client();
  const config: ConnectConfig = {
    host: e.address,
    port: e.port,
    username: e.user,
    sock: sock as ConnectConfig['sock'],
    readyTimeout: handshakeS * 1000,
    // A server that vanishes without closing (a partition, a powered-off node) is noticed after 4 unanswered probes,
    // about a minute, even during a long command; OpenSSH and Ansible send none by default. Probes every 5 s cost
    // each idle connection of a large run a round trip that wakes its sshd: a 256-node run of 20 s sent ~3 per
    // connection that had finished its command and waited for the others.
    keepaliveInterval: 15_000,
    keepaliveCountMax: 3,
    hostVerifier: hostVerifier as ConnectConfig['hostVerifier'],
    authHandler: authHandler as ConnectConfig['authHandler'],
    algorithms: algorithmsFor(knownKeyTypes(entries, e.address, e.port)),
  };

  return new Promise<Client>((resolve, reject) => {
    let settled = false;
    const fail = (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      settled = true;
      release();
      options.signal.removeEventListener('abort', onAbort);
      client.end();
      sock.destroy();
      let msg: string;
      if (hostKeyProblem) msg = hostKeyProblem;
      else if (err.level === 'client-authentication')
        msg = `authentication failed for ${describe(e)} (tried: ${tried.length ? tried.join(', ') : 'nothing the server accepts'})`;
      else if (err.level === 'client-timeout' || /timed out/i.test(err.message))
        msg = `timed out after ${handshakeS}s in the SSH handshake with ${describe(e)} (key exchange and authentication; ssh.handshake_timeout)`;
      else msg = `cannot connect to ${describe(e)}: ${err.message}`;
      reject(new UnreachableError(e.label, msg, { cause: err }));
    };
    const onAbort = () => fail(new Error('aborted'));
    if (options.signal.aborted) return onAbort();
    options.signal.addEventListener('abort', onAbort, { once: true });
    client.once('ready', () => {
      if (settled) return;
      settled = true;
      release();
      options.signal.removeEventListener('abort', onAbort);
      const ms = (a: number, b: number) => Math.round(b - a);
      const done = performance.now();
      options.log(
        3,
        `ssh ${describe(e)}: reached in ${ms(started, reached)} ms (connect_timeout${timing.tcpMs === undefined ? '' : `; TCP ${timing.tcpMs} ms, then the greeting`}), waited ${ms(reached, handshakeStarted)} ms for a handshake slot, handshake ${ms(handshakeStarted, done)} ms (handshake_timeout)`,
      );
      resolve(client);
    });
    client.on('error', fail);
    client.once('close', () => fail(new Error('connection closed during set-up')));
    client.connect(config);
  });
}

function endpointOf(host: Host): Endpoint {
  const ssh = host.ssh ?? {};
  if (!host.address) throw new UnreachableError(host.name, `host ${host.name} has no address to connect to`);
  return {
    label: host.name,
    address: host.address,
    port: ssh.port ?? 22,
    user: ssh.user ?? process.env.USER ?? 'root',
    ssh,
    keyFile: ssh.private_key_file,
  };
}

/**
 * ssh2's channel.signal() refuses once our side of the channel has ended (stdin closed), which is
 * always the case here; the protocol itself allows it, so send the request directly.
 */
function sendSignal(stream: ClientChannel, name: string): void {
  const internal = stream as unknown as {
    outgoing?: { id: number; state: string };
    _client?: { _protocol?: { signal(id: number, name: string): void } };
  };
  try {
    const state = internal.outgoing?.state;
    if (internal.outgoing && (state === 'open' || state === 'eof')) internal._client?._protocol?.signal(internal.outgoing.id, name);
  } catch {
    /* best effort: the channel close below still ends the wait */
  }
}

class SshConnection implements CommandConnection {
  readonly kind = 'ssh' as const;
  readonly host: string;
  private client: Client;
  private bastion?: Client;
  private connectMs: number;
  private commands = 0;
  private commandMs = 0;
  private active = 0;
  private waiting: Array<() => void> = [];
  private inFlight = new Set<(err: Error) => void>();
  private lost?: UnreachableError;
  private closing = false;

  constructor(host: string, client: Client, connectMs: number, private readonly options: ConnectOptions, bastion?: Client) {
    this.host = host;
    this.client = client;
    this.bastion = bastion;
    this.connectMs = connectMs;
    const onLost = (why: string) => {
      if (this.closing || this.lost) return;
      this.lost = new UnreachableError(host, `SSH connection to ${host} lost: ${why}`);
      for (const reject of this.inFlight) reject(this.lost);
      this.inFlight.clear();
      for (const wake of this.waiting.splice(0)) wake();
    };
    client.on('error', (err) => onLost(err.message));
    client.on('close', () => onLost('the server closed the connection'));
    bastion?.on('close', () => onLost('the jump host closed the connection'));
  }

  timings(): ConnectionTimings {
    return { connectMs: this.connectMs, commands: this.commands, commandMs: this.commandMs };
  }

  private async slot(): Promise<void> {
    while (this.active >= MAX_CHANNELS && !this.lost) await new Promise<void>((r) => this.waiting.push(r));
    this.active++;
  }

  private release(): void {
    this.active--;
    this.waiting.shift()?.();
  }

  async exec(command: string[] | string, opts: ExecOptions = {}): Promise<ExecResult> {
    if (opts.becomePassword !== undefined) this.options.secret(opts.becomePassword);
    const cmd = commandString(command, opts);
    await this.slot();
    try {
      if (this.lost) throw this.lost;
      const started = performance.now();
      const result = await this.runRetryingOpen(cmd, opts);
      result.durationMs = Math.round(performance.now() - started);
      this.commands++;
      this.commandMs += result.durationMs;
      if (opts.become && result.code === 127 && /sudo.*not found/.test(result.stderr))
        result.stderr = `become needs sudo, which is not installed on ${this.host}\n${result.stderr}`;
      return result;
    } finally {
      this.release();
    }
  }

  /**
   * sshd frees a session slot a moment after the channel closes, so a burst of commands can briefly meet
   * its MaxSessions limit ("open failed"): wait and retry rather than calling the host unreachable.
   */
  private async runRetryingOpen(cmd: string, opts: ExecOptions): Promise<ExecResult> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.run(cmd, opts);
      } catch (err) {
        const refused = err instanceof UnreachableError && /Channel open failure/i.test(err.message) && !this.lost;
        if (!refused || attempt >= 6) throw err;
        await new Promise((r) => setTimeout(r, 25 * attempt));
      }
    }
  }

  private run(cmd: string, opts: ExecOptions): Promise<ExecResult> {
    return new Promise<ExecResult>((resolve, reject) => {
      let channel: ClientChannel | undefined;
      let timer: NodeJS.Timeout | undefined;
      let timedOut = false;
      const onLost = (err: Error) => {
        clearTimeout(timer);
        channel?.destroy();
        reject(err);
      };
      this.inFlight.add(onLost);
      const done = (fn: () => void) => {
        this.inFlight.delete(onLost);
        clearTimeout(timer);
        fn();
      };
      try {
        this.client.exec(cmd, (err, stream) => {
          if (err) {
            done(() => reject(new UnreachableError(this.host, `cannot open a command channel on ${this.host}: ${err.message}`, { cause: err })));
            return;
          }
          channel = stream;
          const out: Buffer[] = [];
          const errOut: Buffer[] = [];
          let code: number | null = null;
          let signal: string | undefined;
          stream.on('data', (d: Buffer) => out.push(d));
          stream.stderr.on('data', (d: Buffer) => errOut.push(d));
          stream.on('exit', (c: number | null, sig?: string) => {
            code = c;
            signal = sig;
          });
          let finished = false;
          const finish = () => {
            if (finished) return;
            finished = true;
            done(() => {
              let stderr = Buffer.concat(errOut).toString('utf8');
              const sep = stderr && !stderr.endsWith('\n') ? '\n' : '';
              if (timedOut) stderr += `${sep}command timed out after ${opts.timeoutMs} ms and was killed`;
              else if (signal) stderr += `${sep}command killed by signal ${signal}`;
              resolve({
                stdout: Buffer.concat(out).toString('utf8'),
                stderr,
                code: timedOut || code === null ? -1 : code,
                durationMs: 0,
              });
            });
          };
          stream.on('close', finish);
          if (opts.timeoutMs) {
            timer = setTimeout(() => {
              timedOut = true;
              sendSignal(stream, 'KILL');
              stream.close();
              // The remote `timeout` normally ends it; if the server keeps the channel open, stop waiting.
              timer = setTimeout(() => {
                channel?.destroy();
                finish();
              }, 2000);
            }, opts.timeoutMs);
          }
          const pass = opts.become && opts.becomePassword !== undefined ? opts.becomePassword + '\n' : '';
          stream.end(pass + (opts.stdin ?? ''));
        });
      } catch (err) {
        done(() => reject(this.lost ?? new UnreachableError(this.host, `SSH connection to ${this.host} is closed: ${(err as Error).message}`)));
      }
    });
  }

  async close(): Promise<void> {
    this.closing = true;
    // ssh2's end() writes our goodbye (SSH_MSG_DISCONNECT) and half-closes; once it is in the kernel's send queue
    // the socket can be closed at once: the kernel still delivers it, then FIN. Waiting for every server to close
    // its side kept the process alive after the recap (~0.2 s at 96 nodes, ~0.7 s at 256 on a busy 2-core machine).
    // Only data still queued in Node (a congested socket) is waited for, as long as before (2 s).
    const waits: Promise<void>[] = [];
    for (const c of [this.client, this.bastion]) {
      if (!c) continue;
      const sock = (c as unknown as { _sock?: unknown })._sock;
      c.end();
      // A client through a jump host runs over a channel: it ends with the jump host's socket below.
      if (!(sock instanceof net.Socket) || sock.destroyed) continue;
      if (sock.writableLength === 0) {
        sock.destroy();
        continue;
      }
      waits.push(
        new Promise<void>((resolve) => {
          const done = () => {
            clearTimeout(timer);
            sock.destroy();
            resolve();
          };
          const timer = setTimeout(done, 2000);
          sock.once('finish', done).once('close', done);
        }),
      );
    }
    await Promise.all(waits);
  }
}

export async function connect(options: ConnectOptions): Promise<CommandConnection> {
  const target = endpointOf(options.host);
  const started = performance.now();
  const jump = target.ssh.proxy_jump;
  if (!jump) {
    const client = await openClient(target, options);
    return new SshConnection(options.host.name, client, Math.round(performance.now() - started), options);
  }
  // The bastion is checked against the same known_hosts file with its own name and key.
  const bastionEndpoint: Endpoint = {
    label: options.host.name,
    address: jump.host,
    port: jump.port ?? 22,
    user: jump.user ?? target.user,
    ssh: { ...target.ssh, password: undefined, private_key_passphrase_env: target.ssh.private_key_passphrase_env },
    keyFile: jump.private_key_file ?? target.keyFile,
  };
  let bastion: Client;
  try {
    bastion = await openClient(bastionEndpoint, options);
  } catch (err) {
    if (err instanceof UnreachableError)
      throw new UnreachableError(options.host.name, `jump host ${jump.host}: ${err.message}`, { cause: err });
    throw err;
  }
  const stream = await new Promise<ClientChannel>((resolve, reject) =>
    bastion.forwardOut('127.0.0.1', 0, target.address, target.port, (err, s) => {
      if (err) {
        bastion.end();
        reject(
          new UnreachableError(
            options.host.name,
            `jump host ${jump.host} cannot reach ${target.address}:${target.port}: ${err.message}`,
            { cause: err },
          ),
        );
      } else resolve(s);
    }),
  );
  try {
    const client = await openClient(target, options, stream);
    return new SshConnection(options.host.name, client, Math.round(performance.now() - started), options, bastion);
  } catch (err) {
    bastion.end();
    throw err;
  }
}
