import { UndefinedVariableError } from '../errors.js';
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
    // As Ansible's debug: below its verbosity the task is skipped; an undefined var is reported, not an error.
    if (args.verbosity && Number(ctx.render('{{ ansible_verbosity }}') ?? 0) < args.verbosity) {
      return { changed: false, result: { skipped: true, skipped_reason: 'Verbosity threshold not met.' } };
    }
    if (args.var !== undefined) {
      let value: unknown;
      try {
        value = ctx.render(`{{ ${args.var} }}`);
      } catch (e) {
        if (!(e instanceof UndefinedVariableError)) throw e;
        value = 'VARIABLE IS NOT DEFINED!';
      }
      return { changed: false, result: { [args.var]: value, _ansible_verbose_always: true } };
    }
    return { changed: false, result: { msg: args.msg ?? 'Hello world!', _ansible_verbose_always: true } };
  },
  async apply() {
    return { changed: false };
  },
};

export default debug;
