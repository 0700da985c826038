// Loads a playbook and everything it pulls in (roles, imported task files), checks every keyword,
// module name and module argument, and returns plays whose task lists are fully expanded.
// All problems are collected and thrown together, each with file:line:column.
import { editDistance } from '../suggest.js';
import { readArgumentSpecs, type ArgumentSpecs } from './argument-specs.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import type { ErrorObject } from 'ajv';
import { ValidationError, type Problem } from '../errors.js';
import { argsValidator, freeFormArg, loadModule, moduleName, moduleNames } from '../modules/index.js';
import type { Module } from '../modules/types.js';
import { addVaultLeaves } from '../vault/keyring.js';
import { displayPath, loadYamlFile, pointerToPath, type PathSegment, type SourceFile } from '../yaml/source.js';
import { BLOCK_KEYS, HANDLER_KEYS, INCLUDE_ACTIONS, META_ACTIONS, PLAY_KEYS, ROLE_ENTRY_KEYS, TASK_KEYS } from './keywords.js';
import type { BlockTask, Handler, IncludeTask, ModuleTask, Play, Playbook, RoleScope, Task, TaskCommon } from './types.js';
import { append } from '../arrays.js';
import { patternProblem } from '../inventory/patterns.js';
import { isTemplate } from '../template/index.js';
import { carryFloats } from '../template/float.js';
import { TemplateChecks, type TemplateDirs } from './check-templates.js';

type Dict = Record<string, unknown>;

interface Inherited {
  when: unknown[];
  vars: Dict[];
  tags: string[];
  role?: RoleScope;
  become?: boolean;
  /** environment of the play and enclosing blocks: a task's own is merged over it (Ansible extends it). */
  environment?: Dict;
  /** Directory relative task files are resolved against. */
  dir: string;
}

const isDict = (v: unknown): v is Dict => typeof v === 'object' && v !== null && !Array.isArray(v);
const asList = (v: unknown): unknown[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);

function tagList(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (typeof v === 'string') return v.split(',').map((s) => s.trim()).filter(Boolean);
  return asList(v).map(String);
}

/** Parses Ansible's `key=value key2="quoted value"` argument shorthand. */
export function parseKeyValueArgs(text: string): Dict | undefined {
  const out: Dict = {};
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)=("([^"\\]|\\.)*"|'[^']*'|\S+)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(text))) {
    let v = m[2];
    if ((v.startsWith('"') && v.endsWith('"')) || (v.startsWith("'") && v.endsWith("'"))) v = v.slice(1, -1);
    out[m[1]] = v;
    consumed = re.lastIndex;
  }
  return text.slice(consumed).trim() === '' && Object.keys(out).length ? out : undefined;
}

export interface LoadOptions {
  /** Extra role search paths, tried after the playbook's own roles/ and its parent's roles/. */
  rolesPath?: string[];
}

export class PlaybookLoader {
  readonly problems: Problem[] = [];
  /** Module arguments to check once the modules the playbook names are loaded (only those are loaded). */
  private readonly pendingArgs: { src: SourceFile; path: PathSegment[]; module: string; args: Dict; freeForm: boolean }[] = [];
  private readonly roleCache = new Map<string, { dir: string; defaults: Dict; vars: Dict; meta: Dict; argumentSpecs?: ArgumentSpecs; src: SourceFile[] }>();
  private readonly roleSearch: string[];
  /** The listing key (RoleScope.listing) of the role a play's `roles:` entry is about to apply. */
  private nextListing?: string;
  private readonly playbookDir: string;
  private readonly templates = new TemplateChecks(this.problems);
  /** The current play's static `notify:` names, checked against its handlers once the play is loaded. */
  private notifies: { src: SourceFile; path: PathSegment[]; name: string }[] = [];

  constructor(private readonly file: string, options: LoadOptions = {}) {
    this.playbookDir = dirname(resolve(file));
    this.roleSearch = [join(this.playbookDir, 'roles'), join(this.playbookDir, '..', 'roles'), ...(options.rolesPath ?? []), resolve('roles')];
  }

  async load(): Promise<Playbook> {
    const src = this.yaml(this.file);
    const plays: Play[] = [];
    if (src && src.value !== undefined) {
      if (!Array.isArray(src.value)) this.problems.push(src.problem([], 'a playbook is a list of plays', 'a YAML sequence'));
      else src.value.forEach((p, i) => {
        const play = this.play(src, [i], p);
        if (play) plays.push(play);
      });
    }
    await this.checkArgs();
    if (this.problems.length) throw new ValidationError(uniqueProblems(this.problems));
    return { file: resolve(this.file), dir: this.playbookDir, plays };
  }

  private yaml(file: string, at?: { src: SourceFile; path: PathSegment[] }): SourceFile | undefined {
    const shown = relative(process.cwd(), file);
    const src = loadYamlFile(shown.startsWith('..') || isAbsolute(shown) ? file : shown);
    if (src.unreadable) {
      // A file named in another file (vars_files, import_tasks) is reported where it is named.
      const why = src.problems[0].message;
      this.problems.push(at ? at.src.problem(at.path, `${why}: ${shown.startsWith('..') || isAbsolute(shown) ? file : shown}`, 'a readable YAML file') : src.problems[0]);
      return undefined;
    }
    append(this.problems, src.problems);
    return src;
  }

  private unknownKeys(src: SourceFile, path: PathSegment[], obj: Dict, allowed: Set<string>, what: string, skip?: string) {
    for (const k of Object.keys(obj)) {
      if (allowed.has(k) || k === skip) continue;
      this.problems.push(src.problem([...path, k], `unknown key '${k}' in ${what}${suggest(k, allowed)}`, undefined, true));
    }
  }

  private play(src: SourceFile, path: PathSegment[], raw: unknown): Play | undefined {
    if (!isDict(raw)) {
      this.problems.push(src.problem(path, 'a play must be a mapping', 'keys such as name, hosts, tasks'));
      return undefined;
    }
    if ('import_playbook' in raw) {
      this.problems.push(src.problem([...path, 'import_playbook'], 'import_playbook is not supported; pass several playbooks to `meshplay run`', undefined, true));
      return undefined;
    }
    this.unknownKeys(src, path, raw, PLAY_KEYS, 'play');
    if (raw.hosts === undefined || raw.hosts === null || raw.hosts === '') {
      this.problems.push(src.problem([...path, 'hosts'], "a play needs 'hosts'", 'a host pattern such as nodes, remotes or all'));
    } else if (typeof raw.hosts !== 'string') {
      this.problems.push(src.problem([...path, 'hosts'], `'hosts' must be a host pattern string, got ${describe(raw.hosts)}`, "a pattern such as 'east,west' or 'clusters:!control_plane'"));
    } else if (!isTemplate(raw.hosts)) {
      const bad = patternProblem(raw.hosts);
      if (bad) this.problems.push(src.problem([...path, 'hosts'], bad, "a group or host after each '&' and '!', as in 'clusters:!control_plane'"));
    }
    const dirs: TemplateDirs = { playbookDir: this.playbookDir };
    for (const key of ['name', 'hosts', 'vars', 'environment'] as const) this.templates.value(src, [...path, key], raw[key], dirs);
    this.notifies = [];
    this.checkType(src, [...path, 'vars'], raw.vars, 'mapping');
    this.checkType(src, [...path, 'gather_facts'], raw.gather_facts, 'boolean');
    this.checkType(src, [...path, 'any_errors_fatal'], raw.any_errors_fatal, 'boolean');
    this.checkType(src, [...path, 'become'], raw.become, 'boolean');
    if (raw.strategy !== undefined && raw.strategy !== 'linear') {
      this.problems.push(src.problem([...path, 'strategy'], `strategy '${raw.strategy}' is not supported`, 'linear'));
    }
    if (raw.max_fail_percentage !== undefined && (typeof raw.max_fail_percentage !== 'number' || raw.max_fail_percentage < 0 || raw.max_fail_percentage > 100)) {
      this.problems.push(src.problem([...path, 'max_fail_percentage'], `max_fail_percentage must be a percentage, got ${JSON.stringify(raw.max_fail_percentage)}`, 'a number from 0 to 100'));
    }
    // Ansible's precedence: vars_files are above play vars.
    const vars: Dict = isDict(raw.vars) ? { ...raw.vars } : {};
    if (isDict(raw.vars)) carryFloats(vars, raw.vars); // whole floats (5.0) stay floats for templates (template/float.ts)
    for (const [i, vf] of asList(raw.vars_files).entries()) {
      if (typeof vf !== 'string') {
        this.problems.push(src.problem([...path, 'vars_files', i], 'vars_files entries are file paths', 'a string'));
        continue;
      }
      const f = this.yaml(isAbsolute(vf) ? vf : join(this.playbookDir, vf), { src, path: [...path, 'vars_files', i] });
      if (f && f.value !== undefined) {
        if (f.vaultEncrypted) addVaultLeaves(f.value);
        this.templates.value(f, [], f.value, dirs);
        if (isDict(f.value)) {
          Object.assign(vars, f.value);
          carryFloats(vars, f.value);
        }
        else this.problems.push(f.problem([], 'a vars file must be a mapping'));
      }
    }
    const playTags = tagList(raw.tags);
    const base: Inherited = {
      when: [], vars: [], tags: playTags, dir: this.playbookDir, become: typeof raw.become === 'boolean' ? raw.become : undefined,
      environment: isDict(raw.environment) ? raw.environment : undefined,
    };
    const handlers: Handler[] = [];
    const roles: RoleScope[] = [];
    const tasks: Task[] = [];
    for (const [i, entry] of asList(raw.roles).entries()) {
      this.templates.roleEntry(src, [...path, 'roles', i], entry, dirs);
      append(tasks, this.roleEntry(src, [...path, 'roles', i], entry, base, handlers, roles));
    }
    append(tasks, this.taskList(src, [...path, 'tasks'], raw.tasks, base, handlers, roles));
    for (const [i, h] of asList(raw.handlers).entries()) {
      const t = this.task(src, [...path, 'handlers', i], h, base, handlers, roles, true);
      if (t) append(handlers, t as Handler[]);
    }
    const preTasks = this.taskList(src, [...path, 'pre_tasks'], raw.pre_tasks, base, handlers, roles);
    const postTasks = this.taskList(src, [...path, 'post_tasks'], raw.post_tasks, base, handlers, roles);
    this.checkNotifies(handlers);
    return {
      name: typeof raw.name === 'string' ? raw.name : String(raw.hosts ?? ''),
      hosts: String(raw.hosts ?? ''),
      position: src.positionOf(path),
      vars,
      gather_facts: raw.gather_facts === undefined ? true : Boolean(raw.gather_facts),
      serial: raw.serial as Play['serial'],
      any_errors_fatal: Boolean(raw.any_errors_fatal),
      max_fail_percentage: raw.max_fail_percentage as number | undefined,
      become: Boolean(raw.become),
      check_mode: raw.check_mode as boolean | undefined,
      tags: playTags,
      pre_tasks: preTasks,
      tasks,
      post_tasks: postTasks,
      handlers,
      roles,
    };
  }

  /**
   * Every static `notify:` of the play names a handler of the play: by name, by a `listen` topic, or as
   * `role : name` (Ansible's "The requested handler ... was not found", which it finds only once the task changed).
   */
  private checkNotifies(handlers: Handler[]): void {
    const notifies = this.notifies;
    this.notifies = [];
    if (handlers.some((h) => typeof h.name === 'string' && isTemplate(h.name))) return; // a templated handler name may be anything
    const known = new Set<string>();
    for (const h of handlers) {
      if (h.name) known.add(h.name);
      for (const l of h.listen) known.add(l);
      if (h.role && h.name) known.add(`${h.role.name} : ${h.name}`);
    }
    for (const n of notifies) {
      if (known.has(n.name) || isTemplate(n.name)) continue;
      const near = suggest(n.name, known);
      this.problems.push(n.src.problem(n.path, `notify names handler '${n.name}', which the play does not have${near}`, known.size ? `the name or a listen topic of one of the play's handlers` : 'a handler defined under the play\'s handlers: or in one of its roles\' handlers/main.yml'));
    }
  }

  private checkType(src: SourceFile, path: PathSegment[], v: unknown, type: 'mapping' | 'boolean' | 'list' | 'string') {
    if (v === undefined) return;
    const ok =
      type === 'mapping' ? isDict(v) : type === 'boolean' ? typeof v === 'boolean' || (typeof v === 'string' && v.includes('{{')) : type === 'list' ? Array.isArray(v) : typeof v === 'string';
    if (!ok) this.problems.push(src.problem(path, `'${path[path.length - 1]}' must be a ${type}`, `a ${type}, got ${describe(v)}`));
  }

  private taskList(src: SourceFile, path: PathSegment[], raw: unknown, inh: Inherited, handlers: Handler[], roles: RoleScope[]): Task[] {
    if (raw === undefined || raw === null) return [];
    if (!Array.isArray(raw)) {
      this.problems.push(src.problem(path, `'${path[path.length - 1]}' must be a list of tasks`, `a list, got ${describe(raw)}`));
      return [];
    }
    const out: Task[] = [];
    raw.forEach((t, i) => append(out, this.task(src, [...path, i], t, inh, handlers, roles, false) ?? []));
    return out;
  }

  private common(src: SourceFile, path: PathSegment[], raw: Dict, inh: Inherited): TaskCommon {
    for (const k of ['become', 'run_once', 'check_mode', 'diff', 'any_errors_fatal'] as const) this.checkType(src, [...path, k], raw[k], 'boolean');
    this.checkType(src, [...path, 'vars'], raw.vars, 'mapping');
    this.checkType(src, [...path, 'environment'], raw.environment, 'mapping');
    if (raw.delegate_to !== undefined) this.checkType(src, [...path, 'delegate_to'], raw.delegate_to, 'string');
    return {
      name: typeof raw.name === 'string' ? raw.name : undefined,
      position: src.positionOf(path),
      when: [...inh.when, ...asList(raw.when)],
      ownWhen: asList(raw.when),
      vars: isDict(raw.vars) ? [...inh.vars, raw.vars] : inh.vars,
      tags: [...new Set([...inh.tags, ...tagList(raw.tags)])],
      role: inh.role,
      become: typeof raw.become === 'boolean' ? raw.become : inh.become,
      become_password: raw.become_password as string | undefined,
      check_mode: raw.check_mode as boolean | undefined,
      diff: raw.diff as boolean | undefined,
      ignore_errors: raw.ignore_errors,
      no_log: raw.no_log,
      run_once: raw.run_once as boolean | undefined,
      delegate_to: raw.delegate_to as string | undefined,
      environment: inh.environment || isDict(raw.environment) ? { ...inh.environment, ...(isDict(raw.environment) ? raw.environment : {}) } : undefined,
      any_errors_fatal: raw.any_errors_fatal as boolean | undefined,
    };
  }

  /** One task entry; returns the tasks it expands to (imports expand to many). */
  private task(src: SourceFile, path: PathSegment[], raw: unknown, inh: Inherited, handlers: Handler[], roles: RoleScope[], handler: boolean): Task[] | undefined {
    if (!isDict(raw)) {
      this.problems.push(src.problem(path, 'a task must be a mapping', `a mapping with a module name, got ${describe(raw)}`));
      return undefined;
    }
    this.templates.task(src, path, raw, { roleDir: inh.role?.dir, playbookDir: this.playbookDir });
    if ('block' in raw) {
      if (handler) this.problems.push(src.problem([...path, 'block'], 'blocks are not supported in handlers', undefined, true));
      this.unknownKeys(src, path, raw, BLOCK_KEYS, 'block');
      const c = this.common(src, path, raw, inh);
      // Block-level keywords are inherited by its tasks; the block keeps them too for rescue/always decisions.
      const child: Inherited = { ...inh, when: c.when, vars: c.vars, tags: c.tags, become: c.become, environment: c.environment };
      const inner = (key: string) => this.taskList(src, [...path, key], raw[key], child, handlers, roles).map((t) => this.inheritBlockKeys(t, c));
      const block: BlockTask = { ...c, kind: 'block', when: [], block: inner('block'), rescue: inner('rescue'), always: inner('always') };
      return [block];
    }
    const allowed = handler ? HANDLER_KEYS : TASK_KEYS;
    const actionKeys = Object.keys(raw).filter((k) => !allowed.has(k));
    const known = actionKeys.filter((k) => INCLUDE_ACTIONS.has(k) || moduleName(k));
    if (known.length === 0) {
      if (actionKeys.length) {
        for (const k of actionKeys) {
          this.problems.push(src.problem([...path, k], `unknown key '${k}': not a task keyword nor a module${suggest(k, new Set([...allowed, ...moduleNames()]))}`, undefined, true));
        }
      } else this.problems.push(src.problem(path, 'task has no module', `one of: ${moduleNames().join(', ')}`));
      return undefined;
    }
    if (known.length > 1) {
      this.problems.push(src.problem([...path, known[1]], `task names more than one action: ${known.join(', ')}`, 'exactly one module per task', true));
      return undefined;
    }
    const action = known[0].replace(/^ansible\.builtin\./, '');
    for (const k of actionKeys) {
      if (k !== known[0]) this.problems.push(src.problem([...path, k], `unknown key '${k}' in ${handler ? 'handler' : 'task'}${suggest(k, allowed)}`, undefined, true));
    }
    const c = this.common(src, path, raw, inh);
    const value = raw[known[0]];
    if (action === 'meta') {
      if (typeof value !== 'string' || !META_ACTIONS.has(value)) {
        this.problems.push(src.problem([...path, 'meta'], `unknown meta action '${String(value)}'`, [...META_ACTIONS].join(', ')));
        return undefined;
      }
      return [{ ...c, kind: 'meta', action: value as 'flush_handlers' }];
    }
    if (action === 'include_tasks' || action === 'include_role') return [this.includeTask(src, path, raw, c, inh, action, known[0], value)];
    if (action === 'import_tasks') {
      if (raw.loop !== undefined || raw.with_items !== undefined) {
        this.problems.push(src.problem([...path, 'loop'], `loop on ${action} is not supported`, 'include_tasks, which loops'));
      }
      const file = isDict(value) ? value.file : value;
      if (typeof file !== 'string' || file.includes('{{')) {
        this.problems.push(src.problem([...path, known[0]], `${action} needs a static file name`, 'a path relative to the including file'));
        return undefined;
      }
      const target = isAbsolute(file) ? file : join(inh.dir, file);
      const inc = this.yaml(target, { src, path: [...path, known[0]] });
      if (!inc || inc.value === undefined) return undefined;
      return this.taskList(inc, [], inc.value, { ...inh, when: c.when, vars: c.vars, tags: c.tags, become: c.become, dir: dirname(target) }, handlers, roles);
    }
    if (action === 'import_role') {
      if (!isDict(value) || typeof value.name !== 'string') {
        this.problems.push(src.problem([...path, known[0]], `${action} needs a role name`, '{name: <role>}'));
        return undefined;
      }
      this.unknownKeys(src, [...path, known[0]], value, new Set(['name', 'tasks_from', 'vars', 'defaults_from', 'vars_from', 'handlers_from']), action);
      return this.applyRole(src, [...path, known[0]], value.name, isDict(value.vars) ? value.vars : {}, { ...inh, when: c.when, vars: c.vars, tags: c.tags, become: c.become }, handlers, roles, typeof value.tasks_from === 'string' ? value.tasks_from : 'main', inh.role ? [inh.role.name] : []);
    }
    return [this.moduleTask(src, path, raw, c, action, value, handler)];
  }

  /** include_tasks / include_role: checked now, loaded when it runs (expandInclude). */
  private includeTask(src: SourceFile, path: PathSegment[], raw: Dict, c: TaskCommon, inh: Inherited, action: 'include_tasks' | 'include_role', key: string, value: unknown): IncludeTask {
    const loopKeys = (['loop', 'with_items', 'with_list', 'with_dict'] as const).filter((k) => raw[k] !== undefined);
    const task: IncludeTask = {
      ...c, kind: 'include', module: action, inherited: { inh, at: { src, path: [...path, key] } },
      loop: loopKeys.length ? raw[loopKeys[0]] : undefined, loop_kind: loopKeys[0], loop_control: raw.loop_control as IncludeTask['loop_control'],
    };
    if (action === 'include_tasks') {
      const file = isDict(value) ? value.file : value;
      if (typeof file !== 'string') this.problems.push(src.problem([...path, key], 'include_tasks needs a file name', 'a path relative to the including file'));
      else task.file = file;
    } else if (!isDict(value) || typeof value.name !== 'string') {
      this.problems.push(src.problem([...path, key], 'include_role needs a role name', '{name: <role>}'));
    } else {
      this.unknownKeys(src, [...path, key], value, new Set(['name', 'tasks_from', 'vars', 'defaults_from', 'vars_from', 'handlers_from', 'apply', 'public', 'allow_duplicates']), action);
      task.roleName = value.name;
      task.tasksFrom = typeof value.tasks_from === 'string' ? value.tasks_from : 'main';
      task.roleParams = isDict(value.vars) ? value.vars : {};
      if (!value.name.includes('{{') && !this.findRole(value.name)) this.problems.push(src.problem([...path, key], `role '${value.name}' not found`, `a directory in ${this.roleSearch.join(', ')}`));
    }
    return task;
  }

  /**
   * Loads what a dynamic include brings in, for one file (or role) and one set of loop variables, with every
   * check a playbook load makes; its problems are thrown (the host fails, as in Ansible).
   */
  async expandInclude(inc: IncludeTask, file: string | undefined, extra: Dict, handlers: Handler[]): Promise<Task[]> {
    this.problems.length = 0;
    this.pendingArgs.length = 0;
    const { inh, at } = inc.inherited as { inh: Inherited; at: { src: SourceFile; path: PathSegment[] } };
    // The include's own vars and the loop variables reach its tasks; its own when and tags do not.
    const child: Inherited = { ...inh, vars: [...inc.vars, extra] };
    let tasks: Task[] = [];
    if (inc.module === 'include_tasks' && file !== undefined) {
      const target = isAbsolute(file) ? file : join(inh.dir, file);
      const src = this.yaml(target, at);
      if (src && src.value !== undefined && src.value !== null) tasks = this.taskList(src, [], src.value, { ...child, dir: dirname(target) }, handlers, []);
    } else if (inc.roleName) {
      tasks = this.applyRole(at.src, at.path, inc.roleName, inc.roleParams ?? {}, child, handlers, [], inc.tasksFrom ?? 'main', inh.role ? [inh.role.name] : []);
    }
    await this.checkArgs();
    if (this.problems.length) throw new ValidationError([...this.problems]);
    return tasks;
  }

  private inheritBlockKeys(t: Task, block: TaskCommon): Task {
    const keys = ['ignore_errors', 'no_log', 'run_once', 'delegate_to', 'check_mode', 'diff', 'environment', 'any_errors_fatal', 'become_password'] as const;
    const out = { ...t } as Record<string, unknown>;
    for (const k of keys) if (out[k] === undefined && block[k] !== undefined) out[k] = block[k];
    return out as unknown as Task;
  }

  private moduleTask(src: SourceFile, path: PathSegment[], raw: Dict, c: TaskCommon, action: string, value: unknown, handler: boolean): ModuleTask {
    const name = moduleName(action)!;
    const freeForm = freeFormArg(name);
    let args: Dict = {};
    if (typeof value === 'string') {
      if (freeForm) args = { [freeForm]: value };
      else {
        const kv = parseKeyValueArgs(value);
        if (kv) args = kv;
        else this.problems.push(src.problem([...path, action], `arguments of '${action}' must be a mapping`, 'key: value pairs'));
      }
    } else if (isDict(value)) args = { ...value };
    else if (value !== null && value !== undefined) this.problems.push(src.problem([...path, action], `arguments of '${action}' must be a mapping`, `a mapping, got ${describe(value)}`));
    if (isDict(raw.args)) args = { ...raw.args, ...args };
    this.pendingArgs.push({ src, path: [...path, action], module: name, args, freeForm: typeof value === 'string' });
    if (name === 'template' && typeof args.src === 'string') {
      this.templates.templateModuleSource(src, typeof value === 'string' ? [...path, action] : [...path, action, 'src'], args.src, { roleDir: c.role?.dir, playbookDir: this.playbookDir });
    }
    this.checkLoop(src, path, raw);
    this.collectNotify(src, path, raw.notify);
    const loopKeys = (['loop', 'with_items', 'with_list', 'with_dict'] as const).filter((k) => raw[k] !== undefined);
    if (loopKeys.length > 1) this.problems.push(src.problem([...path, loopKeys[1]], `a task has one loop, got ${loopKeys.join(' and ')}`, 'one of loop, with_items, with_list, with_dict', true));
    const loop = loopKeys.length ? raw[loopKeys[0]] : undefined;
    if (raw.loop_control !== undefined) {
      if (!isDict(raw.loop_control)) this.problems.push(src.problem([...path, 'loop_control'], 'loop_control must be a mapping', 'loop_var, label, index_var, pause'));
      else this.unknownKeys(src, [...path, 'loop_control'], raw.loop_control, new Set(['loop_var', 'label', 'index_var', 'pause', 'extended']), 'loop_control');
    }
    if (raw.register !== undefined && (typeof raw.register !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(raw.register))) {
      this.problems.push(src.problem([...path, 'register'], `invalid register name '${String(raw.register)}'`, 'a variable name'));
    }
    for (const k of ['retries', 'delay'] as const) {
      if (raw[k] !== undefined && typeof raw[k] !== 'number' && !(typeof raw[k] === 'string' && (raw[k] as string).includes('{{'))) {
        this.problems.push(src.problem([...path, k], `'${k}' must be a number`, `a number, got ${describe(raw[k])}`));
      }
    }
    const task: ModuleTask = {
      ...c,
      kind: 'module',
      module: name,
      args,
      loop,
      loop_kind: loopKeys[0],
      loop_control: raw.loop_control as ModuleTask['loop_control'],
      register: raw.register as string | undefined,
      changed_when: raw.changed_when,
      failed_when: raw.failed_when,
      until: raw.until,
      retries: raw.retries as number | undefined,
      delay: raw.delay as number | undefined,
      notify: asList(raw.notify).map(String),
    };
    if (handler) (task as Handler).listen = asList(raw.listen).map(String);
    return task;
  }

  /**
   * A static loop value of a kind Ansible refuses ("Invalid data passed to 'loop', it requires a list"): a
   * number, a boolean, a mapping or a plain string under `loop`, a mapping under `with_list`. (`with_items`
   * takes any of them, as Ansible's items lookup does.)
   */
  private checkLoop(src: SourceFile, path: PathSegment[], raw: Dict): void {
    const loop = raw.loop;
    if (loop !== undefined && loop !== null && !Array.isArray(loop) && !(typeof loop === 'string' && isTemplate(loop))) {
      const hint = isDict(loop) ? ', or a template turning the mapping into one: "{{ <mapping> | dict2items }}"' : ', or a template that gives one';
      this.problems.push(src.problem([...path, 'loop'], `'loop' needs a list, got ${describe(loop)}`, `a list${hint}`));
    }
    if (isDict(raw.with_list)) {
      this.problems.push(src.problem([...path, 'with_list'], `'with_list' needs a list, got a mapping`, 'a list, or loop: "{{ <mapping> | dict2items }}"'));
    }
  }

  private collectNotify(src: SourceFile, path: PathSegment[], notify: unknown): void {
    if (notify === undefined || notify === null) return;
    const entries: [unknown, PathSegment[]][] = Array.isArray(notify) ? notify.map((n, i) => [n, [...path, 'notify', i]]) : [[notify, [...path, 'notify']]];
    for (const [n, at] of entries) {
      if (typeof n !== 'string') {
        this.problems.push(src.problem(at, `'notify' must name handlers, got ${describe(n)}`, 'a handler name, or a list of them'));
        continue;
      }
      this.notifies.push({ src, path: at, name: n });
    }
  }

  private async checkArgs(): Promise<void> {
    const names = [...new Set(this.pendingArgs.map((p) => p.module))];
    const mods = new Map(await Promise.all(names.map(async (n) => [n, await loadModule(n)] as const)));
    for (const p of this.pendingArgs) await this.validateArgs(p.src, p.path, mods.get(p.module)!, p.args, p.freeForm);
  }

  private async validateArgs(src: SourceFile, path: PathSegment[], mod: Module, args: Dict, freeForm: boolean) {
    const validate = await argsValidator(mod);
    if (validate(args)) return;
    for (const e of validate.errors ?? []) {
      // Templated values are checked again after rendering, when their type is known.
      if (templatedAt(args, e)) continue;
      if (e.propertyName !== undefined) continue; // reported once by its propertyNames error below
      if (e.keyword === 'propertyNames') {
        const name = String((e.params as { propertyName?: string }).propertyName);
        this.problems.push(src.problem([...path, name], `invalid variable name '${name}' in ${mod.name}`, 'letters, digits and underscores, not starting with a digit', true));
        continue;
      }
      const at = freeForm ? path : [...path, ...pointerToPath(e.instancePath)];
      this.problems.push({ ...src.positionOf(e.keyword === 'additionalProperties' ? [...at, String(e.params.additionalProperty)] : at, e.keyword === 'additionalProperties'), ...argMessage(mod.name, e) });
    }
  }

  private findRole(name: string): string | undefined {
    for (const dir of this.roleSearch) {
      const d = join(dir, name);
      if (existsSync(d) && statSync(d).isDirectory()) return d;
    }
    return undefined;
  }

  private roleEntry(src: SourceFile, path: PathSegment[], entry: unknown, inh: Inherited, handlers: Handler[], roles: RoleScope[]): Task[] {
    let name: unknown;
    let params: Dict = {};
    let extra: Dict = {};
    if (typeof entry === 'string') name = entry;
    else if (isDict(entry)) {
      this.unknownKeys(src, path, entry, ROLE_ENTRY_KEYS, 'role entry');
      name = entry.role ?? entry.name;
      params = isDict(entry.vars) ? entry.vars : {};
      extra = entry;
    }
    if (typeof name !== 'string') {
      this.problems.push(src.problem(path, 'a role entry needs a role name', "a string or {role: name}"));
      return [];
    }
    // A repeat with the same parameters is kept: whether it runs is decided per host at run time (RoleScope.listing).
    this.nextListing = `${this.findRole(name) ?? name}\0${JSON.stringify(params)}`;
    const next: Inherited = { ...inh, when: [...inh.when, ...asList(extra.when)], tags: [...inh.tags, ...tagList(extra.tags)], become: typeof extra.become === 'boolean' ? extra.become : inh.become };
    const out = this.applyRole(src, path, name, params, next, handlers, roles, 'main');
    this.nextListing = undefined;
    return out;
  }

  private applyRole(src: SourceFile, path: PathSegment[], name: string, params: Dict, inh: Inherited, handlers: Handler[], roles: RoleScope[], tasksFrom: string, chain: string[] = []): Task[] {
    const dir = this.findRole(name);
    if (!dir) {
      this.problems.push(src.problem(path, `role '${name}' not found`, `a directory in ${this.roleSearch.join(', ')}`));
      return [];
    }
    if (chain.includes(name)) {
      this.problems.push(src.problem(path, `circular role dependency: ${[...chain.slice(chain.indexOf(name)), name].join(' -> ')}`, 'role dependencies that form no cycle'));
      return [];
    }
    const role = this.loadRole(dir);
    const scope: RoleScope = { name, dir, defaults: role.defaults, vars: role.vars, params, entryPoint: tasksFrom, position: src.positionOf(path) };
    if (chain.length === 0 && this.nextListing) scope.listing = this.nextListing;
    this.nextListing = undefined;
    if (role.argumentSpecs) scope.argumentSpecs = role.argumentSpecs;
    roles.push(scope);
    const out: Task[] = [];
    const deps = asList(role.meta.dependencies);
    const metaSrc = role.src.find((s) => dirname(s.file).endsWith('meta'));
    deps.forEach((d, i) => {
      const dname = typeof d === 'string' ? d : isDict(d) ? (d.role ?? d.name) : undefined;
      if (typeof dname !== 'string') {
        if (metaSrc) this.problems.push(metaSrc.problem(['dependencies', i], 'a dependency needs a role name'));
        return;
      }
      append(out, this.applyRole(metaSrc ?? src, ['dependencies', i], dname, isDict(d) && isDict(d.vars) ? d.vars : {}, inh, handlers, roles, 'main', [...chain, name]));
    });
    const roleInh: Inherited = { ...inh, role: scope, tags: [...new Set([...inh.tags, name])], dir: join(dir, 'tasks') };
    const tasksFile = roleFile(dir, 'tasks', tasksFrom);
    if (tasksFile) {
      const t = this.yaml(tasksFile);
      if (t && t.value !== undefined) append(out, this.taskList(t, [], t.value, roleInh, handlers, roles));
    } else if (tasksFrom !== 'main') this.problems.push(src.problem(path, `role '${name}' has no tasks file ${tasksFrom}.yml`));
    else if (!ROLE_PARTS.some((part) => roleFile(dir, part, 'main'))) {
      // Ansible runs such a role as doing nothing; a role with nothing in it is a misspelt file or folder.
      this.problems.push(src.problem(path, `role '${name}' has nothing in it: no tasks/main.yml, handlers, defaults, vars or meta${strayFiles(dir)}`, `${displayPath(join(dir, 'tasks', 'main.yml'))} (or another of the role's main.yml files)`));
    }
    const handlersFile = roleFile(dir, 'handlers', 'main');
    if (handlersFile && !handlers.some((h) => h.role?.dir === dir)) {
      const h = this.yaml(handlersFile);
      if (h && Array.isArray(h.value)) {
        h.value.forEach((raw, i) => {
          const t = this.task(h, [i], raw, roleInh, handlers, roles, true);
          if (t) append(handlers, t as Handler[]);
        });
      }
    }
    return out;
  }

  private loadRole(dir: string) {
    let r = this.roleCache.get(dir);
    if (r) return r;
    const read = (sub: string): { value: Dict; src?: SourceFile } => {
      const f = roleFile(dir, sub, 'main');
      if (!f) return { value: {} };
      const s = this.yaml(f);
      if (!s || s.value === undefined || s.value === null) return { value: {}, src: s };
      if (!isDict(s.value)) {
        this.problems.push(s.problem([], `${sub}/main.yml must be a mapping`));
        return { value: {}, src: s };
      }
      if (s.vaultEncrypted && sub !== 'meta') addVaultLeaves(s.value);
      if (sub !== 'meta') this.templates.value(s, [], s.value, { roleDir: dir, playbookDir: this.playbookDir });
      return { value: s.value, src: s };
    };
    const defaults = read('defaults');
    const vars = read('vars');
    const meta = read('meta');
    if (meta.src) this.unknownKeys(meta.src, [], meta.value, new Set(['dependencies', 'galaxy_info', 'argument_specs', 'allow_duplicates']), 'role meta');
    // Ansible reads meta/argument_specs.yml first, then an `argument_specs` key in meta/main.yml.
    let argumentSpecs: ArgumentSpecs | undefined;
    const specFile = join(dir, 'meta', 'argument_specs.yml');
    const specSrc = existsSync(specFile) ? this.yaml(specFile) : undefined;
    const specRoot = specSrc ? (isDict(specSrc.value) ? specSrc.value.argument_specs : undefined) : meta.value.argument_specs;
    const specIn = specSrc ?? meta.src;
    if (specSrc && specSrc.value !== undefined && specRoot === undefined) this.problems.push(specSrc.problem([], 'meta/argument_specs.yml needs a top-level argument_specs key', 'argument_specs: {main: {options: {...}}}'));
    if (specRoot !== undefined && specIn) {
      const read = readArgumentSpecs(specIn, specRoot, ['argument_specs']);
      this.problems.push(...read.problems);
      argumentSpecs = read.specs;
    }
    r = { dir, defaults: defaults.value, vars: vars.value, meta: meta.value, argumentSpecs, src: [defaults.src, vars.src, meta.src].filter(Boolean) as SourceFile[] };
    this.roleCache.set(dir, r);
    return r;
  }
}

/** The parts of a role besides tasks/, each read from its main file. */
const ROLE_PARTS = ['handlers', 'defaults', 'vars', 'meta'];

/** A role's `<part>/<name>` file as Ansible finds it: name.yml, name.yaml, name.json, or the bare name. */
function roleFile(dir: string, part: string, name: string): string | undefined {
  const base = join(dir, part, name);
  for (const f of [`${base}.yml`, `${base}.yaml`, `${base}.json`, base]) if (existsSync(f) && statSync(f).isFile()) return f;
  return undefined;
}

/** What a role folder does hold, to point at the misspelling: " (it holds tasks/mian.yml)". */
function strayFiles(dir: string): string {
  let found: string[] = [];
  try {
    found = readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !e.name.startsWith('.'))
      .map((e) => relative(dir, join(e.parentPath ?? (e as unknown as { path: string }).path, e.name)))
      .slice(0, 5);
  } catch {
    // an unreadable folder holds nothing we can name
  }
  return found.length ? ` (it holds ${found.join(', ')})` : ' (the folder is empty)';
}

/** The same problem reached twice (a role used twice, a file imported twice) is reported once. */
function uniqueProblems(problems: Problem[]): Problem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const key = `${p.file}:${p.line}:${p.column}:${p.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

function templatedAt(args: Dict, e: ErrorObject): boolean {
  let v: unknown = args;
  for (const seg of pointerToPath(e.instancePath)) {
    if (typeof v === 'string') break;
    v = (v as Dict | undefined)?.[seg as string];
  }
  if (typeof v === 'string' && v.includes('{{')) return true;
  // A required property may be supplied by a templated parent value; a templated list item may be anything.
  return false;
}

function argMessage(mod: string, e: ErrorObject): { message: string; expected?: string } {
  const where = e.instancePath ? ` '${pointerToPath(e.instancePath).join('.')}'` : '';
  switch (e.keyword) {
    case 'additionalProperties':
      return { message: `unknown argument '${e.params.additionalProperty}' for module ${mod}` };
    case 'required':
      return { message: `module ${mod} requires argument '${e.params.missingProperty}'` };
    case 'type':
      return { message: `argument${where} of module ${mod} has the wrong type`, expected: String(e.params.type) };
    case 'enum':
      return { message: `argument${where} of module ${mod} has an invalid value`, expected: `one of ${(e.params.allowedValues as unknown[]).join(', ')}` };
    default:
      return { message: `argument${where} of module ${mod} ${e.message ?? 'is invalid'}` };
  }
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  return `${typeof v} ${JSON.stringify(v)}`;
}

/** "did you mean" for misspelled keywords, by edit distance. */
function suggest(word: string, options: Set<string>): string {
  let best: string | undefined;
  let bestD = 3;
  for (const o of options) {
    const d = editDistance(word, o);
    if (d < bestD) {
      bestD = d;
      best = o;
    }
  }
  return best ? ` (did you mean '${best}'?)` : '';
}

export async function loadPlaybook(file: string, options?: LoadOptions): Promise<Playbook> {
  return new PlaybookLoader(file, options).load();
}
