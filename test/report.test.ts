// The HTML report (issue 21 point 4): the model is a value built from status results and run events (pure
// checks here), rendered as one self-contained page checked in a real headless Chromium (Debian's package):
// it loads with no console error and requests nothing, hostile names stay text, and the checker itself is shown
// to catch a page that breaks the rules. The report of a real run and of the live mesh: single-control-plane.test.ts.
import t from 'tap';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildReport, routeMatrix } from '../runner/report/model.js';
import { renderReport } from '../runner/report/html.js';
import { RunCollector } from '../runner/report/collect.js';
import type { MeshStatus, NodeRouting } from '../runner/mesh/single-status.js';
import type { Inventory } from '../runner/inventory/types.js';
import { chromiumMissing, checkReportPage, launch, type Browser } from './helpers/chromium.js';

const nodes: NodeRouting[] = [
  { node: 'a1', cluster: 'a', via: '10.0.1.1', blocks: ['10.1.0.0/26'], source: 'table', managed: [{ dest: '10.2.0.0/26', via: '10.0.2.1' }, { dest: '10.2.0.64/26', via: '10.0.9.9' }] },
  { node: 'a2', cluster: 'a', via: '10.0.1.2', blocks: ['10.1.0.64/26'], source: 'table', managed: [{ dest: '10.2.0.0/26', via: '10.0.2.1' }] },
  { node: 'b1', cluster: 'b', via: '10.0.2.1', blocks: ['10.2.0.0/26'], source: 'table', managed: [] },
  { node: 'b2', cluster: 'b', via: '10.0.2.2', blocks: ['10.2.0.64/26'], source: 'peers', error: 'connect ECONNREFUSED', managed: [] },
];

t.test('route matrix: each node against each BIRD block, with the pings that ran', async (t) => {
  const m = routeMatrix(nodes, new Map([['a1', new Map([['10.2.0.1', true], ['10.2.0.65', false], ['not an address', true]])]]));
  const cell = (from: string, block: string) => m.cells.find((c) => c.from === from && c.block === block);
  t.equal(m.blocks.length, 4, 'a stand-in node (peers) still owns its block');
  t.same(cell('a1', '10.1.0.0/26'), { from: 'a1', block: '10.1.0.0/26', state: 'own' });
  t.equal(cell('a1', '10.1.0.64/26')?.state, 'bird', 'same cluster: BIRD routes it');
  t.same(cell('a1', '10.2.0.0/26'), { from: 'a1', block: '10.2.0.0/26', state: 'routed', via: '10.0.2.1', ping: 'ok' });
  t.same(cell('a1', '10.2.0.64/26'), { from: 'a1', block: '10.2.0.64/26', state: 'wrong', via: '10.0.9.9', ping: 'fail' }, 'a route via another address is wrong');
  t.equal(cell('a2', '10.2.0.64/26')?.state, 'missing');
  t.notOk(cell('a2', '10.2.0.0/26')?.ping, 'no ping ran from a2');
  t.equal(cell('b2', '10.1.0.0/26')?.state, 'unknown', 'an unread node cannot be judged');
  t.equal(cell('b2', '10.2.0.0/26')?.state, 'unknown');
});

const inventory = {
  topology: 'single-control-plane',
  clusters: [
    { name: 'a', istio_control_plane: true, pod_cidr: '10.1.0.0/16' },
    { name: 'b<script>alert(1)</script>', pod_cidr: '10.2.0.0/16' },
  ],
  groups: new Map([['a_nodes', ['a1', 'a2']], ['b<script>alert(1)</script>_nodes', ['b1', 'b2']]]),
  hosts: new Map([['a1', { address: '10.0.1.1' }], ['a2', { address: '10.0.1.2' }], ['b1', { address: '10.0.2.1' }], ['b2', { address: '10.0.2.2' }]]),
} as unknown as Inventory;

const status: MeshStatus = {
  clusters: [
    { cluster: 'a', role: 'control-plane', api: { reachable: true, version: 'v1.26.1' }, mtls: { api: 'unknown', error: 'cannot read the mesh\'s mTLS policy: 403 "forbidden" & <b>' }, healthy: false, reasons: ['mTLS unknown: 403'] },
    { cluster: 'b<script>alert(1)</script>', role: 'remote', api: { reachable: true }, secret: { present: true, authenticates: true, canListServices: true, canCreateSecrets: false }, healthy: true, reasons: [] },
  ],
  nodes,
  gateways: new Map([['a', { gateways: [{ namespace: 'istio-system', name: 'gw', selector: {}, servers: [{ port: 443, protocol: 'HTTPS', tlsMode: 'SIMPLE', hosts: ['x.example'] }] }] }]]),
};

t.test('the model from status results and run events', async (t) => {
  const run = new RunCollector(['p.yml'], false);
  run.onEvent({ type: 'playbook_start', file: 'p.yml', check: false });
  run.onEvent({ type: 'task_start', play: 'p', task: 'copy it', hosts: ['a1'], role: 'r' });
  run.onEvent({ type: 'task_result', play: 'p', task: 'copy it', host: 'a1', status: 'changed', durationMs: 5, result: { changed: true, diff: [{ before: 'x\n', after: 'y\n', afterHeader: '/etc/f' }] } });
  run.onEvent({ type: 'task_result', play: 'p', task: 'r : Ping a pod address of every other cluster', host: 'a1', status: 'ok', durationMs: 3, result: { stdout_lines: ['10.2.0.1 ok', '10.2.0.65 fail'] } });
  run.onEvent({ type: 'recap', stats: {}, durationMs: 20, exitCode: 2, reason: 'failed' });
  const r = buildReport({ kind: 'run', title: 't', version: 'meshplay 0', inventory, status, run: run.facts, now: new Date(0) });
  t.equal(r.health, 'bad', 'a failed run is not healthy');
  t.same(r.run, { exitCode: 2, reason: 'failed', check: false, durationMs: 20, recap: {} });
  t.equal(r.changes.length, 1);
  t.equal(r.changes[0]!.task, 'r : copy it', 'task titled with its role as in the text output');
  t.match(r.changes[0]!.diff, /^-x$/m);
  t.match(r.changes[0]!.diff, /^\+y$/m);
  t.same(r.timeline.map((e) => [e.task, e.host]), [['r : copy it', 'a1'], ['r : Ping a pod address of every other cluster', 'a1']]);
  t.equal(r.routes.cells.find((c) => c.from === 'a1' && c.block === '10.2.0.0/26')?.ping, 'ok', 'pings from the role\'s own output');
  t.same(r.mtls.api, 'unknown', 'a probe that could not tell stays unknown');
  t.same(r.secrets, [{ cluster: 'b<script>alert(1)</script>', state: 'working', detail: 'authenticates, lists services, cannot create secrets' }]);
  t.same(r.gateways, [{ cluster: 'a', namespace: 'istio-system', name: 'gw', servers: ['HTTPS 443 (TLS SIMPLE) x.example'] }]);
});

const skip = chromiumMissing();
t.test('in headless Chromium: loads clean, requests nothing, hostile names stay text; the checker catches a bad page', { skip }, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'meshplay-report-'));
  let browser: Browser | undefined;
  t.teardown(async () => {
    await browser?.close();
    await rm(dir, { recursive: true, force: true });
  });
  browser = await launch();
  const file = join(dir, 'status.html');
  await writeFile(file, renderReport(buildReport({ kind: 'status', title: 'meshplay status', version: 'meshplay 0', inventory, status })));
  const page = await checkReportPage(browser, file);
  t.same(page.load.errors, [], 'no console error');
  t.same(page.load.requests, [], 'no request: everything is inline');
  t.equal(page.kind, 'status');
  t.same(page.sections, ['clusters', 'route-matrix', 'secrets', 'mesh'], 'a status page has no run sections');
  t.equal(page.cells, 16, '4 nodes x 4 blocks');
  t.equal(await browser.evaluate('document.querySelectorAll("script").length'), 0, 'the hostile cluster name did not become a script');
  t.ok(await browser.evaluate<boolean>('document.body.textContent.includes("b<script>alert(1)</script>")'), 'it is shown as text');
  t.equal(await browser.evaluate('document.querySelector("#mtls").dataset.api'), 'unknown');
  t.equal(await browser.evaluate('document.querySelectorAll("#topology .cluster").length'), 2, 'both clusters drawn');

  // The checker must be able to fail: a page that loads an image over the network and runs a script.
  const bad = join(dir, 'bad.html');
  await writeFile(bad, `<!DOCTYPE html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'none'"></head><body><img src="http://127.0.0.1:9/x.png"><script>console.error('boom')</script></body></html>`);
  const caught = await browser.load(bad);
  t.ok(caught.errors.length > 0, `a CSP violation is reported: ${JSON.stringify(caught.errors)}`);
  const loose = join(dir, 'loose.html');
  await writeFile(loose, `<!DOCTYPE html><html><body><img src="http://127.0.0.1:9/x.png"><script>console.error('boom')</script></body></html>`);
  const caught2 = await browser.load(loose);
  t.ok(caught2.requests.some((u) => u.startsWith('http://127.0.0.1:9/')), 'a request is seen');
  t.ok(caught2.errors.some((e) => /console\.error: boom/.test(e)), `a console error is seen: ${JSON.stringify(caught2.errors)}`);
});
