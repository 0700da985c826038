// Ansible Vault's file format, read and written with node:crypto (facts from ansible-core 2.14's
// lib/ansible/parsing/vault/__init__.py: VaultAES256, format_vaulttext_envelope, parse_vaulttext_envelope).
//
//   $ANSIBLE_VAULT;1.1;AES256            (1.2;AES256;LABEL when the secret has a label other than `default`)
//   hex( hex(salt) \n hex(hmac) \n hex(ciphertext) ), cut into lines of 80 characters, with a final newline
//
// key material = PBKDF2-HMAC-SHA256(password, salt of 32 random bytes, 10000 iterations, 80 bytes):
// bytes 0-31 the AES-256 key, 32-63 the HMAC-SHA256 key, 64-79 the initial CTR counter block.
// The plaintext is PKCS#7-padded to 16 bytes before AES-256-CTR (Ansible pads although CTR needs no padding),
// and the HMAC covers the ciphertext only. The label is not authenticated: it only says which secret to try first.
import { createCipheriv, createDecipheriv, createHmac, pbkdf2Sync, randomBytes, timingSafeEqual } from 'node:crypto';

export const VAULT_HEADER = '$ANSIBLE_VAULT';
/** The label of a secret given without one (`--vault-password-file`, `--ask-vault-pass`), as Ansible names it. */
export const DEFAULT_VAULT_ID = 'default';

const ITERATIONS = 10000;
const KEY_LENGTH = 32;
const IV_LENGTH = 16;
const SALT_LENGTH = 32;
const LINE = 80;

/** A password and the label (vault id) it is known by. */
export interface VaultSecret {
  label: string;
  password: Buffer;
  /** Where it came from, for messages: a file, a script, or `prompt`. Never the password. */
  source: string;
}

export interface VaultEnvelope {
  version: string;
  cipher: string;
  /** The label in a 1.2 header, else undefined. */
  label?: string;
  /** The hex payload, line breaks removed. */
  payload: string;
}

/** The vault text is malformed (not a wrong password): Ansible's AnsibleVaultFormatError. */
export class VaultFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultFormatError';
  }
}

/** No secret given could open the vault text. */
export class VaultDecryptError extends Error {
  /** Whether there were no secrets at all (as opposed to none that worked). */
  readonly noSecrets: boolean;
  constructor(message: string, noSecrets: boolean) {
    super(message);
    this.name = 'VaultDecryptError';
    this.noSecrets = noSecrets;
  }
}

/** Whether text (or bytes) is vault data: it starts with the header, as Ansible's is_encrypted() decides. */
export function isVaultText(data: string | Buffer): boolean {
  const text = typeof data === 'string' ? data : data.subarray(0, VAULT_HEADER.length).toString('latin1');
  return text.startsWith(VAULT_HEADER);
}

export function parseEnvelope(text: string): VaultEnvelope {
  const lines = text.split(/\r?\n/);
  const header = lines[0].trim().split(';');
  if (header[0].trim() !== VAULT_HEADER) throw new VaultFormatError(`not vault data: the first line must start with ${VAULT_HEADER}`);
  if (header.length < 3) throw new VaultFormatError(`vault header '${lines[0].trim()}' lacks a version and a cipher`);
  const version = header[1].trim();
  const cipher = header[2].trim();
  const label = header.length >= 4 ? header[3].trim() : undefined;
  return { version, cipher, label, payload: lines.slice(1).map((l) => l.trim()).join('') };
}

export function formatEnvelope(payload: string, label?: string): string {
  const header = label && label !== DEFAULT_VAULT_ID ? `${VAULT_HEADER};1.2;AES256;${label}` : `${VAULT_HEADER};1.1;AES256`;
  const lines = [header];
  for (let i = 0; i < payload.length; i += LINE) lines.push(payload.slice(i, i + LINE));
  return `${lines.join('\n')}\n`;
}

function unhex(hex: string, what: string): Buffer {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new VaultFormatError(`vault ${what} is not hexadecimal`);
  return Buffer.from(hex, 'hex');
}

function deriveKeys(password: Buffer, salt: Buffer): { cipherKey: Buffer; hmacKey: Buffer; iv: Buffer } {
  const derived = pbkdf2Sync(password, salt, ITERATIONS, 2 * KEY_LENGTH + IV_LENGTH, 'sha256');
  return {
    cipherKey: derived.subarray(0, KEY_LENGTH),
    hmacKey: derived.subarray(KEY_LENGTH, 2 * KEY_LENGTH),
    iv: derived.subarray(2 * KEY_LENGTH),
  };
}

/** The vault text of `plaintext` under `secret` (1.2 with the label unless it is `default`). */
export function encryptVault(plaintext: string | Buffer, secret: VaultSecret, salt: Buffer = randomBytes(SALT_LENGTH)): string {
  const data = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
  if (isVaultText(data)) throw new VaultFormatError('input is already encrypted');
  const { cipherKey, hmacKey, iv } = deriveKeys(secret.password, salt);
  const pad = 16 - (data.length % 16);
  const padded = Buffer.concat([data, Buffer.alloc(pad, pad)]);
  const cipher = createCipheriv('aes-256-ctr', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(padded), cipher.final()]);
  const hmac = createHmac('sha256', hmacKey).update(ciphertext).digest();
  const inner = [salt.toString('hex'), hmac.toString('hex'), ciphertext.toString('hex')].join('\n');
  return formatEnvelope(Buffer.from(inner, 'ascii').toString('hex'), secret.label);
}

/** Decrypts with one secret; undefined when the HMAC says the password is wrong. */
function decryptWith(payload: string, password: Buffer): Buffer | undefined {
  const inner = unhex(payload, 'payload').toString('latin1');
  const parts = inner.split('\n');
  if (parts.length < 3) throw new VaultFormatError('vault payload must hold a salt, an HMAC and the ciphertext');
  const salt = unhex(parts[0], 'salt');
  const expected = unhex(parts[1], 'HMAC');
  const ciphertext = unhex(parts.slice(2).join('\n'), 'ciphertext');
  const { cipherKey, hmacKey, iv } = deriveKeys(password, salt);
  const actual = createHmac('sha256', hmacKey).update(ciphertext).digest();
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return undefined;
  const decipher = createDecipheriv('aes-256-ctr', cipherKey, iv);
  const padded = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  const pad = padded.length ? padded[padded.length - 1] : 0;
  if (pad < 1 || pad > 16 || pad > padded.length || !padded.subarray(padded.length - pad).every((b) => b === pad)) {
    throw new VaultFormatError('vault plaintext has invalid padding');
  }
  return padded.subarray(0, padded.length - pad);
}

/**
 * Secrets in the order Ansible tries them: those whose label is the vault text's label (`default` for 1.1)
 * first, then every other one (ansible.cfg's vault_id_match is off by default: the label is a hint, not a lock).
 */
export function candidateSecrets(secrets: readonly VaultSecret[], label: string | undefined): VaultSecret[] {
  const wanted = label ?? DEFAULT_VAULT_ID;
  return [...secrets.filter((s) => s.label === wanted), ...secrets.filter((s) => s.label !== wanted)];
}

export interface Decrypted {
  plaintext: Buffer;
  /** The label of the secret that opened it. */
  label: string;
  secret: VaultSecret;
}

/**
 * Opens vault text with the first secret that works. `where` names the file (and key) for the messages,
 * which follow Ansible's wording.
 */
export function decryptVault(text: string, secrets: readonly VaultSecret[], where?: string): Decrypted {
  const envelope = parseEnvelope(text);
  if (envelope.cipher !== 'AES256') throw new VaultFormatError(`${envelope.cipher} cipher could not be found${where ? ` (${where})` : ''}`);
  if (!secrets.length) throw new VaultDecryptError(`Attempting to decrypt but no vault secrets found${where ? ` (${where})` : ''}`, true);
  for (const secret of candidateSecrets(secrets, envelope.label)) {
    const plaintext = decryptWith(envelope.payload, secret.password);
    if (plaintext) return { plaintext, label: secret.label, secret };
  }
  throw new VaultDecryptError(`Decryption failed (no vault secrets were found that could decrypt)${where ? ` on ${where}` : ''}`, false);
}
