// `meshplay run --check --plan-out FILE` and `meshplay run --plan FILE`: the saved plan around one run
// (runner/plan). Making one: a PlanRecorder sees every task's plan; the file is written, masked, when the check ends
// without a failure. Following one: the plan must be for this playbook, inventory and -e (digests); before the first
// write every fact it was read from is read again, and if one moved nothing is changed (exit 11, each moved fact
// named); then each task may apply only the change the plan holds for it (runner/plan/session.ts).
import { writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ExitCode } from '../errors.js';
import type { Connection } from '../connection/types.js';
import type { Inventory } from '../inventory/types.js';
import type { Redaction } from '../executor/run.js';
import { digestOf, fileDigest, newSalt, readPlanFile, type PlanFile } from '../plan/file.js';
import { PlanFollower, PlanRecorder, type PlanHook } from '../plan/session.js';
import { driftedFacts } from '../plan/fingerprints.js';
import { meshplayVersion } from '../version.js';
import type { RunCliOptions } from './run.js';

export interface PlanSession {
  hook: PlanHook & { refused?: string[] };
  /** Before the first write: an exit code when the run must not start. */
  beforeRun(connection: (host: string) => Promise<Connection>): Promise<number | undefined>;
  afterRun(exitCode: number): number;
}

function inputsOf(opts: RunCliOptions, inventory: Inventory, salt: string): PlanFile['inputs'] {
  return {
    playbooks: opts.playbooks.map((path) => ({ path, digest: fileDigest(salt, path) })),
    inventory: inventory.sources.map((path) => ({ path, digest: fileDigest(salt, path) })),
    inventory_given: opts.inventory,
    extra_vars: digestOf(salt, opts.extraVars),
    ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
    tags: opts.tags,
    skip_tags: opts.skipTags,
  };
}

/** What differs between the run a plan was made for and this one (empty: the same). */
function inputDifferences(saved: PlanFile['inputs'], now: PlanFile['inputs']): string[] {
  const out: string[] = [];
  const files = (what: string, a: { path: string; digest: string }[], b: { path: string; digest: string }[]) => {
    const then = new Map(a.map((f) => [f.path, f.digest]));
    const current = new Map(b.map((f) => [f.path, f.digest]));
    for (const [p, d] of current) if (!then.has(p)) out.push(`${what} ${p} was not part of the plan`);
    else if (then.get(p) !== d) out.push(`${what} ${p} changed since the plan was made`);
    for (const p of then.keys()) if (!current.has(p)) out.push(`${what} ${p} of the plan is not part of this run`);
  };
  files('playbook', saved.playbooks, now.playbooks);
  files('inventory file', saved.inventory, now.inventory);
  if (saved.extra_vars !== now.extra_vars) out.push('the -e variables differ from the plan\'s');
  if ((saved.limit ?? '') !== (now.limit ?? '')) out.push(`--limit differs (plan: ${saved.limit ?? 'none'})`);
  if (saved.tags.join(',') !== now.tags.join(',') || saved.skip_tags.join(',') !== now.skip_tags.join(',')) out.push('--tags/--skip-tags differ from the plan\'s');
  return out;
}

function refuse(opts: RunCliOptions, redactor: Redaction, headline: string, lines: string[]): number {
  const masked = lines.map((l) => redactor.redactText(l));
  if (opts.output === 'json' || opts.output === 'ndjson') {
    process.stdout.write(`${JSON.stringify({ type: 'recap', stats: {}, durationMs: 0, exitCode: ExitCode.planDrift, reason: 'plan-drift', problems: masked })}\n`);
  }
  // Said to the operator in every output format (stderr is not the machine channel).
  process.stderr.write(`ERROR: ${headline}\n${masked.map((l) => `  - ${l}\n`).join('')}`);
  process.stderr.write(`Make a new plan: meshplay run ${opts.playbooks.join(' ')} -i ${opts.inventory.join(' -i ')} --check --plan-out FILE\n`);
  return ExitCode.planDrift;
}

export async function planSession(opts: RunCliOptions, inventory: Inventory, redactor: Redaction): Promise<PlanSession | number | undefined> {
  // Task keys are paths relative to the first playbook's folder: the same whatever directory meshplay runs from.
  const root = dirname(resolve(opts.playbooks[0] ?? '.'));
  if (opts.planOut) {
    const out = opts.planOut;
    const recorder = new PlanRecorder(root, newSalt());
    return {
      hook: recorder,
      beforeRun: async () => undefined,
      afterRun(code) {
        // A check that failed or could not reach a host would leave tasks out: no plan is better than half of one.
        if (code !== ExitCode.ok && code !== ExitCode.drift) {
          process.stderr.write(`meshplay: no plan written to ${out}: the check did not complete (exit ${code})\n`);
          return code;
        }
        const file = recorder.file({ version: meshplayVersion(), inputs: inputsOf(opts, inventory, recorder.salt) });
        // What is shown (task names, messages, diffs) is masked like every output. Identifiers are kept as read:
        // apply reads the same objects again by them (a name that happens to equal a secret value is no secret).
        file.tasks = file.tasks.map((e) => ({
          ...e,
          task: redactor.redactText(e.task),
          ...(e.msg !== undefined ? { msg: redactor.redactText(e.msg) } : {}),
          ...(e.diff ? { diff: redactor.redact(e.diff) } : {}),
        }));
        writeFileSync(out, `${JSON.stringify(file, null, 2)}\n`, { mode: 0o600 });
        const hosts = Object.values(file.summary.hosts).filter((h) => h.changes > 0).length;
        process.stderr.write(`plan written to ${out}: ${file.summary.changes} change(s) on ${hosts} host(s)${file.summary.unpredictable ? `, ${file.summary.unpredictable} task(s) that cannot be predicted (they run on apply)` : ''}\n`);
        return code;
      },
    };
  }
  if (!opts.plan) return undefined;
  let saved: PlanFile;
  try {
    saved = await readPlanFile(opts.plan);
  } catch (e) {
    return refuse(opts, redactor, `meshplay run --plan ${opts.plan}: cannot use the plan`, [(e as Error).message]);
  }
  const differences = inputDifferences(saved.inputs, inputsOf(opts, inventory, saved.salt));
  if (differences.length) return refuse(opts, redactor, `meshplay run --plan ${opts.plan}: the plan was made for another run; nothing was changed:`, differences);
  const follower = new PlanFollower(root, saved);
  return {
    hook: follower,
    async beforeRun(connection) {
      const moved = await driftedFacts(saved.fingerprints, connection);
      if (!moved.length) return undefined;
      return refuse(opts, redactor, `meshplay run --plan ${opts.plan}: ${moved.length} fact(s) the plan was made from changed since ${saved.created}; nothing was changed:`, moved);
    },
    afterRun(code) {
      if (follower.followed.length) {
        process.stderr.write(`[WARNING]: ${follower.followed.length} task(s) planned after an earlier change of the plan applied their plan of the moment (the check could not see the state that change creates):\n${follower.followed.map((l) => `  - ${redactor.redactText(l)}\n`).join('')}`);
      }
      if (follower.refused.length) {
        process.stderr.write(`ERROR: the saved plan refused ${follower.refused.length} task(s):\n${follower.refused.map((l) => `  - ${redactor.redactText(l)}\n`).join('')}`);
      }
      return code;
    },
  };
}
