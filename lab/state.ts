// Where the lab keeps its files, and state.json: what `up` built, so `down`, `status` and a
// later `up` know exactly what is theirs.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabShape, LabSpec } from './spec.js';

function findRepoRoot(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'lab'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return resolve(start, '..');
    dir = parent;
  }
}

export const REPO_ROOT = findRepoRoot(dirname(fileURLToPath(import.meta.url)));
export const STATE_DIR = join(REPO_ROOT, '.lab');
export const INVENTORY_FILE = join(REPO_ROOT, 'inventory', 'lab.yml');

export interface NodePaths {
  dir: string;
  sshdConfig: string;
  sshdPid: string;
  sshdLog: string;
  hostKey: string;
  birdConfig: string;
  birdSocket: string;
  birdPid: string;
  birdLog: string;
  upScript: string;
}

export function nodePaths(stateDir: string, node: string): NodePaths {
  const dir = join(stateDir, 'nodes', node);
  return {
    dir,
    sshdConfig: join(dir, 'sshd_config'),
    sshdPid: join(dir, 'sshd.pid'),
    sshdLog: join(dir, 'sshd.log'),
    hostKey: join(dir, 'ssh_host_ed25519_key'),
    birdConfig: join(dir, 'bird.conf'),
    birdSocket: join(dir, 'bird.ctl'),
    birdPid: join(dir, 'bird.pid'),
    birdLog: join(dir, 'bird.log'),
    upScript: join(dir, 'up.sh'),
  };
}

export function labPaths(stateDir: string) {
  return {
    stateFile: join(stateDir, 'state.json'),
    clientKey: join(stateDir, 'id_ed25519'),
    authorizedKeys: join(stateDir, 'authorized_keys'),
    knownHosts: join(stateDir, 'known_hosts'),
    /** Root namespace neighbour-table limits as they were before the lab raised them. */
    neighLimits: join(stateDir, 'neigh-limits.json'),
  };
}

export interface NodeState {
  name: string;
  cluster: string;
  address: string;
  podBlock: string;
  podAddress: string;
  namespace: string;
  podNamespace: string;
  /** Host end of the pod veth in the node namespace. */
  caliLink: string;
  /** Bridge port in the lab namespace. */
  bridgePort: string;
  sshdPid?: number;
  birdPid?: number;
}

export type LabTopology = 'single-control-plane' | 'multi-control-plane' | 'separate-meshes';

export interface LabState {
  version: 1;
  createdAt: string;
  shape: LabShape;
  /** The lab network, e.g. 10.213.0.0/16. */
  subnet: string;
  rootAddress: string;
  gatewayAddress: string;
  labNamespace: string;
  rootLink: string;
  spec: LabSpec;
  nodes: NodeState[];
  /** Per-cluster API settings returned by the kube lab, when it ran. */
  api?: Record<string, unknown>;
  /** Istio topology the lab was seeded for. */
  topology?: LabTopology;
  /** Debug endpoint (host:port) of each running lab Pilot, by cluster. */
  pilots?: Record<string, string>;
  /** URL of each remote cluster's sidecar injector (lab/injector.ts), given to meshplay as istio_sidecar_injector_url. */
  injectorUrls?: Record<string, string>;
}

export async function readState(stateDir: string): Promise<LabState | undefined> {
  try {
    const state = JSON.parse(await readFile(labPaths(stateDir).stateFile, 'utf8')) as LabState;
    return state.version === 1 ? state : undefined;
  } catch {
    return undefined;
  }
}

export async function writeState(stateDir: string, state: LabState): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const file = labPaths(stateDir).stateFile;
  await writeFile(`${file}.tmp`, JSON.stringify(state, null, 2) + '\n');
  await rename(`${file}.tmp`, file);
}
