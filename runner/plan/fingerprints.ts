// Reads every fact a saved plan was made from again, before the first write of its apply: an object's
// resourceVersion (or its absence), a node's managed routes, a file's content and mode. What moved is named,
// one line each, and the apply changes nothing (`meshplay run --plan`, exit ExitCode.planDrift).
import type { Connection } from '../connection/types.js';
import { isCommandConnection } from '../connection/types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import type { Fingerprint } from '../modules/types.js';
import { fileDigest } from '../modules/files.js';
import { readFileOn } from '../modules/util.js';
import { classify, DEFAULT_PROTOCOL_NAME, managedDigest, readRoutes } from '../routes/node.js';
import { fingerprintId } from './file.js';
import { objectDigest } from '../k8s/fingerprint.js';
import type { KubeObject } from '../k8s/objects.js';

const short = (v: string | null) => (v === null ? 'absent' : v.startsWith('sha256:') || v.length > 16 ? v.replace(/^(sha256:)?(.{12}).*$/, '$1$2…') : v);

/** What one fact is now, in the form the plan recorded it (an object: its digest, and its resourceVersion to show). */
async function readAgain(f: Fingerprint, conn: Connection): Promise<{ value: string | null; shown?: string | null }> {
  if (f.kind === 'k8s') {
    if (conn.kind !== 'kubernetes') throw new Error(`${f.host} is not a cluster host`);
    const k = conn as KubernetesConnection;
    const r = await k.resourceFor(f.apiVersion, f.resource);
    const live = await k.getOrUndefined<KubeObject>(k.pathFor(r, r.namespaced ? f.namespace : undefined, f.name));
    return { value: objectDigest(live), shown: (live?.metadata?.resourceVersion as string | undefined) ?? null };
  }
  if (!isCommandConnection(conn)) throw new Error(`${f.host} cannot run commands`);
  if (f.kind === 'routes') return { value: managedDigest(classify(await readRoutes(conn, f.host), f.protocol, DEFAULT_PROTOCOL_NAME).managed) };
  return { value: fileDigest(await readFileOn(conn, f.path)) };
}

/**
 * The facts that are no longer as the plan read them, one line each ("k8s east v1/ConfigMap ns/x: resourceVersion
 * 812 -> 905"); empty when none moved. A fact that cannot be read counts as moved (the apply cannot know).
 */
export async function driftedFacts(fingerprints: Fingerprint[], connection: (host: string) => Promise<Connection>): Promise<string[]> {
  const out: string[] = [];
  await Promise.all(
    fingerprints.map(async (f) => {
      let now: { value: string | null; shown?: string | null };
      try {
        now = await readAgain(f, await connection(f.host));
      } catch (e) {
        out.push(`${fingerprintId(f)}: cannot be read again (${(e as Error).message})`);
        return;
      }
      if (now.value === f.digest) return;
      // An object: its resourceVersion says which edit, when it still exists.
      if (f.kind === 'k8s') out.push(`${fingerprintId(f)}: ${f.digest === null ? 'was absent, now exists' : now.value === null ? 'was deleted' : 'edited'} (resourceVersion ${short(f.resourceVersion)} -> ${short(now.shown ?? null)})`);
      else out.push(`${fingerprintId(f)}: ${f.kind === 'routes' ? 'managed routes' : 'content'} ${short(f.digest)} -> ${short(now.value)}`);
    }),
  );
  return out.sort();
}
