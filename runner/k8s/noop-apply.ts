// Decides, from the live object alone, that a server-side apply would change nothing, so a converged run can skip
// the dry-run request it otherwise sends per object. It answers "no-op" only when that is certain:
//   1. every value the desired object sets is already live (maps the manager owns field by field, and keyed
//      lists, may hold more that others set or the server defaulted; other maps and lists must be equal), and
//   2. the field manager's Apply entry in managedFields (same apiVersion) owns no field or keyed list element that
//      the desired object dropped: the apply would remove it.
// Whatever it cannot prove (no Apply entry, another apiVersion, sets, values the server would normalise, a keyed
// list in another order) returns false, and the caller asks the server with a dry-run as before.
import type { KubeObject } from './objects.js';
import { deepEqual } from './objects.js';

/** A managedFields fieldsV1 set: `f:<field>`, `k:<key JSON>` (keyed list element), `v:<value>`, `.` (the element itself). */
type Fields = Record<string, unknown>;

interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  fieldsType?: string;
  fieldsV1?: Fields;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function parseKey(k: string): Record<string, unknown> | undefined {
  try {
    const key = JSON.parse(k.slice(2));
    return isMap(key) ? key : undefined;
  } catch {
    return undefined;
  }
}

const matchesKey = (element: unknown, key: Record<string, unknown>) => isMap(element) && Object.entries(key).every(([f, v]) => deepEqual(element[f], v));

/** A keyed list: desired elements map one-to-one onto the owned `k:` entries and appear in live in the same order. */
function keyedListUnchanged(desired: unknown[], live: unknown, fields: Fields): boolean {
  if (!Array.isArray(live)) return false;
  const keys = Object.keys(fields).filter((k) => k !== '.');
  if (keys.length !== desired.length || !keys.every((k) => k.startsWith('k:'))) return false;
  const parsed = keys.map((k) => ({ k, key: parseKey(k) }));
  let lastIndex = -1;
  for (const element of desired) {
    const owned = parsed.filter((p) => p.key && matchesKey(element, p.key));
    if (owned.length !== 1) return false;
    const at = live.findIndex((l) => matchesKey(l, owned[0]!.key!));
    if (at <= lastIndex || live.filter((l) => matchesKey(l, owned[0]!.key!)).length !== 1) return false;
    lastIndex = at;
    const sub = fields[owned[0]!.k];
    if (!unchanged(element, live[at], isMap(sub) ? sub : undefined)) return false;
  }
  return true;
}

/**
 * Applying `desired` over `live` leaves it as it is, given what the manager owns there (`fields`; undefined
 * where it owns nothing yet).
 */
export function unchanged(desired: unknown, live: unknown, fields: Fields | undefined): boolean {
  if (isMap(desired)) {
    if (!isMap(live)) return false;
    // Owned as one value (an atomic map), or not owned yet: without the schema a map might be atomic (a Service
    // selector, a nodeSelector) and the apply would replace it whole, so only an equal map proves nothing changes.
    if (!fields || Object.keys(fields).length === 0) return deepEqual(desired, live);
    for (const key of Object.keys(fields)) {
      if (key === '.') continue;
      // a field we own but no longer set would be removed; list keys at a map level are not provable
      if (!key.startsWith('f:') || desired[key.slice(2)] === undefined) return false;
    }
    return Object.entries(desired).every(([k, v]) => {
      if (v === undefined) return true;
      if (!(k in live)) return false;
      const sub = fields[`f:${k}`];
      return unchanged(v, live[k], isMap(sub) ? sub : undefined);
    });
  }
  if (Array.isArray(desired) && fields && Object.keys(fields).some((k) => k.startsWith('k:'))) {
    return keyedListUnchanged(desired, live, fields);
  }
  // scalars, atomic lists, sets: equal as a whole
  return deepEqual(desired, live);
}

/** True only when applying `desired` as `fieldManager` is certain to leave `live` unchanged. */
export function applyIsNoop(live: KubeObject, desired: KubeObject, fieldManager: string): boolean {
  const entries = ((live.metadata as { managedFields?: ManagedFieldsEntry[] } | undefined)?.managedFields ?? []).filter(
    (e) => e.manager === fieldManager && e.operation === 'Apply',
  );
  if (entries.length !== 1) return false;
  const entry = entries[0]!;
  if (entry.apiVersion !== desired.apiVersion || entry.fieldsType !== 'FieldsV1' || !isMap(entry.fieldsV1)) return false;
  if (live.apiVersion !== undefined && live.apiVersion !== desired.apiVersion) return false;
  if (live.kind !== undefined && live.kind !== desired.kind) return false;
  const { apiVersion: _a, kind: _k, ...body } = desired;
  return unchanged(body, live, entry.fieldsV1);
}
