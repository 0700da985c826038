import type { SourcePosition } from '../yaml/source.js';

/** A role as it applies to the tasks that came from it. */
export interface RoleScope {
  name: string;
  dir: string;
  defaults: Record<string, unknown>;
  vars: Record<string, unknown>;
  /** Variables passed where the role was listed (`roles: [{role: x, vars...}]`, include_role vars). */
  params: Record<string, unknown>;
  /** The role's argument specs (meta/argument_specs.yml or meta/main.yml `argument_specs`), when it has them. */
  argumentSpecs?: import('./argument-specs.js').ArgumentSpecs;
  /** Entry point applied: `main`, or the `tasks_from` name. */
  entryPoint?: string;
  /**
   * For a role listed in a play's `roles:`: the role and its parameters. Listings with the same key run once
   * per host (the first that runs a task there), as Ansible de-duplicates roles.
   */
  listing?: string;
  /** Where the role is listed (a play's `roles:`, an include/import, a dependency). */
  position?: import('../yaml/source.js').SourcePosition;
}

/** Where a task inherits variables and conditions from (blocks, includes, roles), outermost first. */
export interface Scope {
  vars: Record<string, unknown>;
  when: unknown[];
}

export interface TaskCommon {
  name?: string;
  position: SourcePosition;
  /** Conditions: inherited ones first, then the task's own. */
  when: unknown[];
  /** The task's (or block's) own conditions, checked once where they are written. */
  ownWhen: unknown[];
  /** Block/include/task vars, outermost first. */
  vars: Record<string, unknown>[];
  tags: string[];
  role?: RoleScope;
  become?: boolean;
  become_password?: string;
  check_mode?: boolean;
  diff?: boolean;
  ignore_errors?: unknown;
  no_log?: unknown;
  run_once?: boolean;
  delegate_to?: string;
  environment?: Record<string, unknown>;
  any_errors_fatal?: boolean;
}

export interface ModuleTask extends TaskCommon {
  kind: 'module';
  module: string;
  args: Record<string, unknown>;
  loop?: unknown;
  /** Which keyword gave the loop: with_items flattens one level, with_dict yields key/value pairs. */
  loop_kind?: 'loop' | 'with_items' | 'with_list' | 'with_dict';
  loop_control?: { loop_var?: string; label?: string; index_var?: string; pause?: number; extended?: boolean };
  register?: string;
  changed_when?: unknown;
  failed_when?: unknown;
  until?: unknown;
  retries?: number;
  delay?: number;
  notify: string[];
}

export interface MetaTask extends TaskCommon {
  kind: 'meta';
  action: 'flush_handlers' | 'noop' | 'end_play' | 'end_host' | 'clear_facts';
}

export interface BlockTask extends TaskCommon {
  kind: 'block';
  block: Task[];
  rescue: Task[];
  always: Task[];
}

/**
 * A dynamic include (include_tasks, include_role): its file name, loop and condition are evaluated per host
 * when it runs, and the included tasks are loaded then; its tags and when apply to the include itself only.
 */
export interface IncludeTask extends TaskCommon {
  kind: 'include';
  /** include_tasks or include_role (taskName() shows it). */
  module: 'include_tasks' | 'include_role';
  /** include_tasks: the file name, possibly templated. */
  file?: string;
  /** include_role: the role, its tasks_from and the variables passed to it. */
  roleName?: string;
  tasksFrom?: string;
  roleParams?: Record<string, unknown>;
  loop?: unknown;
  loop_kind?: ModuleTask['loop_kind'];
  loop_control?: ModuleTask['loop_control'];
  /** What the included tasks inherit, opaque outside the loader. */
  inherited: unknown;
}

export type Task = ModuleTask | MetaTask | BlockTask | IncludeTask;

export interface Handler extends ModuleTask {
  listen: string[];
}

export interface Play {
  name: string;
  hosts: string;
  position: SourcePosition;
  vars: Record<string, unknown>;
  gather_facts: boolean;
  serial?: number | string | (number | string)[];
  any_errors_fatal: boolean;
  max_fail_percentage?: number;
  become: boolean;
  check_mode?: boolean;
  tags: string[];
  pre_tasks: Task[];
  /** Role tasks followed by the play's tasks. */
  tasks: Task[];
  post_tasks: Task[];
  handlers: Handler[];
  /** Roles applied, for vars precedence and listing. */
  roles: RoleScope[];
}

export interface Playbook {
  file: string;
  dir: string;
  plays: Play[];
}
