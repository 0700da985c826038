// `meshplay plan show FILE`: a saved plan (runner/plan/file.ts) as `--check --diff` would have shown it: per
// task and host what changes, with its diff (already masked when the plan was written), and what cannot be
// predicted; then the facts apply checks first and a summary.
import { ExitCode } from '../errors.js';
import { readPlanFile } from '../plan/file.js';
import { diffLines, painter } from '../output/format.js';

const USAGE = 'usage: meshplay plan show FILE\n\nPrints a plan saved by `meshplay run ... --check --plan-out FILE` as --diff shows changes (secrets masked).\n';

export async function planCommand(argv: string[]): Promise<number> {
  const [action, file, ...rest] = argv;
  if (action === '--help' || action === '-h') {
    process.stdout.write(USAGE);
    return ExitCode.ok;
  }
  if (action !== 'show' || !file || rest.length) {
    process.stderr.write(`meshplay plan: ${action === 'show' ? (file ? `unexpected argument '${rest[0]}'` : 'no plan file given') : `unknown action '${action ?? ''}'`}\n\n${USAGE}`);
    return ExitCode.badOption;
  }
  let plan;
  try {
    plan = await readPlanFile(file);
  } catch (e) {
    process.stderr.write(`meshplay plan: ${(e as Error).message}\n`);
    return ExitCode.error;
  }
  const paint = painter(Boolean(process.stdout.isTTY) && !process.env.NO_COLOR);
  const out: string[] = [];
  out.push(`plan ${file}: made ${plan.created} by meshplay ${plan.meshplay} for ${plan.inputs.playbooks.map((p) => p.path).join(', ')}`, '');
  let lastTask = '';
  for (const e of plan.tasks) {
    if (e.action === 'none') continue;
    const title = `TASK [${e.task}]`;
    if (title !== lastTask) out.push(paint('bold', `${title} ${'*'.repeat(Math.max(3, 72 - title.length))}`));
    lastTask = title;
    if (e.diff?.length) out.push(...diffLines(e.diff, paint));
    out.push(e.action === 'change' ? paint('yellow', `changed: [${e.host}]${e.msg ? ` ${e.msg}` : ''}`) : paint('cyan', `unpredictable: [${e.host}] ${e.module} runs on apply; its effect is not known before`));
  }
  const unchanged = plan.tasks.filter((e) => e.action === 'none').length;
  out.push('', paint('bold', 'FACTS CHECKED BEFORE APPLY'), ...plan.fingerprints.map((f) => `  ${f.kind === 'k8s' ? `${f.host} ${f.apiVersion}/${f.resource} ${f.namespace ? `${f.namespace}/` : ''}${f.name}: ${f.digest === null ? 'absent' : `resourceVersion ${f.resourceVersion}`}` : f.kind === 'routes' ? `${f.host} routes proto ${f.protocol}: ${f.digest.slice(0, 12)}` : `${f.host}:${f.path}: ${f.digest === null ? 'absent' : f.digest.slice(0, 12)}`}`));
  out.push('', paint('bold', 'PLAN SUMMARY'));
  for (const [host, c] of Object.entries(plan.summary.hosts)) out.push(`  ${host.padEnd(24)} changes=${c.changes} unpredictable=${c.unpredictable}`);
  out.push('', `${plan.summary.changes} change(s), ${plan.summary.unpredictable} unpredictable task run(s), ${unchanged} without change`);
  process.stdout.write(`${out.join('\n')}\n`);
  return ExitCode.ok;
}
