// Handler notifications: which hosts notified which name, and which handlers a flush runs where.
// A handler answers to its name, its `listen` topics and "role : name" (Ansible's handler lookup).
import type { Handler, Play } from '../playbook/types.js';

export class Notifications {
  private notified = new Map<string, Set<string>>();

  notify(names: string[], hosts: string[]): void {
    for (const n of names) {
      const set = this.notified.get(n) ?? new Set();
      for (const h of hosts) set.add(h);
      this.notified.set(n, set);
    }
  }

  /** A new batch forgets what the previous one notified. */
  reset(): void {
    this.notified = new Map();
  }

  /**
   * Takes the pending notifications: each notified handler of the play (in the play's order, role handlers first as
   * the loader lists them) with the hosts that notified it. The caller runs them in turn on those hosts still
   * active then (a host that fails in one handler runs no later one).
   */
  take(play: Play): { handler: Handler; hosts: Set<string> }[] {
    if (this.notified.size === 0) return [];
    const notified = this.notified;
    this.notified = new Map();
    const out: { handler: Handler; hosts: Set<string> }[] = [];
    for (const h of play.handlers as Handler[]) {
      const names = [h.name, ...h.listen, h.role && h.name ? `${h.role.name} : ${h.name}` : undefined].filter((n): n is string => !!n);
      const targets = new Set<string>();
      for (const n of names) for (const host of notified.get(n) ?? []) targets.add(host);
      if (targets.size) out.push({ handler: h, hosts: targets });
    }
    return out;
  }
}
