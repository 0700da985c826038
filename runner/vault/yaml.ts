// The loader's two hooks for Ansible Vault: a whole file encrypted by `ansible-vault encrypt` is opened before it
// is parsed, and each `!vault |` value is opened after. Neither ever lets the vault text stand in for the value:
// without a password that opens it, the file has a problem (validation, exit 4) and no value.
import { isMap, isPair, isScalar, isSeq, visit, type Document, type ScalarTag } from 'yaml';
import type { Problem } from '../errors.js';
import { decryptVault, isVaultText, parseEnvelope, VaultDecryptError, VaultFormatError } from './cipher.js';
import { addVaultPlaintext, vaultSecrets } from './keyring.js';

/** `!vault` keeps its vault text as a string until openVaultTags() replaces it with the plaintext. */
export const vaultTag: ScalarTag = { tag: '!vault', resolve: (text: string) => text };

/** What an unopened `!vault` value reads as while the rest of its file is checked (the problem stops the run). */
export const UNOPENED = '<vault value not decrypted>';

const HOW_TO_GIVE = '--vault-password-file FILE, --vault-id LABEL@SOURCE or --ask-vault-pass';

// Problems that mean "the password given is wrong": Ansible exits 1 for those, not 4.
const wrongPassword = new WeakSet<Problem>();

/** Whether a problem is a vault that none of the given passwords opens (exit 1, as ansible-playbook). */
export function isWrongVaultPassword(p: Problem): boolean {
  return wrongPassword.has(p);
}

export interface OpenedFile {
  text: string;
  /** Whether the whole file was vault-encrypted. */
  encrypted: boolean;
  problem?: Problem;
}

/** Opens a whole-file vault; other text passes through unchanged. */
export function openVaultFile(file: string, text: string): OpenedFile {
  if (!isVaultText(text)) return { text, encrypted: false };
  const at = { file, line: 1, column: 1 };
  try {
    const opened = decryptVault(text, vaultSecrets(), file);
    return { text: opened.plaintext.toString('utf8'), encrypted: true };
  } catch (e) {
    return { text: '', encrypted: true, problem: failure(e, at, `this file is encrypted with Ansible Vault${labelOf(text)}`) };
  }
}

/**
 * Replaces each `!vault` scalar's vault text by its plaintext (registered as a secret of the run); returns a
 * problem for each one that cannot be opened, naming its key.
 */
export function openVaultTags(doc: Document, position: (offset: number) => { file: string; line: number; column: number }): Problem[] {
  const problems: Problem[] = [];
  visit(doc, {
    Scalar(_key, node, path) {
      if (node.tag !== '!vault') return;
      const at = position(node.range?.[0] ?? 0);
      const name = keyPath(path, node);
      const text = String(node.value);
      try {
        const plaintext = decryptVault(text, vaultSecrets(), `${at.file}:${at.line}`).plaintext.toString('utf8');
        addVaultPlaintext(plaintext);
        node.value = plaintext;
      } catch (e) {
        node.value = UNOPENED;
        problems.push(failure(e, at, `the !vault value of '${name}'${labelOf(text)}`));
      }
    },
  });
  return problems;
}

function failure(e: unknown, at: { file: string; line: number; column: number }, what: string): Problem {
  if (e instanceof VaultDecryptError && e.noSecrets) return { ...at, message: `${what} and no vault password was given`, expected: HOW_TO_GIVE };
  if (e instanceof VaultDecryptError) {
    const p: Problem = { ...at, message: `${what}: Decryption failed (no vault secrets were found that could decrypt) on ${at.file}`, expected: 'the password it was encrypted with' };
    wrongPassword.add(p);
    return p;
  }
  if (e instanceof VaultFormatError) return { ...at, message: `${what} but is not valid vault data: ${e.message}`, expected: `the output of ansible-vault encrypt or encrypt_string` };
  throw e;
}

function labelOf(text: string): string {
  try {
    const label = parseEnvelope(text).label;
    return label ? ` (vault id '${label}')` : '';
  } catch {
    return '';
  }
}

/** `vars.db.password`, `clusters[0].api.token`: where the value sits, for the message. */
function keyPath(path: readonly unknown[], leaf: unknown): string {
  const parts: string[] = [];
  const chain = [...path, leaf];
  for (let i = 0; i < chain.length; i++) {
    const node = chain[i];
    if (isPair(node)) {
      const key = isScalar(node.key) ? String(node.key.value) : String(node.key);
      parts.push(parts.length ? `.${key}` : key);
    } else if (isSeq(node)) {
      const index = node.items.indexOf(chain[i + 1] as never);
      if (index >= 0) parts.push(`[${index}]`);
    } else if (isMap(node)) continue;
  }
  return parts.join('') || '(document)';
}
