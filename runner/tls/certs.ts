// Reads stored TLS certificates with node:crypto alone (cheap to load): which certificate must be re-issued, and why.
import { X509Certificate as NodeX509, createPrivateKey, createPublicKey } from 'node:crypto';

export interface Pem {
  certPem: string;
  keyPem: string;
}

export const day = 24 * 3600 * 1000;

/** Splits a PEM bundle into certificates. */
export function pemCerts(bundle: string): string[] {
  return bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
}

/** Why a server certificate must be (re)issued, or undefined when it is fine. Pure apart from the clock. */
export function reissueReason(existing: Pem | undefined, caPem: string, hosts: string[], renewBeforeDays: number, now = Date.now()): string | undefined {
  if (!existing?.certPem || !existing.keyPem) return 'no certificate yet';
  let leaf: NodeX509;
  try {
    leaf = new NodeX509(pemCerts(existing.certPem)[0] ?? '');
  } catch {
    return 'the stored certificate cannot be read';
  }
  const ca = new NodeX509(caPem);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) return 'the stored certificate is not signed by the CA';
  try {
    if (!createPublicKey(createPrivateKey(existing.keyPem)).equals(leaf.publicKey)) return 'the stored key does not match the certificate';
  } catch {
    return 'the stored key cannot be read';
  }
  const names = (leaf.subjectAltName ?? '')
    .split(', ')
    .flatMap((s) => (s.startsWith('DNS:') ? [s.slice(4)] : s.startsWith('IP Address:') ? [s.slice(11)] : []))
    .sort();
  const want = [...new Set(hosts)].sort();
  if (names.join(',') !== want.join(',')) return `hosts changed (certificate has ${names.join(', ') || 'none'}, want ${want.join(', ')})`;
  const left = new Date(leaf.validTo).getTime() - now;
  if (left < renewBeforeDays * day) return `expires ${leaf.validTo}, within renew_before (${renewBeforeDays} days)`;
  return undefined;
}

