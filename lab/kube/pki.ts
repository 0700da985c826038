// Certificates and keys for a lab cluster, made in-process (no openssl): a cluster CA, the API server's
// serving certificate, client certificates (admin, controller-manager) and the service-account key pair.
// ECDSA P-256 throughout: key generation is instant and every Kubernetes component accepts it.
import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ecdsa = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const signing = { name: 'ECDSA', hash: 'SHA-256' } as const;
const tenYears = 10 * 365 * 24 * 3600 * 1000;

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

export interface ClusterPki {
  ca: KeyAndCert;
  serving: KeyAndCert;
  admin: KeyAndCert;
  controllerManager: KeyAndCert;
  serviceAccount: { publicPem: string; privatePem: string };
}

async function newKeys(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ecdsa, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function privatePem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('pkcs8', key);
  return x509.PemConverter.encode(der, 'PRIVATE KEY') + '\n';
}

async function publicPem(key: CryptoKey): Promise<string> {
  const der = await webcrypto.subtle.exportKey('spki', key);
  return x509.PemConverter.encode(der, 'PUBLIC KEY') + '\n';
}

function validity() {
  // Back-dated a minute so a freshly made certificate is valid despite small clock differences.
  const notBefore = new Date(Date.now() - 60_000);
  return { notBefore, notAfter: new Date(notBefore.getTime() + tenYears) };
}

function serial(): string {
  // Positive (high bit clear) 16-byte serial.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0] &= 0x7f;
  return Buffer.from(b).toString('hex');
}

async function issue(
  ca: { keys: CryptoKeyPair; cert: x509.X509Certificate },
  subject: string,
  usage: 'server' | 'client',
  sans: { dns?: string[]; ip?: string[] } = {},
): Promise<KeyAndCert> {
  const keys = await newKeys();
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  const names = [
    ...(sans.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
    ...(sans.ip ?? []).map((value) => ({ type: 'ip' as const, value })),
  ];
  if (names.length) extensions.push(new x509.SubjectAlternativeNameExtension(names));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: ca.cert.subject,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    signingAlgorithm: signing,
    extensions,
    ...validity(),
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privatePem(keys.privateKey) };
}

/** Everything a lab cluster needs; `serviceIp` is the first address of the service CIDR (kubernetes.default). */
export async function makeClusterPki(clusterName: string, serviceIp?: string): Promise<ClusterPki> {
  const caKeys = await newKeys();
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=meshplay-lab-${clusterName}-ca`,
    keys: caKeys,
    signingAlgorithm: signing,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
    ...validity(),
  });
  const ca = { keys: caKeys, cert: caCert };
  const [serving, admin, controllerManager, saKeys] = await Promise.all([
    issue(ca, 'CN=kube-apiserver', 'server', {
      dns: ['localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local'],
      ip: ['127.0.0.1', ...(serviceIp ? [serviceIp] : [])],
    }),
    issue(ca, 'CN=meshplay-admin, O=system:masters', 'client'),
    issue(ca, 'CN=system:kube-controller-manager', 'client'),
    newKeys(),
  ]);
  return {
    ca: { certPem: caCert.toString('pem') + '\n', keyPem: await privatePem(caKeys.privateKey) },
    serving,
    admin,
    controllerManager,
    serviceAccount: { publicPem: await publicPem(saKeys.publicKey), privatePem: await privatePem(saKeys.privateKey) },
  };
}

/** A client certificate signed by an existing CA (tests: a user with limited RBAC rights). */
export async function issueClientCert(ca: KeyAndCert, commonName: string, organisation?: string): Promise<KeyAndCert> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const der = x509.PemConverter.decode(ca.keyPem)[0];
  const privateKey = await webcrypto.subtle.importKey('pkcs8', der, ecdsa, true, ['sign']);
  const publicKey = await caCert.publicKey.export(ecdsa, ['verify']);
  const subject = `CN=${commonName}${organisation ? `, O=${organisation}` : ''}`;
  return issue({ keys: { privateKey, publicKey }, cert: caCert }, subject, 'client');
}
