// The istio_remote role's pure parts: the known versions are the template folders, the templates render Istio 1.3's
// remote objects under the chart's names with the addresses given, and the version check.
import t from 'tap';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { createTemplater } from '../runner/template/index.js';
import { minorOf, remoteComponentVersions, remoteVersionProblem } from '../runner/mesh/remote-versions.js';
import { repoRoot } from './helpers/cli.js';

const role = join(repoRoot, 'roles', 'istio_remote');

t.test('known versions are exactly the template folders', async (t) => {
  const folders = readdirSync(join(role, 'templates')).filter((d) => d.startsWith('istio-')).map((d) => d.slice('istio-'.length)).sort();
  t.same(folders, [...remoteComponentVersions].sort());
  for (const v of remoteComponentVersions) t.ok(existsSync(join(role, 'files', `istio-${v}`, 'injection-template.yaml')), `${v}: injection template`);
  t.equal(minorOf('1.3.8'), '1.3');
  t.equal(minorOf('v1.3'), '1.3');
  t.equal(minorOf('banana'), undefined);
  t.equal(remoteVersionProblem('1.3.0'), undefined);
  t.match(remoteVersionProblem('1.9.4'), /only for Istio 1\.3/);
});

t.test('Istio 1.3 remote objects: chart names, discovered addresses, webhook, Citadel with or without cacerts', async (t) => {
  const templater = createTemplater();
  const render = (extra: Record<string, unknown>) => {
    const vars = {
      istio_namespace: 'istio-system', cluster_name: 'west', istio_remote_hub: 'docker.io/istio', istio_remote_tag: '1.3.8',
      istio_remote_pilot_address: '10.96.0.15', istio_remote_policy_address: '10.96.0.16', istio_remote_telemetry_address: '10.96.0.17',
      istio_sidecar_injector_policy: 'enabled', istio_sidecar_injector_url: '', istio_sidecar_injector_cert_secret: 'istio-sidecar-injector-certs',
      istio_remote_injector_ca: { ca_cert: 'PEM' }, istio_remote_injector_cert: { not_after: 'x' }, istio_remote_values: { global: { hub: 'h' } },
      istio_remote_citadel: true, istio_remote_cacerts: false, ...extra,
    };
    const text = templater.render("{{ lookup('template', 'istio-1.3/remote.yml.j2') }}", vars, { searchPaths: [role] }) as string;
    return parseAllDocuments(text).map((d) => d.toJS()).filter(Boolean) as any[];
  };
  const objs = render({});
  t.same(objs.map((o) => `${o.kind} ${o.metadata.name}`), [
    'ConfigMap istio', 'ServiceAccount istio-sidecar-injector-service-account', 'ClusterRole istio-sidecar-injector-istio-system',
    'ClusterRoleBinding istio-sidecar-injector-admin-role-binding-istio-system', 'ConfigMap istio-sidecar-injector', 'Deployment istio-sidecar-injector',
    'Service istio-sidecar-injector', 'MutatingWebhookConfiguration istio-sidecar-injector', 'ServiceAccount istio-citadel-service-account',
    'ClusterRole istio-citadel-istio-system', 'ClusterRoleBinding istio-citadel-istio-system', 'Deployment istio-citadel', 'Service istio-citadel',
  ]);
  for (const o of objs) t.equal(o.metadata.labels['meshplay.io/component'], 'istio-remote', `${o.kind} ${o.metadata.name} carries the prune label`);
  const mesh = objs[0].data.mesh as string;
  t.match(mesh, /discoveryAddress: 10\.96\.0\.15:15010/);
  t.match(mesh, /mixerCheckServer: 10\.96\.0\.16:15004/);
  t.match(mesh, /mixerReportServer: 10\.96\.0\.17:15004/);
  const inject = objs[4];
  t.same(Object.keys(inject.data).sort(), ['config', 'values']);
  t.same(JSON.parse(inject.data.values), { global: { hub: 'h' } });
  t.match(inject.data.config, /^policy: enabled\n/);
  t.match(inject.data.config, /\n {4}- --discoveryAddress\n/, "the injection template under config.template");
  const hook = objs[7].webhooks[0];
  t.same(hook.clientConfig, { service: { name: 'istio-sidecar-injector', namespace: 'istio-system', path: '/inject', port: 443 }, caBundle: Buffer.from('PEM').toString('base64') });
  t.same(hook.admissionReviewVersions, ['v1beta1']);
  t.same(hook.namespaceSelector, { matchLabels: { 'istio-injection': 'enabled' } });
  t.ok(objs[11].spec.template.spec.containers[0].args.includes('--self-signed-ca=true'), 'no cacerts: self-signed Citadel');
  const withCa = render({ istio_remote_cacerts: true, istio_sidecar_injector_url: 'https://127.0.0.1:9443/inject' });
  const citadel = withCa.find((o) => o.metadata.name === 'istio-citadel' && o.kind === 'Deployment');
  t.ok(citadel.spec.template.spec.containers[0].args.includes('--signing-cert=/etc/cacerts/ca-cert.pem'), 'cacerts: Citadel signs with the mesh intermediate');
  t.same(citadel.spec.template.spec.volumes, [{ name: 'cacerts', secret: { secretName: 'cacerts', optional: true } }]);
  t.equal(withCa.find((o) => o.kind === 'MutatingWebhookConfiguration').webhooks[0].clientConfig.url, 'https://127.0.0.1:9443/inject');
  const noCitadel = render({ istio_remote_citadel: false, istio_remote_policy_address: '', istio_remote_telemetry_address: '' });
  t.notOk(noCitadel.some((o) => o.metadata.name.includes('citadel')), 'istio_remote_citadel: false renders no Citadel');
  t.notMatch(noCitadel[0].data.mesh, /mixer/, 'no policy/telemetry: no mixer servers');
  t.match(noCitadel[0].data.mesh, /disablePolicyChecks: true/);
});

t.test('urlsplit', async (t) => {
  const templater = createTemplater();
  t.equal(templater.render("{{ 'https://127.0.0.1:9443/inject' | urlsplit('hostname') }}", {}), '127.0.0.1');
  t.equal(templater.render("{{ 'https://[::1]:9443/x' | urlsplit('hostname') }}", {}), '::1');
  t.equal(templater.render("{{ 'https://a.example:9443/x' | urlsplit('port') }}", {}), 9443);
  t.throws(() => templater.render("{{ 'nope' | urlsplit('hostname') }}", {}), /not a URL/);
});
