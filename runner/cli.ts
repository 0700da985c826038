#!/usr/bin/env node
// meshplay command line. Everything beyond argument parsing loads lazily so `--version` stays instant.
import { parseArgs } from 'node:util';
import { quickStart } from './startup.js';
import { meshplayVersion } from './version.js';

// Turbofan off for the first second (see startup.ts: back on at once for big inputs).
quickStart();

const USAGE = `usage: meshplay <command> [options]

commands:
  run PLAYBOOK... -i INVENTORY [options]   run playbooks against an inventory
  inventory -i INVENTORY --list|--graph     show hosts, groups and variables (secrets redacted)
  status -i INVENTORY [--output json]      per-cluster mesh health (API, remote secret, Endpoints, mTLS, routes)
  plan show FILE                            a plan saved by run --check --plan-out, as --diff shows it
  doc MODULE | --list | --role ROLE         module and role documentation, from their schemas
  lab up|down|status [options]              local lab of clusters in network namespaces
  vault encrypt|decrypt|view|encrypt_string|rekey   Ansible Vault files and values (as ansible-vault)
  --version                                 print the version

\`meshplay COMMAND --help\` lists the options of each command.
`;

function version(): string {
  return `meshplay ${meshplayVersion()}`;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case '--version':
    case '-V':
    case 'version':
      process.stdout.write(`${version()}\n`);
      return 0;
    case undefined:
    case '-h':
    case '--help':
    case 'help':
      process.stdout.write(USAGE);
      return command === undefined ? 5 : 0;
    case 'run':
      return (await import('./commands/run.js')).runCommand(rest);
    case 'inventory':
      return (await import('./commands/inventory.js')).inventoryCommand(rest);
    case 'status': return (await import('./commands/status.js')).statusCommand(rest);
    case 'vault':
      return (await import('./commands/vault.js')).vaultCommand(rest);
    case 'doc':
      return (await import('./commands/doc.js')).docCommand(rest);
    case 'plan':
      return (await import('./commands/plan.js')).planCommand(rest);
    case 'lab':
      return (await import('../lab/cli.js')).labMain(rest);
    default:
      if (command.endsWith('.yml') || command.endsWith('.yaml')) return (await import('./commands/run.js')).runCommand(argv);
      {
        const { nearest } = await import('./suggest.js');
        const near = nearest(command, ['run', 'inventory', 'status', 'doc', 'plan', 'lab', 'vault']);
        process.stderr.write(`meshplay: unknown command '${command}'${near ? `; did you mean '${near}'?` : ''}\n\n${USAGE}`);
      }
      return 5;
  }
}

export { parseArgs };

// A reader that goes away (`meshplay doc k8s | head`) ends the output, not the program with a stack trace.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw e;
  });
}

/** main() as the process runs it: an exception is an internal error (exit 250). */
async function guardedMain(argv: string[]): Promise<number> {
  try {
    return await main(argv);
  } catch (err) {
    const verbose = argv.includes('-vvv');
    process.stderr.write(`meshplay: internal error: ${err instanceof Error ? (verbose ? err.stack : err.message) : String(err)}\n`);
    if (!verbose) process.stderr.write('(run with -vvv for the stack)\n');
    return 250;
  }
}

/**
 * Batch mode, for the input fuzzer (test/fuzz.test.ts): with MESHPLAY_BATCH=1 and no arguments, read one JSON
 * command line per stdin line ({"argv": [...]}), run it through guardedMain() exactly as a process would, with its
 * stdout and stderr captured, and answer one JSON line {code, stdout, stderr}. It saves ~100 ms of Node start-up
 * per case; what it cannot show (exit plumbing, a crash that kills the process) the fuzzer checks with real processes.
 */
async function batch(): Promise<void> {
  const { createInterface } = await import('node:readline');
  const real = { out: process.stdout.write.bind(process.stdout), err: process.stderr.write.bind(process.stderr) };
  const capture = (sink: string[]) =>
    ((chunk: unknown, ...rest: unknown[]) => {
      sink.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      if (cb) queueMicrotask(cb);
      return true;
    }) as typeof process.stdout.write;
  for await (const line of createInterface({ input: process.stdin })) {
    if (!line.trim()) continue;
    const { argv } = JSON.parse(line) as { argv: string[] };
    const out: string[] = [];
    const err: string[] = [];
    process.stdout.write = capture(out);
    process.stderr.write = capture(err);
    let code: number;
    try {
      code = await guardedMain(argv);
    } finally {
      process.stdout.write = real.out;
      process.stderr.write = real.err;
    }
    real.out(`${JSON.stringify({ code, stdout: out.join(''), stderr: err.join('') })}\n`);
  }
}

if (process.env.MESHPLAY_BATCH === '1' && process.argv.length === 2) void batch();
else guardedMain(process.argv.slice(2)).then((code) => (process.exitCode = code));
