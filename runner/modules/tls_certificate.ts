// tls_certificate: keeps a CA and the server certificates it signs in kubernetes.io/tls Secrets, made in-process
// with @peculiar/x509 (never openssl). `type: ca` ensures the CA Secret (meshplay generates it once and keeps it in
// the cluster; or the user supplies ca_cert + ca_key). `type: server` ensures a Secret with a key and a certificate
// for `hosts` signed by that CA. Nothing is re-issued on a re-run unless the certificate is within renew_before of
// expiry, its names differ from hosts, it is not signed by the CA, or the Secret is missing or unreadable.
import { X509Certificate as NodeX509 } from 'node:crypto';
import { array, boolean, number, object, oneOf, required, string, typed, withDefault, type ArgsOf } from './args.js';
import type { FileDiff, Fingerprint, Module, ModuleContext, ModuleResult } from './types.js';
import type { KubernetesConnection } from '../connection/kubernetes.js';
import { getLive, kubeConnection, registerSecretValues, serverSideApply } from '../k8s/client.js';
import { describe, redactSecretPair, secretValues, toYaml, forDiff, type KubeObject } from '../k8s/objects.js';
import { isCreated, markCreated } from '../k8s/ownership.js';
import { objectFingerprint } from '../k8s/fingerprint.js';
import { day, pemCerts, reissueReason, type Pem } from '../tls/certs.js';
/** @peculiar/x509 loads only when a certificate has to be made. */
const issuing = () => import('../tls/issue.js');

const schema = object({
  type: required(oneOf(['ca', 'server'])),
  name: required(string({ minLength: 1 })),
  namespace: withDefault(string(), 'istio-system'),
  hosts: withDefault(array(string({ minLength: 1 })), []),
  /** server: where the CA Secret lives (host defaults to the control-plane cluster). */
  ca_secret: withDefault(object({ name: required(string()), namespace: withDefault(string(), 'istio-system'), host: string() }), { name: 'meshplay-gateway-ca' }),
  /** A user-supplied CA instead of a generated one (PEM). */
  ca_cert: string(),
  ca_key: string(),
  common_name: string(),
  valid_days: typed<number>({ type: 'number', exclusiveMinimum: 0 }),
  renew_before_days: withDefault(number({ minimum: 0 }), 30),
  owner: string(),
  /** server: also store the CA certificate under `ca.crt` (for servers that must name their own trust root). */
  ca_in_secret: withDefault(boolean(), false),
});
type TlsCertificateArgs = ArgsOf<typeof schema>;

/**
 * The Secret as it is, the CA (supplied or read), and the certificate to store when one is due: key material is
 * made here, before the pure plan, which only decides (a fresh key cannot come out of a pure function).
 */
interface TlsFacts {
  live?: KubeObject;
  ca?: Pem;
  reason?: string;
  issued?: Pem;
  /** The CA's time left, in ms (type: ca, when stored). */
  caLeftMs?: number;
}

interface PlanData {
  target: KubeObject;
  reason: string;
}

function tlsSecret(name: string, namespace: string, pem: Pem, labels: Record<string, string>, caPem?: string): KubeObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/tls',
    metadata: { name, namespace, labels },
    data: {
      'tls.crt': Buffer.from(pem.certPem).toString('base64'),
      'tls.key': Buffer.from(pem.keyPem).toString('base64'),
      ...(caPem ? { 'ca.crt': Buffer.from(caPem).toString('base64') } : {}),
    },
  };
}

function pemOf(o: KubeObject | undefined): Pem | undefined {
  if (!o) return undefined;
  const v = secretValues(o);
  return v['tls.crt'] && v['tls.key'] ? { certPem: v['tls.crt'], keyPem: v['tls.key'] } : undefined;
}

async function secretResource(conn: KubernetesConnection) {
  return conn.resourceFor('v1', 'Secret');
}

function controlPlane(ctx: ModuleContext): string {
  const cps = ctx.inventory.groups.get('control_plane') ?? [];
  if (cps.length !== 1) throw new Error(`expected exactly one control-plane cluster to keep the CA in, found ${cps.length}`);
  return cps[0]!;
}

/** The CA to sign with: supplied, or read from its Secret (undefined when meshplay has not created it yet). */
async function loadCa(ctx: ModuleContext, args: TlsCertificateArgs): Promise<Pem | undefined> {
  if (args.ca_cert || args.ca_key) {
    if (!args.ca_cert || !args.ca_key) throw new Error('give both ca_cert and ca_key, or neither (meshplay then keeps its own CA)');
    ctx.secret(args.ca_key);
    return { certPem: args.ca_cert, keyPem: args.ca_key };
  }
  const ref = args.ca_secret;
  const conn = await kubeConnection(ctx, ref.host ?? controlPlane(ctx));
  const live = await getLive(conn, await secretResource(conn), { kind: 'Secret', metadata: { name: ref.name, namespace: ref.namespace } });
  registerSecretValues(ctx, live);
  return pemOf(live);
}

function diffOf(live: KubeObject | undefined, after: KubeObject): FileDiff {
  const [b, a] = redactSecretPair(live && forDiff(live), after);
  return { before: toYaml(b), after: toYaml(a), beforeHeader: `${describe(after)} (live)`, afterHeader: `${describe(after)} (desired)` };
}

const tlsCertificate: Module<typeof schema, TlsFacts, PlanData> = {
  name: 'tls_certificate',
  secretArgs: ['ca_key'],
  schema,

  async facts(ctx, args) {
    const conn = await kubeConnection(ctx);
    const ref: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: args.name, namespace: args.namespace } };
    const live = await getLive(conn, await secretResource(conn), ref);
    registerSecretValues(ctx, live);
    const livePem = pemOf(live);
    const renewBefore = args.renew_before_days;
    if (args.type === 'ca') {
      if (args.ca_cert || args.ca_key) {
        const supplied = await loadCa(ctx, args);
        const differs = livePem?.certPem !== supplied!.certPem || livePem?.keyPem !== supplied!.keyPem;
        return { live, ca: supplied, ...(differs ? { reason: 'the supplied CA differs from the stored one', issued: supplied } : {}) };
      }
      if (!livePem) return { live, reason: 'no CA yet', issued: await (await issuing()).makeCa(args.common_name ?? 'meshplay gateway CA', args.valid_days ?? 3650) };
      return { live, ca: livePem, caLeftMs: new Date(new NodeX509(livePem.certPem).validTo).getTime() - Date.now() };
    }
    if (!args.hosts.length) throw new Error('type: server needs hosts (the names the gateway serves)');
    let ca = await loadCa(ctx, args);
    if (!ca) {
      // Only in check mode (or when the CA task was skipped): sign with a throw-away CA to report the change.
      if (!ctx.check) throw new Error(`the CA Secret ${args.ca_secret.name} does not exist yet: run the CA task (type: ca) first`);
      ca = await (await issuing()).makeCa('meshplay gateway CA (check mode)', 1);
    }
    let reason = reissueReason(livePem, ca.certPem, args.hosts, renewBefore);
    if (!reason && args.ca_in_secret && secretValues(live)['ca.crt'] !== ca.certPem) reason = 'ca.crt missing or not the CA';
    const issued = reason ? await (await issuing()).issueServerCert(ca, args.hosts, args.common_name ?? args.hosts[0]!, args.valid_days ?? 365) : undefined;
    return { live, ca, reason, issued };
  },

  plan(f, args, ctx) {
    const { live, reason, issued: pem } = f;
    const ref: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: args.name, namespace: args.namespace } };
    const caPem = f.ca?.certPem;
    // An expiring CA is not rotated silently: every gateway certificate would change trust at once.
    if (f.caLeftMs !== undefined && f.caLeftMs < args.renew_before_days * day) {
      ctx.warn(`CA ${describe(ref)} expires in ${Math.floor(f.caLeftMs / day)} days: rotate it (delete the Secret and re-run, or supply ca_cert/ca_key)`);
    }
    const notAfter = (p?: Pem) => (p ? new NodeX509(pemCerts(p.certPem)[0]!).validTo : undefined);
    const fingerprints: Fingerprint[] = [objectFingerprint(ctx.host.name, { apiVersion: 'v1', resource: 'Secret', namespace: args.namespace, name: args.name }, live)];
    if (!reason || !pem) {
      return { changed: false, result: { secret_name: describe(ref), not_after: notAfter(pemOf(live)), ca_cert: caPem }, data: { target: ref, reason: '' }, fingerprints };
    }
    ctx.secret(pem.keyPem);
    ctx.secret(Buffer.from(pem.keyPem).toString('base64'));
    if (live && !isCreated(live)) {
      throw new Error(
        `${describe(ref)} exists and was not created by meshplay (${reason}); meshplay does not overwrite a Secret it did not create ` +
          '(uninstall could not put it back): delete or rename it, or give this task another name',
      );
    }
    const owner = args.owner ?? (typeof ctx.vars.meshplay_owner === 'string' ? ctx.vars.meshplay_owner : undefined);
    const labels = { 'meshplay.io/certificate': args.type };
    const target = markCreated(tlsSecret(args.name, args.namespace, pem, labels, args.type === 'server' && args.ca_in_secret ? caPem : undefined), owner);
    return {
      changed: true,
      msg: `${live ? 'update' : 'create'} ${describe(target)}: ${reason}`,
      diff: [diffOf(live, target)],
      result: { secret_name: describe(ref), reason, not_after: notAfter(pem), ca_cert: args.type === 'ca' ? pem.certPem : caPem },
      data: { target, reason },
      // A new key is made each time a plan is made: what is planned is the Secret to issue and why.
      changes: { secret: describe(target), reason, hosts: args.hosts },
      fingerprints,
    };
  },

  async apply(ctx, _args, plan): Promise<ModuleResult> {
    const conn = await kubeConnection(ctx);
    const { target } = plan.data;
    const after = await serverSideApply(conn, await secretResource(conn), target, { fieldManager: 'meshplay', force: true, dryRun: false });
    registerSecretValues(ctx, after);
    return { changed: true, msg: plan.msg, diff: plan.diff, ...(plan.result ?? {}) };
  },
};

export default tlsCertificate;
