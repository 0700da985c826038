// `meshplay status -i INV [--output json]`: one row per cluster of a single-control-plane mesh, checked against the
// live clusters (think `istioctl remote-clusters` / `cilium clustermesh status`). Read-only. Exits 1 when a row is
// not healthy, saying why. Secret values (tokens, kubeconfigs) are used in memory only and never printed.
import { INVENTORY_OPTION, answerCommandLine, parseCommandLine, type CommandSpec } from './options.js';
import { ExitCode, ValidationError, formatProblem } from '../errors.js';
import { VAULT_OPTION_SPECS, openVaults, vaultCliOptions, vaultOptionProblem } from '../vault/options.js';
import { vaultPlaintexts } from '../vault/keyring.js';
import { isWrongVaultPassword } from '../vault/yaml.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { ClusterStatus, MeshStatus } from '../mesh/single-status.js';
import { ConnectionPool } from '../executor/connections.js';

export type { ClusterStatus } from '../mesh/single-status.js';

export const STATUS_COMMAND: CommandSpec = {
  name: 'meshplay status',
  usage: ['meshplay status -i INVENTORY [--output plain|json] [--no-routes] [--pilot HOST:PORT] [--report FILE.html]'],
  summary: 'One row per cluster of the mesh, checked against the live clusters (read-only); exits 1 when a row is not healthy.',
  options: [
    INVENTORY_OPTION,
    { name: 'output', short: 'o', type: 'string', arg: 'plain|json', help: 'output format (default plain)' },
    { name: 'no-routes', type: 'boolean', help: "do not read the nodes' route tables over SSH" },
    { name: 'pilot', type: 'string', arg: 'HOST:PORT', help: "Pilot's debug address, to check which remote clusters it loaded" },
    { name: 'report', type: 'string', arg: 'FILE.html', help: 'also draw the live mesh as one self-contained HTML page' },
    ...VAULT_OPTION_SPECS,
  ],
};

function str(v: unknown): string | undefined {
  return typeof v === 'string' && !v.includes('{{') ? v : undefined;
}

export async function statusCommand(argv: string[]): Promise<number> {
  let v: { inventory?: string[]; output?: string; 'no-routes'?: boolean; pilot?: string; report?: string; [vaultOption: string]: unknown };
  try {
    v = parseCommandLine(STATUS_COMMAND, argv).values as typeof v;
  } catch (e) {
    return answerCommandLine(e, 'meshplay status');
  }
  if (!v.inventory?.length || (v.output && !['plain', 'json'].includes(v.output))) {
    process.stderr.write(`usage: ${STATUS_COMMAND.usage[0]}\n`);
    return ExitCode.badOption;
  }
  const vault = vaultCliOptions(v);
  const vaultProblem = vaultOptionProblem(vault);
  if (vaultProblem) {
    process.stderr.write(`meshplay status: ${vaultProblem}\n`);
    return ExitCode.badOption;
  }
  const vaultExit = await openVaults(vault);
  if (vaultExit !== undefined) return vaultExit;
  const [{ createTemplater }, inv, { Redactor }, { SecretPolicy }] = await Promise.all([
    import('../template/index.js'),
    import('../inventory/index.js'),
    import('../secrets/redact.js'),
    import('../secrets/policy.js'),
  ]);
  const templater = createTemplater();
  let inventory: Inventory;
  try {
    inventory = await inv.loadInventoryWithApiNodes(v.inventory, { templater });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const masker = new Redactor();
    for (const secret of vaultPlaintexts()) masker.addSecret(secret);
    for (const p of e.problems) process.stderr.write(`ERROR: ${masker.redactText(formatProblem(p))}\n`);
    return e.problems.some(isWrongVaultPassword) ? ExitCode.error : ExitCode.parseError;
  }
  let redactor: InstanceType<typeof Redactor>;
  try {
    redactor = new Redactor({ policy: SecretPolicy.fromInventory(inventory.vars) });
  } catch (e) {
    process.stderr.write(`ERROR: ${(e as Error).message}\n`);
    return ExitCode.parseError;
  }
  for (const secret of vaultPlaintexts()) redactor.addSecret(secret);
  const vars = renderedVars(inventory, templater, inv.hostVars);
  // Secret-named variables are registered before anything prints, by the same policy as a run.
  for (const h of inventory.hosts.keys()) redactor.policy.scopeSecrets([inv.hostVars(inventory, h)], vars(h), (s) => redactor.addSecret(s));
  const single = inventory.topology !== 'multi-control-plane' && inventory.topology !== 'separate-meshes';
  let code: number;
  let status: MeshStatus | undefined;
  if (!single && !v.report) return multiControlPlaneStatus(inventory, redactor, vars, v.output === 'json');
  if (!single) {
    code = await multiControlPlaneStatus(inventory, redactor, vars, v.output === 'json');
    status = await probeMesh(inventory, vars, redactor, { routes: !v['no-routes'], remotes: false });
  } else {
    status = await probeMesh(inventory, vars, redactor, {
      routes: !v['no-routes'],
      pilot: v.pilot ?? str(inv.hostVars(inventory, inventory.groups.get('control_plane')?.[0] ?? '').istio_pilot_debug_address),
      gateways: Boolean(v.report),
    });
    // Status rows are meshplay's own words: only values registered as secrets are masked, never a field by its name.
    const safe = redactor.redactKnown(status.clusters);
    if (v.output === 'json') process.stdout.write(JSON.stringify({ healthy: safe.every((r) => r.healthy), clusters: safe }, null, 2) + '\n');
    else process.stdout.write(formatTable(safe));
    code = safe.every((r) => r.healthy) ? ExitCode.ok : 1;
  }
  if (v.report) {
    const { writeReport } = await import('../report/write.js');
    const written = await writeReport(v.report, { kind: 'status', title: 'meshplay status', inventory, status }, redactor);
    if (written) {
      process.stderr.write(`meshplay status: --report ${v.report}: ${written}\n`);
      return code || ExitCode.error;
    }
  }
  return code;
}

/** Every variable of a host, rendered (as a run's connection sees them); the raw ones when rendering fails. */
export function renderedVars(
  inventory: Inventory,
  templater: { render(value: unknown, vars: Record<string, unknown>, o: Record<string, unknown>): unknown },
  hostVars: (inventory: Inventory, host: string) => Record<string, unknown>,
): (host: string) => Record<string, unknown> {
  const cache = new Map<string, Record<string, unknown>>();
  return (host) => {
    let out = cache.get(host);
    if (!out) {
      try {
        out = templater.render(hostVars(inventory, host), hostVars(inventory, host), {}) as Record<string, unknown>;
      } catch {
        out = hostVars(inventory, host);
      }
      cache.set(host, out);
    }
    return out;
  };
}

/** The live mesh through the roles' probes, every host opened as a run opens it; connections closed after. */
export async function probeMesh(
  inventory: Inventory,
  vars: (host: string) => Record<string, unknown>,
  redactor: { addSecret(v: string): void },
  o: { routes: boolean; pilot?: string; remotes?: boolean; gateways?: boolean },
): Promise<MeshStatus> {
  const controller = new AbortController();
  const secret = (s: string) => redactor.addSecret(s);
  const pool = statusPool(inventory, vars, secret, controller.signal);
  try {
    const { meshStatus } = await import('../mesh/single-status.js');
    return await meshStatus(inventory, { ...o, secret, vars, connect: (host) => pool.get(host), connectHost: (host, hostVars) => connectHost(host, hostVars, secret, controller.signal) });
  } finally {
    await pool.closeAll();
  }
}

/** Multiple control planes: cacerts chain to the shared root, .global DNS stub, gateways and ServiceEntries. */
async function multiControlPlaneStatus(
  inventory: Inventory,
  redactor: { addSecret(v: string): void; redactKnown<T>(v: T): T },
  vars: (host: string) => Record<string, unknown>,
  json: boolean,
): Promise<number> {
  // Each topology's probe: the same per-cluster check list, printed the same way.
  const multiStatus = inventory.topology === 'separate-meshes'
    ? (await import('../mesh/separate-status.js')).separateMeshesStatus
    : (await import('../mesh/status.js')).multiStatus;
  const controller = new AbortController();
  const pool = statusPool(inventory, vars, (s) => redactor.addSecret(s), controller.signal);
  try {
    const result = await multiStatus(inventory, async (cluster) => {
      const conn = await pool.get(cluster);
      if (conn.kind !== 'kubernetes') throw new Error(`${cluster} is not reached through its API (connection '${conn.kind}')`);
      return conn as KubernetesConnection;
    });
    const safe = redactor.redactKnown(result);
    if (json) process.stdout.write(JSON.stringify({ topology: inventory.topology, healthy: safe.healthy, clusters: safe.clusters }, null, 2) + '\n');
    else process.stdout.write(`${safe.lines.join('\n')}\n${safe.healthy ? 'mesh healthy' : 'mesh NOT healthy'}\n`);
    return safe.healthy ? ExitCode.ok : 1;
  } finally {
    await pool.closeAll();
  }
}

export function formatTable(rows: ClusterStatus[]): string {
  const head = ['CLUSTER', 'ROLE', 'API', 'SECRET', 'ENDPOINTS', 'MTLS', 'ROUTES', 'STATUS'];
  const body = rows.map((r) => [
    r.cluster,
    r.role,
    r.api.reachable ? r.api.version ?? 'up' : 'unreachable',
    r.secret ? (r.secret.present === undefined ? 'unknown' : r.secret.present ? (r.secret.authenticates && r.secret.canListServices && r.secret.canCreateSecrets === false ? 'working' : 'broken') : 'missing') : '-',
    r.endpoints ? (r.endpoints.error ? 'unknown' : r.endpoints.inSync ? `in sync (${r.endpoints.mode})` : `stale (${r.endpoints.stale.length})`) : '-',
    r.mtls ? (r.mtls.api === 'unknown' ? 'unknown' : r.mtls.api === 'none' ? 'off' : `${r.mtls.mode ?? '?'} (${r.mtls.api})`) : '-',
    r.routes ? (!r.routes.checked ? 'unchecked' : r.routes.missing.length ? `missing ${r.routes.missing.length}` : r.routes.unknown ? 'unknown' : 'converged') : '-',
    r.healthy ? 'healthy' : 'UNHEALTHY',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  const out = [line(head), ...body.map(line)];
  for (const r of rows) for (const reason of r.reasons) out.push(`${r.cluster}: ${reason}`);
  return out.join('\n') + '\n';
}

/** Clusters and nodes opened as a run opens them: one connection per host (ansible_connection honoured). */
function statusPool(inventory: Inventory, vars: (host: string) => Record<string, unknown>, secret: (s: string) => void, signal: AbortSignal): ConnectionPool {
  return new ConnectionPool({ inventory, acceptNewHostKeys: false, hostVars: vars, log: () => undefined, warn: () => undefined, secret, signal });
}

/** A kubernetes connection for a host outside the inventory (a remote secret's kubeconfig), with the same connector. */
async function connectHost(host: Host, vars: Record<string, unknown>, secret: (s: string) => void, signal: AbortSignal): Promise<KubernetesConnection> {
  const { connect } = await import('../connection/kubernetes.js');
  return connect({ host, vars, acceptNewHostKeys: false, log: () => undefined, warn: () => undefined, secret, signal });
}
