// Property-based fuzzing of everything an operator hands meshplay: inventories, playbooks, roles, vars files,
// templates and command lines. fast-check generates valid cases and cases mutated from valid ones (deleted keys,
// wrong types, misspellings, broken YAML, random bytes, huge values, bad options); each runs through the real
// built CLI (`run --syntax-check`, or `run --check` against localhost) and must:
// - exit 0, 2, 4 or 5: never 250, never killed, never a stack trace;
// - on a validation failure (4, "nothing was run") or a bad option (5): run nothing (the first task touches a
//   marker file, with check_mode: false so it would even under --check) and say where (file:line:column) or
//   which flag;
// - valid cases exit 0 (and under --check the marker proves the run really happened);
// - never print a planted secret (inventory vars, a vars file, -e).
//
// Cost: most cases go through the CLI's batch mode (MESHPLAY_BATCH=1: one process answers many command lines
// through the same guardedMain() a process runs, see runner/cli.ts); every SPAWN_EVERY-th case also runs as its own
// process, which covers exit-code plumbing and crashes that would kill a process, and must agree with the batch.
// CI: a fixed seed and MESHPLAY_FUZZ_CASES (default 2000) cases. Long mode: MESHPLAY_FUZZ_CASES=20000, and
// MESHPLAY_FUZZ_SEED for another seed. A failing case is kept under dist/test/fuzz-failures/ with its command line.
import t from 'tap';
import fc from 'fast-check';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, cpSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cli = join(repo, 'dist', 'bin', 'cli.js');
const SEED = Number(process.env.MESHPLAY_FUZZ_SEED ?? 20261206);
const CASES = Number(process.env.MESHPLAY_FUZZ_CASES ?? 2000);
const SPAWN_EVERY = 8;
const PARALLEL = 2;
const CASE_TIMEOUT = 120_000;

type Files = Record<string, string | Uint8Array>;
interface Case {
  id: number;
  files: Files;
  /** Arguments after `run`; `@DIR@` is replaced by the case directory. */
  args: string[];
  mode: 'syntax' | 'check';
  output: 'plain' | 'json' | 'ndjson';
  secrets: string[];
  mutations: string[];
}
interface Result {
  code: number | null;
  signal?: string | null;
  stdout: string;
  stderr: string;
}

// ---------------------------------------------------------------- generation

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const TASKS: Record<string, Json[]> = {
  debug: [{ name: 'show', debug: { msg: 'db {{ db_password }} in {{ cluster_label }}' } }],
  facts: [
    { name: 'fact', set_fact: { answer: '{{ 40 + 2 }}' } },
    { name: 'check', assert: { that: ['answer | int == 42'] } },
  ],
  loop: [{ name: 'loop', debug: { msg: '{{ item }} of {{ cluster_label }}' }, loop: ['a', 'b', 'c'] }],
  echo: [{ name: 'echo', command: 'echo hi', changed_when: false }],
  notify: [{ name: 'poke', command: 'true', changed_when: true, notify: 'say hi' }],
  when: [{ name: 'skipped', debug: { msg: 'never' }, when: 'cluster_label is defined and cluster_label == "nope"' }],
  block: [{ name: 'guarded', block: [{ debug: { msg: 'in block' } }], rescue: [{ debug: { msg: 'rescued' } }] }],
  template: [{ name: 'render', template: { src: 'greeting.j2', dest: '{{ scratch }}/greeting.txt' } }],
};

const secretArb = fc.stringMatching(/^[A-Za-z0-9]{18}$/).map((s) => `Zq${s}`);

const baseArb = fc.record({
  clusters: fc.integer({ min: 1, max: 3 }),
  nodes: fc.integer({ min: 0, max: 2 }),
  tasks: fc.uniqueArray(fc.constantFrom(...Object.keys(TASKS)), { maxLength: 5 }),
  role: fc.boolean(),
  varsFile: fc.boolean(),
  groupVars: fc.boolean(),
  extra: fc.constantFrom('kv', 'json', 'file', 'none'),
  mode: fc.constantFrom<Case['mode']>('syntax', 'syntax', 'syntax', 'check'),
  output: fc.constantFrom<Case['output']>('plain', 'json', 'ndjson'),
  secrets: fc.tuple(secretArb, secretArb, secretArb),
  label: fc.constantFrom('mesh', 'east-west', 'prod'),
});

const FILE_KINDS = ['playbook.yml', 'inventory.yml', 'vars.yml', 'roles/app/tasks/main.yml', 'roles/app/defaults/main.yml', 'roles/app/handlers/main.yml', 'group_vars/all.yml', 'templates/greeting.j2', 'extra.yml'] as const;
const STRUCTURAL = ['delete', 'wrongType', 'misspell', 'huge', 'badTemplate'] as const;
const TEXTUAL = ['tab', 'dropColon', 'unclosedQuote', 'randomBytes', 'truncate', 'duplicateLine', 'indent', 'aliasBomb', 'deep'] as const;
const CLI = ['unknownFlag', 'badForks', 'missingValue', 'badJson', 'badKv', 'badOutput', 'missingFile', 'dirAsPlaybook', 'badLimit', 'noInventory'] as const;

const mutationArb = fc.record({
  kind: fc.constantFrom(...STRUCTURAL, ...TEXTUAL, ...CLI),
  file: fc.constantFrom(...FILE_KINDS),
  pick: fc.nat(),
  pick2: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }),
});

type MutationT = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;
const caseArb = fc.record({
  base: baseArb,
  // About a quarter of the cases stay valid.
  mutations: fc.oneof({ weight: 1, arbitrary: fc.constant([] as MutationT[]) }, { weight: 3, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }),
});

type Base = typeof baseArb extends fc.Arbitrary<infer B> ? B : never;
type Mutation = typeof mutationArb extends fc.Arbitrary<infer M> ? M : never;

function buildObjects(b: Base): Record<string, Json> {
  const clusters: Json[] = [];
  for (let c = 0; c < b.clusters; c++) {
    const name = ['east', 'west', 'north'][c];
    const nodes: Json[] = [];
    for (let n = 0; n < b.nodes; n++) nodes.push({ name: `${name}-${n + 1}`, address: `127.0.${c + 1}.${n + 1}`, ssh: { port: 1 } });
    clusters.push({ name, ...(c === 0 ? { istio_control_plane: true } : {}), pod_cidr: `10.${c + 1}.0.0/16`, service_cidr: `10.${96 + c}.0.0/16`, nodes });
  }
  const tasks: Json[] = [{ name: 'touch the marker', command: 'touch {{ marker }}', check_mode: false }];
  for (const k of b.tasks) tasks.push(...(structuredClone(TASKS[k]) as Json[]));
  const play: Record<string, Json> = {
    name: 'fuzzed play',
    hosts: 'localhost',
    gather_facts: false,
    vars: { cluster_label: b.label },
    tasks,
    handlers: [{ name: 'say hi', debug: { msg: 'hi' } }],
  };
  if (b.varsFile) play.vars_files = ['vars.yml'];
  if (b.role) play.roles = ['app'];
  const objects: Record<string, Json> = {
    'playbook.yml': [play],
    'inventory.yml': { clusters, vars: { db_password: b.secrets[0], mesh_name: 'fuzz' } },
  };
  if (b.varsFile) objects['vars.yml'] = { api_token: b.secrets[1], region: 'eu' };
  if (b.role) {
    objects['roles/app/tasks/main.yml'] = [{ name: 'role task', debug: { msg: '{{ app_port }}' }, notify: 'restart app' }];
    objects['roles/app/defaults/main.yml'] = { app_port: 8080 };
    objects['roles/app/handlers/main.yml'] = [{ name: 'restart app', debug: { msg: 'restarted' } }];
  }
  if (b.groupVars) objects['group_vars/all.yml'] = { greeting: 'hello' };
  if (b.extra === 'file') objects['extra.yml'] = { admin_password: b.secrets[2] };
  return objects;
}

/** Every path inside a value, for picking what a mutation touches. */
function paths(v: Json, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  if (Array.isArray(v)) v.forEach((x, i) => (out.push([...at, i]), paths(x, [...at, i], out)));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) (out.push([...at, k]), paths(x, [...at, k], out));
  return out;
}

function parentOf(root: Json, path: (string | number)[]): { parent: Json[] | Record<string, Json>; key: string | number } {
  let v: Json = root;
  for (const s of path.slice(0, -1)) v = (v as Record<string, Json>)[s as string];
  return { parent: v as Record<string, Json>, key: path[path.length - 1] };
}

const SECRET_KEYS = new Set(['db_password', 'api_token', 'admin_password']);
const WRONG: Json[] = [42, -1, 3.5, true, null, [], {}, ['x', 1], { a: { b: 'c' } }, 'x', '', '{{ nope }}', '10.0.0.0/33', 'UPPER_case'];

function misspell(s: string, n: number): string {
  if (s.length < 2) return `${s}x`;
  const i = n % (s.length - 1);
  return [() => s.slice(0, i) + s[i + 1] + s[i] + s.slice(i + 2), () => s.slice(0, i) + s.slice(i + 1), () => `${s}s`, () => s.toUpperCase()][n % 4]();
}

function mutateObject(root: Json, m: Mutation, secrets: string[]): string | undefined {
  const all = paths(root).filter((p) => !SECRET_KEYS.has(String(p[p.length - 1])));
  if (!all.length) return undefined;
  const path = all[m.pick % all.length];
  const { parent, key } = parentOf(root, path);
  const where = path.join('.');
  switch (m.kind) {
    case 'delete':
      if (Array.isArray(parent)) parent.splice(key as number, 1);
      else delete parent[key as string];
      return `delete ${where}`;
    case 'wrongType': {
      const w = WRONG[m.pick2 % WRONG.length];
      (parent as Record<string, Json>)[key as string] = w;
      return `wrongType ${where} = ${JSON.stringify(w)}`;
    }
    case 'misspell': {
      if (Array.isArray(parent) || typeof key !== 'string') {
        const v = (parent as Json[])[key as number];
        if (typeof v === 'string') (parent as Json[])[key as number] = misspell(v, m.pick2);
        return `misspell value ${where}`;
      }
      const entries = Object.entries(parent).map(([k, v]) => [k === key ? misspell(k, m.pick2) : k, v]);
      for (const k of Object.keys(parent)) delete parent[k];
      for (const [k, v] of entries) (parent as Record<string, Json>)[k as string] = v as Json;
      return `misspell key ${where}`;
    }
    case 'huge': {
      const huge: Json[] = ['x'.repeat(200_000), Array.from({ length: 20_000 }, (_, i) => i), Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`k${i}`, i])), 1e308, -0, Number.MAX_SAFE_INTEGER * 1000];
      (parent as Record<string, Json>)[key as string] = huge[m.pick2 % huge.length];
      return `huge ${where}`;
    }
    case 'badTemplate': {
      const bad = ['{{ x | no_such_filter }}', '{{ undefined_thing }}', '{{ 1 +  }}', '{% if %}', '{{ lookup("no_such_lookup", "a") }}', '{{ x is no_such_test }}', `{{ "${secrets[0].slice(0, 4)}" | bogus }}`, '{{ (((((((((( 1 ))))))))) }}', '{{ range(10**9) | list }}', `{{ db_password | b64decode }}`];
      (parent as Record<string, Json>)[key as string] = bad[m.pick2 % bad.length];
      return `badTemplate ${where}`;
    }
  }
  return undefined;
}

function mutateText(text: string, m: Mutation): { text: string | Uint8Array; what: string } {
  const lines = text.split('\n');
  const li = m.pick % Math.max(1, lines.length);
  switch (m.kind) {
    case 'tab':
      lines[li] = `\t${lines[li]}`;
      return { text: lines.join('\n'), what: `tab at line ${li + 1}` };
    case 'dropColon':
      lines[li] = lines[li].replace(':', '');
      return { text: lines.join('\n'), what: `drop colon line ${li + 1}` };
    case 'unclosedQuote':
      lines[li] = lines[li].replace(/: /, ': "');
      return { text: lines.join('\n'), what: `unclosed quote line ${li + 1}` };
    case 'randomBytes': {
      const buf = Buffer.from(text, 'utf8');
      const at = m.pick2 % (buf.length + 1);
      return { text: Buffer.concat([buf.subarray(0, at), Buffer.from(m.bytes), buf.subarray(at)]), what: `bytes ${Buffer.from(m.bytes).toString('hex')} at ${at}` };
    }
    case 'truncate': {
      const at = m.pick2 % (text.length + 1);
      return { text: text.slice(0, at), what: `truncate at ${at}` };
    }
    case 'duplicateLine':
      lines.splice(li, 0, lines[li]);
      return { text: lines.join('\n'), what: `duplicate line ${li + 1}` };
    case 'indent':
      lines[li] = ` ${lines[li]}`;
      return { text: lines.join('\n'), what: `indent line ${li + 1}` };
    case 'aliasBomb': {
      const bomb = ['bomb0: &b0 [x, x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 8 }, (_, i) => `bomb${i + 1}: &b${i + 1} [${Array(10).fill(`*b${i}`).join(', ')}]`)];
      return { text: `${bomb.join('\n')}\n${text}`, what: 'alias bomb' };
    }
    case 'deep':
      return { text: `${text}\n# deep\n${'['.repeat(5000)}${']'.repeat(5000)}\n`, what: 'deep nesting' };
  }
  return { text, what: 'none' };
}

function mutateArgs(args: string[], m: Mutation, secret: string): string {
  switch (m.kind) {
    case 'unknownFlag':
      args.push(['--chekc', '--frobnicate', '-Z', '--limit-hosts=all'][m.pick2 % 4]);
      return 'unknown flag';
    case 'badForks':
      args.push('-f', ['0', '-3', 'many', '1e9', ''][m.pick2 % 5]);
      return 'bad forks';
    case 'missingValue':
      args.push(['-i', '-e', '--limit', '--output', '--tags'][m.pick2 % 5]);
      return 'missing value';
    case 'badJson':
      args.push('-e', `{"admin_password": "${secret}", broken`);
      return 'bad json extra vars';
    case 'badKv':
      args.push('-e', `admin_password ${secret}`);
      return 'bad key=value extra vars';
    case 'badOutput':
      args.push('--output', 'xml');
      return 'bad output';
    case 'missingFile':
      args.push('-e', '@@DIR@/no-such-file.yml');
      return 'missing -e file';
    case 'dirAsPlaybook':
      args.unshift('@DIR@/roles');
      return 'a folder as a playbook';
    case 'badLimit':
      args.push('--limit', ['nodes:&', 'all:!', '~[', ':::', 'nosuchhost'][m.pick2 % 5]);
      return 'bad limit';
    case 'noInventory': {
      const i = args.indexOf('-i');
      if (i >= 0) args.splice(i, 2);
      return 'no inventory';
    }
  }
  return 'none';
}

function buildCase(id: number, g: { base: Base; mutations: Mutation[] }): Case {
  const b = g.base;
  const objects = buildObjects(b);
  const mutations: string[] = [];
  const textMutations: Mutation[] = [];
  const args = ['@DIR@/playbook.yml', '-i', '@DIR@/inventory.yml', '-e', 'marker=@DIR@/marker', '-e', 'scratch=@DIR@'];
  if (b.extra === 'kv') args.push('-e', `admin_password=${b.secrets[2]}`);
  if (b.extra === 'json') args.push('-e', JSON.stringify({ admin_password: b.secrets[2] }));
  if (b.extra === 'file') args.push('-e', '@@DIR@/extra.yml');
  for (const m of g.mutations) {
    if ((STRUCTURAL as readonly string[]).includes(m.kind)) {
      const target = objects[m.file] ?? objects['playbook.yml'];
      const what = mutateObject(target, m, b.secrets);
      if (what) mutations.push(`${m.file in objects ? m.file : 'playbook.yml'}: ${what}`);
    } else if ((TEXTUAL as readonly string[]).includes(m.kind)) textMutations.push(m);
    else mutations.push(mutateArgs(args, m, b.secrets[2]));
  }
  const files: Files = {};
  for (const [f, v] of Object.entries(objects)) files[f] = stringify(v, { lineWidth: 0 });
  if (b.tasks.includes('template')) files['templates/greeting.j2'] = 'Hello {{ cluster_label | upper }} from {{ inventory_hostname }}\n{% for x in [1, 2] %}{{ x }}{% endfor %}\n';
  for (const m of textMutations) {
    const f = m.file in files ? m.file : 'playbook.yml';
    const text = files[f];
    const r = mutateText(typeof text === 'string' ? text : Buffer.from(text).toString('latin1'), m);
    files[f] = r.text;
    mutations.push(`${f}: ${r.what}`);
  }
  args.push('--output', b.output, b.mode === 'syntax' ? '--syntax-check' : '--check');
  return { id, files, args, mode: b.mode, output: b.output, secrets: b.secrets, mutations };
}

// ---------------------------------------------------------------- running

function writeCase(c: Case, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(c.files)) {
    mkdirSync(dirname(join(dir, f)), { recursive: true });
    writeFileSync(join(dir, f), content);
  }
  return ['run', ...c.args.map((a) => a.replaceAll('@DIR@', dir))];
}

class BatchWorker {
  private child?: ChildProcessWithoutNullStreams;
  private lines: string[] = [];
  private waiter?: (line: string | undefined) => void;

  private start(): ChildProcessWithoutNullStreams {
    const child = spawn(process.execPath, [cli], { cwd: repo, env: { ...process.env, MESHPLAY_BATCH: '1', NO_COLOR: '1', CI: '1' } });
    child.stderr.resume();
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (this.waiter) {
        const w = this.waiter;
        this.waiter = undefined;
        w(l);
      } else this.lines.push(l);
    });
    child.on('exit', () => {
      if (this.child === child) this.child = undefined;
      const w = this.waiter;
      this.waiter = undefined;
      w?.(undefined);
    });
    return child;
  }

  async run(argv: string[]): Promise<Result> {
    const child = (this.child ??= this.start());
    const answer = new Promise<string | undefined>((r) => (this.waiter = r));
    child.stdin.write(`${JSON.stringify({ argv })}\n`);
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT);
    const line = this.lines.shift() ?? (await answer);
    clearTimeout(timer);
    if (line === undefined) return { code: null, signal: 'batch process died', stdout: '', stderr: '' };
    return JSON.parse(line) as Result;
  }

  stop() {
    this.child?.stdin.end();
  }
}

function runProcess(argv: string[]): Promise<Result> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [cli, ...argv], { cwd: repo, env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), CASE_TIMEOUT);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done({ code, signal, stdout, stderr });
    });
  });
}

const STACK = /^\s+at .+:\d+:\d+\)?$/m;
const PLACE = /[^\s'"(]+:\d+:\d+/;
const FLAG = /(^|[\s'"(])--?[A-Za-z]/m;

/** What is wrong with one result (empty when the properties hold). */
function violations(c: Case, r: Result, markerRan: boolean): string[] {
  const out: string[] = [];
  const all = `${r.stdout}\n${r.stderr}`;
  if (r.code === null || ![0, 2, 4, 5].includes(r.code)) out.push(`exit ${r.code} ${r.signal ?? ''}`);
  if (STACK.test(all) || /internal error/.test(all)) out.push('a stack trace or internal error');
  for (const s of c.secrets) if (all.includes(s)) out.push(`the planted secret ${s} is in the output`);
  const validation = r.code === 4 && (/nothing was run/.test(r.stderr) || /"reason":"validation"/.test(r.stdout));
  if (validation || r.code === 5) {
    if (markerRan) out.push(`exit ${r.code} but the marker task ran`);
    if (r.code === 4 && !PLACE.test(all)) out.push('exit 4 without a file:line:column');
    if (r.code === 5 && !FLAG.test(r.stderr) && !PLACE.test(r.stderr)) out.push('exit 5 without naming the flag');
  }
  if (!c.mutations.length) {
    if (r.code !== 0) out.push(`a valid case exited ${r.code}`);
    if (c.mode === 'check' && !markerRan) out.push('a valid --check run did not run the marker task');
  }
  return out;
}

const samples = fc.sample(caseArb, { seed: SEED, numRuns: CASES }).map((g, i) => buildCase(i, g));
const root = mkdtempSync(join(tmpdir(), 'meshplay-fuzz-'));
const failuresDir = join(repo, 'dist', 'test', 'fuzz-failures');

t.setTimeout(0);
t.ok(existsSync(cli), 'the CLI is built');

t.test(`${CASES} generated cases (seed ${SEED}; ${Math.ceil(CASES / SPAWN_EVERY)} also as separate processes)`, async (tt) => {
  const workers = Array.from({ length: PARALLEL }, () => new BatchWorker());
  const failures: { c: Case; problems: string[]; argv: string[]; r: Result; dir: string }[] = [];
  const stats = { valid: 0, codes: new Map<number | null, number>(), spawned: 0 };
  let next = 0;
  const started = Date.now();
  const work = async (w: BatchWorker) => {
    while (next < samples.length) {
      const c = samples[next++];
      const dir = join(root, String(c.id));
      const argv = writeCase(c, dir);
      const r = await w.run(argv);
      const marker = join(dir, 'marker');
      const problems = violations(c, r, existsSync(marker)).map((p) => `batch: ${p}`);
      if (c.id % SPAWN_EVERY === 0) {
        rmSync(marker, { force: true });
        const p = await runProcess(argv);
        stats.spawned++;
        problems.push(...violations(c, p, existsSync(marker)).map((x) => `process: ${x}`));
        if (p.code !== r.code) problems.push(`the process exited ${p.code}, the batch ${r.code}`);
      }
      stats.codes.set(r.code, (stats.codes.get(r.code) ?? 0) + 1);
      if (!c.mutations.length) stats.valid++;
      if (problems.length) failures.push({ c, problems, argv, r, dir });
      else rmSync(dir, { recursive: true, force: true });
    }
  };
  await Promise.all(workers.map(work));
  workers.forEach((w) => w.stop());
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  tt.comment(`${samples.length} cases in ${seconds} s: ${stats.valid} valid, exit codes ${JSON.stringify(Object.fromEntries(stats.codes))}, ${stats.spawned} as separate processes`);
  tt.ok(stats.valid >= samples.length / 10, `at least a tenth of the cases are valid (${stats.valid})`);
  tt.ok((stats.codes.get(4) ?? 0) > 0 && (stats.codes.get(5) ?? 0) > 0 && (stats.codes.get(0) ?? 0) > 0, 'cases reach exit 0, 4 and 5');
  for (const f of failures.slice(0, 25)) {
    const keep = join(failuresDir, String(f.c.id));
    rmSync(keep, { recursive: true, force: true });
    mkdirSync(dirname(keep), { recursive: true });
    cpSync(f.dir, keep, { recursive: true });
    writeFileSync(join(keep, 'command.json'), JSON.stringify({ argv: f.argv, mutations: f.c.mutations }, null, 2));
    tt.fail(`case ${f.c.id} (${f.c.mutations.join('; ') || 'valid'}): ${f.problems.join('; ')}\nkept in ${keep}\nexit ${f.r.code}\nstderr: ${f.r.stderr.slice(0, 2000)}\nstdout: ${f.r.stdout.slice(0, 2000)}`);
  }
  tt.equal(failures.length, 0, `no case broke a property (${failures.length} did)`);
});

t.teardown(() => rmSync(root, { recursive: true, force: true }));
