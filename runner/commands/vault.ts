// `meshplay vault encrypt|decrypt|view|encrypt_string|rekey`: ansible-vault's commands, same options, same
// output, same exit codes (5 for a bad option, 1 for anything else that fails), so scripts written for one work
// with the other and each reads what the other wrote.
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, statSync, chmodSync, unlinkSync, writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { ExitCode } from '../errors.js';
import { decryptVault, encryptVault, isVaultText, VaultDecryptError, VaultFormatError, type VaultSecret } from '../vault/cipher.js';
import { askPassword, PromptEOF, PromptInterrupted, readStdinRest } from '../vault/prompt.js';
import { checkVaultIds, loadVaultSecrets, VaultSetupError, type VaultCliOptions } from '../vault/secrets.js';
import { VAULT_OPTION_SPECS, vaultCliOptions } from '../vault/options.js';
import { HelpRequested, parseCommandLine, type CommandSpec, type OptionSpec } from './options.js';

const USAGE = `usage: meshplay vault ACTION [options] [FILE...]

actions (as ansible-vault):
  encrypt [FILE...]          encrypt files in place (stdin when none or '-')       --output FILE|-, --encrypt-vault-id LABEL
  decrypt [FILE...]          decrypt files in place (stdin when none or '-')       --output FILE|-
  view FILE...               print decrypted files
  encrypt_string [STRING...] print '!vault |' values (stdin when none or '-')     -n/--name NAME, --stdin-name NAME, -p/--prompt,
                                                                                   --show-input, --output FILE|-, --encrypt-vault-id LABEL
  rekey FILE...              re-encrypt files with a new password                  --new-vault-password-file FILE | --new-vault-id [LABEL@]SOURCE,
                                                                                   --encrypt-vault-id LABEL

password options (every action):
      --vault-id [LABEL@]SOURCE   SOURCE: a file, an executable that prints the password, or 'prompt' (repeatable)
      --vault-password-file FILE  a password file or executable, label 'default' (repeatable)
      --ask-vault-pass            ask for the password (the default when no source is given)
`;

/** An option error: exit 5, as AnsibleOptionsError. */
class VaultOptionError extends Error {}
/** Anything else: exit 1, as AnsibleError. */
class VaultError extends Error {}

const ACTIONS = new Set(['encrypt', 'decrypt', 'view', 'encrypt_string', 'rekey']);

export async function vaultCommand(argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  if (action === undefined || action === '-h' || action === '--help') {
    process.stdout.write(USAGE);
    return action === undefined ? ExitCode.badOption : ExitCode.ok;
  }
  if (!ACTIONS.has(action)) {
    process.stderr.write(`meshplay vault: unknown action '${action}' (${[...ACTIONS].join(', ')})\n\n${USAGE}`);
    return ExitCode.badOption;
  }
  try {
    await runAction(action, rest);
    return ExitCode.ok;
  } catch (e) {
    if (e instanceof HelpRequested) {
      process.stdout.write(e.text);
      return ExitCode.ok;
    }
    if (e instanceof VaultOptionError) {
      process.stderr.write(`ERROR! ${e.message}\n`);
      return ExitCode.badOption;
    }
    if (e instanceof PromptInterrupted) {
      process.stderr.write('ERROR! User interrupted execution\n');
      return ExitCode.interrupted;
    }
    if (e instanceof VaultError || e instanceof VaultSetupError || e instanceof VaultDecryptError || e instanceof VaultFormatError) {
      process.stderr.write(`ERROR! ${e.message}\n`);
      return ExitCode.error;
    }
    throw e;
  }
}

interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>;
  args: string[];
  vault: VaultCliOptions;
}

const SUMMARIES: Record<string, [string, string]> = {
  encrypt: ['[FILE...|-]', 'Encrypt files in place, or stdin (no file or -) to --output, as ansible-vault encrypt.'],
  decrypt: ['[FILE...|-]', 'Decrypt files in place, or stdin (no file or -) to --output, as ansible-vault decrypt.'],
  view: ['FILE...', 'Print decrypted files, as ansible-vault view.'],
  encrypt_string: ['[STRING...|-]', "Print each string as a YAML '!vault |' value (stdin when none or -), as ansible-vault encrypt_string."],
  rekey: ['FILE...', 'Re-encrypt files with a new password, as ansible-vault rekey.'],
};

/** One option spec per action, as ansible-vault's subcommands take them. */
export function vaultActionSpec(action: string): CommandSpec {
  const options: OptionSpec[] = [...VAULT_OPTION_SPECS, { name: 'verbose', short: 'v', type: 'boolean', multiple: true, help: 'more output' }];
  if (action === 'encrypt' || action === 'decrypt' || action === 'encrypt_string') options.push({ name: 'output', type: 'string', arg: 'FILE|-', help: 'write here instead (- for stdout)' });
  if (action === 'encrypt' || action === 'encrypt_string' || action === 'rekey') {
    options.push({ name: 'encrypt-vault-id', type: 'string', arg: 'LABEL', help: 'the vault id to encrypt with (needed when several are given)' });
  }
  if (action === 'encrypt_string') {
    options.push(
      { name: 'prompt', short: 'p', type: 'boolean', help: 'prompt for the string to encrypt' },
      { name: 'show-input', type: 'boolean', help: 'echo the string typed at --prompt' },
      { name: 'name', short: 'n', type: 'string', multiple: true, arg: 'NAME', help: 'the variable name of the next string' },
      { name: 'stdin-name', type: 'string', arg: 'NAME', help: 'the variable name of the string read from stdin' },
    );
  }
  if (action === 'rekey') {
    options.push(
      { name: 'new-vault-password-file', type: 'string', arg: 'FILE', help: 'the new password file or executable' },
      { name: 'new-vault-id', type: 'string', arg: '[LABEL@]SOURCE', help: 'the new vault id' },
    );
  }
  const [args, summary] = SUMMARIES[action]!;
  return { name: `meshplay vault ${action}`, usage: [`meshplay vault ${action} [options] ${args}`], summary, options };
}

function parse(action: string, argv: string[]): Parsed {
  let parsed;
  try {
    const normalized = argv.flatMap((a) => (/^-v{2,}$/.test(a) ? Array.from({ length: a.length - 1 }, () => '-v') : [a]));
    parsed = parseCommandLine(vaultActionSpec(action), normalized, { allowPositionals: true });
  } catch (e) {
    if (e instanceof HelpRequested) throw e;
    throw new VaultOptionError((e as Error).message);
  }
  const values = parsed.values as Parsed['values'];
  const vault = vaultCliOptions(values);
  const badId = checkVaultIds(vault.vaultIds);
  if (badId) throw new VaultOptionError(badId);
  if (vault.askVaultPass && vault.passwordFiles.length) throw new VaultOptionError('--ask-vault-pass and --vault-password-file cannot be used together');
  if (values.output !== undefined && parsed.positionals.length > 1) throw new VaultOptionError('At most one input file may be used with the --output option');
  if (values['new-vault-password-file'] !== undefined && values['new-vault-id'] !== undefined) {
    throw new VaultOptionError('--new-vault-password-file and --new-vault-id cannot be used together');
  }
  return { values, args: parsed.positionals, vault };
}

async function runAction(action: string, argv: string[]): Promise<void> {
  const p = parse(action, argv);
  const output = typeof p.values.output === 'string' ? (p.values.output === '-' ? '-' : resolve(p.values.output)) : undefined;
  switch (action) {
    case 'encrypt': {
      const [label, secret] = await encryptSecret(p.vault, p.values['encrypt-vault-id'] as string | undefined);
      if (!p.args.length && process.stdin.isTTY) process.stderr.write('Reading plaintext input from stdin\n');
      for (const f of p.args.length ? p.args : ['-']) {
        const plaintext = await readInput(f);
        if (isVaultText(plaintext)) throw new VaultError('input is already encrypted');
        writeOutput(encryptVault(plaintext, { ...secret, label }), output ?? f);
      }
      if (process.stdout.isTTY) process.stderr.write('Encryption successful\n');
      return;
    }
    case 'decrypt': {
      const secrets = await decryptSecrets(p.vault);
      if (!p.args.length && process.stdin.isTTY) process.stderr.write('Reading ciphertext input from stdin\n');
      for (const f of p.args.length ? p.args : ['-']) {
        const name = f === '-' ? f : resolve(f);
        writeOutput(openFile(await readInput(f), name, secrets), output ?? f);
      }
      if (process.stdout.isTTY) process.stderr.write('Decryption successful\n');
      return;
    }
    case 'view': {
      const secrets = await decryptSecrets(p.vault);
      for (const f of p.args) page(openFile(await readInput(f), f, secrets).toString('utf8'));
      return;
    }
    case 'encrypt_string':
      return encryptString(p, output);
    case 'rekey': {
      const secrets = await decryptSecrets(p.vault);
      const encryptId = p.values['encrypt-vault-id'] as string | undefined;
      const newIds = p.values['new-vault-id'] ? [p.values['new-vault-id'] as string] : [];
      const newFiles = p.values['new-vault-password-file'] ? [p.values['new-vault-password-file'] as string] : [];
      const fresh = await loadSecrets({ vaultIds: newIds, passwordFiles: newFiles, askVaultPass: p.vault.askVaultPass }, true);
      if (!fresh.length) throw new VaultOptionError("A new vault password is required to use Ansible's Vault rekey");
      const newSecret = matchEncryptSecret(fresh, encryptId);
      for (const f of p.args) {
        const file = resolve(f);
        const before = statSync(file);
        const plaintext = openFile(readFileSync(file), file, secrets);
        writeOutput(encryptVault(plaintext, newSecret), file);
        chmodSync(file, before.mode & 0o7777);
      }
      process.stderr.write('Rekey successful\n');
      return;
    }
  }
}

async function loadSecrets(opts: VaultCliOptions, newPassword: boolean): Promise<VaultSecret[]> {
  return loadVaultSecrets(opts, { autoPrompt: true, newPassword });
}

async function decryptSecrets(opts: VaultCliOptions): Promise<VaultSecret[]> {
  const secrets = await loadSecrets(opts, false);
  if (!secrets.length) throw new VaultOptionError("A vault password is required to use Ansible's Vault");
  return secrets;
}

/** The secret to encrypt with and the label written in the header (ansible-vault: match_encrypt_secret). */
async function encryptSecret(opts: VaultCliOptions, encryptVaultId: string | undefined): Promise<[string, VaultSecret]> {
  const secrets = await loadSecrets(opts, true);
  if (secrets.length > 1 && !encryptVaultId) {
    throw new VaultOptionError(`The vault-ids ${secrets.map((s) => s.label).join(',')} are available to encrypt. Specify the vault-id to encrypt with --encrypt-vault-id`);
  }
  if (!secrets.length) throw new VaultOptionError("A vault password is required to use Ansible's Vault");
  const secret = matchEncryptSecret(secrets, encryptVaultId);
  return [secret.label, secret];
}

function matchEncryptSecret(secrets: VaultSecret[], encryptVaultId: string | undefined): VaultSecret {
  if (!encryptVaultId) return secrets[0];
  const found = secrets.find((s) => s.label === encryptVaultId);
  if (!found) {
    throw new VaultError(`Did not find a match for --encrypt-vault-id=${encryptVaultId} in the known vault-ids [${secrets.map((s) => `'${s.label}'`).join(', ')}]`);
  }
  return found;
}

function openFile(data: Buffer, name: string, secrets: VaultSecret[]): Buffer {
  const text = data.toString('utf8');
  if (!isVaultText(text)) throw new VaultError(`input is not vault encrypted data. ${name} is not a vault encrypted file for ${name}`);
  try {
    return decryptVault(text, secrets, name).plaintext;
  } catch (e) {
    if (e instanceof VaultDecryptError || e instanceof VaultFormatError) throw new VaultError(`${e.message} for ${name}`);
    throw e;
  }
}

async function readInput(file: string): Promise<Buffer> {
  if (file === '-') return readStdinRest();
  try {
    return readFileSync(file);
  } catch (e) {
    throw new VaultError(`Unable to read source file (${file}): ${(e as Error).message}`);
  }
}

/** Writes to stdout (`-`) or replaces the file with a new one only its owner can read, as ansible-vault does. */
function writeOutput(data: string | Buffer, target: string): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  if (target === '-') {
    writeAllStdout(bytes);
    return;
  }
  if (existsSync(target) && statSync(target).isFile()) unlinkSync(target);
  let fd: number;
  try {
    fd = openSync(target, 'wx', 0o600);
  } catch (e) {
    throw new VaultError(`Problem creating temporary vault file: ${(e as Error).message}`);
  }
  try {
    writeSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

function writeAllStdout(bytes: Buffer): void {
  let off = 0;
  while (off < bytes.length) {
    try {
      off += writeSync(1, bytes, off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EAGAIN') throw e;
    }
  }
}

/** view: through $PAGER or less on a terminal, else printed with a final newline (Ansible's CLI.pager). */
function page(text: string): void {
  const out = text.endsWith('\n') ? text : `${text}\n`;
  if (process.stdout.isTTY) {
    const pager = process.env.PAGER ?? (spawnSync('sh', ['-c', 'less --version'], { stdio: 'ignore' }).status === 0 ? 'less' : undefined);
    if (pager) {
      spawnSync('sh', ['-c', pager], { input: text, stdio: ['pipe', 'inherit', 'inherit'], env: { LESS: 'FRSX', ...process.env } });
      return;
    }
  }
  writeAllStdout(Buffer.from(out, 'utf8'));
}

async function encryptString(p: Parsed, output: string | undefined): Promise<void> {
  const args = p.args.filter((a) => a !== '-');
  const names = (p.values.name as string[] | undefined) ?? [];
  const stdinName = p.values['stdin-name'] as string | undefined;
  const readStdin = p.args.includes('-') || p.args.length === 0 || stdinName !== undefined;
  if (p.values.prompt && readStdin) throw new VaultOptionError('The --prompt option is not supported if also reading input from stdin');
  const [label, secret] = await encryptSecret(p.vault, p.values['encrypt-vault-id'] as string | undefined);
  const FROM_STDIN = 'stdin';
  const FROM_ARGS = 'the command line args';
  const FROM_PROMPT = 'the interactive prompt';
  const inputs: { plaintext: Buffer; from: string; name?: string }[] = [];
  if (p.values.prompt) {
    const name = await askLine('Variable name (enter for no name): ');
    const hidden = !p.values['show-input'];
    const text = hidden ? await askPassword('String to encrypt (hidden): ') : await askLine('String to encrypt:');
    if (text === '') throw new VaultOptionError('The plaintext provided from the prompt was empty, not encrypting');
    inputs.push({ plaintext: Buffer.from(text, 'utf8'), from: FROM_PROMPT, name: name || undefined });
  }
  if (readStdin) {
    if (process.stdout.isTTY) process.stderr.write('Reading plaintext input from stdin. (ctrl-d to end input, twice if your content does not already have a newline)\n');
    const text = await readStdinRest();
    if (text.length === 0) throw new VaultOptionError('stdin was empty, not encrypting');
    if (process.stdout.isTTY && !text.toString('utf8').endsWith('\n')) process.stdout.write('\n');
    inputs.push({ plaintext: text, from: FROM_STDIN, name: stdinName });
  }
  let pairs: [string | undefined, string][];
  if (names.length) {
    pairs = names.slice(0, args.length).map((n, i) => [n, args[i]]);
    if (args.length > pairs.length) {
      process.stderr.write('The number of --name options do not match the number of args.\n');
      process.stderr.write(`The last named variable will be "${names[names.length - 1]}". The rest will not have names.\n`);
    }
    for (const extra of args.slice(pairs.length)) pairs.push([undefined, extra]);
  } else pairs = args.map((a) => [undefined, a]);
  for (const [name, text] of pairs) {
    if (text === '') throw new VaultOptionError('The plaintext provided from the command line args was empty, not encrypting');
    inputs.push({ plaintext: Buffer.from(text, 'utf8'), from: FROM_ARGS, name });
  }
  const several = inputs.length > 1;
  const outs = inputs.map((input, i) => {
    if (several) {
      process.stderr.write(
        input.name
          ? `# The encrypted version of variable ("${input.name}", the string #${i + 1} from ${input.from}).\n`
          : `# The encrypted version of the string #${i + 1} from ${input.from}.)\n`,
      );
    }
    return vaultYaml(encryptVault(input.plaintext, { ...secret, label }), input.name);
  });
  writeOutput(outs.join('\n'), output ?? '-');
  if (process.stdout.isTTY) process.stderr.write('Encryption successful\n');
}

/** `name: !vault |` and the vault text indented by 10, as ansible-vault's format_ciphertext_yaml writes it. */
export function vaultYaml(vaultText: string, name?: string): string {
  const lines = [`${name ? `${name}: ` : ''}!vault |`];
  for (const line of vaultText.split('\n')) if (line !== '') lines.push(`${' '.repeat(10)}${line}`);
  return lines.join('\n');
}

async function askLine(prompt: string): Promise<string> {
  // The variable name is not secret; it is read like the password (from the terminal when there is one).
  try {
    return await askPassword(prompt);
  } catch (e) {
    if (e instanceof PromptEOF) throw new VaultError('EOF on prompt');
    throw e;
  }
}

