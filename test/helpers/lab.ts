// Whether a developer's lab (started with `meshplay lab up`, default state dir) is running: a test that would
// replace it skips instead of destroying someone's work.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { LAB_NS } from '../../lab/spec.js';
import { STATE_DIR, type LabState } from '../../lab/state.js';
import { labNamespaces } from '../../lab/net.js';

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
