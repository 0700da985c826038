// Every command answers --help/-h with its own options (exit 0), and a misspelled option exits 5 naming it and
// the nearest known option. The help text and the parser come from one spec, so an option listed is an option taken.
import t from 'tap';
import { meshplay } from './helpers/cli.js';

const commands: { args: string[]; options: string[] }[] = [
  { args: ['run'], options: ['--inventory', '--limit', '--tags', '--skip-tags', '--extra-vars', '--check', '--diff', '--detailed-exitcode', '--forks', '--syntax-check', '--list-tasks', '--start-at-task', '--output', '--junit', '--ssh-accept-new'] },
  { args: ['inventory'], options: ['--inventory', '--list', '--graph', '--host'] },
  { args: ['status'], options: ['--inventory', '--output', '--no-routes', '--pilot', '--vault-id', '--ask-vault-pass'] },
  { args: ['lab', 'up'], options: ['--clusters', '--nodes', '--overlap', '--no-kube', '--topology'] },
  { args: ['lab', 'down'], options: ['--help'] },
  { args: ['lab', 'status'], options: ['--help'] },
];

for (const c of commands) {
  for (const flag of ['--help', '-h']) {
    t.test(`meshplay ${c.args.join(' ')} ${flag}`, async (t) => {
      const r = await meshplay([...c.args, flag]);
      t.equal(r.code, 0, r.stderr);
      t.match(r.stdout, new RegExp(`^usage: meshplay ${c.args.join(' ')}`), 'starts with its usage line');
      for (const o of c.options) t.match(r.stdout, new RegExp(`\\n\\s+(-\\w, )?${o}\\b`), `lists ${o}`);
      t.equal(r.stderr, '', 'nothing on stderr');
    });
  }
}

t.test('top-level help lists the commands and says how to get per-command help', async (t) => {
  const r = await meshplay(['--help']);
  t.equal(r.code, 0);
  for (const c of ['run', 'inventory', 'status', 'lab', 'doc']) t.match(r.stdout, new RegExp(`\\n  ${c} `), c);
  t.match(r.stdout, /meshplay COMMAND --help/);
});

t.test('an unknown option exits 5 naming it and the nearest option', async (t) => {
  const cases: [string[], RegExp][] = [
    [['run', 'x.yml', '-i', 'inv.yml', '--chek'], /unknown option '--chek'; did you mean '--check'\?/],
    [['run', 'x.yml', '-i', 'inv.yml', '--skiptags', 'a'], /unknown option '--skiptags'; did you mean '--skip-tags'\?/],
    [['run', 'x.yml', '--inventroy', 'inv.yml'], /unknown option '--inventroy'; did you mean '--inventory'\?/],
    [['inventory', '-i', 'inv.yml', '--lsit'], /unknown option '--lsit'; did you mean '--list'\?/],
    [['status', '-i', 'inv.yml', '--no-route'], /unknown option '--no-route'; did you mean '--no-routes'\?/],
    [['lab', 'up', '--cluster', '2'], /unknown option '--cluster'; did you mean '--clusters'\?/],
    [['run', 'x.yml', '-i', 'inv.yml', '--frobnicate'], /unknown option '--frobnicate' \(see meshplay run --help\)/],
  ];
  for (const [args, re] of cases) {
    const r = await meshplay(args);
    t.equal(r.code, 5, `${args.join(' ')} exits 5`);
    t.match(r.stderr, re, args.join(' '));
  }
});

t.test('an option value that starts with a dash, given inline, is a value', async (t) => {
  // --limit=-web is a pattern; the run then fails on the missing files (exit 4), not on options (5).
  const r = await meshplay(['run', 'missing.yml', '-i', 'missing-inventory.yml', '--limit=-web']);
  t.equal(r.code, 4, r.stderr);
});

t.test('an unknown command suggests the nearest one', async (t) => {
  const r = await meshplay(['inventroy']);
  t.equal(r.code, 5);
  t.match(r.stderr, /unknown command 'inventroy'; did you mean 'inventory'\?/);
});
