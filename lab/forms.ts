// The ways operators reach clusters, one lab inventory each (inventory/lab-<form>.yml beside lab.yml), so the
// end-to-end tests run every playbook once per form against the same lab:
//   kubeconfig  one merged kubeconfig file holding every cluster's context (admin client certificates), + context
//   token       url + token_file (a cluster-admin ServiceAccount's token) + ca_file
//   cert        url + client_cert_file + client_key_file + ca_data
//   exec        a kubeconfig whose users run a credential plugin (a real executable printing an ExecCredential
//               with the ServiceAccount token), + context
//   from-api    lab.yml's api, with `nodes: from_api` instead of the node list
import fs from 'node:fs';
import path from 'node:path';
import type { ApiSettings } from '../runner/inventory/types.js';
import { adminRequest, labApply, type AdminCredentials } from './kube/rest.js';
import { labCredentials } from './fixtures/control-plane.js';

export const LAB_FORMS = ['kubeconfig', 'token', 'cert', 'exec', 'from-api'] as const;
export type LabForm = (typeof LAB_FORMS)[number];
export type CredentialForm = Exclude<LabForm, 'from-api'>;

/** inventory/lab.yml -> inventory/lab-<form>.yml */
export function formInventoryFile(inventoryFile: string, form: LabForm): string {
  return inventoryFile.replace(/(\.ya?ml)?$/, `-${form}$1`);
}

const operator = 'meshplay-lab-operator';
const ns = 'kube-system';

/** A cluster-admin ServiceAccount and its long-lived token (filled by the real token controller). */
export async function operatorToken(creds: AdminCredentials, timeoutMs = 30_000): Promise<string> {
  await labApply(creds, `/api/v1/namespaces/${ns}/serviceaccounts/${operator}`, { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: operator, namespace: ns } });
  await labApply(creds, `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${operator}`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: operator },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: operator, namespace: ns }],
  });
  const secretPath = `/api/v1/namespaces/${ns}/secrets/${operator}-token`;
  await labApply(creds, secretPath, {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: `${operator}-token`, namespace: ns, annotations: { 'kubernetes.io/service-account.name': operator } },
  });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await adminRequest(creds, 'GET', secretPath);
    const token = r.status === 200 ? r.json().data?.token : undefined;
    if (token) return Buffer.from(token, 'base64').toString('utf8');
    if (Date.now() > deadline) throw new Error(`the token controller did not fill ${secretPath} within ${timeoutMs} ms`);
    await new Promise((res) => setTimeout(res, 200));
  }
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A plugin as `aws eks get-token` is one: prints an ExecCredential (v1) holding the token in the file it is given. */
export const tokenPluginScript =
  '#!/bin/sh\n# meshplay lab credential plugin: prints an ExecCredential with the token stored in the file $1.\n' +
  'set -e\ntoken=$(cat "$1")\n' +
  'printf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"%s"}}\\n\' "$token"\n';

/**
 * Writes every form's credential files under <stateDir>/forms and returns, per form, each cluster's `api`.
 * Idempotent: a re-run re-applies the same objects and rewrites the same files.
 */
export async function writeLabForms(stateDir: string, clusters: string[]): Promise<Record<CredentialForm, Record<string, ApiSettings>>> {
  const dir = path.join(path.resolve(stateDir), 'forms');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pki = (c: string, f: string) => path.join(path.resolve(stateDir), 'kube', c, 'pki', f);
  const creds = Object.fromEntries(clusters.map((c) => [c, labCredentials(stateDir, c)]));
  const tokens = Object.fromEntries(await Promise.all(clusters.map(async (c) => [c, await operatorToken(creds[c]!)] as const)));
  const tokenFile = (c: string) => path.join(dir, `${c}.token`);
  for (const c of clusters) fs.writeFileSync(tokenFile(c), tokens[c] + '\n', { mode: 0o600 });
  const plugin = path.join(dir, 'token-plugin');
  fs.writeFileSync(plugin, tokenPluginScript, { mode: 0o700 });

  const kubeconfig = (users: (c: string) => Record<string, unknown>) =>
    JSON.stringify(
      {
        apiVersion: 'v1',
        kind: 'Config',
        clusters: clusters.map((c) => ({ name: c, cluster: { server: creds[c]!.url, 'certificate-authority-data': b64(creds[c]!.caPem) } })),
        users: clusters.map((c) => ({ name: `${c}-user`, user: users(c) })),
        contexts: clusters.map((c) => ({ name: c, context: { cluster: c, user: `${c}-user` } })),
        'current-context': clusters[0],
      },
      null,
      2,
    ) + '\n';
  const merged = path.join(dir, 'kubeconfig');
  fs.writeFileSync(merged, kubeconfig((c) => ({ 'client-certificate-data': b64(creds[c]!.certPem), 'client-key-data': b64(creds[c]!.keyPem) })), { mode: 0o600 });
  const execKubeconfig = path.join(dir, 'exec.kubeconfig');
  // `./token-plugin`: a command with a path separator resolves against the kubeconfig's directory, as in client-go.
  fs.writeFileSync(
    execKubeconfig,
    kubeconfig((c) => ({ exec: { apiVersion: 'client.authentication.k8s.io/v1', command: './token-plugin', args: [tokenFile(c)], interactiveMode: 'Never' } })),
    { mode: 0o600 },
  );

  const per = (f: (c: string) => ApiSettings) => Object.fromEntries(clusters.map((c) => [c, f(c)]));
  return {
    kubeconfig: per((c) => ({ kubeconfig: merged, context: c })),
    token: per((c) => ({ url: creds[c]!.url, token_file: tokenFile(c), ca_file: pki(c, 'ca.crt') })),
    cert: per((c) => ({ url: creds[c]!.url, client_cert_file: pki(c, 'admin.crt'), client_key_file: pki(c, 'admin.key'), ca_data: b64(creds[c]!.caPem) })),
    exec: per((c) => ({ kubeconfig: execKubeconfig, context: c })),
  };
}
