// Python's float where JavaScript cannot tell it from an int. A JavaScript number with a fraction (2.5) is
// unambiguously a float; a whole one (5) reads as an int. Operations that yield a Python float (`/`, the
// float and round filters, arithmetic with a float operand, a literal `5.0`) return a PyFloat when the
// value is whole, so str(), to_json, to_yaml and type_debug print 5.0 and 'float' as Python does.
//
// The marker lives only inside one render: filters that do not know it receive plain numbers
// (index.ts, wrapFilter), and a render's native result has every PyFloat turned back into a number
// (plainNumbers), so modules, manifests and variables never hold one.

export class PyFloat {
  constructor(readonly value: number) {}
  valueOf(): number {
    return this.value;
  }
  toString(): string {
    return pyFloatText(this.value);
  }
  toJSON(): number {
    return this.value;
  }
}

let made = 0;

/** How many PyFloats were made so far (a render compares it before and after to know whether to clean up). */
export function floatsMade(): number {
  return made;
}

/** A Python float result: whole values are marked, fractional ones are already floats. */
export function pyFloat(n: number): number | PyFloat {
  if (!Number.isFinite(n) || !Number.isInteger(n)) return n;
  made++;
  return new PyFloat(n);
}

/** Whether a value is a Python float (a PyFloat, or a number with a fraction, inf or nan). */
export function isFloat(value: unknown): boolean {
  return value instanceof PyFloat || (typeof value === 'number' && !Number.isInteger(value));
}

/** The number behind a PyFloat; other values as they are. */
export function plain(value: unknown): unknown {
  return value instanceof PyFloat ? value.value : value;
}

/**
 * The value with every PyFloat, at any depth, replaced by its number. Containers are copied only when
 * something inside them changed.
 */
export function plainNumbers(value: unknown): unknown {
  if (value instanceof PyFloat) return value.value;
  if (Array.isArray(value)) {
    let out: unknown[] | undefined;
    value.forEach((item, i) => {
      const p = plainNumbers(item);
      if (p !== item) (out ??= value.slice())[i] = p;
    });
    return out ?? value;
  }
  if (value !== null && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    const record = value as Record<string, unknown>;
    let out: Record<string, unknown> | undefined;
    for (const key of Object.keys(record)) {
      const p = plainNumbers(record[key]);
      if (p !== record[key]) (out ??= { ...record })[key] = p;
    }
    return out ?? value;
  }
  return value;
}

/**
 * Python's repr() of a float: the shortest digits that read back (JavaScript finds the same ones), fixed
 * notation for exponents -4..15 with at least one decimal, otherwise `1e+16`, `1.5e-07`.
 */
export function pyFloatText(n: number): string {
  if (Number.isNaN(n)) return 'nan';
  if (!Number.isFinite(n)) return n > 0 ? 'inf' : '-inf';
  if (n === 0) return Object.is(n, -0) ? '-0.0' : '0.0';
  const sign = n < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(n).toExponential().split('e');
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent >= -4 && exponent < 16) {
    if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
    const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
    return `${sign}${whole}.${digits.slice(exponent + 1) || '0'}`;
  }
  return `${sign}${mantissa}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
}

/** Python's text for a number: ints as digits, floats as repr() does. */
export function pyNumberText(value: number | PyFloat): string {
  if (value instanceof PyFloat) return pyFloatText(value.value);
  return Number.isInteger(value) ? String(value) : pyFloatText(value);
}
