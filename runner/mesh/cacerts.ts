// Names and shapes of the mesh CA's material, without the X.509 library: modules read these when a playbook
// loads, and @peculiar/x509 (~80 ms to load) is imported only when a certificate is made or checked.
export type KeyType = 'rsa-2048' | 'rsa-3072' | 'rsa-4096' | 'ecdsa-p256' | 'ecdsa-p384';
export const keyTypes: KeyType[] = ['rsa-2048', 'rsa-3072', 'rsa-4096', 'ecdsa-p256', 'ecdsa-p384'];

export interface KeyAndCert {
  certPem: string;
  keyPem: string;
}

/** The four files of Istio's `cacerts` Secret. */
export interface Cacerts {
  'ca-cert.pem': string;
  'ca-key.pem': string;
  'root-cert.pem': string;
  'cert-chain.pem': string;
}

export const cacertsKeys = ['ca-cert.pem', 'ca-key.pem', 'root-cert.pem', 'cert-chain.pem'] as const;
