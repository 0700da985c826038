// The lab against the real kernel, sshd and BIRD (2 clusters x 2 nodes), plus its pure parts.
import t from 'tap';
import { nodeLab } from './helpers/lab.js';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { birdRoutes, labDown, labState, labStatus, labUp, moveBlock, nodeExec, regenHostKey, startSshd, stopSshd } from '../lab/cli.js';
import { buildSpec, chooseSubnet, cidrsOverlap, podBlockOf } from '../lab/spec.js';
import { birdConfig, parseProtocols } from '../lab/bird.js';
import { sshdConfig } from '../lab/sshd.js';
import { STATE_DIR } from '../lab/state.js';
import { labNamespaces, rootLabLinks } from '../lab/net.js';

t.test('spec: addresses, blocks and CIDRs', async (t) => {
  const spec = buildSpec({ clusters: 2, nodes: 3, overlap: false }, '10.213.0.0/16');
  t.same(spec.clusters.map((c) => [c.name, c.podCidr, c.serviceCidr, c.controlPlane]), [
    ['lab1', '10.101.0.0/16', '10.201.0.0/16', true],
    ['lab2', '10.102.0.0/16', '10.202.0.0/16', false],
  ]);
  t.same(spec.clusters[1]!.nodes[2], { name: 'lab2-n3', address: '10.213.2.3', podBlock: '10.102.0.128/26', podAddress: '10.102.0.129' });
  t.equal(podBlockOf('10.101.0.0/16', 5), '10.101.1.64/26');
  const overlap = buildSpec({ clusters: 2, nodes: 1, overlap: true }, '10.213.0.0/16');
  t.equal(overlap.clusters[0]!.podCidr, overlap.clusters[1]!.podCidr);
  t.equal(overlap.clusters[0]!.nodes[0]!.podBlock, overlap.clusters[1]!.nodes[0]!.podBlock);
  t.ok(cidrsOverlap('10.0.0.0/8', '10.213.4.0/24'));
  t.notOk(cidrsOverlap('10.213.0.0/16', '10.214.0.0/16'));
  t.equal(chooseSubnet(['192.0.2.0/24', '10.213.7.0/24'], { clusters: 2, nodes: 2, overlap: false }), '10.214.0.0/16');
  t.throws(() => chooseSubnet(['0.0.0.0/1', '128.0.0.0/1'], { clusters: 1, nodes: 1, overlap: false }), /no free lab network/);
  t.throws(() => buildSpec({ clusters: 0, nodes: 1, overlap: false }, '10.213.0.0/16'), /--clusters/);
});

t.test('configs: BIRD and sshd', async (t) => {
  const self = { name: 'lab1-n1', address: '10.213.1.1', podBlock: '10.101.0.0/26' };
  const conf = birdConfig(self, [{ name: 'lab1-n2', address: '10.213.1.2', podBlock: '10.101.0.64/26' }], '/x/bird.log');
  t.match(conf, /route 10\.101\.0\.0\/26 blackhole;/);
  t.match(conf, /neighbor 10\.213\.1\.2 as 64512;/);
  t.match(conf, /router id 10\.213\.1\.1;/);
  const s = sshdConfig({ hostKey: '/k', pidFile: '/p', authorizedKeys: '/a' });
  for (const line of ['UsePAM no', 'PermitRootLogin prohibit-password', 'StrictModes no', 'PasswordAuthentication no', 'SetEnv SHLVL=1']) {
    t.match(s, new RegExp(`^${line}$`, 'm'), line);
  }
  const sessions = parseProtocols(
    'BIRD 2.0.12 ready.\nName       Proto      Table      State  Since         Info\ndevice1    Device     ---        up     06:30:01\n' +
      'mesh_10_213_1_2 BGP        ---        up     06:30:02      Established   \nmesh_10_213_1_3 BGP        ---        start  06:30:02      Active        Socket: Connection refused\n',
  );
  t.same(sessions, [
    { name: 'mesh_10_213_1_2', state: 'up', info: 'Established' },
    { name: 'mesh_10_213_1_3', state: 'start', info: 'Active' },
  ]);
});

function ssh(key: string, knownHosts: string, address: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn('ssh', [
      '-i', key, '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'StrictHostKeyChecking=yes', '-o', 'BatchMode=yes',
      '-o', 'ConnectTimeout=5', '-o', 'LogLevel=error', `root@${address}`, command,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code: code ?? 128, stdout, stderr }));
  });
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 15000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function processRuns(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z'); // a zombie is a dead process not yet reaped
  } catch {
    return false;
  }
}

const skipReal =
  process.getuid?.() !== 0 ? 'needs root (network namespaces)'
  : existsSync(join(STATE_DIR, 'state.json')) ? `a lab is up (${STATE_DIR}); this test would replace it: run \`meshplay lab down\` first`
  : false;

t.test('real lab 2x2', { skip: skipReal }, async (t) => {
  const { up, opts } = await nodeLab(t, 'lab-test', { clusters: 2, nodes: 2 });
  const { stateDir, inventoryFile } = opts;
  t.ok(up.rebuilt, `built in ${up.ms} ms`);
  const state = up.state;
  t.equal(state.nodes.length, 4);
  const inventory = readFileSync(inventoryFile, 'utf8');
  t.match(inventory, /istio_control_plane: true/);
  t.match(inventory, new RegExp(`private_key_file: ${join(stateDir, 'id_ed25519')}`));
  t.match(inventory, /lab: true/);
  const key = join(stateDir, 'id_ed25519');
  const knownHosts = join(stateDir, 'known_hosts');

  await t.test('every node answers SSH with the lab key and a checked host key, quickly', async (t) => {
    const results = await Promise.all(state.nodes.map((n) => ssh(key, knownHosts, n.address, 'echo "$SHLVL" && ip -4 -o addr show dev eth0')));
    results.forEach((r, i) => {
      t.equal(r.code, 0, `${state.nodes[i]!.name}: ${r.stderr}`);
      t.match(r.stdout, state.nodes[i]!.address, 'command ran inside the node namespace');
    });
  });

  await t.test('routes are Calico-like: own blackhole, cluster peers via BGP, nothing from the other cluster', async (t) => {
    for (const node of state.nodes) {
      const routes = await birdRoutes(node);
      t.ok(routes.some((r) => r.dst === node.podBlock && r.type === 'blackhole'), `${node.name} blackholes its own block`);
      for (const other of state.nodes) {
        if (other === node) continue;
        const route = routes.find((r) => r.dst === other.podBlock);
        if (other.cluster === node.cluster) t.equal(route?.gateway, other.address, `${node.name} routes ${other.podBlock} via ${other.name}`);
        else t.notOk(route, `${node.name} has no route for ${other.name}'s block`);
      }
    }
  });

  await t.test('pods: reachable in the cluster, not across clusters yet', async (t) => {
    const [a1, a2, b1] = [state.nodes[0]!, state.nodes[1]!, state.nodes[2]!];
    t.equal((await nodeExec(a1.name, ['ping', '-c1', '-W1', a1.podAddress], opts)).exitCode, 0, 'node pings its own pod');
    t.equal((await nodeExec(a1.name, ['ping', '-c1', '-W1', a2.podAddress], opts)).exitCode, 0, 'node pings a peer pod over the BGP route');
    t.not((await nodeExec(a1.name, ['ping', '-c1', '-W1', b1.podAddress], opts)).exitCode, 0, 'no route to the other cluster\'s pods');
  });

  await t.test('status healthy; a second up changes nothing', async (t) => {
    const status = await labStatus({ ...opts, kube: false });
    t.ok(status.healthy, status.lines.join('\n'));
    const again = await labUp({ ...opts, clusters: 2, nodes: 2, kube: false });
    t.notOk(again.rebuilt);
    t.same(again.state.nodes.map((n) => n.sshdPid), state.nodes.map((n) => n.sshdPid), 'same daemons');
  });

  await t.test('helpers: stop/start sshd, host key change, block move', async (t) => {
    const [a1, a2] = [state.nodes[0]!, state.nodes[1]!];
    await stopSshd(a1.name, opts);
    t.notOk((await labStatus({ ...opts, kube: false })).healthy, 'unhealthy with sshd stopped');
    t.not((await ssh(key, knownHosts, a1.address, 'true')).code, 0);
    await startSshd(a1.name, opts);
    t.equal((await ssh(key, knownHosts, a1.address, 'true')).code, 0, 'back after start');

    await regenHostKey(a1.name, opts);
    const changed = await ssh(key, knownHosts, a1.address, 'true');
    t.not(changed.code, 0, 'changed host key refused');
    t.match(changed.stderr, /HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);
    await regenHostKey(a1.name, { ...opts, updateKnownHosts: true });
    t.equal((await ssh(key, knownHosts, a1.address, 'true')).code, 0, 'accepted once known_hosts is updated');

    const newBlock = '10.101.8.0/26';
    await moveBlock(a2.name, newBlock, opts);
    await eventually('peer to learn the moved block', async () => {
      const routes = await birdRoutes(a1);
      return routes.some((r) => r.dst === newBlock && r.gateway === a2.address) && !routes.some((r) => r.dst === a2.podBlock);
    });
    t.equal((await nodeExec(a1.name, ['ping', '-c1', '-W1', '10.101.8.1'], opts)).exitCode, 0, 'moved pod reachable');
    const moved = await labState(opts);
    t.equal(moved?.nodes.find((n) => n.name === a2.name)?.podBlock, newBlock);
  });

  await t.test('down removes everything it made', async (t) => {
    const before = (await labState(opts))!;
    const pids = before.nodes.flatMap((n) => [n.sshdPid!, n.birdPid!]);
    await labDown({ ...opts, kube: false });
    t.same(await labNamespaces(), [], 'no mpl- namespace');
    t.same(await rootLabLinks(), [], 'no mpl- link in the root namespace');
    t.same(pids.filter(processRuns), [], 'no lab daemon running');
    t.notOk(existsSync(join(stateDir, 'state.json')));
    t.notOk(existsSync(inventoryFile));
  });
});
