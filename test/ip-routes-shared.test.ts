// ip_routes shares, between the nodes planning against one peers list, what depends only on the list and the
// node's cluster (the peers known, the routes wanted, the addresses probed): runner/modules/ip_routes.ts, peerView.
// Planning every node of a run with that sharing must give each node exactly the plan and probes that the route
// functions give it alone (planNodeRoutes from the peers, no memo), including the lists where sharing must not
// apply: a peer of another cluster bearing a node's name, blocks written with host bits, expected nodes without facts.
// (Checked to fail when the name check is dropped, and when the shared routes' warnings are.)
import t from 'tap';
import { seededRandom } from './helpers/random.js';
import { applyDefaults } from '../runner/modules/args.js';
import ipRoutes, { planIpRoutes } from '../runner/modules/ip_routes.js';
import { RunScope } from '../runner/modules/run-scope.js';
import type { PlanContext } from '../runner/modules/types.js';
import type { Host, Inventory } from '../runner/inventory/types.js';
import { classify, type Route } from '../runner/routes/parse.js';
import { knownPeers, planNodeRoutes } from '../runner/routes/node.js';
import { probeTargets } from '../runner/routes/peers.js';
import { planChanged } from '../runner/routes/plan.js';

interface Peer { node: string; cluster: string; via: string; owned_blocks: string[]; pod_cidr?: string }


function world(seed: number) {
  const r = seededRandom(seed);
  const clusters = 2 + Math.floor(r() * 4);
  const perCluster = 1 + Math.floor(r() * 5);
  const hosts = new Map<string, Host>();
  const peers: Peer[] = [];
  for (let c = 1; c <= clusters; c++)
    for (let n = 1; n <= perCluster; n++) {
      const name = `c${c}-n${n}`;
      const address = `10.9.${c}.${n}`;
      hosts.set(name, { name, kind: 'node', connection: 'ssh', cluster: `c${c}`, address, vars: {} } as Host);
      const i = n - 1;
      // Now and then a block written with host bits (normalised, with a warning).
      const last = (i % 4) * 64 + (r() < 0.1 ? 5 : 0);
      peers.push({ node: name, cluster: `c${c}`, via: address, owned_blocks: [`10.${100 + c}.${Math.floor(i / 4)}.${last}/26`], pod_cidr: `10.${100 + c}.0.0/16` });
    }
  // Now and then a peer of another cluster bears a node's name: that node leaves it out, the others do not.
  if (r() < 0.4 && clusters > 1) peers.push({ node: 'c1-n1', cluster: `c2`, via: '10.9.2.99', owned_blocks: ['10.250.0.0/26'] });
  // Now and then an expected node has no facts (unreachable): stand-ins from its cluster peers' BIRD routes.
  const expected = [...hosts.keys()];
  const given = r() < 0.3 ? peers.filter((p) => p.node !== 'c2-n1' || p.cluster !== 'c2') : peers;
  const inventory = { hosts, groups: new Map(), clusters: [], vars: {}, topology: 'multi-control-plane', sources: [] } as unknown as Inventory;
  // Each node's table: its own block (BIRD), other blocks of its cluster learned by BIRD, some managed routes
  // (right, wrong via, or stale).
  const tables = new Map<string, Route[]>();
  for (const [name, h] of hosts) {
    const routes: Route[] = [];
    for (const p of peers) {
      const dst = p.owned_blocks[0];
      if (p.node === name && p.cluster === h.cluster) routes.push({ dst, type: 'blackhole', protocol: 'bird' } as Route);
      else if (p.cluster === h.cluster) routes.push({ dst, gateway: p.via, dev: 'eth0', type: 'unicast', protocol: 'bird' } as Route);
      else if (r() < 0.6) routes.push({ dst: dst.replace(/\.\d+\/26$/, (m) => m), gateway: r() < 0.8 ? p.via : '10.9.99.1', dev: 'eth0', type: 'unicast', protocol: '201' } as Route);
    }
    if (r() < 0.2) routes.push({ dst: '10.240.0.0/26', gateway: '10.9.1.1', dev: 'eth0', type: 'unicast', protocol: '201' } as Route);
    tables.set(name, routes);
  }
  return { hosts, peers: given, expected, inventory, tables, prune: r() < 0.5 };
}

function context(host: Host, inventory: Inventory, run: RunScope): PlanContext & { warnings: string[] } {
  const warnings: string[] = [];
  return {
    host, inventory, vars: {}, check: false, diff: true, warnings, run,
    warn: (m) => warnings.push(m), log: () => {}, secret: () => {},
    render: (v) => v, condition: () => true,
  };
}

t.test('nodes planned with the shared peers view get the plan and result each gets alone', async (t) => {
  let compared = 0;
  let sharedNames = 0;
  for (let seed = 1; seed <= 300; seed++) {
    const w = world(seed);
    // One peers list for every node, as the hosts of a task share its render.
    const args = applyDefaults<any>(ipRoutes.schema, { peers: w.peers, nodes: w.expected, prune: w.prune });
    const sharedRun = new RunScope();
    const withSharing: unknown[] = [];
    const eachAlone: unknown[] = [];
    for (const [name, host] of w.hosts) {
      const shared = context(host, w.inventory, sharedRun);
      const planShared = planIpRoutes({ routes: w.tables.get(name) }, args, shared);
      withSharing.push({ name, plan: planShared.data.plan, probes: planShared.result?.probes, changed: planShared.changed });
      // Alone: the node's plan from the route functions themselves, nothing shared and no memo involved.
      const { peers, missing } = knownPeers(structuredClone(w.peers), w.expected, w.inventory);
      const planAlone = planNodeRoutes({
        node: name,
        cluster: host.cluster!,
        classes: classify(w.tables.get(name)!, 201, 'meshplay'),
        peers,
        prune: w.prune && !missing.length,
      });
      eachAlone.push({ name, plan: planAlone, probes: probeTargets({ cluster: host.cluster! }, peers), changed: planChanged(planAlone) });
      compared++;
      if (w.peers.some((p) => p.node === name && p.cluster !== host.cluster)) sharedNames++;
    }
    t.same(withSharing, eachAlone, `seed ${seed}: every node's plan (warnings included) and probes as when planned alone`);
  }
  t.ok(compared > 1000, `${compared} nodes compared`);
  t.ok(sharedNames > 10, `${sharedNames} of them share a name with a peer of another cluster`);
});

t.test('the probes a cluster shares are frozen, so no node can change another node\'s result', async (t) => {
  // The first world whose cluster c1 has two nodes besides c1-n1 (the name another cluster may bear).
  let seed = 1;
  while ([...world(seed).hosts.values()].filter((h) => h.cluster === 'c1').length < 3) seed++;
  const w = world(seed);
  const args = applyDefaults<any>(ipRoutes.schema, { peers: w.peers, nodes: w.expected });
  const run = new RunScope();
  const [a, b] = [...w.hosts.values()].filter((h) => h.cluster === 'c1' && h.name !== 'c1-n1');
  const pa = planIpRoutes({ routes: w.tables.get(a.name) }, args, context(a, w.inventory, run));
  const pb = planIpRoutes({ routes: w.tables.get(b.name) }, args, context(b, w.inventory, run));
  t.equal(pa.result?.probes, pb.result?.probes, 'two nodes of one cluster return the very same probes');
  t.ok(Object.isFrozen(pa.result?.probes) && Object.isFrozen((pa.result?.probes as object[])[0]), 'frozen, items included');
});
