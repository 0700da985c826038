// Sets host variables for the rest of the run (precedence above play vars, below extra vars).
import type { Module } from './types.js';

const setFact: Module<Record<string, unknown>> = {
  name: 'set_fact',
  local: true,
  schema: { type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
  async plan(_ctx, args) {
    const facts = { ...args };
    delete facts.cacheable;
    // As Ansible's set_fact (jinja2_native off): string values true/false/yes/no, in any case, become booleans.
    for (const [k, v] of Object.entries(facts)) {
      if (typeof v === 'string' && ['true', 'yes', 'false', 'no'].includes(v.toLowerCase())) facts[k] = ['true', 'yes'].includes(v.toLowerCase());
    }
    return { changed: false, result: { ansible_facts: facts } };
  },
  async apply() {
    return { changed: false };
  },
};

export default setFact;
