// Pure helpers on Kubernetes objects: reading definitions, normalising for comparison and output,
// and keeping Secret values out of diffs.
import { stringify } from 'yaml';
import { append } from '../arrays.js';
import { parseYamlDocuments } from '../yaml/parse.js';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  [k: string]: unknown;
}

export const managedByLabel = 'app.kubernetes.io/managed-by';
export const managedByValue = 'meshplay';
export const ownerLabel = 'meshplay.io/owner';

/** `definition` may be an object, a list of objects, or a (multi-document) YAML string. Empty documents are dropped. */
export function parseDefinitions(definition: unknown, where = 'definition'): KubeObject[] {
  if (definition === undefined || definition === null) return [];
  if (typeof definition === 'string') {
    const out: KubeObject[] = [];
    for (const v of parseYamlDocuments(definition, where, { file: false })) {
      if (v === null || v === undefined) continue;
      append(out, parseDefinitions(v, where));
    }
    return out;
  }
  if (Array.isArray(definition)) return definition.flatMap((d, i) => parseDefinitions(d, `${where}[${i}]`));
  if (typeof definition === 'object') {
    const o = definition as KubeObject;
    // A List wraps objects (kubectl get -o yaml output).
    if (typeof o.kind === 'string' && o.kind.endsWith('List') && Array.isArray(o.items)) return parseDefinitions(o.items, `${where}.items`);
    return [structuredClone(o)];
  }
  throw new Error(`${where}: expected an object, a list or a YAML string, got ${typeof definition}`);
}

export function describe(o: KubeObject): string {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : '';
  return `${o.kind ?? '?'} ${ns}${o.metadata?.name ?? '?'}`;
}

const serverOwnedMetadata = ['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink'];

/** What the comparison of live vs dry-run looks at: everything but server bookkeeping and status. */
export function forCompare(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  delete c.status;
  if (c.metadata) for (const k of serverOwnedMetadata) delete c.metadata[k];
  return c;
}

/** Object as shown to users (results, diffs): without managedFields noise. */
export function forOutput(o: KubeObject): KubeObject {
  const c = structuredClone(o);
  if (c.metadata) delete c.metadata.managedFields;
  return c;
}

/** Diff view: without bookkeeping fields that change on every write. */
export function forDiff(o: KubeObject): KubeObject {
  const c = forCompare(o);
  return c;
}

export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ak = Object.keys(a as object).filter((k) => (a as any)[k] !== undefined);
  const bk = Object.keys(b as object).filter((k) => (b as any)[k] !== undefined);
  if (ak.length !== bk.length) return false;
  return ak.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}

export function isSecret(o: KubeObject | undefined): boolean {
  return !!o && o.kind === 'Secret' && (o.apiVersion === 'v1' || o.apiVersion === undefined);
}

/** A Secret's values by key, decoded: `data` (base64) merged with `stringData` (which wins, as on the server). */
export function secretValues(o: KubeObject | undefined): Record<string, string> {
  if (!isSecret(o)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((o!.data as Record<string, string> | undefined) ?? {})) {
    out[k] = Buffer.from(String(v), 'base64').toString('utf8');
  }
  for (const [k, v] of Object.entries((o!.stringData as Record<string, string> | undefined) ?? {})) out[k] = String(v);
  return out;
}

/** Every form a Secret's values can appear in output (decoded and base64), for registering as secrets. */
export function secretStrings(o: KubeObject | undefined): string[] {
  if (!isSecret(o)) return [];
  const out = new Set<string>();
  // A service-account token Secret also carries its namespace and the cluster CA: public, and masking
  // them would hide namespace names everywhere in the output.
  const publicKeys = (o as { type?: string }).type === 'kubernetes.io/service-account-token' ? new Set(['namespace', 'ca.crt']) : new Set<string>();
  for (const [k, v] of Object.entries((o!.data as Record<string, string> | undefined) ?? {})) {
    if (publicKeys.has(k)) continue;
    out.add(String(v));
    out.add(Buffer.from(String(v), 'base64').toString('utf8'));
  }
  for (const v of Object.values((o!.stringData as Record<string, string> | undefined) ?? {})) {
    out.add(String(v));
    out.add(Buffer.from(String(v)).toString('base64'));
  }
  // Empty or one-character values would mask random text everywhere; they are not secrets worth the noise.
  return [...out].filter((s) => s.length >= 3);
}

export const redactedSame = '<redacted>';
export const redactedOld = '<redacted: old value>';
export const redactedNew = '<redacted: new value>';

/**
 * Secret before/after for a diff: values replaced by stable markers that still tell whether a key changed.
 * stringData is folded into data so the same value written either way shows as unchanged.
 */
export function redactSecretPair(before: KubeObject | undefined, after: KubeObject | undefined): [KubeObject | undefined, KubeObject | undefined] {
  if (!isSecret(before) && !isSecret(after)) return [before, after];
  const bv = secretValues(before);
  const av = secretValues(after);
  const mask = (o: KubeObject | undefined, mine: Record<string, string>, other: Record<string, string>, changedMarker: string) => {
    if (!o) return o;
    const c = structuredClone(o);
    delete c.stringData;
    const keys = Object.keys(mine);
    if (keys.length) {
      c.data = Object.fromEntries(keys.sort().map((k) => [k, k in other && other[k] === mine[k] ? redactedSame : changedMarker]));
    } else delete c.data;
    return c;
  };
  return [mask(before, bv, av, redactedOld), mask(after, av, bv, redactedNew)];
}

export function toYaml(o: KubeObject | undefined): string {
  return o ? stringify(o, { sortMapEntries: false }) : '';
}

/** A conflict Status (409 on apply) as a sentence naming managers and fields. */
export function conflictMessage(object: string, causes: { message?: string; field?: string }[], fallback: string): string {
  if (!causes.length) return `${object}: apply conflict: ${fallback}`;
  const lines = causes.map((c) => `  - ${c.field ?? '?'}: ${c.message ?? ''}`);
  const managers = [...new Set(causes.map((c) => /(?:conflict with|manager) "([^"]+)"/.exec(c.message ?? '')?.[1]).filter(Boolean))];
  return (
    `${object}: fields are owned by another field manager (${managers.join(', ') || 'unknown'}); ` +
    'set server_side_apply.force_conflicts: true to take them over, or stop the other manager setting them:\n' +
    lines.join('\n')
  );
}

/** kubernetes.core's wait_condition: a status condition (type, status, reason) to wait for. */
export const waitConditionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: { type: { type: 'string' }, status: { type: ['string', 'boolean'] }, reason: { type: 'string' } },
};
