// The linear strategy: each task runs on all its hosts (in parallel, up to --forks) before the next task.
// Hosts that fail leave the play; unreachable hosts leave it and are counted apart; blocks rescue and always.
import { UnreachableError, type Connection } from '../connection/types.js';
import { ExitCode } from '../errors.js';
import { selectHosts } from '../inventory/index.js';
import type { Inventory } from '../inventory/types.js';
import { emptyStats, type HostStats, type HostStatus, type Reporter, type RunEvent } from '../output/events.js';
import { tally } from '../output/recap.js';
import type { IncludeTask, MetaTask, ModuleTask, Play, Playbook, RoleScope, Task } from '../playbook/types.js';
import { PlaybookLoader } from '../playbook/load.js';
import type { Templater } from '../template/types.js';
import type { SecretPolicy } from '../secrets/policy.js';
import { loadModule } from '../modules/index.js';
import { RunScope } from '../modules/run-scope.js';
import { ConnectionPool } from './connections.js';
import { fatalFailure, HostStates } from './failures.js';
import { Notifications } from './handlers.js';
import { HostScopes } from './scopes.js';
import { SecretRegistration } from './secret-registration.js';
import { batches, mapLimit, TaskSelection } from './select.js';
import { extendedLoop, loopItems, runModuleTask, scoped, type TaskOutcome } from './task.js';
import type { PlanHook } from '../plan/session.js';
import { transportSummary } from './transport.js';


type Dict = Record<string, unknown>;

export interface Redaction {
  addSecret(value: string): void;
  redact<T>(value: T): T;
  redactText(text: string): string;
}

export interface RunOptions {
  inventory: Inventory;
  playbooks: Playbook[];
  templater: Templater;
  redactor: Redaction;
  reporters: Reporter[];
  extraVars: Dict;
  check: boolean;
  diff: boolean;
  forks: number;
  /** Connections being opened at once (apart from forks), so unreachable hosts cost about one connect timeout. */
  maxConnecting?: number;
  limit?: string;
  tags: string[];
  skipTags: string[];
  startAtTask?: string;
  verbosity: number;
  acceptNewHostKeys: boolean;
  detailedExitcode: boolean;
  signal: AbortSignal;
  /** Which variable names hold secrets (the run's one policy, shared with the redactor). */
  secrets: SecretPolicy;
  /** A saved plan being made or followed (runner/plan/session.ts). */
  plan?: PlanHook & { refused?: string[] };
  /** Runs when the plays are done, before the connections close (the mesh Lease is released here). */
  beforeClose?: () => Promise<void>;
}

/**
 * One run of one or more playbooks: the linear strategy over plays, batches, tasks, blocks, includes and handlers.
 * Variables and their caches belong to HostScopes, host participation to HostStates, task selection to
 * TaskSelection, handler notifications to Notifications; this class sequences them and keeps the recap's stats.
 */
export class Runner {
  private readonly statsRecord: Record<string, HostStats> = {};
  private readonly pool: ConnectionPool;
  private readonly scopes: HostScopes;
  private readonly hostStates = new HostStates();
  private readonly notifications = new Notifications();
  private readonly selection: TaskSelection;
  private readonly secretNames: SecretRegistration;
  private readonly started = performance.now();
  private interrupted = false;
  private anyChanged = false;
  private play!: Play;
  private playbook!: Playbook;
  private playHosts: string[] = [];
  private batchHosts: string[] = [];
  private abortPlay = false;
  private fatal = false;
  /** any_errors_fatal or max_fail_percentage tripped, or a whole batch failed: later plays do not run (Ansible). */
  private stopRun = false;
  /** Per host and role listing (RoleScope.listing), the listing whose task ran first there. */
  private readonly roleRan = new Map<string, RoleScope>();
  /** Each host's last failed task and result (ansible_failed_task / ansible_failed_result in rescue). */
  private readonly lastFailure = new Map<string, { task: ModuleTask; result: Dict }>();
  /** Loaders for dynamic includes, one per playbook (its role search path). */
  private readonly loaders = new Map<Playbook, PlaybookLoader>();
  /** What modules share between tasks and hosts of this run (ctx.run): made here, so it ends with the run. */
  private readonly runScope = new RunScope();

  constructor(readonly o: RunOptions) {
    // The first playbook's scope until run() walks them: the mesh lock opens the control plane's connection (with
    // that host's variables) before the first play.
    this.playbook = o.playbooks[0]!;
    this.selection = new TaskSelection(o);
    this.scopes = new HostScopes(o, () => ({
      playbook: this.playbook,
      play: this.play,
      playHosts: this.playHosts,
      activePlayHosts: () => this.hostStates.activeView(this.playHosts),
      activeBatchHosts: () => this.hostStates.activeView(this.batchHosts),
    }));
    this.secretNames = new SecretRegistration({ ...o, addSecret: (v) => o.redactor.addSecret(v) }, this.scopes);
    this.pool = new ConnectionPool({
      inventory: o.inventory,
      acceptNewHostKeys: o.acceptNewHostKeys,
      maxConnecting: o.maxConnecting ?? 256,
      hostVars: (h) => this.scopes.resolvedHostVars(h),
      log: (level, message, host) => this.emit({ type: 'log', level, message, host }),
      warn: (message, host) => this.emit({ type: 'warning', message, host }),
      secret: (v) => o.redactor.addSecret(v),
      signal: o.signal,
    });
    o.signal.addEventListener(
      'abort',
      () => {
        this.interrupted = true;
        // In the event stream too, so a reader can tell which tasks started before the interrupt and which after.
        this.emit({ type: 'warning', message: 'interrupted: no new task starts; the commands in flight finish, then the recap' });
      },
      { once: true },
    );
  }

  /** The run's connection to a host, opened once and shared (also by the mesh lock before the first play). */
  connection(host: string): Promise<Connection> {
    return this.pool.get(host);
  }

  /**
   * The recap of what has run so far, for a second interrupt that ends the run without waiting for the commands
   * in flight: the operator still sees what changed before the stop (exit 99).
   */
  recapNow(): void {
    this.emit({ type: 'recap', stats: { ...this.statsRecord }, durationMs: performance.now() - this.started, exitCode: ExitCode.interrupted, reason: 'interrupted', transport: {} });
  }

  /** Closes the run's connections when it ends without running (another run holds the mesh). */
  async close(): Promise<void> {
    await this.pool.closeAll().catch(() => undefined);
  }

  emit(event: RunEvent): void {
    const safe = this.o.redactor.redact(event);
    for (const r of this.o.reporters) r.onEvent(safe);
  }

  async run(): Promise<number> {
    let reason = 'ok';
    let exitCode: number = ExitCode.ok;
    let transport: Dict = {};
    try {
      for (const pb of this.o.playbooks) {
        this.playbook = pb;
        this.emit({ type: 'playbook_start', file: pb.file, check: this.o.check });
        for (const play of pb.plays) {
          if (this.interrupted || this.stopRun) break;
          await this.runPlay(play);
        }
      }
    } finally {
      transport = transportSummary(await this.pool.opened());
      await this.o.beforeClose?.().catch(() => undefined);
      await this.pool.closeAll().catch(() => undefined);
    }
    const all = Object.values(this.statsRecord);
    if (this.interrupted) [exitCode, reason] = [ExitCode.interrupted, 'interrupted'];
    else if (all.some((s) => s.unreachable > 0)) [exitCode, reason] = [ExitCode.unreachable, 'unreachable'];
    else if (this.o.plan?.refused?.length) [exitCode, reason] = [ExitCode.planDrift, 'plan-drift'];
    else if (all.some((s) => s.failed > 0)) [exitCode, reason] = [ExitCode.hostFailed, 'failed'];
    else if (this.o.check && this.o.detailedExitcode && this.anyChanged) [exitCode, reason] = [ExitCode.drift, 'drift'];
    this.emit({
      type: 'recap',
      stats: { ...this.statsRecord },
      durationMs: performance.now() - this.started,
      exitCode,
      reason,
      transport,
    });
    return exitCode;
  }

  private stat(host: string): HostStats {
    return (this.statsRecord[host] ??= emptyStats());
  }

  private active(hosts: string[]): string[] {
    return this.hostStates.active(hosts);
  }

  // ---------------------------------------------------------------- plays

  private async runPlay(play: Play): Promise<void> {
    this.play = play;
    this.scopes.forget();
    const { hosts, warnings } = selectHosts(this.o.inventory, play.hosts, this.o.limit);
    for (const w of warnings) this.emit({ type: 'warning', message: w });
    this.emit({ type: 'play_start', play: play.name, hosts });
    if (hosts.length === 0) {
      this.emit({ type: 'warning', message: `no hosts matched '${play.hosts}'${this.o.limit ? ` with limit '${this.o.limit}'` : ''}; skipping play` });
      return;
    }
    this.playHosts = hosts;
    for (const batch of batches(hosts, play.serial)) {
      if (this.interrupted || this.abortPlay) break;
      this.hostStates.startBatch();
      this.notifications.reset();
      this.batchHosts = batch;
      for (const h of batch) this.stat(h);
      this.secretNames.hosts(batch, play);
      if (play.gather_facts && this.active(batch).length) await this.gatherFacts(this.active(batch));
      await this.runSection(play.pre_tasks, batch);
      await this.runSection(play.tasks, batch);
      await this.runSection(play.post_tasks, batch);
      // Ansible's playbook executor: failed and unreachable hosts leave the run; when every host of a batch is
      // gone, or a failure was fatal (any_errors_fatal, max_fail_percentage), no later batch or play runs.
      const noneLeft = this.hostStates.endBatch(batch);
      if (this.fatal || noneLeft) {
        this.stopRun = true;
        break;
      }
    }
    this.abortPlay = false;
    this.fatal = false;
    this.emit({ type: 'play_end', play: play.name });
  }

  private async runSection(tasks: Task[], hosts: string[]): Promise<void> {
    await this.runTasks(tasks, hosts, false);
    await this.flushHandlers(hosts);
  }

  /** gather_facts: the setup module, run as a task named as Ansible names it, on every active host. */
  private async gatherFacts(hosts: string[]): Promise<void> {
    const task: ModuleTask = {
      kind: 'module', module: 'setup', args: {}, name: 'Gathering Facts', position: this.play.position,
      when: [], ownWhen: [], vars: [], tags: ['always'], notify: [],
    };
    await this.runTask(task, hosts, false);
  }

  // ---------------------------------------------------------------- tasks

  private async runTasks(tasks: Task[], hosts: string[], rescuable: boolean): Promise<void> {
    for (const task of tasks) {
      if (this.interrupted || this.abortPlay) return;
      const all = this.active(hosts);
      if (all.length === 0) return;
      const active = this.notRepeated(task, all);
      if (active.length === 0) continue;
      if (task.kind === 'block') {
        await this.runBlock(task, active, rescuable);
        continue;
      }
      if (!this.selection.selected(task)) continue;
      if (task.kind === 'include') {
        await this.runInclude(task, active, rescuable);
        if (!rescuable) this.checkFailurePolicy(task, active);
        continue;
      }
      if (task.kind === 'meta') await this.runMeta(task, active);
      else await this.runTask(task, active, rescuable);
      // A failure a rescue will handle is not fatal yet (any_errors_fatal with rescue: the rescue runs).
      if (!rescuable) this.checkFailurePolicy(task, active);
    }
  }

  private async runBlock(block: Extract<Task, { kind: 'block' }>, hosts: string[], rescuable: boolean): Promise<void> {
    const hasRescue = block.rescue.length > 0;
    await this.runTasks(block.block, hosts, rescuable || hasRescue);
    const { failed, unreachable, ended } = this.hostStates;
    const failedHere = hosts.filter((h) => failed.has(h) && !unreachable.has(h));
    if (hasRescue && failedHere.length) {
      for (const h of failedHere) {
        failed.delete(h);
        this.stat(h).rescued++;
        // What the rescue may read about the failure, as in Ansible.
        const last = this.lastFailure.get(h);
        if (last) this.scopes.setFacts(h, { ansible_failed_task: { name: last.task.name ?? '', action: last.task.module }, ansible_failed_result: last.result });
      }
      // A failure inside rescue is a real failure of the host (tallied by the task itself); the host still
      // counts as rescued, as in Ansible's recap.
      await this.runTasks(block.rescue, failedHere, rescuable);
    }
    if (block.always.length) {
      const stillFailed = hosts.filter((h) => failed.has(h));
      for (const h of stillFailed) failed.delete(h);
      await this.runTasks(block.always, hosts.filter((h) => !unreachable.has(h) && !ended.has(h)), rescuable);
      for (const h of stillFailed) failed.add(h);
    }
  }

  /**
   * A dynamic include: per host, its condition, loop and file name are evaluated; the include counts ok
   * (include_tasks, once per item) or nothing (include_role) as in Ansible's recap; then each distinct
   * (file, loop variables) is loaded and run on the hosts that included it, in the order they first appear.
   */
  private async runInclude(task: IncludeTask, hosts: string[], rescuable: boolean): Promise<void> {
    const name = task.name ?? task.module;
    const asModule = task as unknown as ModuleTask;
    this.scopes.forget();
    this.emit({ type: 'task_start', play: this.play.name, task: name, hosts, role: task.role?.name });
    const perHost = new Map<string, { file?: string; extra: Dict }[]>();
    for (const host of hosts) {
      const t = performance.now();
      try {
        const vars = this.scopes.hostScope(host, asModule);
        const opts = { searchPaths: this.scopes.searchPaths(asModule), memo: this.scopes.memo };
        const entries: { file?: string; extra: Dict }[] = [];
        const add = (extra: Dict) => {
          const scope = Object.keys(extra).length ? scoped(vars, extra) : vars;
          if (!task.ownWhen.every((w) => this.o.templater.condition(w, scope, opts))) return false;
          const file = task.file === undefined ? undefined : String(this.o.templater.render(task.file, scope, opts));
          entries.push({ file, extra });
          return true;
        };
        if (task.loop === undefined) {
          if (!add({})) {
            this.record(asModule, host, 'skipped', { changed: false, skipped: true, skip_reason: 'Conditional result was False' }, t, rescuable);
            continue;
          }
        } else {
          const items = loopItems(task, this.o.templater.render(task.loop, vars, opts));
          const loopVar = task.loop_control?.loop_var ?? 'item';
          items.forEach((item, index) => {
            const extra: Dict = { [loopVar]: item, ansible_loop_var: loopVar };
            if (task.loop_control?.index_var) extra[task.loop_control.index_var] = index;
            if (task.loop_control?.extended) extra.ansible_loop = extendedLoop(items, index);
            add(extra);
          });
          if (entries.length === 0) {
            this.record(asModule, host, 'skipped', { changed: false, skipped: true, results: [] }, t, rescuable);
            continue;
          }
        }
        perHost.set(host, entries);
      } catch (e) {
        this.recordError(asModule, host, e, t, rescuable);
      }
    }
    this.emit({ type: 'task_end', play: this.play.name, task: name, durationMs: 0 });
    const groups = new Map<string, { file?: string; extra: Dict; hosts: string[] }>();
    for (const [host, entries] of perHost) {
      for (const e of entries) {
        const key = JSON.stringify([e.file, e.extra]);
        const g = groups.get(key) ?? { ...e, hosts: [] };
        g.hosts.push(host);
        groups.set(key, g);
      }
    }
    const loader = (this.loaders.get(this.playbook) ?? this.loaders.set(this.playbook, new PlaybookLoader(this.playbook.file)).get(this.playbook))!;
    // Every include is loaded (and counted: ok, or failed when its file cannot be loaded) before any of
    // them runs, as Ansible reports all includes of a task first.
    const loaded: { tasks: Task[]; hosts: string[] }[] = [];
    for (const g of groups.values()) {
      const live = this.active(g.hosts);
      if (live.length === 0) continue;
      const t = performance.now();
      try {
        loaded.push({ tasks: await loader.expandInclude(task, g.file, g.extra, this.play.handlers), hosts: live });
      } catch (e) {
        for (const h of live) this.recordError(asModule, h, e instanceof Error ? e : new Error(String(e)), t, rescuable);
        continue;
      }
      if (task.module === 'include_tasks') for (const h of live) this.record(asModule, h, 'ok', { changed: false, include: g.file }, t, rescuable);
    }
    for (const l of loaded) {
      const live = this.active(l.hosts);
      if (live.length) await this.runTasks(l.tasks, live, rescuable);
    }
  }

  private checkFailurePolicy(task: Task, hosts: string[]): void {
    const why = fatalFailure(task, this.play, hosts, this.batchHosts, this.hostStates);
    if (!why) return;
    this.emit({ type: 'warning', message: why });
    this.abortPlay = true;
    this.fatal = true;
  }

  private async runMeta(task: MetaTask, hosts: string[]): Promise<void> {
    switch (task.action) {
      case 'flush_handlers':
        return this.flushHandlers(hosts);
      case 'end_play':
        for (const h of this.playHosts) this.hostStates.ended.add(h);
        this.abortPlay = true;
        return;
      case 'end_host':
        for (const h of hosts) if (this.condition(task, h, this.scopes.hostScope(h, task as unknown as ModuleTask))) this.hostStates.ended.add(h);
        return;
      case 'clear_facts':
        for (const h of hosts) this.scopes.clearGathered(h);
        this.scopes.forget();
        return;
      case 'noop':
        return;
    }
  }

  private condition(task: { when: unknown[] }, host: string, vars: Dict): boolean {
    return task.when.every((w) => this.o.templater.condition(w, vars));
  }

  private async runTask(task: ModuleTask, hosts: string[], rescuable: boolean, handler = false): Promise<void> {
    const name = taskName(task);
    const targets = task.run_once ? hosts.slice(0, 1) : hosts;
    this.scopes.newTask();
    this.emit({ type: 'task_start', play: this.play.name, task: name, hosts: targets, role: task.role?.name, handler });
    const t0 = performance.now();
    // Connections open ahead of the forks and with their own concurrency: a fork slot waiting out an unreachable
    // node's connect timeout would otherwise hold back the next wave (1,000 unreachable nodes, forks 50: 20
    // timeouts in a row instead of one).
    if (await this.usesHostConnection(task)) this.pool.prefetch(targets);
    await mapLimit(targets, this.o.forks, async (host) => {
      if (this.interrupted) return;
      const t = performance.now();
      let outcome: TaskOutcome;
      try {
        outcome = await runModuleTask(task, host, this.taskEnv(task, host));
      } catch (e) {
        this.recordError(task, host, e, t, rescuable);
        return;
      }
      const applyTo = task.run_once ? hosts : [host];
      if (task.register) for (const h of applyTo) this.scopes.setFacts(h, { [task.register]: outcome.result }, 'registered');
      // What setup found (gather_facts, or setup as a task) is what meta: clear_facts clears.
      if (outcome.facts) for (const h of applyTo) this.scopes.setFacts(h, outcome.facts, task.module === 'setup' ? 'gathered' : 'fact');
      if (outcome.included) for (const h of applyTo) this.scopes.include(h, outcome.included);
      if (outcome.status === 'changed') {
        this.anyChanged = true;
        this.notifications.notify(task.notify, applyTo);
      }
      this.record(task, host, outcome.status, outcome.display ?? outcome.result, t, rescuable, outcome.delegatedTo);
    });
    this.emit({ type: 'task_end', play: this.play.name, task: name, durationMs: performance.now() - t0 });
  }

  /** Whether a task talks to its own hosts (not delegated, not a module that runs on the controller). */
  private async usesHostConnection(task: ModuleTask): Promise<boolean> {
    if (task.delegate_to !== undefined) return false;
    try {
      return !(await loadModule(task.module)).local;
    } catch {
      return false; // an unknown module fails in the task itself
    }
  }

  private async flushHandlers(hosts: string[]): Promise<void> {
    for (const { handler, hosts: notified } of this.notifications.take(this.play)) {
      const run = this.active(hosts).filter((x) => notified.has(x));
      if (run.length) await this.runTask(handler, run, false, true);
    }
  }

  /**
   * A role listed again in the play's roles: with the same parameters runs only on hosts where no earlier
   * listing ran a task (Ansible marks a role completed for a host once one of its tasks was not skipped).
   */
  private notRepeated(task: Task, hosts: string[]): string[] {
    const listing = task.role?.listing;
    if (!listing) return hosts;
    return hosts.filter((h) => {
      const first = this.roleRan.get(`${h}\0${listing}`);
      return first === undefined || first === task.role;
    });
  }

  private record(task: ModuleTask, host: string, status: HostStatus, result: Dict, t: number, rescuable: boolean, delegatedTo?: string): void {
    const listing = task.role?.listing;
    if (listing && status !== 'skipped' && !this.roleRan.has(`${host}\0${listing}`)) this.roleRan.set(`${host}\0${listing}`, task.role!);
    if (status === 'failed') {
      this.hostStates.failed.add(host);
      this.lastFailure.set(host, { task, result });
    }
    if (status === 'unreachable') this.hostStates.unreachable.add(host);
    // A failure inside a block with rescue is counted when the block settles (rescued), not here.
    if (!(status === 'failed' && rescuable)) tally(this.statsRecord, host, status, result.changed === true);
    this.emit({
      type: 'task_result', play: this.play.name, task: taskName(task), host, status,
      durationMs: performance.now() - t, result, delegatedTo,
    });
  }

  private recordError(task: ModuleTask, host: string, e: unknown, t: number, rescuable: boolean): void {
    if (e instanceof UnreachableError) {
      this.record(task, host, 'unreachable', { unreachable: true, changed: false, msg: e.message }, t, rescuable);
      return;
    }
    const msg = e instanceof Error ? e.message : String(e);
    const result: Dict = { failed: true, changed: false, msg };
    if (this.o.verbosity >= 3 && e instanceof Error && e.stack) result.exception = e.stack;
    const ignore = this.safeCondition(task.ignore_errors, host);
    this.record(task, host, ignore ? 'ignored' : 'failed', result, t, rescuable);
  }

  private safeCondition(v: unknown, host: string): boolean {
    if (v === undefined || v === null) return false;
    try {
      return this.o.templater.condition(v, this.scopes.hostScope(host));
    } catch {
      return false;
    }
  }

  private taskEnv(task: ModuleTask, host: string) {
    const vars = this.scopes.hostScope(host, task);
    this.secretNames.task(task, vars);
    return {
      vars,
      inventory: this.o.inventory,
      templater: this.o.templater,
      searchPaths: this.scopes.searchPaths(task),
      memo: this.scopes.memo,
      check: this.o.check,
      diff: this.o.diff,
      verbosity: this.o.verbosity,
      playbookDir: this.playbook.dir,
      pool: this.pool,
      become: task.become ?? this.play.become,
      redactor: this.o.redactor,
      signal: this.o.signal,
      emit: (e: RunEvent) => this.emit(e),
      plan: this.o.plan,
      run: this.runScope,
    };
  }
}

export type TaskEnv = ReturnType<Runner['taskEnv']>;

export function taskName(task: ModuleTask): string {
  const base = task.name ?? task.module;
  return task.role ? `${task.role.name} : ${base}` : base;
}
