// A run's dealings with a saved plan, through the one hook the executor calls with every task's plan on every
// host (runner/executor/task.ts), before it decides whether to apply:
//   PlanRecorder (--check --plan-out FILE) keeps each plan as a PlanEntry;
//   PlanFollower (--plan FILE) lets a task apply only the change the saved plan holds for it.
// The facts each plan was read from are checked before the first write by checkFingerprints (fingerprints.ts).
import { relative } from 'node:path';
import type { ModuleTask } from '../playbook/types.js';
import type { Plan } from '../modules/types.js';
import { digestOf, fingerprintId, PLAN_FORMAT, type PlanEntry, type PlanFile } from './file.js';

export interface TaskRef {
  task: ModuleTask;
  host: string;
  module: string;
}

/** Called by the executor with each plan, before applying; throws PlanDriftError to refuse the task. */
export interface PlanHook {
  planned(ref: TaskRef, plan: Plan<unknown>): void;
}

/** A task whose change is not the one the saved plan holds (or that the plan says makes none). */
export class PlanDriftError extends Error {}

/** What apply must send, as compared between a plan and its apply: the module's stable `changes`, else its data. */
const changesOf = (plan: Plan<unknown>) => (plan.changes !== undefined ? plan.changes : plan.data);

const taskLabel = (t: ModuleTask) => {
  const base = t.name ?? t.module;
  return t.role ? `${t.role.name} : ${base}` : base;
};

/** Keys tasks by their definition's place and their n-th run on the host (loops, roles listed twice). */
class TaskKeys {
  private readonly seen = new Map<string, number>();
  constructor(private readonly root: string) {}
  next(ref: TaskRef): string {
    const p = ref.task.position;
    const where = p ? `${relative(this.root, p.file) || p.file}:${p.line}:${p.column}` : taskLabel(ref.task);
    const id = `${ref.host}\0${where}`;
    const n = (this.seen.get(id) ?? 0) + 1;
    this.seen.set(id, n);
    return `${where}#${n}`;
  }
}

export class PlanRecorder implements PlanHook {
  readonly entries: PlanEntry[] = [];
  private readonly keys: TaskKeys;
  private changePlanned = false;
  constructor(root: string, readonly salt: string) {
    this.keys = new TaskKeys(root);
  }

  planned(ref: TaskRef, plan: Plan<unknown>): void {
    const action = plan.unpredictable ? 'unpredictable' : plan.changed ? 'change' : 'none';
    this.entries.push({
      key: this.keys.next(ref),
      host: ref.host,
      task: taskLabel(ref.task),
      module: ref.module,
      action,
      ...(plan.msg ? { msg: plan.msg } : {}),
      ...(action === 'change' && plan.diff?.length ? { diff: plan.diff } : {}),
      ...(action !== 'unpredictable' ? { digest: digestOf(this.salt, changesOf(plan)) } : {}),
      fingerprints: plan.fingerprints ?? [],
      ...(this.changePlanned ? { after_change: true } : {}),
    });
    if (action !== 'none') this.changePlanned = true;
  }

  /** The plan file (still to be masked by the run's redactor before it is written). */
  file(meta: { version: string; inputs: PlanFile['inputs'] }): PlanFile {
    const fingerprints = new Map<string, PlanFile['fingerprints'][number]>();
    const hosts: PlanFile['summary']['hosts'] = {};
    for (const e of this.entries) {
      for (const f of e.fingerprints) if (!fingerprints.has(fingerprintId(f))) fingerprints.set(fingerprintId(f), { ...f, read_by: `${e.host} ${e.key}` });
      const h = (hosts[e.host] ??= { changes: 0, unpredictable: 0 });
      if (e.action === 'change') h.changes++;
      if (e.action === 'unpredictable') h.unpredictable++;
    }
    const total = (k: 'changes' | 'unpredictable') => Object.values(hosts).reduce((n, h) => n + h[k], 0);
    return {
      format: PLAN_FORMAT,
      meshplay: meta.version,
      created: new Date().toISOString(),
      salt: this.salt,
      inputs: meta.inputs,
      fingerprints: [...fingerprints.values()],
      tasks: this.entries,
      summary: { changes: total('changes'), unpredictable: total('unpredictable'), hosts },
    };
  }
}

/**
 * Applies a saved plan: a task may change only what its entry says, with the same digest. A change already made
 * (an earlier task of this run made the same object) is fine. Until this run has made its first change, a task
 * that would change what the plan does not hold (or change where the plan says nothing changes) is refused. After
 * it, a task the check planned after an earlier planned change (`after_change`), or did not reach (skipped
 * because what it needs did not exist yet under --check), follows its plan of the moment and is named in `followed`:
 * its plan rested on state only the earlier changes create. Unpredictable tasks (command, shell) run as in any run.
 */
export class PlanFollower implements PlanHook {
  readonly refused: string[] = [];
  readonly followed: string[] = [];
  private readonly keys: TaskKeys;
  private readonly byKey = new Map<string, PlanEntry>();
  private changed = false;
  constructor(root: string, private readonly saved: PlanFile) {
    this.keys = new TaskKeys(root);
    for (const e of saved.tasks) this.byKey.set(`${e.host}\0${e.key}`, e);
  }

  planned(ref: TaskRef, plan: Plan<unknown>): void {
    const key = this.keys.next(ref);
    const entry = this.byKey.get(`${ref.host}\0${key}`);
    if (plan.unpredictable || entry?.action === 'unpredictable') {
      this.changed = true;
      return;
    }
    if (!plan.changed) return;
    const what = `${ref.host}: ${taskLabel(ref.task)} (${key})`;
    let why: string | undefined;
    if (!entry) why = `is not in the plan, and would now change: ${plan.msg ?? 'something'}`;
    else if (entry.action === 'none') why = `was planned to change nothing, and would now change: ${plan.msg ?? 'something'}`;
    else if (entry.digest !== digestOf(this.saved.salt, changesOf(plan))) why = `would now change something else than planned (planned: ${entry.msg ?? 'a change'}; now: ${plan.msg ?? 'a change'})`;
    if (why && this.changed && (!entry || entry.after_change)) {
      this.followed.push(`${what}: ${plan.msg ?? 'a change'}`);
      why = undefined;
    }
    if (!why) {
      this.changed = true;
      return;
    }
    this.refused.push(`${what} ${why}`);
    throw new PlanDriftError(`refused by the saved plan: this task ${why}; nothing of it was applied. Make a new plan (--check --plan-out)`);
  }
}
