import t from 'tap';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { RunEvent } from '../runner/output/events.js';
import { createJunitReporter, createReporter, fanOut, redacting } from '../runner/output/index.js';
import { NO_LOG_CENSORED, Redactor, noLog } from '../runner/secrets/redact.js';

function sink(): { stream: Writable; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      chunks.push(String(chunk));
      cb();
    },
  });
  return { stream, text: () => chunks.join('') };
}

t.test('same value gets the same number, a different value a new one', async (t) => {
  const r = new Redactor();
  t.equal(r.addSecret('first-secret-value'), 1);
  t.equal(r.addSecret('second-secret-value'), 2);
  t.equal(r.addSecret('first-secret-value'), 1);
  const diff = r.redact({ before: 'first-secret-value', after: 'second-secret-value' });
  t.same(diff, { before: '<secret #1>', after: '<secret #2>' });
});

t.test('values of secret-looking keys are masked; names, paths and ca_data are not', async (t) => {
  const r = new Redactor();
  const out = r.redact({
    password: 'hunter2',
    ansible_become_pass: 'sudo-pass',
    api_token: 'tok-123',
    private_key: 'PK',
    private_key_file: '/root/.ssh/id_ed25519',
    token_file: '/var/run/secrets/token',
    ca_data: 'Q0EgREFUQQ==',
    no_log: true,
    secretName: 'cacerts',
    secret_namespace: 'istio-system',
    users: [{ name: 'admin', user: { 'client-key-data': 'S0VZREFUQQ==', clientKeyData: 'S0VZREFUQQ==' } }],
    nested: { secret: { key: 'v1', secretName: 'keep-me' } },
    empty_password: '',
  });
  t.equal(out.password, '<secret #1>');
  t.match(out.ansible_become_pass, /^<secret #\d+>$/);
  t.match(out.api_token, /^<secret #\d+>$/);
  t.match(out.private_key, /^<secret #\d+>$/);
  t.equal(out.private_key_file, '/root/.ssh/id_ed25519');
  t.equal(out.token_file, '/var/run/secrets/token');
  t.equal(out.ca_data, 'Q0EgREFUQQ==');
  t.equal(out.no_log, true);
  t.equal(out.secretName, 'cacerts');
  t.equal(out.secret_namespace, 'istio-system');
  t.equal(r.redactText('namespace istio-system'), 'namespace istio-system', 'names are not registered as secrets');
  t.equal(out.users[0].name, 'admin');
  t.match(out.users[0].user['client-key-data'], /^<secret #\d+>$/);
  t.equal(out.users[0].user.clientKeyData, out.users[0].user['client-key-data'], 'same value, same number');
  t.match(out.nested.secret.key, /^<secret #\d+>$/);
  t.equal(out.nested.secret.secretName, 'keep-me');
  t.equal(out.empty_password, '');
});

t.test('short secrets are masked only as whole values', async (t) => {
  const r = new Redactor();
  r.addSecret('ch');
  t.same(r.redact({ a: 'ch', b: 'changed', c: ['ch', 'search'] }), { a: '<secret #1>', b: 'changed', c: ['<secret #1>', 'search'] });
  t.equal(r.redactText('changed: [host]'), 'changed: [host]');
  t.equal(r.redactText('ch'), '<secret #1>');
});

t.test('long secrets are masked inside longer strings, base64 and JSON forms too', async (t) => {
  const r = new Redactor();
  const token = 'eyJhbGciOiJSUzI1NiJ9.s3cr3t-payload';
  r.addSecret(token);
  const kubeconfig = `apiVersion: v1\nusers:\n- name: a\n  user:\n    token: ${token}\n`;
  const out = r.redact({
    stderr: `error: Unauthorized for token ${token} on https://x`,
    cmd: ['kubectl', `--token=${token}`, 'get', 'pods'],
    data: { kubeconfig: Buffer.from(kubeconfig).toString('base64') },
    b64: Buffer.from(token).toString('base64'),
    json: JSON.stringify({ nested: { t: token } }),
  });
  const text = JSON.stringify(out);
  t.notMatch(text, token);
  t.notMatch(text, Buffer.from(token).toString('base64'));
  t.equal(out.stderr, 'error: Unauthorized for token <secret #1> on https://x');
  t.equal(out.cmd[1], '--token=<secret #1>');
  t.equal(out.b64, '<secret #1>');
  // The token sits at some byte offset inside the base64 kubeconfig; whatever the alignment it is gone.
  for (const pad of ['', 'x', 'xy']) {
    const blob = Buffer.from(pad + kubeconfig).toString('base64');
    const masked = r.redactText(blob);
    t.not(masked, blob, `alignment ${pad.length}`);
    t.notOk(Buffer.from(masked.replace(/<secret #\d+>/g, ''), 'base64').toString('latin1').includes('s3cr3t-payload'));
  }
});


t.test('a text as long as the shortest secret still has it masked; the length check moves as secrets are added', async (t) => {
  const r = new Redactor();
  const key = 'k'.repeat(20) + 'KEYBODY' + 'k'.repeat(20); // 47 characters, like the forms of an SSH key: long
  r.addSecret(key);
  t.equal(r.redact({ line: `<${key}>` }).line, '<<secret #1>>', 'longer than the secret');
  t.equal(r.redactText(key), '<secret #1>', 'exactly the secret');
  t.equal(r.redactText(key.slice(1)), key.slice(1), 'shorter: nothing to mask');
  // A shorter secret registered later is found in texts shorter than the first one.
  r.addSecret('pw-12345');
  t.same(r.redact({ line: 'x pw-12345 y' }), { line: 'x <secret #2> y' });
  t.equal(r.redactText('pw-12345!'), '<secret #2>!');
  // Whole values as short as a secret can be, after long ones: the length checks move down with them.
  t.same(r.redact({ dev: 'eth0', pin: '4711' }), { dev: 'eth0', pin: '4711' }, 'nothing registered is that short yet');
  r.addSecret('4711');
  t.same(r.redact({ dev: 'eth0', pin: '4711' }), { dev: 'eth0', pin: '<secret #3>' });
  t.same(r.redact({ auth: 'Bearer abcdefgh12' }), { auth: 'Bearer <secret #4>' }, 'bearer tokens are still found');
});
t.test('a value seen under a secret key is masked where it shows up later', async (t) => {
  const r = new Redactor();
  const first = r.redact({ result: { token: 'sa-token-0123456789' } });
  t.equal(first.result.token, '<secret #1>');
  const later = r.redact({ msg: 'using sa-token-0123456789 for remote' });
  t.equal(later.msg, 'using <secret #1> for remote');
});

t.test('Kubernetes Secret data, PEM private keys and bearer tokens', async (t) => {
  const r = new Redactor();
  const out = r.redact({
    kind: 'Secret',
    metadata: { name: 'cacerts' },
    data: { 'ca-key.pem': Buffer.from('root-ca-private-key-bytes').toString('base64') },
  });
  t.equal(out.metadata.name, 'cacerts');
  t.match(out.data['ca-key.pem'], /^<secret #\d+>$/);
  t.match(r.redactText('decoded: root-ca-private-key-bytes'), /^decoded: <secret #\d+>$/);
  const pem = '-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----';
  t.notMatch(r.redactText(`key:\n${pem}\n`), 'MIIEabc');
  t.notMatch(r.redactText('curl -H "Authorization: Bearer abcdefgh12345"'), 'abcdefgh12345');
  t.notMatch(JSON.stringify(r.redact({ headers: { Authorization: 'Bearer zzz' } })), 'zzz');
});

t.test('extra secret keys (a module secretArgs)', async (t) => {
  const r = new Redactor();
  t.same(r.redact({ args: { join_code: 'x1' } }, { secretKeys: ['join_code'] }), { args: { join_code: '<secret #1>' } });
});

t.test('redact copies, never mutates, and survives cycles and odd values', async (t) => {
  const r = new Redactor();
  r.addSecret('long-enough-secret');
  const input: Record<string, unknown> = { s: 'long-enough-secret', n: 1n, d: new Date(0), e: new Error('bad long-enough-secret') };
  input.self = input;
  const out = r.redact(input) as Record<string, unknown>;
  t.equal(input.s, 'long-enough-secret');
  t.equal(out.s, '<secret #1>');
  t.equal(out.self, '[Circular]');
  t.equal(out.n, 1n);
  t.same(out.e, { name: 'Error', message: 'bad <secret #1>' });
});

t.test('noLog keeps only the status fields', async (t) => {
  const hidden = noLog({ changed: true, failed: true, msg: 'password hunter2 rejected', stdout: 'hunter2', attempts: 2 });
  t.same(hidden, {
    censored: NO_LOG_CENSORED,
    changed: true,
    failed: true,
    attempts: 2,
    msg: 'the output has been hidden due to the no_log: true specified for this result',
  });
  t.same(noLog({ changed: false, stdout: 'x' }), { censored: NO_LOG_CENSORED, changed: false });
});

t.test('a planted secret never reaches any output format', async (t) => {
  const secret = 'Pl4nted-S3cret-Value';
  const b64 = Buffer.from(secret).toString('base64');
  const redactor = new Redactor();
  redactor.addSecret(secret);
  const dir = await mkdtemp(join(tmpdir(), 'redact-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const outs = { plain: sink(), json: sink(), ndjson: sink(), plainV: sink() };
  const junitFile = join(dir, 'junit.xml');
  const base = { verbosity: 0, diff: true, check: false };
  const reporter = redacting(
    fanOut(
      createReporter('plain', { ...base, stream: outs.plain.stream }),
      createReporter('plain', { ...base, verbosity: 4, stream: outs.plainV.stream }),
      createReporter('json', { ...base, stream: outs.json.stream }),
      createReporter('ndjson', { ...base, stream: outs.ndjson.stream }),
      createJunitReporter(junitFile),
    ),
    redactor,
  );
  const registered = { stdout: `token=${secret}`, api: { token: 'other-token-abcdefgh' } };
  const events: RunEvent[] = [
    { type: 'playbook_start', file: 'site.yml', check: false },
    { type: 'play_start', play: 'mesh', hosts: ['c1'] },
    { type: 'task_start', play: 'mesh', task: 'write kubeconfig', hosts: ['c1'] },
    {
      type: 'task_result', play: 'mesh', task: 'write kubeconfig', host: 'c1', status: 'changed', durationMs: 5,
      result: { changed: true, diff: [{ before: 'token: old\n', after: `token: ${secret}\n`, afterHeader: '/etc/kubeconfig' }] },
    },
    { type: 'task_end', play: 'mesh', task: 'write kubeconfig', durationMs: 5 },
    { type: 'task_start', play: 'mesh', task: 'login', hosts: ['c1'] },
    {
      type: 'task_result', play: 'mesh', task: 'login', host: 'c1', status: 'failed', durationMs: 3,
      result: { failed: true, msg: `login failed with password ${secret}`, cmd: ['login', '-p', secret], nested: { deep: [{ v: b64 }] }, registered },
    },
    { type: 'task_end', play: 'mesh', task: 'login', durationMs: 3 },
    { type: 'task_start', play: 'mesh', task: 'reuse', hosts: ['c1'] },
    { type: 'task_result', play: 'mesh', task: 'reuse', host: 'c1', status: 'ok', durationMs: 1, item: secret, result: { msg: registered.stdout, again: 'other-token-abcdefgh' } },
    { type: 'task_end', play: 'mesh', task: 'reuse', durationMs: 1 },
    { type: 'warning', message: `could not verify ${secret}` },
    { type: 'log', level: 1, message: `exec login -p ${secret}`, host: 'c1' },
    { type: 'play_end', play: 'mesh' },
    { type: 'recap', stats: { c1: { ok: 2, changed: 1, unreachable: 0, failed: 1, skipped: 0, rescued: 0, ignored: 0 } }, durationMs: 9, exitCode: 2, reason: 'failed', problems: [`bad value ${secret}`] },
  ];
  for (const e of events) reporter.onEvent(e);
  await reporter.close();
  const written = {
    plain: outs.plain.text(),
    plainV: outs.plainV.text(),
    json: outs.json.text(),
    ndjson: outs.ndjson.text(),
    junit: await readFile(junitFile, 'utf8'),
  };
  for (const [name, text] of Object.entries(written)) {
    t.ok(text.length > 0, `${name} wrote something`);
    t.notOk(text.includes(secret), `${name}: secret absent`);
    t.notOk(text.includes(b64), `${name}: base64 secret absent`);
    t.notOk(text.includes('other-token-abcdefgh'), `${name}: key-masked value absent when reused`);
  }
  t.match(written.plain, '+token: <secret #1>', 'diff shows the mask');
  t.match(written.plainV, 'exec login -p <secret #1>');
  t.match(written.json, '"msg": "login failed with password <secret #1>"');
});

t.test('events with nothing to mask pass through uncopied; anything to mask or convert is copied', async (t) => {
  const r = new Redactor();
  const clean = { type: 'task_result', result: { routes: Array.from({ length: 50 }, (_, i) => ({ dest: `10.0.${i}.0/24`, via: '10.1.1.1' })) } };
  t.equal(r.redact(clean), clean, 'the same object: no copy made');
  const withKey = { result: { password: 'hunter2-long-enough' } };
  const masked = r.redact(withKey);
  t.not(masked, withKey);
  t.match(masked, { result: { password: '<secret #1>' } });
  t.equal(withKey.result.password, 'hunter2-long-enough', 'input untouched');
  const later = { msg: 'login with hunter2-long-enough now' };
  t.same(r.redact(later), { msg: 'login with <secret #1> now' }, 'a registered value inside text is found');
  const pem = { out: '-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----' };
  t.not(r.redact(pem), pem);
  const bearer = { header: 'Authorization: Bearer abcdefgh12345678' };
  t.match(r.redact(bearer), { header: /Bearer <secret #\d+>/ });
  t.same(r.redact({ m: new Map([['a', 1]]) }), { m: { a: 1 } }, 'a Map is converted, as before');
  const secretObject = { kind: 'Secret', data: { a: Buffer.from('s3cr3t-value').toString('base64') } };
  t.not(r.redact(secretObject), secretObject, 'a Kubernetes Secret is always copied and masked');
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic.self = cyclic;
  t.same(r.redact(cyclic), { a: 1, self: '[Circular]' });
});

t.test('a key once found clean is judged again after a secret is registered, and under extra secret keys', async (t) => {
  const r = new Redactor();
  const keyed = { result: { 'zone-8f3a2b1c9d7e': 'ok', via: '10.1.1.1' } };
  t.equal(r.redact(keyed), keyed, 'nothing secret yet: passed through');
  r.addSecret('8f3a2b1c9d7e');
  const after = r.redact(keyed);
  t.not(after, keyed, 'the key now holds a registered secret');
  t.same(Object.keys(after.result), ['zone-<secret #1>', 'via']);
  const plain = { result: { station: 'east' } };
  t.equal(r.redact(plain), plain);
  t.match(r.redact(plain, { secretKeys: ['station'] }), { result: { station: /^<secret #\d+>$/ } }, 'a module secretArg is secret whatever the key was found before');
  t.equal(r.redact({ result: { station: 'west' } }).result.station, 'west', 'and only under that module');
});

t.test('a frozen value shared by many events is judged once, again after a secret is registered, never if it has a getter', async (t) => {
  const r = new Redactor();
  const probes = Object.freeze([Object.freeze({ node: 'n1', address: 'addr-7c1f9e2d4b' })]);
  const event = (host: string) => ({ host, result: { probes } });
  t.equal(r.redact(event('a')).result.probes, probes, 'clean: passed through');
  t.equal(r.redact(event('b')).result.probes, probes, 'and again');
  r.addSecret('7c1f9e2d4b');
  t.same(r.redact(event('c')).result.probes, [{ node: 'n1', address: 'addr-<secret #1>' }], 'a secret registered since: masked');
  let value = 'plain';
  const changing = Object.freeze({
    get note() {
      return value;
    },
  });
  t.equal(r.redact({ changing }).changing, changing);
  value = 'the 7c1f9e2d4b again';
  t.same(r.redact({ changing }), { changing: { note: 'the <secret #1> again' } }, 'a getter is read each time');
  const thawed = { list: Object.freeze(['x']) } as { list: readonly string[]; extra?: string };
  t.equal(r.redact(thawed), thawed);
  thawed.extra = 'with 7c1f9e2d4b';
  t.same(r.redact(thawed), { list: ['x'], extra: 'with <secret #1>' }, 'a mutable parent of a frozen child is walked again');
});
