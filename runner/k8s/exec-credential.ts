// Kubeconfig credential plugins (`users[].user.exec`, client.authentication.k8s.io v1 and v1beta1): what
// `aws eks get-token`, `gke-gcloud-auth-plugin` and kubelogin implement. The plugin runs without a terminal,
// gets KUBERNETES_EXEC_INFO, and prints an ExecCredential whose token (or client certificate) is kept until its
// expirationTimestamp; the connection asks again after a 401. A plugin that fails makes its cluster unreachable
// with the plugin's stderr (the output layer masks registered secrets in it).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { defaultSecretPolicy } from '../secrets/policy.js';
import type { ExecPluginConfig } from './kubeconfig.js';

export interface ExecCredentialResult {
  token?: string;
  cert?: Buffer;
  key?: Buffer;
  /** When the credential stops being valid (undefined: until the server rejects it). */
  expiresAt?: number;
}

export interface ClusterInfo {
  server: string;
  ca?: Buffer;
  tlsServerName?: string;
  insecure: boolean;
}

/** A plugin that could not produce a credential; the message carries its stderr. */
export class ExecPluginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ExecPluginError';
  }
}

const pluginTimeoutMs = 60_000;
// Renew a little early so a request does not leave with a credential that expires on the way.
const expirySkewMs = 10_000;

/** client-go resolves a command holding a path separator against the kubeconfig's directory; a bare name uses PATH. */
export function pluginCommand(cfg: ExecPluginConfig): string {
  return cfg.command.includes('/') && !path.isAbsolute(cfg.command) ? path.resolve(cfg.dir, cfg.command) : cfg.command;
}

export class ExecCredentialSource {
  private cached?: ExecCredentialResult;
  private running?: Promise<ExecCredentialResult>;
  /** How many times the plugin ran (for tests and -vvv). */
  runs = 0;

  constructor(
    private readonly cfg: ExecPluginConfig,
    private readonly cluster: ClusterInfo,
    private readonly secret: (value: string) => void,
    private readonly now: () => number = Date.now,
  ) {
    for (const e of cfg.env) if (defaultSecretPolicy.isSecretName(e.name) && e.value) secret(e.value);
  }

  /** The cached credential while it is valid, else a fresh one. `force` (after a 401) always runs the plugin. */
  get(force = false): Promise<ExecCredentialResult> {
    const c = this.cached;
    if (!force && c && (c.expiresAt === undefined || c.expiresAt - expirySkewMs > this.now())) return Promise.resolve(c);
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  private async run(): Promise<ExecCredentialResult> {
    this.runs++;
    const command = pluginCommand(this.cfg);
    const info: Record<string, unknown> = { apiVersion: this.cfg.apiVersion, kind: 'ExecCredential', spec: { interactive: false } };
    if (this.cfg.provideClusterInfo) {
      (info.spec as Record<string, unknown>).cluster = {
        server: this.cluster.server,
        ...(this.cluster.tlsServerName ? { 'tls-server-name': this.cluster.tlsServerName } : {}),
        ...(this.cluster.insecure ? { 'insecure-skip-tls-verify': true } : {}),
        ...(this.cluster.ca ? { 'certificate-authority-data': this.cluster.ca.toString('base64') } : {}),
      };
    }
    const env: NodeJS.ProcessEnv = { ...process.env, KUBERNETES_EXEC_INFO: JSON.stringify(info) };
    for (const e of this.cfg.env) env[e.name] = e.value;
    const { code, stdout, stderr, spawnError } = await new Promise<{ code: number | null; stdout: string; stderr: string; spawnError?: NodeJS.ErrnoException }>((resolve) => {
      let out = '';
      let err = '';
      const child = spawn(command, this.cfg.args, { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: pluginTimeoutMs });
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('error', (e: NodeJS.ErrnoException) => resolve({ code: null, stdout: out, stderr: err, spawnError: e }));
      child.on('close', (c, signal) => resolve({ code: c ?? (signal ? 128 : null), stdout: out, stderr: err }));
    });
    const name = `credential plugin ${command}`;
    if (spawnError) {
      const hint = this.cfg.installHint ? `; ${this.cfg.installHint.trim()}` : '';
      throw new ExecPluginError(`${name} could not be started (${spawnError.code ?? spawnError.message})${hint}`);
    }
    const tail = stderr.trim().split('\n').slice(-20).join('\n');
    if (code !== 0) throw new ExecPluginError(`${name} failed with exit status ${code}${tail ? `: ${tail}` : ' and printed nothing on stderr'}`);
    let doc: any;
    try {
      doc = JSON.parse(stdout);
    } catch {
      throw new ExecPluginError(`${name} did not print an ExecCredential (its output is not JSON)${tail ? `; stderr: ${tail}` : ''}`);
    }
    if (doc?.kind !== 'ExecCredential') throw new ExecPluginError(`${name} printed kind '${doc?.kind}', expected ExecCredential`);
    if (doc.apiVersion !== this.cfg.apiVersion) {
      // client-go refuses a mismatch too: the two versions differ in what the fields mean.
      throw new ExecPluginError(`${name} printed apiVersion '${doc.apiVersion}', but the kubeconfig asks for ${this.cfg.apiVersion}`);
    }
    const status = doc.status ?? {};
    const result: ExecCredentialResult = {};
    if (typeof status.token === 'string' && status.token) {
      result.token = status.token;
      this.secret(status.token);
    }
    if (status.clientCertificateData || status.clientKeyData) {
      if (!status.clientCertificateData || !status.clientKeyData) throw new ExecPluginError(`${name} printed a client certificate without its key, or a key without its certificate`);
      this.secret(String(status.clientKeyData));
      result.cert = Buffer.from(String(status.clientCertificateData));
      result.key = Buffer.from(String(status.clientKeyData));
    }
    if (!result.token && !result.cert) throw new ExecPluginError(`${name} printed an ExecCredential with neither a token nor a client certificate`);
    if (status.expirationTimestamp !== undefined) {
      const at = Date.parse(String(status.expirationTimestamp));
      if (!Number.isFinite(at)) throw new ExecPluginError(`${name} printed an expirationTimestamp that is not a time: ${status.expirationTimestamp}`);
      result.expiresAt = at;
    }
    this.cached = result;
    return result;
  }
}
