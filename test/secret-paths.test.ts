// SecretPolicy.secretPaths walks every host's variables before a play: the paths it finds are what scopeSecrets
// reads and registers. Checked against a plain reference walk on seeded random values (cycles, shared objects,
// Kubernetes Secrets, arrays, secret names at every depth), and on the shape that made it costly.
import t from 'tap';
import { seededRandom } from './helpers/random.js';
import { SecretPolicy } from '../runner/secrets/policy.js';

type Path = (string | number)[];

/** The walk as it reads most simply: every entry, a prefix copied per entry. */
function reference(policy: SecretPolicy, values: unknown, prefix: Path = [], seen = new Set<object>()): Path[] {
  if (values === null || typeof values !== 'object' || seen.has(values)) return [];
  seen.add(values);
  const out: Path[] = [];
  const entries: [string | number, unknown][] = Array.isArray(values) ? values.map((v, i) => [i, v]) : Object.entries(values);
  for (const [k, v] of entries) {
    if (typeof k === 'string' && policy.isSecretEntry(values as Record<string, unknown>, k)) out.push([...prefix, k]);
    else out.push(...reference(policy, v, [...prefix, k], seen));
  }
  return out;
}

const NAMES = ['name', 'token', 'password', 'data', 'stringData', 'kind', 'host', 'api_key', 'secret_ref', 'routes', 'x'];

function randomValue(r: () => number, depth: number, pool: object[]): unknown {
  const roll = r();
  if (depth > 4 || roll < 0.3) return [null, 'text', 42, true, undefined][Math.floor(r() * 5)];
  if (roll < 0.38 && pool.length) return pool[Math.floor(r() * pool.length)]; // shared, or a cycle
  if (roll < 0.6) {
    const list: unknown[] = [];
    pool.push(list);
    for (let i = Math.floor(r() * 5); i > 0; i--) list.push(randomValue(r, depth + 1, pool));
    return list;
  }
  const map: Record<string, unknown> = {};
  pool.push(map);
  if (r() < 0.2) map.kind = 'Secret';
  for (let i = Math.floor(r() * 5); i > 0; i--) map[NAMES[Math.floor(r() * NAMES.length)]!] = randomValue(r, depth + 1, pool);
  return map;
}

t.test('the same paths, in the same order, as the reference walk', async (t) => {
  const policy = new SecretPolicy();
  let found = 0;
  for (let seed = 1; seed <= 500; seed++) {
    const value = randomValue(seededRandom(seed), 0, []);
    const expected = reference(policy, value, ['top']);
    found += expected.length;
    t.same(policy.secretPaths(value, ['top']), expected, `seed ${seed}`);
  }
  t.ok(found > 200, `the worlds hold secret paths (${found})`);
});

t.test('a host\'s variables: groups of every host are walked, only the secret path comes back', async (t) => {
  const policy = new SecretPolicy();
  const groups = { all: Array.from({ length: 300 }, (_, i) => `node${i}`), nodes: Array.from({ length: 300 }, (_, i) => `node${i}`) };
  const vars = { groups, cluster: { name: 'east', nodes: [{ name: 'n1', address: '10.0.0.1' }], kubeconfig: { users: [{ user: { token: 'abc' } }] } } };
  t.same(policy.secretPaths(vars), [['cluster', 'kubeconfig', 'users', 0, 'user', 'token']]);
});
