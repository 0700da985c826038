// Where an inventory comes from: `-i` files and directories, plus the group_vars/ and host_vars/
// directories beside them (as Ansible reads them).
import { readdirSync, statSync, type Stats } from 'node:fs';
import { basename, dirname, extname, join, resolve } from 'node:path';
import type { Problem } from '../errors.js';
import { addVaultLeaves } from '../vault/keyring.js';
import { loadYamlFile, type PathSegment, type SourceFile } from '../yaml/source.js';

const YAML_EXT = /\.ya?ml$/;

export interface InventorySources {
  /** Inventory files, in the order they are merged. */
  files: string[];
  /**
   * Directories that may hold group_vars/ and host_vars/. `strict` when the directory is itself an inventory
   * source (a file there for an unknown group or host is then a mistake); group_vars beside an inventory file
   * may be shared by several inventories, so names they do not know are ignored, as Ansible does.
   */
  varsDirs: VarsDir[];
  problems: Problem[];
}

export interface VarsDir {
  dir: string;
  strict: boolean;
}

export function expandSources(paths: string[]): InventorySources {
  const files: string[] = [];
  const varsDirs: VarsDir[] = [];
  const problems: Problem[] = [];
  const addVarsDir = (dir: string, strict: boolean) => {
    const known = varsDirs.find((x) => resolve(x.dir) === resolve(dir));
    if (known) known.strict ||= strict;
    else varsDirs.push({ dir, strict });
  };
  for (const p of paths) {
    const st = stat(p);
    if (!st) {
      problems.push({ file: p, line: 0, column: 0, message: `inventory source '${p}' does not exist`, expected: 'a YAML inventory file or a directory of them' });
      continue;
    }
    if (st.isDirectory()) {
      const inDir = yamlFilesIn(p, problems);
      if (!inDir.length) {
        problems.push({ file: p, line: 0, column: 0, message: `inventory directory '${p}' holds no *.yml or *.yaml file`, expected: 'at least one inventory file' });
      }
      for (const f of inDir) files.push(f);
      addVarsDir(p, true);
    } else {
      files.push(p);
      addVarsDir(dirname(p), false);
    }
  }
  return { files, varsDirs, problems };
}

/** stat() that answers undefined for a path that is not there (or a dangling link) instead of throwing. */
function stat(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}

/** Entries of a folder, sorted; a folder that cannot be listed is a problem, not an exception. */
function entriesOf(dir: string, problems: Problem[]): string[] {
  try {
    return readdirSync(dir).sort();
  } catch (e) {
    problems.push({ file: dir, line: 0, column: 0, message: `cannot list the folder (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, expected: 'a readable folder' });
    return [];
  }
}

/** YAML files of a folder. Names that are not regular files (sub-folders, dangling links) are left to Ansible's rules: skipped. */
function yamlFilesIn(dir: string, problems: Problem[]): string[] {
  return entriesOf(dir, problems)
    .filter((f) => YAML_EXT.test(f) && !stat(join(dir, f))?.isDirectory())
    .map((f) => join(dir, f));
}

/** A mapping of variables from one file, with the file for positions. */
export interface VarsFile {
  /** Group or host name the file is for. */
  target: string;
  src: SourceFile;
  vars: Record<string, unknown>;
  /** Path of `vars` inside the file (always the root for group_vars/host_vars files). */
  path: PathSegment[];
  /** Whether naming an unknown group or host is a problem (see VarsDir). */
  strict: boolean;
}

/**
 * group_vars/<group>.yml (or a group_vars/<group>/ directory of YAML files, merged in name order) and
 * host_vars/<host>.yml from every vars directory, in directory order.
 */
export function loadVarsFiles(varsDirs: VarsDir[], kind: 'group_vars' | 'host_vars', problems: Problem[]): VarsFile[] {
  const out: VarsFile[] = [];
  for (const { dir, strict } of varsDirs) {
    const base = join(dir, kind);
    if (!stat(base)?.isDirectory()) continue;
    for (const entry of entriesOf(base, problems)) {
      const full = join(base, entry);
      if (stat(full)?.isDirectory()) {
        for (const f of yamlFilesIn(full, problems)) pushVars(out, entry, f, strict, problems);
      } else if (YAML_EXT.test(entry)) {
        pushVars(out, basename(entry, extname(entry)), full, strict, problems);
      }
    }
  }
  return out;
}

function pushVars(out: VarsFile[], target: string, file: string, strict: boolean, problems: Problem[]): void {
  const src = loadYamlFile(file);
  if (src.problems.length) {
    for (const p of src.problems) problems.push(p);
    return;
  }
  const value = src.value;
  if (value === null || value === undefined) return;
  if (typeof value !== 'object' || Array.isArray(value)) {
    problems.push(src.problem([], `${file} must be a mapping of variable names to values`, 'a YAML mapping'));
    return;
  }
  // Every value of an encrypted group_vars/host_vars file is a secret of the run.
  if (src.vaultEncrypted) addVaultLeaves(value);
  out.push({ target, src, vars: value as Record<string, unknown>, path: [], strict });
}
