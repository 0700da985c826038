// Reads a kubeconfig whose selected user needs nothing but files and strings (client certificate, bearer token,
// token file): the case of every CI kubeconfig and of the lab. Importing @kubernetes/client-node costs ~0.3 s on
// this class of machine, a third of a converged run, so it is loaded only for what this reader hands back:
// exec plugins, auth providers, impersonation and proxies (the library implements those; we do not).
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

export type KubeconfigReading =
  | { kind: 'static'; credentials: StaticCredentials }
  /** The user entry needs @kubernetes/client-node; `why` names the field. */
  | { kind: 'needs-client'; why: string };

interface Named<T> {
  name: string;
  [k: string]: unknown;
  value: T;
}

/** Fields handled here; anything else in the cluster or user entry sends the config to the library. */
const clusterFields = new Set(['server', 'certificate-authority', 'certificate-authority-data', 'insecure-skip-tls-verify', 'tls-server-name', 'extensions']);
const userFields = new Set(['client-certificate', 'client-certificate-data', 'client-key', 'client-key-data', 'token', 'tokenFile', 'extensions']);

function entries<T>(doc: any, list: string, field: string, file: string): Named<T>[] {
  const items = doc?.[list];
  if (items === undefined || items === null) return [];
  if (!Array.isArray(items)) throw new Error(`${file}: '${list}' is not a list`);
  return items.map((e: any) => ({ name: String(e?.name ?? ''), value: (e?.[field] ?? {}) as T }));
}

/**
 * Picks the context (the given one, else current-context) and returns its credentials, or says which field
 * needs the client library. Errors name the file and what is missing.
 */
export function readKubeconfig(file: string, context?: string): KubeconfigReading {
  const text = fs.readFileSync(file, 'utf8');
  const doc = parse(text) as any;
  const contexts = entries<{ cluster?: string; user?: string; namespace?: string }>(doc, 'contexts', 'context', file);
  const wanted = context ?? doc?.['current-context'];
  if (!wanted) throw new Error(`${file} has no current context; set api.context`);
  const ctx = contexts.find((c) => c.name === wanted);
  if (!ctx) throw new Error(`context '${wanted}' not found in ${file}; it has: ${contexts.map((c) => c.name).join(', ') || 'none'}`);
  const cluster = entries<Record<string, unknown>>(doc, 'clusters', 'cluster', file).find((c) => c.name === ctx.value.cluster)?.value;
  if (!cluster?.server) throw new Error(`${file}: context '${wanted}' names cluster '${ctx.value.cluster ?? ''}', which has no server`);
  const user = entries<Record<string, unknown>>(doc, 'users', 'user', file).find((u) => u.name === ctx.value.user)?.value ?? {};

  const odd = [...Object.keys(cluster).filter((k) => !clusterFields.has(k)).map((k) => `cluster.${k}`), ...Object.keys(user).filter((k) => !userFields.has(k)).map((k) => `user.${k}`)];
  if (odd.length) return { kind: 'needs-client', why: odd.join(', ') };

  // Relative paths in a kubeconfig are relative to the file, as kubectl reads them.
  const dir = path.dirname(path.resolve(file));
  const fromFileOrData = (fileKey: string, dataKey: string, owner: Record<string, unknown>): Buffer | undefined => {
    const data = owner[dataKey];
    if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
    const f = owner[fileKey];
    if (typeof f === 'string' && f) return fs.readFileSync(path.resolve(dir, f));
    return undefined;
  };
  let token = typeof user.token === 'string' && user.token ? user.token : undefined;
  if (!token && typeof user.tokenFile === 'string' && user.tokenFile) token = fs.readFileSync(path.resolve(dir, user.tokenFile), 'utf8').trim();
  return {
    kind: 'static',
    credentials: {
      server: String(cluster.server),
      ca: fromFileOrData('certificate-authority', 'certificate-authority-data', cluster),
      cert: fromFileOrData('client-certificate', 'client-certificate-data', user),
      key: fromFileOrData('client-key', 'client-key-data', user),
      token,
      insecure: cluster['insecure-skip-tls-verify'] === true,
      tlsServerName: typeof cluster['tls-server-name'] === 'string' ? cluster['tls-server-name'] : undefined,
    },
  };
}
