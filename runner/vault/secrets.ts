// Where vault passwords come from, in the order Ansible (cli/__init__.py: build_vault_ids, setup_vault_secrets)
// collects them: every `--vault-id LABEL@SOURCE`, then every `--vault-password-file FILE` (label `default`), then
// `--ask-vault-pass`. A source is `prompt`, a file holding the password, or an executable that prints it
// (one named `*-client*` is asked for the label with `--vault-id LABEL`).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { homedir } from 'node:os';
import { basename, extname, resolve } from 'node:path';
import { DEFAULT_VAULT_ID, decryptVault, isVaultText, type VaultSecret } from './cipher.js';
import { askPassword, PromptEOF } from './prompt.js';

export interface VaultCliOptions {
  vaultIds: string[];
  passwordFiles: string[];
  askVaultPass: boolean;
}

export interface LoadSecretsOptions {
  /** The secrets are for encrypting: a prompt asks twice ("New vault password", "Confirm ..."). */
  newPassword?: boolean;
  /** Prompt when no source is given at all (ansible-vault does; ansible-playbook does not). */
  autoPrompt?: boolean;
  /** Where Ansible's warnings go (a source that failed while another one may still work). */
  warn?: (message: string) => void;
}

/** A vault source could not give a password: Ansible's AnsibleError, exit 1. */
export class VaultSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VaultSetupError';
  }
}

/** A bad `--vault-id` value: an option error (exit 5), as ansible-vault's post_process_args raises. */
export function checkVaultIds(ids: readonly string[]): string | undefined {
  const bad = ids.find((id) => id.includes(';'));
  return bad === undefined ? undefined : `'${bad}' is not a valid vault id. The character ';' is not allowed in vault ids`;
}

const PROMPT_SOURCES = new Set(['prompt', 'prompt_ask_vault_pass']);

export function vaultIdSlugs(opts: VaultCliOptions, autoPrompt: boolean): string[] {
  const slugs = [...opts.vaultIds, ...opts.passwordFiles.map((f) => `${DEFAULT_VAULT_ID}@${f}`)];
  if (opts.askVaultPass || (slugs.length === 0 && autoPrompt)) slugs.push(`${DEFAULT_VAULT_ID}@prompt_ask_vault_pass`);
  return slugs;
}

/** `label@source` -> [label, source]; without `@` the whole value is the source and there is no label. */
export function splitVaultId(slug: string): [string | undefined, string] {
  const at = slug.indexOf('@');
  return at < 0 ? [undefined, slug] : [slug.slice(0, at), slug.slice(at + 1)];
}

export async function loadVaultSecrets(opts: VaultCliOptions, load: LoadSecretsOptions = {}): Promise<VaultSecret[]> {
  const warn = load.warn ?? ((m: string) => process.stderr.write(`[WARNING]: ${m}\n`));
  const secrets: VaultSecret[] = [];
  let lastError: VaultSetupError | undefined;
  for (const slug of vaultIdSlugs(opts, load.autoPrompt ?? false)) {
    const [name, source] = splitVaultId(slug);
    const label = name || DEFAULT_VAULT_ID;
    if (PROMPT_SOURCES.has(source)) {
      const formats = promptFormats(source === 'prompt', Boolean(load.newPassword), label);
      try {
        secrets.push({ label, password: await promptSecret(formats, label), source: 'prompt' });
      } catch (e) {
        if (e instanceof VaultSetupError) warn(`Error in vault password prompt (${name}): ${e.message}`);
        throw e;
      }
      continue;
    }
    const file = expandPath(source);
    if (!existsSync(file)) {
      lastError = new VaultSetupError(`The vault password file ${file} was not found`);
      warn(`Error getting vault password file (${name}): ${lastError.message}`);
      continue;
    }
    try {
      const password = isExecutable(file) ? runPasswordScript(file, name) : readPasswordFile(file, secrets);
      secrets.push({ label, password, source: file });
    } catch (e) {
      if (!(e instanceof VaultSetupError)) throw e;
      lastError = e;
      warn(`Error in vault password file loading (${name}): ${e.message}`);
    }
  }
  if (lastError && secrets.length === 0) throw lastError;
  return secrets;
}

function promptFormats(withLabel: boolean, newPassword: boolean, label: string): string[] {
  if (withLabel) return newPassword ? [`New vault password (${label}): `, `Confirm new vault password (${label}): `] : [`Vault password (${label}): `];
  // `--ask-vault-pass` keeps Ansible's older wording (tools such as AWX match on 'Vault password:').
  return newPassword ? ['New Vault password: ', 'Confirm New Vault password: '] : ['Vault password: '];
}

async function promptSecret(formats: string[], label: string): Promise<Buffer> {
  const answers: Buffer[] = [];
  for (const prompt of formats) {
    let answer: string;
    try {
      answer = await askPassword(prompt);
    } catch (e) {
      if (e instanceof PromptEOF) throw new VaultSetupError(`EOFError (ctrl-d) on prompt for (${label})`);
      throw e;
    }
    const password = stripWhitespace(Buffer.from(answer, 'utf8'));
    if (password.length === 0) throw new VaultSetupError('Invalid vault password was provided');
    answers.push(password);
  }
  if (answers.some((a) => !a.equals(answers[0]))) throw new VaultSetupError('Passwords do not match');
  return answers[0];
}

function expandPath(path: string): string {
  const expanded = path === '~' ? homedir() : path.startsWith('~/') ? `${homedir()}${path.slice(1)}` : path;
  return resolve(expanded);
}

/** Any execute bit makes a password file a script, as Ansible's is_executable() decides. */
function isExecutable(file: string): boolean {
  const st = statSync(file);
  return st.isFile() && (st.mode & 0o111) !== 0;
}

function readPasswordFile(file: string, earlier: VaultSecret[]): Buffer {
  let data: Buffer;
  try {
    data = stripWhitespace(readFileSync(file));
  } catch (e) {
    throw new VaultSetupError(`Could not read vault password file ${file}: ${(e as Error).message}`);
  }
  // A password file may itself be vault-encrypted with a password given earlier on the command line.
  if (isVaultText(data)) {
    try {
      data = decryptVault(data.toString('utf8'), earlier, file).plaintext;
    } catch (e) {
      throw new VaultSetupError((e as Error).message);
    }
  }
  const password = stripLineEnds(data);
  if (password.length === 0) throw new VaultSetupError(`Invalid vault password was provided from file (${file})`);
  return password;
}

function runPasswordScript(file: string, label: string | undefined): Buffer {
  const client = basename(file, extname(file)).endsWith('-client');
  const args = client && label ? ['--vault-id', label] : [];
  // stderr stays on the terminal for a plain script, so it can prompt; a client script's is captured for the message.
  const run = spawnSync(file, args, { stdio: ['inherit', 'pipe', client ? 'pipe' : 'inherit'], maxBuffer: 1 << 20 });
  if (run.error) throw new VaultSetupError(`Problem running vault password ${client ? 'client ' : ''}script ${file} (${run.error.message}). If this is not a script, remove the executable bit from the file.`);
  const stderr = client ? run.stderr.toString('utf8').trim() : 'None';
  if (client && run.status === 2) throw new VaultSetupError(`Vault password client script ${file} did not find a secret for vault-id=${label}: ${stderr}`);
  if (run.status !== 0) {
    const code = run.status ?? run.signal;
    throw new VaultSetupError(
      client
        ? `Vault password client script ${file} returned non-zero (${code}) when getting secret for vault-id=${label}: ${stderr}`
        : `Vault password script ${file} returned non-zero (${code}): ${stderr}`,
    );
  }
  const password = stripLineEnds(run.stdout);
  if (password.length === 0) throw new VaultSetupError(`Invalid vault password was provided from script (${file})`);
  return password;
}

/** Python's bytes.strip(): ASCII whitespace at both ends. */
function stripWhitespace(b: Buffer): Buffer {
  return trimBytes(b, (c) => c === 0x20 || (c >= 0x09 && c <= 0x0d));
}

/** Python's bytes.strip(b'\r\n'). */
function stripLineEnds(b: Buffer): Buffer {
  return trimBytes(b, (c) => c === 0x0a || c === 0x0d);
}

function trimBytes(b: Buffer, strip: (c: number) => boolean): Buffer {
  let start = 0;
  let end = b.length;
  while (start < end && strip(b[start])) start++;
  while (end > start && strip(b[end - 1])) end--;
  return b.subarray(start, end);
}
