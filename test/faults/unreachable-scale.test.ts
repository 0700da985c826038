// 1,000 nodes in 10 clusters whose sshd accepts TCP and then never speaks (no SSH greeting: each connection waits
// until ssh.connect_timeout, which covers reaching the server; the handshake pool and ssh.handshake_timeout only
// start once a server has greeted): connections open with their own concurrency (--max-connecting), apart from --forks, so
// they wait out their timeouts together instead of in waves of --forks; every node fails on its own
// (unreachable), the run exits 4. What is asserted is how many connections were waiting at once, read by the
// listener itself, not a duration. Each scenario records a row of the faults table (test/helpers/fault-table.ts):
// handshakes the listener stalled, the run's exit, and the recap's hosts compared with the inventory's (each must be
// there, unreachable: a node missing from the recap is lost).
import t from 'tap';
import net from 'node:net';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { meshplay } from '../helpers/cli.js';
import { faultRow } from '../helpers/fault-table.js';

const SUITE = 'unreachable-scale';
const CLUSTERS = 10;
const NODES = 100;

/** Accepts connections on loopback addresses and never answers; counts how many are open at once. */
async function stalledSshd(): Promise<{ port: number; peak: () => number; accepted: () => number; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let peak = 0;
  let accepted = 0;
  const server = net.createServer((s) => {
    // Bound to every address so 127.1.x.y reach it; anything not from loopback is refused at once.
    if (!s.remoteAddress?.startsWith('127.') && !s.remoteAddress?.startsWith('::ffff:127.')) return void s.destroy();
    accepted++;
    sockets.add(s);
    peak = Math.max(peak, sockets.size);
    s.on('close', () => sockets.delete(s));
    s.resume(); // read (and drop) the client's version line, so its FIN is seen and the socket closes
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '0.0.0.0', backlog: 2048 }, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    peak: () => peak,
    accepted: () => accepted,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-scale-'));
t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));

function writeInventory(port: number, clusters: number, nodes: number): string {
  const lines = ['clusters:'];
  for (let c = 0; c < clusters; c++) {
    lines.push(`  - name: c${c}`);
    if (c === 0) lines.push('    istio_control_plane: true');
    lines.push('    nodes:');
    for (let n = 0; n < nodes; n++) {
      lines.push(`      - {name: c${c}-n${n}, address: 127.1.${c}.${n + 1}, ssh: {port: ${port}, connect_timeout: 3, password: not-used}}`);
    }
  }
  const file = path.join(dir, 'inventory.yml');
  fs.writeFileSync(file, lines.join('\n') + '\n');
  return file;
}

const playbook = path.join(dir, 'site.yml');
fs.writeFileSync(playbook, "- hosts: nodes\n  gather_facts: false\n  tasks:\n    - command: 'true'\n");

/** Every inventory node, as the comparison expects it in the recap: unreachable. */
const everyNode = (clusters: number, nodes: number) => Array.from({ length: clusters * nodes }, (_, i) => `c${Math.floor(i / nodes)}-n${i % nodes} unreachable`);
/** The recap's hosts that are unreachable and nothing else. */
const unreachableInRecap = (recap: Record<string, Record<string, number>>) => Object.entries(recap).filter(([, s]) => s.unreachable === 1 && !s.ok && !s.failed).map(([h]) => `${h} unreachable`);

async function run(extra: string[], clusters = CLUSTERS, nodes = NODES): Promise<{ code: number; recap: Record<string, Record<string, number>>; peak: number; accepted: number }> {
  const sshd = await stalledSshd();
  try {
    const inventory = writeInventory(sshd.port, clusters, nodes);
    const r = await meshplay(['run', playbook, '-i', inventory, '-o', 'json', '--forks', '50', ...extra], { timeoutMs: 300_000 });
    const out = JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
    const recap = (out.stats ?? out.recap?.stats ?? {}) as Record<string, Record<string, number>>;
    return { code: r.code, recap, peak: sshd.peak(), accepted: sshd.accepted() };
  } finally {
    await sshd.close();
  }
}

t.test('1,000 stalled nodes wait out their connect timeouts together, each unreachable, exit 4', async (t) => {
  const row = faultRow(t, SUITE, `SSH handshake stalls (${CLUSTERS * NODES} nodes)`, 'hosts');
  const r = await run([]);
  row.ran(r.code);
  row.injected = r.accepted;
  row.compare(everyNode(CLUSTERS, NODES), unreachableInRecap(r.recap));
  t.equal(r.code, 4);
  const hosts = Object.keys(r.recap);
  t.equal(hosts.length, CLUSTERS * NODES, 'every node in the recap');
  t.ok(hosts.every((h) => r.recap[h]!.unreachable === 1 && r.recap[h]!.ok === 0), 'every node unreachable on its own');
  t.equal(r.accepted, CLUSTERS * NODES, 'one connection attempt per node');
  // forks is 50: waves of forks would never have more than 50 handshakes waiting at once. The listener sees a
  // timed-out socket close a moment after the client let go of it, so it may count a few more than the limit.
  t.ok(r.peak >= 256 && r.peak <= 256 + 16, `peak ${r.peak}: the default --max-connecting (256) handshakes waited at once, not --forks (50)`);
  row.done(t);
});

t.test('--max-connecting bounds the connections being opened at once', async (t) => {
  const row = faultRow(t, SUITE, 'SSH handshake stalls (300 nodes, --max-connecting 120)', 'hosts');
  const r = await run(['--max-connecting', '120'], 3, 100);
  row.ran(r.code);
  row.injected = r.accepted;
  row.compare(everyNode(3, 100), unreachableInRecap(r.recap));
  t.equal(r.code, 4);
  t.ok(r.peak >= 120 && r.peak <= 120 + 16, `peak ${r.peak}`);
  t.equal(Object.values(r.recap).filter((s) => s.unreachable === 1).length, 300);
  row.done(t);
});
