// `meshplay inventory`: what ansible-inventory shows, with secrets redacted.
import { INVENTORY_OPTION, answerCommandLine, parseCommandLine, type CommandSpec } from './options.js';
import { ExitCode, ValidationError, formatProblem } from '../errors.js';
import { VAULT_OPTION_SPECS, openVaults, vaultCliOptions, vaultOptionProblem } from '../vault/options.js';

export const INVENTORY_COMMAND: CommandSpec = {
  name: 'meshplay inventory',
  usage: ['meshplay inventory -i INVENTORY --list | --graph | --host HOST'],
  summary: 'Show the hosts, groups and variables of an inventory as ansible-inventory does (secrets redacted).',
  options: [
    INVENTORY_OPTION,
    { name: 'list', type: 'boolean', help: 'every group and host with its variables, as JSON' },
    { name: 'graph', type: 'boolean', help: 'the group tree' },
    { name: 'host', type: 'string', arg: 'HOST', help: "one host's variables, as JSON" },
    ...VAULT_OPTION_SPECS,
  ],
};

export async function inventoryCommand(argv: string[]): Promise<number> {
  let v: { inventory?: string[]; list?: boolean; graph?: boolean; host?: string; [vaultOption: string]: unknown };
  try {
    v = parseCommandLine(INVENTORY_COMMAND, argv).values as typeof v;
  } catch (e) {
    return answerCommandLine(e, 'meshplay inventory');
  }
  if (!v.inventory?.length || (!v.list && !v.graph && !v.host)) {
    process.stderr.write(`usage: ${INVENTORY_COMMAND.usage[0]}\n`);
    return ExitCode.badOption;
  }
  const vault = vaultCliOptions(v);
  const vaultProblem = vaultOptionProblem(vault);
  if (vaultProblem) {
    process.stderr.write(`meshplay inventory: ${vaultProblem}\n`);
    return ExitCode.badOption;
  }
  const vaultExit = await openVaults(vault);
  if (vaultExit !== undefined) return vaultExit;
  const [{ createTemplater }, inv, { Redactor }, { vaultPlaintexts }, { SecretPolicy }] = await Promise.all([
    import('../template/index.js'),
    import('../inventory/index.js'),
    import('../secrets/redact.js'),
    import('../vault/keyring.js'),
    import('../secrets/policy.js'),
  ]);
  let inventory;
  try {
    inventory = await inv.loadInventoryWithApiNodes(v.inventory, { templater: createTemplater(), warn: (m) => process.stderr.write(`[WARNING]: ${m}\n`) });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    const { isWrongVaultPassword } = await import('../vault/yaml.js');
    // Values a vault opened before the problem are masked, whatever their key is named.
    const masker = new Redactor();
    for (const secret of vaultPlaintexts()) masker.addSecret(secret);
    for (const p of e.problems) process.stderr.write(`ERROR: ${masker.redactText(formatProblem(p))}\n`);
    return e.problems.some(isWrongVaultPassword) ? ExitCode.error : ExitCode.parseError;
  }
  if (v.graph) process.stdout.write(`${inv.inventoryGraph(inventory)}\n`);
  else {
    // One mark for every secret: `<secret #N>`, numbered as in a run. Secret-named values (the inventory's
    // policy) and values a vault opened, whatever their name, are masked by the same redactor.
    let shown: InstanceType<typeof Redactor>;
    try {
      shown = new Redactor({ policy: SecretPolicy.fromInventory(inventory.vars) });
    } catch (e) {
      process.stderr.write(`ERROR: ${(e as Error).message}\n`);
      return ExitCode.parseError;
    }
    for (const secret of vaultPlaintexts()) shown.addSecret(secret);
    const list = inv.inventoryList(inventory, shown) as { _meta: { hostvars: Record<string, unknown> } };
    const data = v.host ? list._meta.hostvars[v.host] : list;
    if (v.host && data === undefined) {
      process.stderr.write(`meshplay inventory: unknown host '${v.host}'\n`);
      return ExitCode.error;
    }
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  }
  return ExitCode.ok;
}
