// `meshplay doc`: what ansible-doc is to Ansible. Module documentation from each module's schema and prose,
// role documentation from the role's argument specs.
import { existsSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ExitCode, formatProblem } from '../errors.js';
import { answerCommandLine, nearest, parseCommandLine, type CommandSpec } from './options.js';

export const DOC_COMMAND: CommandSpec = {
  name: 'meshplay doc',
  usage: ['meshplay doc MODULE', 'meshplay doc --list', 'meshplay doc --role ROLE [--roles-path DIR]'],
  summary: "Show a module's arguments (type, default, choices, required), return values and an example; or a role's inputs.",
  options: [
    { name: 'list', short: 'l', type: 'boolean', help: 'list the modules (and the roles found) with one line each' },
    { name: 'role', short: 'r', type: 'string', arg: 'ROLE', help: "document a role from its meta/argument_specs.yml" },
    { name: 'roles-path', type: 'string', arg: 'DIR', help: 'where roles are looked up (default: ./roles, then the roles shipped with meshplay)' },
  ],
};

/** The roles meshplay ships, next to dist/ in a checkout or an installed package. */
function shippedRolesDir(): string {
  return resolve(fileURLToPath(new URL('../../', import.meta.url)), '..', 'roles');
}

export function roleDirs(rolesPath?: string): string[] {
  return [rolesPath, join(process.cwd(), 'roles'), shippedRolesDir()].filter((d): d is string => !!d && existsSync(d));
}

export async function loadRoleSpecs(dir: string): Promise<{ specs?: import('../playbook/argument-specs.js').ArgumentSpecs; problems: string[] }> {
  const { loadYamlFile } = await import('../yaml/source.js');
  const { readArgumentSpecs } = await import('../playbook/argument-specs.js');
  for (const [file, key] of [[join(dir, 'meta', 'argument_specs.yml'), true], [join(dir, 'meta', 'main.yml'), false]] as const) {
    if (!existsSync(file)) continue;
    const src = loadYamlFile(file);
    if (src.problems.length) return { problems: src.problems.map(formatProblem) };
    const root = (src.value as Record<string, unknown> | null)?.argument_specs;
    if (root === undefined) {
      if (key) return { problems: [`${file}: no argument_specs key`] };
      continue;
    }
    const read = readArgumentSpecs(src, root, ['argument_specs']);
    return { specs: read.specs, problems: read.problems.map(formatProblem) };
  }
  return { problems: [] };
}

export async function docCommand(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(DOC_COMMAND, argv, { allowPositionals: true });
  } catch (e) {
    return answerCommandLine(e, 'meshplay doc');
  }
  const v = parsed.values as { list?: boolean; role?: string; 'roles-path'?: string };
  const [{ moduleNames, loadModule, moduleName }, { MODULE_DOCS }, render] = await Promise.all([
    import('../modules/index.js'),
    import('../modules/docs.js'),
    import('../doc/render.js'),
  ]);
  if (v.list) {
    const names = moduleNames();
    const width = Math.max(...names.map((n) => n.length)) + 2;
    for (const n of names) process.stdout.write(`${n.padEnd(width)}${MODULE_DOCS[n]?.short ?? ''}\n`);
    const roles = [...new Set(roleDirs(v['roles-path']).flatMap((d) => readdirSync(d).filter((r) => existsSync(join(d, r, 'tasks')))))].sort();
    if (roles.length) {
      process.stdout.write('\nroles (meshplay doc --role ROLE):\n');
      for (const r of roles) process.stdout.write(`  ${r}\n`);
    }
    return ExitCode.ok;
  }
  if (v.role) {
    const dir = roleDirs(v['roles-path']).map((d) => join(d, v.role!)).find((d) => existsSync(d));
    if (!dir) {
      const known = roleDirs(v['roles-path']).flatMap((d) => readdirSync(d));
      const near = nearest(v.role, known);
      process.stderr.write(`meshplay doc: role '${v.role}' not found${near ? `; did you mean '${near}'?` : ''}\n`);
      return ExitCode.error;
    }
    const { specs, problems } = await loadRoleSpecs(dir);
    if (problems.length) {
      for (const p of problems) process.stderr.write(`ERROR: ${p}\n`);
      return ExitCode.parseError;
    }
    if (!specs) {
      process.stderr.write(`meshplay doc: role '${v.role}' has no argument specs (meta/argument_specs.yml)\n`);
      return ExitCode.error;
    }
    const readme = existsSync(join(dir, 'README.md')) ? join(dir, 'README.md') : undefined;
    process.stdout.write(Object.entries(specs).map(([entry, spec]) => render.roleText(v.role!, entry, spec, readme)).join('\n'));
    return ExitCode.ok;
  }
  if (parsed.positionals.length !== 1) {
    process.stderr.write(`usage: ${DOC_COMMAND.usage.join('\n       ')}\n`);
    return ExitCode.badOption;
  }
  const asked = parsed.positionals[0]!;
  const name = moduleName(asked);
  if (!name) {
    const near = nearest(asked, moduleNames());
    process.stderr.write(`meshplay doc: unknown module '${asked}'${near ? `; did you mean '${near}'?` : ''} (meshplay doc --list)\n`);
    return ExitCode.error;
  }
  const mod = await loadModule(name);
  process.stdout.write(render.moduleText(name, mod.schema, MODULE_DOCS[name]));
  return ExitCode.ok;
}
