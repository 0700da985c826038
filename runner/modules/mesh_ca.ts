// mesh_ca: one root CA for the mesh, kept as a Secret in the control-plane cluster (created once, never
// regenerated, so a fresh workspace keeps the same trust), and the `cacerts` Secret of the cluster the task
// runs on: an intermediate CA signed by that root. No rotation unless asked or within renew_before of expiry.
// Keys are generated in memory, verified before being written, registered as secrets, never returned.
import fs from 'node:fs/promises';
import path from 'node:path';
import { boolean, integer, object, oneOf, string, withDefault, type ArgsOf } from './args.js';
import type { Module, ModuleContext, ModuleResult } from './types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { cacertsKeys, keyTypes, type Cacerts, type KeyAndCert, type KeyType } from '../mesh/cacerts.js';
/** The X.509 work, loaded when a task runs rather than when the playbook is validated. */
const caLib = () => import('../mesh/ca.js');
import { b64, clusterConnection, get, isManaged, isStatus, meshLabels, ownerOf, rootClusterOf, unb64 } from '../mesh/kube.js';
import type { KubeObject } from '../k8s/objects.js';
import { objectFingerprint } from '../k8s/fingerprint.js';

const schema = object({
  namespace: withDefault(string(), 'istio-system'),
  /** Default: the control plane cluster (rootClusterOf). */
  root_cluster: string(),
  root_secret: withDefault(string(), 'meshplay-root-ca'),
  secret: withDefault(string(), 'cacerts'),
  key_type: oneOf(keyTypes),
  root_days: withDefault(integer({ minimum: 1 }), 3650),
  days: withDefault(integer({ minimum: 1 }), 365),
  renew_before_days: withDefault(integer({ minimum: 0 }), 30),
  rotate: withDefault(boolean(), false),
  /** Replace a cacerts Secret meshplay did not create (it would otherwise fail). */
  force: withDefault(boolean(), false),
  export_dir: string(),
  organization: string(),
  owner: string(),
});
type MeshCaArgs = ArgsOf<typeof schema>;

type Lib = Awaited<ReturnType<typeof caLib>>;

/** The root CA Secret and this cluster's cacerts as read, with their verification. */
interface MeshCaFacts {
  rootCluster: string;
  rootSecret?: KubeObject;
  root?: KeyAndCert;
  rootInfo?: ReturnType<Lib['certInfo']>;
  rootCheck?: Awaited<ReturnType<Lib['verifyRoot']>>;
  live?: KubeObject;
  cacertsCheck?: Awaited<ReturnType<Lib['verifyCacerts']>>;
  /** The time the expiry is measured from. */
  now: Date;
}

interface PlanData {
  rootAction: 'create' | 'keep';
  root?: KeyAndCert;
  cacertsAction: 'create' | 'replace' | 'keep';
  reason: string;
  /** cacerts gets the created mark only when meshplay creates it (or created it before). */
  cacertsOurs: boolean;
  rootCluster: string;
}

const secretKeysRoot = { cert: 'root-cert.pem', key: 'root-key.pem' };

function secretPath(ns: string, name?: string): string {
  return `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets${name ? `/${encodeURIComponent(name)}` : ''}`;
}

function readRoot(s: KubeObject | undefined): KeyAndCert | undefined {
  const data = (s?.data ?? {}) as Record<string, string>;
  const certPem = unb64(data[secretKeysRoot.cert]);
  const keyPem = unb64(data[secretKeysRoot.key]);
  return certPem && keyPem ? { certPem, keyPem } : undefined;
}

function readCacerts(s: KubeObject | undefined): Partial<Cacerts> {
  const data = (s?.data ?? {}) as Record<string, string>;
  return Object.fromEntries(cacertsKeys.map((k) => [k, unb64(data[k])]).filter(([, v]) => v !== undefined));
}

function registerPems(ctx: ModuleContext, ...values: (string | undefined)[]): void {
  for (const v of values) {
    if (!v) continue;
    ctx.secret(v);
    ctx.secret(b64(v));
  }
}

function daysLeft(notAfter: Date, now = new Date()): number {
  return Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
}

function secretDiff(what: string, before: boolean, keys: readonly string[]): { before: string; after: string; beforeHeader: string; afterHeader: string } {
  const body = (marker: string) => `kind: Secret\nmetadata:\n  name: ${what}\ndata:\n${keys.map((k) => `  ${k}: ${marker}`).join('\n')}\n`;
  return { before: before ? body('<redacted: old value>') : '', after: body('<redacted: new value>'), beforeHeader: `${what} (live)`, afterHeader: `${what} (desired)` };
}

const meshCa: Module<typeof schema, MeshCaFacts, PlanData> = {
  name: 'mesh_ca',
  schema,

  async facts(ctx, args) {
    const rootCluster = args.root_cluster ?? rootClusterOf(ctx.inventory);
    const { certInfo, verifyCacerts, verifyRoot } = await caLib();
    const rootConn = await clusterConnection(ctx, rootCluster);
    const conn = await clusterConnection(ctx, ctx.host.name);
    const rootSecret = await get(rootConn, secretPath(args.namespace, args.root_secret));
    const root = readRoot(rootSecret);
    registerPems(ctx, root?.keyPem);
    const live = await get(conn, secretPath(args.namespace, args.secret));
    const files = readCacerts(live);
    registerPems(ctx, files['ca-key.pem']);
    return {
      rootCluster,
      rootSecret,
      root,
      rootInfo: root ? certInfo(root.certPem) : undefined,
      rootCheck: root ? await verifyRoot(root) : undefined,
      live,
      cacertsCheck: root && live ? await verifyCacerts(files, root.certPem) : undefined,
      now: new Date(),
    };
  },

  plan(f, args, ctx) {
    const { rootCluster, root, live } = f;
    const ns = args.namespace;
    const rootName = args.root_secret;
    const name = args.secret;
    const renewBefore = args.renew_before_days;
    if (f.rootSecret && !root) throw new Error(`${rootCluster}: Secret ${ns}/${rootName} exists but lacks ${secretKeysRoot.cert}/${secretKeysRoot.key}; fix or delete it (it is the mesh root CA)`);
    if (f.rootCheck && !f.rootCheck.ok) {
      throw new Error(`${rootCluster}: the mesh root CA in ${ns}/${rootName} is unusable: ${f.rootCheck.problems.join('; ')}. meshplay never replaces a root on its own (every cluster trusts it); delete the Secret to start a new mesh trust`);
    }
    const result: Record<string, unknown> = { root_cluster: rootCluster };
    if (f.rootInfo) {
      const i = f.rootInfo;
      result.root = { subject: i.subject, serial: i.serial, not_after: i.notAfter.toISOString(), key_type: i.keyType };
    }

    let cacertsAction: PlanData['cacertsAction'] = 'keep';
    let reason = 'valid, chains to the mesh root';
    if (!live) {
      cacertsAction = 'create';
      reason = 'no cacerts Secret';
    } else if (!root) {
      cacertsAction = 'replace';
      reason = 'the mesh root CA does not exist yet';
    } else {
      const v = f.cacertsCheck!;
      result.cacerts = { subject: v.subject, serial: v.serial, not_after: v.notAfter?.toISOString(), key_type: v.keyType, problems: v.problems };
      if (!v.ok) {
        cacertsAction = 'replace';
        reason = v.problems.join('; ');
      } else if (args.rotate) {
        cacertsAction = 'replace';
        reason = 'rotation requested (mesh_ca_rotate)';
      } else if (daysLeft(v.notAfter!, f.now) < renewBefore) {
        cacertsAction = 'replace';
        reason = `expires in ${daysLeft(v.notAfter!, f.now)} days (renew_before ${renewBefore})`;
      } else if (args.key_type && v.keyType !== args.key_type) {
        ctx.warn(`${ctx.host.name}: cacerts key type is ${v.keyType}, configured ${args.key_type}; kept (set mesh_ca_rotate: true to re-issue)`);
      }
    }
    if (cacertsAction === 'replace' && live && !isManaged(live) && !args.force) {
      throw new Error(
        `${ctx.host.name}: Secret ${ns}/${name} was not created by meshplay and does not fit the mesh (${reason}); ` +
          'replace it by hand or set force: true (mesh_ca_force) to let meshplay overwrite it',
      );
    }
    const rootAction: PlanData['rootAction'] = root ? 'keep' : 'create';
    const changed = rootAction === 'create' || cacertsAction !== 'keep';
    const msgs: string[] = [];
    if (rootAction === 'create') msgs.push(`create the mesh root CA ${ns}/${rootName} in ${rootCluster}`);
    if (cacertsAction !== 'keep') msgs.push(`${cacertsAction} ${ns}/${name}: ${reason}`);
    result.cacerts_action = cacertsAction === 'keep' ? 'unchanged' : cacertsAction;
    result.root_action = rootAction === 'create' ? 'create' : 'unchanged';
    const diff = [];
    if (rootAction === 'create') diff.push(secretDiff(`Secret ${ns}/${rootName} (${rootCluster})`, false, Object.values(secretKeysRoot)));
    if (cacertsAction !== 'keep') diff.push(secretDiff(`Secret ${ns}/${name}`, !!live, cacertsKeys));
    return {
      changed,
      msg: msgs.join('; ') || `cacerts ${reason}`,
      result,
      diff,
      data: { rootAction, root, cacertsAction, reason, cacertsOurs: !live || isManaged(live), rootCluster },
      // Keys are made in apply: what is planned is the outcome (a root exists, whoever of the clusters makes it
      // first; this cluster's cacerts created or replaced, and why).
      changes: { root: 'exists', cacertsAction, reason },
      fingerprints: [
        objectFingerprint(rootCluster, { apiVersion: 'v1', resource: 'Secret', namespace: ns, name: rootName }, f.rootSecret),
        objectFingerprint(ctx.host.name, { apiVersion: 'v1', resource: 'Secret', namespace: ns, name }, live),
      ],
    };
  },

  async apply(ctx, args, plan): Promise<ModuleResult> {
    const ns = args.namespace;
    const data = plan.data;
    const rootCluster = data.rootCluster;
    const rootName = args.root_secret;
    const name = args.secret;
    const owner = ownerOf(ctx, args.owner);
    // Not a schema default: a key type given is also compared with the live one (see plan).
    const keyType = args.key_type ?? 'rsa-2048';
    const { cacertsFiles, certInfo, createIntermediateCa, createRootCa, verifyCacerts } = await caLib();
    const rootConn = await clusterConnection(ctx, rootCluster);
    const conn = await clusterConnection(ctx, ctx.host.name);
    let root = data.root;
    let rootCreated = false;
    if (data.rootAction === 'create') {
      const fresh = await createRootCa({ keyType, days: args.root_days, organization: args.organization });
      registerPems(ctx, fresh.keyPem);
      try {
        // Create, never overwrite: when several clusters run this at once, the first root wins and the others use it.
        await rootConn.request({
          method: 'POST',
          path: secretPath(ns),
          body: {
            apiVersion: 'v1',
            kind: 'Secret',
            metadata: { name: rootName, namespace: ns, labels: meshLabels('mesh-ca', owner) },
            type: 'Opaque',
            data: { [secretKeysRoot.cert]: b64(fresh.certPem), [secretKeysRoot.key]: b64(fresh.keyPem) },
          },
        });
        root = fresh;
        rootCreated = true;
      } catch (e) {
        if (!isStatus(e, 409)) throw e;
        root = readRoot(await get(rootConn, secretPath(ns, rootName)));
        if (!root) throw new Error(`${rootCluster}: ${ns}/${rootName} appeared concurrently but has no root CA data`);
        registerPems(ctx, root.keyPem);
      }
    }
    let cacertsInfo: Record<string, unknown> | undefined;
    if (data.cacertsAction !== 'keep') {
      const inter = await createIntermediateCa(root!, ctx.host.name, { keyType, days: args.days, organization: args.organization });
      registerPems(ctx, inter.keyPem);
      const files = cacertsFiles(root!, inter);
      const v = await verifyCacerts(files, root!.certPem);
      if (!v.ok) throw new Error(`${ctx.host.name}: the new intermediate CA failed verification, nothing written: ${v.problems.join('; ')}`);
      const body = {
        apiVersion: 'v1',
        kind: 'Secret',
        // A cacerts that existed and is replaced under force is not marked created: uninstall leaves it.
        metadata: { name, namespace: ns, ...(data.cacertsOurs ? { labels: meshLabels('mesh-ca', owner) } : {}), annotations: { 'meshplay.io/ca-serial': v.serial!, 'meshplay.io/ca-not-after': v.notAfter!.toISOString() } },
        type: 'Opaque',
        data: Object.fromEntries(cacertsKeys.map((k) => [k, b64(files[k])])),
      };
      await conn.request({
        method: 'PATCH',
        path: secretPath(ns, name),
        query: { fieldManager: 'meshplay', force: 'true' },
        body,
        contentType: 'application/apply-patch+yaml',
      });
      cacertsInfo = { subject: v.subject, serial: v.serial, not_after: v.notAfter!.toISOString(), key_type: v.keyType };
      if (args.export_dir) {
        const dir = path.join(args.export_dir, ctx.host.name);
        await fs.mkdir(dir, { recursive: true, mode: 0o700 });
        for (const k of cacertsKeys) await fs.writeFile(path.join(dir, k), files[k], { mode: 0o600 });
      }
    }
    const i = certInfo(root!.certPem);
    return {
      changed: true,
      msg: plan.msg,
      diff: plan.diff,
      root_cluster: rootCluster,
      root: { subject: i.subject, serial: i.serial, not_after: i.notAfter.toISOString(), key_type: i.keyType },
      root_action: rootCreated ? 'created' : 'unchanged',
      cacerts_action: data.cacertsAction === 'keep' ? 'unchanged' : data.cacertsAction === 'create' ? 'created' : 'replaced',
      ...(cacertsInfo ? { cacerts: cacertsInfo } : {}),
    };
  },
};

export default meshCa;
