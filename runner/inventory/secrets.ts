// Which inventory keys hold secrets, so every rendering of the inventory (and the output layer) can hide them.

/**
 * Keys whose values are secrets. `private_key_file` is a path and `ca_data` a public certificate, so neither
 * is hidden; `private_key` (inline key material) and `*key_data` are.
 */
export const SECRET_KEY_PATTERN = /password|token|secret|passphrase|key_data|private_key(?!_file)/i;

export const REDACTED = '<redacted>';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** A deep copy of `value` with the value of every secret-named key replaced by `<redacted>`. */
export function redactSecrets<T>(value: T): T {
  return redact(value, new WeakMap()) as T;
}

function redact(value: unknown, seen: WeakMap<object, unknown>): unknown {
  if (Array.isArray(value)) {
    if (seen.has(value)) return seen.get(value);
    const out: unknown[] = [];
    seen.set(value, out);
    for (const item of value) out.push(redact(item, seen));
    return out;
  }
  if (value && typeof value === 'object' && Object.getPrototypeOf(value) === Object.prototype) {
    if (seen.has(value)) return seen.get(value);
    const out: Record<string, unknown> = {};
    seen.set(value, out);
    for (const [k, v] of Object.entries(value)) {
      out[k] = isSecretKey(k) && v !== undefined && v !== null && v !== '' ? REDACTED : redact(v, seen);
    }
    return out;
  }
  return value;
}
