// `meshplay run`: parse options, validate everything (inventory, playbooks, variables) before touching
// anything, then run the plays and print the recap.
import { INVENTORY_OPTION, answerCommandLine, parseCommandLine, type CommandSpec } from './options.js';
import { parseJsonText } from '../yaml/parse.js';
import { setMaxListeners } from 'node:events';
import { ExitCode, OptionError, ValidationError, formatProblem, type Problem } from '../errors.js';
import type { Reporter, RunEvent } from '../output/events.js';
import type { Playbook } from '../playbook/types.js';
import type { Inventory } from '../inventory/types.js';
import { VAULT_OPTION_SPECS, vaultCliOptions, vaultOptionProblem } from '../vault/options.js';
import type { VaultCliOptions } from '../vault/secrets.js';
import { append } from '../arrays.js';
import { patternProblem } from '../inventory/patterns.js';

export interface RunCliOptions {
  playbooks: string[];
  inventory: string[];
  limit?: string;
  tags: string[];
  skipTags: string[];
  /** The raw `-e` values; parsed into extraVars once the vault passwords are known. */
  extraVarArgs: string[];
  extraVars: Record<string, unknown>;
  check: boolean;
  diff: boolean;
  detailedExitcode: boolean;
  forks: number;
  /** Connections being opened at once, apart from forks: connect attempts are cheap and mostly wait. */
  maxConnecting: number;
  verbosity: number;
  syntaxCheck: boolean;
  listTasks: boolean;
  listHosts: boolean;
  listTags: boolean;
  startAtTask?: string;
  output: 'pretty' | 'plain' | 'json' | 'ndjson';
  junit?: string;
  /** --report FILE.html: the run and the live mesh as one self-contained page. */
  report?: string;
  acceptNewHostKeys: boolean;
  /** --lock-timeout: seconds to wait for another run's mesh Lease (0: refuse at once). */
  lockTimeout: number;
  /** Where vault passwords come from; read before any YAML is loaded. */
  vault: VaultCliOptions;
  /** Probable misspellings of role variables fail validation instead of warning. */
  strict: boolean;
  /** The files given as `-e @file`, to point at a variable's line. */
  extraVarsFiles: string[];
  /** --plan-out FILE (with --check): write the plan this check makes. */
  planOut?: string;
  /** --plan FILE: apply that saved plan and nothing else. */
  plan?: string;
}

const splitList = (vals: string[] | undefined) => (vals ?? []).flatMap((v) => v.split(',')).map((s) => s.trim()).filter(Boolean);

/**
/**
 * `-e` values: key=value pairs, JSON, or @file (YAML, possibly vault-encrypted or holding `!vault` values, so it is
 * read with the vault passwords of the run: call it after openVaults()). A broken @file is a validation problem.
 * Messages never repeat what was given on the command line (an -e value may hold a password).
 */
export async function parseExtraVars(values: string[]): Promise<{ vars: Record<string, unknown>; problems: Problem[] }> {
  const out: Record<string, unknown> = {};
  const problems: Problem[] = [];
  for (const [i, v] of values.entries()) {
    const text = v.trim();
    const which = values.length > 1 ? `-e (the ${ordinal(i + 1)} one)` : '-e';
    if (text.startsWith('@')) {
      const file = text.slice(1);
      const [{ loadYamlFile }, { addVaultLeaves }] = await Promise.all([import('../yaml/source.js'), import('../vault/keyring.js')]);
      const src = loadYamlFile(file);
      if (src.problems.length) {
        append(problems, src.problems);
        continue;
      }
      const data = src.value;
      if (data === null || data === undefined) continue; // an empty file sets nothing
      if (typeof data !== 'object' || Array.isArray(data)) {
        problems.push(src.problem([], `-e ${text}: the file must hold a mapping`, 'a YAML mapping of variable names to values'));
        continue;
      }
      if (src.vaultEncrypted) addVaultLeaves(data);
      Object.assign(out, data);
    } else if (text.startsWith('{')) {
      let data: unknown;
      try {
        // Never quotes the text (V8's message does): it may hold a password.
        data = parseJsonText(text, which);
      } catch (e) {
        throw new OptionError((e as Error).message);
      }
      if (!data || typeof data !== 'object' || Array.isArray(data)) throw new OptionError(`${which}: JSON must be an object of variable names to values`);
      Object.assign(out, data);
    } else {
      const { parseKeyValueArgs } = await import('../playbook/load.js');
      const kv = parseKeyValueArgs(text);
      if (!kv) throw new OptionError(`${which}: expected key=value pairs, a JSON object, or @file`);
      Object.assign(out, kv);
    }
  }
  for (const k of Object.keys(out)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new OptionError(`-e: '${k.length > 40 ? `${k.slice(0, 40)}...` : k}' is not a valid variable name (letters, digits and underscores, not starting with a digit)`);
  }
  return { vars: out, problems };
}

export const RUN_COMMAND: CommandSpec = {
  name: 'meshplay run',
  usage: ['meshplay run PLAYBOOK... -i INVENTORY [options]'],
  summary: 'Validate the inventory and playbooks, then run the plays and print the recap (exit codes as ansible-playbook).',
  options: [
    INVENTORY_OPTION,
    { name: 'limit', short: 'l', type: 'string', arg: 'PATTERN', help: 'further limit the hosts' },
    { name: 'tags', short: 't', type: 'string', multiple: true, arg: 'TAGS', help: 'only tasks with these tags (comma separated)' },
    { name: 'skip-tags', type: 'string', multiple: true, arg: 'TAGS', help: 'skip tasks with these tags' },
    { name: 'extra-vars', short: 'e', type: 'string', multiple: true, arg: 'VARS', help: 'k=v, JSON, or @file.yml (highest precedence)' },
    { name: 'check', short: 'C', type: 'boolean', help: 'predict changes without making them' },
    { name: 'diff', short: 'D', type: 'boolean', help: 'show what changes (or would change)' },
    { name: 'detailed-exitcode', type: 'boolean', help: 'with --check: exit 10 when something would change' },
    { name: 'forks', short: 'f', type: 'string', arg: 'N', help: 'parallel hosts per task (default 50)' },
    { name: 'max-connecting', type: 'string', arg: 'N', help: 'connections opened at once, apart from --forks (default 256)' },
    { name: 'verbose', short: 'v', type: 'boolean', multiple: true, help: 'more output: -v, -vv, -vvv' },
    { name: 'syntax-check', type: 'boolean', help: 'validate and exit' },
    { name: 'list-tasks', type: 'boolean', help: 'list the tasks that would run, and exit' },
    { name: 'list-hosts', type: 'boolean', help: 'list the hosts each play targets, and exit' },
    { name: 'list-tags', type: 'boolean', help: 'list the tags, and exit' },
    { name: 'start-at-task', type: 'string', arg: 'NAME', help: 'start at the first task with this name' },
    { name: 'output', short: 'o', type: 'string', arg: 'FORMAT', help: 'pretty | plain | json | ndjson (default: pretty on a terminal, else plain)' },
    { name: 'junit', type: 'string', arg: 'FILE', help: 'also write a JUnit XML report' },
    { name: 'report', type: 'string', arg: 'FILE.html', help: 'also write one self-contained HTML page: the mesh after the run, its changes and timing' },
    { name: 'ssh-accept-new', type: 'boolean', help: 'record unknown SSH host keys (never accepts a changed key)' },
    { name: 'lock-timeout', type: 'string', arg: 'SECONDS', help: 'wait this long for another run holding the mesh (default 0: exit 7 at once)' },
    ...VAULT_OPTION_SPECS,
    { name: 'strict', type: 'boolean', help: 'probable misspellings of role variables are errors, not warnings' },
    { name: 'plan-out', type: 'string', arg: 'FILE', help: 'with --check: save the plan (changes, digests, fact fingerprints; no secret value) to FILE' },
    { name: 'plan', type: 'string', arg: 'FILE', help: 'apply the plan saved in FILE and nothing else (PLAYBOOK and -i default to the plan\'s)' },
  ],
  epilog: [
    'exit codes: 0 ok, 1 other error, 2 a host failed, 4 a host unreachable or a parse/validation error,',
    '            5 bad option, 7 another run holds the mesh, 10 drift under --check --detailed-exitcode,',
    '            11 --plan refused: the mesh moved since the plan, or the plan is not for this run,',
    '            99 interrupted, 250 internal error',
  ],
};

function ordinal(n: number): string {
  return `${n}${n % 10 === 1 && n % 100 !== 11 ? 'st' : n % 10 === 2 && n % 100 !== 12 ? 'nd' : n % 10 === 3 && n % 100 !== 13 ? 'rd' : 'th'}`;
}

export async function parseRunOptions(argv: string[]): Promise<RunCliOptions> {
  // -vvv is a single token in Ansible; turn it into repeated -v for parseArgs.
  const normalized = argv.flatMap((a) => (/^-v{2,}$/.test(a) ? Array.from({ length: a.length - 1 }, () => '-v') : [a]));
  const parsed = parseCommandLine(RUN_COMMAND, normalized, { allowPositionals: true }) as {
    values: {
      inventory?: string[]; limit?: string; tags?: string[]; 'skip-tags'?: string[]; 'extra-vars'?: string[]; check?: boolean; diff?: boolean;
      'detailed-exitcode'?: boolean; forks?: string; 'max-connecting'?: string; verbose?: boolean[]; 'syntax-check'?: boolean; 'list-tasks'?: boolean; 'list-hosts'?: boolean;
      'list-tags'?: boolean; 'start-at-task'?: string; output?: string; junit?: string; report?: string; 'ssh-accept-new'?: boolean; 'lock-timeout'?: string; strict?: boolean;
      'plan-out'?: string; plan?: string;
      [vaultOption: string]: unknown;
    };
    positionals: string[];
  };
  const v = parsed.values;
  if (v['plan-out'] !== undefined && !v.check) throw new OptionError('--plan-out needs --check (a plan is made without changing anything)');
  if (v.plan !== undefined && (v.check || v['plan-out'] !== undefined)) throw new OptionError('--plan applies a saved plan: it takes neither --check nor --plan-out');
  if (v.plan !== undefined && (!parsed.positionals.length || !v.inventory?.length)) {
    // The playbooks and inventory the plan was made with (their digests are checked before anything runs).
    const { planInputs } = await import('../plan/file.js');
    const inputs = planInputs(v.plan);
    if (!parsed.positionals.length) parsed.positionals.push(...inputs.playbooks);
    if (!v.inventory?.length) v.inventory = inputs.inventory;
  }
  if (parsed.positionals.length === 0) throw new OptionError('no playbook given: meshplay run PLAYBOOK -i INVENTORY');
  if (!v.inventory?.length) throw new OptionError('no inventory given: -i INVENTORY (a file or a folder) is required');
  const forks = v.forks === undefined ? 50 : Number(v.forks);
  if (!Number.isInteger(forks) || forks < 1) throw new OptionError(`--forks must be a positive integer, got '${v.forks}'`);
  const maxConnecting = v['max-connecting'] === undefined ? 256 : Number(v['max-connecting']);
  if (!Number.isInteger(maxConnecting) || maxConnecting < 1) throw new OptionError(`--max-connecting must be a positive integer, got '${v['max-connecting']}'`);
  const output = (v.output ?? (process.stdout.isTTY && !process.env.CI ? 'pretty' : 'plain')) as RunCliOptions['output'];
  if (!['pretty', 'plain', 'json', 'ndjson'].includes(output)) throw new OptionError(`--output must be pretty, plain, json or ndjson, got '${output}'`);
  const lockTimeout = v['lock-timeout'] === undefined ? 0 : Number(v['lock-timeout']);
  if (!Number.isFinite(lockTimeout) || lockTimeout < 0) throw new OptionError(`--lock-timeout must be a number of seconds >= 0, got '${v['lock-timeout']}'`);
  if (v['detailed-exitcode'] && !v.check) throw new OptionError('--detailed-exitcode needs --check');
  const limitProblem = v.limit === undefined ? undefined : patternProblem(v.limit);
  if (limitProblem) throw new OptionError(`--limit: ${limitProblem}`);
  const vault = vaultCliOptions(v);
  const vaultProblem = vaultOptionProblem(vault);
  if (vaultProblem) throw new OptionError(vaultProblem);
  return {
    playbooks: parsed.positionals,
    inventory: v.inventory ?? [],
    limit: v.limit,
    tags: splitList(v.tags),
    skipTags: splitList(v['skip-tags']),
    extraVarArgs: v['extra-vars'] ?? [],
    extraVars: {},
    check: Boolean(v.check),
    diff: Boolean(v.diff),
    detailedExitcode: Boolean(v['detailed-exitcode']),
    forks,
    maxConnecting,
    verbosity: v.verbose?.length ?? 0,
    syntaxCheck: Boolean(v['syntax-check']),
    listTasks: Boolean(v['list-tasks']),
    listHosts: Boolean(v['list-hosts']),
    listTags: Boolean(v['list-tags']),
    startAtTask: v['start-at-task'],
    output,
    junit: v.junit,
    report: v.report,
    acceptNewHostKeys: Boolean(v['ssh-accept-new']),
    lockTimeout,
    vault,
    strict: Boolean(v.strict),
    extraVarsFiles: (v['extra-vars'] ?? []).map((x) => x.trim()).filter((x) => x.startsWith('@')).map((x) => x.slice(1)),
    planOut: v['plan-out'],
    plan: v.plan,
  };
}

/** Reports a failure that happened before any host was touched, in the chosen output format. */
function reportEarly(output: RunCliOptions['output'], exitCode: number, reason: string, problems: string[]): number {
  if (output === 'json' || output === 'ndjson') {
    const recap = { type: 'recap', stats: {}, durationMs: 0, exitCode, reason, problems };
    process.stdout.write(`${JSON.stringify(recap)}\n`);
  } else {
    for (const p of problems) process.stderr.write(`ERROR: ${p}\n`);
    process.stderr.write(reason === 'validation' ? `\n${problems.length} problem(s) found; nothing was run.\n` : '');
  }
  return exitCode;
}

export async function runCommand(argv: string[]): Promise<number> {
  let opts: RunCliOptions;
  try {
    opts = await parseRunOptions(argv);
  } catch (e) {
    return answerCommandLine(e, 'meshplay run');
  }
  const { openVaults } = await import('../vault/options.js');
  const vaultExit = await openVaults(opts.vault);
  if (vaultExit !== undefined) return vaultExit;
  const problems: Problem[] = [];
  try {
    const extra = await parseExtraVars(opts.extraVarArgs);
    opts.extraVars = extra.vars;
    append(problems, extra.problems);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    process.stderr.write(`meshplay run: ${e.message}\n`);
    return ExitCode.badOption;
  }
  const [{ createTemplater }, { loadInventoryWithApiNodes }, { loadPlaybook }, { checkVariables }] = await Promise.all([
    import('../template/index.js'),
    import('../inventory/index.js'),
    import('../playbook/load.js'),
    import('../playbook/check-vars.js'),
  ]);
  const templater = createTemplater();
  let inventory: Inventory | undefined;
  const playbooks: Playbook[] = [];
  try {
    // Nodes of `from_api` clusters are read here, once, before anything is validated against the host list.
    inventory = await loadInventoryWithApiNodes(opts.inventory, { templater, warn: (m) => process.stderr.write(`[WARNING]: ${m}\n`) });
  } catch (e) {
    if (e instanceof ValidationError) append(problems, e.problems);
    else throw e;
  }
  for (const file of opts.playbooks) {
    try {
      playbooks.push(await loadPlaybook(file));
    } catch (e) {
      if (e instanceof ValidationError) append(problems, e.problems);
      else throw e;
    }
  }
  if (inventory && problems.length === 0) {
    const unrendered: Problem[] = [];
    append(problems, checkVariables(playbooks, inventory, opts.extraVars, templater, {}, unrendered));
    for (const w of unrendered) process.stderr.write(`[WARNING]: ${formatProblem(w)}\n`);
    const { checkRoleArguments } = await import('../playbook/check-role-args.js');
    const roleArgs = checkRoleArguments(playbooks, inventory, opts.extraVars, { extraVarsFiles: opts.extraVarsFiles });
    append(problems, roleArgs.problems);
    if (opts.strict) append(problems, roleArgs.misspellings);
    else for (const m of roleArgs.misspellings) process.stderr.write(`[WARNING]: ${formatProblem(m)} (an error with --strict)\n`);
  }
  if (problems.length) {
    // A vault that none of the given passwords opens ends the run as ansible-playbook ends it (exit 1).
    const [{ isWrongVaultPassword }, { vaultPlaintexts }, { Redactor }] = await Promise.all([import('../vault/yaml.js'), import('../vault/keyring.js'), import('../secrets/redact.js')]);
    const masker = new Redactor();
    for (const s of vaultPlaintexts()) masker.addSecret(s);
    const wrongPassword = problems.some(isWrongVaultPassword);
    const texts = problems.map((p) => masker.redactText(formatProblem(p)));
    return reportEarly(opts.output, wrongPassword ? ExitCode.error : ExitCode.parseError, wrongPassword ? 'vault' : 'validation', texts);
  }

  if (opts.syntaxCheck) {
    for (const pb of playbooks) process.stdout.write(`playbook: ${pb.file}\n`);
    return ExitCode.ok;
  }
  if (opts.listTasks || opts.listHosts || opts.listTags) {
    const { listPlaybooks } = await import('./list.js');
    process.stdout.write(listPlaybooks(playbooks, inventory!, opts));
    return ExitCode.ok;
  }

  const [{ Runner }, { Redactor }, { SecretPolicy, SecretPolicyError }, output] = await Promise.all([
    import('../executor/run.js'),
    import('../secrets/redact.js'),
    import('../secrets/policy.js'),
    import('../output/index.js'),
  ]);
  // The run's one secret policy: the defaults, widened by the inventory's `meshplay_secret_key_pattern`.
  let secrets: InstanceType<typeof SecretPolicy>;
  try {
    secrets = SecretPolicy.fromInventory(inventory!.vars);
  } catch (e) {
    if (!(e instanceof SecretPolicyError)) throw e;
    return reportEarly(opts.output, ExitCode.parseError, 'validation', [e.message]);
  }
  const redactor = new Redactor({ policy: secrets });
  const { vaultPlaintexts } = await import('../vault/keyring.js');
  for (const secret of vaultPlaintexts()) redactor.addSecret(secret);
  // A saved plan: made by this check (--plan-out), or followed by this run (--plan), checked against its inputs first.
  const planning = opts.planOut || opts.plan ? await (await import('./run-plan.js')).planSession(opts, inventory!, redactor) : undefined;
  if (typeof planning === 'number') return planning;
  const reporters: Reporter[] = [
    output.createReporter(opts.output, { stream: process.stdout, verbosity: opts.verbosity, diff: opts.diff, check: opts.check, color: Boolean(process.stdout.isTTY) && !process.env.NO_COLOR }),
  ];
  if (opts.junit) reporters.push(output.createJunitReporter(opts.junit));
  const collector = opts.report ? new (await import('../report/collect.js')).RunCollector(opts.playbooks, opts.check) : undefined;
  if (collector) reporters.push(collector);

  const controller = new AbortController();
  // Every open connection listens for the interrupt: a listener per host is expected, not a leak.
  setMaxListeners(0, controller.signal);
  let interrupts = 0;
  let running: { recapNow(): void } | undefined;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      // The runner reports the interrupt as a warning once it exists; before that, say it here.
      if (!running) process.stderr.write('\n[interrupted: finishing running commands, then stopping]\n');
      controller.abort();
      return;
    }
    // A second interrupt does not wait for the commands in flight, but still says what ran and changed.
    process.stderr.write('\n[interrupted again: stopping now]\n');
    running?.recapNow();
    void Promise.all(reporters.map((r) => r.close())).finally(() => process.exit(ExitCode.interrupted));
  };
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigint);
  let releaseLock = async (): Promise<void> => {};
  const runner = new Runner({
    plan: planning?.hook,
    inventory: inventory!,
    playbooks,
    templater,
    redactor,
    reporters,
    extraVars: opts.extraVars,
    check: opts.check,
    diff: opts.diff,
    forks: opts.forks,
    maxConnecting: opts.maxConnecting,
    limit: opts.limit,
    tags: opts.tags,
    skipTags: opts.skipTags,
    startAtTask: opts.startAtTask,
    verbosity: opts.verbosity,
    acceptNewHostKeys: opts.acceptNewHostKeys,
    detailedExitcode: opts.detailedExitcode,
    signal: controller.signal,
    secrets,
    beforeClose: () => releaseLock(),
  });
  running = runner;
  const { lockMesh } = await import('../executor/lock.js');
  const lock = await lockMesh(inventory!, playbooks, opts, controller.signal, { connection: (h) => runner.connection(h), mask: (m) => redactor.redactText(m) });
  if (typeof lock === 'number') {
    await runner.close();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
    await Promise.all(reporters.map((r) => r.close()));
    return lock;
  }
  releaseLock = () => lock.release();
  try {
    // Before the first write: every fact the saved plan was read from must be as it was.
    const refused = planning ? await planning.beforeRun((h) => runner.connection(h)) : undefined;
    if (refused !== undefined) {
      await lock.release().catch(() => undefined);
      await runner.close();
      return refused;
    }
    const ran = await runner.run();
    const code = planning ? await planning.afterRun(ran) : ran;
    if (!opts.report || !collector) return code;
    // The mesh as the run left it, read through the same probes as `meshplay status`, plus what the run did.
    const { probeMesh, renderedVars } = await import('./status.js');
    const { hostVars } = await import('../inventory/index.js');
    const vars = renderedVars(inventory!, templater, (i, h) => ({ ...hostVars(i, h), ...opts.extraVars }));
    const single = inventory!.topology !== 'multi-control-plane' && inventory!.topology !== 'separate-meshes';
    const status = await probeMesh(inventory!, vars, redactor, { routes: true, remotes: single, gateways: true });
    const { writeReport } = await import('../report/write.js');
    const title = `meshplay run ${opts.playbooks.join(' ')}${opts.check ? ' --check' : ''}`;
    const failed = await writeReport(opts.report, { kind: 'run', title, inventory: inventory!, status, run: collector.facts }, redactor);
    if (failed) process.stderr.write(`[WARNING]: --report ${opts.report} not written: ${failed}\n`);
    return code;
  } finally {
    await Promise.all(reporters.map((r) => r.close()));
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigint);
  }
}

export type { RunEvent };
