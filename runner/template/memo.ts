// Shares one render of a template between hosts when it would come out the same: a task that reads the facts
// of every node on every node (the routes role's peers) would otherwise render hosts x hosts values.
// A render is reused only when the template reads nothing but variables (see readsOnlyVariables), every
// variable it read has the identical value (Object.is) for the next host, and every other host's variable it
// read through `hostvars` is still the identical value. The executor calls invalidate() at play starts and for
// include_vars and clear_facts (state no read records); a task start only rebuilds the hostvars views.
// Facts and registered results of one host do not invalidate: a render that read them through hostvars finds
// the new value on its next check (before, every registered result forgot every shared render, and a converged
// run re-rendered the peers list on each of 256 nodes). That check covers only the hosts whose hostvars view
// was rebuilt since the render was last found valid (viewRebuilt, allViewsRebuilt): a view caches each value it
// renders and is replaced, never changed, when its host's variables change, so a host whose view is the same
// still shows every value the render saw. Checking all 256 nodes' reads on each of 256 nodes was 65,536
// hostvars reads per task.

import { floatsMarked, readFloat } from './float.js';

/**
 * Read of another host's variable through `hostvars`: `get` saw `value`; `has` (the `in` operator) and `own`
 * (hasOwnProperty) saw whether it exists.
 */
type HostRead = [host: string, name: string, value: unknown, kind: 'get' | 'has' | 'own'];

interface Recorder {
  hostReads: HostRead[];
  /** Something enumerated a host's variables: the reads cannot be listed, the render is not shared. */
  unshareable: boolean;
}

/** In the log of rebuilt views: every host's (no host name holds a NUL). */
const ALL_HOSTS = '\0all';

/** Renders in progress that may be shared, innermost last: a read counts for every one of them. */
const recording: Recorder[] = [];

export function startRecording(): Recorder {
  const r: Recorder = { hostReads: [], unshareable: false };
  recording.push(r);
  return r;
}

export function stopRecording(r: Recorder): void {
  const i = recording.lastIndexOf(r);
  if (i >= 0) recording.splice(i, 1);
}

/** Called by the `hostvars` view (runner/executor/scopes.ts) for every read of another host's variable. */
export function recordHostRead(host: string, name: string, value: unknown, kind: HostRead[3]): void {
  for (const r of recording) r.hostReads.push([host, name, value, kind]);
}

export function recordUnshareable(): void {
  for (const r of recording) r.unshareable = true;
}

interface Entry {
  generation: number;
  /** viewChanges.length when the entry's host reads were last found valid. */
  checked: number;
  /** Top-level variables the render read, in order, with the values it saw. */
  reads: Array<[string, unknown]>;
  hostReads: HostRead[];
  value: unknown;
}

export class RenderMemo {
  private generation = 0;
  private readonly entries = new WeakMap<object, Entry>();
  /** Hosts whose hostvars view was rebuilt since the last invalidate(), in order (a host once per rebuild). */
  private viewChanges: string[] = [];
  hits = 0;

  /** State a template can read changed in a way no read records (a new play, include_vars): forget every render. */
  invalidate(): void {
    this.generation++;
    this.viewChanges = [];
  }

  /**
   * A host's hostvars view was replaced (its facts or registered results changed): renders that read it check
   * their reads of that host again. The owner of the views (executor/scopes.ts) must call this on every rebuild;
   * a view that changed without it would be taken as unchanged.
   */
  viewRebuilt(host: string): void {
    this.viewChanges.push(host);
  }

  /**
   * Every hostvars view was replaced (a task starts: the views' play_hosts and the like are taken again), nothing
   * else: a render is still shared when every variable it read, of its host and through hostvars, is the same
   * value. The routes role's peers list, read by two tasks in a row on 256 nodes, was rendered by each.
   */
  allViewsRebuilt(): void {
    this.viewChanges.push(ALL_HOSTS);
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
        if (floatsMarked && now !== undefined) now = readFloat(vars, name, now); // as RenderContext.lookup saw it
      } catch {
        return undefined; // the full render reports it, with its context
      }
      if (!Object.is(now, seen)) return undefined;
    }
    if (e.hostReads.length && e.checked !== this.viewChanges.length) {
      const rebuilt = new Set<string>();
      for (let i = e.checked; i < this.viewChanges.length; i++) rebuilt.add(this.viewChanges[i]!);
      const all = rebuilt.has(ALL_HOSTS);
      let hostvars: Record<string, Record<string, unknown> | undefined>;
      try {
        hostvars = vars.hostvars as typeof hostvars;
        for (const [host, name, seen, kind] of e.hostReads) {
          if (!all && !rebuilt.has(host)) continue;
          const scope = hostvars[host];
          const now =
            kind === 'get'
              ? scope && (floatsMarked ? readFloat(scope, name, scope[name]) : scope[name])
              : scope !== undefined && (kind === 'has' ? name in scope : Object.prototype.hasOwnProperty.call(scope, name));
          if (!Object.is(now, seen)) return undefined;
        }
      } catch {
        return undefined;
      }
      e.checked = this.viewChanges.length; // the views as they are now show what the render saw
    }
    this.hits++;
    return { value: e.value };
  }

  remember(key: object, reads: Array<[string, unknown]>, value: unknown, hostReads: HostRead[] = []): void {
    // A shared value reaches several hosts' tasks: nothing may mutate it. The test suite freezes every one
    // (MESHPLAY_FREEZE_SHARED_RENDERS=1, set by scripts/run-tests.mjs) so a module that does fails loudly there.
    if (freezeShared) deepFreeze(value);
    this.entries.set(key, { generation: this.generation, checked: this.viewChanges.length, reads, hostReads: dedupe(hostReads), value });
  }
}

const freezeShared = process.env.MESHPLAY_FREEZE_SHARED_RENDERS === '1';

function deepFreeze(value: unknown): void {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return;
  Object.freeze(value);
  for (const v of Object.values(value)) deepFreeze(v);
}

/** One check per distinct read: a render reads hostvars[h].x once per use, checking it once is enough. */
function dedupe(reads: HostRead[]): HostRead[] {
  if (reads.length < 2) return reads;
  const seen = new Map<string, Set<string>>();
  const out: HostRead[] = [];
  for (const r of reads) {
    const key = `${r[3]}\0${r[1]}`;
    let names = seen.get(r[0]);
    if (!names) seen.set(r[0], (names = new Set()));
    if (names.has(key)) continue;
    names.add(key);
    out.push(r);
  }
  return out;
}
