// The variables each host sees, in Ansible's precedence, and every cache built from them.
// All invalidation lives here: facts and registered results change only through setFacts and clearGathered,
// a play start calls forget() and a task start newTask(), so no template ever reads a stale view.
import { dirname, join } from 'node:path';
import { hostVars as inventoryHostVars } from '../inventory/index.js';
import type { Inventory } from '../inventory/types.js';
import type { ModuleTask, Play, Playbook } from '../playbook/types.js';
import { carryFloats, floatsMarked, readFloat, shareFloats } from '../template/float.js';
import { RenderMemo, recordHostRead, recordUnshareable } from '../template/memo.js';
import type { Templater } from '../template/types.js';
import { layeredVars, type VarLayer } from './vars.js';

type Dict = Record<string, unknown>;

/** Where the run is: the executor's strategy owns it, the scopes read it. */
export interface ScopeFrame {
  playbook: Playbook;
  play?: Play;
  playHosts: string[];
  /** Hosts of the play (and of the batch) still taking part: failed, unreachable and ended hosts are not. */
  activePlayHosts(): readonly string[];
  activeBatchHosts(): readonly string[];
}

export interface ScopeOptions {
  inventory: Inventory;
  templater: Templater;
  extraVars: Dict;
  check: boolean;
  diff: boolean;
  verbosity: number;
}

export class HostScopes {
  /** Facts and registered results of each host: they live for the whole run, as in Ansible. */
  private readonly facts = new Map<string, Dict>();
  /** Per host, the variables include_vars loaded: above task vars, below facts (Ansible's precedence), for the whole run. */
  private readonly included = new Map<string, Dict>();
  /** Per host, the facts that hold a registered result (not a value the author named). */
  private readonly registered = new Map<string, Set<string>>();
  /** Per host, the names gather_facts set (what meta: clear_facts clears). */
  private readonly gathered = new Map<string, Set<string>>();
  /**
   * Variables of other hosts as `hostvars` shows them, built on first access and shared by every host's
   * view: a task that reads hostvars of all nodes on all nodes would otherwise build hosts x hosts scopes.
   */
  private readonly hostvarsCache = new Map<string, Dict>();
  /** Renders of variable-only templates shared between hosts until facts change (runner/template/memo.ts). */
  readonly memo = new RenderMemo();
  /** Built once: the same objects for every host, so templates reading them can share renders. */
  private readonly groupsView: Dict;
  private readonly hostvarsView: Dict;
  /** Per task (or playbook) and per host, computed once. */
  private readonly searchPathCache = new WeakMap<object, { playbook: Playbook; dirs: string[] }>();
  private readonly groupNamesCache = new Map<string, string[]>();

  constructor(
    private readonly o: ScopeOptions,
    private readonly frame: () => ScopeFrame,
  ) {
    this.groupsView = Object.fromEntries(o.inventory.groups);
    this.hostvarsView = this.hostvarsProxy();
  }

  /** A host's facts and registered results (read-only view for secret registration and tests). */
  factsOf(host: string): Readonly<Dict> {
    return this.facts.get(host) ?? {};
  }

  registeredNames(host: string): ReadonlySet<string> {
    return this.registered.get(host) ?? new Set();
  }

  /** Sets facts (or, with `registered`, a registered result) on a host; `gathered` marks what setup found. */
  setFacts(host: string, values: Dict, kind: 'fact' | 'registered' | 'gathered' = 'fact'): void {
    // Only this host's hostvars view is rebuilt: shared renders re-check what they read of it (template/memo.ts),
    // and the host's own scope for this task is a snapshot taken when the task started on it.
    this.hostvarsCache.delete(host);
    this.memo.viewRebuilt(host);
    const f = this.facts.get(host) ?? {};
    const previous = f.ansible_facts;
    Object.assign(f, values);
    let names = this.registered.get(host);
    if (!names) this.registered.set(host, (names = new Set()));
    for (const k of Object.keys(values)) kind === 'registered' ? names.add(k) : names.delete(k);
    if (values.ansible_facts && typeof values.ansible_facts === 'object') {
      f.ansible_facts = { ...((previous as Dict) ?? {}), ...(values.ansible_facts as Dict) };
    }
    if (kind === 'gathered') {
      const g = this.gathered.get(host) ?? new Set<string>();
      for (const k of Object.keys(values)) if (k !== 'ansible_facts') g.add(k);
      this.gathered.set(host, g);
    }
    this.facts.set(host, f);
  }

  /** Variables include_vars loaded on a host (later ones override earlier ones; meta: clear_facts keeps them). */
  include(host: string, values: Dict): void {
    this.forget(host);
    const previous = this.included.get(host);
    const merged = { ...previous, ...values };
    carryFloats(merged, previous, values);
    this.included.set(host, merged);
  }

  /** meta: clear_facts — Ansible clears the fact cache (gathered facts), not what set_fact or register set. */
  clearGathered(host: string): void {
    const f = this.facts.get(host);
    if (!f) return;
    for (const k of [...(this.gathered.get(host) ?? []), 'ansible_facts']) delete f[k];
    this.gathered.delete(host);
    this.forget(host);
  }

  /**
   * A task starts: the hostvars views are built again (they hold the play's hosts as they are now). Shared renders
   * are kept; each checks what it read before it is reused (template/memo.ts).
   */
  newTask(): void {
    this.hostvarsCache.clear();
    this.memo.allViewsRebuilt();
  }

  /**
   * Facts or registered results changed (one host's, or possibly any): drop the hostvars views built from
   * them and every render hosts were sharing.
   */
  forget(host?: string): void {
    if (host === undefined) this.hostvarsCache.clear();
    else this.hostvarsCache.delete(host);
    this.memo.invalidate();
  }

  /** Where a task's relative files and templates are looked up: its role, then the playbook, then the inventory. */
  searchPaths(task?: ModuleTask): string[] {
    const { playbook } = this.frame();
    const key = task ?? playbook;
    const cached = this.searchPathCache.get(key);
    if (cached && cached.playbook === playbook) return cached.dirs;
    const dirs: string[] = [];
    if (task?.role) dirs.push(join(task.role.dir, 'templates'), join(task.role.dir, 'files'), task.role.dir);
    dirs.push(playbook.dir, join(playbook.dir, 'templates'), join(playbook.dir, 'files'));
    dirs.push(...this.o.inventory.sources.map((s) => dirname(s)));
    this.searchPathCache.set(key, { playbook, dirs });
    return dirs;
  }

  /** Variables of a host: role defaults < inventory < play vars < role vars/params < task vars < include_vars < facts < extra vars. */
  hostScope(host: string, task?: ModuleTask): Dict {
    const { play } = this.frame();
    const layers: VarLayer[] = [];
    const role = task?.role;
    // Ansible (private_role_vars off): the defaults, vars and parameters of every role the play applies are
    // visible to all its tasks; the task's own role's rank above the others.
    const others = (play?.roles ?? []).filter((r) => r !== role);
    for (const r of others) layers.push({ values: r.defaults, render: true });
    if (role) layers.push({ values: role.defaults, render: true });
    layers.push({ values: inventoryHostVars(this.o.inventory, host), render: true });
    if (play) layers.push({ values: play.vars, render: true });
    for (const r of others) {
      layers.push({ values: r.vars, render: true });
      layers.push({ values: r.params, render: true });
    }
    if (role) {
      layers.push({ values: role.vars, render: true });
      layers.push({ values: role.params, render: true });
    }
    for (const v of task?.vars ?? []) layers.push({ values: v, render: true });
    layers.push({ values: this.included.get(host) ?? {}, render: true });
    layers.push({ values: this.facts.get(host) ?? {}, render: false });
    layers.push({ values: this.o.extraVars, render: true });
    const magic: Dict = this.magicVars(host);
    if (role) Object.assign(magic, { role_name: role.name, role_path: role.dir });
    layers.push({ values: magic, render: false });
    return layeredVars(layers, this.o.templater, { searchPaths: this.searchPaths(task), memo: this.memo });
  }

  /** Every variable of a host rendered (for its connection); one that cannot render is left out. */
  resolvedHostVars(host: string): Dict {
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

  private magicVars(host: string): Dict {
    const f = this.frame();
    return {
      inventory_hostname: host,
      inventory_hostname_short: host.split('.')[0],
      groups: this.groupsView,
      group_names: this.groupNames(host),
      play_hosts: f.activePlayHosts(),
      ansible_play_hosts: f.activePlayHosts(),
      ansible_play_hosts_all: f.playHosts,
      ansible_play_batch: f.activeBatchHosts(),
      ansible_check_mode: this.o.check,
      ansible_diff_mode: this.o.diff,
      ansible_verbosity: this.o.verbosity,
      playbook_dir: f.playbook?.dir,
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

  private hostvarsProxy(): Dict {
    const cache = this.hostvarsCache;
    const inv = this.o.inventory;
    return new Proxy({} as Dict, {
      get: (_t, key) => {
        if (typeof key !== 'string' || !inv.hosts.has(key)) return undefined;
        let v = cache.get(key);
        if (!v) cache.set(key, (v = recordedReads(key, this.hostScope(key))));
        return v;
      },
      has: (_t, key) => typeof key === 'string' && inv.hosts.has(key),
      ownKeys: () => [...inv.hosts.keys()],
      getOwnPropertyDescriptor: (_t, key) =>
        typeof key === 'string' && inv.hosts.has(key) ? { enumerable: true, configurable: true, writable: false, value: undefined } : undefined,
    });
  }
}

/**
 * A host's variables as `hostvars[host]` shows them: every read is reported to the renders being recorded for
 * sharing (template/memo.ts), which check it again before reusing a render. Listing the variables (to_json,
 * dict2items) reads them all: such a render is not shared.
 */
export function recordedReads(host: string, scope: Dict): Dict {
  const view = new Proxy(scope, {
    get(target, name, receiver) {
      const value = Reflect.get(target, name, receiver);
      // recorded as a template sees it: a whole float written in YAML is a PyFloat there (template/float.ts)
      if (typeof name === 'string') recordHostRead(host, name, floatsMarked && value !== undefined ? readFloat(target, name, value) : value, 'get');
      return value;
    },
    has(target, name) {
      const present = Reflect.has(target, name);
      if (typeof name === 'string') recordHostRead(host, name, present, 'has');
      return present;
    },
    ownKeys(target) {
      recordUnshareable();
      return Reflect.ownKeys(target);
    },
    // hasOwnProperty (how filters ask whether a mapping has an attribute) asks for the descriptor.
    getOwnPropertyDescriptor(target, name) {
      const descriptor = Reflect.getOwnPropertyDescriptor(target, name);
      if (typeof name === 'string') recordHostRead(host, name, descriptor !== undefined, 'own');
      return descriptor;
    },
  });
  shareFloats(view, scope);
  return view;
}
