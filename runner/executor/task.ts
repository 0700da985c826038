// One module task on one host: conditions, loops, retries, check mode, changed_when/failed_when, no_log.
// The module plans; this code decides whether to apply, so --check and --diff come from the same plan.
import { argsValidator, loadModule } from '../modules/index.js';
import { applyDefaults } from '../modules/args.js';
import { sleep } from '../sleep.js';
import { truthy } from '../template/values.js';
import { noLog as censored } from '../secrets/redact.js';
import type { Module, ModuleContext, ModuleResult } from '../modules/types.js';
import type { HostStatus, RunEvent } from '../output/events.js';
import type { ModuleTask } from '../playbook/types.js';
import type { Templater } from '../template/types.js';
import type { RenderMemo } from '../template/memo.js';
import type { Inventory } from '../inventory/types.js';
import type { ConnectionPool } from './connections.js';
import type { PlanHook } from '../plan/session.js';
import type { Redaction } from './run.js';
import type { RunScope } from '../modules/run-scope.js';
import { carryFloat, carryFloats } from '../template/float.js';

type Dict = Record<string, unknown>;

export interface TaskEnvironment {
  vars: Dict;
  inventory: Inventory;
  templater: Templater;
  searchPaths: string[];
  /** Shared renders between hosts (runner/template/memo.ts). */
  memo?: RenderMemo;
  check: boolean;
  diff: boolean;
  verbosity: number;
  playbookDir: string;
  pool: ConnectionPool;
  become: boolean;
  redactor: Redaction;
  signal: AbortSignal;
  emit(e: RunEvent): void;
  /** A saved plan being made (--plan-out) or followed (--plan): sees every plan before the executor applies it. */
  plan?: PlanHook;
  /** The run's shared state, handed to modules as ctx.run (runner/modules/run-scope.ts). */
  run: RunScope;
}

export interface TaskOutcome {
  status: HostStatus;
  /** What `register` stores: the real result. */
  result: Dict;
  /** What outputs show, when it differs from `result` (no_log). */
  display?: Dict;
  /** Facts to set on the host (set_fact, ansible_facts of fact modules). */
  facts?: Dict;
  /** Variables include_vars loaded: the host's at their own precedence, below facts (not in ansible_facts). */
  included?: Dict;
  delegatedTo?: string;
}


export function scoped(vars: Dict, extra: Dict): Dict {
  const o = Object.assign(Object.create(vars) as Dict, extra);
  carryFloats(o, extra);
  return o;
}

function isOmitted(v: unknown): boolean {
  return typeof v === 'string' && v.startsWith('__omit_place_holder__');
}

function dropOmitted(args: Dict): Dict {
  const out: Dict = {};
  for (const [k, v] of Object.entries(args)) if (!isOmitted(v)) out[k] = v;
  return out;
}

export async function runModuleTask(task: ModuleTask, host: string, env: TaskEnvironment): Promise<TaskOutcome> {
  const mod = await loadModule(task.module);
  const { templater, searchPaths } = env;
  const opts = { searchPaths, memo: env.memo };
  const noLog = task.no_log !== undefined && templater.condition(task.no_log, env.vars, opts);

  if (task.loop === undefined) {
    if (!task.when.every((w) => templater.condition(w, env.vars, opts))) {
      return { status: 'skipped', result: { changed: false, skipped: true, skip_reason: 'Conditional result was False' } };
    }
    const r = await runOnce(task, mod, host, env, env.vars, noLog);
    return r;
  }

  const items = loopItems(task, templater.render(task.loop, env.vars, opts));
  const loopVar = task.loop_control?.loop_var ?? 'item';
  const results: Dict[] = [];
  const facts: Dict = {};
  const included: Dict = {};
  let delegatedTo: string | undefined;
  for (const [index, item] of items.entries()) {
    const extra: Dict = { [loopVar]: item, ansible_loop_var: loopVar };
    carryFloat(extra, loopVar, items, String(index)); // an item 5.0 of a list written in YAML stays a float for templates
    if (task.loop_control?.index_var) extra[task.loop_control.index_var] = index;
    if (task.loop_control?.extended) extra.ansible_loop = extendedLoop(items, index);
    // Facts set by earlier items (set_fact in a loop) are seen by the next item, as in Ansible.
    const learned = { ...included, ...facts };
    const vars = scoped(Object.keys(learned).length ? scoped(env.vars, learned) : env.vars, extra);
    const label = task.loop_control?.label !== undefined ? templater.render(task.loop_control.label, vars, opts) : item;
    if (!task.when.every((w) => templater.condition(w, vars, opts))) {
      results.push({ changed: false, skipped: true, skip_reason: 'Conditional result was False', [loopVar]: item, ansible_loop_var: loopVar, _label: label });
      continue;
    }
    const r = await runOnce(task, mod, host, env, vars, noLog);
    Object.assign(facts, r.facts ?? {});
    Object.assign(included, r.included ?? {});
    delegatedTo = r.delegatedTo ?? delegatedTo;
    // As Ansible registers each item: its result, the item under the loop variable, and that variable's name.
    results.push({ ...r.result, [loopVar]: item, ansible_loop_var: loopVar, _label: label, _status: r.status });
    if (task.loop_control?.pause) await sleep(task.loop_control.pause * 1000, env.signal);
  }
  const changed = results.some((r) => r.changed === true);
  // An item whose failure ignore_errors excuses still fails the loop (which ignore_errors then excuses).
  const failed = results.some((r) => r._status === 'failed' || r._status === 'ignored');
  const allSkipped = results.length === 0 || results.every((r) => r.skipped === true);
  const result: Dict = { changed, results, msg: failed ? 'One or more items failed' : 'All items completed' };
  if (failed) result.failed = true;
  if (allSkipped) result.skipped = true;
  const status: HostStatus = failed ? (ignoreErrors(task, env) ? 'ignored' : 'failed') : allSkipped ? 'skipped' : changed ? 'changed' : 'ok';
  return { status, result, display: noLog ? censored(result) : undefined, facts: Object.keys(facts).length ? facts : undefined, included: Object.keys(included).length ? included : undefined, delegatedTo };
}

/** The items a loop keyword yields, as Ansible's lookups make them (with_items flattens one level). */
export function loopItems(task: Pick<ModuleTask, 'loop_kind'>, value: unknown): unknown[] {
  const kind = task.loop_kind ?? 'loop';
  if (kind === 'with_dict') {
    if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`with_dict expects a dict, got ${Array.isArray(value) ? 'a list' : typeof value}`);
    return Object.entries(value as Dict).map(([key, v]) => ({ key, value: v }));
  }
  // A with_ lookup's terms are listified first (listify_lookup_plugin_terms): a string or a scalar is one item.
  const terms = kind !== 'loop' && (typeof value !== 'object' || value === null) ? [value] : value;
  if (kind === 'with_items') {
    const list = Array.isArray(terms) ? terms : [terms];
    return list.flatMap((v) => (Array.isArray(v) ? v : [v]));
  }
  value = terms;
  if (!Array.isArray(value)) throw new Error(`Invalid data passed to '${kind}', it requires a list, got this instead: ${JSON.stringify(value)}. Hint: If you passed a list/elements to 'loop', use '| list' or 'dict2items'`);
  return value;
}

/** loop_control.extended: the ansible_loop variable. */
export function extendedLoop(items: unknown[], index: number): Dict {
  const n = items.length;
  const out: Dict = {
    allitems: items, index: index + 1, index0: index, revindex: n - index, revindex0: n - index - 1,
    first: index === 0, last: index === n - 1, length: n,
  };
  if (index > 0) out.previtem = items[index - 1];
  if (index < n - 1) out.nextitem = items[index + 1];
  return out;
}

function ignoreErrors(task: ModuleTask, env: TaskEnvironment): boolean {
  if (task.ignore_errors === undefined || task.ignore_errors === null) return false;
  return env.templater.condition(task.ignore_errors, env.vars, { searchPaths: env.searchPaths, memo: env.memo });
}

async function runOnce(task: ModuleTask, mod: Module, host: string, env: TaskEnvironment, vars: Dict, noLog: boolean): Promise<TaskOutcome> {
  const { templater, searchPaths } = env;
  const opts = { searchPaths, memo: env.memo };
  const args = await moduleArgs(mod, dropOmitted(templater.render(mod.literalArgs ? mod.literalArgs(task.args) : task.args, vars, opts) as Dict));
  for (const k of mod.secretArgs ?? []) if (typeof args[k] === 'string' && args[k]) env.redactor.addSecret(args[k] as string);

  const delegate = task.delegate_to ? String(templater.render(task.delegate_to, vars, opts)) : undefined;
  if (delegate && !env.inventory.hosts.has(delegate)) throw new Error(`delegate_to: unknown host '${delegate}'`);
  const target = delegate ?? host;
  const check = task.check_mode ?? env.check;
  const environment = task.environment ? (templater.render(task.environment, vars, opts) as Record<string, string>) : undefined;
  const ctx: ModuleContext = {
    host: env.inventory.hosts.get(host)!,
    inventory: env.inventory,
    vars,
    check,
    diff: env.diff && task.diff !== false,
    become: env.become,
    becomePassword: task.become_password ? String(templater.render(task.become_password, vars, opts)) : undefined,
    environment,
    playbookDir: env.playbookDir,
    roleDir: task.role?.dir,
    connection: () => env.pool.get(target),
    connectionTo: (h) => env.pool.get(h),
    warn: (message) => env.emit({ type: 'warning', message, host }),
    log: (level, message) => {
      if (level <= env.verbosity) env.emit({ type: 'log', level, message, host });
    },
    secret: (v) => env.redactor.addSecret(v),
    signal: env.signal,
    render: (value, extra) => templater.render(value, extra ? scoped(vars, extra) : vars, opts),
    condition: (expression, extra) => templater.condition(expression, extra ? scoped(vars, extra) : vars, opts),
    run: env.run,
  };
  if (ctx.becomePassword) env.redactor.addSecret(ctx.becomePassword);

  // Ansible runs an `until` task retries + 1 times (retries defaults to 3; 0 or less: once), and reports
  // attempts = retries when they are all used up.
  const retries = task.until !== undefined ? Math.max(0, Number(templater.render(task.retries ?? 3, vars, opts))) : 0;
  const delay = Number(templater.render(task.delay ?? 5, vars, opts));
  let attempt = 0;
  let result: ModuleResult;
  for (;;) {
    attempt++;
    result = await invoke(mod, ctx, args, check, env.plan && { hook: env.plan, ref: { task, host, module: mod.name } });
    if (task.until === undefined) break;
    const probe = scoped(vars, task.register ? { [task.register]: result } : {});
    result.attempts = attempt;
    if (evalCond(templater, task.until, probe, opts)) break;
    if (attempt > retries) {
      result = { ...result, failed: true, attempts: Math.max(1, retries), msg: result.msg ?? `retries exhausted (${attempt} attempts): until condition not met` };
      break;
    }
    ctx.log(1, `FAILED - RETRYING: ${task.name ?? task.module} (${retries - attempt + 1} retries left)`);
    await sleep(delay * 1000, env.signal);
  }

  const probe = scoped(vars, task.register ? { [task.register]: result } : {});
  if (task.changed_when !== undefined && !result.skipped) result.changed = evalCond(templater, task.changed_when, probe, opts);
  if (task.failed_when !== undefined && !result.skipped) {
    const failed = evalCond(templater, task.failed_when, probe, opts);
    result.failed = failed;
    if (failed && !result.msg) result.msg = 'failed_when condition met';
  }

  // As Ansible's task executor: every result says whether it failed and changed (rc != 0 is a failure).
  if (result.failed === undefined) result.failed = typeof result.rc === 'number' && result.rc !== 0;
  if (result.changed === undefined) result.changed = false;

  let facts: Dict | undefined;
  let included: Dict | undefined;
  if (result.ansible_facts && typeof result.ansible_facts === 'object' && !result.failed) {
    if (mod.name === 'include_vars') included = result.ansible_facts as Dict;
    else {
      // Ansible's namespacing: each fact is a variable by the name the module gave it (ansible_hostname), and
      // ansible_facts holds it without the prefix (ansible_facts.hostname). set_fact sets variables only, unless
      // `cacheable: true` also makes them facts (Ansible's strategy: set_nonpersistent_facts vs set_host_facts).
      const returned = result.ansible_facts as Dict;
      const asFacts = task.module !== 'set_fact' || truthy(args.cacheable);
      const bare = Object.fromEntries(Object.entries(returned).map(([k, v]) => [k.replace(/^ansible_/, ''), v]));
      facts = asFacts ? { ...returned, ansible_facts: bare } : { ...returned };
    }
  }
  const status: HostStatus = result.failed
    ? ignoreErrors(task, env) ? 'ignored' : 'failed'
    : result.skipped ? 'skipped' : result.changed ? 'changed' : 'ok';
  return { status, result, display: noLog ? censored(result) : undefined, facts, included, delegatedTo: delegate };
}

/** Under `when` lists Ansible ANDs the items; changed_when/failed_when accept lists too. */
function evalCond(t: Templater, cond: unknown, vars: Dict, opts: { searchPaths: string[] }): boolean {
  return Array.isArray(cond) ? cond.every((c) => t.condition(c, vars, opts)) : t.condition(cond, vars, opts);
}

/** The arguments a module sees: validated against its schema, then defaulted from it (the one place defaults are filled in). */
async function moduleArgs(mod: Module, given: Dict): Promise<Dict> {
  await validateArgs(mod, given);
  return applyDefaults<Dict>(mod.schema, given);
}

/**
 * One call of a module as a task makes it, for a context built elsewhere (tests): arguments validated and
 * defaulted, secret arguments registered, facts, plan, and apply when the plan changes something outside check mode.
 */
export async function callModule(mod: Module, ctx: ModuleContext, given: Dict): Promise<ModuleResult> {
  const args = await moduleArgs(mod, given);
  for (const k of mod.secretArgs ?? []) if (typeof args[k] === 'string' && args[k]) ctx.secret(args[k] as string);
  return invoke(mod, ctx, args, ctx.check);
}

async function invoke(mod: Module, ctx: ModuleContext, args: Dict, check: boolean, saved?: { hook: PlanHook; ref: Parameters<PlanHook['planned']>[0] }): Promise<ModuleResult> {
  const facts = await mod.facts(ctx, args);
  const plan = mod.plan(facts, args, ctx);
  saved?.hook.planned(saved.ref, plan);
  if (check && plan.unpredictable) {
    return { changed: false, skipped: true, msg: `skipped in check mode: ${mod.name} cannot predict its changes` };
  }
  const diff = ctx.diff ? plan.diff : undefined;
  if (check || (!plan.changed && !plan.settle)) {
    return { changed: plan.changed, ...(plan.result ?? {}), ...(plan.msg ? { msg: plan.msg } : {}), ...(diff ? { diff } : {}) };
  }
  if (!mod.apply) throw new Error(`module ${mod.name} planned a change but cannot apply one`);
  const applied = await mod.apply(ctx, args, plan);
  if (!ctx.diff) delete applied.diff;
  else if (!applied.diff && diff) applied.diff = diff;
  return applied;
}

async function validateArgs(mod: Module, args: Dict): Promise<void> {
  const v = await argsValidator(mod);
  if (v(args)) return;
  const msgs = (v.errors ?? []).map((e) => {
    const at = e.instancePath ? e.instancePath.slice(1).replace(/\//g, '.') : 'arguments';
    if (e.keyword === 'additionalProperties') return `unknown argument '${e.params.additionalProperty}'`;
    if (e.keyword === 'required') return `missing required argument '${e.params.missingProperty}'`;
    return `${at} ${e.message}`;
  });
  throw new Error(`invalid arguments for module ${mod.name}: ${msgs.join('; ')}`);
}
