// Sets host variables for the rest of the run (precedence above play vars, below extra vars).
import { typed } from './args.js';
import type { Module } from './types.js';

// Any variable names (checked as names); the values are whatever the task gives.
const schema = typed<Record<string, unknown>>({ type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } });

const setFact: Module<typeof schema, undefined> = {
  name: 'set_fact',
  local: true,
  schema,
  facts: async () => undefined,
  plan(_facts, args) {
    const facts = { ...args };
    delete facts.cacheable;
    // As Ansible's set_fact (jinja2_native off): string values true/false/yes/no, in any case, become booleans.
    for (const [k, v] of Object.entries(facts)) {
      if (typeof v === 'string' && ['true', 'yes', 'false', 'no'].includes(v.toLowerCase())) facts[k] = ['true', 'yes'].includes(v.toLowerCase());
    }
    return { changed: false, result: { ansible_facts: facts } };
  },
};

export default setFact;
