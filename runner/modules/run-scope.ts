// State one playbook run shares between its tasks and hosts, owned by the executor: the Runner makes one RunScope
// per run and hands it to every module as `ctx.run`, so nothing a run learns outlives it or leaks into the next
// run of the same process (tests, a long-lived caller). A module declares each slot it needs once, at module
// level, with a typed key; the key is a constant, the values live in the run's scope:
//
//     const recentRoutes = runSlot('ip_route_facts.recent', () => new Map<string, RecentRoutes>());
//     ...
//     ctx.run.get(recentRoutes).set(ctx.host.name, ...);
//
// Module-level `let`/`new Map` caches are only for pure memos of pure functions (same input, same output in any
// run: a parsed CIDR, a compiled regex or schema); anything read from a host, a file or an API belongs here.

/** A typed key of a RunScope: its name (for errors and debugging) and how a run makes its first value. */
export interface RunSlot<T> {
  readonly name: string;
  readonly init: () => T;
}

/** Declares a slot; call once at module level and keep the returned key (two calls are two distinct slots). */
export function runSlot<T>(name: string, init: () => T): RunSlot<T> {
  return Object.freeze({ name, init });
}

export class RunScope {
  private readonly values = new Map<RunSlot<unknown>, unknown>();

  /** This run's value of the slot, made by the slot's `init` on first use. */
  get<T>(slot: RunSlot<T>): T {
    if (this.values.has(slot)) return this.values.get(slot) as T;
    const v = slot.init();
    this.values.set(slot, v);
    return v;
  }
}
