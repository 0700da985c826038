import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { emptyStats, type HostStats, type RunEvent } from '../runner/output/events.js';
import { createJunitReporter, createReporter, PlainReporter } from '../runner/output/index.js';
import { tally } from '../runner/output/recap.js';
import { banner } from '../runner/output/format.js';

function sink(isTTY = false): { stream: Writable & { isTTY?: boolean; columns?: number }; text: () => string } {
  const chunks: string[] = [];
  const stream: Writable & { isTTY?: boolean; columns?: number } = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  if (isTTY) {
    stream.isTTY = true;
    stream.columns = 100;
  }
  return { stream, text: () => chunks.join('') };
}

const stats = (s: Partial<HostStats>): HostStats => ({ ...emptyStats(), ...s });

/** A small run: a changed task with a diff, a loop, a skip, an ignored failure, an unreachable host, a recap. */
function run(): RunEvent[] {
  const play = 'Stitch clusters';
  return [
    { type: 'playbook_start', file: 'site.yml', check: false },
    { type: 'play_start', play, hosts: ['c1', 'c2'] },
    { type: 'task_start', play, task: 'write config', role: 'istio', hosts: ['c1', 'c2'] },
    {
      type: 'task_result', play, task: 'write config', host: 'c1', status: 'changed', durationMs: 12,
      result: { changed: true, diff: [{ before: 'a\nb\n', after: 'a\nc\n', beforeHeader: '/etc/x', afterHeader: '/etc/x' }] },
    },
    { type: 'task_result', play, task: 'write config', host: 'c2', status: 'ok', durationMs: 8, result: { changed: false } },
    { type: 'task_end', play, task: 'write config', durationMs: 20 },
    { type: 'task_start', play, task: 'label nodes', hosts: ['c1'] },
    { type: 'task_result', play, task: 'label nodes', host: 'c1', status: 'changed', durationMs: 1, item: 'node-a', result: { changed: true } },
    { type: 'task_result', play, task: 'label nodes', host: 'c1', status: 'ok', durationMs: 1, item: { name: 'node-b' }, result: { changed: false } },
    { type: 'task_end', play, task: 'label nodes', durationMs: 2 },
    { type: 'task_start', play, task: 'optional', hosts: ['c1'] },
    { type: 'task_result', play, task: 'optional', host: 'c1', status: 'skipped', durationMs: 0, result: { changed: false, skipped: true, skip_reason: 'Conditional result was False' } },
    { type: 'task_end', play, task: 'optional', durationMs: 0 },
    { type: 'task_start', play, task: 'probe <&"gateway">', hosts: ['c1', 'c2'] },
    { type: 'task_result', play, task: 'probe <&"gateway">', host: 'c1', status: 'ignored', durationMs: 4, result: { failed: true, changed: false, msg: 'connection refused' } },
    { type: 'task_result', play, task: 'probe <&"gateway">', host: 'c2', status: 'unreachable', durationMs: 4, delegatedTo: 'bastion', result: { unreachable: true, msg: 'ssh: connect to host 10.0.0.2 port 22: No route\u0001' } },
    { type: 'task_end', play, task: 'probe <&"gateway">', durationMs: 4 },
    { type: 'warning', message: 'istioctl not found, using manifests' },
    { type: 'log', level: 2, message: 'ESTABLISH SSH CONNECTION', host: 'c1' },
    { type: 'play_end', play },
    {
      type: 'recap',
      stats: { c1: stats({ ok: 4, changed: 2, skipped: 1, ignored: 1 }), 'c2-with-a-much-longer-name': stats({ ok: 1, unreachable: 1 }) },
      durationMs: 1234, exitCode: 4, reason: 'unreachable',
    },
  ];
}

async function render(kind: 'plain' | 'json' | 'ndjson', opts: { verbosity?: number; diff?: boolean; color?: boolean } = {}) {
  const out = sink();
  const r = createReporter(kind, { stream: out.stream, verbosity: opts.verbosity ?? 0, diff: opts.diff ?? false, check: false, color: opts.color });
  for (const e of run()) r.onEvent(e);
  await r.close();
  return out.text();
}

t.test('plain prints Ansible-like lines', async (t) => {
  const text = await render('plain', { diff: true });
  const expected = [
    '',
    banner('PLAY [Stitch clusters]'),
    '',
    banner('TASK [istio : write config]'),
    '--- before: /etc/x',
    '+++ after: /etc/x',
    '@@ -1,2 +1,2 @@',
    ' a',
    '-b',
    '+c',
    'changed: [c1]',
    'ok: [c2]',
    '',
    banner('TASK [label nodes]'),
    'changed: [c1] => (item=node-a)',
    "ok: [c1] => (item={'name': 'node-b'})",
    '',
    banner('TASK [optional]'),
    'skipping: [c1]',
    '',
    banner('TASK [probe <&"gateway">]'),
    'fatal: [c1]: FAILED! => {"failed":true,"changed":false,"msg":"connection refused"}',
    '...ignoring',
    'fatal: [c2 -> bastion]: UNREACHABLE! => {"unreachable":true,"msg":"ssh: connect to host 10.0.0.2 port 22: No route\\u0001"}',
    '[WARNING]: istioctl not found, using manifests',
    '',
    banner('PLAY RECAP'),
    'c1                         : ok=4    changed=2    unreachable=0    failed=0    skipped=1    rescued=0    ignored=1',
    'c2-with-a-much-longer-name : ok=1    changed=0    unreachable=1    failed=0    skipped=0    rescued=0    ignored=0',
    '',
    'Total: 1.23s',
    '',
  ].join('\n');
  t.equal(text, expected);
  t.equal(banner('PLAY RECAP').length, 80);
  t.notMatch(text, '\x1b[', 'no colour unless asked');
  t.notMatch(text, 'ESTABLISH', 'log below verbosity hidden');
});

t.test('plain without --diff shows no diff; -v shows results and logs; -vvv indents', async (t) => {
  const quiet = await render('plain');
  t.notMatch(quiet, '+++ after');
  const v = await render('plain', { verbosity: 2 });
  t.match(v, 'changed: [c1] => {"changed":true}', 'result JSON without the diff');
  t.match(v, 'changed: [c1] => (item=node-a) => {"changed":true}');
  t.match(v, '<c1> ESTABLISH SSH CONNECTION');
  t.match(v, banner('PLAYBOOK: site.yml'));
  const vvv = await render('plain', { verbosity: 3 });
  t.match(vvv, 'ok: [c2] => {\n    "changed": false\n}');
});

t.test('plain colours only when asked', async (t) => {
  const text = await render('plain', { color: true });
  t.match(text, '\x1b[33mchanged: [c1]\x1b[0m');
  t.match(text, '\x1b[32mok: [c2]\x1b[0m');
  t.match(text, '\x1b[31mfatal: [c1]');
  t.match(text, '\x1b[36mskipping: [c1]\x1b[0m');
});

t.test('plain prints validation problems and survives odd values', async (t) => {
  const out = sink();
  const r = new PlainReporter({ stream: out.stream, verbosity: 1, diff: true, check: false });
  const cyclic: Record<string, unknown> = { big: 10n };
  cyclic.self = cyclic;
  r.onEvent({ type: 'task_result', play: 'p', task: 't', host: 'h', status: 'failed', durationMs: 1, result: cyclic });
  r.onEvent({ type: 'task_result', play: 'p', task: 't', host: 'h', status: 'changed', durationMs: 1, result: { diff: 'not a list' } });
  r.onEvent({ type: 'recap', stats: {}, durationMs: 0, exitCode: 4, reason: 'validation', problems: ['site.yml:3:5: unknown key "hsots"'] });
  const text = out.text();
  t.match(text, 'fatal: [h]: FAILED! => {"big":"10","self":"[Circular]"}');
  t.match(text, 'ERROR! site.yml:3:5: unknown key "hsots"\n');
  t.match(text, 'Total: 0.00s');
});

t.test('json: one document at close', async (t) => {
  const doc = JSON.parse(await render('json'));
  t.equal(doc.plays.length, 1);
  const [play] = doc.plays;
  t.equal(play.play, 'Stitch clusters');
  t.same(play.tasks.map((x: { task: string }) => x.task), ['write config', 'label nodes', 'optional', 'probe <&"gateway">']);
  t.equal(play.tasks[0].role, 'istio');
  t.same(play.tasks[0].hosts.c2, { changed: false });
  t.same(play.tasks[0].status, { c1: 'changed', c2: 'ok' });
  t.equal(play.tasks[1].hosts.c1.results.length, 2, 'loop items collected');
  t.equal(play.tasks[1].status.c1, 'changed');
  t.equal(play.tasks[3].status.c2, 'unreachable');
  t.equal(doc.stats.c1.changed, 2);
  t.equal(doc.durationMs, 1234);
  t.equal(doc.exitCode, 4);
  t.equal(doc.reason, 'unreachable');
  t.same(doc.warnings, [{ message: 'istioctl not found, using manifests' }]);
});

t.test('ndjson: one line per event as it happens, recap last', async (t) => {
  const out = sink();
  const r = createReporter('ndjson', { stream: out.stream, verbosity: 0, diff: false, check: false });
  const events = run();
  r.onEvent(events[0]);
  t.equal(out.text().split('\n').length, 2, 'written before close');
  for (const e of events.slice(1)) r.onEvent(e);
  await r.close();
  const lines = out.text().trimEnd().split('\n').map((l) => JSON.parse(l));
  t.equal(lines.length, events.length);
  const first = lines.find((l) => l.type === 'task_result');
  t.same(
    { status: first.status, host: first.host, task: first.task, durationMs: first.durationMs, changed: first.result.changed },
    { status: 'changed', host: 'c1', task: 'write config', durationMs: 12, changed: true },
  );
  t.equal(lines.at(-1).type, 'recap');
});

/** Minimal well-formedness check: every tag closes in order, attributes quoted, no bare & or <. */
function checkXml(xml: string): { name: string; attrs: Record<string, string> }[] {
  const body = xml.replace(/^<\?xml[^?]*\?>\s*/, '');
  const stack: string[] = [];
  const elements: { name: string; attrs: Record<string, string> }[] = [];
  const token = /<(\/?)([A-Za-z][\w-]*)((?:\s+[\w-]+="[^"<]*")*)\s*(\/?)>|([^<]+)/gy;
  let m: RegExpExecArray | null;
  let pos = 0;
  while ((m = token.exec(body))) {
    pos = token.lastIndex;
    if (m[5] !== undefined) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(m[5])) throw new Error(`bare & in ${m[5]}`);
      continue;
    }
    const [, closing, name, attrText, selfClosing] = m;
    if (closing) {
      if (stack.pop() !== name) throw new Error(`unbalanced </${name}>`);
      continue;
    }
    const attrs: Record<string, string> = {};
    for (const a of attrText.matchAll(/([\w-]+)="([^"]*)"/g)) {
      if (/&(?!(amp|lt|gt|quot|apos|#\d+);)/.test(a[2])) throw new Error(`bare & in attribute ${a[1]}`);
      attrs[a[1]] = a[2].replace(/&quot;/g, '"').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
    }
    elements.push({ name, attrs });
    if (!selfClosing) stack.push(name);
  }
  if (pos !== body.length) throw new Error(`unparsed XML at ${pos}: ${body.slice(pos, pos + 40)}`);
  if (stack.length) throw new Error(`unclosed ${stack.join(',')}`);
  return elements;
}

t.test('junit: well-formed XML with a testcase per task x host and correct counts', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'reports', 'junit.xml');
  const r = createJunitReporter(file);
  for (const e of run()) r.onEvent(e);
  await r.close();
  const xml = await readFile(file, 'utf8');
  const elements = checkXml(xml);
  const suites = elements.filter((e) => e.name === 'testsuite');
  t.equal(suites.length, 1);
  t.same(
    { name: suites[0].attrs.name, tests: suites[0].attrs.tests, failures: suites[0].attrs.failures, skipped: suites[0].attrs.skipped },
    { name: 'Stitch clusters', tests: '6', failures: '1', skipped: '1' },
  );
  const cases = elements.filter((e) => e.name === 'testcase');
  t.same(
    cases.map((c) => c.attrs.name),
    ['[c1] istio : write config', '[c2] istio : write config', '[c1] label nodes', '[c1] optional', '[c1] probe <&"gateway">', '[c2] probe <&"gateway">'],
  );
  t.ok(cases.every((c) => c.attrs.classname === 'Stitch clusters'));
  const failures = elements.filter((e) => e.name === 'failure');
  t.equal(failures.length, 1, 'ignored failure passes, unreachable fails');
  t.equal(failures[0].attrs.type, 'unreachable');
  t.match(failures[0].attrs.message, 'No route\uFFFD', 'control characters replaced');
  t.equal(elements.filter((e) => e.name === 'skipped')[0].attrs.message, 'Conditional result was False');
  const root = elements[0];
  t.same({ name: root.name, tests: root.attrs.tests, failures: root.attrs.failures, time: root.attrs.time }, { name: 'testsuites', tests: '6', failures: '1', time: '1.234' });
});

t.test('junit: validation problems become failing testcases', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'junit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'j.xml');
  const r = createJunitReporter(file);
  r.onEvent({ type: 'recap', stats: {}, durationMs: 1, exitCode: 4, reason: 'validation', problems: ['a.yml:1:1: bad & worse'] });
  await r.close();
  const elements = checkXml(await readFile(file, 'utf8'));
  t.equal(elements.filter((e) => e.name === 'failure').length, 1);
  t.equal(elements.find((e) => e.name === 'failure')!.attrs.message, 'a.yml:1:1: bad & worse');
});

t.test('pretty: falls back to plain off a terminal, draws tasks and the same recap on one', async (t) => {
  const notTty = sink();
  const fallback = createReporter('pretty', { stream: notTty.stream, verbosity: 0, diff: false, check: false });
  t.ok(fallback instanceof PlainReporter);

  const tty = sink(true);
  // listr2's renderer draws on the process's own terminal; capture it alongside the reporter's stream.
  const drawn: string[] = [];
  const write = process.stdout.write;
  process.stdout.write = ((chunk: string | Uint8Array) => (drawn.push(String(chunk)), true)) as typeof process.stdout.write;
  try {
    const r = createReporter('pretty', { stream: tty.stream, verbosity: 0, diff: false, check: false, color: false });
    for (const e of run()) r.onEvent(e);
    await r.close();
  } finally {
    process.stdout.write = write;
  }
  const text = tty.text();
  const screen = drawn.join('').replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
  t.match(text, 'PLAY [Stitch clusters]');
  t.match(screen, /istio : write config/, 'task line drawn by listr2');
  t.match(screen, /c1: changed 0\.01s/, 'host subtask settles with its status and time');
  t.match(screen, /c2: ok/);
  t.match(screen, /c2: unreachable/);
  t.match(text, 'fatal: [c2 -> bastion]: UNREACHABLE!');
  t.match(text, '...ignoring');
  t.match(text, '[WARNING]: istioctl not found');
  t.match(text, 'c1                         : ok=4    changed=2');
  t.ok(text.trimEnd().endsWith('Total: 1.23s'), 'recap last');
  t.ok(text.indexOf('fatal: [c2 -> bastion]') < text.indexOf('PLAY RECAP'), 'details before the recap');
});

t.test('tally counts like Ansible', async (t) => {
  const s: Record<string, HostStats> = {};
  tally(s, 'h', 'ok');
  tally(s, 'h', 'changed');
  tally(s, 'h', 'ignored', true);
  tally(s, 'h', 'rescued');
  tally(s, 'h', 'skipped');
  tally(s, 'g', 'unreachable');
  tally(s, 'g', 'failed');
  t.same(s.h, stats({ ok: 3, changed: 2, ignored: 1, rescued: 1, skipped: 1 }));
  t.same(s.g, stats({ unreachable: 1, failed: 1 }));
});

t.test('a closed output pipe stops the output, not the run', async (t) => {
  let writes = 0;
  const stream = new Writable({
    write(_chunk, _enc, cb) {
      writes++;
      cb(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    },
  });
  const r = createReporter('ndjson', { stream, verbosity: 0, diff: false, check: false });
  for (const e of run()) r.onEvent(e);
  await r.close();
  t.ok(writes >= 1 && writes < run().length, `stopped writing after the pipe closed (${writes} writes)`);
});

t.test('safeStringify without copying says what the copying path says', async (t) => {
  const { safeStringify, toJsonSafe } = await import('../runner/output/format.js');
  const err = Object.assign(new Error('boom'), { code: 'E1' });
  const odd = {
    buf: Buffer.from('bytes'),
    u8: new Uint8Array([104, 105]),
    when: new Date(0),
    invalid: new Date(NaN),
    big: 10n,
    nan: NaN,
    inf: -Infinity,
    map: new Map<unknown, unknown>([[1, 'one'], ['k', { n: 2 }]]),
    set: new Set(['x', 'y']),
    err,
    fn: () => 1,
    list: [undefined, () => 1, 3],
  };
  t.equal(safeStringify(odd), JSON.stringify(toJsonSafe(odd)));
  t.equal(safeStringify(odd, 2), JSON.stringify(toJsonSafe(odd), null, 2));
  const cyclic: Record<string, unknown> = { a: [1] };
  cyclic.back = cyclic;
  t.equal(safeStringify(cyclic), '{"a":[1],"back":"[Circular]"}', 'cycles fall back to the copying path');
  t.equal(safeStringify(undefined), 'null');
  // Plain values take JSON.stringify's own path: the same text, at any depth, with odd values anywhere inside.
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1 });
  const plain = { s: 'x', n: -0, f: 1.5, b: false, z: null, u: undefined, list: [undefined, 'y', [1, [2]]], bare };
  t.equal(safeStringify(plain), JSON.stringify(toJsonSafe(plain)));
  let deep: unknown = 'leaf';
  for (let i = 0; i < 100; i++) deep = i % 2 ? [deep] : { d: deep };
  t.equal(safeStringify(deep), JSON.stringify(toJsonSafe(deep)), 'deeper than the plain check looks');
  const oddInside = [1, { x: [{ y: NaN }] }, 'z'];
  t.equal(safeStringify(oddInside), '[1,{"x":[{"y":"NaN"}]},"z"]', 'an odd value deep inside still converts');
  t.equal(safeStringify({ when: new Date(0) }, 2), JSON.stringify(toJsonSafe({ when: new Date(0) }), null, 2));
});

t.test('safeStringify writes a deeply frozen value once and the same text every time', async (t) => {
  const { safeStringify } = await import('../runner/output/format.js');
  const probes = Object.freeze([Object.freeze({ cluster: 'b', address: '10.2.0.1', n: 2 }), Object.freeze({ cluster: 'c', u: undefined })]);
  const events = [1, 2, 3].map((i) => ({ type: 'task_result', host: `n${i}`, result: { changed: false, routes: [`10.9.${i}.0/26`], probes } }));
  for (const e of events) t.equal(safeStringify(e), JSON.stringify(e), `${e.host}: as JSON.stringify writes it`);
  // Shared at every depth the event is taken apart to, in arrays and with holes (undefined) around it.
  const nested = { a: [probes, undefined, { p: probes }], b: Object.freeze({ q: probes }), c: { x: undefined } };
  t.equal(safeStringify(nested), JSON.stringify(nested));
  t.equal(safeStringify(probes), JSON.stringify(probes), 'the frozen value itself');
  // What is not deeply frozen is written afresh: a frozen object with a getter, or holding a mutable object.
  let count = 0;
  const ticking = Object.freeze({ get n() { return ++count; } });
  const first = safeStringify({ r: ticking });
  t.match(first, /^\{"r":\{"n":\d\}\}$/);
  t.not(safeStringify({ r: ticking }), first, 'a getter answers again');
  const inner = { v: 1 };
  const shell = Object.freeze({ inner });
  t.equal(safeStringify({ r: shell }), '{"r":{"inner":{"v":1}}}');
  inner.v = 2;
  t.equal(safeStringify({ r: shell }), '{"r":{"inner":{"v":2}}}', 'a change inside a frozen shell is seen');
  const withOdd = Object.freeze({ nan: NaN });
  t.equal(safeStringify({ r: withOdd }), '{"r":{"nan":"NaN"}}', 'an odd value in a frozen object still converts');
});
