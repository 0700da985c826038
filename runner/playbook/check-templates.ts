// The playbook loader's template checks: every template string in a playbook, a task file, a vars file or a
// role's defaults/vars, and every template file reached by `template: {src: <static>}` or
// `lookup('template', '<static>')`, is parsed before anything runs. A syntax error, or a filter, test or lookup
// plugin meshplay does not have, is a problem at its file:line:column (the template file's own line for a .j2).
import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Problem } from '../errors.js';
import { sourceCandidates } from '../modules/template.js';
import { inspectTemplate, type TemplateFinding } from '../template/check.js';
import { isTemplate } from '../template/index.js';
import { findFile, lookupSearchPaths } from '../template/lookups.js';
import { displayPath, readSourceText, type PathSegment, type SourceFile } from '../yaml/source.js';

/** Task and block keywords whose strings are bare expressions, as Ansible evaluates them. */
const EXPRESSION_KEYS = new Set(['when', 'changed_when', 'failed_when', 'until']);
/** Module arguments that are bare expressions. */
const EXPRESSION_ARGS: Record<string, Set<string>> = { assert: new Set(['that']), debug: new Set(['var']) };
/** Keys whose values are tasks, checked as tasks of their own. */
const NESTED_TASKS = new Set(['block', 'rescue', 'always']);

/** Where templates are looked for: the role the text belongs to, and the playbook. */
export interface TemplateDirs {
  roleDir?: string;
  playbookDir: string;
}

const isFile = (f: string) => existsSync(f) && statSync(f).isFile();

export class TemplateChecks {
  /** Template files already checked (a file used by many tasks is reported once). */
  private readonly checkedFiles = new Set<string>();

  constructor(private readonly problems: Problem[]) {}

  /** Every template in a task entry (a module task, a block's own keywords, an include). */
  task(src: SourceFile, path: PathSegment[], raw: Record<string, unknown>, dirs: TemplateDirs): void {
    for (const [key, value] of Object.entries(raw)) {
      if (NESTED_TASKS.has(key)) continue;
      if (EXPRESSION_KEYS.has(key)) {
        this.expressions(src, [...path, key], value, dirs);
        continue;
      }
      const exprArgs = EXPRESSION_ARGS[key.replace(/^ansible\.builtin\./, '')];
      if (exprArgs && isRecord(value)) {
        for (const [arg, v] of Object.entries(value)) {
          if (exprArgs.has(arg)) this.expressions(src, [...path, key, arg], v, dirs);
          else this.value(src, [...path, key, arg], v, dirs);
        }
        continue;
      }
      this.value(src, [...path, key], value, dirs);
    }
  }

  /** A role entry (`roles:` item): its `when` is an expression, the rest templates. */
  roleEntry(src: SourceFile, path: PathSegment[], raw: unknown, dirs: TemplateDirs): void {
    if (isRecord(raw)) this.task(src, path, raw, dirs);
  }

  /** Every template string inside `value` (keys included: meshplay renders templated keys too). */
  value(src: SourceFile, path: PathSegment[], value: unknown, dirs: TemplateDirs): void {
    if (typeof value === 'string') {
      if (isTemplate(value)) this.report(src, path, value, false, dirs);
    } else if (Array.isArray(value)) value.forEach((v, i) => this.value(src, [...path, i], v, dirs));
    else if (isRecord(value)) {
      for (const [k, v] of Object.entries(value)) {
        if (isTemplate(k)) this.report(src, [...path, k], k, false, dirs, true);
        this.value(src, [...path, k], v, dirs);
      }
    }
  }

  /** A condition: a bare expression, or a list of them (a string holding `{{ }}` is rendered first, as Ansible does). */
  private expressions(src: SourceFile, path: PathSegment[], value: unknown, dirs: TemplateDirs): void {
    if (Array.isArray(value)) value.forEach((v, i) => this.expressions(src, [...path, i], v, dirs));
    else if (typeof value === 'string' && value.trim() !== '') this.report(src, path, value, !isTemplate(value), dirs);
  }

  private report(src: SourceFile, path: PathSegment[], text: string, expression: boolean, dirs: TemplateDirs, key = false): void {
    const { problems, templateFiles } = inspectTemplate(text, expression);
    const at = src.positionOf(path, key);
    for (const p of problems) this.problems.push({ ...at, message: inYaml(p, text), expected: p.expected });
    for (const name of templateFiles) this.lookedUpFile(name, lookupSearchPaths(dirs.roleDir, dirs.playbookDir));
  }

  /** The file of `template: {src: ...}` with a static src: it must exist, and is checked as a template. */
  templateModuleSource(src: SourceFile, path: PathSegment[], name: string, dirs: TemplateDirs): void {
    if (isTemplate(name)) return;
    const candidates = sourceCandidates(dirs.roleDir, dirs.playbookDir, name, 'templates');
    const found = candidates.find(isFile);
    if (!found) {
      this.problems.push(src.problem(path, `template source '${name}' not found`, `a file at one of: ${candidates.map(displayPath).join(', ')}`));
      return;
    }
    this.file(found, lookupSearchPaths(dirs.roleDir, dirs.playbookDir));
  }

  /** A file named by lookup('template', ...): found as rendering finds it; one not found here may come from the inventory's folder. */
  private lookedUpFile(name: string, searchPaths: string[]): void {
    let found: string;
    try {
      found = findFile(name, { searchPaths }, 'templates');
    } catch {
      return;
    }
    this.file(found, searchPaths);
  }

  private file(file: string, searchPaths: string[]): void {
    if (this.checkedFiles.has(file)) return;
    this.checkedFiles.add(file);
    const read = readSourceText(displayPath(file));
    if ('problem' in read) {
      this.problems.push({ ...read.problem, expected: 'a readable UTF-8 template file' });
      return;
    }
    const { problems, templateFiles } = inspectTemplate(read.text);
    for (const p of problems) this.problems.push({ file: displayPath(file), line: p.line, column: p.column, message: p.message, expected: p.expected });
    // Templates looked up from a template are found beside it first, as rendering finds them.
    for (const name of templateFiles) this.lookedUpFile(name, [dirname(file), ...searchPaths]);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finding inside a YAML string: the string's own position is reported; a multi-line one also names its line. */
function inYaml(p: TemplateFinding, text: string): string {
  return text.includes('\n') ? `${p.message} (line ${p.line} of the template)` : p.message;
}
