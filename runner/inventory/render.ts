// Templates inside an inventory (`token: "{{ lookup('env', 'EAST_TOKEN') }}"`) are rendered when it loads,
// so a missing variable is reported up front with its position instead of failing halfway through a run.
// `vars:` are not rendered here: they may refer to play variables and are rendered where they are used.
import { TemplateError, UndefinedVariableError, type Problem } from '../errors.js';
import type { Templater } from '../template/types.js';
import type { PathSegment, SourceFile } from '../yaml/source.js';
import { label } from './schema.js';
import { inspectTemplate } from '../template/check.js';

export interface RenderContext {
  templater?: Templater;
  env: NodeJS.ProcessEnv;
  problems: Problem[];
}

// lookup('env', 'NAME') with exactly one literal name: resolved here against the given environment.
const ENV_LOOKUP = /lookup\(\s*(['"])env\1\s*,\s*(['"])([^'"]*)\2\s*\)/g;
const TEMPLATE_SYNTAX = /\{\{|\{%/;

function isTemplate(ctx: RenderContext, s: string): boolean {
  return ctx.templater ? ctx.templater.isTemplate(s) : TEMPLATE_SYNTAX.test(s);
}

function envNames(text: string): string[] {
  return [...text.matchAll(ENV_LOOKUP)].map((m) => m[3]);
}

function reportMissingEnv(text: string, path: readonly PathSegment[], src: SourceFile, ctx: RenderContext): boolean {
  let missing = false;
  for (const name of envNames(text)) {
    if (ctx.env[name] !== undefined) continue;
    missing = true;
    ctx.problems.push(
      src.problem(path, `environment variable '${name}' is not set (looked up by ${label(path)})`, `'${name}' exported in the environment meshplay runs in`),
    );
  }
  return missing;
}

/**
 * Check the templates anywhere in `value` without rendering them (for `vars`): env lookups of unset variables,
 * syntax, and unknown filters, tests and lookup plugins.
 */
export function checkEnvLookups(value: unknown, path: PathSegment[], src: SourceFile, ctx: RenderContext): void {
  if (typeof value === 'string') {
    if (TEMPLATE_SYNTAX.test(value)) {
      reportMissingEnv(value, path, src, ctx);
      for (const p of inspectTemplate(value).problems) ctx.problems.push(src.problem(path, `${p.message} in ${label(path)}`, p.expected));
    }
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => checkEnvLookups(v, [...path, i], src, ctx));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkEnvLookups(v, [...path, k], src, ctx);
  }
}

/**
 * A copy of `value` with every template string rendered against `vars`, except under `vars` keys.
 * Failures become problems and leave the string as written.
 */
export function renderTree(value: unknown, path: PathSegment[], src: SourceFile, vars: Record<string, unknown>, ctx: RenderContext): unknown {
  if (typeof value === 'string') return isTemplate(ctx, value) ? renderString(value, path, src, vars, ctx) : value;
  if (Array.isArray(value)) return value.map((v, i) => renderTree(v, [...path, i], src, vars, ctx));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (k === 'vars') {
        checkEnvLookups(v, [...path, k], src, ctx);
        out[k] = v;
      } else out[k] = renderTree(v, [...path, k], src, vars, ctx);
    }
    return out;
  }
  return value;
}

function renderString(text: string, path: PathSegment[], src: SourceFile, vars: Record<string, unknown>, ctx: RenderContext): unknown {
  if (reportMissingEnv(text, path, src, ctx)) return text;
  const substituted = text.replace(ENV_LOOKUP, (_m, _q1, _q2, name: string) => jinjaString(ctx.env[name] ?? ''));
  try {
    return ctx.templater ? ctx.templater.render(substituted, vars) : renderWithoutEngine(substituted, vars);
  } catch (e) {
    if (e instanceof UndefinedVariableError) {
      ctx.problems.push(src.problem(path, `undefined variable '${e.variable}' in ${label(path)}`, `'${e.variable}' defined in the inventory vars, group_vars or host_vars`));
    } else {
      const why = e instanceof TemplateError || e instanceof Error ? e.message : String(e);
      ctx.problems.push(src.problem(path, `cannot render the template in ${label(path)}: ${why}`));
    }
    return text;
  }
}

function jinjaString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'").replace(/\n/g, '\\n')}'`;
}

/**
 * Enough templating for inventories loaded without the template engine: string literals (what env lookups
 * become) and plain variable names. Anything else needs the engine (pass `templater`).
 */
function renderWithoutEngine(text: string, vars: Record<string, unknown>): string {
  const out = text.replace(/\{\{\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([A-Za-z_][A-Za-z0-9_]*))\s*\}\}/g, (_m, sq?: string, dq?: string, name?: string) => {
    if (name !== undefined) {
      if (!(name in vars) || vars[name] === undefined) throw new UndefinedVariableError(name);
      return String(vars[name]);
    }
    return (sq ?? dq ?? '').replace(/\\n/g, '\n').replace(/\\(.)/g, '$1');
  });
  if (TEMPLATE_SYNTAX.test(out)) throw new TemplateError(text, 'this template needs the template engine, which was not given to loadInventory');
  return out;
}
