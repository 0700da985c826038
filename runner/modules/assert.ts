import { any, boolean, object, required, withDefault } from './args.js';
import type { Module } from './types.js';

const schema = object({
  that: required(any()),
  // No schema default: msg is its alias, used when fail_msg is not given.
  fail_msg: any(),
  msg: any(),
  success_msg: withDefault(any(), 'All assertions passed'),
  quiet: withDefault(boolean(), false),
});

const assert: Module<typeof schema, undefined> = {
  name: 'assert',
  local: true,
  schema,
  facts: async () => undefined,
  plan(_facts, args, ctx) {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    for (const c of conditions) {
      // The same rule as when: (one truthiness, runner/template conditionValue).
      if (!ctx.condition(c)) {
        return { changed: false, result: { failed: true, assertion: c, evaluated_to: false, msg: args.fail_msg ?? args.msg ?? 'Assertion failed' } };
      }
    }
    return { changed: false, result: args.quiet ? {} : { msg: args.success_msg } };
  },
};

export default assert;
