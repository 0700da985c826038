// `meshplay inventory`: what ansible-inventory shows, with secrets redacted.
import { parseArgs } from 'node:util';
import { ExitCode, ValidationError, formatProblem } from '../errors.js';

export async function inventoryCommand(argv: string[]): Promise<number> {
  let v;
  try {
    v = parseArgs({
      args: argv,
      strict: true,
      options: {
        inventory: { type: 'string', short: 'i', multiple: true },
        list: { type: 'boolean' },
        graph: { type: 'boolean' },
        host: { type: 'string' },
      },
    }).values;
  } catch (e) {
    process.stderr.write(`meshplay inventory: ${(e as Error).message}\n`);
    return ExitCode.badOption;
  }
  if (!v.inventory?.length || (!v.list && !v.graph && !v.host)) {
    process.stderr.write('usage: meshplay inventory -i INVENTORY --list | --graph | --host HOST\n');
    return ExitCode.badOption;
  }
  const [{ createTemplater }, inv] = await Promise.all([import('../template/index.js'), import('../inventory/index.js')]);
  let inventory;
  try {
    inventory = inv.loadInventory(v.inventory, { templater: createTemplater() });
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    for (const p of e.problems) process.stderr.write(`ERROR: ${formatProblem(p)}\n`);
    return ExitCode.parseError;
  }
  if (v.graph) process.stdout.write(`${inv.inventoryGraph(inventory)}\n`);
  else {
    const list = inv.inventoryList(inventory) as { _meta: { hostvars: Record<string, unknown> } };
    const data = v.host ? list._meta.hostvars[v.host] : list;
    if (v.host && data === undefined) {
      process.stderr.write(`meshplay inventory: unknown host '${v.host}'\n`);
      return ExitCode.error;
    }
    process.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
  }
  return ExitCode.ok;
}
