// Lab helpers for tests: whether a developer's lab (`meshplay lab up`, default state dir) is running (a test that
// would replace it skips instead of destroying someone's work), a netns-only lab in a temp dir, and its managed routes.
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import type { Test } from 'tap';
import { labDown, labUp, nodeExec } from '../../lab/cli.js';
import { join } from 'node:path';
import { LAB_NS } from '../../lab/spec.js';
import { STATE_DIR, type LabState } from '../../lab/state.js';
import { labNamespaces } from '../../lab/net.js';
import { parse } from 'yaml';
import { connectTo } from './kube.js';
import type { KubernetesConnection } from '../../runner/connection/kubernetes.js';

export async function developerLabRunning(): Promise<boolean> {
  const file = join(STATE_DIR, 'state.json');
  if (!existsSync(file)) return false;
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as LabState;
    const pidsAlive = state.nodes.some((n) => n.sshdPid !== undefined && existsSync(`/proc/${n.sshdPid}`));
    return pidsAlive && (await labNamespaces()).includes(LAB_NS);
  } catch {
    return false;
  }
}

export interface NodeLab {
  up: Awaited<ReturnType<typeof labUp>>;
  opts: { stateDir: string; inventoryFile: string };
}

/**
 * A lab of netns nodes only (sshd + BIRD, no API servers) in its own temp state dir, taken down when `t` ends.
 * `name` marks the temp dir (mpl-NAME-...).
 */
export async function nodeLab(t: Test, name: string, shape: { clusters: number; nodes: number }): Promise<NodeLab> {
  const stateDir = await mkdtemp(join(tmpdir(), `mpl-${name}-`));
  const opts = { stateDir, inventoryFile: join(stateDir, 'inventory', 'lab.yml') };
  t.teardown(async () => {
    await labDown({ ...opts, kube: false }).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });
  return { up: await labUp({ ...opts, ...shape, kube: false }), opts };
}

export interface ClusterLab {
  stateDir: string;
  inventoryFile: string;
  /** The inventory the lab wrote, parsed. */
  inventory: any;
  /** An admin connection per cluster, by name (closed when `t` ends). */
  conns: Record<string, KubernetesConnection>;
}

/**
 * A full lab (netns nodes with sshd + BIRD, real API servers) in its own temp state dir, with an admin connection
 * to each cluster; everything is closed and taken down when `t` ends. `name` marks the temp dir (mpl-NAME-...).
 */
export async function clusterLab(t: Test, name: string, shape: { clusters: number; nodes: number }): Promise<ClusterLab> {
  const stateDir = await mkdtemp(join(tmpdir(), `mpl-${name}-`));
  const inventoryFile = join(stateDir, 'inventory', 'lab.yml');
  const conns: Record<string, KubernetesConnection> = {};
  t.teardown(async () => {
    for (const c of Object.values(conns)) await c.close().catch(() => undefined);
    await labDown({ stateDir, inventoryFile }).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });
  await labUp({ stateDir, inventoryFile, ...shape });
  const inventory = parse(readFileSync(inventoryFile, 'utf8'));
  for (const c of inventory.clusters) conns[c.name] = await connectTo(c.name, { kubeconfig: c.api.kubeconfig, context: c.api.context });
  return { stateDir, inventoryFile, inventory, conns };
}

/** The routes meshplay manages on a lab node (proto 201), as `dest via gateway`, sorted. */
export async function managedRoutes(node: string, opts: NodeLab['opts']): Promise<string[]> {
  const r = await nodeExec(node, ['ip', '-j', '-4', 'route', 'show', 'proto', '201'], opts);
  if (r.exitCode !== 0) throw new Error(`ip route on ${node}: ${r.stderr}`);
  return (JSON.parse(r.stdout || '[]') as Array<{ dst: string; gateway?: string }>).map((x) => `${x.dst} via ${x.gateway}`).sort();
}
