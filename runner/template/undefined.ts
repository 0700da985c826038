// Jinja's StrictUndefined, as Ansible uses it: a missing variable is a value that may be tested
// (`is defined`), defaulted (`| default`) or looked into (`a.b.c`), but any other use throws
// an error naming the variable.

import { UndefinedVariableError } from '../errors.js';

let made = 0;

/**
 * How many Undefined values were made so far. Only a render makes them, and no render lets one out (its value is
 * checked, list.append refuses one): a render that made none cannot return one, and its value need not be walked.
 * The peers list of a 256-node routes play (65,000 objects) was walked twice per task.
 */
export function undefinedsMade(): number {
  return made;
}

export class Undefined {
  /** The variable or path that was missing, e.g. `cluster` or `cluster.name`. */
  readonly variable: string;
  readonly message: string;

  constructor(variable: string, message?: string) {
    made++;
    this.variable = variable;
    this.message = message ?? `'${variable}' is undefined`;
  }

  fail(): never {
    throw new UndefinedVariableError(this.variable, this.message);
  }

  // Arithmetic, comparison and string concatenation in compiled templates convert through these.
  [Symbol.toPrimitive](): never {
    this.fail();
  }
  toString(): never {
    this.fail();
  }
  valueOf(): never {
    this.fail();
  }
  toJSON(): never {
    this.fail();
  }
}

export function isUndefined(value: unknown): value is Undefined {
  return value instanceof Undefined;
}

/** Throw if the value is (or, for arrays and plain objects, contains) an Undefined. */
export function assertDefined(value: unknown, seen: Set<unknown> = new Set()): void {
  if (value instanceof Undefined) value.fail();
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (Array.isArray(value)) {
    for (const item of value) assertDefined(item, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const key in value) assertDefined((value as Record<string, unknown>)[key], seen);
  }
}
