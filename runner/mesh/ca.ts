// The mesh's certificate authorities, made in-process with @peculiar/x509 (no openssl): one root CA for the
// whole mesh and one intermediate CA per cluster, installed as Istio's `cacerts` (Citadel / istiod signs
// workload certificates with the intermediate; every cluster trusts the shared root, so mTLS works across).
import 'reflect-metadata';
import { createPrivateKey, createPublicKey, webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export { keyTypes, cacertsKeys, type KeyType, type KeyAndCert, type Cacerts } from './cacerts.js';
import type { KeyType, KeyAndCert, Cacerts } from './cacerts.js';
import { cacertsKeys } from './cacerts.js';

const day = 24 * 3600 * 1000;

function algorithms(keyType: KeyType): { gen: RsaHashedKeyGenParams | EcKeyGenParams; sign: Algorithm | EcdsaParams } {
  if (keyType.startsWith('rsa-')) {
    const modulusLength = Number(keyType.slice(4));
    return {
      gen: { name: 'RSASSA-PKCS1-v1_5', modulusLength, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' },
      sign: { name: 'RSASSA-PKCS1-v1_5' },
    };
  }
  const curve = keyType === 'ecdsa-p384' ? 'P-384' : 'P-256';
  const hash = keyType === 'ecdsa-p384' ? 'SHA-384' : 'SHA-256';
  return { gen: { name: 'ECDSA', namedCurve: curve }, sign: { name: 'ECDSA', hash } as EcdsaParams };
}

function serial(): string {
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  b[0]! |= 0x01; // never a leading zero byte (some parsers reject a non-minimal encoding)
  return Buffer.from(b).toString('hex');
}

async function privatePem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY') + '\n';
}

/** Imports a PKCS#8 PEM private key for signing, with the algorithm its key type needs. */
async function importSigningKey(keyPem: string, cert: x509.X509Certificate): Promise<{ key: CryptoKey; sign: Algorithm | EcdsaParams }> {
  const der = createPrivateKey(keyPem).export({ format: 'der', type: 'pkcs8' });
  const alg = cert.publicKey.algorithm as RsaHashedKeyAlgorithm | EcKeyAlgorithm;
  if (alg.name === 'ECDSA') {
    const curve = (alg as EcKeyAlgorithm).namedCurve;
    const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
    return { key: key as CryptoKey, sign: { name: 'ECDSA', hash: curve === 'P-384' ? 'SHA-384' : 'SHA-256' } as EcdsaParams };
  }
  const key = await webcrypto.subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  return { key: key as CryptoKey, sign: { name: 'RSASSA-PKCS1-v1_5' } };
}

export interface CaOptions {
  keyType?: KeyType;
  /** Lifetime in days. */
  days?: number;
  organization?: string;
  commonName?: string;
  now?: Date;
}

function subjectOf(o: CaOptions, fallbackCn: string): string {
  const esc = (s: string) => s.replace(/([,+"\\<>;=])/g, '\\$1');
  return `O=${esc(o.organization ?? 'meshplay')}, CN=${esc(o.commonName ?? fallbackCn)}`;
}

export async function createRootCa(o: CaOptions = {}): Promise<KeyAndCert> {
  const { gen, sign } = algorithms(o.keyType ?? 'rsa-2048');
  const keys = (await webcrypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date((o.now ?? new Date()).getTime() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: subjectOf(o, 'meshplay mesh root CA'),
    keys,
    signingAlgorithm: sign,
    notBefore,
    notAfter: new Date(notBefore.getTime() + (o.days ?? 3650) * day),
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privatePem(keys.privateKey) };
}

/** An intermediate CA for one cluster, signed by the root; it may sign leaf certificates only (pathLen 0). */
export async function createIntermediateCa(root: KeyAndCert, cluster: string, o: CaOptions = {}): Promise<KeyAndCert> {
  const rootCert = new x509.X509Certificate(root.certPem);
  const signer = await importSigningKey(root.keyPem, rootCert);
  const { gen } = algorithms(o.keyType ?? 'rsa-2048');
  const keys = (await webcrypto.subtle.generateKey(gen, true, ['sign', 'verify'])) as CryptoKeyPair;
  const notBefore = new Date((o.now ?? new Date()).getTime() - 60_000);
  let notAfter = new Date(notBefore.getTime() + (o.days ?? 365) * day);
  // An intermediate outliving its root would fail verification at the end; cap it.
  if (notAfter > rootCert.notAfter) notAfter = rootCert.notAfter;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subjectOf(o, `meshplay intermediate CA ${cluster}`),
    issuer: rootCert.subject,
    publicKey: keys.publicKey,
    signingKey: signer.key,
    signingAlgorithm: signer.sign,
    notBefore,
    notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await privatePem(keys.privateKey) };
}

export function cacertsFiles(root: KeyAndCert, intermediate: KeyAndCert): Cacerts {
  return {
    'ca-cert.pem': intermediate.certPem,
    'ca-key.pem': intermediate.keyPem,
    'root-cert.pem': root.certPem,
    'cert-chain.pem': intermediate.certPem + root.certPem,
  };
}

export interface Verification {
  ok: boolean;
  /** Human-readable reasons it is not OK (empty when ok). Never contains key material. */
  problems: string[];
  notAfter?: Date;
  subject?: string;
  keyType?: string;
  serial?: string;
}

function splitPems(text: string): string[] {
  return text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

export function describeKey(cert: x509.X509Certificate): string {
  const alg = cert.publicKey.algorithm as RsaHashedKeyAlgorithm | EcKeyAlgorithm;
  if (alg.name === 'ECDSA') return `ecdsa-${(alg as EcKeyAlgorithm).namedCurve.replace('P-', 'p')}`;
  return `rsa-${(alg as RsaHashedKeyAlgorithm).modulusLength}`;
}

function sameCert(a: string, b: string): boolean {
  try {
    return new x509.X509Certificate(a).equal(new x509.X509Certificate(b));
  } catch {
    return false;
  }
}

/** Whether a PEM private key belongs to the certificate's public key (compares SPKI bytes). */
export function keyMatchesCert(keyPem: string, cert: x509.X509Certificate): boolean {
  try {
    const spki = createPublicKey(createPrivateKey(keyPem)).export({ format: 'der', type: 'spki' });
    return Buffer.from(cert.publicKey.rawData).equals(spki);
  } catch {
    return false;
  }
}

/**
 * Checks a cacerts set against the mesh root: the intermediate is a CA signed by the root and valid now,
 * the key is the intermediate's, root-cert.pem is the root, cert-chain.pem is intermediate then root.
 */
export async function verifyCacerts(files: Partial<Cacerts>, rootCertPem: string, now = new Date()): Promise<Verification> {
  const problems: string[] = [];
  for (const k of cacertsKeys) if (!files[k]) problems.push(`${k} is missing`);
  if (problems.length) return { ok: false, problems };
  let root: x509.X509Certificate;
  let ca: x509.X509Certificate;
  try {
    root = new x509.X509Certificate(rootCertPem);
  } catch (e) {
    return { ok: false, problems: [`the mesh root certificate does not parse: ${(e as Error).message}`] };
  }
  try {
    ca = new x509.X509Certificate(files['ca-cert.pem']!);
  } catch (e) {
    return { ok: false, problems: [`ca-cert.pem does not parse: ${(e as Error).message}`] };
  }
  const info = { notAfter: ca.notAfter, subject: ca.subject, keyType: describeKey(ca), serial: ca.serialNumber };
  if (!sameCert(files['root-cert.pem']!, rootCertPem)) problems.push('root-cert.pem is not the mesh root CA');
  if (!(await ca.verify({ publicKey: root, signatureOnly: true }))) problems.push(`ca-cert.pem (${ca.subject}) is not signed by the mesh root (${root.subject})`);
  if (ca.issuer !== root.subject) problems.push(`ca-cert.pem issuer '${ca.issuer}' is not the root subject '${root.subject}'`);
  const bc = ca.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) problems.push('ca-cert.pem is not a CA certificate (basicConstraints CA:FALSE or absent)');
  if (now < ca.notBefore) problems.push(`ca-cert.pem is not valid before ${ca.notBefore.toISOString()}`);
  if (now > ca.notAfter) problems.push(`ca-cert.pem expired on ${ca.notAfter.toISOString()}`);
  if (now > root.notAfter) problems.push(`the mesh root expired on ${root.notAfter.toISOString()}`);
  if (!keyMatchesCert(files['ca-key.pem']!, ca)) problems.push('ca-key.pem is not the key of ca-cert.pem');
  const chain = splitPems(files['cert-chain.pem']!);
  if (chain.length < 2 || !sameCert(chain[0]!, files['ca-cert.pem']!) || !sameCert(chain[chain.length - 1]!, rootCertPem)) {
    problems.push('cert-chain.pem must be ca-cert.pem followed by the root certificate');
  }
  // The library's own chain builder must reach the root from the intermediate, too.
  if (!problems.length) {
    const built = await new x509.X509ChainBuilder({ certificates: [root] }).build(ca);
    if (built.length < 2 || !built[built.length - 1]!.equal(root)) problems.push('no chain from ca-cert.pem to the mesh root');
  }
  return { ok: problems.length === 0, problems, ...info };
}

export function certInfo(certPem: string): { notAfter: Date; notBefore: Date; subject: string; keyType: string; serial: string; isCa: boolean; selfSigned: boolean } {
  const c = new x509.X509Certificate(certPem);
  return {
    notAfter: c.notAfter,
    notBefore: c.notBefore,
    subject: c.subject,
    keyType: describeKey(c),
    serial: c.serialNumber,
    isCa: !!c.getExtension(x509.BasicConstraintsExtension)?.ca,
    selfSigned: c.subject === c.issuer,
  };
}

/** Verifies a stored root: self-signed CA whose key matches. */
export async function verifyRoot(root: KeyAndCert, now = new Date()): Promise<Verification> {
  const problems: string[] = [];
  let c: x509.X509Certificate;
  try {
    c = new x509.X509Certificate(root.certPem);
  } catch (e) {
    return { ok: false, problems: [`root certificate does not parse: ${(e as Error).message}`] };
  }
  if (!(await c.isSelfSigned())) problems.push('root certificate is not self-signed');
  if (!c.getExtension(x509.BasicConstraintsExtension)?.ca) problems.push('root certificate is not a CA');
  if (!keyMatchesCert(root.keyPem, c)) problems.push('root key does not match the root certificate');
  if (now > c.notAfter) problems.push(`root certificate expired on ${c.notAfter.toISOString()}`);
  return { ok: !problems.length, problems, notAfter: c.notAfter, subject: c.subject, keyType: describeKey(c), serial: c.serialNumber };
}
