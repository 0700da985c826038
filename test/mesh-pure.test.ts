// Pure parts of the multi-control-plane topology: Corefile editing, kube-dns stubDomains, VIP allocation,
// and the mesh CA (real X.509 via @peculiar/x509).
import t from 'tap';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './helpers/cli.js';
import { findServerBlock, forwardOf, parseCorefile, restoreBlock, upsertForwardBlock } from '../runner/mesh/corefile.js';
import { mergeStubDomain, restoreStubDomain } from '../runner/mesh/stubdomains.js';
import { allocateVips, parseRange, toInt } from '../runner/mesh/vip.js';
import { cacertsFiles, certInfo, createIntermediateCa, createRootCa, verifyCacerts, verifyRoot } from '../runner/mesh/ca.js';

const corefileDir = path.join(repoRoot, 'test', 'fixtures', 'mesh', 'corefiles');
const corefiles = Object.fromEntries(fs.readdirSync(corefileDir).map((f) => [f, fs.readFileSync(path.join(corefileDir, f), 'utf8')]));

t.test('Corefile parser: server blocks, keys and directives of real Corefiles', async (t) => {
  const multi = parseCorefile(corefiles['multi-block-tabs.Corefile']!);
  t.same(multi.map((b) => b.keys.map((k) => k.text).join(' ')), ['.:53', 'consul.local:53', '(snippet)', 'example.org example.net:5353']);
  const main = multi[0]!;
  t.same(main.directives.map((d) => d.name), ['errors', 'health', 'kubernetes', 'hosts', 'template', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
  t.equal(main.directives.find((d) => d.name === 'kubernetes')!.hasBlock, true);
  t.same(forwardOf(main), { directive: 'forward', addresses: ['8.8.8.8', '1.1.1.1'] });
  t.equal(findServerBlock(corefiles['multi-block-tabs.Corefile']!, 'consul.local')?.keys[0]?.text, 'consul.local:53');
  t.equal(findServerBlock(corefiles['multi-block-tabs.Corefile']!, 'example.net'), undefined, 'example.net is on port 5353, not 53');
  t.equal(findServerBlock(corefiles['multi-block-tabs.Corefile']!, 'example.net', '5353')?.keys[1]?.text, 'example.net:5353');
  t.same(forwardOf(findServerBlock(corefiles['istio-1.1-existing-global.Corefile']!, 'global')!), { directive: 'proxy', addresses: ['10.0.0.53'] });
  t.throws(() => parseCorefile('.:53 {\n  errors\n'), /line 1: server block '.:53' is not closed/);
  t.throws(() => parseCorefile('.:53 {\n}\n}\n'), /line 3: unexpected }/);
});

t.test('Corefile: add, converge, update one address, restore — rest byte for byte', async (t) => {
  for (const [name, original] of Object.entries(corefiles)) {
    t.test(name, async (t) => {
      const hadGlobal = !!findServerBlock(original, 'global');
      const first = upsertForwardBlock(original, 'global', '10.96.0.99');
      t.equal(first.changed, true);
      t.equal(forwardOf(findServerBlock(first.text, 'global')!)!.addresses.join(','), '10.96.0.99');
      if (!hadGlobal) {
        t.equal(first.action, 'added');
        t.ok(first.text.startsWith(original), 'original kept as a prefix, byte for byte');
        t.match(first.text.slice(original.length), /^\n?global:53 \{\n\s+errors\n\s+cache 30\n\s+forward \. 10\.96\.0\.99\n\}\n$/);
      } else {
        t.equal(first.action, 'updated');
        // Everything outside the global block is identical.
        const b0 = findServerBlock(original, 'global')!;
        const b1 = findServerBlock(first.text, 'global')!;
        t.equal(first.text.slice(0, b1.lineStart), original.slice(0, b0.lineStart));
        t.equal(first.text.slice(b1.lineEnd), original.slice(b0.lineEnd));
      }
      const again = upsertForwardBlock(first.text, 'global', '10.96.0.99');
      t.equal(again.changed, false, 'same ClusterIP: unchanged');
      t.equal(again.text, first.text);

      const moved = upsertForwardBlock(first.text, 'global', '10.96.7.7');
      t.equal(moved.changed, true);
      t.equal(moved.text, first.text.replace('10.96.0.99', '10.96.7.7'), 'a new ClusterIP changes only that address');

      const restored = restoreBlock(moved.text, 'global', first.previousBlock, first.separatorAdded);
      t.equal(restored.text, original, 'restoring the recorded block gives the original back, byte for byte');
      t.equal(restoreBlock(original, 'global', first.previousBlock).changed, false, 'restoring twice: unchanged');
    });
  }
});

t.test('Corefile: comments mentioning global, and a proxy-style global block, keep their bytes', async (t) => {
  const original = corefiles['istio-1.1-existing-global.Corefile']!;
  const e = upsertForwardBlock(original, 'global', '10.0.0.54');
  t.equal(e.text, original.replace('proxy . 10.0.0.53', 'proxy . 10.0.0.54'), 'keeps the old proxy directive and the comment');
  const noForward = upsertForwardBlock(corefiles['minikube.Corefile']!, 'global', '10.1.2.3');
  t.match(noForward.text, /global:53 \{\n    errors\n    cache 30\n    forward \. 10\.1\.2\.3\n\}\n$/);
});

t.test('stubDomains: merge keeps other entries, same value unchanged, restore', async (t) => {
  const original = '{"acme.local": ["1.2.3.4"], "corp": ["10.0.0.10", "10.0.0.11"]}';
  const added = mergeStubDomain(original, 'global', ['10.96.0.99']);
  t.equal(added.changed, true);
  t.equal(added.action, 'added');
  t.same(JSON.parse(added.text), { 'acme.local': ['1.2.3.4'], corp: ['10.0.0.10', '10.0.0.11'], global: ['10.96.0.99'] });
  const same = mergeStubDomain(added.text, 'global', ['10.96.0.99']);
  t.equal(same.changed, false);
  t.equal(same.text, added.text);
  const updated = mergeStubDomain(added.text, 'global', ['10.96.0.100']);
  t.equal(updated.action, 'updated');
  t.same(updated.previous, ['10.96.0.99']);
  t.same(JSON.parse(restoreStubDomain(updated.text, 'global', undefined).text), JSON.parse(original));
  t.same(JSON.parse(mergeStubDomain(undefined, 'global', ['1.1.1.1']).text), { global: ['1.1.1.1'] });
  t.equal(restoreStubDomain('{"global":["1.1.1.1"]}', 'global', undefined).text, '');
  t.throws(() => mergeStubDomain('{not json', 'global', ['1.1.1.1']), /not valid JSON/);
});

t.test('VIPs: default range, deterministic, unique, stable on add and remove', async (t) => {
  const hosts = Array.from({ length: 50 }, (_, i) => `svc${i}.ns${i % 3}.global`);
  const a = allocateVips(hosts);
  const b = allocateVips([...hosts].reverse());
  t.same(a.addresses, b.addresses, 'independent of input order');
  const r = parseRange('240.0.0.0/4');
  for (const ip of Object.values(a.addresses)) {
    t.ok(toInt(ip) >= r.first && toInt(ip) <= r.last, `${ip} in 240.0.0.0/4 (not network/broadcast)`);
  }
  t.equal(new Set(Object.values(a.addresses)).size, hosts.length, 'unique');

  // A /29 has 6 usable addresses: 6 hosts always fit, all different; collisions of the hash are certain.
  const small = '10.9.0.0/29';
  const six = ['a', 'b', 'c', 'd', 'e', 'f'].map((s) => `${s}.default.global`);
  const full = allocateVips(six, {}, small);
  t.equal(new Set(Object.values(full.addresses)).size, 6, 'range exactly full, still unique');
  t.throws(() => allocateVips([...six, 'g.default.global'], {}, small), /has 6 addresses; 7 hosts/);

  // Removal: survivors keep their addresses even when they had probed past the removed host.
  for (const removed of six) {
    const rest = six.filter((h) => h !== removed);
    const existing = Object.fromEntries(rest.map((h) => [h, full.addresses[h]!]));
    const again = allocateVips(rest, existing, small);
    for (const h of rest) t.equal(again.addresses[h], full.addresses[h], `${h} stays after removing ${removed}`);
  }
  // Addition: existing hosts never move.
  const four = six.slice(0, 4);
  const start = allocateVips(four, {}, small);
  const grown = allocateVips(six, start.addresses, small);
  for (const h of four) t.equal(grown.addresses[h], start.addresses[h]);
  t.equal(new Set(Object.values(grown.addresses)).size, 6);

  // Reserved addresses (ServiceEntries meshplay does not own) are never handed out.
  const reserved = ['10.9.0.1', '10.9.0.2'];
  const withReserved = allocateVips(six.slice(0, 4), {}, small, reserved);
  for (const ip of Object.values(withReserved.addresses)) t.notOk(reserved.includes(ip));

  // A live address shared by two hosts (hand-edited) is kept for one, re-allocated for the other.
  const shared = allocateVips(['x.a.global', 'y.a.global'], { 'x.a.global': '240.0.0.9', 'y.a.global': '240.0.0.9' });
  t.equal(shared.addresses['x.a.global'], '240.0.0.9');
  t.not(shared.addresses['y.a.global'], '240.0.0.9');
  t.same(shared.moved.map((m) => m.host), ['y.a.global']);
  t.same(allocateVips(['x.a.global'], { 'x.a.global': '127.255.0.2' }).moved[0]?.reason, 'outside 240.0.0.0/4');
});

t.test('VIPs: random add/remove sequences keep every invariant', async (t) => {
  let seed = 42;
  const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
  const small = '10.9.0.0/28'; // 14 usable
  let current: Record<string, string> = {};
  let violations = 0;
  for (let step = 0; step < 400; step++) {
    const hosts = new Set(Object.keys(current));
    if (hosts.size < 14 && (rand(2) === 0 || hosts.size === 0)) hosts.add(`h${rand(40)}.ns.global`);
    else if (hosts.size) hosts.delete([...hosts][rand(hosts.size)]!);
    const next = allocateVips([...hosts], current, small).addresses;
    if (new Set(Object.values(next)).size !== hosts.size) violations++;
    for (const h of hosts) if (current[h] && current[h] !== next[h]) violations++;
    current = next;
  }
  t.equal(violations, 0, 'no duplicate, no moved survivor in 400 random steps');
});

t.test('mesh CA: root, per-cluster intermediates, chain verification', async (t) => {
  const root = await createRootCa({ keyType: 'ecdsa-p256' });
  t.same((await verifyRoot(root)).problems, []);
  const east = await createIntermediateCa(root, 'east', { keyType: 'ecdsa-p256', days: 30 });
  const west = await createIntermediateCa(root, 'west', { keyType: 'ecdsa-p256' });
  const eastFiles = cacertsFiles(root, east);
  const v = await verifyCacerts(eastFiles, root.certPem);
  t.same(v.problems, []);
  t.equal(v.ok, true);
  t.equal(v.keyType, 'ecdsa-p256');
  t.match(v.subject!, /intermediate CA east/);
  t.ok(certInfo(east.certPem).isCa);
  t.ok((await verifyCacerts(cacertsFiles(root, west), root.certPem)).ok);

  const other = await createRootCa({ keyType: 'ecdsa-p256' });
  const foreign = await verifyCacerts(eastFiles, other.certPem);
  t.equal(foreign.ok, false);
  t.match(foreign.problems.join('\n'), /root-cert.pem is not the mesh root[\s\S]*not signed by the mesh root/);
  t.match((await verifyCacerts({ ...eastFiles, 'ca-key.pem': west.keyPem }, root.certPem)).problems.join(), /ca-key.pem is not the key of ca-cert.pem/);
  t.match((await verifyCacerts({ ...eastFiles, 'cert-chain.pem': east.certPem }, root.certPem)).problems.join(), /cert-chain.pem must be/);
  t.match((await verifyCacerts({ ...eastFiles, 'ca-key.pem': '' }, root.certPem)).problems.join(), /ca-key.pem is missing/);
  const later = new Date(Date.now() + 31 * 24 * 3600 * 1000);
  t.match((await verifyCacerts(eastFiles, root.certPem, later)).problems.join(), /ca-cert.pem expired/);
  // Problems never carry key material.
  t.notMatch(JSON.stringify(foreign), /PRIVATE KEY/);
});

t.test('mesh CA: RSA root and intermediate (Citadel 1.x default key type)', async (t) => {
  const root = await createRootCa({ keyType: 'rsa-2048' });
  const inter = await createIntermediateCa(root, 'east', { keyType: 'rsa-2048' });
  const v = await verifyCacerts(cacertsFiles(root, inter), root.certPem);
  t.same(v.problems, []);
  t.equal(v.keyType, 'rsa-2048');
  t.ok(certInfo(inter.certPem).notAfter <= certInfo(root.certPem).notAfter);
});
