// Pure route planning: parsing `ip -j` output, classifying, planning and the exact batch lines.
import t from 'tap';
import { parseRoutes, classify, type Route } from '../runner/routes/parse.js';
import { planRoutes, batchLines, planChanged, type DesiredRoute } from '../runner/routes/plan.js';
import { seededRandom } from './helpers/random.js';
import { desiredRoutesFor, overlapProblems, outsideCidrWarnings, probeTargets, type PeerFacts } from '../runner/routes/peers.js';
import { parseCidr, firstAddress, overlaps, contains, isAddress, compareDestinations } from '../runner/routes/cidr.js';
import ipaddr from 'ipaddr.js';

// Captured from `ip -j -d route show` in a network namespace (iproute2 6.1), then `ip -j -6 ...`.
const IP_OUTPUT =
  '[{"type":"unicast","dst":"10.9.0.0/24","dev":"v0","protocol":"kernel","scope":"link","prefsrc":"10.9.0.1","flags":[]},' +
  '{"type":"blackhole","dst":"10.244.1.0/26","protocol":"bird","scope":"global","flags":[]},' +
  '{"type":"unicast","dst":"10.244.2.0/26","gateway":"10.9.0.2","dev":"v0","protocol":"bird","scope":"global","flags":[]},' +
  '{"type":"unicast","dst":"10.245.0.0/26","gateway":"10.9.0.3","dev":"v0","protocol":"201","scope":"global","flags":[]},' +
  '{"type":"unicast","dst":"10.246.0.0/26","gateway":"10.9.0.3","dev":"v0","protocol":"boot","scope":"global","metric":50,"flags":[]},' +
  '{"type":"unicast","dst":"10.247.0.0/26","gateway":"10.9.0.3","dev":"v0","protocol":"meshplay","scope":"global","metric":7,"flags":[]},' +
  '{"type":"unicast","dst":"default","gateway":"10.9.0.254","dev":"v0","protocol":"boot","scope":"global","flags":[]},' +
  '{"type":"unicast","dst":"10.9.0.7","dev":"cali1","protocol":"boot","scope":"link","flags":[]}]\n' +
  '[{"type":"unicast","dst":"fe80::/64","dev":"v0","protocol":"kernel","metric":256,"flags":[]}]\n';

t.test('parseRoutes and classify', async (t) => {
  const routes = parseRoutes(IP_OUTPUT);
  t.equal(routes.length, 9);
  t.same(routes[1], { dst: '10.244.1.0/26', protocol: 'bird', type: 'blackhole', scope: 'global' });
  t.equal(routes[6].dst, '0.0.0.0/0');
  t.equal(routes[7].dst, '10.9.0.7/32');
  t.equal(routes[8].dst, 'fe80::/64');
  // Without -d, ip omits unicast type and boot protocol.
  const short = parseRoutes('[{"dst":"10.1.0.0/24","gateway":"10.0.0.1","dev":"eth0","flags":[]}]');
  t.same(short, [{ dst: '10.1.0.0/24', gateway: '10.0.0.1', dev: 'eth0', protocol: 'boot', type: 'unicast' }]);
  t.same(parseRoutes(''), []);
  t.throws(() => parseRoutes('Error: something'), /cannot parse/);
  // Several tables print one array each (ip -j route show table all on older iproute2, or IPv4 then IPv6).
  const two = parseRoutes('[{"dst":"10.1.0.0/24","dev":"eth0","flags":[]}]\n[{"dst":"fe80::/64","dev":"eth0","flags":[]}]\n');
  t.same(two.map((r) => r.dst), ['10.1.0.0/24', 'fe80::/64']);
  t.same(parseRoutes('[]\n[{"dst":"10.2.0.0/24","flags":[]}]').map((r) => r.dst), ['10.2.0.0/24'], 'an empty table first');
  t.same(parseRoutes('[{"dst":"10.3.0.0/24","flags":[]}][]').map((r) => r.dst), ['10.3.0.0/24'], 'arrays without a newline between');
  t.throws(() => parseRoutes('[{"dst":"10.1.0.0/24"}]\n{"oops":1}'), /cannot parse/, 'text after the array is an error');

  const c = classify(routes, 201);
  t.same(c.ownedBlocks.map((r) => r.dst), ['10.244.1.0/26']);
  t.same(c.birdLearned.map((r) => r.dst), ['10.244.2.0/26']);
  t.same(c.managed.map((r) => r.dst), ['10.245.0.0/26', '10.247.0.0/26'], 'number and name both count');
  t.equal(c.other.length, 5);
  // BIRD as a number (no rt_protos entry) and other tables.
  const numeric = classify(parseRoutes('[{"type":"blackhole","dst":"10.5.0.0/26","protocol":"12"},{"dst":"10.6.0.0/26","table":"local","protocol":"201"}]'), 201);
  t.equal(numeric.ownedBlocks.length, 1);
  t.equal(numeric.managed.length, 0, 'routes of other tables are ignored');
  // `table all` lists the local table too: its entries (a node's own IPv6 addresses, multicast) are left out
  // unparsed, and a main-table route may name its table.
  const all = parseRoutes(
    '[{"dst":"10.7.0.0/26","table":"main","protocol":"201"},{"type":"local","dst":"fe80::3078:ddff:fed5:fd15","table":"local","protocol":"kernel"},' +
      '{"type":"multicast","dst":"ff00::/8","table":"local","protocol":"kernel"},{"dst":"10.8.0.0/26","table":"100","protocol":"201"},{"dst":"fe80::/64","protocol":"kernel"}]',
  );
  t.same(all.map((r) => r.dst), ['10.7.0.0/26', 'fe80::/64'], 'the main table only');
  t.notOk(all.some((r) => 'table' in r), 'routes carry no table: all are the main table\'s');
});

const managedNow = () => classify(parseRoutes(IP_OUTPUT), 201).managed;

t.test('identical routes: nothing to do', async (t) => {
  const plan = planRoutes({
    current: managedNow(),
    desired: [
      { dest: '10.245.0.0/26', via: '10.9.0.3' },
      { dest: '10.247.0.0/26', via: '10.9.0.3', metric: 7 },
    ],
    prune: true,
  });
  t.notOk(planChanged(plan));
  t.same(batchLines(plan, 201), []);
  t.same(plan.warnings, []);
});

t.test('via changed: one replace; new dest: add; prune deletes only managed', async (t) => {
  const plan = planRoutes({
    current: managedNow(),
    desired: [
      { dest: '10.245.0.0/26', via: '10.9.0.4' },
      { dest: '10.250.0.0/26', via: '10.9.0.5', dev: 'v0' },
    ],
    prune: true,
  });
  t.same(batchLines(plan, 201), [
    'route del 10.247.0.0/26 via 10.9.0.3 proto 201 metric 7',
    'route replace 10.245.0.0/26 via 10.9.0.4 proto 201',
    'route add 10.250.0.0/26 via 10.9.0.5 dev v0 proto 201',
  ]);
  t.same(plan.after.map((r) => r.dest), ['10.245.0.0/26', '10.250.0.0/26']);
});

t.test('without prune, unlisted managed routes stay', async (t) => {
  const plan = planRoutes({ current: managedNow(), desired: [{ dest: '10.250.0.0/26', via: '10.9.0.5' }] });
  t.same(batchLines(plan, 201), ['route add 10.250.0.0/26 via 10.9.0.5 proto 201']);
  t.equal(plan.after.length, 3);
});

t.test('metric change moves the route (delete old, add new)', async (t) => {
  const plan = planRoutes({ current: managedNow(), desired: [{ dest: '10.247.0.0/26', via: '10.9.0.3', metric: 9 }, { dest: '10.245.0.0/26', via: '10.9.0.3' }] });
  t.same(batchLines(plan, 201), ['route del 10.247.0.0/26 via 10.9.0.3 proto 201 metric 7', 'route add 10.247.0.0/26 via 10.9.0.3 proto 201 metric 9']);
});

t.test('duplicates collapse; conflicting duplicates and bad input are errors', async (t) => {
  const plan = planRoutes({
    current: [],
    desired: [
      { dest: '10.250.0.0/26', via: '10.9.0.5' },
      { dest: '10.250.0.0/26', via: '10.9.0.5' },
    ],
  });
  t.equal(plan.add.length, 1);
  t.throws(
    () => planRoutes({ current: [], desired: [{ dest: '10.250.0.0/26', via: '10.9.0.5' }, { dest: '10.250.0.0/26', via: '10.9.0.6' }] }),
    /conflicting routes to 10\.250\.0\.0\/26/,
  );
  t.throws(() => planRoutes({ current: [], desired: [{ dest: '10.250.0.0/33', via: '10.9.0.5' }, { dest: '10.1.0.0/24', via: 'gw' }] }), /not a valid CIDR[\s\S]*via 'gw' is not an IP address/);
});

t.test('host bits are normalised with a warning', async (t) => {
  const plan = planRoutes({ current: [], desired: [{ dest: '10.1.0.5/26', via: '10.9.0.5' }] });
  t.same(batchLines(plan, 201), ['route add 10.1.0.0/26 via 10.9.0.5 proto 201']);
  t.match(plan.warnings[0], /10\.1\.0\.5\/26 has host bits set; using 10\.1\.0\.0\/26/);
});

t.test("never fights BIRD or the operator's routes", async (t) => {
  const c = classify(parseRoutes(IP_OUTPUT), 201);
  const plan = planRoutes({
    current: c.managed,
    desired: [
      { dest: '10.244.1.0/26', via: '10.9.0.8' }, // own block
      { dest: '10.244.1.0/24', via: '10.9.0.8' }, // contains own block
      { dest: '10.244.2.0/26', via: '10.9.0.8' }, // BIRD-learned
      { dest: '10.246.0.0/26', via: '10.9.0.8', metric: 50 }, // operator's own route
      { dest: '10.245.0.0/26', via: '10.9.0.3' },
    ],
    prune: true,
    ownedBlocks: c.ownedBlocks.map((r) => r.dst),
    birdLearned: c.birdLearned.map((r) => r.dst),
    other: c.other,
  });
  t.same(batchLines(plan, 201), ['route del 10.247.0.0/26 via 10.9.0.3 proto 201 metric 7']);
  t.equal(plan.warnings.length, 4);
  t.match(plan.warnings.join('\n'), /overlaps 10\.244\.1\.0\/26, a block this node's BIRD owns/);
  t.match(plan.warnings.join('\n'), /BIRD already routes it/);
  t.match(plan.warnings.join('\n'), /proto boot via 10\.9\.0\.3\) exists that meshplay does not manage/);
});

t.test('state absent deletes only managed routes to the listed destinations', async (t) => {
  const plan = planRoutes({ current: managedNow(), desired: [{ dest: '10.245.0.0/26', via: '10.9.0.3' }, { dest: '10.246.0.0/26', via: '10.9.0.3' }], state: 'absent' });
  t.same(batchLines(plan, 201), ['route del 10.245.0.0/26 via 10.9.0.3 proto 201']);
  t.same(plan.after.map((r) => r.dest), ['10.247.0.0/26']);
});

const peers: PeerFacts[] = [
  { node: 'east-n1', cluster: 'east', via: '10.0.1.1', owned_blocks: ['10.244.0.0/26'], pod_cidr: '10.244.0.0/16' },
  { node: 'east-n2', cluster: 'east', via: '10.0.1.2', owned_blocks: ['10.244.0.64/26'], pod_cidr: '10.244.0.0/16' },
  { node: 'west-n1', cluster: 'west', via: '10.0.2.1', owned_blocks: ['10.245.0.0/26', '10.245.1.0/26'], pod_cidr: '10.245.0.0/16' },
];

t.test('desired routes: other clusters only, via the owning node', async (t) => {
  t.same(desiredRoutesFor({ node: 'east-n1', cluster: 'east' }, peers), [
    { dest: '10.245.0.0/26', via: '10.0.2.1' },
    { dest: '10.245.1.0/26', via: '10.0.2.1' },
  ]);
  t.same(desiredRoutesFor({ node: 'west-n1', cluster: 'west' }, peers), [
    { dest: '10.244.0.0/26', via: '10.0.1.1' },
    { dest: '10.244.0.64/26', via: '10.0.1.2' },
  ]);
  t.same(probeTargets({ cluster: 'east' }, peers), [
    { cluster: 'west', node: 'west-n1', block: '10.245.0.0/26', address: '10.245.0.1' },
    { cluster: 'west', node: 'west-n1', block: '10.245.1.0/26', address: '10.245.1.1' },
  ], 'every block of every other cluster');
  t.same(overlapProblems(peers), []);
  t.same(outsideCidrWarnings(peers), []);
});

t.test('overlaps name both owners', async (t) => {
  const bad: PeerFacts[] = [
    ...peers,
    { node: 'south-n1', cluster: 'south', via: '10.0.3.1', owned_blocks: ['10.244.0.0/25'], pod_cidr: '10.246.0.0/16' },
  ];
  const problems = overlapProblems(bad);
  t.ok(problems.includes('pod block 10.244.0.0/26 of node east-n1 (cluster east) overlaps pod block 10.244.0.0/25 of node south-n1 (cluster south)'), problems.join('\n'));
  t.ok(problems.includes('pod block 10.244.0.0/25 of node south-n1 (cluster south) overlaps pod_cidr 10.244.0.0/16 of cluster east'));
  t.same(outsideCidrWarnings(bad), ["node south-n1 (cluster south) owns block 10.244.0.0/25, outside its cluster's pod_cidr 10.246.0.0/16"]);
  const cidrs = overlapProblems([
    { node: 'a', cluster: 'a', via: '1.1.1.1', owned_blocks: [], pod_cidr: '10.0.0.0/8' },
    { node: 'b', cluster: 'b', via: '1.1.1.2', owned_blocks: [], pod_cidr: '10.1.0.0/16' },
  ]);
  t.same(cidrs, ['pod_cidr 10.0.0.0/8 of cluster a overlaps pod_cidr 10.1.0.0/16 of cluster b']);
});

t.test('cidr helpers', async (t) => {
  t.equal(parseCidr('10.1.2.3').text, '10.1.2.3/32');
  t.equal(parseCidr('2001:db8::1/64').text, '2001:db8::/64');
  t.equal(firstAddress(parseCidr('10.1.0.0/26')), '10.1.0.1');
  t.equal(firstAddress(parseCidr('10.1.0.255/32')), '10.1.0.255');
  // The plain dotted-quad fast path agrees with ipaddr.js's general parser, which stays the judge of the rest.
  t.match(parseCidr('10.1.2.77/26'), { text: '10.1.2.64/26', bits: 26, hadHostBits: true });
  t.match(parseCidr('10.1.2.64/26'), { text: '10.1.2.64/26', hadHostBits: false });
  t.equal(parseCidr('0.0.0.0/0').text, '0.0.0.0/0');
  t.equal(parseCidr('default').text, '0.0.0.0/0');
  t.equal(parseCidr('255.255.255.255/1').text, '128.0.0.0/1');
  t.equal(parseCidr('10.1.2.3/26').addr.toString(), '10.1.2.0', 'addr is the network, an ipaddr.js IPv4');
  t.ok(overlaps(parseCidr('10.1.2.3/24'), parseCidr('10.1.2.128/25')));
  t.equal(parseCidr('010.1.2.3').text, '8.1.2.3/32', 'a leading zero is octal to ipaddr.js: left to it');
  t.equal(parseCidr('1.2.3').text, '1.2.0.3/32', 'so is the inet_aton short form');
  for (const bad of ['256.1.1.1', '1.2.3.4/33', '1.2.3.4/', '10.1.2.3/026x']) t.throws(() => parseCidr(bad), `'${bad}' refused`);
});

t.test('the IPv4 number paths (overlaps, contains, isAddress, firstAddress, destination order) answer as ipaddr.js and the collator do', async (t) => {
  // A seeded generator: the same 40,000 cases every run, mixing canonical CIDRs, host bits, bare addresses, octal
  // and short forms, IPv6, out-of-range octets and `default`, plus near pairs that share a prefix.
  let seed = 22;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const octet = () => [0, 1, 9, 10, 99, 100, 101, 255, 256, rnd(300)][rnd(10)]!;
  const pick = (): string => {
    const a = `${octet()}.${octet()}.${octet()}.${octet()}`;
    switch (rnd(12)) {
      case 0: return `0${rnd(9)}.1.2.3/8`;
      case 1: return `fd00:${rnd(99)}::/${rnd(129)}`;
      case 2: return a;
      case 3: return 'default';
      case 4: return `10.${rnd(3)}.${rnd(4) * 64}.0/${rnd(33)}`;
      default: return `${a}/${rnd(34)}`;
    }
  };
  const collator = new Intl.Collator('en', { numeric: true });
  // The general form: network + 1 over the address bytes (the network itself for /31, /32, /127, /128).
  const firstAddressByBytes = (c: ReturnType<typeof parseCidr>) => {
    if (c.bits >= (c.addr.kind() === 'ipv4' ? 31 : 127)) return c.addr.toString();
    const bytes = c.addr.toByteArray();
    for (let i = bytes.length - 1; i >= 0; i--) {
      if (bytes[i]! < 255) {
        bytes[i]!++;
        break;
      }
      bytes[i] = 0;
    }
    return ipaddr.fromByteArray(bytes).toString();
  };
  const differences: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const [a, b] = [pick(), pick()];
    if (Math.sign(compareDestinations(a, b)) !== Math.sign(collator.compare(a, b))) differences.push(`order ${a} ${b}`);
    if (isAddress(a) !== (ipaddr.isValid(a) && !a.includes('/'))) differences.push(`isAddress ${a}`);
    let ca, cb;
    try {
      [ca, cb] = [parseCidr(a), parseCidr(b)];
    } catch {
      continue;
    }
    const same = ca.addr.kind() === cb.addr.kind();
    const m = (x: typeof ca, y: typeof ca) => (x.addr as ipaddr.IPv4).match([y.addr as ipaddr.IPv4, y.bits]);
    if (overlaps(ca, cb) !== (same && (m(ca, cb) || m(cb, ca)))) differences.push(`overlaps ${a} ${b}`);
    if (contains(ca, cb) !== (same && cb.bits >= ca.bits && m(cb, ca))) differences.push(`contains ${a} ${b}`);
    if (firstAddress(ca) !== firstAddressByBytes(ca)) differences.push(`firstAddress ${a}`);
  }
  t.same(differences.slice(0, 10), [], 'no differences');
  t.ok(overlaps(parseCidr('0.0.0.0/0'), parseCidr('10.1.0.0/16')), 'a /0 overlaps everything (a 32-bit shift is no shift)');
  t.ok(contains(parseCidr('0.0.0.0/0'), parseCidr('10.1.0.0/16')));
  t.notOk(contains(parseCidr('10.1.0.0/16'), parseCidr('0.0.0.0/0')));
  t.ok(compareDestinations('10.1.0.64/26', '10.1.0.128/26') < 0, 'numeric, not text, order');
});

t.test('naming the protocol: the rt_protos.d file is written only when it is not already the one line', async (t) => {
  const { nameProtocolScript } = await import('../runner/modules/ip_routes.js');
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, readFileSync, writeFileSync, statSync, utimesSync, rmSync, existsSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-rtprotos-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const conf = join(dir, 'rt_protos.d', 'meshplay.conf');
  const entry = '201\tmeshplay';
  // Both shells a node may have as /bin/sh or as root's login shell (sshd runs the login shell).
  for (const shell of ['bash', 'dash']) {
    rmSync(join(dir, 'rt_protos.d'), { recursive: true, force: true });
    const run = () => execFileSync(shell, ['-c', nameProtocolScript(conf, entry) + 'echo next'], { encoding: 'utf8' });
    t.equal(run(), 'next\n', `${shell}: silent, and what follows runs`);
    t.equal(readFileSync(conf, 'utf8'), '201\tmeshplay\n', `${shell}: missing file and folder created`);
    utimesSync(conf, new Date(0), new Date(0));
    run();
    t.equal(statSync(conf).mtimeMs, 0, `${shell}: a right file is not rewritten`);
    for (const wrong of ['201\tother\n', '201\tmeshplay\nextra\n', '', '201\tmeshplay']) {
      writeFileSync(conf, wrong);
      run();
      t.equal(readFileSync(conf, 'utf8'), '201\tmeshplay\n', `${shell}: ${JSON.stringify(wrong)} rewritten`);
    }
  }
  // A folder that cannot be written: still silent, and the command after it still runs.
  writeFileSync(join(dir, 'blocker'), '');
  const blocked = join(dir, 'blocker', 'meshplay.conf');
  t.equal(execFileSync('sh', ['-c', nameProtocolScript(blocked, entry) + 'echo next'], { encoding: 'utf8' }), 'next\n');
  t.notOk(existsSync(blocked));
});

// The plan as a plain scan of the table states it: what planRoutes decided before it kept positions instead of a
// Set, arrays per destination and closures. Managed routes in a table may repeat a destination (other metrics,
// other gateways): each world below has such repeats, desired routes among them, and routes of no one's wish.
function referencePlan(current: Route[], desired: DesiredRoute[], prune: boolean) {
  const cur = current.map((r) => ({ dest: r.dst, ...(r.gateway ? { via: r.gateway } : {}), ...(r.dev ? { dev: r.dev } : {}), ...(r.metric ? { metric: r.metric } : {}) }));
  const out = { add: [] as object[], replace: [] as object[], del: [] as object[], after: [] as object[] };
  const matched = new Set<object>();
  for (const d of desired) {
    const same = cur.filter((c) => c.dest === d.dest);
    const exact = same.find((c) => c.via === d.via && (c.metric ?? 0) === (d.metric ?? 0) && (d.dev === undefined || c.dev === d.dev));
    if (exact) {
      matched.add(exact);
      out.after.push(exact);
      continue;
    }
    const sameMetric = same.find((c) => (c.metric ?? 0) === (d.metric ?? 0));
    if (sameMetric) {
      matched.add(sameMetric);
      out.replace.push(d);
    } else out.add.push(d);
    out.after.push(d);
    for (const c of same) if (c !== sameMetric && !matched.has(c)) {
      matched.add(c);
      out.del.push(c);
    }
  }
  for (const c of cur) if (!matched.has(c)) (prune ? out.del : out.after).push(c);
  return out;
}

t.test('planRoutes decides as a plain scan of the table does, with repeated destinations (500 seeded worlds)', async (t) => {
  const asText = (list: object[]) => list.map((r) => JSON.stringify(r)).sort();
  let checked = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const rand = seededRandom(seed);
    const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)]!;
    const dests = ['10.1.0.0/26', '10.1.0.64/26', '10.1.0.128/26', '10.2.0.0/24', '10.3.0.0/16'];
    const vias = ['10.9.0.1', '10.9.0.2', '10.9.0.3'];
    const metrics = [undefined, undefined, 5, 20];
    const current: Route[] = [];
    for (let i = Math.floor(rand() * 9); i > 0; i--) {
      const m = pick(metrics);
      current.push({ dst: pick(dests), gateway: pick(vias), dev: pick(['eth0', 'eth1']), protocol: '201', type: 'unicast', ...(m ? { metric: m } : {}) });
    }
    const desired: DesiredRoute[] = [];
    const seen = new Set<string>();
    for (let i = Math.floor(rand() * 6); i > 0; i--) {
      const m = pick(metrics);
      const d: DesiredRoute = { dest: pick(dests), via: pick(vias), ...(rand() < 0.5 ? { dev: pick(['eth0', 'eth1']) } : {}), ...(m ? { metric: m } : {}) };
      const key = `${d.dest} ${d.metric ?? 0}`;
      if (seen.has(key)) continue; // desired routes are one per destination and metric (normaliseDesired)
      seen.add(key);
      desired.push(d);
    }
    const prune = rand() < 0.5;
    const plan = planRoutes({ current, desired, prune });
    const want = referencePlan(current, desired, prune);
    for (const k of ['add', 'replace', 'del', 'after'] as const) {
      if (JSON.stringify(asText(plan[k])) !== JSON.stringify(asText(want[k]))) {
        t.fail(`seed ${seed}: ${k} differs: ${JSON.stringify(plan[k])} against ${JSON.stringify(want[k])}`);
        return;
      }
    }
    checked++;
  }
  t.equal(checked, 500);
});
