// The keywords meshplay understands; anything else in a play or task is an error with its position,
// so a misspelled `whne:` never silently runs a task.

export const PLAY_KEYS = new Set([
  'name', 'hosts', 'vars', 'vars_files', 'roles', 'pre_tasks', 'tasks', 'post_tasks', 'handlers',
  'gather_facts', 'serial', 'strategy', 'any_errors_fatal', 'max_fail_percentage', 'become', 'check_mode',
  'diff', 'tags', 'environment', 'become_password', 'no_log', 'ignore_errors',
]);

/** Keywords valid on every task, block and handler. */
export const TASK_KEYS = new Set([
  'name', 'when', 'loop', 'with_items', 'with_list', 'with_dict', 'loop_control', 'register', 'changed_when', 'failed_when',
  'ignore_errors', 'retries', 'until', 'delay', 'no_log', 'notify', 'tags', 'run_once', 'delegate_to',
  'check_mode', 'diff', 'vars', 'environment', 'become', 'become_password', 'any_errors_fatal', 'args',
]);

export const BLOCK_KEYS = new Set([
  'name', 'block', 'rescue', 'always', 'when', 'tags', 'vars', 'become', 'become_password', 'ignore_errors',
  'no_log', 'run_once', 'delegate_to', 'check_mode', 'diff', 'environment', 'any_errors_fatal',
]);

export const HANDLER_KEYS = new Set([...TASK_KEYS, 'listen']);

/** Actions that are not modules but are resolved when the playbook loads. */
export const INCLUDE_ACTIONS = new Set([
  'include_tasks', 'import_tasks', 'include_role', 'import_role', 'meta',
  'ansible.builtin.include_tasks', 'ansible.builtin.import_tasks', 'ansible.builtin.include_role',
  'ansible.builtin.import_role', 'ansible.builtin.meta',
]);

export const META_ACTIONS = new Set(['flush_handlers', 'noop', 'end_play', 'end_host', 'clear_facts']);

export const ROLE_ENTRY_KEYS = new Set(['role', 'name', 'vars', 'tags', 'when', 'become']);
