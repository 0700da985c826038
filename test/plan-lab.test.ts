// Saved plans (issue 21, points 1-3) on a real 3x1 lab (network namespaces, sshd, BIRD, kernel routes, real API
// servers): a plan made on a fresh lab is applied and the mesh converges (a plan made then is empty and applies as
// a no-op); a plan whose facts moved (an object edited by hand, a route added by hand) is refused before anything
// is written, naming each moved fact, and the mesh is left as it was; no secret value is ever in the plan file.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv } from 'ajv';
import { nodeExec } from '../lab/cli.js';
import { meshplay, results, totals, type CliRun } from './helpers/cli.js';
import { nodeRoutes } from './helpers/snapshot.js';
import { clusterLab } from './helpers/lab.js';
import { PLAN_SCHEMA, type PlanFile } from '../runner/plan/file.js';

const canRun = process.getuid?.() === 0;
const remoteSecret = (c: string) => `/api/v1/namespaces/istio-system/secrets/istio-remote-secret-${c}`;

t.test('saved plan: apply a fresh lab by plan, converge, and refuse a plan whose facts moved', { skip: canRun ? false : 'needs root (network namespaces)', timeout: 1_200_000 }, async (t) => {
  const { stateDir, inventoryFile, conns } = await clusterLab(t, 'plan', { clusters: 3, nodes: 1 });
  const cp = conns.lab1!;
  const playbook = 'playbooks/single-control-plane.yml';
  const validPlan = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(PLAN_SCHEMA);

  const outputs: string[] = [];
  t.teardown(() => {
    if (t.passing()) return;
    t.comment(outputs.join('\n').slice(-20_000));
  });
  const run = async (...args: string[]): Promise<CliRun> => {
    const r = await meshplay(['run', ...args, '--output', 'ndjson'], { timeoutMs: 400_000 });
    outputs.push(`$ meshplay run ${args.join(' ')} -> ${r.code}`, r.stderr);
    return r;
  };
  const why = (r: CliRun) => results(r).filter((e) => e.status === 'failed' || e.status === 'unreachable').map((e) => `${e.host} ${e.task}: ${e.result?.msg}`).join('\n') + r.stderr.slice(-2000);
  const readPlan = (file: string): PlanFile => {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    t.ok(validPlan(doc), `${file} follows schemas/plan.schema.json ${JSON.stringify(validPlan.errors?.slice(0, 3))}`);
    return doc;
  };

  // 1. A plan on a fresh lab, shown, then applied by itself (playbook and inventory from the plan).
  const fresh = join(stateDir, 'fresh.json');
  const made = await run(playbook, '-i', inventoryFile, '--check', '--plan-out', fresh);
  t.equal(made.code, 0, why(made));
  t.match(made.stderr, /plan written to .*fresh\.json: \d+ change\(s\) on \d+ host\(s\)/);
  const freshPlan = readPlan(fresh);
  t.ok(freshPlan.summary.changes > 10, `a fresh lab: many changes planned (${freshPlan.summary.changes})`);
  t.ok(freshPlan.tasks.some((e) => e.module === 'ip_routes' && e.action === 'change' && e.diff?.some((d) => / via /.test(d.after))), 'route lines planned');
  t.ok(freshPlan.tasks.some((e) => e.module === 'k8s' && e.action === 'change' && e.diff?.some((d) => /kind: Namespace/.test(d.after))), 'Kubernetes objects as the dry-run returned them');
  t.ok(freshPlan.fingerprints.some((f) => f.kind === 'k8s' && f.resourceVersion === null), 'absent objects are fingerprinted as absent');
  t.ok(freshPlan.fingerprints.some((f) => f.kind === 'routes'), "nodes' managed routes are fingerprinted");
  t.notOk(await cp.getOrUndefined(remoteSecret('lab2')), 'the check changed nothing');

  const shown = await meshplay(['plan', 'show', fresh]);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /TASK \[kubeconfig_secrets : /, 'tasks by name');
  t.match(shown.stdout, /^\+\+\+ after: /m, 'diffs as --diff prints them');
  t.match(shown.stdout, /changed: \[lab1-n1\] \d+ to add/, 'route changes per node');
  t.match(shown.stdout, /FACTS CHECKED BEFORE APPLY/);

  const applied = await meshplay(['run', '--plan', fresh, '--output', 'ndjson'], { timeoutMs: 400_000 });
  outputs.push(`$ meshplay run --plan fresh.json -> ${applied.code}`, applied.stderr);
  t.equal(applied.code, 0, why(applied));
  t.ok(totals(applied).changed > 0, 'the plan was applied');
  t.ok(await cp.getOrUndefined(remoteSecret('lab2')), 'remote secret made by the plan');
  for (const n of ['lab1-n1', 'lab2-n1', 'lab3-n1']) t.ok((await nodeRoutes(n, stateDir)).some((l) => / proto (201|meshplay)\b/.test(l)), `${n}: planned routes installed`);

  // 2. On the converged lab the plan is empty, and applying it is a no-op: changed=0.
  const converged = join(stateDir, 'converged.json');
  const again = await run(playbook, '-i', inventoryFile, '--check', '--plan-out', converged, '--detailed-exitcode');
  t.equal(again.code, 0, `nothing would change (exit 0, not 10) ${why(again)}`);
  const emptyPlan = readPlan(converged);
  t.equal(emptyPlan.summary.changes, 0, 'the plan of a converged lab is empty');
  const noop = await run(playbook, '-i', inventoryFile, '--plan', converged);
  t.equal(noop.code, 0, why(noop));
  t.equal(totals(noop).changed, 0, 'applying the empty plan changes nothing');

  // 3. A plan with a change (a remote secret deleted by hand), then the facts move: an object edited by hand and a
  // route added by hand. The apply refuses before any write, names both, and changes nothing.
  const lab2Secret = await cp.getOrUndefined<any>(remoteSecret('lab2'));
  await cp.request({ method: 'DELETE', path: remoteSecret('lab2') });
  const drifting = join(stateDir, 'drifting.json');
  const planned = await run(playbook, '-i', inventoryFile, '--check', '--plan-out', drifting, '--detailed-exitcode');
  t.equal(planned.code, 10, `the check sees the change (exit 10) ${why(planned)}`);
  const driftPlan = readPlan(drifting);
  t.ok(driftPlan.tasks.some((e) => e.action === 'change' && /istio-remote-secret-lab2/.test(e.msg ?? '')), 'the plan re-creates the remote secret');

  // No secret value in any plan file: the remote secrets' kubeconfigs hold the readers' tokens.
  const token = Buffer.from(Object.values(lab2Secret.data as Record<string, string>)[0]!, 'base64').toString('utf8').match(/token: (\S+)/)?.[1];
  t.ok(token && token.length > 20, 'the token the remote secret carries');
  for (const file of [fresh, converged, drifting]) {
    const text = readFileSync(file, 'utf8');
    for (const secret of [token!, Buffer.from(token!).toString('base64'), Object.values(lab2Secret.data as Record<string, string>)[0]!]) t.notOk(text.includes(secret), `${file}: no secret value`);
    t.notMatch(text, /-----BEGIN [A-Z ]*PRIVATE KEY-----/, `${file}: no private key`);
  }

  const moved = await cp.request<any>({ method: 'PATCH', path: remoteSecret('lab3'), body: { metadata: { annotations: { 'example.com/edited-by': 'hand' } } }, contentType: 'application/merge-patch+json' });
  const extra = await nodeExec('lab2-n1', ['ip', 'route', 'add', 'blackhole', '10.250.0.0/24', 'proto', '201'], { stateDir });
  t.equal(extra.exitCode, 0, `a route of meshplay's protocol added by hand: ${extra.stderr}`);
  const refused = await run(playbook, '-i', inventoryFile, '--plan', drifting);
  t.equal(refused.code, 11, 'refused with exit 11');
  t.match(refused.stderr, /2 fact\(s\) the plan was made from changed since .*; nothing was changed:/);
  t.match(refused.stderr, new RegExp(`k8s lab1 v1/Secret istio-system/istio-remote-secret-lab3: edited \\(resourceVersion \\d+ -> ${moved.metadata.resourceVersion}\\)`), 'names the object edited by hand');
  t.match(refused.stderr, /routes lab2-n1 proto 201: managed routes /, 'names the node whose routes moved');
  t.equal(results(refused).length, 0, 'no task ran');
  t.notOk(await cp.getOrUndefined(remoteSecret('lab2')), 'the planned change was not made');
  t.ok((await nodeRoutes('lab2-n1', stateDir)).some((l) => l.includes('10.250.0.0/24')), 'the hand-made route is still there');
  outputs.push(refused.stderr);
  t.comment(`drift refusal as printed:\n# ${refused.stderr.trim().split('\n').join('\n# ')}`);

  // A plan made for another run is refused too.
  const otherInventory = await run('playbooks/uninstall.yml', '-i', inventoryFile, '--plan', drifting);
  t.equal(otherInventory.code, 11);
  t.match(otherInventory.stderr, /the plan was made for another run; nothing was changed:[\s\S]*playbook playbooks\/uninstall\.yml was not part of the plan/);
});
