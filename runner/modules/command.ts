// Runs a program without a shell. Cannot predict its effect: changed unless changed_when says otherwise,
// skipped under --check unless creates/removes already decide it.
import { array, boolean, object, string, types, withDefault, type ArgsOf } from './args.js';
import type { Module, ModuleContext, ModuleResult, Plan } from './types.js';
import { commandConnection, pathExists, shellQuote, splitCommand } from './util.js';

export const commandSchema = object({
  cmd: string(),
  argv: array(types<string | number>(['string', 'number'])),
  creates: string(),
  removes: string(),
  chdir: string(),
  stdin: string(),
  stdin_add_newline: withDefault(boolean(), true),
  strip_empty_ends: withDefault(boolean(), true),
  executable: string(),
});
export type CommandArgs = ArgsOf<typeof commandSchema>;

/** Whether creates/removes already decide the task: read on the host before anything runs. */
export interface CommandFacts {
  createsExists?: boolean;
  removesExists?: boolean;
}

export async function commandFacts(ctx: ModuleContext, args: CommandArgs): Promise<CommandFacts> {
  if (!args.cmd && !args.argv) throw new Error('no command given: set cmd (or the free-form text) or argv');
  if (!args.creates && !args.removes) return {};
  const conn = await commandConnection(ctx);
  return {
    createsExists: args.creates ? await pathExists(conn, args.creates) : undefined,
    removesExists: args.removes ? await pathExists(conn, args.removes) : undefined,
  };
}

export function planCommand(facts: CommandFacts, args: CommandArgs): Plan {
  // As Ansible's command module: the reason is the result's stdout (and msg), rc 0, nothing run.
  const skip = (why: string): Plan => ({ changed: false, msg: why, result: { rc: 0, stdout: why, stdout_lines: [why], stderr: '', stderr_lines: [] } });
  if (args.creates && facts.createsExists) return skip(`skipped, since ${args.creates} exists`);
  if (args.removes && facts.removesExists === false) return skip(`skipped, since ${args.removes} does not exist`);
  return { changed: true, unpredictable: true };
}

export async function runCommand(ctx: ModuleContext, args: CommandArgs, shell: boolean): Promise<ModuleResult> {
  const conn = await commandConnection(ctx);
  const command: string | string[] = shell
    ? args.executable ? [args.executable, '-c', args.cmd!] : args.cmd!
    : args.argv ? args.argv.map(String) : splitCommand(args.cmd!);
  const expanded = shell ? undefined : expandOnHost(command as string[]);
  const stdin = args.stdin !== undefined ? args.stdin + (args.stdin_add_newline ? '\n' : '') : undefined;
  const start = new Date();
  const r = await conn.exec(expanded ?? command, { stdin, cwd: args.chdir, become: ctx.become, becomePassword: ctx.becomePassword, env: ctx.environment });
  // A program that does not exist: Ansible's command module fails with Python's ENOENT (rc 2), unchanged.
  if (!shell && r.code === 127 && /not found|No such file/.test(r.stderr)) {
    const program = Array.isArray(command) ? command[0] : command;
    return { changed: false, failed: true, cmd: command, rc: 2, stdout: '', stderr: '', stdout_lines: [], stderr_lines: [], msg: `[Errno 2] No such file or directory: b'${program}'` };
  }
  const strip = args.strip_empty_ends;
  const stdout = strip ? r.stdout.replace(/\n+$/, '') : r.stdout;
  const stderr = strip ? r.stderr.replace(/\n+$/, '') : r.stderr;
  const result: ModuleResult = {
    changed: true,
    cmd: command,
    rc: r.code,
    stdout,
    stderr,
    stdout_lines: stdout ? stdout.split('\n') : [],
    stderr_lines: stderr ? stderr.split('\n') : [],
    start: start.toISOString(),
    delta: `${(r.durationMs / 1000).toFixed(3)}s`,
  };
  if (r.code !== 0) {
    result.failed = true;
    result.msg = 'non-zero return code';
  }
  return result;
}

/** Python's os.path.expandvars: `$name` or `${name}` (name: ASCII word characters). */
const VARIABLE = /\$(\w+|\{[^}]*\})/g;

/**
 * Ansible's command module (not shell) expands environment variables, then a leading `~`, in every argument,
 * on the host and with the task's environment (module_utils run_command: expandvars, then expanduser; unset
 * variables stay as written). The host's environment is only known there, so the arguments that need it are
 * turned into a POSIX sh script that does the same; undefined when no argument needs it (the argv runs as is).
 */
export function expandOnHost(argv: string[]): string | undefined {
  if (!argv.some((a) => a.startsWith('~') || /\$(\w|\{)/.test(a))) return undefined;
  const literals: string[] = [];
  const words = argv.map((arg) => {
    let word = '';
    let rest = arg;
    // `~` or `~user` up to the first slash: the shell expands it as expanduser does (unknown users stay).
    const tilde = /^~([A-Za-z0-9._-]*)(?=\/|$)/.exec(arg);
    if (tilde) {
      word = tilde[0];
      rest = arg.slice(tilde[0].length);
    }
    let last = 0;
    for (const m of rest.matchAll(VARIABLE)) {
      if (m.index > last) word += shellQuote(rest.slice(last, m.index));
      const name = m[1].startsWith('{') ? m[1].slice(1, -1) : m[1];
      if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        // `${NAME-$literal}`: the value when set (even empty), else the text as written, as expandvars.
        literals.push(m[0]);
        word += `"\${${name}-$__meshplay_literal${literals.length - 1}}"`;
      } else word += shellQuote(m[0]);
      last = m.index + m[0].length;
    }
    if (last < rest.length) word += shellQuote(rest.slice(last));
    return word === '' ? "''" : word;
  });
  const assignments = literals.map((l, i) => `__meshplay_literal${i}=${shellQuote(l)}`).join(' ');
  return `${assignments ? `${assignments}; ` : ''}exec ${words.join(' ')}`;
}

const command: Module<typeof commandSchema, CommandFacts> = {
  name: 'command',
  schema: commandSchema,
  facts: commandFacts,
  plan: planCommand,
  apply: (ctx, args) => runCommand(ctx, args, false),
};

export default command;
