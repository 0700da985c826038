// The vault passwords of this run and the values they opened. The command line sets the passwords once, before
// anything is loaded; every YAML file read afterwards is opened with them (runner/vault/yaml.ts), and every value
// they opened is handed to the redactor, so no output ever shows it.
import type { VaultSecret } from './cipher.js';

let secrets: readonly VaultSecret[] = [];
const plaintexts = new Set<string>();

export function setVaultSecrets(list: readonly VaultSecret[]): void {
  secrets = [...list];
}

export function vaultSecrets(): readonly VaultSecret[] {
  return secrets;
}

/** Records a decrypted value as a secret of this run. */
export function addVaultPlaintext(value: string): void {
  if (value !== '') plaintexts.add(value);
}

/** Every value a vault opened in this run (whole `!vault` values and the string values of encrypted files). */
export function vaultPlaintexts(): readonly string[] {
  return [...plaintexts];
}

/** Records every string leaf of a value opened from an encrypted file. */
export function addVaultLeaves(value: unknown, seen = new Set<object>()): void {
  if (typeof value === 'string') addVaultPlaintext(value);
  else if (value && typeof value === 'object' && !seen.has(value)) {
    seen.add(value);
    for (const v of Array.isArray(value) ? value : Object.values(value)) addVaultLeaves(v, seen);
  }
}

/** Records the values under every `vars:` mapping of a value (an encrypted inventory or playbook: names and addresses are not secret, variables are). */
export function addVaultVars(value: unknown, seen = new Set<object>()): void {
  if (!value || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const v of value) addVaultVars(v, seen);
    return;
  }
  for (const [k, v] of Object.entries(value)) {
    if (k === 'vars') addVaultLeaves(v);
    else addVaultVars(v, seen);
  }
}
