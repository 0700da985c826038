import type { Module } from './types.js';

interface AssertArgs {
  that: unknown;
  fail_msg?: unknown;
  msg?: unknown;
  success_msg?: unknown;
  quiet?: boolean;
}

function truthy(v: unknown): boolean {
  if (typeof v === 'string') return ['true', 'yes', 'on', '1'].includes(v.trim().toLowerCase());
  return Boolean(v) && !(Array.isArray(v) && v.length === 0);
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
      const value = typeof c === 'string' ? ctx.render(`{{ ${c} }}`) : c;
      if (!truthy(value)) {
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
