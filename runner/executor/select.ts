// Which tasks run (tags, --start-at-task) and in which host batches (serial): Ansible's rules, pure functions.
import type { IncludeTask, MetaTask, ModuleTask, Play } from '../playbook/types.js';

/** Ansible's Taggable.evaluate_tags: a task without tags is 'untagged'; no --tags means 'all'. */
export function tagsSelect(taskTags: string[], only: string[], skip: string[]): boolean {
  const tags = taskTags.length ? taskTags : ['untagged'];
  const untagged = taskTags.length === 0;
  const has = (t: string) => tags.includes(t);
  const onlyTags = only.length ? only : ['all'];
  let run: boolean;
  if (has('always')) run = true;
  else if (onlyTags.includes('all') && !has('never')) run = true;
  else if (onlyTags.some(has)) run = true;
  else run = onlyTags.includes('tagged') && !untagged && !has('never');
  if (run && skip.length) {
    if (skip.includes('all')) run = has('always') && !skip.includes('always');
    else if (skip.some(has)) run = false;
    else if (skip.includes('tagged') && !untagged) run = false;
  }
  return run;
}

/** Tags and --start-at-task together: tasks before the named one are passed over, then tags decide. */
export class TaskSelection {
  private reached: boolean;
  constructor(private readonly o: { tags: string[]; skipTags: string[]; startAtTask?: string }) {
    this.reached = !o.startAtTask;
  }

  selected(task: ModuleTask | MetaTask | IncludeTask): boolean {
    if (!this.reached) {
      const at = this.o.startAtTask;
      if (task.kind === 'module' && task.name && (task.name === at || `${task.role?.name} : ${task.name}` === at)) this.reached = true;
      else return false;
    }
    return tagsSelect(task.tags, this.o.tags, this.o.skipTags);
  }
}

/** The host batches of a play's `serial` (numbers, percentages, or a list of either; the last size repeats). */
export function batches(hosts: string[], serial: Play['serial']): string[][] {
  if (serial === undefined || serial === null) return [hosts];
  const sizes = (Array.isArray(serial) ? serial : [serial]).map((s) => {
    if (typeof s === 'number') return Math.max(1, Math.floor(s));
    const m = /^(\d+(?:\.\d+)?)%$/.exec(String(s).trim());
    if (m) return Math.max(1, Math.floor((Number(m[1]) / 100) * hosts.length));
    const n = Number(s);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : hosts.length;
  });
  const out: string[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const size = sizes[Math.min(k++, sizes.length - 1)];
    out.push(hosts.slice(i, i + size));
    i += size;
  }
  return out;
}

/** Runs fn over items with at most `limit` in flight (--forks). */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}
