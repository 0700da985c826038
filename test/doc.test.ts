// `meshplay doc`: every module and every role is documented from its one schema (modules: schema + prose in
// runner/modules/docs.ts, cross-checked here; roles: meta/argument_specs.yml), and the generated files
// (docs/modules.md, docs/roles.md, each role README's inputs table) are current.
import t from 'tap';
import { readFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { meshplay, repoRoot } from './helpers/cli.js';
import { loadModule, moduleNames } from '../runner/modules/index.js';
import { MODULE_DOCS } from '../runner/modules/docs.js';
import { schemaRows } from '../runner/doc/render.js';
import { generateDocs } from '../runner/doc/generate.js';

function schemaDefault(schema: any, dotted: string): boolean {
  let s = schema;
  for (const part of dotted.split('.')) s = (s?.properties ?? s?.items?.properties)?.[part];
  return !!s && 'default' in s;
}

t.test('every module argument in every schema has a description, and the prose names no argument the schema lacks', async (t) => {
  for (const name of moduleNames()) {
    const mod = await loadModule(name);
    const doc = MODULE_DOCS[name];
    t.ok(doc, `${name} has documentation`);
    if (!doc) continue;
    t.ok(doc.short && doc.example, `${name}: a one-line summary and an example`);
    const rows = schemaRows(mod.schema, doc);
    for (const r of rows) t.ok(r.description, `${name}: ${r.name} is described`);
    const names = new Set(rows.map((r) => r.name));
    for (const k of Object.keys(doc.options)) t.ok(names.has(k), `${name}: documented ${k} is an argument of the schema`);
    // One definition of each default: the schema's, applied by the executor (runner/modules/args.ts).
    for (const [k, o] of Object.entries(doc.options)) {
      if ('default' in o) t.notOk(schemaDefault(mod.schema, k), `${name}: ${k}'s default is written in its schema, not again in docs.ts`);
    }
    // The example is a task that uses this module.
    const task = parse(doc.example)[0];
    t.ok(Object.keys(task).some((k) => k === name), `${name}: the example is a task of this module`);
  }
});

t.test('meshplay doc MODULE prints every argument with type, choices and defaults', async (t) => {
  const k8s = await meshplay(['doc', 'k8s']);
  t.equal(k8s.code, 0, k8s.stderr);
  t.match(k8s.stdout, /^> K8S/);
  t.match(k8s.stdout, /- state\n\s+present: apply the objects; absent: delete them\.\n\s+choices: \[present, absent\]\n\s+default: present\n\s+type: str/);
  t.match(k8s.stdout, /= prune\.selector\n/, "required inside prune");
  t.match(k8s.stdout, /EXAMPLES:/);
  t.match(k8s.stdout, /RETURN VALUES:/);
  const assert = await meshplay(['doc', 'ansible.builtin.assert']);
  t.equal(assert.code, 0);
  t.match(assert.stdout, /= that\n/, 'a required argument is marked with =');
  const unknown = await meshplay(['doc', 'k8s_inf']);
  t.equal(unknown.code, 1);
  t.match(unknown.stderr, /unknown module 'k8s_inf'; did you mean 'k8s_info'\?/);
});

t.test('meshplay doc --list names every module and role', async (t) => {
  const r = await meshplay(['doc', '--list']);
  t.equal(r.code, 0);
  for (const name of moduleNames()) t.match(r.stdout, new RegExp(`^${name}\\s+\\S`, 'm'), name);
  for (const role of readdirSync(join(repoRoot, 'roles'))) t.match(r.stdout, new RegExp(`^  ${role}$`, 'm'), role);
});

t.test('meshplay doc --role ROLE for every role lists each input of its argument spec', async (t) => {
  for (const role of readdirSync(join(repoRoot, 'roles'))) {
    const r = await meshplay(['doc', '--role', role]);
    t.equal(r.code, 0, `${role}: ${r.stderr}`);
    const spec = parse(readFileSync(join(repoRoot, 'roles', role, 'meta', 'argument_specs.yml'), 'utf8')).argument_specs.main;
    for (const name of Object.keys(spec.options)) t.match(r.stdout, new RegExp(`^[-=] ${name}$`, 'm'), `${role}: ${name}`);
  }
});

t.test('the generated documentation files are current (node scripts/gen-docs.mjs)', async (t) => {
  const files = await generateDocs(repoRoot);
  t.ok(Object.keys(files).length >= 2);
  for (const [file, text] of Object.entries(files)) {
    const committed = existsSync(join(repoRoot, file)) ? readFileSync(join(repoRoot, file), 'utf8') : '';
    t.ok(committed === text, `${file} is current (run npm run build && node scripts/gen-docs.mjs)`);
  }
});

t.test('every role has a README with its generated inputs', async (t) => {
  for (const role of readdirSync(join(repoRoot, 'roles'))) {
    const f = join(repoRoot, 'roles', role, 'README.md');
    t.ok(existsSync(f), `${role} has a README`);
    if (existsSync(f)) t.match(readFileSync(f, 'utf8'), /BEGIN inputs: generated/, `${role}'s README has its inputs table`);
  }
});
