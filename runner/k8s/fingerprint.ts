// The fingerprint of a Kubernetes object a plan was read from: its resourceVersion (shown) and a digest of what
// meshplay decides on (everything but status and server bookkeeping, as forCompare): a controller updating the
// status of a Deployment moves its resourceVersion, not what a plan of it depends on.
import { createHash } from 'node:crypto';
import type { Fingerprint } from '../modules/types.js';
import { forCompare, type KubeObject } from './objects.js';

/** JSON with sorted keys: the same object gives the same text whatever order the server wrote it in. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${canonical((v as Record<string, unknown>)[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

export function objectDigest(o: KubeObject | undefined): string | null {
  return o ? createHash('sha256').update(canonical(forCompare(o))).digest('hex') : null;
}

export function objectFingerprint(host: string, ref: { apiVersion: string; resource: string; namespace?: string; name: string }, live: KubeObject | undefined): Fingerprint {
  return {
    kind: 'k8s',
    host,
    apiVersion: ref.apiVersion,
    resource: ref.resource,
    ...(ref.namespace ? { namespace: ref.namespace } : {}),
    name: ref.name,
    resourceVersion: (live?.metadata?.resourceVersion as string | undefined) ?? null,
    digest: objectDigest(live),
  };
}
