// The floor: the least a Node program must do for the pod CIDR routes job, to measure meshplay against.
// One ssh2 connection per node (host keys checked against the lab's known_hosts), one
// `ip -j -d route show` per node, plan in memory, one `ip -batch -` per node that needs a change.
// No engine, no templating, no output beyond one JSON line. Run as its own process so its start-up counts:
//   node dist/bench/floor.js STATE_DIR [--proto 201]
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'ssh2';

interface FloorNode {
  name: string;
  cluster: string;
  address: string;
  /** 22 unless given (lab nodes listen on 22 in their namespaces). */
  port?: number;
}

interface IpRoute {
  dst: string;
  type?: string;
  gateway?: string;
  protocol?: string;
}

export interface FloorResult {
  nodes: number;
  changedNodes: number;
  added: number;
  deleted: number;
  routes: number;
  /** ms since the process started: modules loaded, every node connected, every node read, done. */
  loadedMs: number;
  connectedMs: number;
  readMs: number;
  ms: number;
}

function knownHostKeys(file: string): Map<string, string> {
  const keys = new Map<string, string>();
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [host, , key] = line.trim().split(/\s+/);
    if (host && key && !host.startsWith('#')) keys.set(host, key);
  }
  return keys;
}

function connect(node: FloorNode, privateKey: Buffer, hostKey: string, clients: Client[]): Promise<Client> {
  return new Promise((resolve, reject) => {
    const client = new Client();
    clients.push(client);
    client
      .on('ready', () => resolve(client))
      .on('error', (err) => reject(new Error(`${node.name} (${node.address}): ${err.message}`)))
      .connect({
        host: node.address,
        port: node.port ?? 22,
        username: 'root',
        privateKey,
        readyTimeout: 20_000,
        hostVerifier: (blob: Buffer) => blob.toString('base64') === hostKey,
      });
  });
}

function exec(client: Client, command: string, stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      let errOut = '';
      stream.on('data', (d: Buffer) => (out += d.toString()));
      stream.stderr.on('data', (d: Buffer) => (errOut += d.toString()));
      stream.on('close', (code: number) => (code === 0 ? resolve(out) : reject(new Error(`${command}: rc ${code}: ${errOut.trim()}`))));
      stream.end(stdin ?? '');
    });
  });
}

const isManaged = (r: IpRoute, proto: number) => r.protocol === String(proto) || r.protocol === 'meshplay';

export async function runFloor(stateDir: string, proto = 201): Promise<FloorResult> {
  // performance.now() counts from process start, so these include Node's own start-up.
  const loadedMs = performance.now();
  let connectedMs = 0;
  const state = JSON.parse(readFileSync(join(stateDir, 'state.json'), 'utf8')) as { nodes: FloorNode[] };
  const privateKey = readFileSync(join(stateDir, 'id_ed25519'));
  const hostKeys = knownHostKeys(join(stateDir, 'known_hosts'));
  const nodes = state.nodes;

  // Connect and read every node at once: planning needs every node's owned blocks. When one node fails, the
  // others' connections are ended too (open clients would keep the process alive after it reported the failure).
  const clients: Client[] = [];
  const read = await Promise.all(
    nodes.map(async (node) => {
      const hostKey = hostKeys.get(node.address);
      if (!hostKey) throw new Error(`${node.address} is not in known_hosts`);
      const client = await connect(node, privateKey, hostKey, clients);
      connectedMs = Math.max(connectedMs, performance.now());
      const routes = JSON.parse(await exec(client, 'ip -j -d route show')) as IpRoute[];
      return { node, client, routes };
    }),
  ).catch((err: unknown) => {
    for (const c of clients) c.destroy();
    throw err;
  });
  const readMs = performance.now();
  const owned = read.map(({ node, routes }) => ({
    node,
    blocks: routes.filter((r) => r.type === 'blackhole' && r.protocol === 'bird').map((r) => r.dst),
  }));

  let changedNodes = 0;
  let added = 0;
  let deleted = 0;
  let total = 0;
  await Promise.all(
    read.map(async ({ node, client, routes }) => {
      const desired = new Map<string, string>();
      for (const o of owned) if (o.node.cluster !== node.cluster) for (const b of o.blocks) desired.set(b, o.node.address);
      const current = new Map(routes.filter((r) => isManaged(r, proto)).map((r) => [r.dst, r.gateway ?? '']));
      const lines: string[] = [];
      // A managed route to a wanted dest via the wrong node is replaced in place, not deleted.
      for (const dst of current.keys()) if (!desired.has(dst)) lines.push(`route del ${dst} proto ${proto}`);
      deleted += lines.length;
      for (const [dst, via] of desired) {
        if (current.get(dst) === via) continue;
        lines.push(`route replace ${dst} via ${via} proto ${proto}`);
        added++;
      }
      total += desired.size;
      try {
        if (lines.length) {
          changedNodes++;
          await exec(client, 'ip -batch -', lines.join('\n') + '\n');
        }
      } finally {
        client.end();
      }
    }),
  );
  const r = Math.round;
  return { nodes: nodes.length, changedNodes, added, deleted, routes: total, loadedMs: r(loadedMs), connectedMs: r(connectedMs), readMs: r(readMs), ms: r(performance.now()) };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [stateDir, flag, value] = process.argv.slice(2);
  if (!stateDir) {
    process.stderr.write('usage: node dist/bench/floor.js STATE_DIR [--proto N]\n');
    process.exit(2);
  }
  runFloor(stateDir, flag === '--proto' ? Number(value) : 201).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: Error) => {
      process.stderr.write(`floor: ${err.message}\n`);
      process.exitCode = 1;
    },
  );
}
