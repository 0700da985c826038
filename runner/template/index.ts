// The templating engine: Jinja (through nunjucks' parser and code generator) with Ansible's
// filters, tests, lookups and strict undefined variables. See types.ts for the contract.

import { TemplateError, UndefinedVariableError } from '../errors.js';
import { PyFloat, floatsMade, plainNumbers } from './float.js';
import { compile, compileExpression, parse, parseExpression, nj, type Compiled } from './compile.js';
import { UNDEFINED_TOLERANT_FILTERS, filterNamed, positionalArgs, type FilterFn } from './filters.js';
import { OMIT, createGlobals } from './lookups.js';
import { startRecording, stopRecording } from './memo.js';
import { RenderContext, templateRuntime, type RenderEnvironment } from './runtime.js';
import { UNDEFINED_TOLERANT_TESTS, testNamed, type TestFn } from './tests.js';
import type { RenderOptions, Templater } from './types.js';
import { Undefined, assertDefined, undefinedsMade } from './undefined.js';
import { isKeywordArgs, isMapping, isSafeString, toText, truthy } from './values.js';
import { freeVariables, readsOnlyVariables } from './variables.js';

/** A compiled template and whether hosts may share its renders (it reads nothing but variables). */
type Entry = Omit<Compiled, 'ast'> & { shareable: boolean };

/** The cache keeps the compiled function and the verdict, not the parse tree. */
function entryOf({ ast, ...compiled }: Compiled): Entry {
  return { ...compiled, shareable: readsOnlyVariables(ast) };
}

export { OMIT } from './lookups.js';
export { FILTERS } from './filters.js';
export { TESTS } from './tests.js';
export type { RenderOptions, Templater } from './types.js';

const CACHE_LIMIT = 5000;

/** Whether a value is the `omit` marker (module arguments with it are left out). */
export function isOmitted(value: unknown): boolean {
  return value === OMIT;
}

/** Drop mapping entries whose value is `omit`, at every depth (what Ansible does to module arguments). */
export function removeOmitted(value: unknown): unknown {
  if (Array.isArray(value)) return value.filter((v) => v !== OMIT).map(removeOmitted);
  if (isMapping(value)) {
    return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== OMIT).map(([k, v]) => [k, removeOmitted(v)]));
  }
  return value;
}

export function isTemplate(value: string): boolean {
  return value.includes('{{') || value.includes('{%') || value.includes('{#');
}

function excerpt(source: string): string {
  const oneLine = source.length > 160 ? `${source.slice(0, 157)}...` : source;
  return JSON.stringify(oneLine);
}

/** Errors from nunjucks' parser and compiler carry lineno/colno and a raw message. */
function syntaxError(source: string, error: unknown, what: string): TemplateError {
  const e = error as { message?: string; lineno?: number; colno?: number };
  const message = String(e.message ?? error).replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '').trim();
  const multiline = source.includes('\n');
  const where = multiline && e.lineno !== undefined ? ` at line ${e.lineno + 1}, column ${(e.colno ?? 0) + 1}` : '';
  return new TemplateError(source, `${what} syntax error: ${message}${where} in ${excerpt(source)}`, { cause: error });
}

/** Filters that tell a float 5.0 from the int 5 (float.ts); the others receive plain numbers. */
const FLOAT_AWARE_FILTERS = new Set(['default', 'd', 'mandatory', 'bool', 'int', 'float', 'round', 'abs', 'string',
  'type_debug', 'to_json', 'to_nice_json', 'tojson', 'to_yaml', 'to_nice_yaml', 'format']);
const FLOAT_AWARE_TESTS = new Set(['number', 'integer', 'float']);
const plainArg = (a: unknown) => (a instanceof PyFloat ? a.value : a);

function wrapFilter(name: string, fn: FilterFn): FilterFn {
  const tolerant = UNDEFINED_TOLERANT_FILTERS.has(name);
  const floatAware = FLOAT_AWARE_FILTERS.has(name);
  return function (this: RenderContext, ...given: unknown[]) {
    const args = positionalArgs(name, floatAware ? given : given.map(plainArg));
    if (tolerant) return fn.apply(this, args as [unknown, ...unknown[]]);
    for (const a of args) {
      if (a instanceof Undefined) a.fail();
      if (isKeywordArgs(a)) for (const v of Object.values(a)) if (v instanceof Undefined) v.fail();
    }
    try {
      return fn.apply(this, args as [unknown, ...unknown[]]);
    } catch (error) {
      if (error instanceof UndefinedVariableError || error instanceof TemplateError) throw error;
      const message = (error as Error).message;
      throw new Error(message.startsWith(`${name}:`) ? `filter ${message}` : `filter '${name}': ${message}`, { cause: error });
    }
  };
}

function wrapTest(name: string, fn: TestFn): TestFn {
  const floatAware = FLOAT_AWARE_TESTS.has(name);
  return (value: unknown, ...args: unknown[]) => {
    if (!floatAware) {
      value = plainArg(value);
      args = args.map(plainArg);
    }
    if (!UNDEFINED_TOLERANT_TESTS.has(name) && value instanceof Undefined) value.fail();
    for (const a of args) if (a instanceof Undefined) a.fail();
    return fn(value, ...args) === true;
  };
}

/**
 * The one truthiness of conditions (when, assert's that, changed_when, failed_when, until, k8s wait
 * expressions). Ansible's Conditional renders `{% if <expression> %}`: Python truthiness of the expression's
 * value, so the string "false" is true and "" is false. A templated condition (`when: "{{ x }}"`) is rendered
 * first and its text evaluated again as an expression (evaluate()), which is how "{{ 'false' }}" ends false.
 * The `bool` filter (toBool, runner/template/values.ts) is the other rule Ansible has: yes/on/1/true.
 */
export function conditionValue(value: unknown): boolean {
  return truthy(value);
}

export function createTemplater(): Templater {
  const compiled = new Map<string, Entry>();
  const filters = new Map<string, FilterFn>();
  const tests = new Map<string, TestFn>();

  const env: RenderEnvironment = {
    opts: { autoescape: false },
    globals: {},
    getFilter(name: string) {
      let filter = filters.get(name);
      if (!filter) {
        const fn = filterNamed(name);
        if (!fn) throw new Error(`no filter named '${name}'`);
        filter = wrapFilter(name.replace(/^.*\./, ''), fn);
        filters.set(name, filter);
      }
      return filter as (...args: unknown[]) => unknown;
    },
    getTest(name: string) {
      let test = tests.get(name);
      if (!test) {
        const fn = testNamed(name);
        if (!fn) throw new Error(`no test named '${name}'`);
        test = wrapTest(name.replace(/^ansible\.(builtin|utils)\./, ''), fn);
        tests.set(name, test);
      }
      return test as (...args: unknown[]) => unknown;
    },
  };

  function compiledFor(key: string, source: string, build: () => Entry, what: string): Entry {
    let entry = compiled.get(key);
    if (!entry) {
      try {
        entry = build();
      } catch (error) {
        throw syntaxError(source, error, what);
      }
      if (compiled.size >= CACHE_LIMIT) compiled.clear();
      compiled.set(key, entry);
    }
    return entry;
  }

  function run(entry: Entry, source: string, vars: Record<string, unknown>, options: RenderOptions): unknown {
    const memo = entry.shareable ? options.memo : undefined;
    if (memo) {
      const hit = memo.lookup(entry, vars);
      if (hit) return hit.value;
    }
    const context = new RenderContext(vars, options, env);
    if (memo) context.reads = [];
    const recorder = memo ? startRecording() : undefined;
    const floats = floatsMade();
    const undefineds = undefinedsMade();
    const frame = new nj.runtime.Frame();
    frame.topLevel = true;
    let failure: unknown;
    let output: string | undefined;
    try {
      entry.root(env, context, frame, templateRuntime, (error, result) => {
        failure = error;
        output = result;
      });
    } finally {
      if (recorder) stopRecording(recorder);
    }
    if (failure) {
      if (failure instanceof UndefinedVariableError || failure instanceof TemplateError) throw failure;
      const message = (failure as Error)?.message ?? String(failure);
      throw new TemplateError(source, `${message} in ${excerpt(source)}`, { cause: failure });
    }
    let value = !entry.native ? output : isSafeString(context.native) ? String(context.native) : context.native; // a lone macro call yields its text
    if (entry.native && undefinedsMade() !== undefineds) assertDefined(value);
    if (entry.native && floatsMade() !== floats) value = plainNumbers(value); // no PyFloat leaves a render
    if (memo && !context.readEverything && !recorder!.unshareable) memo.remember(entry, context.reads!, value, recorder!.hostReads);
    return value;
  }

  function renderString(source: string, vars: Record<string, unknown>, options: RenderOptions, native: boolean): unknown {
    if (!isTemplate(source)) return source;
    const entry = compiledFor(`${native ? 'n' : 't'}:${source}`, source, () => entryOf(compile(source, native)), 'template');
    return run(entry, source, vars, options);
  }

  const renderText = (source: string, vars: Record<string, unknown>, options: RenderOptions) =>
    renderString(source, vars, options, false) as string;
  env.globals = createGlobals(renderText);

  function render(value: unknown, vars: Record<string, unknown>, options: RenderOptions = {}): unknown {
    if (typeof value === 'string') return renderString(value, vars, options, true);
    if (Array.isArray(value)) return value.map((item) => render(item, vars, options));
    if (isMapping(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) {
        const renderedKey = isTemplate(key) ? toText(renderString(key, vars, options, false)) : key;
        out[renderedKey] = render(item, vars, options);
      }
      return out;
    }
    return value;
  }

  function evaluate(expression: string, vars: Record<string, unknown>, options: RenderOptions = {}): unknown {
    if (typeof expression !== 'string') return expression;
    const source = expression.trim();
    if (isTemplate(source)) {
      // `when: "{{ x }}"` or `when: "{{ a }} == {{ b }}"`: render first, then evaluate text results
      const rendered = renderString(source, vars, options, true);
      if (typeof rendered !== 'string' || isTemplate(rendered) || rendered.trim() === '') return rendered;
      return evaluate(rendered, vars, options);
    }
    const entry = compiledFor(`e:${source}`, source, () => entryOf(compileExpression(source)), 'expression');
    return run(entry, source, vars, options);
  }

  function condition(expression: unknown, vars: Record<string, unknown>, options: RenderOptions = {}): boolean {
    if (Array.isArray(expression)) return expression.every((item) => condition(item, vars, options));
    if (typeof expression === 'string') {
      if (expression.trim() === '') return true; // an empty `when:` puts no condition
      return conditionValue(evaluate(expression, vars, options));
    }
    return conditionValue(expression);
  }

  function variablesOf(value: string): string[] {
    if (typeof value !== 'string') return [];
    const template = isTemplate(value);
    let root: unknown;
    try {
      root = template ? parse(value) : parseExpression(value.trim());
    } catch (error) {
      // reported now, so a playbook with a broken template fails validation before anything runs
      throw syntaxError(value, error, template ? 'template' : 'expression');
    }
    return freeVariables(root);
  }

  return { render, evaluate, condition, isTemplate, variablesOf };
}


