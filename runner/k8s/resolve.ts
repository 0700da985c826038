// The one owner of "how does meshplay reach this cluster's API": an inventory `api` mapping in any form the schema
// accepts (a kubeconfig file or the KUBECONFIG list + a context or the current one; url + token, token_file or a
// client certificate; ca_file or ca_data; insecure_skip_tls_verify) becomes one resolved API: server, CA,
// tls-server-name and the kind of credential. The inventory loader resolves every cluster once to refuse what
// cannot work (with the key to fix and what to write instead) and to expose the public half as the `cluster_api`
// fact; the Kubernetes connection resolves again when it connects (token files may have rotated since).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ApiSettings } from '../inventory/types.js';
import { loadKubeconfigs, selectContext, type ExecPluginConfig, type KubeconfigReading } from './kubeconfig.js';

export type CredentialKind = KubeconfigReading['credential'];

export interface ResolvedApi {
  server: string;
  /** PEM of the CA that verifies the server (absent: the system roots). */
  ca?: Buffer;
  tlsServerName?: string;
  insecure: boolean;
  credential: CredentialKind;
  /** Where the settings came from, for messages: `kubeconfig FILE context NAME` or `inventory`. */
  source: string;
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  exec?: ExecPluginConfig;
  /** A legacy auth provider: the kubeconfig files and context @kubernetes/client-node must load. */
  authProvider?: { files: string[]; context: string };
}

/** The public half of a resolved API, as roles see it (`cluster_api`): no token, no key. */
export interface ApiFact {
  server: string;
  /** Base64 of the CA's PEM, as a kubeconfig's certificate-authority-data. */
  ca_data?: string;
  tls_server_name?: string;
  insecure_skip_tls_verify: boolean;
  credential: CredentialKind;
  source: string;
}

/** A setting that cannot work: `key` is the api key to point at (undefined: the api mapping itself). */
export class ApiSettingsError extends Error {
  constructor(
    message: string,
    readonly key: keyof ApiSettings | undefined,
    readonly expected?: string,
  ) {
    super(message);
    this.name = 'ApiSettingsError';
  }
}

export const basicAuthRefusal =
  'Kubernetes removed basic authentication (username/password) in 1.19. Create a ServiceAccount token ' +
  '(`kubectl create token <serviceaccount>` or a kubernetes.io/service-account-token Secret) and give it as ' +
  "`api.token_file: FILE` or `api.token: \"{{ lookup('env', 'CLUSTER_TOKEN') }}\"`";

/** `~` and `~/...` as a shell expands them, against HOME from `env`. */
export function expandHome(p: string, env: NodeJS.ProcessEnv): string {
  if (p !== '~' && !p.startsWith('~/')) return p;
  return path.join(env.HOME || os.homedir(), p.slice(1));
}

/** The kubeconfig files to merge, as kubectl picks them: api.kubeconfig (a file or a list), else KUBECONFIG, else ~/.kube/config. */
export function kubeconfigFiles(api: ApiSettings, env: NodeJS.ProcessEnv): { files: string[]; from: string } {
  const split = (list: string) => list.split(path.delimiter).map((f) => (f ? expandHome(f, env) : f));
  if (api.kubeconfig) return { files: split(api.kubeconfig), from: 'api.kubeconfig' };
  if (env.KUBECONFIG) return { files: split(env.KUBECONFIG), from: 'KUBECONFIG' };
  return { files: [expandHome('~/.kube/config', env)], from: 'the default ~/.kube/config' };
}

function readFile(file: string, key: keyof ApiSettings, env: NodeJS.ProcessEnv, what: string): Buffer {
  const full = expandHome(file, env);
  try {
    return fs.readFileSync(full);
  } catch (e: any) {
    throw new ApiSettingsError(`api.${key} ${full} cannot be read (${e?.code ?? e?.message ?? e})`, key, `a readable ${what} file`);
  }
}

function pemOrBase64(text: string): Buffer {
  return text.includes('-----BEGIN') ? Buffer.from(text) : Buffer.from(text, 'base64');
}

/** Whether this `api` mapping takes its cluster from a kubeconfig (no url of its own, or a kubeconfig named). */
function usesKubeconfig(api: ApiSettings): boolean {
  return !!api.kubeconfig || api.context !== undefined || !api.url;
}

function inventoryCredentialGiven(api: ApiSettings): boolean {
  return !!(api.token || api.token_file || api.client_cert_file || api.client_key_file);
}

/**
 * Resolves one cluster's `api` settings. Throws ApiSettingsError for a form that cannot work. Reads files (the
 * kubeconfig, CA, certificate, key, token file) but runs nothing: exec plugins run when the connection opens.
 */
export function resolveApi(api: ApiSettings, env: NodeJS.ProcessEnv = process.env): ResolvedApi {
  if (api.username !== undefined || api.password !== undefined) {
    throw new ApiSettingsError('api.username/api.password (basic authentication) are not supported', api.username !== undefined ? 'username' : 'password', basicAuthRefusal);
  }
  if (api.token && api.token_file) throw new ApiSettingsError('api.token and api.token_file are both set', 'token_file', 'one of them');
  if (api.client_cert_file && !api.client_key_file) throw new ApiSettingsError('api.client_cert_file is set without api.client_key_file', 'client_cert_file', 'api.client_key_file: the key of that certificate');
  if (api.client_key_file && !api.client_cert_file) throw new ApiSettingsError('api.client_key_file is set without api.client_cert_file', 'client_key_file', 'api.client_cert_file: the certificate of that key');
  if ((api.token || api.token_file) && api.client_cert_file) {
    throw new ApiSettingsError('api gives both a token and a client certificate', 'client_cert_file', 'one credential: a token (api.token or api.token_file) or a client certificate');
  }
  if (api.ca_file && api.ca_data) throw new ApiSettingsError('api.ca_file and api.ca_data are both set', 'ca_data', 'one of them');
  const insecure = api.insecure_skip_tls_verify === true || api.insecure === true;
  if (insecure && (api.ca_file || api.ca_data)) {
    // kubectl refuses the same: a CA and "do not verify" contradict each other.
    throw new ApiSettingsError('api.insecure_skip_tls_verify is set together with a CA', api.ca_file ? 'ca_file' : 'ca_data', 'either the CA (verification on) or insecure_skip_tls_verify, not both');
  }

  let out: ResolvedApi;
  if (usesKubeconfig(api)) {
    const { files, from } = kubeconfigFiles(api, env);
    let reading: KubeconfigReading;
    try {
      reading = selectContext(loadKubeconfigs(files), { context: api.context, ignoreUser: inventoryCredentialGiven(api) });
    } catch (e) {
      const message = (e as Error).message;
      const key: keyof ApiSettings | undefined = /context '/.test(message) || /current-context/.test(message) ? (api.context !== undefined ? 'context' : api.kubeconfig ? 'kubeconfig' : undefined) : api.kubeconfig ? 'kubeconfig' : undefined;
      const expected = /does not exist|none of the kubeconfig/.test(message)
        ? `a kubeconfig file (api.kubeconfig, or KUBECONFIG set, or ~/.kube/config), or api.url with api.token_file / a client certificate`
        : /context/.test(message)
          ? 'api.context naming one of the contexts listed'
          : undefined;
      throw new ApiSettingsError(`${from === 'api.kubeconfig' ? '' : `kubeconfig from ${from}: `}${message}`, key, expected);
    }
    const c = reading.credentials;
    out = {
      server: c.server,
      ca: c.ca,
      tlsServerName: c.tlsServerName,
      insecure: c.insecure,
      credential: reading.credential,
      source: `kubeconfig ${files.filter(Boolean).join(path.delimiter)} context ${reading.context}`,
      token: c.token,
      cert: c.cert,
      key: c.key,
      exec: reading.exec,
      authProvider: reading.libraryUser ? { files: files.filter(Boolean), context: reading.context } : undefined,
    };
    if (!inventoryCredentialGiven(api) && reading.credential === 'none') {
      throw new ApiSettingsError(`the kubeconfig user of context '${reading.context}' has no credentials`, api.context !== undefined ? 'context' : api.kubeconfig ? 'kubeconfig' : undefined, 'a user with a token, tokenFile, client certificate or exec plugin, or api.token_file / api.client_cert_file in the inventory');
    }
  } else {
    if (!inventoryCredentialGiven(api)) {
      throw new ApiSettingsError('api.url is set but no credentials', 'url', 'api.token_file (or api.token), or api.client_cert_file + api.client_key_file; or api.kubeconfig + api.context instead of api.url');
    }
    out = { server: api.url!, insecure: false, credential: 'none', source: 'inventory' };
  }

  // The inventory's own fields win over the kubeconfig's, as kubectl's --server/--certificate-authority flags do.
  if (api.url) out.server = api.url;
  if (insecure) out.insecure = true;
  if (api.tls_server_name) out.tlsServerName = api.tls_server_name;
  if (api.ca_file) out.ca = readFile(api.ca_file, 'ca_file', env, 'CA certificate');
  if (api.ca_data) out.ca = pemOrBase64(api.ca_data);
  // An inventory credential replaces the kubeconfig's user entirely: a least-privilege token must never ride
  // along with an admin certificate (the API server would authenticate the certificate).
  if (inventoryCredentialGiven(api)) {
    out.exec = undefined;
    out.authProvider = undefined;
    out.cert = out.key = out.token = undefined;
    if (api.token) {
      out.token = api.token;
      out.credential = 'token';
    } else if (api.token_file) {
      out.token = readFile(api.token_file, 'token_file', env, 'token').toString('utf8').trim();
      if (!out.token) throw new ApiSettingsError(`api.token_file ${expandHome(api.token_file, env)} is empty`, 'token_file', 'a file holding a bearer token');
      out.credential = 'token_file';
    } else {
      out.cert = readFile(api.client_cert_file!, 'client_cert_file', env, 'client certificate');
      out.key = readFile(api.client_key_file!, 'client_key_file', env, 'client key');
      out.credential = 'client_certificate';
    }
  }
  if (!/^https:\/\//.test(out.server)) {
    throw new ApiSettingsError(`the API server address ${out.server} is not https`, api.url ? 'url' : api.kubeconfig ? 'kubeconfig' : undefined, 'an https:// URL: meshplay sends credentials only over TLS');
  }
  return out;
}

/** What roles may see of a resolved API. */
export function apiFact(r: ResolvedApi): ApiFact {
  return {
    server: r.server,
    ...(r.ca ? { ca_data: r.ca.toString('base64') } : {}),
    ...(r.tlsServerName ? { tls_server_name: r.tlsServerName } : {}),
    insecure_skip_tls_verify: r.insecure,
    credential: r.credential,
    source: r.source,
  };
}
