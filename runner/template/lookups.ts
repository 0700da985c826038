// Global functions of the template language: lookup/query/q, range, dict, and the `omit` marker.

import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { TemplateError, UndefinedVariableError } from '../errors.js';
import type { RenderContext } from './runtime.js';
import type { RenderOptions } from './types.js';
import { Undefined } from './undefined.js';
import { isMapping, splitArgs, toText, type Dict } from './values.js';

/** Module arguments equal to this value are left out, as with Ansible's `omit`. */
export const OMIT = `__omit_place_holder__${randomBytes(20).toString('hex')}`;

export type RenderText = (source: string, vars: Record<string, unknown>, options: RenderOptions) => string;

/** Where a `lookup('file'|'template', name)` finds its file: absolute, or under a search path (or its files/ or templates/). */
export function findFile(name: string, options: RenderOptions, subdir: 'files' | 'templates'): string {
  if (path.isAbsolute(name)) {
    if (existsSync(name)) return name;
    throw new TemplateError(name, `file not found: ${name}`);
  }
  const searchPaths = options.searchPaths ?? [process.cwd()];
  const candidates = searchPaths.flatMap((dir) => [path.join(dir, subdir, name), path.join(dir, name)]);
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new TemplateError(name, `could not find '${name}'; searched ${candidates.join(', ')}`);
  return found;
}

/**
 * Where lookup('file'|'template') and the template module's relatives are looked for, in order: the task's role
 * (templates/, files/, its folder), the playbook's folder (and its templates/, files/), then the inventory's folders.
 */
export function lookupSearchPaths(roleDir: string | undefined, playbookDir: string, inventoryDirs: string[] = []): string[] {
  const dirs: string[] = [];
  if (roleDir) dirs.push(path.join(roleDir, 'templates'), path.join(roleDir, 'files'), roleDir);
  dirs.push(playbookDir, path.join(playbookDir, 'templates'), path.join(playbookDir, 'files'));
  dirs.push(...inventoryDirs);
  return dirs;
}

type Lookup = (ctx: RenderContext, terms: unknown[], keywords: Dict, renderText: RenderText) => unknown[];

const LOOKUPS: Record<string, Lookup> = {
  env(_ctx, terms, keywords) {
    return terms.map((term) => {
      const name = toText(term);
      const value = process.env[name];
      if (value !== undefined) return value;
      // As Ansible's env lookup: an unset variable reads as '' (or the default given).
      return 'default' in keywords ? keywords.default : '';
    });
  },
  file(ctx, terms, keywords) {
    return terms.map((term) => {
      const content = readFileSync(findFile(toText(term), ctx.options, 'files'), 'utf8');
      const rstrip = keywords.rstrip === undefined ? true : Boolean(keywords.rstrip);
      const lstrip = Boolean(keywords.lstrip ?? false);
      let result = rstrip ? content.trimEnd() : content;
      if (lstrip) result = result.trimStart();
      return result;
    });
  },
  template(ctx, terms, keywords, renderText) {
    return terms.map((term) => {
      const file = findFile(toText(term), ctx.options, 'templates');
      const extra = isMapping(keywords.template_vars) ? keywords.template_vars : {};
      const vars = Object.keys(extra).length ? { ...ctx.getVariables(), ...extra } : ctx.getVariables();
      // templates included by this one are found beside it first
      const searchPaths = [path.dirname(file), ...(ctx.options.searchPaths ?? [])];
      return renderText(readFileSync(file, 'utf8'), vars, { ...ctx.options, searchPaths });
    });
  },
  vars(ctx, terms, keywords) {
    return terms.map((term) => {
      const value = ctx.lookup(toText(term));
      if (!(value instanceof Undefined)) return value;
      if ('default' in keywords) return keywords.default;
      return value.fail();
    });
  },
  items: (_ctx, terms) => terms.flatMap((t) => (Array.isArray(t) ? t : [t])),
  list: (_ctx, terms) => terms,
  dict: (_ctx, terms) => terms.flatMap((t) => (isMapping(t) ? Object.entries(t).map(([key, value]) => ({ key, value })) : [])),
  first_found(ctx, terms) {
    const names = terms.flatMap((t) => (Array.isArray(t) ? t : isMapping(t) && Array.isArray(t.files) ? t.files : [t])).map(toText);
    for (const name of names) {
      try {
        return [findFile(name, ctx.options, 'files')];
      } catch {
        // try the next one
      }
    }
    throw new TemplateError(names.join(', '), `first_found: none of ${names.join(', ')} exists`);
  },
};

/** Names of the lookup plugins meshplay has. */
export const LOOKUP_NAMES: readonly string[] = Object.keys(LOOKUPS);

/** The lookup plugin a template names (`env`, `ansible.builtin.file`), if meshplay has it: one rule for rendering and validation. */
export function lookupNamed(name: string): Lookup | undefined {
  const short = name.replace(/^(?:ansible\.builtin|community\.general)\./, '');
  return Object.prototype.hasOwnProperty.call(LOOKUPS, short) ? LOOKUPS[short] : undefined;
}

function runLookup(ctx: RenderContext, args: unknown[], renderText: RenderText): unknown[] {
  const { positional, keywords } = splitArgs(args);
  const [name, ...terms] = positional;
  const lookup = lookupNamed(toText(name));
  if (!lookup) throw new Error(`lookup plugin '${toText(name)}' is not supported (available: ${LOOKUP_NAMES.join(', ')})`);
  for (const term of terms) if (term instanceof Undefined) term.fail();
  return lookup(ctx, terms, keywords, renderText);
}

/** Python's range(stop) / range(start, stop[, step]). */
function range(start: unknown, stop?: unknown, step: unknown = 1): number[] {
  let from = stop === undefined ? 0 : Number(start);
  const to = stop === undefined ? Number(start) : Number(stop);
  const by = Number(step);
  if (by === 0) throw new Error('range: step must not be zero');
  const out: number[] = [];
  for (; by > 0 ? from < to : from > to; from += by) {
    out.push(from);
    if (out.length > 1_000_000) throw new Error('range: too many items');
  }
  return out;
}

export function createGlobals(renderText: RenderText): Record<string, unknown> {
  const query = function (this: RenderContext, ...args: unknown[]): unknown[] {
    return runLookup(this, args, renderText);
  };
  return {
    omit: OMIT,
    range,
    lookup(this: RenderContext, ...args: unknown[]): unknown {
      const { keywords } = splitArgs(args);
      const results = runLookup(this, args, renderText);
      if (keywords.wantlist) return results;
      if (results.length === 1) return results[0];
      return results.every((r) => typeof r === 'string') ? results.join(',') : results;
    },
    query,
    q: query,
    dict(...args: unknown[]): Dict {
      const { positional, keywords } = splitArgs(args);
      const out: Dict = {};
      for (const p of positional) {
        if (isMapping(p)) Object.assign(out, p);
        else if (Array.isArray(p)) for (const pair of p) out[toText((pair as unknown[])[0])] = (pair as unknown[])[1];
      }
      return Object.assign(out, keywords);
    },
  };
}
