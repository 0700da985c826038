// Whether a value can be judged once: frozen, and nothing in it can answer differently later. The Redactor keeps its
// "nothing to mask" verdicts and the ndjson output its JSON text of such values (the probes a cluster's nodes share).

/**
 * Frozen and holding data properties only (a getter or setter of a frozen object may still answer differently each
 * time), every object among them accepted by `child`: the caller says what makes a child settled too (its own
 * verdict remembered, or the same test again).
 */
export function frozenData(value: object, child: (value: object) => boolean): boolean {
  if (!Object.isFrozen(value)) return false;
  const descriptors = Object.getOwnPropertyDescriptors(value) as Record<string, PropertyDescriptor>;
  for (const key in descriptors) {
    const d = descriptors[key]!;
    if (d.get || d.set) return false;
    const v: unknown = d.value;
    if (v !== null && typeof v === 'object' && !child(v)) return false;
  }
  return true;
}
