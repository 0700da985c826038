// `target.push(...items)` passes every item as an argument: past about 100,000 items (a big host group, a long
// task list, many problems) it overflows the stack. Data whose size the input decides is appended with this.

/** Appends `items` to `target` one by one; returns `target`. */
export function append<T>(target: T[], items: Iterable<T>): T[] {
  for (const item of items) target.push(item);
  return target;
}
