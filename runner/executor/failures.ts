// Which hosts still take part, and when a failure stops more than its host: Ansible's failure policy.
// Failed and unreachable hosts leave the play; at the end of a batch they leave the run (later plays and
// batches); any_errors_fatal and max_fail_percentage stop the run.
import type { Play, Task } from '../playbook/types.js';

/** A set that counts its changes, so views computed from it know when they are stale. */
class CountedSet extends Set<string> {
  constructor(private readonly changed: () => void) {
    super();
  }
  override add(v: string): this {
    if (!this.has(v)) this.changed();
    return super.add(v);
  }
  override delete(v: string): boolean {
    const had = super.delete(v);
    if (had) this.changed();
    return had;
  }
  override clear(): void {
    if (this.size) this.changed();
    super.clear();
  }
}

export class HostStates {
  /** Bumped by every change to the sets below. */
  private version = 0;
  private readonly bump = () => void this.version++;
  /** Per batch: hosts whose play has ended (failed, unreachable, meta: end_host / end_play). */
  readonly failed = new CountedSet(this.bump);
  readonly unreachable = new CountedSet(this.bump);
  readonly ended = new CountedSet(this.bump);
  /** Hosts that failed or were unreachable in an earlier play or batch: no part in the rest of the run. */
  private readonly gone = new CountedSet(this.bump);
  private readonly views = new WeakMap<string[], { version: number; hosts: readonly string[] }>();

  /** A new batch: its hosts start clean (except those gone for good). */
  startBatch(): void {
    this.failed.clear();
    this.unreachable.clear();
    this.ended.clear();
  }

  active(hosts: string[]): string[] {
    return hosts.filter((h) => !this.failed.has(h) && !this.unreachable.has(h) && !this.ended.has(h) && !this.gone.has(h));
  }

  /**
   * active(hosts) kept until a host's state changes: every host's variables carry play_hosts and
   * ansible_play_batch, and filtering the play's hosts for each of them was hosts x hosts per task.
   * Frozen, as it is shared between hosts.
   */
  activeView(hosts: string[]): readonly string[] {
    const v = this.views.get(hosts);
    if (v && v.version === this.version) return v.hosts;
    const fresh = Object.freeze(this.active(hosts));
    this.views.set(hosts, { version: this.version, hosts: fresh });
    return fresh;
  }

  /** Ends a batch; true when none of its hosts is left, so no later batch or play runs (Ansible's playbook executor). */
  endBatch(batch: string[]): boolean {
    for (const h of batch) if (this.failed.has(h) || this.unreachable.has(h)) this.gone.add(h);
    return batch.every((h) => this.gone.has(h));
  }
}

/**
 * After a task: whether its failures stop the run, and why (the warning shown). A failure a rescue will handle
 * is not judged here (the caller passes only tasks outside rescuable blocks).
 */
export function fatalFailure(task: Task, play: Play, hosts: string[], batch: string[], states: HostStates): string | undefined {
  const failedNow = hosts.filter((h) => states.failed.has(h));
  if (failedNow.length === 0) return undefined;
  if (task.any_errors_fatal || play.any_errors_fatal) return `any_errors_fatal: stopping the run after a failure on ${failedNow.join(', ')}`;
  const pct = play.max_fail_percentage;
  if (pct === undefined) return undefined;
  const failedInBatch = batch.filter((h) => states.failed.has(h) || states.unreachable.has(h)).length;
  if ((failedInBatch / batch.length) * 100 > pct) return `max_fail_percentage ${pct}% exceeded (${failedInBatch}/${batch.length} hosts failed); stopping the run`;
  return undefined;
}
