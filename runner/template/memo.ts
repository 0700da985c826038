// Shares one render of a template between hosts when it would come out the same: a task that reads the facts
// of every node on every node (the routes role's peers) would otherwise render hosts x hosts values.
// A render is reused only when the template reads nothing but variables (see readsOnlyVariables), every
// variable it read has the identical value (Object.is) for the next host, and nothing any host can see has
// changed since (the executor calls invalidate() whenever facts or registered results change).

interface Entry {
  generation: number;
  /** Top-level variables the render read, in order, with the values it saw. */
  reads: Array<[string, unknown]>;
  value: unknown;
}

export class RenderMemo {
  private generation = 0;
  private readonly entries = new WeakMap<object, Entry>();
  hits = 0;

  /** Facts, registered results or other state a template can read changed: forget every render. */
  invalidate(): void {
    this.generation++;
  }

  /**
   * The remembered value when `vars` holds the same values for everything the earlier render read. Reads in
   * the render's own order and stops at the first difference, so it evaluates no variable the render itself
   * would not have.
   */
  lookup(key: object, vars: Record<string, unknown>): { value: unknown } | undefined {
    const e = this.entries.get(key);
    if (!e || e.generation !== this.generation) return undefined;
    for (const [name, seen] of e.reads) {
      let now: unknown;
      try {
        now = vars[name];
      } catch {
        return undefined; // the full render reports it, with its context
      }
      if (!Object.is(now, seen)) return undefined;
    }
    this.hits++;
    return { value: e.value };
  }

  remember(key: object, reads: Array<[string, unknown]>, value: unknown): void {
    // A shared value reaches several hosts' tasks: nothing may mutate it. The test suite freezes every one
    // (MESHPLAY_FREEZE_SHARED_RENDERS=1, set by scripts/run-tests.mjs) so a module that does fails loudly there.
    if (freezeShared) deepFreeze(value);
    this.entries.set(key, { generation: this.generation, reads, value });
  }
}

const freezeShared = process.env.MESHPLAY_FREEZE_SHARED_RENDERS === '1';

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}
