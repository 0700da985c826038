// `meshplay lab up|down|status`. runner/cli.ts imports labMain from here.
import { labDown, labStatus, labUp } from './lab.js';

export { labUp, labDown, labStatus, labState, nodeExec, stopSshd, startSshd, moveBlock, regenHostKey, birdRoutes } from './lab.js';
export type { UpOptions, UpResult, StatusResult, NodeHealth, LabOptions } from './lab.js';
export type { LabSpec, LabShape } from './spec.js';

const USAGE = `usage: meshplay lab up [--clusters N] [--nodes M] [--overlap] [--no-kube] [--topology single-control-plane|multi-control-plane]
       meshplay lab down
       meshplay lab status`;

function intArg(argv: string[], i: number, flag: string): number {
  const v = argv[i + 1];
  if (v === undefined || !/^\d+$/.test(v)) throw new Error(`${flag} needs a whole number`);
  return Number(v);
}

export async function labMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string) => process.stderr.write(`lab: ${line}\n`);
  try {
    if (command === 'up') {
      const opts: { clusters?: number; nodes?: number; overlap?: boolean; kube?: boolean; topology?: 'single-control-plane' | 'multi-control-plane' } = {};
      for (let i = 0; i < rest.length; i++) {
        const a = rest[i]!;
        const [flag, inline] = a.split('=', 2) as [string, string | undefined];
        const value = (): number => (inline !== undefined ? intArg([flag, inline], 0, flag) : intArg(rest, i++, flag));
        if (flag === '--clusters') opts.clusters = value();
        else if (flag === '--nodes') opts.nodes = value();
        else if (a === '--overlap') opts.overlap = true;
        else if (a === '--no-kube') opts.kube = false;
        else if (flag === '--topology') {
          const t = inline ?? rest[++i];
          if (t !== 'single-control-plane' && t !== 'multi-control-plane') throw new Error(`--topology must be single-control-plane or multi-control-plane\n${USAGE}`);
          opts.topology = t;
        }
        else throw new Error(`unknown option ${a}\n${USAGE}`);
      }
      const result = await labUp({ ...opts, log });
      log(`${result.rebuilt ? 'built' : 'already up, nothing changed'} in ${(result.ms / 1000).toFixed(1)} s; inventory ${result.inventoryFile}`);
      const status = await labStatus({ kube: opts.kube });
      process.stdout.write(status.lines.join('\n') + '\n');
      return status.healthy ? 0 : 1;
    }
    if (command === 'down') {
      if (rest.length) throw new Error(`unexpected arguments: ${rest.join(' ')}\n${USAGE}`);
      await labDown({ log });
      process.stdout.write('lab removed\n');
      return 0;
    }
    if (command === 'status') {
      if (rest.length) throw new Error(`unexpected arguments: ${rest.join(' ')}\n${USAGE}`);
      const status = await labStatus();
      process.stdout.write(status.lines.join('\n') + '\n');
      return status.healthy ? 0 : 1;
    }
    process.stderr.write(`${USAGE}\n`);
    return command === undefined || command === '--help' || command === 'help' ? 0 : 2;
  } catch (err) {
    process.stderr.write(`lab ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

// Allow `node dist/lab/cli.js up` before the meshplay CLI is wired.
if (import.meta.url === `file://${process.argv[1]}`) {
  labMain(process.argv.slice(2)).then((code) => process.exit(code));
}
