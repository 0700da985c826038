import type { Module } from './types.js';

interface DebugArgs {
  msg?: unknown;
  var?: string;
  verbosity?: number;
}

const debug: Module<DebugArgs> = {
  name: 'debug',
  local: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: { msg: {}, var: { type: 'string' }, verbosity: { type: 'integer', minimum: 0 } },
  },
  async plan(ctx, args) {
    if (args.var !== undefined) {
      return { changed: false, result: { [args.var]: ctx.render(`{{ ${args.var} }}`), _ansible_verbose_always: true } };
    }
    return { changed: false, result: { msg: args.msg ?? 'Hello world!', _ansible_verbose_always: true } };
  },
  async apply() {
    return { changed: false };
  },
};

export default debug;
