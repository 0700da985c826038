// The linear strategy: each task runs on all its hosts (in parallel, up to --forks) before the next task.
// Hosts that fail leave the play; unreachable hosts leave it and are counted apart; blocks rescue and always.
import { dirname, join } from 'node:path';
import { UnreachableError, type Connection } from '../connection/types.js';
import { ExitCode } from '../errors.js';
import { selectHosts, hostVars as inventoryHostVars } from '../inventory/index.js';
import type { Inventory } from '../inventory/types.js';
import { emptyStats, type HostStats, type HostStatus, type Reporter, type RunEvent } from '../output/events.js';
import { tally } from '../output/recap.js';
import type { Handler, IncludeTask, MetaTask, ModuleTask, Play, Playbook, RoleScope, Task } from '../playbook/types.js';
import { PlaybookLoader } from '../playbook/load.js';
import type { Templater } from '../template/types.js';
import { ConnectionPool } from './connections.js';
import { extendedLoop, loopItems, runModuleTask, scoped, type TaskOutcome } from './task.js';
import { layeredVars, type VarLayer } from './vars.js';
import { RenderMemo } from '../template/memo.js';
import type { SecretPolicy } from '../secrets/policy.js';

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
  /** Runs when the plays are done, before the connections close (the mesh Lease is released here). */
  beforeClose?: () => Promise<void>;
}

/** Per-run state shared by plays: facts and registered variables live for the whole run, as in Ansible. */
export class Runner {
  private readonly statsRecord: Record<string, HostStats> = {};
  readonly facts = new Map<string, Dict>();
  private readonly pool: ConnectionPool;
  private readonly started = performance.now();
  private startAtReached: boolean;
  private interrupted = false;
  private anyChanged = false;
  /** Hosts whose play has ended (failed, unreachable, end_host) — per play. */
  private failed = new Set<string>();
  private unreachable = new Set<string>();
  private ended = new Set<string>();
  private notified = new Map<string, Set<string>>();
  private play!: Play;
  private playbook!: Playbook;
  private playHosts: string[] = [];
  private batchHosts: string[] = [];
  private abortPlay = false;
  private fatal = false;
  /**
   * Hosts that failed or were unreachable in an earlier play or batch: as in Ansible, they take no part in the
   * rest of the playbook run.
   */
  private readonly gone = new Set<string>();
  /** any_errors_fatal or max_fail_percentage tripped, or a whole batch failed: later plays do not run (Ansible). */
  private stopRun = false;
  /**
   * Variables of other hosts as `hostvars` shows them, built on first access and shared by every host's
   * view: a task that reads hostvars of all nodes on all nodes would otherwise build hosts x hosts scopes.
   * A host's entry is dropped when its facts change, and the whole cache when a play or task starts.
   */
  private readonly hostvarsCache = new Map<string, Dict>();
  /** Renders of variable-only templates shared between hosts until facts change (runner/template/memo.ts). */
  private readonly renderMemo = new RenderMemo();
  /** Built once: the same objects for every host, so templates reading them can share renders. */
  private readonly groupsView: Dict;
  private readonly hostvarsView: Dict;
  /** Per task (or playbook) and per host, computed once: both were rebuilt for every host of every task. */
  private readonly searchPathCache = new WeakMap<object, { playbook: Playbook; dirs: string[] }>();
  private readonly groupNamesCache = new Map<string, string[]>();
  /** Per host, the facts that hold a registered result (not a value the author named). */
  private readonly registeredNames = new Map<string, Set<string>>();
  /** Each host's last failed task and result (ansible_failed_task / ansible_failed_result in rescue). */
  /** Per host and role listing (RoleScope.listing), the listing whose task ran first there. */
  private readonly roleRan = new Map<string, RoleScope>();
  /** Per host, the names gather_facts set (what meta: clear_facts clears). */
  private readonly gathered = new Map<string, Set<string>>();
  private readonly lastFailure = new Map<string, { task: ModuleTask; result: Dict }>();
  /** Loaders for dynamic includes, one per playbook (its role search path). */
  private readonly loaders = new Map<Playbook, PlaybookLoader>();

  constructor(readonly o: RunOptions) {
    this.startAtReached = !o.startAtTask;
    // The first playbook's scope until run() walks them: the mesh lock opens the control plane's connection (with
    // that host's variables) before the first play.
    this.playbook = o.playbooks[0]!;
    this.groupsView = Object.fromEntries(o.inventory.groups);
    this.hostvarsView = this.hostvarsProxy();
    this.pool = new ConnectionPool({
      inventory: o.inventory,
      acceptNewHostKeys: o.acceptNewHostKeys,
      hostVars: (h) => this.resolvedHostVars(h),
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
      transport = await this.transportSummary();
      await this.o.beforeClose?.().catch(() => undefined);
      await this.pool.closeAll().catch(() => undefined);
    }
    const all = Object.values(this.statsRecord);
    if (this.interrupted) [exitCode, reason] = [ExitCode.interrupted, 'interrupted'];
    else if (all.some((s) => s.unreachable > 0)) [exitCode, reason] = [ExitCode.unreachable, 'unreachable'];
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

  private async transportSummary(): Promise<Dict> {
    const conns = await this.pool.opened();
    const byKind: Dict = {};
    for (const c of conns) {
      const t = c.timings();
      const k = (byKind[c.kind] ??= { connections: 0, connectMs: 0, commands: 0, commandMs: 0 }) as Record<string, number>;
      k.connections++;
      k.connectMs = Math.round((k.connectMs + t.connectMs) * 10) / 10;
      k.commands += t.commands;
      k.commandMs = Math.round((k.commandMs + t.commandMs) * 10) / 10;
      const counts = (c as unknown as { requestCounts?: () => { byVerb: Record<string, number>; persisting: number; dryRun: number; lock: number; total: number } }).requestCounts?.();
      if (counts) {
        const req = ((k as Dict).requests ??= { persisting: 0, dryRun: 0, lock: 0, total: 0 }) as Record<string, number>;
        for (const [verb, n] of Object.entries(counts.byVerb)) req[verb] = (req[verb] ?? 0) + n;
        req.persisting += counts.persisting;
        req.dryRun += counts.dryRun;
        req.lock += counts.lock;
        req.total += counts.total;
      }
    }
    return byKind;
  }

  private stat(host: string): HostStats {
    return (this.statsRecord[host] ??= emptyStats());
  }

  private active(hosts: string[]): string[] {
    return hosts.filter((h) => !this.failed.has(h) && !this.unreachable.has(h) && !this.ended.has(h) && !this.gone.has(h));
  }

  // ---------------------------------------------------------------- plays

  private async runPlay(play: Play): Promise<void> {
    this.play = play;
    this.forgetViews();
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
      this.failed = new Set();
      this.unreachable = new Set();
      this.ended = new Set();
      this.notified = new Map();
      this.batchHosts = batch;
      for (const h of batch) this.stat(h);
      this.registerSecrets(batch);
      if (play.gather_facts && this.active(batch).length) await this.gatherFacts(this.active(batch));
      await this.runSection(play.pre_tasks, batch);
      await this.runSection(play.tasks, batch);
      await this.runSection(play.post_tasks, batch);
      // Ansible's playbook executor: failed and unreachable hosts leave the run; when every host of a batch is
      // gone, or a failure was fatal (any_errors_fatal, max_fail_percentage), no later batch or play runs.
      for (const h of batch) if (this.failed.has(h) || this.unreachable.has(h)) this.gone.add(h);
      if (this.fatal || batch.every((h) => this.gone.has(h))) {
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

  /** Secret-named variables (token, password, api_key...) of every host are registered before anything prints. */
  private registerSecrets(hosts: string[]): void {
    const add = (v: string) => this.o.redactor.addSecret(v);
    for (const h of hosts) {
      // A registered variable is a module's result, named by the playbook author (`register: reader_token`): its name
      // says nothing about its strings (the host, the object's name, the method). Secrets inside it are found by
      // their own names (token, data of a Secret) and by what the module registered itself while it ran.
      const facts = this.facts.get(h) ?? {};
      const registered = this.registeredNames.get(h);
      const own = registered?.size ? Object.fromEntries(Object.entries(facts).filter(([k]) => !registered.has(k))) : facts;
      const sources = [inventoryHostVars(this.o.inventory, h), this.play.vars, own, this.o.extraVars];
      this.o.secrets.scopeSecrets(sources, this.hostScope(h), add);
      for (const k of registered ?? []) {
        this.o.secrets.innerSecrets(facts[k], add);
        // `register: sa_token` of `command: kubectl create token ...`: the output is what the name describes.
        if (this.o.secrets.isSecretName(k)) for (const out of commandOutputs(facts[k])) this.o.secrets.secretStrings(out, add);
      }
    }
  }

  private async gatherFacts(hosts: string[]): Promise<void> {
    const task: ModuleTask = {
      kind: 'module', module: 'setup', args: {}, name: 'Gathering Facts', position: this.play.position,
      when: [], ownWhen: [], vars: [], tags: ['always'], notify: [],
    };
    this.emit({ type: 'task_start', play: this.play.name, task: 'Gathering Facts', hosts });
    const t0 = performance.now();
    await mapLimit(hosts, this.o.forks, async (host) => {
      const t = performance.now();
      try {
        const conn = await this.pool.get(host);
        const facts = await gatherHostFacts(conn);
        // As Ansible: ansible_facts.hostname, and the same fact injected as ansible_hostname.
        const bare = Object.fromEntries(Object.entries(facts).map(([k, v]) => [k.replace(/^ansible_/, ''), v]));
        this.setFacts(host, { ansible_facts: bare, ...facts });
        this.gathered.set(host, new Set(Object.keys(facts)));
        this.record(task, host, 'ok', { changed: false }, t, false);
      } catch (e) {
        this.recordError(task, host, e, t, false);
      }
    });
    this.emit({ type: 'task_end', play: this.play.name, task: 'Gathering Facts', durationMs: performance.now() - t0 });
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
      if (!this.selected(task)) continue;
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
    const failedHere = hosts.filter((h) => this.failed.has(h) && !this.unreachable.has(h));
    if (hasRescue && failedHere.length) {
      for (const h of failedHere) {
        this.failed.delete(h);
        this.stat(h).rescued++;
        // What the rescue may read about the failure, as in Ansible.
        const last = this.lastFailure.get(h);
        if (last) this.setFacts(h, { ansible_failed_task: { name: last.task.name ?? '', action: last.task.module }, ansible_failed_result: last.result });
      }
      // A failure inside rescue is a real failure of the host (tallied by the task itself); the host still
      // counts as rescued, as in Ansible's recap.
      await this.runTasks(block.rescue, failedHere, rescuable);
    }
    if (block.always.length) {
      const stillFailed = hosts.filter((h) => this.failed.has(h));
      for (const h of stillFailed) this.failed.delete(h);
      await this.runTasks(block.always, hosts.filter((h) => !this.unreachable.has(h) && !this.ended.has(h)), rescuable);
      for (const h of stillFailed) this.failed.add(h);
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
    this.forgetViews();
    this.emit({ type: 'task_start', play: this.play.name, task: name, hosts, role: task.role?.name });
    const perHost = new Map<string, { file?: string; extra: Dict }[]>();
    for (const host of hosts) {
      const t = performance.now();
      try {
        const vars = this.hostScope(host, asModule);
        const opts = { searchPaths: this.searchPaths(asModule), memo: this.renderMemo };
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

  private selected(task: ModuleTask | MetaTask | IncludeTask): boolean {
    if (!this.startAtReached) {
      if (task.kind === 'module' && task.name && (task.name === this.o.startAtTask || `${task.role?.name} : ${task.name}` === this.o.startAtTask)) {
        this.startAtReached = true;
      } else return false;
    }
    return tagsSelect(task.tags, this.o.tags, this.o.skipTags);
  }

  private checkFailurePolicy(task: Task, hosts: string[]): void {
    const failedNow = hosts.filter((h) => this.failed.has(h));
    if (failedNow.length === 0) return;
    if (task.any_errors_fatal || this.play.any_errors_fatal) {
      this.emit({ type: 'warning', message: `any_errors_fatal: stopping the run after a failure on ${failedNow.join(', ')}` });
      this.abortPlay = true;
      this.fatal = true;
      return;
    }
    const pct = this.play.max_fail_percentage;
    if (pct !== undefined) {
      const failedInBatch = this.batchHosts.filter((h) => this.failed.has(h) || this.unreachable.has(h)).length;
      if ((failedInBatch / this.batchHosts.length) * 100 > pct) {
        this.emit({ type: 'warning', message: `max_fail_percentage ${pct}% exceeded (${failedInBatch}/${this.batchHosts.length} hosts failed); stopping the run` });
        this.abortPlay = true;
        this.fatal = true;
      }
    }
  }

  private async runMeta(task: MetaTask, hosts: string[]): Promise<void> {
    switch (task.action) {
      case 'flush_handlers':
        return this.flushHandlers(hosts);
      case 'end_play':
        for (const h of this.playHosts) this.ended.add(h);
        this.abortPlay = true;
        return;
      case 'end_host':
        for (const h of hosts) if (this.condition(task, h, this.hostScope(h, task as unknown as ModuleTask))) this.ended.add(h);
        return;
      case 'clear_facts':
        // Ansible clears the fact cache (gathered facts), not what set_fact or register set.
        for (const h of hosts) {
          const f = this.facts.get(h);
          if (!f) continue;
          for (const k of [...(this.gathered.get(h) ?? []), 'ansible_facts']) delete f[k];
          this.gathered.delete(h);
        }
        this.forgetViews();
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
    this.forgetViews();
    this.emit({ type: 'task_start', play: this.play.name, task: name, hosts: targets, role: task.role?.name, handler });
    const t0 = performance.now();
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
      if (task.register) {
        const applyTo = task.run_once ? hosts : [host];
        for (const h of applyTo) this.setFacts(h, { [task.register]: outcome.result }, true);
      }
      if (outcome.facts) {
        const applyTo = task.run_once ? hosts : [host];
        for (const h of applyTo) this.setFacts(h, outcome.facts);
      }
      if (outcome.status === 'changed') {
        this.anyChanged = true;
        for (const n of task.notify) {
          const set = this.notified.get(n) ?? new Set();
          for (const h of task.run_once ? hosts : [host]) set.add(h);
          this.notified.set(n, set);
        }
      }
      this.record(task, host, outcome.status, outcome.display ?? outcome.result, t, rescuable, outcome.delegatedTo);
    });
    this.emit({ type: 'task_end', play: this.play.name, task: name, durationMs: performance.now() - t0 });
  }

  private async flushHandlers(hosts: string[]): Promise<void> {
    if (this.notified.size === 0) return;
    const notified = this.notified;
    this.notified = new Map();
    for (const h of this.play.handlers) {
      const names = [h.name, ...(h as Handler).listen, h.role && h.name ? `${h.role.name} : ${h.name}` : undefined].filter(Boolean) as string[];
      const targets = new Set<string>();
      for (const n of names) for (const host of notified.get(n) ?? []) targets.add(host);
      const run = this.active(hosts).filter((x) => targets.has(x));
      if (run.length) await this.runTask(h, run, false, true);
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
      this.failed.add(host);
      this.lastFailure.set(host, { task, result });
    }
    if (status === 'unreachable') this.unreachable.add(host);
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
      return this.o.templater.condition(v, this.hostScope(host));
    } catch {
      return false;
    }
  }

  /**
   * Facts or registered results changed (one host's, or possibly any): drop the hostvars views built from
   * them and every render hosts were sharing, so no template sees stale values.
   */
  private forgetViews(host?: string): void {
    if (host === undefined) this.hostvarsCache.clear();
    else this.hostvarsCache.delete(host);
    this.renderMemo.invalidate();
  }

  private setFacts(host: string, values: Dict, registered = false): void {
    this.forgetViews(host);
    const f = this.facts.get(host) ?? {};
    Object.assign(f, values);
    let names = this.registeredNames.get(host);
    if (!names) this.registeredNames.set(host, (names = new Set()));
    for (const k of Object.keys(values)) registered ? names.add(k) : names.delete(k);
    if (values.ansible_facts && typeof values.ansible_facts === 'object') {
      f.ansible_facts = { ...((this.facts.get(host)?.ansible_facts as Dict) ?? {}), ...(values.ansible_facts as Dict) };
    }
    this.facts.set(host, f);
  }

  // ---------------------------------------------------------------- variables

  private searchPaths(task?: ModuleTask): string[] {
    const key = task ?? this.playbook;
    const cached = this.searchPathCache.get(key);
    if (cached && cached.playbook === this.playbook) return cached.dirs;
    const dirs: string[] = [];
    if (task?.role) dirs.push(join(task.role.dir, 'templates'), join(task.role.dir, 'files'), task.role.dir);
    dirs.push(this.playbook.dir, join(this.playbook.dir, 'templates'), join(this.playbook.dir, 'files'));
    dirs.push(...this.o.inventory.sources.map((s) => dirname(s)));
    this.searchPathCache.set(key, { playbook: this.playbook, dirs });
    return dirs;
  }

  private magicVars(host: string): Dict {
    return {
      inventory_hostname: host,
      inventory_hostname_short: host.split('.')[0],
      groups: this.groupsView,
      group_names: this.groupNames(host),
      play_hosts: this.active(this.playHosts),
      ansible_play_hosts: this.active(this.playHosts),
      ansible_play_hosts_all: this.playHosts,
      ansible_play_batch: this.active(this.batchHosts),
      ansible_check_mode: this.o.check,
      ansible_diff_mode: this.o.diff,
      ansible_verbosity: this.o.verbosity,
      playbook_dir: this.playbook?.dir,
      hostvars: this.hostvarsView,
    };
  }

  private groupNames(host: string): string[] {
    let names = this.groupNamesCache.get(host);
    if (!names) {
      names = [...this.o.inventory.groups].filter(([g, hs]) => g !== 'all' && hs.includes(host)).map(([g]) => g);
      this.groupNamesCache.set(host, names);
    }
    return names;
  }

  /** Variables of a host outside any task: inventory < play vars < facts < extra vars. */
  hostScope(host: string, task?: ModuleTask): Dict {
    const layers: VarLayer[] = [];
    const role = task?.role;
    // Ansible (private_role_vars off): the defaults, vars and parameters of every role the play applies are
    // visible to all its tasks; the task's own role's rank above the others.
    const others = (this.play?.roles ?? []).filter((r) => r !== role);
    for (const r of others) layers.push({ values: r.defaults, render: true });
    if (role) layers.push({ values: role.defaults, render: true });
    layers.push({ values: inventoryHostVars(this.o.inventory, host), render: true });
    if (this.play) layers.push({ values: this.play.vars, render: true });
    for (const r of others) {
      layers.push({ values: r.vars, render: true });
      layers.push({ values: r.params, render: true });
    }
    if (role) {
      layers.push({ values: role.vars, render: true });
      layers.push({ values: role.params, render: true });
    }
    for (const v of task?.vars ?? []) layers.push({ values: v, render: true });
    layers.push({ values: this.facts.get(host) ?? {}, render: false });
    layers.push({ values: this.o.extraVars, render: true });
    const magic: Dict = this.magicVars(host);
    if (role) Object.assign(magic, { role_name: role.name, role_path: role.dir });
    layers.push({ values: magic, render: false });
    return layeredVars(layers, this.o.templater, { searchPaths: this.searchPaths(task), memo: this.renderMemo });
  }

  private resolvedHostVars(host: string): Dict {
    const vars = this.hostScope(host);
    const out: Dict = {};
    for (const k of Object.keys(vars)) {
      if (k === 'hostvars') continue;
      try {
        out[k] = vars[k];
      } catch {
        /* left undefined: reported by whoever uses it */
      }
    }
    return out;
  }

  private hostvarsProxy(): Dict {
    const cache = this.hostvarsCache;
    const inv = this.o.inventory;
    return new Proxy({} as Dict, {
      get: (_t, key) => {
        if (typeof key !== 'string' || !inv.hosts.has(key)) return undefined;
        let v = cache.get(key);
        if (!v) cache.set(key, (v = this.hostScope(key)));
        return v;
      },
      has: (_t, key) => typeof key === 'string' && inv.hosts.has(key),
      ownKeys: () => [...inv.hosts.keys()],
      getOwnPropertyDescriptor: (_t, key) =>
        typeof key === 'string' && inv.hosts.has(key) ? { enumerable: true, configurable: true, writable: false, value: undefined } : undefined,
    });
  }

  /** Secret-named variables that only a role or a block defines (defaults, role vars, task vars). */
  private registerScopedSecrets(task: ModuleTask, vars: Dict): void {
    const scopes = [task.role?.defaults, task.role?.vars, task.role?.params, ...task.vars];
    this.o.secrets.scopeSecrets(scopes, vars, (v) => this.o.redactor.addSecret(v));
  }

  private taskEnv(task: ModuleTask, host: string) {
    const vars = this.hostScope(host, task);
    this.registerScopedSecrets(task, vars);
    return {
      runner: this,
      vars,
      inventory: this.o.inventory,
      templater: this.o.templater,
      searchPaths: this.searchPaths(task),
      memo: this.renderMemo,
      check: this.o.check,
      diff: this.o.diff,
      verbosity: this.o.verbosity,
      playbookDir: this.playbook.dir,
      pool: this.pool,
      become: task.become ?? this.play.become,
      redactor: this.o.redactor,
      signal: this.o.signal,
      emit: (e: RunEvent) => this.emit(e),
    };
  }
}

export type TaskEnv = ReturnType<Runner['taskEnv']>;

export function taskName(task: ModuleTask): string {
  const base = task.name ?? task.module;
  return task.role ? `${task.role.name} : ${base}` : base;
}

/** Ansible's Taggable.evaluate_tags: a task without tags is 'untagged'; no --tags means 'all'. */
export function tagsSelect(taskTags: string[], only: string[], skip: string[]): boolean {
  const tags = taskTags.length ? taskTags : ['untagged'];
  const untagged = taskTags.length === 0;
  const has = (t: string) => tags.includes(t);
  const onlyTags = only.length ? only : ['all'];
  let run: boolean;
  if (has('always')) run = true;
  else if (onlyTags.includes('all') && !has('never')) run = true;
  else if (onlyTags.some(has)) run = true;
  else run = onlyTags.includes('tagged') && !untagged && !has('never');
  if (run && skip.length) {
    if (skip.includes('all')) run = has('always') && !skip.includes('always');
    else if (skip.some(has)) run = false;
    else if (skip.includes('tagged') && !untagged) run = false;
  }
  return run;
}

export function batches(hosts: string[], serial: Play['serial']): string[][] {
  if (serial === undefined || serial === null) return [hosts];
  const sizes = (Array.isArray(serial) ? serial : [serial]).map((s) => {
    if (typeof s === 'number') return Math.max(1, Math.floor(s));
    const m = /^(\d+(?:\.\d+)?)%$/.exec(String(s).trim());
    if (m) return Math.max(1, Math.floor((Number(m[1]) / 100) * hosts.length));
    const n = Number(s);
    return Number.isFinite(n) && n > 0 ? Math.floor(n) : hosts.length;
  });
  const out: string[][] = [];
  let i = 0;
  let k = 0;
  while (i < hosts.length) {
    const size = sizes[Math.min(k++, sizes.length - 1)];
    out.push(hosts.slice(i, i + size));
    i += size;
  }
  return out;
}

export async function mapLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length) await fn(items[next++]);
  });
  await Promise.all(workers);
}

async function gatherHostFacts(conn: import('../connection/types.js').Connection): Promise<Dict> {
  const gather = (conn as unknown as { gatherFacts?: () => Promise<Dict> }).gatherFacts;
  if (gather) return gather.call(conn);
  const exec = (conn as unknown as import('../connection/types.js').CommandConnection).exec;
  if (!exec) return {};
  const r = await exec.call(conn, 'uname -n; uname -s; uname -r; uname -m; id -un', {});
  const [hostname, system, kernel, machine, user] = r.stdout.split('\n');
  return { ansible_hostname: hostname, ansible_system: system, ansible_kernel: kernel, ansible_architecture: machine, ansible_user_id: user, ansible_connection: conn.kind };
}

/** What a module printed, in a registered result (and in each item of a loop's results): stdout, stderr, content. */
function commandOutputs(result: unknown): unknown[] {
  if (result === null || typeof result !== 'object') return [];
  const r = result as Dict;
  const own = ['stdout', 'stdout_lines', 'stderr', 'stderr_lines', 'content'].map((k) => r[k]).filter((v) => v !== undefined);
  const items = Array.isArray(r.results) ? r.results.flatMap(commandOutputs) : [];
  return [...own, ...items];
}
