// pod_cidr_routes end to end: the real CLI over real SSH against a real lab (2 clusters x 3 nodes of
// network namespaces with sshd and BIRD), checking the kernel's routes and real pings, not only the
// role's own report. One lab for the whole file; sections run in order and each leaves the lab converged.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { labState, moveBlock, nodeExec, regenHostKey, startSshd, stopSshd } from '../lab/cli.js';
import { STATE_DIR } from '../lab/state.js';
import type { LabState } from '../lab/state.js';
import { inferMissingPeers } from '../runner/routes/peers.js';
import { meshplay, recapOf, results, type CliRun } from './helpers/cli.js';
import { developerLabRunning, managedRoutes, nodeLab } from './helpers/lab.js';

const PLAYBOOK = 'playbooks/pod-cidr-routes.yml';
const ROUTE_TASK = "pod_cidr_routes : Route other clusters' pod blocks via the nodes that own them";
const VERIFY_FAIL_TASK = 'pod_cidr_routes : Fail when a pod of another cluster is unreachable';

t.test('an unreachable node is stood in for by what its cluster peers\' BIRD routes via its address', async (t) => {
  const peers = [
    { node: 'a1', cluster: 'a', via: '10.0.1.1', owned_blocks: ['10.1.0.0/26'], bird_learned: [{ dest: '10.1.0.64/26', via: '10.0.1.2' }, { dest: '10.1.0.128/26', via: '10.0.1.3' }] },
    { node: 'a3', cluster: 'a', via: '10.0.1.3', owned_blocks: ['10.1.0.128/26'], bird_learned: [{ dest: '10.1.0.64/26', via: '10.0.1.2' }, { dest: '10.1.1.0/26', via: '10.0.1.2' }] },
    { node: 'b1', cluster: 'b', via: '10.0.2.1', owned_blocks: ['10.2.0.0/26'], bird_learned: [{ dest: '10.9.9.0/26', via: '10.0.1.2' }] },
  ];
  t.same(inferMissingPeers(peers, [{ node: 'a2', cluster: 'a', address: '10.0.1.2' }]), [
    { node: 'a2', cluster: 'a', via: '10.0.1.2', owned_blocks: ['10.1.0.64/26', '10.1.1.0/26'] },
  ], 'blocks from every peer of its own cluster only, deduplicated');
  t.same(inferMissingPeers(peers, [{ node: 'b2', cluster: 'b', address: '10.0.2.2' }]), [], 'nothing known: no stand-in');
  t.same(inferMissingPeers([], [{ node: 'a2', cluster: 'a', address: '10.0.1.2' }]), []);
});

const skip =
  process.getuid?.() !== 0 ? 'needs root (network namespaces)'
  : !process.env.MESHPLAY_TEST_REPLACE_LAB && (await developerLabRunning())
    ? `a lab is up (${STATE_DIR}); this test would replace it: run \`meshplay lab down\` first (or set MESHPLAY_TEST_REPLACE_LAB=1)`
  : false;

t.test('pod_cidr_routes on a real 2x3 lab', { skip }, async (t) => {
  const { up, opts } = await nodeLab(t, 'routes-e2e', { clusters: 2, nodes: 3 });
  const { stateDir, inventoryFile } = opts;
  const nodes = up.state.nodes.map((n) => n.name);
  const inCluster = (c: string) => up.state.nodes.filter((n) => n.cluster === c).map((n) => n.name);
  const [c1, c2] = [inCluster('lab1'), inCluster('lab2')];

  const run = (args: string[] = [], inventory = inventoryFile): Promise<CliRun> =>
    meshplay(['run', PLAYBOOK, '-i', inventory, '--output', 'ndjson', ...args], { timeoutMs: 60_000 });
  const state = async (): Promise<LabState> => (await labState(opts))!;
  const explain = (r: CliRun) => `exit ${r.code}\n${r.stderr}\n${r.events.filter((e) => e.status === 'failed' || e.status === 'unreachable' || e.type === 'warning').map((e) => JSON.stringify(e)).join('\n')}`;

  const managed = (node: string) => managedRoutes(node, opts);
  async function allManaged(): Promise<Record<string, string[]>> {
    const out: Record<string, string[]> = {};
    for (const n of nodes) out[n] = await managed(n);
    return out;
  }
  /** What pod_cidr_routes should leave on `node`: every block of every other cluster's node, via it. */
  function expected(s: LabState, node: string, without: string[] = []): string[] {
    const self = s.nodes.find((n) => n.name === node)!;
    return s.nodes
      .filter((n) => n.cluster !== self.cluster && !without.includes(n.name))
      .map((n) => `${n.podBlock} via ${n.address}`)
      .sort();
  }
  async function pings(from: string, address: string): Promise<boolean> {
    return (await nodeExec(from, ['ping', '-c1', '-W1', address], opts)).exitCode === 0;
  }
  async function flushManaged(): Promise<void> {
    for (const n of nodes) await nodeExec(n, ['ip', 'route', 'flush', 'proto', '201'], opts);
  }
  /** The lab inventory with changes, written beside it. */
  async function inventoryVariant(name: string, change: (inv: any) => void): Promise<string> {
    const inv = parse(await readFile(inventoryFile, 'utf8'));
    change(inv);
    const file = join(stateDir, 'inventory', `${name}.yml`);
    await writeFile(file, stringify(inv));
    return file;
  }
  async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const stats = (r: CliRun) => recapOf(r).stats as Record<string, Record<string, number>>;
  /** `meshplay status`'s routes per cluster (this lab has no API servers: only the node probes answer). */
  async function statusRoutes(): Promise<Record<string, { checked: boolean; converged?: boolean; unknown?: boolean; missing: string[]; error?: string }>> {
    const r = await meshplay(['status', '-i', inventoryFile, '--output', 'json'], { timeoutMs: 120_000 });
    const body = JSON.parse(r.stdout || '{}');
    if (!Array.isArray(body.clusters)) throw new Error(`status printed no clusters: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return Object.fromEntries(body.clusters.map((c: { cluster: string; routes: any }) => [c.cluster, c.routes]));
  }

  await t.test('before the role, cluster 2 pods are out of reach of cluster 1', async (t) => {
    const s = await state();
    const pod = s.nodes.find((n) => n.name === c2[0])!.podAddress;
    t.notOk(await pings(c1[0]!, pod), `${c1[0]} cannot ping ${pod}`);
    t.same(await allManaged(), Object.fromEntries(nodes.map((n) => [n, []])), 'no proto 201 route anywhere');
  });

  await t.test('first run routes every other cluster\'s blocks; every node reaches every other cluster\'s pods', async (t) => {
    const r = await run();
    t.equal(r.code, 0, explain(r));
    const s = await state();
    for (const n of nodes) {
      t.same(await managed(n), expected(s, n), `${n}: exactly the expected proto 201 routes`);
      t.equal(stats(r)[n]?.changed, 1, `${n}: one change (the route task)`);
    }
    t.equal(results(r, 'pod_cidr_routes : Ping a pod address of every other cluster').filter((e) => e.status === 'ok').length, nodes.length, 'the role verified from every node');
    for (const e of results(r, 'pod_cidr_routes : Ping a pod address of every other cluster')) t.equal(e.result.stdout_lines.filter((l: string) => l.endsWith(' ok')).length, 3, `${e.host} pinged all 3 blocks of the other cluster`);
    for (const from of s.nodes)
      for (const to of s.nodes)
        if (to.cluster !== from.cluster) t.ok(await pings(from.name, to.podAddress), `${from.name} -> pod ${to.podAddress} of ${to.name}`);
  });

  await t.test('a re-run changes nothing', async (t) => {
    const before = await allManaged();
    const r = await run();
    t.equal(r.code, 0, explain(r));
    for (const n of nodes) t.equal(stats(r)[n]?.changed, 0, `${n}: changed=0`);
    t.same(await allManaged(), before);
    const routes = await statusRoutes();
    for (const c of ['lab1', 'lab2']) t.same(routes[c], { checked: true, converged: true, missing: [] }, `status: ${c}'s routes converged, as the run says`);
  });

  await t.test('--check --diff on a fresh lab shows the routes it would add and adds none', async (t) => {
    await flushManaged();
    const r = await run(['--check', '--diff']);
    t.equal(r.code, 0, explain(r));
    const s = await state();
    const byHost = new Map(results(r, ROUTE_TASK).map((e) => [e.host, e]));
    for (const n of nodes) {
      const e = byHost.get(n);
      t.equal(e?.status, 'changed', `${n}: would change`);
      t.equal(e?.result.added, 3, `${n}: 3 routes to add`);
      const diff = e?.result.diff?.[0];
      t.equal(diff?.before, '', `${n}: nothing managed before`);
      t.same(String(diff?.after ?? '').split('\n').filter(Boolean).sort(), expected(s, n), `${n}: diff lists each route to add`);
    }
    t.same(await allManaged(), Object.fromEntries(nodes.map((n) => [n, []])), 'check mode added no route');
    const plain = await meshplay(['run', PLAYBOOK, '-i', inventoryFile, '--check', '--diff'], { timeoutMs: 60_000 });
    t.equal(plain.code, 0, plain.stdout + plain.stderr);
    t.match(plain.stdout, `+${expected(s, c1[0]!)[0]}`, 'human output carries the + line of a route to add');

    const converge = await run();
    t.equal(converge.code, 0, explain(converge));
  });

  await t.test('a node removed from the inventory: its routes are pruned on the others, nothing else', async (t) => {
    const gone = c2[2]!;
    const before = await allManaged();
    const smaller = await inventoryVariant('without-node', (inv) => {
      const cluster = inv.clusters.find((c: any) => c.name === 'lab2');
      cluster.nodes = cluster.nodes.filter((n: any) => n.name !== gone);
    });
    const r = await run([], smaller);
    t.equal(r.code, 0, explain(r));
    const s = await state();
    const after = await allManaged();
    for (const n of c1) {
      t.same(after[n], expected(s, n, [gone]), `${n}: route to ${gone}'s block pruned, the others kept`);
      t.equal(stats(r)[n]?.changed, 1);
    }
    for (const n of c2.slice(0, 2)) {
      t.same(after[n], before[n], `${n}: untouched`);
      t.equal(stats(r)[n]?.changed, 0);
    }
    t.same(after[gone], before[gone], `${gone} itself is not in the run and keeps its routes`);
    t.notOk(stats(r)[gone], `${gone} not in the recap`);

    const back = await run();
    t.equal(back.code, 0, explain(back));
    for (const n of c1) t.same(await managed(n), expected(s, n), `${n}: route back once the node is back`);
  });

  await t.test('a block moved (BIRD reconfigured): the old route goes, the new one comes', async (t) => {
    const mover = c2[1]!;
    const old = (await state()).nodes.find((n) => n.name === mover)!;
    const newBlock = '10.102.1.0/26';
    await moveBlock(mover, newBlock, opts);
    await eventually(`${mover}'s BIRD to own ${newBlock}`, async () =>
      (await nodeExec(mover, ['ip', 'route', 'show', 'proto', 'bird', 'type', 'blackhole'], opts)).stdout.includes(newBlock),
    );
    // The node's BIRD block now differs from what the lab registered as its pod block: status judges routes by the
    // role's own probe (the BIRD block) and agrees with a --check run, cluster by cluster.
    const check = await run(['--check']);
    t.equal(check.code, 0, explain(check));
    const wouldChange = new Set(results(check, ROUTE_TASK).filter((e) => e.status === 'changed').map((e) => e.host));
    t.same([...wouldChange].sort(), [...c1].sort(), '--check: every lab1 node would change its routes');
    const moved = await statusRoutes();
    for (const [c, members] of [['lab1', c1], ['lab2', c2]] as const) {
      t.equal(moved[c]?.converged, !members.some((n) => wouldChange.has(n)), `status agrees with --check for ${c}: ${JSON.stringify(moved[c])}`);
    }
    for (const n of c1) t.ok(moved.lab1?.missing.some((m) => m.startsWith(`${n}: `) && m.includes(newBlock)), `status names ${n}'s route to ${newBlock}`);
    const r = await run();
    t.equal(r.code, 0, explain(r));
    const s = await state();
    for (const n of c1) {
      const routes = await managed(n);
      t.same(routes, expected(s, n), `${n}: routes follow the move`);
      t.ok(routes.includes(`${newBlock} via ${old.address}`), `${n}: new block routed`);
      t.notOk(routes.some((x) => x.startsWith(`${old.podBlock} `)), `${n}: old block ${old.podBlock} gone`);
      t.ok(await pings(n, s.nodes.find((x) => x.name === mover)!.podAddress), `${n} reaches the moved pod`);
    }
    for (const n of c2) t.equal(stats(r)[n]?.changed, 0, `${n}: nothing to do in its own cluster`);
    const after = await statusRoutes();
    for (const c of ['lab1', 'lab2']) t.equal(after[c]?.converged, true, `status after the run: ${c} converged`);
  });

  await t.test('a block of cluster 2 overlapping cluster 1 is refused, nothing changed, both owners named', async (t) => {
    const intruder = c2[2]!;
    const s0 = await state();
    const home = s0.nodes.find((n) => n.name === intruder)!.podBlock;
    const victim = s0.nodes.find((n) => n.name === c1[1])!;
    await flushManaged();
    await moveBlock(intruder, victim.podBlock, opts);
    await eventually(`${intruder}'s BIRD to own ${victim.podBlock}`, async () =>
      (await nodeExec(intruder, ['ip', 'route', 'show', 'proto', 'bird', 'type', 'blackhole'], opts)).stdout.includes(victim.podBlock),
    );
    t.teardown(() => moveBlock(intruder, home, opts));
    const r = await run();
    t.equal(r.code, 2, explain(r));
    const text = r.stdout + r.stderr;
    const owners = [`pod block ${victim.podBlock} of node ${intruder} (cluster lab2)`, `pod block ${victim.podBlock} of node ${victim.name} (cluster lab1)`];
    t.ok(text.includes(`${owners[0]} overlaps ${owners[1]}`) || text.includes(`${owners[1]} overlaps ${owners[0]}`), 'one line names both owners');
    t.match(text, 'nothing was changed');
    t.same(await allManaged(), Object.fromEntries(nodes.map((n) => [n, []])), 'no route added anywhere');
    t.equal(results(r, ROUTE_TASK).filter((e) => e.status === 'changed').length, 0, 'the route task changed no node');

    await moveBlock(intruder, home, opts);
    await eventually(`${intruder}'s BIRD to own ${home} again`, async () =>
      (await nodeExec(intruder, ['ip', 'route', 'show', 'proto', 'bird', 'type', 'blackhole'], opts)).stdout.includes(home),
    );
    const back = await run();
    t.equal(back.code, 0, explain(back));
  });

  await t.test('host keys: an unknown or changed key fails that node only (unreachable), the rest converge, exit 4', async (t) => {
    const s = await state();
    const stranger = s.nodes.find((n) => n.name === c1[2])!;
    const knownHosts = join(stateDir, 'known_hosts');
    const partial = join(stateDir, 'known_hosts.partial');
    await writeFile(partial, (await readFile(knownHosts, 'utf8')).split('\n').filter((l) => !l.startsWith(`${stranger.address} `)).join('\n'));
    const unknownInv = await inventoryVariant('unknown-key', (inv) => {
      inv.ssh.known_hosts_file = partial;
    });
    await flushManaged();
    const r = await run([], unknownInv);
    t.equal(r.code, 4, explain(r));
    const unreachable = r.events.filter((e) => e.type === 'task_result' && e.status === 'unreachable');
    t.same([...new Set(unreachable.map((e) => e.host))], [stranger.name], 'only that node unreachable');
    t.match(unreachable[0]?.result.msg, /host key of .* is not known: ssh-ed25519 SHA256:\S+ is not in .*--ssh-accept-new/);
    for (const n of nodes.filter((x) => x !== stranger.name)) {
      t.same(await managed(n), expected(s, n), `${n} converged (the unreadable node's block known from its cluster's BIRD)`);
      t.equal(stats(r)[n]?.failed, 0, `${n}: not failed`);
    }
    t.same(await managed(stranger.name), [], 'nothing done on the unreachable node');

    await regenHostKey(stranger.name, opts); // known_hosts keeps the old key: now a changed key
    const changed = await run();
    t.equal(changed.code, 4, explain(changed));
    const bad = changed.events.filter((e) => e.type === 'task_result' && e.status === 'unreachable');
    t.same([...new Set(bad.map((e) => e.host))], [stranger.name]);
    t.match(bad[0]?.result.msg, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
    for (const n of nodes.filter((x) => x !== stranger.name)) t.same(await managed(n), expected(s, n), `${n}: converged, unreachable node's routes kept`);

    await regenHostKey(stranger.name, { ...opts, updateKnownHosts: true });
    const back = await run();
    t.equal(back.code, 0, explain(back));
  });

  await t.test('sshd stopped on a node: unreachable, the rest converge (exit 4), its blocks are not pruned', async (t) => {
    const s = await state();
    const down = c2[0]!;
    const dropped = c1[1]!;
    const downBlock = s.nodes.find((n) => n.name === down)!.podBlock;
    await nodeExec(dropped, ['ip', 'route', 'flush', 'proto', '201'], opts); // something for the rest to converge on
    await stopSshd(down, opts);
    t.teardown(() => startSshd(down, opts).then(() => undefined));
    const r = await run();
    t.equal(r.code, 4, explain(r));
    t.equal(stats(r)[down]?.unreachable, 1, `${down} unreachable`);
    const msg = r.events.find((e) => e.type === 'task_result' && e.host === down)?.result.msg;
    t.match(msg, /connection refused/);
    for (const n of nodes.filter((x) => x !== down)) t.equal(stats(r)[n]?.failed, 0, `${n}: not failed`);
    for (const n of c1.filter((x) => x !== dropped))
      t.same(await managed(n), expected(s, n), `${n}: route to ${down}'s block ${downBlock} not pruned`);
    t.same(await managed(dropped), expected(s, dropped), `${dropped}: converged, ${down}'s block learned from its peers' BIRD`);
    t.ok(r.events.some((e) => e.type === 'warning' && /not pruning/.test(e.message)), 'warns that pruning waits');

    await startSshd(down, opts);
    const back = await run();
    t.equal(back.code, 0, explain(back));
    for (const n of c1) t.same(await managed(n), expected(s, n), `${n}: complete again`);
  });

  await t.test('verification is honest: a pod that does not answer fails the run', async (t) => {
    const s = await state();
    const owner = s.nodes.find((n) => n.name === c2[0])!;
    // Cut the pod off inside its own node: the node's blackhole for the block then swallows the pings.
    const podRoute = (await nodeExec(owner.name, ['ip', 'route', 'show', `${owner.podAddress}/32`], opts)).stdout.trim();
    t.match(podRoute, /dev cali\S+ scope link/);
    await nodeExec(owner.name, ['ip', 'route', 'del', `${owner.podAddress}/32`], opts);
    t.teardown(() => nodeExec(owner.name, ['ip', 'route', 'replace', ...podRoute.split(/\s+/)], opts).then(() => undefined));
    const off = await run(['-e', 'pod_cidr_routes_verify=false']);
    t.equal(off.code, 0, `without verification the run cannot tell: ${explain(off)}`);
    const r = await run();
    t.equal(r.code, 2, explain(r));
    const failed = results(r, VERIFY_FAIL_TASK).filter((e) => e.status === 'failed');
    t.same(failed.map((e) => e.host).sort(), [...c1].sort(), 'every node of the other cluster fails verification');
    t.match(failed[0]?.result.msg, owner.podAddress);
    for (const n of c2) t.equal(stats(r)[n]?.failed, 0, `${n}: its own probes answered`);
  });
});
