// Which values are secret by the name they are stored under: one policy per run, built once from the inventory
// (`meshplay_secret_key_pattern`) and used by everything that decides it — the inventory display, the executor's
// up-front registration of secret variables, and the redactor every output goes through. Two copies of this rule
// disagreed once (`api_key` and `db_passwd` printed in clear): keep it here only.

/**
 * Names whose values are secret, matched against the name in snake_case (clientKeyData, client-key-data →
 * client_key_data). `key` alone is too common (selectors, tolerations) to count, and `client_key`, `ssh_key` or
 * `tls_key` usually hold paths; keys that are credentials by their qualifier are listed.
 */
export const DEFAULT_SECRET_NAME = new RegExp(
  [
    'password',
    'passwd',
    'passphrase',
    'secret',
    'token',
    'credential',
    'authorization',
    'cookie',
    'private_?key',
    'key_data',
    '(?:^|_)pass$',
    '(?:^|_)(?:api|access|auth|signing|encryption|master|hmac|session|license)_?key$',
    'apikey',
  ].join('|'),
  'i',
);

/**
 * Names that look secret but hold names, references, paths or settings (token_file, secret_name, secretRef,
 * secret_namespace, ca_data, no_log, password_set, the pattern option itself...). Their values are shown — and,
 * more importantly, not registered as secrets, which would mask common words like `istio-system` everywhere.
 *
 * A name that only ends in `secret` stays secret even when a playbook means a Kubernetes Secret by it: the same
 * shape holds real secret values (client_secret, webhook_secret, OAuth's oauth_token_secret), and the value cannot
 * tell them apart (a Secret's name and a password are both short lowercase words). A variable holding a Secret's
 * name says so in its name (`istio_reader_token_secret_name`), and then shows.
 */
export const DEFAULT_NOT_SECRET_NAME =
  /(?:^|_)(?:file|path|dir|name|names|namespace|ref|ttl|type|mode|set|seconds|id|uid|count|enabled|length|format|version|url|uri|label|labels|pattern|env|expiry|expires|algorithm|size)$|^ca_data$|^no_log$|^meshplay_secret_key_pattern$/i;

/** The inventory variable that widens which names are secret (a regular expression, case-insensitive). */
export const EXTRA_SECRET_NAME_VAR = 'meshplay_secret_key_pattern';

export class SecretPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SecretPolicyError';
  }
}

type Dict = Record<string, unknown>;

export class SecretPolicy {
  private readonly secretName: RegExp;
  private readonly notSecretName: RegExp;
  /** Events repeat the same few names thousands of times (route tables): each name is classified once. */
  private readonly classes = new Map<string, { secret: boolean; notSecret: boolean }>();

  constructor(options: { extraSecretName?: RegExp } = {}) {
    this.secretName = options.extraSecretName
      ? new RegExp(`(?:${DEFAULT_SECRET_NAME.source})|(?:${options.extraSecretName.source})`, 'i')
      : DEFAULT_SECRET_NAME;
    this.notSecretName = DEFAULT_NOT_SECRET_NAME;
  }

  /**
   * The run's policy: the defaults, widened by the inventory's `meshplay_secret_key_pattern`. An extra pattern is
   * matched against the name as written and in snake_case. Throws SecretPolicyError when it is not a regular expression.
   */
  static fromInventory(inventoryVars: Dict): SecretPolicy {
    const extra = inventoryVars[EXTRA_SECRET_NAME_VAR];
    if (extra === undefined || extra === null || extra === '') return new SecretPolicy();
    try {
      return new SecretPolicy({ extraSecretName: new RegExp(String(extra), 'i') });
    } catch (e) {
      throw new SecretPolicyError(`${EXTRA_SECRET_NAME_VAR} is not a valid regular expression: ${(e as Error).message}`);
    }
  }

  /** Whether a value stored under `name` is secret. */
  isSecretName(name: string): boolean {
    return this.classify(name).secret;
  }

  /** Whether `name` holds a name, reference, path or setting even though it looks secret (`secret_name`). */
  isNotSecretName(name: string): boolean {
    return this.classify(name).notSecret;
  }

  /**
   * Whether the value of `key` inside `parent` is secret: by its name, or as the data of a Kubernetes Secret.
   * Inside a secret value (a mapping under a secret name), every entry is secret except names/references.
   */
  isSecretEntry(parent: Dict, key: string): boolean {
    if (this.isSecretName(key)) return true;
    return parent.kind === 'Secret' && (key === 'data' || key === 'stringData');
  }

  /**
   * Every string inside a secret value (a whole mapping or list under a secret name), skipping entries whose names
   * are names or references. Safe on cycles.
   */
  secretStrings(value: unknown, visit: (s: string) => void, seen = new Set<object>()): void {
    if (typeof value === 'string') {
      if (value) visit(value);
      return;
    }
    // `db_password: 12345678` is a YAML number, and prints as its digits when templated.
    if (typeof value === 'number' || typeof value === 'bigint') {
      if (typeof value === 'bigint' || Number.isFinite(value)) visit(String(value));
      return;
    }
    if (value === null || typeof value !== 'object' || seen.has(value)) return;
    seen.add(value);
    if (Array.isArray(value)) for (const v of value) this.secretStrings(v, visit, seen);
    else for (const [k, v] of Object.entries(value)) if (!this.isNotSecretName(k)) this.secretStrings(v, visit, seen);
  }

  /**
   * The secret strings inside a plain value by the names within it (a registered result: its `token`, the data of
   * a Secret it returned), not by the name the value itself is stored under.
   */
  innerSecrets(value: unknown, visit: (s: string) => void): void {
    for (const path of this.secretPaths(value)) {
      let v: unknown = value;
      for (const segment of path) v = v === null || typeof v !== 'object' ? undefined : (v as Dict)[segment as string];
      this.secretStrings(v, visit);
    }
  }

  /**
   * The paths (from the top of `values`) of every value stored under a secret name, found without reading
   * anything else: callers whose values render on read (variable scopes) read only these paths.
   */
  secretPaths(values: unknown, prefix: (string | number)[] = [], seen = new Set<object>()): (string | number)[][] {
    const out: (string | number)[][] = [];
    this.collectSecretPaths(values, [...prefix], seen, out);
    return out;
  }

  /**
   * secretPaths' walk: one path array, extended and shortened in place and copied only for a path found. Leaves
   * are not visited: every host's variables hold `groups` (all inventory hosts), and a prefix copied per name
   * made the walk of 256 hosts allocate 65,536 arrays.
   */
  private collectSecretPaths(values: unknown, path: (string | number)[], seen: Set<object>, out: (string | number)[][]): void {
    if (values === null || typeof values !== 'object' || seen.has(values)) return;
    seen.add(values);
    if (Array.isArray(values)) {
      for (let i = 0; i < values.length; i++) {
        const v: unknown = values[i];
        if (v === null || typeof v !== 'object') continue;
        path.push(i);
        this.collectSecretPaths(v, path, seen, out);
        path.pop();
      }
      return;
    }
    for (const k of Object.keys(values)) {
      if (this.isSecretEntry(values as Dict, k)) {
        out.push([...path, k]);
        continue;
      }
      const v = (values as Dict)[k];
      if (v === null || typeof v !== 'object') continue;
      path.push(k);
      this.collectSecretPaths(v, path, seen, out);
      path.pop();
    }
  }

  /**
   * Every secret string of a variable scope whose values render on read: the secret paths are found in `sources`
   * (the raw layers the scope was built from: inventory, play, role and task vars, facts, extra vars) and only
   * those are read from `scope`, so nothing else renders early. A value that does not render is skipped: the
   * task that uses it reports why.
   */
  scopeSecrets(sources: readonly unknown[], scope: Dict, visit: (s: string) => void): void {
    for (const source of sources) {
      for (const path of this.secretPaths(source)) {
        let value: unknown = scope;
        try {
          for (const segment of path) value = value === null || typeof value !== 'object' ? undefined : (value as Dict)[segment as string];
        } catch {
          continue;
        }
        this.secretStrings(value, visit);
      }
    }
  }

  private classify(name: string): { secret: boolean; notSecret: boolean } {
    let c = this.classes.get(name);
    if (!c) {
      const snake = snakeCase(name);
      const notSecret = this.notSecretName.test(snake);
      c = { secret: !notSecret && (this.secretName.test(snake) || this.secretName.test(name)), notSecret };
      this.classes.set(name, c);
    }
    return c;
  }
}

/** clientKeyData, client-key-data, "X-Api-Key" → client_key_data, x_api_key. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[-.\s]/g, '_')
    .toLowerCase();
}

/** The policy of code that has no inventory (tests, tools): the defaults only. */
export const defaultSecretPolicy = new SecretPolicy();
