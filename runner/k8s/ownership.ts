// What meshplay owns on a cluster, and how it gives it back. One rule for every module and role:
//
// - CREATED: an object meshplay's apply created carries the label `meshplay.io/created-by=meshplay` (with
//   `app.kubernetes.io/managed-by=meshplay` and `meshplay.io/owner`). The mark is put only on an object the plan
//   saw absent, and taken off again when the create turned out to land on an object someone made meanwhile.
//   Uninstall and prune delete objects carrying this mark, and nothing else.
// - ADOPTED: an object that existed before meshplay is never marked created. Meshplay applies its fields (server-side
//   apply, field manager `meshplay`); when that changes a value, the first change records the values as they were
//   in the annotation `meshplay.io/adopted` (a JSON merge patch that puts them back) and labels the object
//   `meshplay.io/adopted-by=meshplay` so uninstall can find it. Uninstall and prune apply that patch and remove the
//   two marks: the object is left as it was. An apply that changes nothing leaves no trace at all.
//   Secret values are never copied into an annotation, so meshplay refuses to change the data of a Secret it did
//   not create (unless forced, and then uninstall cannot bring the old data back and says so).
// - Edits inside objects meshplay shares with others (a Corefile block, a stubDomains key) keep their own record
//   on the object (mesh_global_dns) and are undone by their module with state: absent.
import { deepEqual, managedByLabel, managedByValue, ownerLabel, type KubeObject } from './objects.js';

export const createdLabel = 'meshplay.io/created-by';
export const adoptedLabel = 'meshplay.io/adopted-by';
export const markValue = 'meshplay';
/** JSON merge patch restoring what meshplay changed on an object it adopted. */
export const adoptedAnnotation = 'meshplay.io/adopted';

export const createdSelector = `${createdLabel}=${markValue}`;
export const adoptedSelector = `${adoptedLabel}=${markValue}`;

/** Labels that say "meshplay's": never put on an object meshplay did not create. */
const ownershipLabels = [createdLabel, managedByLabel, ownerLabel];

type Json = Record<string, unknown>;
const isMap = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export function isCreated(o: KubeObject | undefined): boolean {
  return o?.metadata?.labels?.[createdLabel] === markValue;
}

export function isAdopted(o: KubeObject | undefined): boolean {
  return o?.metadata?.labels?.[adoptedLabel] === markValue;
}

/** The labels of an object meshplay creates. */
export function createdLabels(owner?: string): Record<string, string> {
  return { [managedByLabel]: managedByValue, [createdLabel]: markValue, ...(owner ? { [ownerLabel]: owner } : {}) };
}

/** `o` without any of meshplay's ownership marks (what is applied to an object meshplay did not create). */
export function withoutMarks(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  const labels = c.metadata?.labels;
  if (labels) {
    for (const k of [...ownershipLabels, adoptedLabel]) delete labels[k];
    if (!Object.keys(labels).length) delete c.metadata!.labels;
  }
  const annotations = c.metadata?.annotations;
  if (annotations) {
    delete annotations[adoptedAnnotation];
    if (!Object.keys(annotations).length) delete c.metadata!.annotations;
  }
  return c;
}

/** `o` as meshplay creates it: its definition plus the created mark. */
export function markCreated(o: KubeObject, owner?: string): KubeObject {
  const c = withoutMarks(o);
  c.metadata ??= {};
  c.metadata.labels = { ...(c.metadata.labels ?? {}), ...createdLabels(owner) };
  return c;
}

/** `o` as applied to an adopted object: its definition plus the adopted mark and the record. */
export function markAdopted(o: KubeObject, record: Json): KubeObject {
  const c = withoutMarks(o);
  c.metadata ??= {};
  c.metadata.labels = { ...(c.metadata.labels ?? {}), [adoptedLabel]: markValue };
  c.metadata.annotations = { ...(c.metadata.annotations ?? {}), [adoptedAnnotation]: JSON.stringify(record) };
  return c;
}

/** The record on a live object; undefined when it has none, an Error when it cannot be read. */
export function readRecord(live: KubeObject | undefined): Json | undefined | Error {
  const text = live?.metadata?.annotations?.[adoptedAnnotation];
  if (text === undefined) return undefined;
  try {
    const v = JSON.parse(text);
    if (isMap(v)) return v;
  } catch {
    // fall through
  }
  return new Error(`annotation ${adoptedAnnotation} is not a JSON object (edited by hand?)`);
}

// Server bookkeeping and identity: never part of what meshplay changed.
const skipTop = new Set(['apiVersion', 'kind', 'status']);
const skipMeta = new Set(['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink', 'name', 'namespace']);

function revertOf(before: Json, after: Json, skip?: Set<string>): Json {
  const out: Json = {};
  for (const k of new Set([...Object.keys(before), ...Object.keys(after)])) {
    if (skip?.has(k)) continue;
    const b = before[k];
    const a = after[k];
    if (deepEqual(b, a)) continue;
    if (isMap(b) && isMap(a)) {
      const sub = revertOf(b, a, k === 'metadata' && skip === skipTop ? skipMeta : undefined);
      if (Object.keys(sub).length) out[k] = sub;
    } else {
      out[k] = b === undefined ? null : structuredClone(b);
    }
  }
  return out;
}

/** The JSON merge patch that turns `after` back into `before` (server fields ignored); {} when they are equal. */
export function revertPatch(before: KubeObject, after: KubeObject): Json {
  return revertOf(before as Json, after as Json, skipTop);
}

/** Paths (a.b.c) a record restores, for messages. */
export function recordPaths(record: Json, prefix = ''): string[] {
  return Object.entries(record).flatMap(([k, v]) => (isMap(v) ? recordPaths(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

/** Adds to `older` what `newer` records about paths `older` does not cover: the first value seen is the original. */
export function mergeRecords(older: Json | undefined, newer: Json): Json {
  if (!older) return structuredClone(newer);
  const out = structuredClone(older);
  for (const [k, v] of Object.entries(newer)) {
    if (!(k in out)) out[k] = structuredClone(v);
    else if (isMap(out[k]) && isMap(v)) out[k] = mergeRecords(out[k] as Json, v);
    // else: older already restores this path (or a path above it) whole
  }
  return out;
}

/** True when a record would restore values of a Secret's data (which meshplay never copies into an annotation). */
export function touchesSecretData(o: KubeObject, record: Json): boolean {
  return o.kind === 'Secret' && ('data' in record || 'stringData' in record);
}

/**
 * The merge patch that gives an adopted object back: its record plus the removal of meshplay's marks, with the
 * live resourceVersion so a concurrent edit makes it fail instead of being overwritten.
 */
export function releasePatch(live: KubeObject, record: Json): Json {
  const patch = structuredClone(record);
  const meta = (isMap(patch.metadata) ? patch.metadata : (patch.metadata = {})) as Json;
  meta.resourceVersion = live.metadata?.resourceVersion;
  // A record of `labels: null` (the object had none) removes them all, meshplay's mark included: keep it whole.
  if (meta.labels !== null) {
    const labels = (isMap(meta.labels) ? meta.labels : (meta.labels = {})) as Json;
    labels[adoptedLabel] = null;
  }
  if (meta.annotations !== null) {
    const annotations = (isMap(meta.annotations) ? meta.annotations : (meta.annotations = {})) as Json;
    annotations[adoptedAnnotation] = null;
  }
  return patch;
}

/** What the object will look like after the release patch (for diffs and checks). */
export function afterRelease(live: KubeObject, patch: Json): KubeObject {
  const apply = (target: unknown, p: unknown): unknown => {
    if (!isMap(p)) return structuredClone(p);
    const t: Json = isMap(target) ? structuredClone(target) : {};
    for (const [k, v] of Object.entries(p)) {
      if (v === null) delete t[k];
      else t[k] = apply(t[k], v);
    }
    return t;
  };
  const out = apply(live, patch) as KubeObject;
  if (out.metadata) {
    out.metadata.resourceVersion = live.metadata?.resourceVersion;
    for (const k of ['labels', 'annotations'] as const) if (out.metadata[k] && !Object.keys(out.metadata[k]!).length) delete out.metadata[k];
  }
  return out;
}
