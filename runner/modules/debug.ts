import { UndefinedVariableError } from '../errors.js';
import { any, integer, object, string, withDefault } from './args.js';
import type { Module } from './types.js';

const schema = object({
  msg: withDefault(any(), 'Hello world!'),
  var: string(),
  verbosity: withDefault(integer({ minimum: 0 }), 0),
});

// Reads nothing: what it prints is a render of the task's variables.
const debug: Module<typeof schema, undefined> = {
  name: 'debug',
  local: true,
  schema,
  facts: async () => undefined,
  plan(_facts, args, ctx) {
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
    return { changed: false, result: { msg: args.msg, _ansible_verbose_always: true } };
  },
};

export default debug;
