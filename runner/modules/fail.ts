import { any, object, withDefault } from './args.js';
import type { Module } from './types.js';

const schema = object({ msg: withDefault(any(), 'Failed as requested from task') });

const fail: Module<typeof schema, undefined> = {
  name: 'fail',
  local: true,
  schema,
  facts: async () => undefined,
  plan: (_facts, args) => ({ changed: false, result: { failed: true, msg: args.msg } }),
};

export default fail;
