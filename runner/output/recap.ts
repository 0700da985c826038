// PLAY RECAP counting, exactly as Ansible's strategy counts (lib/ansible/plugins/strategy/__init__.py).
import { emptyStats, type HostStats, type HostStatus } from './events.js';

/**
 * Counts one task result for a host:
 * - changed: ok and changed
 * - ignored (a failure under ignore_errors, or unreachable under ignore_unreachable): ok and ignored,
 *   plus changed when the failed result still reported a change
 * - rescued (a failure handled by a block's rescue): rescued only, the host is not failed
 * - unreachable, skipped, failed: their own counter
 * Every host that got a result appears in the recap, even with all zeros.
 */
export function tally(
  stats: Record<string, HostStats>,
  host: string,
  status: HostStatus,
  changed = false,
): HostStats {
  const s = (stats[host] ??= emptyStats());
  switch (status) {
    case 'ok':
      s.ok++;
      break;
    case 'changed':
      s.ok++;
      s.changed++;
      break;
    case 'ignored':
      s.ok++;
      s.ignored++;
      if (changed) s.changed++;
      break;
    case 'rescued':
      s.rescued++;
      break;
    case 'unreachable':
      s.unreachable++;
      break;
    case 'skipped':
      s.skipped++;
      break;
    case 'failed':
      s.failed++;
      break;
  }
  return s;
}

/** Whether a host's run went wrong (for the exit code and the recap colour). */
export function hostFailed(s: HostStats): boolean {
  return s.failed > 0 || s.unreachable > 0;
}
