// The vault options every command that loads YAML takes (run, inventory, status), as ansible-playbook spells them.
import { ExitCode } from '../errors.js';
import type { OptionSpec } from '../commands/options.js';
import { setVaultSecrets } from './keyring.js';
import { PromptInterrupted } from './prompt.js';
import { checkVaultIds, loadVaultSecrets, VaultSetupError, type VaultCliOptions } from './secrets.js';

/** For a command's option spec (runner/commands/options.ts). */
export const VAULT_OPTION_SPECS: OptionSpec[] = [
  { name: 'vault-id', type: 'string', multiple: true, arg: '[LABEL@]SOURCE', help: "a vault password: SOURCE is a file, an executable that prints it, or 'prompt'" },
  { name: 'vault-password-file', type: 'string', multiple: true, arg: 'FILE', help: "a vault password file or executable (label 'default')" },
  { name: 'vault-pass-file', type: 'string', multiple: true, arg: 'FILE', help: 'same as --vault-password-file' },
  { name: 'ask-vault-pass', type: 'boolean', help: 'ask for the vault password' },
  { name: 'ask-vault-password', type: 'boolean', help: 'same as --ask-vault-pass' },
];

export function vaultCliOptions(values: Record<string, unknown>): VaultCliOptions {
  const list = (k: string) => (values[k] as string[] | undefined) ?? [];
  return {
    vaultIds: list('vault-id'),
    passwordFiles: [...list('vault-password-file'), ...list('vault-pass-file')],
    askVaultPass: Boolean(values['ask-vault-pass'] || values['ask-vault-password']),
  };
}

/** The message of a bad vault option (exit 5), or undefined. */
export function vaultOptionProblem(opts: VaultCliOptions): string | undefined {
  // Ansible's parser makes these two mutually exclusive (--vault-id may be combined with either).
  if (opts.askVaultPass && opts.passwordFiles.length) return '--ask-vault-pass and --vault-password-file cannot be used together';
  return checkVaultIds(opts.vaultIds);
}

/**
 * Reads the run's vault passwords (prompting when asked) and makes them the ones every later YAML load uses.
 * Returns an exit code when that failed (after saying why on stderr), else undefined.
 */
export async function openVaults(opts: VaultCliOptions): Promise<number | undefined> {
  try {
    setVaultSecrets(await loadVaultSecrets(opts, { autoPrompt: false }));
    return undefined;
  } catch (e) {
    if (e instanceof PromptInterrupted) {
      process.stderr.write('ERROR! User interrupted execution\n');
      return ExitCode.interrupted;
    }
    if (!(e instanceof VaultSetupError)) throw e;
    process.stderr.write(`ERROR! ${e.message}\n`);
    return ExitCode.error;
  }
}
