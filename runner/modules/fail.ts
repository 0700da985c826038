import type { Module } from './types.js';

const fail: Module<{ msg?: unknown }> = {
  name: 'fail',
  local: true,
  schema: { type: 'object', additionalProperties: false, properties: { msg: {} } },
  async plan(_ctx, args) {
    return { changed: false, result: { failed: true, msg: args.msg ?? 'Failed as requested from task' } };
  },
  async apply() {
    return { changed: false };
  },
};

export default fail;
