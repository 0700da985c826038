// Loop labels as Ansible prints them: the `(item=...)` of every loop line comes from real ansible-playbook
// (test/fixtures/loop-labels/ansible-items.txt, recorded by it; LOOP_LABELS_RECORD=1 re-records when Ansible is
// installed). A module's own list of results (k8s applying several objects) is not shown as loop items, and a
// very long item is shortened with what was cut said.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { meshplay, repoRoot } from './helpers/cli.js';
import { painter, resultLines } from '../runner/output/format.js';

const dir = join(repoRoot, 'test', 'fixtures', 'loop-labels');
const playbook = join(dir, 'playbook.yml');
const recorded = join(dir, 'ansible-items.txt');

/** The `(item=...)` part of each loop line, without the result that may follow it. */
function itemLines(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.includes('(item='))
    .map((l) => l.replace(/^(.*?\(item=.*\))(?: => [{\[].*)?$/, '$1').trimEnd());
}

t.test('every loop line shows the item as ansible-playbook does', async (t) => {
  if (process.env.LOOP_LABELS_RECORD) {
    const r = await promisify(execFile)('ansible-playbook', ['-i', 'localhost,', '-c', 'local', playbook], { env: { ...process.env, ANSIBLE_NOCOLOR: '1' } });
    await writeFile(recorded, itemLines(r.stdout).join('\n') + '\n');
  }
  const expected = (await readFile(recorded, 'utf8')).trimEnd().split('\n').map((l) => l.trimEnd());
  const run = await meshplay(['run', playbook, '-i', join(repoRoot, 'test', 'parity', 'inventory.yml')]);
  t.equal(run.code, 0, run.stdout + run.stderr);
  t.same(itemLines(run.stdout), expected);
  t.notMatch(run.stdout, 'item=null');
});

t.test('a module result listing several objects is one result, not loop items', async (t) => {
  const lines = resultLines(
    {
      type: 'task_result', play: 'p', task: 'apply manifests', host: 'east', status: 'changed', durationMs: 1,
      result: { changed: true, method: 'created', results: [{ name: 'ConfigMap/a', method: 'created' }, { name: 'ConfigMap/b', method: 'created' }] },
    },
    { verbosity: 0, diff: false, paint: painter(false) },
  );
  t.same(lines, ['changed: [east]']);
});

t.test('a long item is shortened, saying how much was cut', async (t) => {
  const item = { manifest: 'x'.repeat(500) };
  const lines = resultLines(
    {
      type: 'task_result', play: 'p', task: 'loop', host: 'east', status: 'ok', durationMs: 1,
      result: { changed: false, results: [{ changed: false, item, ansible_loop_var: 'item' }] },
    },
    { verbosity: 0, diff: false, paint: painter(false) },
  );
  t.equal(lines.length, 1);
  t.match(lines[0], /^ok: \[east\] => \(item=\{'manifest': 'x+\.\.\. \(\d+ more characters\)\)$/);
  t.ok(lines[0].length < 220, lines[0]);
});
