// Loads variables from a YAML or JSON file, or from every such file of a folder, into the host's variables
// at include_vars precedence (above task vars, below set_fact and registered results; the executor keeps them
// in their own layer). The values stay templates: they render where they are used, as in Ansible.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { loadYamlFile } from '../yaml/source.js';
import { formatProblem } from '../errors.js';
import { carryFloats } from '../template/float.js';
import { pythonRegex } from '../template/regex.js';
import { findSource } from './template.js';
import { array, boolean, integer, object, string, typed, withDefault, type ArgsOf } from './args.js';
import type { Module, ModuleContext, ModuleResult } from './types.js';


type Dict = Record<string, unknown>;

class IncludeVarsError extends Error {}

function loadVarsFile(file: string): Dict {
  const src = loadYamlFile(file);
  if (src.problems.length) throw new IncludeVarsError(src.problems.map(formatProblem).join('; '));
  const value = src.value ?? {};
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new IncludeVarsError(`${file} must be stored as a dictionary/hash`);
  return value as Dict;
}

/** The folder a relative `dir` names: the role's vars/ (or the role itself for vars/...), else the playbook's folder. */
function folderOf(ctx: ModuleContext, dir: string): string {
  if (isAbsolute(dir)) return dir;
  if (ctx.roleDir) return dir.split('/')[0] === 'vars' && existsSync(join(ctx.roleDir, dir)) ? join(ctx.roleDir, dir) : join(ctx.roleDir, 'vars', dir);
  return join(ctx.playbookDir, dir);
}

/** Files of a folder and its subfolders (to `depth` levels, 0: all), folders by path and files by name, as Ansible sorts them. */
function walk(root: string, depth: number): Array<[string, string[]]> {
  const folders: Array<[string, string[]]> = [];
  const visit = (dir: string) => {
    const entries = readdirSync(dir).sort();
    folders.push([dir, entries.filter((e) => statSync(join(dir, e)).isFile())]);
    for (const e of entries) if (statSync(join(dir, e)).isDirectory()) visit(join(dir, e));
  };
  visit(root);
  folders.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return depth > 0 ? folders.slice(0, depth) : folders;
}

function loadFolder(ctx: ModuleContext, args: ArgsOf<typeof schema>, extensions: string[], files: string[]): Dict {
  const root = folderOf(ctx, args.dir!);
  if (!existsSync(root)) throw new IncludeVarsError(`${args.dir} directory does not exist`);
  const matcher = args.files_matching !== undefined ? pythonRegex(args.files_matching) : undefined;
  const ignored = (typeof args.ignore_files === 'string' ? args.ignore_files.split(/\s+/) : args.ignore_files ?? []).map((p) => pythonRegex(`(?:${p})$`));
  const out: Dict = {};
  for (const [dir, names] of walk(root, args.depth ?? 0)) {
    for (const name of names) {
      if (matcher && !matcher.test(name)) continue;
      if (ignored.some((re) => re.test(name))) continue;
      const ext = name.includes('.') ? name.slice(name.lastIndexOf('.') + 1) : '';
      if (!extensions.includes(ext)) {
        if (args.ignore_unknown_extensions) continue;
        throw new IncludeVarsError(`${join(dir, name)} does not have a valid extension: ${extensions.join(', ')}`);
      }
      const vars = loadVarsFile(join(dir, name));
      Object.assign(out, vars);
      carryFloats(out, vars);
      files.push(join(dir, name));
    }
  }
  return out;
}

const schema = object({
  file: string(),
  dir: string(),
  name: string({ pattern: '^[A-Za-z_][A-Za-z0-9_]*$' }),
  depth: withDefault(integer({ minimum: 0 }), 0),
  files_matching: string(),
  ignore_files: typed<string | string[]>({ anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }] }),
  extensions: withDefault(array(string()), ['json', 'yaml', 'yml']),
  ignore_unknown_extensions: withDefault(boolean(), false),
});

/** What the files hold (read on the controller), or why they could not be read. */
type Loaded = { vars: Dict; files: string[] } | { error: string };

const includeVars: Module<typeof schema, Loaded> = {
  name: 'include_vars',
  local: true,
  schema,
  async facts(ctx, args) {
    if (args.file !== undefined && args.dir !== undefined) throw new Error('include_vars: give file or dir, not both');
    if (args.file === undefined && args.dir === undefined) throw new Error('include_vars: give a file (or the free-form path) or a dir');
    const files: string[] = [];
    try {
      if (args.dir !== undefined) return { vars: loadFolder(ctx, args, args.extensions, files), files };
      const file = findSource(ctx, args.file!, 'vars');
      const vars = loadVarsFile(file);
      files.push(file);
      return { vars, files };
    } catch (error) {
      if (!(error instanceof IncludeVarsError)) throw error;
      return { error: error.message };
    }
  },
  plan(loaded, args) {
    // As Ansible's action: a failure's reason is in `message`.
    if ('error' in loaded) return { changed: false, result: { failed: true, message: loaded.error, ansible_facts: {}, ansible_included_var_files: [] } };
    const result: ModuleResult = { changed: false, ansible_facts: args.name ? { [args.name]: loaded.vars } : loaded.vars, ansible_included_var_files: loaded.files };
    return { changed: false, result };
  },
};

export default includeVars;
