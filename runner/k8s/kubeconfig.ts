// Reads kubeconfigs as kubectl does: one file, or a list of files (the KUBECONFIG variable) merged by kubectl's
// rules, then the selected context's cluster (server, CA, TLS settings) and, unless the inventory gives its own
// credentials, its user. Certificates, tokens and token files are read here; exec credential plugins are described
// here and run by runner/k8s/exec-credential.ts. Importing @kubernetes/client-node costs ~0.3 s on this class of
// machine, a third of a converged run, so the library is loaded only for legacy auth providers.
// What meshplay cannot honour is refused with a reason rather than silently ignored: proxies, impersonation and
// basic auth.
import fs from 'node:fs';
import path from 'node:path';
import { parseYamlText } from '../yaml/parse.js';

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

/** A kubeconfig `users[].user.exec` stanza, with the directory a relative command resolves against. */
export interface ExecPluginConfig {
  apiVersion: string;
  command: string;
  args: string[];
  env: { name: string; value: string }[];
  interactiveMode?: string;
  provideClusterInfo: boolean;
  installHint?: string;
  /** Directory of the kubeconfig file that defined the user (client-go resolves a command with a '/' against it). */
  dir: string;
}

export interface KubeconfigReading {
  /** The cluster's settings, plus the user's when they are static. */
  credentials: StaticCredentials;
  /** The context used (named or the current one). */
  context: string;
  /** The kubeconfig's name for the user, and how it authenticates. */
  userName?: string;
  credential: 'token' | 'token_file' | 'client_certificate' | 'exec' | 'auth_provider' | 'none';
  /** Set when the user authenticates through a credential plugin. */
  exec?: ExecPluginConfig;
  /** Set when the user authenticates through a legacy auth provider (@kubernetes/client-node runs it). */
  libraryUser?: string;
}

export interface ReadOptions {
  context?: string;
  /** The inventory supplies the credentials (api.token or a client certificate): the kubeconfig's user is not read. */
  ignoreUser?: boolean;
}

/** One named entry (cluster, user or context) and the directory of the file it came from. */
interface Entry {
  value: Record<string, unknown>;
  dir: string;
  file: string;
}

/** Kubeconfig files merged by kubectl's rules. */
export interface MergedKubeconfig {
  clusters: Map<string, Entry>;
  users: Map<string, Entry>;
  contexts: Map<string, Entry>;
  currentContext?: string;
  /** The files that were read (in order), for messages. */
  files: string[];
}

const authProviderFields = ['auth-provider'];
const impersonation = ['as', 'as-uid', 'as-groups', 'as-user-extra'];

function addEntries(into: Map<string, Entry>, doc: any, list: string, field: string, file: string, dir: string): void {
  const items = doc?.[list];
  if (items === undefined || items === null) return;
  if (!Array.isArray(items)) throw new Error(`${file}: '${list}' is not a list`);
  for (const e of items) {
    const name = String(e?.name ?? '');
    // kubectl's merge: the first file to define a name wins, whole; later files' entries of that name are dropped.
    if (!into.has(name)) into.set(name, { value: (e?.[field] ?? {}) as Record<string, unknown>, dir, file });
  }
}

/** Adds one kubeconfig document to a merge (first definition wins, as kubectl merges KUBECONFIG). */
function mergeDocument(into: MergedKubeconfig, text: string, file: string, dir: string): void {
  // Never quotes a broken line: it may hold the token.
  const doc = parseYamlText(text, file) as any;
  if (doc !== null && doc !== undefined && (typeof doc !== 'object' || Array.isArray(doc))) throw new Error(`${file} is not a kubeconfig (not a mapping)`);
  addEntries(into.clusters, doc, 'clusters', 'cluster', file, dir);
  addEntries(into.users, doc, 'users', 'user', file, dir);
  addEntries(into.contexts, doc, 'contexts', 'context', file, dir);
  const current = doc?.['current-context'];
  if (into.currentContext === undefined && typeof current === 'string' && current) into.currentContext = current;
  into.files.push(file);
}

function emptyMerge(): MergedKubeconfig {
  return { clusters: new Map(), users: new Map(), contexts: new Map(), files: [] };
}

/**
 * Reads kubeconfig files in order and merges them as kubectl merges KUBECONFIG: empty names are ignored, a file
 * that does not exist is skipped (at least one must exist), a file that does not parse is an error, and the first
 * file to set a value or a named entry wins — the whole entry, even keys later files add to the same name.
 */
export function loadKubeconfigs(files: string[]): MergedKubeconfig {
  const merged = emptyMerge();
  const wanted = files.filter((f) => f !== '');
  for (const f of wanted) {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e: any) {
      if (e?.code === 'ENOENT' && wanted.length > 1) continue;
      throw new Error(e?.code === 'ENOENT' ? `kubeconfig ${f} does not exist` : `cannot read kubeconfig ${f}: ${e?.message ?? e}`);
    }
    // Relative paths in a kubeconfig are relative to the file, as kubectl reads them.
    mergeDocument(merged, text, f, path.dirname(path.resolve(f)));
  }
  if (!merged.files.length) throw new Error(`none of the kubeconfig files exists: ${wanted.join(path.delimiter)}`);
  return merged;
}

/** Picks the context (the given one, else current-context). Errors name the file and what is missing or refused. */
export function readKubeconfig(file: string, options: ReadOptions = {}): KubeconfigReading {
  return selectContext(loadKubeconfigs([file]), options);
}

/**
 * The same, for a kubeconfig held in memory (a remote secret's). `file` names it in errors; relative paths in it
 * resolve against `dir`.
 */
export function parseKubeconfig(text: string, file: string, dir: string, options: ReadOptions = {}): KubeconfigReading {
  const merged = emptyMerge();
  mergeDocument(merged, text, file, dir);
  return selectContext(merged, options);
}

function fromFileOrData(owner: Entry, fileKey: string, dataKey: string): Buffer | undefined {
  const data = owner.value[dataKey];
  if (typeof data === 'string' && data) return Buffer.from(data, 'base64');
  const f = owner.value[fileKey];
  if (typeof f === 'string' && f) {
    const full = path.resolve(owner.dir, f);
    try {
      return fs.readFileSync(full);
    } catch (e: any) {
      throw new Error(`${owner.file}: ${fileKey} ${full} cannot be read (${e?.code ?? e?.message ?? e})`);
    }
  }
  return undefined;
}

/** The selected context's cluster and user from merged kubeconfigs. */
export function selectContext(merged: MergedKubeconfig, options: ReadOptions = {}): KubeconfigReading {
  const where = merged.files.join(path.delimiter);
  const wanted = options.context ?? merged.currentContext;
  if (!wanted) throw new Error(`${where} has no current-context; name one with api.context (contexts: ${[...merged.contexts.keys()].join(', ') || 'none'})`);
  const ctx = merged.contexts.get(wanted);
  if (!ctx) throw new Error(`context '${wanted}' not found in ${where}; it has: ${[...merged.contexts.keys()].join(', ') || 'none'}`);
  const clusterName = typeof ctx.value.cluster === 'string' ? ctx.value.cluster : '';
  const cluster = merged.clusters.get(clusterName);
  if (!cluster?.value.server) throw new Error(`${ctx.file}: context '${wanted}' names cluster '${clusterName}', which ${cluster ? 'has no server' : 'is not defined'}`);
  if (cluster.value['proxy-url']) {
    throw new Error(`${cluster.file}: cluster '${clusterName}' sets proxy-url, which meshplay does not support: it connects to the API server directly`);
  }
  const credentials: StaticCredentials = {
    server: String(cluster.value.server),
    ca: fromFileOrData(cluster, 'certificate-authority', 'certificate-authority-data'),
    insecure: cluster.value['insecure-skip-tls-verify'] === true,
    tlsServerName: typeof cluster.value['tls-server-name'] === 'string' && cluster.value['tls-server-name'] ? cluster.value['tls-server-name'] : undefined,
  };
  if (options.ignoreUser) return { credentials, context: wanted, credential: 'none' };

  const userName = typeof ctx.value.user === 'string' ? ctx.value.user : undefined;
  const userEntry = userName !== undefined ? merged.users.get(userName) : undefined;
  const user = userEntry?.value ?? {};
  const userFile = userEntry?.file ?? ctx.file;
  if (user.username !== undefined || user.password !== undefined) {
    throw new Error(`${userFile}: user '${userName}' uses basic authentication (username/password), which Kubernetes removed in 1.19`);
  }
  const impersonating = impersonation.filter((k) => user[k] !== undefined);
  if (impersonating.length) {
    throw new Error(`${userFile}: user '${userName}' sets ${impersonating.join(', ')} (impersonation), which meshplay does not support`);
  }
  const base = { credentials, context: wanted, userName };
  if (user.exec !== undefined) return { ...base, credential: 'exec', exec: execConfig(user.exec, userEntry!, userName ?? '') };
  const provider = authProviderFields.find((k) => user[k] !== undefined);
  if (provider) return { ...base, credential: 'auth_provider', libraryUser: `user.${provider}` };

  credentials.cert = fromFileOrData(userEntry ?? { value: {}, dir: '.', file: userFile }, 'client-certificate', 'client-certificate-data');
  credentials.key = fromFileOrData(userEntry ?? { value: {}, dir: '.', file: userFile }, 'client-key', 'client-key-data');
  if (!!credentials.cert !== !!credentials.key) throw new Error(`${userFile}: user '${userName}' has a client certificate without its key (or a key without its certificate)`);
  let credential: KubeconfigReading['credential'] = credentials.cert ? 'client_certificate' : 'none';
  // As client-go: a token file, when given, wins over an inline token.
  if (typeof user.tokenFile === 'string' && user.tokenFile) {
    const full = path.resolve(userEntry!.dir, user.tokenFile);
    try {
      credentials.token = fs.readFileSync(full, 'utf8').trim();
    } catch (e: any) {
      throw new Error(`${userFile}: tokenFile ${full} of user '${userName}' cannot be read (${e?.code ?? e?.message ?? e})`);
    }
    credential = 'token_file';
  } else if (typeof user.token === 'string' && user.token) {
    credentials.token = user.token;
    credential = 'token';
  }
  return { ...base, credential };
}

const execApiVersions = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];

/** Checks an exec stanza as client-go does before running it; errors say what to write instead. */
function execConfig(raw: unknown, owner: Entry, userName: string): ExecPluginConfig {
  const e = (raw ?? {}) as Record<string, unknown>;
  const where = `${owner.file}: user '${userName}' exec`;
  if (typeof e.command !== 'string' || !e.command) throw new Error(`${where} has no command`);
  const apiVersion = String(e.apiVersion ?? '');
  if (!execApiVersions.includes(apiVersion)) {
    throw new Error(`${where}: apiVersion '${apiVersion}' is not supported; use ${execApiVersions.join(' or ')} (v1alpha1 was removed in Kubernetes 1.24)`);
  }
  const mode = e.interactiveMode === undefined ? undefined : String(e.interactiveMode);
  if (mode === undefined && apiVersion.endsWith('/v1')) throw new Error(`${where}: interactiveMode must be set for ${apiVersion} (IfAvailable, Never or Always), as client-go requires`);
  if (mode !== undefined && !['Never', 'IfAvailable', 'Always'].includes(mode)) throw new Error(`${where}: interactiveMode '${mode}' is not one of Never, IfAvailable, Always`);
  if (mode === 'Always') throw new Error(`${where}: interactiveMode Always needs a terminal, and meshplay runs plugins without one; use a plugin mode that needs no prompt (IfAvailable or Never)`);
  const args = Array.isArray(e.args) ? e.args.map(String) : [];
  const env = Array.isArray(e.env) ? e.env.map((v: any) => ({ name: String(v?.name ?? ''), value: String(v?.value ?? '') })) : [];
  return {
    apiVersion,
    command: e.command,
    args,
    env,
    interactiveMode: mode,
    provideClusterInfo: e.provideClusterInfo === true,
    installHint: typeof e.installHint === 'string' ? e.installHint : undefined,
    dir: owner.dir,
  };
}
