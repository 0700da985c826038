// Differential check of runner/template/pyyaml.ts (to_yaml, to_nice_yaml) and float.ts (Python's float repr)
// against the real PyYAML and Python that Ansible runs on: a fixed set of random values, dumped by both with
// the option sets Ansible's filters use, through the dumper Ansible's to_yaml uses (AnsibleDumper is PyYAML's
// CSafeDumper where PyYAML has libyaml). Skipped where no Python with PyYAML and libyaml is installed (CI installs
// ansible-core, which brings it).
import { spawnSync } from 'node:child_process';
import t from 'tap';
import { pyFloatText } from '../runner/template/float.js';
import { pyYamlDump, type DumpOptions } from '../runner/template/pyyaml.js';

function pythonWithYaml(): string | undefined {
  for (const python of ['/usr/bin/python3', 'python3']) {
    const r = spawnSync(python, ['-c', 'import yaml; yaml.CSafeDumper'], { encoding: 'utf8' });
    if (r.status === 0) return python;
  }
  return undefined;
}

let seed = 20261207;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const pick = <T>(items: T[]): T => items[Math.floor(random() * items.length)];

// Strings that exercise PyYAML's choices: implicit types that must be quoted, indicators, whitespace at the
// edges, line breaks, non-ASCII and non-printable characters, long text that folds at the width.
const ATOMS = ['', ' ', 'a', 'yes', 'No', 'on', 'OFF', 'null', '~', '1', '01', '0x1F', '0b11', '1_000', '1.5', '1.', '.5', '1e3',
  '1.0e+3', '.inf', '-.Inf', '.NaN', '12:30:45', '2001-12-14', '2001-12-14 21:59:43.10 -5', '=', '<<', '- a', '-a', '-', 'a: b',
  'a:b', 'a:', 'a #b', 'a#b', '#x', '&x', '*x', '!x', '|', '>', '%p', '@at', '`bt', "it's", '"q"', 'back\\slash', 'l1\nl2',
  'l1\n\nl2', ' lead', 'trail ', 'a\tb', 'tab\t', 'é', 'ü ö', '日本', '😀 x', 'x\u0007y', '\u00a0nb', 'line\n', '\nlead',
  'sp \nbrk', 'brk\n sp', '---', '...x', 'a, b', '[x]', '{y}', '?', '? x', 'key?', 'a'.repeat(130), 'word '.repeat(30).trim(),
  `${'long text with spaces '.repeat(8)}end`, "quoted 'x' ".repeat(10), `${'w'.repeat(90)} ${'v'.repeat(10)}`, 'a\u2028b',
  'a\x85b', `${'Ω'.repeat(50)}${' x '.repeat(20)}`, '\ufeffbom', 'del\x7f'];
const NUMBERS = [0, 7, -1000, 123456789, 0.5, -2.25, 1e-7, 0.0001, 123456.789, 3.14, 1e16 + 0.5, 2.5e-5, 1.5e300, -0.1];

function value(depth: number): unknown {
  const r = random();
  if (depth > 3 || r < 0.45) {
    const s = random();
    if (s < 0.6) return pick(ATOMS);
    if (s < 0.7) return Math.floor(random() * 2000) - 1000;
    if (s < 0.75) return pick([true, false, null]);
    return pick(NUMBERS);
  }
  if (r < 0.7) return Array.from({ length: Math.floor(random() * 4) }, () => value(depth + 1));
  const o: Record<string, unknown> = {};
  for (let i = Math.floor(random() * 4); i > 0; i--) o[`${pick(ATOMS)}${random() < 0.5 ? '' : 'k'}`] = value(depth + 1);
  return o;
}

// Ansible's to_yaml, to_nice_yaml, to_nice_yaml(indent=2, width=40), to_yaml(sort_keys=False): the Python keywords and ours.
const OPTION_SETS: Array<[string, DumpOptions]> = [
  ['dict(default_flow_style=None)', { defaultFlowStyle: null }],
  ['dict(indent=4, default_flow_style=False)', { indent: 4, defaultFlowStyle: false }],
  ['dict(indent=2, default_flow_style=False, width=40)', { indent: 2, defaultFlowStyle: false, width: 40 }],
  ['dict(default_flow_style=None, explicit_start=True)', { defaultFlowStyle: null, explicitStart: true }],
];

const python = pythonWithYaml();

t.test('pyYamlDump writes what PyYAML writes', { skip: python ? false : 'no python3 with PyYAML and libyaml' }, async (t) => {
  const values = Array.from({ length: 1500 }, () => value(0));
  const script = `
import json, sys, yaml
values = json.load(sys.stdin)
options = [${OPTION_SETS.map(([py]) => py).join(', ')}]
json.dump([[yaml.dump(v, Dumper=yaml.CSafeDumper, allow_unicode=True, **o) for o in options] for v in values], sys.stdout)
`;
  const r = spawnSync(python!, ['-c', script], { input: JSON.stringify(values), encoding: 'utf8', maxBuffer: 1 << 28 });
  t.equal(r.status, 0, r.stderr);
  const expected = JSON.parse(r.stdout) as string[][];
  const mismatches: string[] = [];
  values.forEach((v, i) => OPTION_SETS.forEach(([py, options], j) => {
    const got = pyYamlDump(v, options);
    if (got !== expected[i][j]) mismatches.push(`${JSON.stringify(v)} with ${py}: PyYAML ${JSON.stringify(expected[i][j])}, meshplay ${JSON.stringify(got)}`);
  }));
  t.same(mismatches.slice(0, 5), [], `${mismatches.length} of ${values.length * OPTION_SETS.length} dumps differ`);
});

t.test("pyFloatText is Python's repr() of a float", { skip: python ? false : 'no python3' }, async (t) => {
  const numbers = [...NUMBERS, 5, 1e15, 1e16, 1.5e16, 1e22, 0.001, 1e-4, 1e-5, 123.456e-10, Number.MAX_VALUE, Number.MIN_VALUE,
    ...Array.from({ length: 300 }, () => (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20))];
  const r = spawnSync(python!, ['-c', 'import json, sys; print(json.dumps([repr(float(x)) for x in json.load(sys.stdin)]))'], { input: JSON.stringify(numbers), encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  const expected = JSON.parse(r.stdout) as string[];
  const mismatches = numbers.map((n, i) => [n, expected[i], pyFloatText(n)]).filter(([, e, g]) => e !== g);
  t.same(mismatches, [], `${numbers.length} numbers`);
});
