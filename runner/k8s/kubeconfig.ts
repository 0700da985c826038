// Reads the selected context of a kubeconfig: the cluster (server, CA, TLS settings) and, unless the inventory
// gives its own credentials, the user. Certificates, tokens and token files are read here. Importing
// @kubernetes/client-node costs ~0.3 s on this class of machine, a third of a converged run, so the library is
// loaded only for what it implements and this reader does not: exec credential plugins and auth providers.
// What neither supports is refused with a reason rather than silently ignored: proxies, impersonation and
// basic auth.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';

/** TLS and auth settings for one API server, ready for node:https. */
export interface StaticCredentials {
  server: string;
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  token?: string;
  insecure: boolean;
  tlsServerName?: string;
}

export interface KubeconfigReading {
  /** The cluster's settings, plus the user's when they are static. */
  credentials: StaticCredentials;
  /** Set when the user authenticates through @kubernetes/client-node: the field that needs it (`user.exec`). */
  libraryUser?: string;
}

export interface ReadOptions {
  context?: string;
  /** The inventory supplies the credentials (api.token or a client certificate): the kubeconfig's user is not read. */
  ignoreUser?: boolean;
}

interface Named<T> {
  name: string;
  value: T;
}

const libraryUserFields = ['exec', 'auth-provider'];
const impersonation = ['as', 'as-uid', 'as-groups', 'as-user-extra'];

function entries<T>(doc: any, list: string, field: string, file: string): Named<T>[] {
  const items = doc?.[list];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new Error(`${file}: '${list}' is not a list`);
  return items.map((e: any) => ({ name: String(e?.name ?? ''), value: (e?.[field] ?? {}) as T }));
}

/** Picks the context (the given one, else current-context). Errors name the file and what is missing or refused. */
export function readKubeconfig(file: string, options: ReadOptions = {}): KubeconfigReading {
  // Relative paths in a kubeconfig are relative to the file, as kubectl reads them.
  return parseKubeconfig(fs.readFileSync(file, 'utf8'), file, path.dirname(path.resolve(file)), options);
}

/**
 * The same, for a kubeconfig held in memory (a remote secret's). `file` names it in errors; relative paths in it
 * resolve against `dir`.
 */
export function parseKubeconfig(text: string, file: string, dir: string, options: ReadOptions = {}): KubeconfigReading {
  const doc = parse(text) as any;
  const contexts = entries<{ cluster?: string; user?: string }>(doc, 'contexts', 'context', file);
  const wanted = options.context ?? doc?.['current-context'];
  if (!wanted) throw new Error(`${file} has no current context; set api.context`);
  const ctx = contexts.find((c) => c.name === wanted);
  if (!ctx) throw new Error(`context '${wanted}' not found in ${file}; it has: ${contexts.map((c) => c.name).join(', ') || 'none'}`);
  const cluster = entries<Record<string, unknown>>(doc, 'clusters', 'cluster', file).find((c) => c.name === ctx.value.cluster)?.value;
  if (!cluster?.server) throw new Error(`${file}: context '${wanted}' names cluster '${ctx.value.cluster ?? ''}', which has no server`);
  if (cluster['proxy-url']) {
    throw new Error(`${file}: cluster '${ctx.value.cluster}' sets proxy-url, which meshplay does not support: it connects to the API server directly`);
  }

  const fromFileOrData = (owner: Record<string, unknown>, fileKey: string, dataKey: string): Buffer | undefined => {
    const data = owner[dataKey];
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    const f = owner[fileKey];
    if (typeof f === 'string' && f) return fs.readFileSync(path.resolve(dir, f));
    return undefined;
  };
  const credentials: StaticCredentials = {
    server: String(cluster.server),
    ca: fromFileOrData(cluster, 'certificate-authority', 'certificate-authority-data'),
    insecure: cluster['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
  };
  if (options.ignoreUser) return { credentials };

  const user = entries<Record<string, unknown>>(doc, 'users', 'user', file).find((u) => u.name === ctx.value.user)?.value ?? {};
  if (user.username !== undefined || user.password !== undefined) {
    throw new Error(`${file}: user '${ctx.value.user}' uses basic authentication (username/password), which Kubernetes removed in 1.19`);
  }
  const impersonating = impersonation.filter((k) => user[k] !== undefined);
  if (impersonating.length) {
    throw new Error(`${file}: user '${ctx.value.user}' sets ${impersonating.join(', ')} (impersonation), which meshplay does not support`);
  }
  const libraryField = libraryUserFields.find((k) => user[k] !== undefined);
  if (libraryField) return { credentials, libraryUser: `user.${libraryField}` };

  credentials.cert = fromFileOrData(user, 'client-certificate', 'client-certificate-data');
  credentials.key = fromFileOrData(user, 'client-key', 'client-key-data');
  // As client-go: a token file, when given, wins over an inline token.
  if (typeof user.tokenFile === 'string' && user.tokenFile) credentials.token = fs.readFileSync(path.resolve(dir, user.tokenFile), 'utf8').trim();
  else if (typeof user.token === 'string' && user.token) credentials.token = user.token;
  return { credentials };
}
