// Int keys of mappings written in YAML ({1: a}). JavaScript objects have text keys, so the loaded mapping has
// the key '1'; Python keeps the int 1: `1 in m` is true and `'1' in m` false, m.get('1') misses, keys() and
// dict2items give 1, repr and to_yaml write it unquoted (to_json writes "1", as Python's json does). The YAML
// loader (runner/yaml/source.ts) keeps a side record of which keys of which mapping were ints, and the template
// engine honours it where it asks a mapping for a key or lists its keys. A mapping without a record (every
// mapping no YAML int key was written in: facts, results, filter outputs, copies) behaves as before.

/** Per mapping, its keys (as JavaScript has them: '1') that are Python ints. */
const intKeys = new WeakMap<object, Set<string>>();

/** Whether any mapping has an int key: until one has, nothing below costs anything. */
export let intKeysMarked = false;

export function markIntKey(mapping: object, key: string): void {
  intKeysMarked = true;
  let keys = intKeys.get(mapping);
  if (!keys) intKeys.set(mapping, (keys = new Set()));
  keys.add(key);
}

/** A copy of a mapping (same keys) answers as the mapping does. */
export function shareIntKeys(copy: object, mapping: object): void {
  const keys = intKeysMarked ? intKeys.get(mapping) : undefined;
  if (keys) intKeys.set(copy, keys);
}

function recordOf(mapping: object): Set<string> | undefined {
  return intKeysMarked ? intKeys.get(mapping) : undefined;
}

/** A key as Python has it: the number for an int key. */
export function pyKey(mapping: object, key: string): string | number {
  return recordOf(mapping)?.has(key) ? Number(key) : key;
}

/** keys(): the int keys as numbers. */
export function pyKeys(mapping: object): Array<string | number> {
  const keys = Object.keys(mapping);
  const ints = recordOf(mapping);
  return ints ? keys.map((k) => (ints.has(k) ? Number(k) : k)) : keys;
}

/** items(): the int keys as numbers. */
export function pyEntries(mapping: Record<string, unknown>): Array<[string | number, unknown]> {
  const entries = Object.entries(mapping);
  const ints = recordOf(mapping);
  return ints ? entries.map(([k, v]) => [ints.has(k) ? Number(k) : k, v]) : entries;
}

/**
 * The JavaScript key a Python lookup of `needle` finds in a mapping with int keys, or undefined: the int 1
 * finds the int key 1, the text '1' does not (and the other way round). `undefined` as the answer for a mapping
 * without int keys means "ask as before" (null is never returned there).
 */
export function intKeyLookup(mapping: object, needle: unknown): { key: string | undefined } | undefined {
  const ints = recordOf(mapping);
  if (!ints) return undefined;
  const n = needle !== null && typeof needle === 'object' && typeof needle.valueOf() === 'number' ? needle.valueOf() : needle; // a PyFloat: 1.0 == 1
  const key = typeof n === 'number' ? String(n) : String(needle);
  const found = Object.prototype.hasOwnProperty.call(mapping, key) && ints.has(key) === (typeof n === 'number');
  return { key: found ? key : undefined };
}

/** Whether a mapping has int keys (repr, to_yaml and sorting write them as numbers). */
export function hasIntKeys(mapping: object): boolean {
  return recordOf(mapping) !== undefined;
}
