// The differential parity runner: each case under test/parity/cases/<name>/ is a small self-checking
// playbook (playbook.yml, optional case.json) run under real ansible-playbook and under meshplay's built CLI.
// What is compared: the exit code, every host's PLAY RECAP counts, and the files the case wrote into
// $PARITY_OUT (e.g. `{{ x | to_json }}`), byte for byte. Expectations are recorded from Ansible into each
// case's expected.json (`npm run parity:record`), never written by hand; the test re-verifies them against
// the installed Ansible so they cannot drift.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { createHash } from 'node:crypto';
import { cliPath, repoRoot } from './cli.js';

export const parityDir = join(repoRoot, 'test', 'parity');
export const casesDir = join(parityDir, 'cases');
export const ANSIBLE = process.env.PARITY_ANSIBLE ?? '/usr/bin/ansible-playbook';
/** The ansible-core release the recordings come from; a different one must be re-recorded on purpose. */
export const ANSIBLE_VERSION = '2.14.18';

export type Recap = Record<string, Record<string, number>>;

/** What a run produced, as compared between the two tools. */
export interface Outcome {
  exit: number;
  recap: Recap;
  files: Record<string, string>;
}

export interface Recording extends Outcome {
  ansible: string;
  /** Recorded with ANSIBLE_JINJA2_NATIVE=True (the case's jinja2_native). */
  jinja2_native?: boolean;
  /** sha256 of the case's inputs when recorded: an edited case must be re-recorded. */
  inputs: string;
}

export interface CaseSpec {
  /** Extra command-line arguments given to both tools (-e, --tags, --start-at-task, ...). */
  args?: string[];
  /** Environment variables for both tools. */
  env?: Record<string, string>;
  /** What the case checks, in one line. */
  about?: string;
  /**
   * The case is about how templates yield types: meshplay keeps native types, as Ansible does with
   * jinja2_native (ANSIBLE_JINJA2_NATIVE=True), so Ansible's side runs in that mode (and the recording says so).
   */
  jinja2_native?: boolean;
  /**
   * A deliberate difference: meshplay reports before anything runs, with this exit code (4), a problem that
   * Ansible meets only at run time. `problem` is a piece of meshplay's error message.
   */
  meshplay?: { exit: number; problem: string; why: string };
}

/**
 * Differences meshplay still has (defects not fixed yet, or kept on purpose: their reason starts "kept on purpose"
 * and deliberate-answers.json pins meshplay's answer), in one explicit list, test/parity/known-differences.json
 * (case name -> reason), also written into the README's "Differences from Ansible". The test reports each by
 * name while it differs, fails when a case outside the list differs, and fails once a listed case matches (its
 * entry must then go). A silently green run (Ansible fails, meshplay exits 0) is never excused by the list.
 */
export const knownDifferencesFile = join(parityDir, 'known-differences.json');
export function knownDifferences(): Record<string, string> {
  return existsSync(knownDifferencesFile) ? (JSON.parse(readFileSync(knownDifferencesFile, 'utf8')) as Record<string, string>) : {};
}

/**
 * What meshplay writes instead, for a difference kept on purpose (test/parity/deliberate-answers.json: case ->
 * file -> text). Such a case is checked exactly: Ansible's exit code and recap, these files.
 */
export const deliberateAnswersFile = join(parityDir, 'deliberate-answers.json');
export function deliberateAnswers(): Record<string, Record<string, string>> {
  return existsSync(deliberateAnswersFile) ? (JSON.parse(readFileSync(deliberateAnswersFile, 'utf8')) as Record<string, Record<string, string>>) : {};
}

/** How meshplay's run departs from the declared deliberate answer (empty: it is exactly that answer). */
export function deliberateVerdict(c: ParityCase, actual: RunResult, files: Record<string, string>): string[] {
  if (!c.expected) return ['no recording: run `npm run parity:record`'];
  return compare({ ...c.expected, files }, actual).map((d) => `deliberate answer: ${d}`);
}

export interface ParityCase {
  name: string;
  dir: string;
  spec: CaseSpec;
  expected?: Recording;
}

export function loadCases(filter?: RegExp): ParityCase[] {
  return readdirSync(casesDir)
    .filter((n) => statSync(join(casesDir, n)).isDirectory() && (!filter || filter.test(n)))
    .sort()
    .map((name) => {
      const dir = join(casesDir, name);
      const specFile = join(dir, 'case.json');
      const expFile = join(dir, 'expected.json');
      return {
        name,
        dir,
        spec: existsSync(specFile) ? (JSON.parse(readFileSync(specFile, 'utf8')) as CaseSpec) : {},
        expected: existsSync(expFile) ? (JSON.parse(readFileSync(expFile, 'utf8')) as Recording) : undefined,
      };
    });
}

interface Proc {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv, timeoutMs = 900_000): Promise<Proc> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

function readOut(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    // The output directory differs between runs: it reads as $PARITY_OUT in what is compared.
    if (statSync(p).isFile()) files[n] = readFileSync(p, 'utf8').split(dir).join('$PARITY_OUT');
  }
  return files;
}

/** Hosts with no counted result at all are left out on both sides (Ansible lists only hosts it processed). */
function dropEmpty(recap: Recap): Recap {
  const out: Recap = {};
  for (const h of Object.keys(recap).sort()) if (Object.values(recap[h]).some((n) => n !== 0)) out[h] = recap[h];
  return out;
}

const FIELDS = ['ok', 'changed', 'unreachable', 'failed', 'skipped', 'rescued', 'ignored'];

export function parseAnsibleRecap(stdout: string): Recap {
  const recap: Recap = {};
  const at = stdout.lastIndexOf('PLAY RECAP');
  if (at < 0) return recap;
  for (const line of stdout.slice(at).split('\n')) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line);
    if (!m) continue;
    const counts: Record<string, number> = {};
    for (const f of FIELDS) counts[f] = Number(new RegExp(`\\b${f}=(\\d+)`).exec(m[2])?.[1] ?? 0);
    recap[m[1]] = counts;
  }
  return dropEmpty(recap);
}

export interface RunResult extends Outcome {
  log: string;
}

async function withOut<T>(fn: (out: string) => Promise<T>): Promise<T> {
  const out = mkdtempSync(join(tmpdir(), 'parity-'));
  try {
    return await fn(out);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

export function runAnsible(c: ParityCase): Promise<RunResult> {
  return withOut(async (out) => {
    const env = {
      ...process.env,
      ...c.spec.env,
      PARITY_OUT: out,
      ANSIBLE_CONFIG: join(parityDir, 'ansible.cfg'),
      ANSIBLE_LOCAL_TEMP: join(out, '.ansible-local'),
      ANSIBLE_REMOTE_TEMP: join(out, '.ansible-remote'),
      ANSIBLE_ROLES_PATH: join(c.dir, 'roles'),
      ...(c.spec.jinja2_native ? { ANSIBLE_JINJA2_NATIVE: 'True' } : {}),
    };
    const p = await run(ANSIBLE, ['-i', join(parityDir, 'inventory.ini'), 'playbook.yml', ...(c.spec.args ?? [])], c.dir, env);
    return { exit: p.code, recap: parseAnsibleRecap(p.stdout), files: readOut(out), log: p.stdout + p.stderr };
  });
}

export function runMeshplay(c: ParityCase): Promise<RunResult> {
  return withOut(async (out) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...c.spec.env, PARITY_OUT: out, NO_COLOR: "1" };
    delete env.MESHPLAY_FREEZE_SHARED_RENDERS;
    const p = await run(process.execPath, [cliPath, 'run', 'playbook.yml', '-i', join(parityDir, 'inventory.yml'), '-o', 'ndjson', ...(c.spec.args ?? [])], c.dir, env);
    let recap: Recap = {};
    for (const line of p.stdout.split('\n')) {
      if (!line.startsWith('{"type":"recap"')) continue;
      const stats = (JSON.parse(line) as { stats: Recap }).stats ?? {};
      for (const [h, s] of Object.entries(stats)) recap[h] = Object.fromEntries(FIELDS.map((f) => [f, s[f] ?? 0]));
    }
    recap = dropEmpty(recap);
    return { exit: p.code, recap, files: readOut(out), log: p.stdout + p.stderr };
  });
}

export async function ansibleVersion(): Promise<string | undefined> {
  if (!existsSync(ANSIBLE)) return undefined;
  const p = await run(ANSIBLE, ['--version'], repoRoot, process.env);
  return /core ([\d.]+)/.exec(p.stdout)?.[1];
}

/** Differences between an expected and an actual outcome, as readable lines (empty: they match). */
export function compare(expected: Outcome, actual: Outcome): string[] {
  const diffs: string[] = [];
  if (expected.exit !== actual.exit) diffs.push(`exit code: expected ${expected.exit}, got ${actual.exit}`);
  const hosts = [...new Set([...Object.keys(expected.recap), ...Object.keys(actual.recap)])].sort();
  for (const h of hosts) {
    const e = JSON.stringify(expected.recap[h] ?? null);
    const a = JSON.stringify(actual.recap[h] ?? null);
    if (e !== a) diffs.push(`recap ${h}: expected ${e}, got ${a}`);
  }
  const files = [...new Set([...Object.keys(expected.files), ...Object.keys(actual.files)])].sort();
  for (const f of files) {
    if (expected.files[f] !== actual.files[f]) diffs.push(`file ${f}: expected ${JSON.stringify(expected.files[f] ?? null)}, got ${JSON.stringify(actual.files[f] ?? null)}`);
  }
  return diffs;
}

/**
 * Checks meshplay's outcome against the recording: identical, or, for a declared deliberate difference,
 * the stricter answer: meshplay's declared exit code before any task ran, the declared problem named,
 * and Ansible's recorded run failed too.
 */
export const SILENTLY_GREEN = 'silently green';

export function verdict(c: ParityCase, actual: RunResult): string[] {
  const expected = c.expected;
  if (!expected) return ['no recording: run `npm run parity:record`'];
  if (expected.inputs !== inputsDigest(c)) return ['the case changed since it was recorded: run `npm run parity:record`'];
  if (!!expected.jinja2_native !== !!c.spec.jinja2_native) return ['recorded in another templating mode (jinja2_native): run `npm run parity:record`'];
  const diffs: string[] = [];
  // No silently green run, whatever else the case says.
  if (expected.exit !== 0 && actual.exit === 0) diffs.push(`${SILENTLY_GREEN}: Ansible exits ${expected.exit}, meshplay 0`);
  const d = c.spec.meshplay;
  if (d) {
    if (expected.exit === 0) diffs.push('a declared difference needs a run Ansible fails');
    if (actual.exit !== d.exit) diffs.push(`declared difference: meshplay should exit ${d.exit}, got ${actual.exit}`);
    if (Object.keys(actual.recap).length || Object.keys(actual.files).length) diffs.push('declared difference: meshplay should stop before anything runs');
    if (!actual.log.includes(d.problem)) diffs.push(`declared difference: meshplay's output should name '${d.problem}'`);
    return diffs;
  }
  return [...diffs, ...compare(expected, actual)];
}

export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]);
      }
    }),
  );
  return out;
}

/** A digest of every input file of a case (all but expected.json), so a recording cannot outlive an edit. */
export function inputsDigest(c: ParityCase): string {
  const h = createHash('sha256');
  const walk = (dir: string) => {
    for (const n of readdirSync(dir).sort()) {
      const p = join(dir, n);
      if (statSync(p).isDirectory()) walk(p);
      else if (p === join(c.dir, 'case.json')) {
        // Read as JSON: its layout is not an input of the run.
        h.update(`case.json\0${JSON.stringify(JSON.parse(readFileSync(p, 'utf8')))}\0`);
      } else if (p !== join(c.dir, 'expected.json')) h.update(`${relative(c.dir, p)}\0`).update(readFileSync(p)).update('\0');
    }
  };
  walk(c.dir);
  return h.digest('hex').slice(0, 16);
}

export function record(c: ParityCase, r: RunResult, version: string): Recording {
  const rec: Recording = { ansible: version, ...(c.spec.jinja2_native ? { jinja2_native: true } : {}), inputs: inputsDigest(c), exit: r.exit, recap: r.recap, files: r.files };
  writeFileSync(join(c.dir, 'expected.json'), `${JSON.stringify(rec, null, 2)}\n`);
  return rec;
}
