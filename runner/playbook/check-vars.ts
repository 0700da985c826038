// Finds variables that templates use but nothing can define, before anything runs.
// A name counts as definable when the inventory, play, role, task, -e, a register, a set_fact,
// a fact-returning module or a loop can provide it; guarded uses (`x is defined`, `x | default`) are fine.
import type { Problem } from '../errors.js';
import type { Inventory } from '../inventory/types.js';
import { hostVars, selectHosts } from '../inventory/index.js';
import type { Templater } from '../template/types.js';
import type { ModuleTask, Playbook, Task } from './types.js';
import { append } from '../arrays.js';
import { existsSync, readFileSync } from 'node:fs';
import { sourceCandidates } from '../modules/template.js';

const MAGIC = [
  'inventory_hostname', 'inventory_hostname_short', 'groups', 'group_names', 'hostvars', 'play_hosts',
  'ansible_play_hosts', 'ansible_play_hosts_all', 'ansible_play_batch', 'ansible_check_mode', 'ansible_diff_mode',
  'ansible_verbosity', 'playbook_dir', 'role_name', 'role_path', 'omit', 'ansible_facts', 'ansible_loop_var',
  'lookup', 'query', 'q', 'range', 'true', 'false', 'none', 'True', 'False', 'None', 'loop', 'kubernetes',
];

function strings(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') out.push(v);
  else if (Array.isArray(v)) v.forEach((x) => strings(x, out));
  else if (v && typeof v === 'object') Object.entries(v).forEach(([k, x]) => (strings(k, out), strings(x, out)));
  return out;
}

function guarded(name: string, texts: string[]): boolean {
  const n = name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = new RegExp(`\\b${n}\\b(\\.[\\w.]+|\\[[^\\]]*\\])*\\s*(is\\s+(not\\s+)?(defined|undefined|none)|\\|\\s*(default|d)\\b)`);
  return texts.some((t) => re.test(t));
}

/** Module tasks, plus blocks as condition-only entries so a block's `when` is checked once, at the block. */
function flatten(tasks: Task[], out: ModuleTask[] = []): ModuleTask[] {
  for (const t of tasks) {
    if (t.kind === 'block') {
      if (t.ownWhen.length) out.push({ ...t, kind: 'module', module: 'block', args: {}, notify: [], name: t.name ?? 'block' } as unknown as ModuleTask);
      flatten([...t.block, ...t.rescue, ...t.always], out);
    } else if (t.kind === 'module') out.push(t);
  }
  return out;
}

const WORD = /[A-Za-z_][A-Za-z0-9_]*/g;

/** The template files a task renders (template: with a static src), or 'unknown' when it cannot be told. */
function templateFiles(t: ModuleTask, playbookDir: string): string[] | 'unknown' {
  const texts = strings([t.args]);
  if (texts.some((x) => /lookup\(\s*['"](ansible\.builtin\.)?template['"]|query\(\s*['"](ansible\.builtin\.)?template['"]/.test(x))) return 'unknown';
  if (!/(^|\.)template$/.test(t.module)) return [];
  const src = t.args.src;
  if (typeof src !== 'string' || src.includes('{{') || src.includes('{%')) return 'unknown';
  const found = sourceCandidates(t.role?.dir, playbookDir, src, 'templates').find((c) => existsSync(c));
  return found ? [found] : [];
}

/**
 * The names something in a play may read when it runs: every word of its tasks' templates and conditions, of
 * the template files they render, and of the role and play variables those reach. A play variable outside
 * this set is never rendered (Ansible renders a variable only where it is used); undefined when it cannot be
 * told (a template file chosen at run time), then every play variable counts as read.
 */
function namesRead(play: Playbook['plays'][number], playbookDir: string): Set<string> | undefined {
  const words = new Set<string>();
  const add = (texts: string[]) => {
    for (const text of texts) for (const w of text.match(WORD) ?? []) words.add(w);
  };
  for (const t of flatten([...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers])) {
    add(strings([t.name, t.args, t.loop, t.delegate_to, t.loop_control, t.vars, t.when, t.changed_when, t.failed_when, t.until, t.environment, t.no_log, t.ignore_errors]));
    const files = templateFiles(t, playbookDir);
    if (files === 'unknown') return undefined;
    for (const f of files) add([readFileSync(f, 'utf8')]);
  }
  for (const r of play.roles) add(strings([r.defaults, r.vars, r.params]));
  // What a read play variable reads is read too (to a fixed point).
  for (let grew = true; grew;) {
    grew = false;
    for (const [key, value] of Object.entries(play.vars)) {
      if (!words.has(key)) continue;
      const before = words.size;
      add(strings(value));
      grew ||= words.size > before;
    }
  }
  return words;
}

/**
 * Play variables (vars: and vars_files) are templates rendered where tasks use them: a name they read must be
 * definable somewhere in the play (its variables, a role's, a task's, a loop variable, the inventory, -e, a register).
 * A play variable nothing in the play reads is never rendered (Ansible runs such a play): its undefined names
 * are warnings, not problems.
 */
function checkPlayVars(play: Playbook['plays'][number], playNames: Set<string>, templater: Templater, playbookDir: string, warnings: Problem[]): Problem[] {
  const problems: Problem[] = [];
  const read = namesRead(play, playbookDir);
  const scope = new Set(playNames);
  for (const r of play.roles) for (const o of [r.defaults, r.vars, r.params]) Object.keys(o).forEach((k) => scope.add(k));
  for (const t of flatten([...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers])) {
    for (const v of t.vars) Object.keys(v).forEach((k) => scope.add(k));
    if (t.loop !== undefined) scope.add(t.loop_control?.loop_var ?? 'item');
    if (t.loop_control?.index_var) scope.add(t.loop_control.index_var);
  }
  for (const [key, value] of Object.entries(play.vars)) {
    const texts = strings(value).filter((x) => templater.isTemplate(x));
    const reported = new Set<string>();
    for (const text of texts) {
      let used: string[];
      try {
        used = templater.variablesOf(text);
      } catch {
        continue; // a syntax error is reported by the playbook loader, where the text is
      }
      for (const name of used) {
        if (scope.has(name) || name.startsWith('ansible_') || reported.has(name) || guarded(name, texts)) continue;
        reported.add(name);
        const message = `undefined variable '${name}' in play variable '${key}' of play '${play.name}'`;
        if (read && !read.has(key)) warnings.push({ ...play.position, message: `${message}; nothing in the play reads '${key}', so it is never rendered` });
        else problems.push({ ...play.position, message, expected: 'a variable defined in the inventory, play or role vars, -e, or registered by a task' });
      }
    }
  }
  return problems;
}

/** Whether a task list loads something only when it runs: an include, or variables from include_vars (onlyVars: just that). */
function hasInclude(tasks: Task[], onlyVars = false): boolean {
  return tasks.some((t) => (t.kind === 'include' && !onlyVars) || (t.kind === 'module' && /(^|\.)include_vars$/.test(t.module))
    || (t.kind === 'block' && hasInclude([...t.block, ...t.rescue, ...t.always], onlyVars)));
}

/** Problems stop the run before anything runs; `warnings` receives what is suspicious but never rendered. */
export function checkVariables(playbooks: Playbook[], inventory: Inventory, extraVars: Record<string, unknown>, templater: Templater, provides: Record<string, string[]> = {}, warnings: Problem[] = []): Problem[] {
  const problems: Problem[] = [];
  const definable = new Set<string>([...MAGIC, ...Object.keys(extraVars), ...Object.keys(inventory.vars)]);
  // Registers and set_facts anywhere in the run are definable anywhere: ordering is checked at run time.
  for (const pb of playbooks) {
    for (const play of pb.plays) {
      for (const t of flatten([...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers])) {
        if (t.register) definable.add(t.register);
        if (t.module === 'set_fact') Object.keys(t.args).forEach((k) => definable.add(k));
        for (const p of provides[t.module] ?? []) definable.add(p);
      }
    }
  }
  // Variables include_vars loads stay the host's for the rest of the run: from its play on, names are unknown.
  let varsIncluded = false;
  for (const pb of playbooks) {
    for (const play of pb.plays) {
      // A dynamic include (include_tasks, include_role) or include_vars is loaded when it runs and may define anything:
      // this play's variables are checked when used, as Ansible does.
      varsIncluded ||= hasInclude([...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers], true);
      if (varsIncluded || hasInclude([...play.pre_tasks, ...play.tasks, ...play.post_tasks])) continue;
      const hosts = selectHosts(inventory, play.hosts).hosts;
      const fromHosts = new Set<string>();
      for (const h of hosts.length ? hosts : [...inventory.hosts.keys()]) Object.keys(hostVars(inventory, h)).forEach((k) => fromHosts.add(k));
      const playNames = new Set([...definable, ...fromHosts, ...Object.keys(play.vars)]);
      append(problems, checkPlayVars(play, playNames, templater, pb.dir, warnings));
      // Every role the play applies lends its defaults, vars and parameters to all its tasks (as in Ansible).
      for (const r of play.roles) for (const o of [r.defaults, r.vars, r.params]) Object.keys(o).forEach((k) => playNames.add(k));
      for (const t of flatten([...play.pre_tasks, ...play.tasks, ...play.post_tasks, ...play.handlers])) {
        const names = new Set(playNames);
        if (t.role) for (const o of [t.role.defaults, t.role.vars, t.role.params]) Object.keys(o).forEach((k) => names.add(k));
        for (const v of t.vars) Object.keys(v).forEach((k) => names.add(k));
        if (t.loop !== undefined) {
          names.add(t.loop_control?.loop_var ?? 'item');
          if (t.loop_control?.index_var) names.add(t.loop_control.index_var);
        }
        const templates = strings([t.args, t.loop, t.delegate_to, t.loop_control?.label, t.vars]);
        const bare = strings([t.ownWhen, t.changed_when, t.failed_when, t.until]).map((e) => (e.includes('{{') ? e : `{{ ${e} }}`));
        const guards = strings(t.when);
        const all = [...templates.filter((s) => templater.isTemplate(s)), ...bare];
        const reported = new Set<string>();
        for (const text of all) {
          let used: string[];
          try {
            used = templater.variablesOf(text);
          } catch (e) {
            problems.push({ ...t.position, message: `template error in task '${t.name ?? t.module}': ${(e as Error).message}` });
            continue;
          }
          for (const name of used) {
            if (names.has(name) || name.startsWith('ansible_') || reported.has(name) || guarded(name, [...all, ...guards])) continue;
            reported.add(name);
            problems.push({
              ...t.position,
              message: `undefined variable '${name}' in task '${t.name ?? t.module}'`,
              expected: 'a variable defined in the inventory, play or role vars, -e, or registered by a task',
            });
          }
        }
      }
    }
  }
  return problems;
}
