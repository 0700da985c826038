// Sets host variables for the rest of the run (precedence above play vars, below extra vars).
import type { Module } from './types.js';

const setFact: Module<Record<string, unknown>> = {
  name: 'set_fact',
  local: true,
  schema: { type: 'object', propertyNames: { pattern: '^[A-Za-z_][A-Za-z0-9_]*$' } },
  async plan(_ctx, args) {
    const facts = { ...args };
    delete facts.cacheable;
    return { changed: false, result: { ansible_facts: facts } };
  },
  async apply() {
    return { changed: false };
  },
};

export default setFact;
