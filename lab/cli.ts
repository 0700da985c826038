// `meshplay lab up|down|status`. runner/cli.ts imports labMain from here.
import { labDown, labStatus, labUp } from './lab.js';
import { OptionError } from '../runner/errors.js';
import { HelpRequested, answerCommandLine, parseCommandLine, type CommandSpec } from '../runner/commands/options.js';

export { labUp, labDown, labStatus, labState, nodeExec, stopSshd, startSshd, moveBlock, regenHostKey, birdRoutes } from './lab.js';
export type { UpOptions, UpResult, StatusResult, NodeHealth, LabOptions } from './lab.js';
export type { LabSpec, LabShape } from './spec.js';

const TOPOLOGIES = ['single-control-plane', 'multi-control-plane', 'separate-meshes'] as const;
type Topology = (typeof TOPOLOGIES)[number];

const USAGE = `usage: meshplay lab up [--clusters N] [--nodes M] [--overlap] [--no-kube] [--topology ${TOPOLOGIES.join('|')}]
       meshplay lab down
       meshplay lab status
       meshplay lab COMMAND --help`;

const LAB_UP: CommandSpec = {
  name: 'meshplay lab up',
  usage: ['meshplay lab up [--clusters N] [--nodes M] [--overlap] [--no-kube] [--topology TOPOLOGY]'],
  summary: 'Build (as root) the local lab: network-namespace nodes with sshd + BIRD, real API servers, a real Pilot; writes inventory/lab.yml.',
  options: [
    { name: 'clusters', type: 'string', arg: 'N', help: 'number of clusters (default 2)' },
    { name: 'nodes', type: 'string', arg: 'M', help: 'nodes per cluster (default 3)' },
    { name: 'overlap', type: 'boolean', help: 'give every cluster the same pod CIDR (to see overlaps refused)' },
    { name: 'no-kube', type: 'boolean', help: 'nodes only: no API servers, no Pilot' },
    { name: 'topology', type: 'string', arg: 'TOPOLOGY', help: TOPOLOGIES.join(' | ') },
  ],
  epilog: ['MESHPLAY_LAB_PREFIX (default mpl-) names the lab\'s network objects; one lab per prefix on a machine.'],
};
const LAB_DOWN: CommandSpec = { name: 'meshplay lab down', usage: ['meshplay lab down'], summary: 'Remove everything the lab created, stopping only the processes it recorded.', options: [] };
const LAB_STATUS: CommandSpec = { name: 'meshplay lab status', usage: ['meshplay lab status'], summary: "Show the lab's nodes, daemons and API servers; exit 1 when something is unhealthy.", options: [] };

function wholeNumber(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) throw new OptionError(`${flag} needs a whole number, got '${value}'`);
  return Number(value);
}

export async function labMain(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const log = (line: string) => process.stderr.write(`lab: ${line}\n`);
  try {
    if (command === 'up') {
      const v = parseCommandLine(LAB_UP, rest).values as { clusters?: string; nodes?: string; overlap?: boolean; 'no-kube'?: boolean; topology?: string };
      if (v.topology !== undefined && !(TOPOLOGIES as readonly string[]).includes(v.topology)) throw new OptionError(`--topology must be ${TOPOLOGIES.join(' or ')}, got '${v.topology}'`);
      const opts = {
        clusters: wholeNumber(v.clusters, '--clusters'),
        nodes: wholeNumber(v.nodes, '--nodes'),
        overlap: v.overlap,
        kube: v['no-kube'] ? false : undefined,
        topology: v.topology as Topology | undefined,
      };
      const result = await labUp({ ...opts, log });
      log(`${result.rebuilt ? 'built' : 'already up, nothing changed'} in ${(result.ms / 1000).toFixed(1)} s; inventory ${result.inventoryFile}`);
      const status = await labStatus({ kube: opts.kube });
      process.stdout.write(status.lines.join('\n') + '\n');
      return status.healthy ? 0 : 1;
    }
    if (command === 'down') {
      parseCommandLine(LAB_DOWN, rest);
      await labDown({ log });
      process.stdout.write('lab removed\n');
      return 0;
    }
    if (command === 'status') {
      parseCommandLine(LAB_STATUS, rest);
      const status = await labStatus();
      process.stdout.write(status.lines.join('\n') + '\n');
      return status.healthy ? 0 : 1;
    }
    const asked = command === '--help' || command === '-h' || command === 'help';
    (asked ? process.stdout : process.stderr).write(`${command === undefined || asked ? '' : `meshplay lab: unknown command '${command}'\n`}${USAGE}\n`);
    return asked ? 0 : 5;
  } catch (err) {
    if (err instanceof HelpRequested || err instanceof OptionError) return answerCommandLine(err, `meshplay lab ${command}`);
    process.stderr.write(`lab ${command}: ${(err as Error).message}\n`);
    return 1;
  }
}

// Allow `node dist/lab/cli.js up` before the meshplay CLI is wired.
if (import.meta.url === `file://${process.argv[1]}`) {
  labMain(process.argv.slice(2)).then((code) => process.exit(code));
}
