// Real DNS for the lab: per cluster, the real CoreDNS (../shared/coredns/bin/coredns, 1.10.1; see its README) runs
// the Corefile of the cluster's DNS ConfigMap the way the in-cluster CoreDNS would — kube-system/coredns as is, or a
// kube-dns ConfigMap's stubDomains/upstreamNameservers translated into server blocks as kubeadm's kube-dns -> CoreDNS
// migration does — with its kubernetes plugin reading that cluster's API server.
//
// Containment: every address a Corefile forwards to exists only inside namespaces this file creates. The cluster DNS
// runs in its own network namespace (`<prefix>dns-<cluster>`) that has no route anywhere but to the "pods" below, each
// in a namespace of its own joined to it by a veth:
//   upstream      the resolvers of /etc/resolv.conf (the lab's /etc/netns file) and any forward target that is not a
//                 Service: a CoreDNS stand-in answering *.example.org and NXDOMAIN for everything else;
//   istiocoredns  at the istiocoredns Service's ClusterIP: a CoreDNS stand-in for Istio's CoreDNS plugin, serving an
//                 A record for every ServiceEntry host under .global that has an address;
//   <service>     any other Service a Corefile forwards to, when a Deployment behind it mounts a ConfigMap Corefile
//                 (meshplay's own DNS servers): that Corefile, run by the real CoreDNS at the Service's ClusterIP.
// The API server listens on the root namespace's loopback only: socat carries the kubernetes plugin's connection
// over a unix socket in the state dir. The lab's one rewrite of a Corefile is the `kubeconfig` line it adds to every
// kubernetes block (what in-cluster credentials would give); it is applied to the file the process reads, never to
// the ConfigMap. `syncClusterDns` re-reads the cluster and restarts only the servers whose configuration changed; a
// Corefile CoreDNS refuses makes it throw with CoreDNS's own message.
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseCorefile } from '../runner/mesh/corefile.js';
import { adminRequest, type AdminCredentials } from './kube/rest.js';
import { PREFIX, addressIn } from './spec.js';
import { isAlive, isLabProcess, run, sleep, stopLabProcess } from './proc.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

export function corednsBinary(): string {
  const candidates = [process.env.MESHPLAY_COREDNS, path.resolve(repoRoot, '../shared/coredns/bin/coredns')].filter((p): p is string => !!p);
  const found = candidates.find((p) => fs.existsSync(p));
  if (!found) throw new Error(`coredns not found (looked at ${candidates.join(', ')}); set MESHPLAY_COREDNS to a CoreDNS 1.10 binary`);
  return found;
}

const SOCAT = '/usr/bin/socat';
/** The resolver /etc/resolv.conf names inside the lab's DNS namespaces (TEST-NET-1: never routed anywhere). */
export const UPSTREAM_RESOLVER = '192.0.2.53';
/** What the upstream stand-in answers for any A query under example.org. */
export const UPSTREAM_EXAMPLE_ANSWER = '192.0.2.80';

export interface ClusterDnsInput {
  stateDir: string;
  cluster: string;
  serviceCidr: string;
  creds: AdminCredentials & { kubeconfig: string };
  /** kubeconfig context of the admin kubeconfig (lab/kube names it after the cluster). */
  context?: string;
}

interface DnsServer {
  /** 'cluster' for the cluster DNS; otherwise the pod's name. */
  name: string;
  namespace: string;
  addresses: string[];
  corefile: string;
  /** Extra files the Corefile reads (zone files), path -> content. */
  files: Record<string, string>;
  /** Where the Corefile came from (shown in errors and status). */
  source: string;
  /** The Corefile uses the kubernetes plugin: the namespace needs the API bridge. */
  kube: boolean;
}

interface RunningServer {
  namespace: string;
  addresses: string[];
  hash: string;
  pid: number;
  /** socat carrying the API server into this namespace, when the Corefile uses the kubernetes plugin. */
  bridgePid?: number;
  link?: number;
  source: string;
}

export interface ClusterDnsState {
  cluster: string;
  /** Where the cluster DNS answers, inside `namespace` (kubeadm's .10 of the service CIDR). */
  address: string;
  namespace: string;
  apiPort: number;
  rootBridgePid?: number;
  servers: Record<string, RunningServer>;
}

const dnsDir = (stateDir: string, cluster: string) => path.join(path.resolve(stateDir), 'dns', cluster);
const statePath = (stateDir: string, cluster: string) => path.join(dnsDir(stateDir, cluster), 'state.json');
const apiSocket = (stateDir: string, cluster: string) => path.join(dnsDir(stateDir, cluster), 'api.sock');
export const clusterDnsNamespace = (cluster: string) => `${PREFIX}dns-${cluster}`;
const podNamespace = (cluster: string, pod: string) => `${PREFIX}dns-${cluster}-${pod}`;

export function readClusterDns(stateDir: string, cluster: string): ClusterDnsState | undefined {
  try {
    return JSON.parse(fs.readFileSync(statePath(stateDir, cluster), 'utf8')) as ClusterDnsState;
  } catch {
    return undefined;
  }
}

async function writeClusterDns(stateDir: string, s: ClusterDnsState): Promise<void> {
  await fsp.mkdir(dnsDir(stateDir, s.cluster), { recursive: true });
  await fsp.writeFile(statePath(stateDir, s.cluster), JSON.stringify(s, null, 2) + '\n');
}

// ---- what the cluster says -------------------------------------------------------------------------

async function getJson<T = any>(creds: AdminCredentials, p: string): Promise<T | undefined> {
  const r = await adminRequest(creds, 'GET', p);
  if (r.status === 404) return undefined;
  if (r.status >= 300) throw new Error(`GET ${p}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
  return JSON.parse(r.body) as T;
}

async function list(creds: AdminCredentials, p: string): Promise<any[]> {
  return ((await getJson<{ items: any[] }>(creds, p))?.items ?? []) as any[];
}

/**
 * kube-dns's configuration as the Corefile kubeadm's migration to CoreDNS writes for it: the cluster zone, the
 * upstreamNameservers (else /etc/resolv.conf) for everything else, and one server block per stubDomains entry.
 */
export function kubeDnsCorefile(data: Record<string, string>): string {
  const parse = (k: string): unknown => {
    if (!data[k] || !data[k]!.trim()) return undefined;
    try {
      return JSON.parse(data[k]!);
    } catch (e) {
      throw new Error(`kube-dns ConfigMap ${k} is not JSON (kube-dns would refuse it too): ${(e as Error).message}`);
    }
  };
  const upstream = (parse('upstreamNameservers') as string[] | undefined) ?? [];
  const stubs = (parse('stubDomains') as Record<string, string[]> | undefined) ?? {};
  const blocks = [
    '.:53 {\n    errors\n    health\n    kubernetes cluster.local in-addr.arpa ip6.arpa {\n        pods insecure\n        fallthrough in-addr.arpa ip6.arpa\n    }\n' +
      `    forward . ${upstream.length ? upstream.join(' ') : '/etc/resolv.conf'}\n    cache 30\n    loop\n}\n`,
  ];
  for (const [domain, servers] of Object.entries(stubs)) {
    blocks.push(`${domain}:53 {\n    errors\n    cache 30\n    loop\n    forward . ${servers.join(' ')}\n}\n`);
  }
  return blocks.join('');
}

/** Adds `kubeconfig <file> <context>` to every kubernetes block (in-cluster credentials, lab style). */
export function withKubeconfig(corefile: string, kubeconfig: string, context: string): string {
  const inserts: { at: number; text: string }[] = [];
  for (const block of parseCorefile(corefile)) {
    for (const d of block.directives) {
      if (d.name !== 'kubernetes') continue;
      const last = d.tokens[d.tokens.length - 1]!;
      const line = `kubeconfig ${kubeconfig} ${context}`;
      if (d.hasBlock) {
        const brace = corefile.indexOf('{', last.end);
        inserts.push({ at: brace + 1, text: `\n        ${line}` });
      } else {
        inserts.push({ at: last.end, text: ` {\n        ${line}\n    }` });
      }
    }
  }
  let out = corefile;
  for (const i of inserts.sort((a, b) => b.at - a.at)) out = out.slice(0, i.at) + i.text + out.slice(i.at);
  return out;
}

/** The addresses every `forward`/`proxy` line of a Corefile sends to (files such as /etc/resolv.conf excluded). */
export function forwardTargets(corefile: string): string[] {
  const out = new Set<string>();
  for (const block of parseCorefile(corefile)) {
    for (const d of block.directives) {
      if (d.name !== 'forward' && d.name !== 'proxy') continue;
      for (const a of d.args.slice(1)) {
        if (a.text === '{') break;
        if (a.text.startsWith('/')) continue;
        const host = a.text.replace(/^(dns|tls):\/\//, '').replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
        if (/^\d+\.\d+\.\d+\.\d+$/.test(host)) out.add(host);
      }
    }
  }
  return [...out];
}

function upstreamCorefile(): string {
  return [
    '# Lab stand-in for the resolvers outside the cluster: answers *.example.org, NXDOMAIN for everything else.',
    '.:53 {',
    '    errors',
    '    template IN A example.org {',
    `        answer "{{ .Name }} 60 IN A ${UPSTREAM_EXAMPLE_ANSWER}"`,
    '        fallthrough',
    '    }',
    '    template ANY ANY {',
    '        rcode NXDOMAIN',
    '    }',
    '}',
    '',
  ].join('\n');
}

/** Zone file for the istiocoredns stand-in: what Istio's CoreDNS plugin serves (ServiceEntry hosts with an address). */
export function globalZone(serviceEntries: any[]): string {
  const records = new Map<string, string>();
  for (const se of serviceEntries) {
    const address = (se.spec?.addresses ?? [])[0] as string | undefined;
    if (!address || !/^\d+\.\d+\.\d+\.\d+$/.test(address)) continue;
    for (const h of (se.spec?.hosts ?? []) as string[]) if (h.endsWith('.global')) records.set(h, address);
  }
  const lines = ['$ORIGIN global.', '@ 60 IN SOA ns.global. hostmaster.global. 1 60 60 60 60'];
  for (const [h, a] of [...records].sort()) lines.push(`${h}. 60 IN A ${a}`);
  return lines.join('\n') + '\n';
}

function matches(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined): boolean {
  if (!selector || !Object.keys(selector).length) return false;
  return Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Computes every DNS server the cluster needs, from its API (no side effects). */
export async function planClusterDns(input: ClusterDnsInput): Promise<{ address: string; servers: DnsServer[] }> {
  const { creds, cluster } = input;
  const context = input.context ?? cluster;
  const address = addressIn(input.serviceCidr, 10);
  const coredns = await getJson(creds, '/api/v1/namespaces/kube-system/configmaps/coredns');
  const kubeDns = coredns ? undefined : await getJson(creds, '/api/v1/namespaces/kube-system/configmaps/kube-dns');
  let main: string;
  let source: string;
  if (typeof coredns?.data?.Corefile === 'string') {
    main = coredns.data.Corefile;
    source = 'ConfigMap kube-system/coredns';
  } else if (typeof kubeDns?.data?.Corefile === 'string') {
    main = kubeDns.data.Corefile;
    source = 'ConfigMap kube-system/kube-dns (Corefile)';
  } else if (kubeDns) {
    main = kubeDnsCorefile(kubeDns.data ?? {});
    source = 'ConfigMap kube-system/kube-dns (stubDomains, as kubeadm translates them)';
  } else {
    throw new Error(`${cluster}: no DNS ConfigMap (kube-system/coredns or kube-dns) to run`);
  }
  const servers: DnsServer[] = [];
  const mainServer: DnsServer = {
    name: 'cluster', namespace: clusterDnsNamespace(cluster), addresses: [address], corefile: main, files: {}, source, kube: false,
  };
  servers.push(mainServer);

  const services = await list(creds, '/api/v1/services');
  const byIp = new Map<string, any>(services.filter((s) => s.spec?.clusterIP && s.spec.clusterIP !== 'None').map((s) => [s.spec.clusterIP, s]));
  const deployments = await list(creds, '/apis/apps/v1/deployments');
  const upstream = new Set<string>([UPSTREAM_RESOLVER]);
  const seen = new Set<string>();
  const pods: DnsServer[] = [];
  // Forward targets of every server we run (meshplay's own DNS servers may forward on, too).
  const queue = [mainServer];
  while (queue.length) {
    const server = queue.shift()!;
    for (const ip of forwardTargets(server.corefile)) {
      if (seen.has(ip)) continue;
      seen.add(ip);
      const svc = byIp.get(ip);
      if (!svc) {
        upstream.add(ip);
        continue;
      }
      const name = `${svc.metadata.name}`;
      if (name === 'istiocoredns') {
        const ses = await list(creds, '/apis/networking.istio.io/v1alpha3/serviceentries').catch(() => []);
        pods.push({
          name: 'istiocoredns', namespace: podNamespace(cluster, 'istiocoredns'), addresses: [ip],
          corefile: '# Lab stand-in for istiocoredns (Istio\'s CoreDNS plugin): ServiceEntry hosts under .global.\nglobal:53 {\n    errors\n    file global.zone\n}\n',
          files: { 'global.zone': globalZone(ses) }, source: `stand-in for Service istio-system/istiocoredns`, kube: false,
        });
        continue;
      }
      // A Service backed by a Deployment that mounts a Corefile ConfigMap: run that Corefile.
      const dep = deployments.find((d) => d.metadata.namespace === svc.metadata.namespace && matches(svc.spec.selector, d.spec?.template?.metadata?.labels));
      const vol = (dep?.spec?.template?.spec?.volumes ?? []).find((v: any) => v.configMap?.name);
      const cm = vol ? await getJson(creds, `/api/v1/namespaces/${svc.metadata.namespace}/configmaps/${vol.configMap.name}`) : undefined;
      if (typeof cm?.data?.Corefile !== 'string') continue; // nothing serves it: queries to it go unanswered
      const podName = `${svc.metadata.namespace}-${svc.metadata.name}`.slice(0, 40);
      const pod: DnsServer = {
        name: podName, namespace: podNamespace(cluster, podName), addresses: [ip], corefile: cm.data.Corefile, files: {},
        source: `ConfigMap ${svc.metadata.namespace}/${vol.configMap.name} (Deployment ${dep.metadata.name}, Service ${svc.metadata.name})`, kube: false,
      };
      pods.push(pod);
      queue.push(pod);
    }
  }
  pods.unshift({
    name: 'upstream', namespace: podNamespace(cluster, 'upstream'), addresses: [...upstream], corefile: upstreamCorefile(), files: {},
    source: 'stand-in for the upstream resolvers', kube: false,
  });
  servers.push(...pods);
  for (const s of servers) {
    if (/^\s*kubernetes\b/m.test(s.corefile)) {
      s.kube = true;
      s.corefile = withKubeconfig(s.corefile, input.creds.kubeconfig, context);
    }
  }
  return { address, servers };
}

// ---- running it ----------------------------------------------------------------------------------

function hashOf(s: DnsServer): string {
  return createHash('sha256').update(JSON.stringify([s.addresses, s.corefile, s.files])).digest('hex').slice(0, 16);
}

async function netnsExists(name: string): Promise<boolean> {
  return fs.existsSync(`/run/netns/${name}`);
}

async function ensureNamespace(name: string): Promise<void> {
  if (!(await netnsExists(name))) await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  // What /etc/resolv.conf says inside (ip netns exec bind-mounts /etc/netns/<name>/resolv.conf over it).
  await fsp.mkdir(`/etc/netns/${name}`, { recursive: true });
  await fsp.writeFile(`/etc/netns/${name}/resolv.conf`, `nameserver ${UPSTREAM_RESOLVER}\n`);
}

async function deleteNamespace(name: string): Promise<void> {
  if (await netnsExists(name)) await run('ip', ['netns', 'del', name], { check: false });
  await fsp.rm(`/etc/netns/${name}`, { recursive: true, force: true });
}

function spawnDetached(argv: string[], log: string): number {
  const fd = fs.openSync(log, 'a');
  const child = spawn(argv[0]!, argv.slice(1), { detached: true, stdio: ['ignore', fd, fd], env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root' } });
  fs.closeSync(fd);
  child.unref();
  if (!child.pid) throw new Error(`could not start ${argv.join(' ')}`);
  return child.pid;
}

function tail(file: string, lines = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

export interface DigAnswer {
  status: string;
  answers: { name: string; ttl: number; type: string; data: string }[];
}

/** `dig` run inside `namespace` (so the query can only reach the lab's own addresses). */
export async function digIn(namespace: string, server: string, name: string, type = 'A', timeoutS = 2): Promise<DigAnswer> {
  const r = await run('ip', ['netns', 'exec', namespace, 'dig', `@${server}`, name, type, '+tries=2', `+time=${timeoutS}`, '+nocookie'], { check: false });
  const status = /status: (\w+)/.exec(r.stdout)?.[1] ?? 'NO-ANSWER';
  const answers: DigAnswer['answers'] = [];
  const section = /;; ANSWER SECTION:\n([\s\S]*?)(\n\n|$)/.exec(r.stdout)?.[1] ?? '';
  for (const line of section.split('\n').filter(Boolean)) {
    const [n, ttl, , t, ...data] = line.split(/\s+/);
    answers.push({ name: n!, ttl: Number(ttl), type: t!, data: data.join(' ') });
  }
  return { status, answers };
}

async function waitUntilAnswering(namespace: string, address: string, pid: number, log: string, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!isAlive(pid)) throw new Error(`CoreDNS refused ${what}:\n${tail(log)}`);
    const a = await digIn(namespace, address, 'lab-probe.invalid', 'A', 1);
    if (a.status !== 'NO-ANSWER') return;
    if (Date.now() > deadline) throw new Error(`CoreDNS (${what}) not answering on ${address} within 15 s:\n${tail(log)}`);
    await sleep(100);
  }
}

async function stopServer(stateDir: string, cluster: string, name: string, r: RunningServer): Promise<void> {
  const dir = path.join(dnsDir(stateDir, cluster), name);
  // Short grace: the servers keep no state, and a Corefile's `health { lameduck 5s }` would hold SIGTERM for 5 s.
  await stopLabProcess(r.pid, corednsBinary(), path.join(dir, 'Corefile'), 200);
  if (r.bridgePid) await stopLabProcess(r.bridgePid, SOCAT, apiSocket(stateDir, cluster), 200);
}

/**
 * Brings the cluster's DNS in line with its API: namespaces, addresses, API bridge; (re)starts every server whose
 * Corefile, files or addresses changed and waits until it answers. Throws with CoreDNS's message when it refuses
 * a Corefile.
 */
export async function syncClusterDns(input: ClusterDnsInput): Promise<ClusterDnsState> {
  const { stateDir, cluster } = input;
  const plan = await planClusterDns(input);
  const dir = dnsDir(stateDir, cluster);
  await fsp.mkdir(dir, { recursive: true });
  const apiPort = Number(new URL(input.creds.url).port);
  const prev = readClusterDns(stateDir, cluster);
  const state: ClusterDnsState = { cluster, address: plan.address, namespace: clusterDnsNamespace(cluster), apiPort, servers: {}, rootBridgePid: prev?.rootBridgePid };
  const bin = corednsBinary();

  // The API server, reachable through a unix socket from the root namespace.
  const sock = apiSocket(stateDir, cluster);
  if (!state.rootBridgePid || !(await isLabProcess(state.rootBridgePid, SOCAT, sock))) {
    state.rootBridgePid = spawnDetached([SOCAT, `UNIX-LISTEN:${sock},fork,unlink-early,mode=600`, `TCP:127.0.0.1:${apiPort}`], path.join(dir, 'api-bridge.log'));
    for (let i = 0; i < 50 && !fs.existsSync(sock); i++) await sleep(20);
  }

  // Servers no longer wanted (or moved to other addresses) go first, with their namespaces.
  const wanted = new Map(plan.servers.map((s) => [s.name, s]));
  for (const [name, r] of Object.entries(prev?.servers ?? {})) {
    const w = wanted.get(name);
    if (w && w.addresses.join() === r.addresses.join() && hashOf(w) === r.hash && (await isLabProcess(r.pid, bin, path.join(dir, name, 'Corefile')))) {
      state.servers[name] = r;
      continue;
    }
    await stopServer(stateDir, cluster, name, r);
    if (name !== 'cluster' && (!w || w.addresses.join() !== r.addresses.join())) await deleteNamespace(r.namespace);
  }

  const main = plan.servers[0]!;
  await ensureNamespace(main.namespace);
  await run('ip', ['-n', main.namespace, 'addr', 'replace', `${plan.address}/32`, 'dev', 'lo']);
  const usedLinks = new Set(Object.values(state.servers).map((r) => r.link).filter((l): l is number => l !== undefined));
  const order = [...plan.servers.slice(1), main]; // pods first: the cluster DNS's loop check forwards to them
  for (const s of order) {
    if (state.servers[s.name]) continue;
    const sdir = path.join(dir, s.name);
    await fsp.mkdir(sdir, { recursive: true });
    let link: number | undefined;
    if (s.name !== 'cluster') {
      link = 1;
      while (usedLinks.has(link)) link++;
      usedLinks.add(link);
      await deleteNamespace(s.namespace);
      await ensureNamespace(s.namespace);
      const [a, b] = [`169.254.${link}.1`, `169.254.${link}.2`];
      // A leftover end in the cluster namespace would block the name; the pair dies with either end.
      await run('ip', ['-n', main.namespace, 'link', 'del', `v${link}`], { check: false });
      await run('ip', ['link', 'add', `v${link}`, 'netns', main.namespace, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', s.namespace]);
      const inPod = [`addr add ${b}/30 dev eth0`, 'link set eth0 up', ...s.addresses.map((x) => `addr add ${x}/32 dev lo`)];
      await run('ip', ['-n', s.namespace, '-batch', '-'], { input: inPod.join('\n') + '\n' });
      const inMain = [`addr add ${a}/30 dev v${link}`, `link set v${link} up`, ...s.addresses.map((x) => `route replace ${x}/32 via ${b} dev v${link}`)];
      await run('ip', ['-n', main.namespace, '-batch', '-'], { input: inMain.join('\n') + '\n' });
    }
    for (const [f, content] of Object.entries(s.files)) await fsp.writeFile(path.join(sdir, f), content);
    const corefile = path.join(sdir, 'Corefile');
    await fsp.writeFile(corefile, s.corefile);
    let bridgePid: number | undefined;
    if (s.kube) {
      bridgePid = spawnDetached(
        ['ip', 'netns', 'exec', s.namespace, SOCAT, `TCP-LISTEN:${apiPort},bind=127.0.0.1,fork,reuseaddr`, `UNIX-CONNECT:${sock}`],
        path.join(sdir, 'api-bridge.log'),
      );
      for (let i = 0; i < 50; i++) {
        const ss = await run('ip', ['netns', 'exec', s.namespace, 'ss', '-Htln', `sport = :${apiPort}`], { check: false });
        if (ss.stdout.trim()) break;
        await sleep(20);
      }
    }
    const log = path.join(sdir, 'coredns.log');
    await fsp.writeFile(log, '');
    // cwd: the Corefile's directory, so relative zone files resolve as they do in a pod's /etc/coredns.
    const pid = spawnDetached(['ip', 'netns', 'exec', s.namespace, 'sh', '-c', `cd '${sdir}' && exec '${bin}' -conf '${corefile}'`], log);
    state.servers[s.name] = { namespace: s.namespace, addresses: s.addresses, hash: hashOf(s), pid, bridgePid, link, source: s.source };
    await writeClusterDns(stateDir, state);
    await waitUntilAnswering(s.name === 'cluster' ? main.namespace : s.namespace, s.addresses[0]!, pid, log, `${s.source} (${corefile})`);
  }
  await writeClusterDns(stateDir, state);
  return state;
}

/** Stops the cluster's DNS servers and bridges (by recorded PID) and deletes their namespaces. */
export async function stopClusterDns(stateDir: string, cluster: string): Promise<void> {
  const s = readClusterDns(stateDir, cluster);
  if (s) {
    for (const [name, r] of Object.entries(s.servers)) {
      await stopServer(stateDir, cluster, name, r);
      await deleteNamespace(r.namespace);
    }
    if (s.rootBridgePid) await stopLabProcess(s.rootBridgePid, SOCAT, apiSocket(stateDir, cluster), 200);
    await deleteNamespace(s.namespace);
  }
  await fsp.rm(dnsDir(stateDir, cluster), { recursive: true, force: true });
}

/** Stops every cluster's DNS recorded under stateDir. */
export async function stopLabDns(stateDir: string): Promise<void> {
  let names: string[] = [];
  try {
    names = await fsp.readdir(path.join(path.resolve(stateDir), 'dns'));
  } catch {
    return;
  }
  for (const n of names) await stopClusterDns(stateDir, n);
  await fsp.rm(path.join(path.resolve(stateDir), 'dns'), { recursive: true, force: true });
}

/** A query to the cluster's DNS, from inside its namespace (as a pod would ask). */
export async function clusterDig(stateDir: string, cluster: string, name: string, type = 'A'): Promise<DigAnswer> {
  const s = readClusterDns(stateDir, cluster);
  if (!s) throw new Error(`no lab DNS for ${cluster} under ${stateDir}`);
  return digIn(s.namespace, s.address, name, type);
}

/** Lines for `lab status`. */
export function labDnsStatus(stateDir: string, clusters: string[]): string[] {
  const out: string[] = [];
  for (const c of clusters) {
    const s = readClusterDns(stateDir, c);
    if (!s) continue;
    const servers = Object.entries(s.servers).map(([n, r]) => `${n}${isAlive(r.pid) ? '' : ' (DOWN)'} at ${r.addresses.join(',')}`);
    out.push(`${c} DNS (CoreDNS, netns ${s.namespace}): ${s.address}; ${servers.join('; ')}`);
  }
  return out;
}
