import type { Module } from './types.js';

interface AssertArgs {
  that: unknown;
  fail_msg?: unknown;
  msg?: unknown;
  success_msg?: unknown;
  quiet?: boolean;
}

const assert: Module<AssertArgs> = {
  name: 'assert',
  local: true,
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['that'],
    properties: { that: {}, fail_msg: {}, msg: {}, success_msg: {}, quiet: { type: 'boolean' } },
  },
  async plan(ctx, args) {
    const conditions = Array.isArray(args.that) ? args.that : [args.that];
    for (const c of conditions) {
      // The same rule as when: (one truthiness, runner/template conditionValue).
      if (!ctx.condition(c)) {
        return { changed: false, result: { failed: true, assertion: c, evaluated_to: false, msg: args.fail_msg ?? args.msg ?? 'Assertion failed' } };
      }
    }
    return { changed: false, result: args.quiet ? {} : { msg: args.success_msg ?? 'All assertions passed' } };
  },
  async apply() {
    return { changed: false };
  },
};

export default assert;
