// The kubeconfig_secrets role against a REAL kube-apiserver (with its token controller): the output names the
// reader's token Secret in clear (istio_reader_token_secret_name is a name, and says so), while the token the
// controller put in it, and the kubeconfig carrying it, appear in no output format, at -vvv with --diff.
// One API server plays both clusters: `east` (the control plane) and `west` (a remote) point at it.
import t from 'tap';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'yaml';
import { startTestCluster, connectTo, type TestCluster } from './helpers/kube.js';
import { meshplay } from './helpers/cli.js';
import type { KubernetesConnection } from '../runner/connection/kubernetes.js';

let cluster: TestCluster;
let conn: KubernetesConnection;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'meshplay-reader-token-'));
const inventoryFile = path.join(dir, 'inventory.yml');
const playbookFile = path.join(dir, 'site.yml');

t.before(async () => {
  cluster = await startTestCluster('reader');
  conn = await connectTo('reader', cluster.api);
  const api = { kubeconfig: cluster.api.kubeconfig, context: cluster.api.context };
  fs.writeFileSync(
    inventoryFile,
    stringify({
      clusters: [
        { name: 'east', istio_control_plane: true, api, nodes: [] },
        { name: 'west', api, nodes: [] },
      ],
      vars: { istio_remote_loopback_ok: true },
    }),
  );
  fs.writeFileSync(
    playbookFile,
    stringify([
      { name: 'namespace', hosts: 'control_plane', gather_facts: false, tasks: [{ name: 'istio-system', k8s: { definition: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'istio-system' } } } }] },
      { name: 'remote secrets', hosts: 'clusters', gather_facts: false, roles: ['kubeconfig_secrets'] },
    ]),
  );
});

t.teardown(async () => {
  await conn?.close();
  await cluster?.stop();
  fs.rmSync(dir, { recursive: true, force: true });
});

t.test("the reader token Secret's name is shown, its token never", async (t) => {
  const outputs: Record<string, string> = {};
  for (const output of ['plain', 'json', 'ndjson']) {
    const r = await meshplay(['run', playbookFile, '-i', inventoryFile, '--output', output, '-vvv', '--diff'], { timeoutMs: 180_000 });
    t.equal(r.code, 0, `${output}: the role ran\n${r.stderr}\n${r.stdout.slice(-3000)}`);
    outputs[output] = r.stdout + r.stderr;
  }
  const secret = await conn.getOrUndefined<any>('/api/v1/namespaces/istio-system/secrets/istio-reader-service-account-token');
  const token = Buffer.from(secret?.data?.token ?? '', 'base64').toString('utf8');
  t.ok(token.length > 100, 'the token controller filled the token');
  const remote = await conn.getOrUndefined<any>('/api/v1/namespaces/istio-system/secrets/istio-remote-secret-west');
  const kubeconfig = Buffer.from(remote?.data?.west ?? '', 'base64').toString('utf8');
  t.ok(kubeconfig.includes(token), 'the remote secret carries it');
  for (const [output, text] of Object.entries(outputs)) {
    t.match(text, /istio-reader-service-account-token/, `${output}: the token Secret's name is in clear`);
    for (const [what, value] of [['token', token], ['token (base64)', secret.data.token], ['kubeconfig (base64)', remote.data.west], ['token signature', token.split('.')[2]!]] as const)
      t.notOk(text.includes(value), `${output}: the ${what} is not printed`);
  }
});
