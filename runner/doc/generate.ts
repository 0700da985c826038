// The generated documentation files, as text: docs/modules.md, docs/roles.md, each role README's inputs and the
// editor schemas in schemas/ (scripts/gen-docs.mjs writes them; test/doc.test.ts compares them with the committed ones).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { loadRoleSpecs } from '../commands/doc.js';
import { loadModule, moduleNames } from '../modules/index.js';
import { MODULE_DOCS } from '../modules/docs.js';
import { argsMarkdown, modulesMarkdown, rolesMarkdown } from './render.js';
import { playbookSchemas } from './schemas.js';

export const INPUTS_BEGIN = '<!-- BEGIN inputs: generated from meta/argument_specs.yml by scripts/gen-docs.mjs -->';
export const INPUTS_END = '<!-- END inputs -->';

export async function generateDocs(repoRoot: string): Promise<Record<string, string>> {
  const modules = await Promise.all(moduleNames().map(async (name) => ({ name, schema: (await loadModule(name)).schema, doc: MODULE_DOCS[name] })));
  const rolesDir = join(repoRoot, 'roles');
  const roles: Parameters<typeof rolesMarkdown>[0] = [];
  for (const name of readdirSync(rolesDir).sort()) {
    if (!existsSync(join(rolesDir, name, 'tasks'))) continue;
    const { specs } = await loadRoleSpecs(join(rolesDir, name));
    for (const [entry, spec] of Object.entries(specs ?? {})) roles.push({ name, entry, spec });
  }
  const { PLAN_SCHEMA } = await import('../plan/file.js');
  const files: Record<string, string> = {
    'docs/modules.md': modulesMarkdown(modules),
    'docs/roles.md': rolesMarkdown(roles),
    ...(await playbookSchemas()),
    'schemas/plan.schema.json': `${JSON.stringify(PLAN_SCHEMA, null, 2)}\n`,
  };
  // Each role README's inputs section is the same table, between markers (the prose around it is written by hand).
  for (const r of roles) {
    if (r.entry !== 'main') continue;
    const readme = join('roles', r.name, 'README.md');
    if (!existsSync(join(repoRoot, readme))) continue;
    const text = readFileSync(join(repoRoot, readme), 'utf8');
    const block = `${INPUTS_BEGIN}\n${argsMarkdown(r.spec.options)}${INPUTS_END}`;
    const start = text.indexOf(INPUTS_BEGIN);
    const end = text.indexOf(INPUTS_END);
    files[readme] = start >= 0 && end > start ? text.slice(0, start) + block + text.slice(end + INPUTS_END.length) : `${text.trimEnd()}\n\n## Inputs\n\n${block}\n`;
  }
  return files;
}
