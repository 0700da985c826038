// Sets host variables for the rest of the run (precedence above play vars, below extra vars).
import { isTemplate } from '../template/index.js';
import { typed } from './args.js';
import type { Module } from './types.js';

// Any variable names (checked as names); the values are whatever the task gives.
const schema = typed<Record<string, unknown>>({ type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } });

const BOOLEAN_WORDS: Record<string, boolean> = { true: true, yes: true, false: false, no: false };

const setFact: Module<typeof schema, undefined> = {
  name: 'set_fact',
  local: true,
  schema,
  // A value written as the string yes/no/true/false (any case; `flag=yes`, `flag: "no"`) is a boolean, as in
  // Ansible's default mode. A value that comes out of a template keeps its type, as every template's result in
  // meshplay (Ansible's jinja2_native mode): `{{ 'yes' }}` stays the string 'yes'.
  literalArgs(args) {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(args)) {
      if (typeof v !== 'string' || isTemplate(v)) continue;
      const b = BOOLEAN_WORDS[v.toLowerCase()];
      if (b !== undefined) (out ??= { ...args })[k] = b;
    }
    return out ?? args;
  },
  facts: async () => undefined,
  plan(_facts, args) {
    const facts = { ...args };
    delete facts.cacheable;
    return { changed: false, result: { ansible_facts: facts } };
  },
};

export default setFact;
