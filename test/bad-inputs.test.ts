// The bad-input corpus: every directory under test/bad-inputs/ holds a playbook and an inventory with
// one kind of mistake (or several), and expected.yml saying which problems `meshplay run` must report,
// where (file:line:column) and with what words. Each run must exit 4, report every problem at once,
// and run nothing: the first task of every playbook touches a marker file that must not appear.
// Where expected.yml says `ansible: fails` or `ansible: accepts`, the same playbook also goes to the real
// ansible-playbook (against localhost): `fails` means Ansible refuses it too (usually only after running the
// marker task), so meshplay is not refusing what Ansible would run; `accepts` records where meshplay is
// deliberately stricter, or a valid case Ansible runs as well.
import t, { type Test } from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// Compiled to dist/test/, so the repository is two levels up.
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const casesDir = join(repo, 'test', 'bad-inputs');
const cli = join(repo, 'dist', 'bin', 'cli.js');
const PARALLEL = 4;
const SUMMARY = /^(\d+) problem\(s\) found; nothing was run\.$/m;

interface Position {
  file: string;
  line: number;
  column: number;
}

interface ExpectedProblem extends Position {
  /** A substring of the problem's message. */
  message: string;
  /** A substring of its "(expected ...)" part. */
  expected?: string;
  /** Other places the message must name as file:line:column (e.g. the other control planes). */
  mentions?: (Position & { name?: string })[];
}

interface CaseSpec {
  description: string;
  /** Exact number of problems, when the case pins it. */
  count?: number;
  outputs?: Output[];
  /** What to pass to -i, relative to the case directory (default inventory.yml). */
  inventory?: string;
  /** The control case: valid inputs that must run and touch the marker. */
  valid?: boolean;
  /** What the real ansible-playbook does with the same playbook against localhost (the oracle). */
  ansible?: 'fails' | 'accepts';
  problems: ExpectedProblem[];
}

type Output = 'plain' | 'ndjson' | 'json';

/** One reported problem, parsed back from `file:line:column: message (expected ...)`. */
interface Reported extends Position {
  text: string;
}

interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Files the run left in its scratch directory (the marker, or `<marker>.copy`). */
  leftovers: string[];
  error?: string;
}

const PROBLEM_LINE = /^(.+?):(\d+):(\d+): (.*)$/s;

function parseProblem(s: string): Reported | undefined {
  const m = PROBLEM_LINE.exec(s);
  if (!m) return undefined;
  return { file: resolve(repo, m[1]), line: Number(m[2]), column: Number(m[3]), text: m[4] };
}

/** `file:line:column` places named inside a message, with files resolved. */
function placesIn(text: string): Position[] {
  return [...text.matchAll(/([^\s'"(),]+):(\d+):(\d+)/g)].map((m) => ({ file: resolve(repo, m[1]), line: Number(m[2]), column: Number(m[3]) }));
}

const where = (p: Position) => `${relative(repo, p.file)}:${p.line}:${p.column}`;

// At most PARALLEL CLI processes at a time: the machine has two cores shared with other work.
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(fn: () => Promise<T>): Promise<T> {
  if (running >= PARALLEL) await new Promise<void>((r) => waiting.push(r));
  running++;
  try {
    return await fn();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

function runCli(caseDir: string, inventory: string, output: Output): Promise<RunResult> {
  return limited(
    () =>
      new Promise<RunResult>((done) => {
        const scratch = mkdtempSync(join(tmpdir(), 'meshplay-bad-input-'));
        const marker = join(scratch, 'marker');
        const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', CI: '1' };
        delete env.MESHPLAY_TEST_UNSET_VAR;
        const args = [cli, 'run', relative(repo, join(caseDir, 'playbook.yml')), '-i', relative(repo, join(caseDir, inventory)), '-e', `marker=${marker}`, '--output', output];
        const child = spawn(process.execPath, args, { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        const finish = (code: number | null, signal: NodeJS.Signals | null, error?: string) => {
          clearTimeout(timer);
          const leftovers = readdirSync(scratch);
          rmSync(scratch, { recursive: true, force: true });
          done({ code, signal, stdout, stderr, leftovers, error });
        };
        child.on('error', (e) => finish(null, null, e.message));
        child.on('close', (code, signal) => finish(code, signal));
      }),
  );
}

function runAnsible(caseDir: string): Promise<RunResult> {
  return limited(
    () =>
      new Promise<RunResult>((done) => {
        const scratch = mkdtempSync(join(tmpdir(), 'meshplay-bad-input-ansible-'));
        const args = ['-i', 'localhost,', '-c', 'local', 'playbook.yml', '-e', `marker=${join(scratch, 'marker')}`];
        const env: NodeJS.ProcessEnv = {
          ...process.env, ANSIBLE_NOCOLOR: '1', ANSIBLE_LOCALHOST_WARNING: 'false', ANSIBLE_PYTHON_INTERPRETER: '/usr/bin/python3',
          ANSIBLE_RETRY_FILES_ENABLED: 'false', ANSIBLE_LOCAL_TEMP: join(scratch, 'tmp'), ANSIBLE_HOME: join(scratch, 'home'),
        };
        const child = spawn('ansible-playbook', args, { cwd: caseDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (b: Buffer) => (stdout += b));
        child.stderr.on('data', (b: Buffer) => (stderr += b));
        const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
        const finish = (code: number | null, signal: NodeJS.Signals | null, error?: string) => {
          clearTimeout(timer);
          const leftovers = readdirSync(scratch);
          rmSync(scratch, { recursive: true, force: true });
          done({ code, signal, stdout, stderr, leftovers, error });
        };
        child.on('error', (e) => finish(null, null, e.message));
        child.on('close', (code, signal) => finish(code, signal));
      }),
  );
}

/** The reported problem that matches an expected one, if any. */
function find(reported: Reported[], exp: ExpectedProblem, caseDir: string): Reported | undefined {
  const file = resolve(caseDir, exp.file);
  return reported.find((r) => r.file === file && r.line === exp.line && r.column === exp.column && r.text.includes(exp.message) && (!exp.expected || r.text.includes(exp.expected)));
}

function checkProblems(tt: Test, reported: Reported[], spec: CaseSpec, caseDir: string, via: string) {
  const listing = reported.map((r) => `  ${where(r)}: ${r.text}`).join('\n') || '  (none)';
  if (spec.count !== undefined) tt.equal(reported.length, spec.count, `${via}: exactly ${spec.count} problem(s)\n${listing}`);
  for (const exp of spec.problems) {
    const hit = find(reported, exp, caseDir);
    tt.ok(hit, `${via}: reports ${exp.file}:${exp.line}:${exp.column} "${exp.message}"${exp.expected ? ` (expected ...${exp.expected}...)` : ''}\nreported:\n${listing}`);
    if (!hit) continue;
    const places = placesIn(hit.text);
    for (const m of exp.mentions ?? []) {
      const file = resolve(caseDir, m.file);
      tt.ok(
        places.some((p) => p.file === file && p.line === m.line && p.column === m.column),
        `${via}: the message names ${m.file}:${m.line}:${m.column}${m.name ? ` (${m.name})` : ''}: ${hit.text}`,
      );
      if (m.name) tt.match(hit.text, `'${m.name}'`, `${via}: the message names '${m.name}'`);
    }
  }
}

function checkPlain(tt: Test, r: RunResult, spec: CaseSpec, caseDir: string) {
  const errorLines = r.stderr.split('\n').filter((l) => l.startsWith('ERROR: '));
  const reported = errorLines.map((l) => parseProblem(l.slice('ERROR: '.length)));
  tt.ok(reported.every(Boolean), `every ERROR line is file:line:column: message\n${errorLines.join('\n')}`);
  const summary = SUMMARY.exec(r.stderr);
  tt.ok(summary, `summary line "N problem(s) found; nothing was run." on stderr\nstderr:\n${r.stderr}`);
  if (summary) tt.equal(Number(summary[1]), errorLines.length, 'the summary counts every ERROR line');
  tt.notMatch(r.stdout, /PLAY \[|TASK \[|PLAY RECAP/, 'no play, task or recap output');
  checkProblems(tt, reported.filter((p): p is Reported => !!p), spec, caseDir, 'stderr');
}

function checkJson(tt: Test, r: RunResult, spec: CaseSpec, caseDir: string, output: Output) {
  const lines = r.stdout.split('\n').filter((l) => l.trim());
  const records = lines.map((l) => {
    try {
      return JSON.parse(l) as Record<string, unknown>;
    } catch {
      return undefined;
    }
  });
  tt.ok(records.every(Boolean), `${output}: every stdout line is JSON\n${r.stdout}`);
  const recap = records.find((x) => x?.type === 'recap');
  tt.ok(recap, `${output}: a recap record on stdout\n${r.stdout}`);
  if (!recap) return;
  tt.equal(recap.reason, 'validation', `${output}: recap reason is validation`);
  tt.equal(recap.exitCode, 4, `${output}: recap exitCode is 4`);
  tt.notOk(records.some((x) => x?.type !== 'recap'), `${output}: no event besides the recap (nothing ran)`);
  const problems = Array.isArray(recap.problems) ? (recap.problems as unknown[]) : [];
  tt.ok(Array.isArray(recap.problems) && problems.length > 0, `${output}: recap lists the problems`);
  const reported = problems.map((p) => (typeof p === 'string' ? parseProblem(p) : undefined));
  tt.ok(reported.every(Boolean), `${output}: every problem is "file:line:column: message"\n${JSON.stringify(problems, null, 2)}`);
  checkProblems(tt, reported.filter((p): p is Reported => !!p), spec, caseDir, output);
}

const caseNames = readdirSync(casesDir)
  .filter((n) => statSync(join(casesDir, n)).isDirectory())
  .sort();

const cases = caseNames.map((name) => {
  const dir = join(casesDir, name);
  const spec = parse(readFileSync(join(dir, 'expected.yml'), 'utf8')) as CaseSpec;
  const outputs = spec.outputs ?? ['plain'];
  // Start every run now (at most PARALLEL at once); the subtests below await their own.
  const runs = outputs.map((o) => ({ output: o, result: runCli(dir, spec.inventory ?? 'inventory.yml', o) }));
  return { name, dir, spec, runs, ansible: spec.ansible ? runAnsible(dir) : undefined };
});

// Some 150 CLI runs on a shared two-core machine: allow more than tap's 30 s default when run with plain node.
t.setTimeout(600_000);
t.ok(existsSync(cli), `the CLI is built (${relative(repo, cli)})`);
const badCases = cases.filter((c) => !c.spec.valid).length;
t.ok(badCases >= 120, `at least 120 bad-input cases (found ${badCases})`);

for (const c of cases) {
  t.test(`${c.name}: ${c.spec.description}`, async (tt) => {
    for (const { output, result } of c.runs) {
      const r = await result;
      const context = `${output} run of ${c.name}\nexit ${r.code} ${r.signal ?? ''}\nstderr:\n${r.stderr}\nstdout:\n${r.stdout}`;
      tt.notOk(r.error, `the CLI started (${r.error ?? ''})`);
      if (c.spec.valid) {
        tt.equal(r.code, 0, `valid inputs run and exit 0\n${context}`);
        tt.same(r.leftovers, ['marker'], 'the marker task ran (so an absent marker in the other cases means nothing ran)');
        continue;
      }
      tt.equal(r.code, 4, `exit code 4 (validation)\n${context}`);
      tt.notMatch(r.stderr, /internal error/, 'no internal error');
      tt.same(r.leftovers, [], 'nothing ran: the marker (and anything else) was not written');
      if (output === 'plain') checkPlain(tt, r, c.spec, c.dir);
      else checkJson(tt, r, c.spec, c.dir, output);
    }
    if (c.ansible) {
      const a = await c.ansible;
      const context = `ansible-playbook in ${relative(repo, c.dir)}: exit ${a.code} ${a.signal ?? ''}${a.error ? ` (${a.error})` : ''}\n${a.stdout}\n${a.stderr}`;
      if (c.spec.ansible === 'fails') {
        tt.ok(a.code !== 0 && a.code !== null, `the real ansible-playbook refuses this playbook too\n${context}`);
        tt.match(`${a.stdout}\n${a.stderr}`, /ERROR!|FAILED!/, `ansible-playbook reports an error of its own (not a crash of the test)\n${context}`);
      }
      else tt.equal(a.code, 0, `the real ansible-playbook runs this playbook\n${context}`);
    }
  });
}
