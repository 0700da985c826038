// Masks secret values before any event reaches an output format.
// Every distinct secret value gets a number that is stable for the run, so a diff can still show
// that a secret changed (`<secret #1>` before, `<secret #2>` after) without showing either value.
// Which names hold secrets is the run's SecretPolicy (./policy.ts); this file only holds values.
import { frozenData } from '../frozen.js';
import { defaultSecretPolicy, type SecretPolicy } from './policy.js';

/** Substring masking starts at this length: shorter secrets are masked only as whole values. */
export const MIN_SUBSTRING_SECRET = 8;

/** What Ansible prints instead of the result of a `no_log: true` task. */
export const NO_LOG_CENSORED =
  "the output has been hidden due to the fact that 'no_log: true' was specified for this result";
export const NO_LOG_MSG = 'the output has been hidden due to the no_log: true specified for this result';

const PEM_PRIVATE_KEY = /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z0-9 ]*PRIVATE KEY-----/g;
const BEARER = /(\bBearer\s+)([A-Za-z0-9._~+/=-]{8,})/g;
const BEARER_WORD = 'Bearer';
const MASK = /^<secret #\d+>$/;
/** Keys needsCopy remembers as clean, at most (data can be keyed by addresses or names without end). */
const CLEAN_KEYS_MAX = 4096;

export interface RedactorOptions {
  /** The run's policy (SecretPolicy.fromInventory); the defaults when not given. */
  policy?: SecretPolicy;
}

export interface RedactOptions {
  /** Extra keys whose values are secret wherever they occur (a module's `secretArgs`). */
  secretKeys?: Iterable<string>;
}

export class Redactor {
  private readonly numbers = new Map<string, number>();
  private next = 1;
  /** Secrets matched inside longer strings, longest first; rebuilt lazily when secrets are added. */
  private substringPattern: RegExp | null | undefined;
  /** Length of the shortest secret in substringPattern: a shorter text cannot hold one (a route line beside a key). */
  private shortestSubstring = 0;
  /** Length of the shortest registered form: a shorter text is none of them (and is not hashed to find out). */
  private shortestForm = Infinity;
  /** Keys found neither secret by name nor holding a secret: forgotten whenever a secret is registered. */
  private readonly cleanKeys = new Set<string>();
  /**
   * Deeply frozen values found to need no copy, with the number of secret forms registered when they were judged
   * (numbers.size, which only grows): nothing in them can change, so the verdict holds until a secret is
   * registered. The probes a cluster's nodes share (240 at 256 nodes) were walked again in every node's result.
   */
  private readonly cleanFrozen = new WeakMap<object, number>();
  readonly policy: SecretPolicy;

  constructor(options: RedactorOptions = {}) {
    this.policy = options.policy ?? defaultSecretPolicy;
  }

  /** Registers a secret value (and the forms it commonly travels in: base64, JSON-escaped, URL-encoded, trimmed). */
  addSecret(value: string): number | undefined {
    if (typeof value !== 'string' || value === '' || MASK.test(value)) return undefined;
    const existing = this.numbers.get(value);
    if (existing !== undefined) return existing;
    const n = this.next++;
    this.register(value, n);
    const trimmed = value.trim();
    if (trimmed !== value && trimmed.length >= MIN_SUBSTRING_SECRET) this.register(trimmed, n);
    for (const form of [trimmed, value]) {
      if (form.length < MIN_SUBSTRING_SECRET) continue;
      const json = JSON.stringify(form).slice(1, -1);
      if (json !== form) this.register(json, n);
      const url = encodeURIComponent(form);
      if (url !== form) this.register(url, n);
      for (const b64 of base64Forms(form)) this.register(b64, n);
    }
    return n;
  }

  /** Number of distinct secrets registered (their forms share a number). */
  get size(): number {
    return this.next - 1;
  }

  /**
   * `value` with every secret masked: a deep copy when anything needs masking (never mutating the input; safe on
   * cycles), else `value` itself. Most events (route tables, facts) hold no secret, and copying each of them was
   * a visible share of a 48-node run's time and garbage.
   */
  redact<T>(value: T, options: RedactOptions = {}): T {
    const extraKeys = new Set(options.secretKeys ?? []);
    if (!this.needsCopy(value, extraKeys, new Set())) return value;
    // Key-matched values are registered first, so they are masked wherever else they occur in the same value.
    this.harvest(value, extraKeys, new Set());
    return this.copy(value, extraKeys, new Set()) as T;
  }

  /**
   * `value` with every registered secret (and PEM key, bearer token) masked, deciding nothing by name: for
   * meshplay's own reports (status rows), whose field names (`secret.error`) say what a value is about, not
   * that it is secret. Their secrets are registered as they are read.
   */
  redactKnown<T>(value: T): T {
    const walk = (v: unknown, seen: Set<object>): unknown => {
      if (typeof v === 'string') return this.redactText(v);
      if (v === null || typeof v !== 'object') return v;
      if (seen.has(v)) return '[Circular]';
      seen.add(v);
      try {
        if (Array.isArray(v)) return v.map((x) => walk(x, seen));
        const out: Record<string, unknown> = {};
        for (const [k, x] of Object.entries(v)) out[this.redactText(k)] = walk(x, seen);
        return out;
      } finally {
        seen.delete(v);
      }
    };
    return walk(value, new Set()) as T;
  }

  /** Masks secrets inside free text (stderr, error messages, command lines). */
  redactText(text: string): string {
    if (typeof text !== 'string' || text === '') return text;
    const whole = this.numbers.get(text);
    if (whole !== undefined) return mask(whole);
    let out = text;
    // includes() first: most strings hold neither, and a failed includes is far cheaper than a regex pass
    if (out.includes('PRIVATE KEY-----')) out = out.replace(PEM_PRIVATE_KEY, (pem) => mask(this.addSecret(pem)!));
    if (out.includes(BEARER_WORD)) out = out.replace(BEARER, (_m, lead: string, token: string) => lead + mask(this.addSecret(token)!));
    const pattern = this.pattern();
    if (pattern && out.length >= this.shortestSubstring) out = out.replace(pattern, (found) => mask(this.numbers.get(found)!));
    return out;
  }

  /** Whether a key's value is secret by name (the policy), or as one of a module's `secretArgs`. */
  isSecretKey(key: string, extraKeys?: Set<string>): boolean {
    if (extraKeys?.has(key)) return true;
    return this.policy.isSecretName(key);
  }

  private isNotSecretKey(key: string): boolean {
    return this.policy.isNotSecretName(key);
  }

  private register(form: string, n: number): void {
    if (this.numbers.has(form)) return;
    this.numbers.set(form, n);
    this.shortestForm = Math.min(this.shortestForm, form.length);
    this.cleanKeys.clear();
    if (form.length >= MIN_SUBSTRING_SECRET) this.substringPattern = undefined;
  }

  private pattern(): RegExp | null {
    if (this.substringPattern === undefined) {
      const long = [...this.numbers.keys()].filter((s) => s.length >= MIN_SUBSTRING_SECRET);
      long.sort((a, b) => b.length - a.length);
      this.substringPattern = long.length ? new RegExp(long.map(escapeRegExp).join('|'), 'g') : null;
      this.shortestSubstring = long.length ? long[long.length - 1]!.length : 0;
    }
    return this.substringPattern;
  }

  /**
   * Whether copy() would change anything: a secret-named key, a Kubernetes Secret, a string holding a secret (or
   * a PEM key or bearer token), a cycle, or a value copy() converts (Map, Set, Error, bytes, function...).
   */
  private needsCopy(value: unknown, extraKeys: Set<string>, ancestors: Set<object>): boolean {
    if (typeof value === 'string') return this.textNeedsMasking(value);
    if (typeof value !== 'object') return typeof value === 'function' || typeof value === 'symbol';
    if (value === null) return false;
    if (ancestors.has(value)) return true;
    const remember = extraKeys.size === 0;
    if (remember && this.cleanFrozen.get(value) === this.numbers.size) return false;
    const list = Array.isArray(value);
    if (!list) {
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return true;
    }
    ancestors.add(value);
    try {
      if (list) {
        for (let i = 0; i < value.length; i++) if (this.needsCopy(value[i], extraKeys, ancestors)) return true;
      } else {
        const record = value as Record<string, unknown>;
        if (record.kind === 'Secret') return true;
        // Events repeat a few keys thousands of times (a route table's dest, via, dev): each is judged once.
        for (const k of Object.keys(record)) {
          if (!(remember && this.cleanKeys.has(k))) {
            if (this.isSecretKey(k, extraKeys) || this.textNeedsMasking(k)) return true;
            if (remember && this.cleanKeys.size < CLEAN_KEYS_MAX) this.cleanKeys.add(k);
          }
          if (this.needsCopy(record[k], extraKeys, ancestors)) return true;
        }
      }
      // Its children, judged first, were remembered only if they were frozen data too.
      if (remember && frozenData(value, (v) => this.cleanFrozen.get(v) === this.numbers.size)) this.cleanFrozen.set(value, this.numbers.size);
      return false;
    } finally {
      ancestors.delete(value);
    }
  }

  private textNeedsMasking(text: string): boolean {
    // A text shorter than every registered form is none of them, and is not hashed to find out: most strings of an
    // event are short (addresses, names, route lines; ~400,000 at 256 nodes) and the usual secrets long (keys,
    // tokens). Shorter than 'Bearer' as well, no check below can say yes.
    if (text.length < BEARER_WORD.length && text.length < this.shortestForm) return false;
    if ((text.length >= this.shortestForm && this.numbers.has(text)) || text.includes('PRIVATE KEY-----') || text.includes(BEARER_WORD)) return true;
    const pattern = this.pattern();
    // Without the length check, 61,440 route lines of a 256-node run each ran the pattern of an SSH key's forms.
    if (!pattern || text.length < this.shortestSubstring) return false;
    pattern.lastIndex = 0;
    return pattern.test(text);
  }

  /** Registers values found under secret keys and in Kubernetes Secret objects. */
  private harvest(value: unknown, extraKeys: Set<string>, ancestors: Set<object>): void {
    if (value === null || typeof value !== 'object' || ancestors.has(value)) return;
    ancestors.add(value);
    if (Array.isArray(value)) {
      for (const v of value) this.harvest(v, extraKeys, ancestors);
    } else if (isPlainish(value)) {
      const record = value as Record<string, unknown>;
      for (const [k, v] of Object.entries(record)) {
        if (extraKeys.has(k) || this.policy.isSecretEntry(record, k)) {
          this.harvestLeaves(v, ancestors, k === 'data' && record.kind === 'Secret');
        } else {
          this.harvest(v, extraKeys, ancestors);
        }
      }
    }
    ancestors.delete(value);
  }

  private harvestLeaves(value: unknown, ancestors: Set<object>, base64Data: boolean): void {
    this.policy.secretStrings(
      value,
      (text) => {
        if (MASK.test(text)) return;
        this.addSecret(text);
        const decoded = base64Data ? decodeBase64Text(text) : undefined;
        if (decoded !== undefined) this.addSecret(decoded);
      },
      new Set(ancestors),
    );
  }

  private copy(value: unknown, extraKeys: Set<string>, ancestors: Set<object>, secret = false): unknown {
    switch (typeof value) {
      case 'string':
        if (secret && value !== '' && !MASK.test(value)) return mask(this.addSecret(value)!);
        return this.redactText(value);
      case 'function':
      case 'symbol':
        return undefined;
      case 'number':
      case 'bigint':
        // A numeric password (`db_password: 12345678`, a YAML number) is a secret as much as its digits are.
        if (secret && (typeof value === 'bigint' || Number.isFinite(value))) return mask(this.addSecret(String(value))!);
        return value;
      case 'object':
        break;
      default:
        return value;
    }
    if (value === null) return null;
    if (ancestors.has(value)) return '[Circular]';
    if (value instanceof Date) return new Date(value.getTime());
    if (value instanceof Uint8Array) return this.copy(Buffer.from(value).toString('utf8'), extraKeys, ancestors, secret);
    ancestors.add(value);
    try {
      if (Array.isArray(value)) return value.map((v) => this.copy(v, extraKeys, ancestors, secret));
      if (value instanceof Set) return [...value].map((v) => this.copy(v, extraKeys, ancestors, secret));
      let source: Record<string, unknown>;
      if (value instanceof Map) source = Object.fromEntries([...value].map(([k, v]) => [String(k), v]));
      else if (value instanceof Error) source = errorToRecord(value);
      else source = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(source)) {
        let childSecret: boolean;
        if (secret) childSecret = !this.isNotSecretKey(k);
        else childSecret = extraKeys.has(k) || this.policy.isSecretEntry(source, k);
        const key = this.pattern() ? this.redactText(k) : k;
        const copied = this.copy(v, extraKeys, ancestors, childSecret);
        if (copied !== undefined || v === undefined) out[key] = copied;
      }
      return out;
    } finally {
      ancestors.delete(value);
    }
  }
}

/**
 * What a `no_log: true` task shows: only its status fields, as Ansible does.
 * The message is kept only as a fixed sentence, so a failure still says why nothing is shown.
 */
export function noLog(result: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { censored: NO_LOG_CENSORED, changed: Boolean(result.changed) };
  for (const key of ['failed', 'skipped', 'unreachable', 'attempts', 'retries'] as const) {
    if (key in result) out[key] = typeof result[key] === 'number' ? result[key] : Boolean(result[key]);
  }
  if ('msg' in result) out.msg = NO_LOG_MSG;
  return out;
}

function mask(n: number): string {
  return `<secret #${n}>`;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isPlainish(value: object): boolean {
  return !(value instanceof Date) && !(value instanceof Uint8Array);
}

function errorToRecord(error: Error): Record<string, unknown> {
  const out: Record<string, unknown> = { name: error.name, message: error.message };
  for (const [k, v] of Object.entries(error)) out[k] = v;
  if (error.cause !== undefined) out.cause = error.cause;
  return out;
}

/**
 * Base64 forms of a secret: the whole standard encoding, and the characters that depend only on the
 * secret when it sits at each of the three byte alignments inside a larger base64 blob
 * (a token inside a base64-encoded kubeconfig).
 */
function base64Forms(secret: string): string[] {
  const bytes = Buffer.from(secret, 'utf8');
  const forms = new Set<string>([bytes.toString('base64'), bytes.toString('base64url')]);
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.concat([Buffer.alloc(shift), bytes]).toString('base64');
    const first = Math.ceil((8 * shift) / 6);
    const last = Math.floor((8 * (shift + bytes.length) - 6) / 6);
    const inner = encoded.slice(first, last + 1);
    if (inner.length >= MIN_SUBSTRING_SECRET) forms.add(inner);
  }
  return [...forms];
}

/** Decodes base64 when it yields text (a Secret's data value); undefined for binary or non-base64. */
function decodeBase64Text(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value) || value.length % 4 !== 0) return undefined;
  const text = Buffer.from(value, 'base64').toString('utf8');
  if (text.includes('\uFFFD') || /[\x00-\x08\x0e-\x1f]/.test(text)) return undefined;
  return text;
}
