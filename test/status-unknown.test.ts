// meshplay status: a probe that cannot tell says "unknown" (and the mesh is not healthy), never converged, off or
// missing. Against a real kube-apiserver: the control plane cluster is reached with a client certificate that
// RBAC allows nothing but discovery, so reading the mesh's mTLS policy and the remote secrets get 403, and its
// node cannot be reached. The remote cluster is the same API server reached as admin; its node is reached as a
// run reaches it (ansible_connection: local), so its route table is really read.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { meshplay } from './helpers/cli.js';
import { startTestCluster, type TestCluster } from './helpers/kube.js';

let cluster: TestCluster;
t.before(async () => {
  cluster = await startTestCluster('status-unknown', '10.96.0.0/16');
});
t.teardown(async () => {
  await cluster?.stop();
});

t.test('403 on the probes: mTLS, remote secret and pod routes are unknown, not off, missing or converged', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'meshplay-status-unknown-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const nobody = await cluster.clientCert('meshplay-nobody');
  const api = (cert: string, key: string) => `{url: "${cluster.api.url}", ca_file: "${cluster.files.ca}", client_cert_file: "${cert}", client_key_file: "${key}"}`;
  const inventory = join(dir, 'inventory.yml');
  writeFileSync(
    inventory,
    [
      'clusters:',
      '  - name: east',
      '    istio_control_plane: true',
      `    api: ${api(nobody.cert, nobody.key)}`,
      '    pod_cidr: 10.1.0.0/16',
      // Reached over SSH with no credentials: its table cannot be read, and no peer's BIRD stands in for it.
      '    nodes: [{name: east-1, address: 127.0.0.44}]',
      '  - name: west',
      `    api: ${api(cluster.files.adminCert, cluster.files.adminKey)}`,
      '    pod_cidr: 10.2.0.0/16',
      '    vars: {ansible_connection: local}',
      '    nodes: [{name: west-1, address: 127.0.0.43}]',
      '',
    ].join('\n'),
  );
  const r = await meshplay(['status', '-i', inventory, '--output', 'json']);
  t.equal(r.code, 1, `a mesh whose probes cannot tell is not healthy: ${r.stderr}`);
  const body = JSON.parse(r.stdout);
  const east = body.clusters.find((c: { cluster: string }) => c.cluster === 'east');
  const west = body.clusters.find((c: { cluster: string }) => c.cluster === 'west');
  t.equal(east.api.reachable, true, 'discovery is allowed: the control plane is reachable');
  t.equal(east.mtls.api, 'unknown', `a 403 on the mTLS policy is unknown, not off: ${JSON.stringify(east.mtls)}`);
  t.match(east.mtls.error, /403|forbidden/i);
  t.equal(west.secret.present, undefined, 'the remote secret is neither present nor missing');
  t.match(west.secret.error, /cannot list the remote secrets/);
  t.notOk(west.reasons.some((x: string) => /missing in the control plane/.test(x)), 'not reported missing');
  t.equal(west.routes.checked, true, `the node's table was read through ansible_connection: local: ${JSON.stringify(west.routes)}`);
  t.equal(west.routes.converged, false, 'routes to a node whose table cannot be read are not converged');
  t.equal(west.routes.unknown, true);
  t.match(west.routes.error, /east-1: /);
  t.equal(east.routes.checked, false, 'east-1 itself could not be read');
  t.equal(west.healthy, false);
  t.equal(east.healthy, false);

  const plain = await meshplay(['status', '-i', inventory]);
  t.equal(plain.code, 1);
  const rows = plain.stdout.split('\n');
  t.match(rows.find((l) => l.startsWith('east ')), /\bunknown\b/, `the table says unknown for mTLS:\n${plain.stdout}`);
  t.notMatch(rows.find((l) => l.startsWith('east ')), /\boff\b/);
  t.match(rows.find((l) => l.startsWith('west ')), /unknown.*unknown/, 'and for the remote secret and the routes');
});
