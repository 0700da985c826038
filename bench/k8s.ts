// The Kubernetes half of playbooks/single-control-plane.yml (roles istio_remote, kubeconfig_secrets, mtls) on
// three lab clusters: meshplay against the Ansible peer bench/ansible/k8s.yml (kubernetes.core, server-side
// apply). Per run and tool (the order alternates run by run): reset the clusters to what the lab seeds, time a
// first run, check the objects, time a converged re-run, check again. Requests are counted by verb from the API
// servers' audit logs (lab/kube writes them), between the byte offsets taken just before and after each run.
//   npm run bench -- --k8s [--runs 5] [--results DIR] [--work DIR] [--keep-lab]
// Only one lab can exist on the machine: run it under `flock /tmp/meshplay-lab.lock`.
import { parseArgs } from 'node:util';
import { positiveInt } from './stats.js';
import { mkdir, open, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { labDown, labUp } from '../lab/cli.js';
import { labCredentials } from '../lab/fixtures/control-plane.js';
import { auditLogPath } from '../lab/kube/index.js';
import { adminRequest, type AdminCredentials } from '../lab/kube/rest.js';
import { REPO_ROOT } from '../lab/state.js';
import { PHASES, ratio, summarize, type Phase, type Summary } from './stats.js';
import { parseAnsibleRecap, timed } from './tools.js';

export const K8S_TOOLS = ['meshplay', 'ansible'] as const;
export type K8sTool = (typeof K8S_TOOLS)[number];

const NS = 'istio-system';
const TAGS = 'istio_remote,kubeconfig_secrets,mtls';
const READER_SA = 'istio-reader-service-account';
const DISCOVERY_SERVICES = ['istiod', 'istio-pilot', 'istio-policy', 'istio-telemetry', 'zipkin'];
/** The lab's admin certificate (both tools use it); Pilot uses it too in the control plane, told apart by user agent. */
const ADMIN_USER = 'meshplay-admin';
const MUTATING = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

interface Options {
  runs: number;
  resultsDir: string;
  workDir: string;
  keepLab: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values: v } = parseArgs({
    args: argv,
    strict: true,
    options: { runs: { type: 'string' }, results: { type: 'string' }, work: { type: 'string' }, 'keep-lab': { type: 'boolean' } },
  });
  return {
    runs: v.runs === undefined ? 5 : positiveInt('--runs', v.runs),
    resultsDir: v.results ?? join(REPO_ROOT, 'bench/results'),
    workDir: v.work ?? join(REPO_ROOT, 'bench/.work/k8s'),
    keepLab: Boolean(v['keep-lab']),
  };
}

const log = (line: string) => process.stderr.write(`bench k8s: ${line}\n`);

interface Cluster {
  name: string;
  controlPlane: boolean;
  url: string;
  kubeconfig: string;
  creds: AdminCredentials;
  audit: string;
}

interface K8sWork {
  dir: string;
  stateDir: string;
  inventoryFile: string;
  ansibleInventory: string;
}

// ---- requests from the audit logs -------------------------------------------------------------

export interface RequestCounts {
  byVerb: Record<string, number>;
  total: number;
  /** Mutating verbs that were not dry runs: what changed stored state. */
  persisting: number;
  /** Mutating verbs with dryRun=All (meshplay's plan step). */
  dryRun: number;
}

interface AuditEvent {
  stage?: string;
  verb?: string;
  requestURI?: string;
  userAgent?: string;
  user?: { username?: string };
}

/** Pure: counts the tools' requests among audit log lines (ResponseComplete, admin user, not Pilot). */
export function countRequests(lines: string[]): RequestCounts {
  const out: RequestCounts = { byVerb: {}, total: 0, persisting: 0, dryRun: 0 };
  for (const line of lines) {
    if (!line.trim()) continue;
    let e: AuditEvent;
    try {
      e = JSON.parse(line) as AuditEvent;
    } catch {
      continue; // a line cut at the window's end
    }
    if (e.stage !== 'ResponseComplete' || e.user?.username !== ADMIN_USER || /pilot/i.test(e.userAgent ?? '') || !e.verb) continue;
    out.byVerb[e.verb] = (out.byVerb[e.verb] ?? 0) + 1;
    out.total++;
    if (MUTATING.has(e.verb)) {
      if (/[?&]dryRun=/.test(e.requestURI ?? '')) out.dryRun++;
      else out.persisting++;
    }
  }
  return out;
}

export function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  const byVerb = { ...a.byVerb };
  for (const [v, n] of Object.entries(b.byVerb)) byVerb[v] = (byVerb[v] ?? 0) + n;
  return { byVerb, total: a.total + b.total, persisting: a.persisting + b.persisting, dryRun: a.dryRun + b.dryRun };
}

async function auditOffsets(clusters: Cluster[]): Promise<number[]> {
  return Promise.all(clusters.map(async (c) => (await stat(c.audit)).size));
}

async function requestsSince(clusters: Cluster[], offsets: number[]): Promise<RequestCounts> {
  let total: RequestCounts = { byVerb: {}, total: 0, persisting: 0, dryRun: 0 };
  for (const [i, c] of clusters.entries()) {
    const fh = await open(c.audit, 'r');
    try {
      const size = (await fh.stat()).size;
      const buf = Buffer.alloc(size - offsets[i]!);
      await fh.read(buf, 0, buf.length, offsets[i]!);
      total = addCounts(total, countRequests(buf.toString('utf8').split('\n')));
    } finally {
      await fh.close();
    }
  }
  return total;
}

// ---- the lab: reset and checks -----------------------------------------------------------------

async function req(c: Cluster, method: string, path: string): Promise<{ status: number; json: () => any }> {
  return adminRequest(c.creds, method, path);
}

/** Removes what either tool creates, so the next first run starts from the lab's own seed. */
async function resetClusters(clusters: Cluster[]): Promise<void> {
  await Promise.all(
    clusters.map(async (c) => {
      if (c.controlPlane) {
        // The control plane's istio-system holds the lab's fixtures: delete only the tools' objects.
        await req(c, 'DELETE', `/api/v1/namespaces/${NS}/secrets?labelSelector=${encodeURIComponent('istio/multiCluster=true')}`);
        await req(c, 'DELETE', `/apis/security.istio.io/v1beta1/namespaces/${NS}/peerauthentications/default`);
        return;
      }
      await req(c, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/istio-reader-${NS}`);
      await req(c, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterroles/istio-reader-${NS}`);
      await req(c, 'DELETE', `/api/v1/namespaces/${NS}`);
      const deadline = Date.now() + 120_000;
      while ((await req(c, 'GET', `/api/v1/namespaces/${NS}`)).status !== 404) {
        if (Date.now() > deadline) throw new Error(`${c.name}: namespace ${NS} still terminating after 120 s`);
        await new Promise((r) => setTimeout(r, 200));
      }
    }),
  );
  const cp = clusters.find((c) => c.controlPlane)!;
  const left = (await req(cp, 'GET', `/api/v1/namespaces/${NS}/secrets?labelSelector=${encodeURIComponent('istio/multiCluster=true')}`)).json().items.length;
  if (left) throw new Error(`${cp.name}: ${left} remote secret(s) left after the reset`);
}

const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

/** What is missing or wrong after a run; never includes a secret value. */
async function objectProblems(clusters: Cluster[]): Promise<string[]> {
  const problems: string[] = [];
  const cp = clusters.find((c) => c.controlPlane)!;
  const remotes = clusters.filter((c) => !c.controlPlane);
  const cpServices = ((await req(cp, 'GET', `/api/v1/namespaces/${NS}/services`)).json().items as any[]).filter((s) =>
    DISCOVERY_SERVICES.includes(s.metadata.name),
  );
  if (!cpServices.length) problems.push(`${cp.name}: no Istio control-plane Service in ${NS} (lab fixtures missing)`);
  const tokens = new Map<string, { token: string; ca: string }>();
  for (const r of remotes) {
    const get = async (what: string, path: string) => {
      const res = await req(r, 'GET', path);
      if (res.status !== 200) problems.push(`${r.name}: ${what} missing (HTTP ${res.status})`);
      return res.status === 200 ? res.json() : undefined;
    };
    const ns = await get(`namespace ${NS}`, `/api/v1/namespaces/${NS}`);
    if (ns && ns.status?.phase !== 'Active') problems.push(`${r.name}: namespace ${NS} is ${ns.status?.phase}`);
    await get('reader ServiceAccount', `/api/v1/namespaces/${NS}/serviceaccounts/${READER_SA}`);
    await get('reader ClusterRole', `/apis/rbac.authorization.k8s.io/v1/clusterroles/istio-reader-${NS}`);
    const crb = await get('reader ClusterRoleBinding', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/istio-reader-${NS}`);
    if (crb && crb.subjects?.[0]?.name !== READER_SA) problems.push(`${r.name}: ClusterRoleBinding does not bind ${READER_SA}`);
    for (const s of cpServices) {
      const name = s.metadata.name as string;
      const svc = await get(`Service ${name}`, `/api/v1/namespaces/${NS}/services/${name}`);
      if (svc && (svc.spec.clusterIP !== 'None' || svc.spec.selector)) problems.push(`${r.name}: Service ${name} is not headless and selector-less`);
      const ep = await get(`Endpoints ${name}`, `/api/v1/namespaces/${NS}/endpoints/${name}`);
      const ip = ep?.subsets?.[0]?.addresses?.[0]?.ip;
      if (ep && ip !== s.spec.clusterIP) problems.push(`${r.name}: Endpoints ${name} point at ${ip}, expected the control plane's ${s.spec.clusterIP}`);
      const ports = (ep?.subsets?.[0]?.ports ?? []).map((p: any) => p.port).sort().join(',');
      const want = (s.spec.ports ?? []).map((p: any) => p.port).sort().join(',');
      if (ep && ports !== want) problems.push(`${r.name}: Endpoints ${name} ports ${ports}, expected ${want}`);
    }
    const secret = await get('reader token Secret', `/api/v1/namespaces/${NS}/secrets/${READER_SA}-token`);
    if (secret && !(secret.data?.token && secret.data?.['ca.crt'])) problems.push(`${r.name}: reader token Secret not filled`);
    else if (secret) tokens.set(r.name, { token: b64(secret.data.token), ca: secret.data['ca.crt'] });
  }
  const secrets = (await req(cp, 'GET', `/api/v1/namespaces/${NS}/secrets?labelSelector=${encodeURIComponent('istio/multiCluster=true')}`)).json()
    .items as any[];
  const names = secrets.map((s) => s.metadata.name).sort();
  const wantNames = remotes.map((r) => `istio-remote-secret-${r.name}`).sort();
  if (names.join() !== wantNames.join()) problems.push(`${cp.name}: remote secrets ${names.join(', ') || 'none'}, expected ${wantNames.join(', ')}`);
  for (const r of remotes) {
    const s = secrets.find((x) => x.metadata.name === `istio-remote-secret-${r.name}`);
    if (!s) continue;
    if (s.metadata.annotations?.['networking.istio.io/cluster'] !== r.name) problems.push(`${cp.name}: remote secret of ${r.name} lacks its cluster annotation`);
    let kc: any;
    try {
      kc = parseYaml(b64(s.data?.[r.name] ?? ''));
    } catch {
      kc = undefined;
    }
    const t = tokens.get(r.name);
    if (!kc?.clusters?.[0]) problems.push(`${cp.name}: remote secret of ${r.name} holds no kubeconfig under key ${r.name}`);
    else {
      if (kc.clusters[0].cluster?.server !== r.url) problems.push(`${cp.name}: remote secret of ${r.name} points at ${kc.clusters[0].cluster?.server}, expected ${r.url}`);
      if (t && kc.users?.[0]?.user?.token !== t.token) problems.push(`${cp.name}: remote secret of ${r.name} does not carry the reader token`);
      if (t && kc.clusters[0].cluster?.['certificate-authority-data'] !== t.ca) problems.push(`${cp.name}: remote secret of ${r.name} does not carry the cluster CA`);
    }
  }
  const pa = await req(cp, 'GET', `/apis/security.istio.io/v1beta1/namespaces/${NS}/peerauthentications/default`);
  if (pa.status !== 200) problems.push(`${cp.name}: PeerAuthentication default missing (HTTP ${pa.status})`);
  else if (pa.json().spec?.mtls?.mode !== 'STRICT') problems.push(`${cp.name}: PeerAuthentication default mode ${pa.json().spec?.mtls?.mode}, expected STRICT`);
  return problems;
}

// ---- the tools ---------------------------------------------------------------------------------

interface K8sOutcome {
  ms: number;
  changed: number;
  problems: string[];
}

async function runMeshplay(work: K8sWork): Promise<K8sOutcome> {
  const t = await timed(process.execPath, [
    join(REPO_ROOT, 'dist/bin/cli.js'), 'run', join(REPO_ROOT, 'playbooks/single-control-plane.yml'),
    '-i', work.inventoryFile, '--tags', TAGS, '--output', 'ndjson',
    // The Ansible peer does not install Istio's remote components (injector, Citadel): compare the same job.
    '-e', 'istio_remote_components=false',
  ]);
  const events = t.stdout.split('\n').filter(Boolean).map((l) => {
    try {
      return JSON.parse(l) as Record<string, any>;
    } catch {
      return { type: 'unparsed', line: l };
    }
  });
  const recap = events.find((e) => e.type === 'recap');
  const problems: string[] = [];
  if (!recap) problems.push('meshplay printed no recap');
  if (t.code !== 0) {
    const failures = events
      .filter((e) => e.type === 'task_result' && (e.status === 'failed' || e.status === 'unreachable'))
      .slice(0, 3)
      .map((e) => `${e.host} ${e.task}: ${e.result?.msg ?? ''}`);
    problems.push(`meshplay exited ${t.code}: ${[recap?.reason, ...(recap?.problems ?? []), ...failures, t.stderr.trim()].filter(Boolean).join('; ').slice(0, 2000)}`);
  }
  const stats = Object.values((recap?.stats ?? {}) as Record<string, { changed: number }>);
  return { ms: t.ms, changed: stats.filter((s) => s.changed > 0).length, problems };
}

async function runAnsible(work: K8sWork): Promise<K8sOutcome> {
  const t = await timed('ansible-playbook', ['-i', work.ansibleInventory, join(REPO_ROOT, 'bench/ansible/k8s.yml')], {
    ...process.env,
    ANSIBLE_CONFIG: join(REPO_ROOT, 'bench/ansible/k8s/ansible.cfg'),
    ANSIBLE_NOCOLOR: '1',
  });
  const recap = parseAnsibleRecap(t.stdout);
  const problems: string[] = [];
  if (!recap.length) problems.push('ansible-playbook printed no PLAY RECAP');
  const bad = recap.filter((h) => h.failed || h.unreachable).map((h) => h.host);
  if (bad.length) problems.push(`ansible failed or unreachable on ${bad.join(', ')}`);
  if (t.code !== 0) problems.push(`ansible-playbook exited ${t.code}: ${(t.stdout.slice(-1500) + t.stderr).trim()}`);
  return { ms: t.ms, changed: recap.filter((h) => h.changed > 0).length, problems };
}

async function writeAnsibleInventory(clusters: Cluster[], file: string): Promise<void> {
  const hosts = (cp: boolean) =>
    Object.fromEntries(clusters.filter((c) => c.controlPlane === cp).map((c) => [c.name, { kubeconfig: c.kubeconfig, api_url: c.url }]));
  const inv = {
    all: {
      vars: { ansible_connection: 'local', ansible_python_interpreter: '/usr/bin/python3' },
      children: { clusters: { children: { control_plane: { hosts: hosts(true) }, remotes: { hosts: hosts(false) } } } },
    },
  };
  await writeFile(file, '# Generated by bench/k8s.ts from the lab state.\n' + stringify(inv));
}

// ---- the run -----------------------------------------------------------------------------------

interface RunRecord {
  run: number;
  tool: K8sTool;
  phase: Phase;
  ms: number;
  changed: number;
  requests: RequestCounts;
  problems: string[];
}

interface ToolSummary {
  time: Summary;
  /** Median per run of each verb, of all requests, of persisting and of dry-run mutating requests. */
  requests: { byVerb: Record<string, number>; total: number; persisting: number; dryRun: number };
}

function median(values: number[]): number {
  return summarize(values).median;
}

function summarizeTool(records: RunRecord[]): ToolSummary {
  const verbs = [...new Set(records.flatMap((r) => Object.keys(r.requests.byVerb)))].sort();
  return {
    time: summarize(records.map((r) => r.ms)),
    requests: {
      byVerb: Object.fromEntries(verbs.map((v) => [v, median(records.map((r) => r.requests.byVerb[v] ?? 0))])),
      total: median(records.map((r) => r.requests.total)),
      persisting: median(records.map((r) => r.requests.persisting)),
      dryRun: median(records.map((r) => r.requests.dryRun)),
    },
  };
}

const sec = (ms: number) => (ms / 1000).toFixed(2);

export function k8sMarkdown(summary: Record<K8sTool, Record<Phase, ToolSummary>>, runs: number, date: string): string {
  const rows = [
    `## meshplay vs Ansible (kubernetes.core): the Kubernetes half of single-control-plane (${runs} runs each, ${date})`,
    '',
    '`playbooks/single-control-plane.yml --tags istio_remote,kubeconfig_secrets,mtls` on 3 lab clusters (1 control plane, 2 remotes) against',
    '`bench/ansible/k8s.yml` (kubernetes.core 2.4.0, python3-kubernetes, server-side apply, field manager `ansible`).',
    'Whole-process wall time in seconds, median (min–max); "first" starts from clusters holding only the lab\'s seed, "converged" is the re-run right after.',
    'Requests: medians per run over all three API servers, from their audit logs (ResponseComplete events of the admin user, Pilot excluded).',
    '"persisting" = create/update/patch/delete sent without dryRun (a server-side apply the server finds a no-op still counts: it could have written);',
    '"dry-run" = mutating verbs sent with dryRun=All (never written). Discovery reads (/api, /apis) count as get.',
    '',
    '| run | meshplay s | Ansible s | Ansible / meshplay | meshplay requests (persisting, dry-run) | Ansible requests (persisting, dry-run) |',
    '|---|---|---|---|---|---|',
  ];
  const reqCell = (s: ToolSummary) =>
    `${s.requests.total} (${s.requests.persisting}, ${s.requests.dryRun}): ${Object.entries(s.requests.byVerb).filter(([, n]) => n).map(([v, n]) => `${v} ${n}`).join(', ')}`;
  for (const phase of PHASES) {
    const m = summary.meshplay[phase];
    const a = summary.ansible[phase];
    rows.push(
      `| ${phase} | ${sec(m.time.median)} (${sec(m.time.min)}–${sec(m.time.max)}) | ${sec(a.time.median)} (${sec(a.time.min)}–${sec(a.time.max)}) | ${ratio(a.time.median, m.time.median)}× | ${reqCell(m)} | ${reqCell(a)} |`,
    );
  }
  const first = summary.meshplay.first;
  const conv = summary.meshplay.converged;
  const firstRatio = summary.ansible.first.time.median / first.time.median;
  const convRatio = summary.ansible.converged.time.median / conv.time.median;
  const mutating = conv.requests.persisting + conv.requests.dryRun;
  const verdict = (ok: boolean) => (ok ? 'met' : 'NOT met');
  rows.push(
    '',
    `Targets (issue 6): first run at least 5× faster than Ansible: ${verdict(firstRatio >= 5)} (${ratio(summary.ansible.first.time.median, first.time.median)}×); ` +
      `converged re-run at least 10× faster with zero mutating requests: ${verdict(convRatio >= 10 && mutating === 0)} ` +
      `(${ratio(summary.ansible.converged.time.median, conv.time.median)}×, ${conv.requests.persisting} persisting + ${conv.requests.dryRun} dry-run).`,
  );
  return rows.join('\n') + '\n';
}

export async function k8sMain(argv: string[]): Promise<number> {
  const opts = parseOptions(argv);
  const work: K8sWork = {
    dir: opts.workDir,
    stateDir: join(opts.workDir, 'lab'),
    inventoryFile: join(opts.workDir, 'lab.yml'),
    ansibleInventory: join(opts.workDir, 'ansible-inventory.yml'),
  };
  await mkdir(work.dir, { recursive: true });
  await mkdir(opts.resultsDir, { recursive: true });
  const started = new Date();
  const records: RunRecord[] = [];
  try {
    log('lab up (3 clusters x 1 node, Kubernetes API servers, Pilot)');
    const up = await labUp({ clusters: 3, nodes: 1, kube: true, stateDir: work.stateDir, inventoryFile: work.inventoryFile, log: (l) => log(`lab: ${l}`) });
    const api = (up.state.api ?? {}) as Record<string, { url: string; kubeconfig: string }>;
    const clusters: Cluster[] = up.state.spec.clusters.map((c) => ({
      name: c.name,
      controlPlane: c.controlPlane,
      url: api[c.name]!.url,
      kubeconfig: api[c.name]!.kubeconfig,
      creds: labCredentials(work.stateDir, c.name),
      audit: auditLogPath(work.stateDir, c.name),
    }));
    for (const c of clusters) {
      await stat(c.audit).catch(() => {
        throw new Error(`${c.name}: no audit log at ${c.audit}: its API server was started before lab/kube wrote one; run the bench once with a fresh --work dir or take the lab down first`);
      });
    }
    await writeAnsibleInventory(clusters, work.ansibleInventory);
    for (let run = 0; run < opts.runs; run++) {
      const order = run % 2 ? [...K8S_TOOLS].reverse() : [...K8S_TOOLS];
      for (const tool of order) {
        await resetClusters(clusters);
        for (const phase of PHASES) {
          const offsets = await auditOffsets(clusters);
          const out = tool === 'meshplay' ? await runMeshplay(work) : await runAnsible(work);
          const requests = await requestsSince(clusters, offsets);
          const expectChanged = phase === 'first' ? clusters.length : 0;
          const problems = [
            ...out.problems,
            ...(out.changed !== expectChanged ? [`${phase} run reported ${out.changed} changed host(s), expected ${expectChanged}`] : []),
            ...(await objectProblems(clusters)),
          ];
          records.push({ run: run + 1, tool, phase, ms: Math.round(out.ms), changed: out.changed, requests, problems });
          log(
            `run ${run + 1} ${tool} ${phase}: ${sec(out.ms)} s, changed ${out.changed}, requests ${requests.total} ` +
              `(persisting ${requests.persisting}, dry-run ${requests.dryRun}) ${JSON.stringify(requests.byVerb)}` +
              (problems.length ? ` PROBLEMS: ${problems.join(' | ')}` : ''),
          );
        }
      }
    }
  } finally {
    if (!opts.keepLab) {
      log('lab down');
      await labDown({ kube: true, stateDir: work.stateDir, inventoryFile: work.inventoryFile });
    }
  }
  const summary = Object.fromEntries(
    K8S_TOOLS.map((t) => [t, Object.fromEntries(PHASES.map((p) => [p, summarizeTool(records.filter((r) => r.tool === t && r.phase === p))]))]),
  ) as Record<K8sTool, Record<Phase, ToolSummary>>;
  const failures = records.filter((r) => r.problems.length);
  const correctness = failures.length
    ? 'FAILED'
    : 'after every run every object was in place (checked against the control plane\'s Services and the remotes\' tokens); every first run changed all 3 clusters and every converged re-run none';
  const doc = {
    startedAt: started.toISOString(),
    machine: { node: process.version, cpus: cpus().length, loadAverageAtWrite: loadavg().map((l) => +l.toFixed(1)) },
    runs: opts.runs,
    summary,
    ratios: Object.fromEntries(PHASES.map((p) => [p, { ansibleOverMeshplay: ratio(summary.ansible[p].time.median, summary.meshplay[p].time.median) }])),
    runsDetail: records,
    correctness,
  };
  const md = [
    k8sMarkdown(summary, opts.runs, started.toISOString().slice(0, 10)),
    `Machine: ${cpus().length} cores, Node ${process.version}; load average (1/5/15 min) when written: ${loadavg().map((l) => l.toFixed(1)).join(' / ')}.`,
    '',
    `Correctness: ${correctness}.`,
    ...(failures.length ? ['', ...failures.map((f) => `- run ${f.run} ${f.tool} ${f.phase}: ${f.problems.join('; ')}`)] : []),
    '',
  ].join('\n');
  await writeFile(join(opts.resultsDir, 'k8s.json'), JSON.stringify(doc, null, 2) + '\n');
  await writeFile(join(opts.resultsDir, 'k8s.md'), md);
  process.stdout.write(md);
  log(`results in ${join(opts.resultsDir, 'k8s')}.{json,md}`);
  if (failures.length) log(`${failures.length} run(s) failed their checks`);
  return failures.length ? 1 : 0;
}
