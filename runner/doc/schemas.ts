// JSON Schemas of playbooks and task files for editors (yaml-language-server), generated from the keywords the
// loader accepts (runner/playbook/keywords.ts) and every module's argument names, so the editor flags what a run
// would refuse: a misspelled keyword, an unknown module or module argument, a missing required argument.
// They check names and shapes, not values: a value may be a template (`"{{ port }}"`) the run renders first.
// The loader stays the authority (it reports with file:line:column and checks values); these are written by
// scripts/gen-docs.mjs and checked current by test/doc.test.ts.
import { loadModule, moduleNames } from '../modules/index.js';
import { BLOCK_KEYS, HANDLER_KEYS, INCLUDE_ACTIONS, PLAY_KEYS, ROLE_ENTRY_KEYS, TASK_KEYS } from '../playbook/keywords.js';

type Schema = Record<string, unknown>;

const SCHEMA_BASE = 'https://meshplay.invalid/schemas';
const template: Schema = { type: 'string', pattern: '\\{\\{' };
const sorted = (s: Iterable<string>) => [...new Set(s)].sort();

/** A module's arguments: the names it takes (and requires); any value, since a value may be a template. */
function argsShape(schema: any, freeForm: boolean): Schema {
  const props = Object.keys(schema?.properties ?? {}).sort();
  const required: string[] = Array.isArray(schema?.required) ? [...schema.required].sort() : [];
  const mapping: Schema = {
    type: 'object',
    properties: Object.fromEntries(props.map((p) => [p, {}])),
    ...(schema?.additionalProperties === false ? { additionalProperties: false } : {}),
    ...(required.length && !freeForm ? { required } : {}),
  };
  return freeForm ? { anyOf: [{ type: 'string' }, mapping] } : { anyOf: [mapping, template] };
}

/** A task of some kind: its keywords and exactly one action (one module, or an include/import/meta). */
function taskSchema(keys: Set<string>, actions: Record<string, Schema>): Schema {
  const keywordProps = Object.fromEntries(sorted(keys).map((k) => [k, {}]));
  return {
    type: 'object',
    oneOf: Object.entries(actions)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, args]) => ({
        properties: { ...keywordProps, [name]: args },
        required: [name],
        additionalProperties: false,
      })),
  };
}

export async function playbookSchemas(): Promise<Record<string, string>> {
  const actions: Record<string, Schema> = {};
  for (const name of moduleNames()) {
    const m = await loadModule(name);
    actions[name] = argsShape(m.schema, name === 'command' || name === 'shell');
  }
  for (const [fq, short] of [
    ['ansible.builtin.command', 'command'], ['ansible.builtin.shell', 'shell'], ['ansible.builtin.debug', 'debug'],
    ['ansible.builtin.set_fact', 'set_fact'], ['ansible.builtin.assert', 'assert'], ['ansible.builtin.fail', 'fail'],
    ['ansible.builtin.template', 'template'], ['ansible.builtin.copy', 'copy'], ['ansible.builtin.wait_for', 'wait_for'],
    ['kubernetes.core.k8s', 'k8s'], ['kubernetes.core.k8s_info', 'k8s_info'],
  ] as const) {
    if (actions[short]) actions[fq] = actions[short]!;
  }
  // set_fact takes any variable names.
  for (const n of ['set_fact', 'ansible.builtin.set_fact']) if (actions[n]) actions[n] = { anyOf: [{ type: 'object' }, { type: 'string' }] };
  for (const a of INCLUDE_ACTIONS) actions[a] = {};

  const defs: Schema = {
    task: { anyOf: [{ $ref: '#/$defs/block' }, taskSchema(TASK_KEYS, actions)] },
    handler: taskSchema(HANDLER_KEYS, actions),
    block: {
      type: 'object',
      properties: {
        ...Object.fromEntries(sorted(BLOCK_KEYS).map((k) => [k, {}])),
        block: { $ref: '#/$defs/tasks' },
        rescue: { $ref: '#/$defs/tasks' },
        always: { $ref: '#/$defs/tasks' },
      },
      required: ['block'],
      additionalProperties: false,
    },
    tasks: { anyOf: [{ type: 'null' }, { type: 'array', items: { $ref: '#/$defs/task' } }] },
    handlers: { anyOf: [{ type: 'null' }, { type: 'array', items: { anyOf: [{ $ref: '#/$defs/block' }, { $ref: '#/$defs/handler' }] } }] },
    role: {
      anyOf: [
        { type: 'string' },
        // Role parameters other than the entry keywords are the role's variables.
        { type: 'object', properties: Object.fromEntries(sorted(ROLE_ENTRY_KEYS).map((k) => [k, {}])), required: ['role'] },
        { type: 'object', properties: Object.fromEntries(sorted(ROLE_ENTRY_KEYS).map((k) => [k, {}])), required: ['name'] },
      ],
    },
    play: {
      type: 'object',
      properties: {
        ...Object.fromEntries(sorted(PLAY_KEYS).map((k) => [k, {}])),
        hosts: { anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] },
        vars: { anyOf: [{ type: 'object' }, { type: 'null' }] },
        roles: { anyOf: [{ type: 'null' }, { type: 'array', items: { $ref: '#/$defs/role' } }] },
        pre_tasks: { $ref: '#/$defs/tasks' },
        tasks: { $ref: '#/$defs/tasks' },
        post_tasks: { $ref: '#/$defs/tasks' },
        handlers: { $ref: '#/$defs/handlers' },
      },
      required: ['hosts'],
      additionalProperties: false,
    },
  };
  const playbook = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}/playbook.schema.json`,
    title: 'meshplay playbook',
    description: 'A list of plays (generated from the keywords and module arguments meshplay accepts; see docs/modules.md).',
    type: 'array',
    items: { $ref: '#/$defs/play' },
    $defs: defs,
  };
  const tasks = {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: `${SCHEMA_BASE}/tasks.schema.json`,
    title: 'meshplay task file',
    description: "A role's tasks/*.yml or handlers/*.yml, or a file for include_tasks/import_tasks.",
    anyOf: [{ type: 'null' }, { type: 'array', items: { anyOf: [{ $ref: '#/$defs/block' }, { $ref: '#/$defs/handler' }] } }],
    $defs: defs,
  };
  return {
    'schemas/playbook.schema.json': `${JSON.stringify(playbook, null, 2)}\n`,
    'schemas/tasks.schema.json': `${JSON.stringify(tasks, null, 2)}\n`,
  };
}
