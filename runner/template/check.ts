// Checks a template before anything renders it: its syntax, and that every filter, test and lookup it names
// exists. The names are looked up with the same functions rendering uses (filterNamed, testNamed, lookupNamed),
// so validation and rendering cannot disagree about what exists.

import { nearest } from '../suggest.js';
import { nj, parse, parseExpression, testName } from './compile.js';
import { FILTERS, filterNamed } from './filters.js';
import { LOOKUP_NAMES, lookupNamed } from './lookups.js';
import { TESTS, testNamed } from './tests.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyNode = any;

const { nodes } = nj;

/** One thing wrong in a template; line and column count from 1 inside the template text. */
export interface TemplateFinding {
  message: string;
  expected?: string;
  line: number;
  column: number;
}

export interface TemplateInspection {
  problems: TemplateFinding[];
  /** Files named by `lookup('template', 'literal')`, to be checked in turn where they are found. */
  templateFiles: string[];
}

const LOOKUP_CALLS = new Set(['lookup', 'query', 'q']);

function unknown(kind: string, name: string, known: Iterable<string>, node: AnyNode): TemplateFinding {
  const near = nearest(name.replace(/^.*\./, ''), known);
  return {
    message: `unknown ${kind} '${name}'${near ? ` (did you mean '${near}'?)` : ''}`,
    expected: `a ${kind} meshplay provides`,
    line: (node?.lineno ?? 0) + 1,
    column: (node?.colno ?? 0) + 1,
  };
}

/** Walks with an explicit stack: a template may nest deeper than recursion allows. */
function inspectTree(root: AnyNode): TemplateInspection {
  const problems: TemplateFinding[] = [];
  const templateFiles: string[] = [];
  const stack: AnyNode[] = [root];
  while (stack.length) {
    const node = stack.pop();
    if (!node || typeof node !== 'object') continue;
    if (Array.isArray(node)) {
      for (const child of node) stack.push(child);
      continue;
    }
    if (!(node instanceof nodes.Node)) continue;
    if (node instanceof nodes.Filter && node.name instanceof nodes.Symbol) {
      const name = String(node.name.value);
      if (!filterNamed(name)) problems.push(unknown('filter', name, Object.keys(FILTERS), node.name));
    } else if (node instanceof nodes.Is) {
      const name = testName(node);
      if (!testNamed(name)) problems.push(unknown('test', name, Object.keys(TESTS), node.right));
    } else if (node instanceof nodes.FunCall && node.name instanceof nodes.Symbol && LOOKUP_CALLS.has(node.name.value)) {
      const first = node.args?.children?.[0];
      if (first instanceof nodes.Literal && typeof first.value === 'string') {
        if (!lookupNamed(first.value)) problems.push(unknown('lookup plugin', first.value, LOOKUP_NAMES, first));
        const second = node.args.children[1];
        if (/^(ansible\.builtin\.)?template$/.test(first.value) && second instanceof nodes.Literal && typeof second.value === 'string') templateFiles.push(second.value);
      }
    }
    for (const field of node.fields as string[]) stack.push(node[field]);
  }
  problems.sort((a, b) => a.line - b.line || a.column - b.column);
  return { problems, templateFiles };
}

/**
 * Parses `source` as a template (or, with `expression`, as a bare expression such as a `when:`) and reports
 * a syntax error, or every unknown filter, test and lookup plugin it names.
 */
export function inspectTemplate(source: string, expression = false): TemplateInspection {
  let root: AnyNode;
  try {
    root = expression ? parseExpression(source.trim()) : parse(source);
  } catch (error) {
    // The parser recurses once per nesting level: thousands of brackets or blocks exhaust the stack.
    if (error instanceof RangeError) return { problems: [{ message: `${expression ? 'expression' : 'template'} nested too deeply to parse`, expected: 'at most a few hundred nested brackets or blocks', line: 1, column: 1 }], templateFiles: [] };
    const e = error as { message?: string; lineno?: number; colno?: number };
    const message = String(e.message ?? error).replace(/^\(unknown path\)\s*(\[Line \d+, Column \d+\])?\s*/, '').replace(/^parse\w+: /, '').trim();
    // The parser counts from 1; an error at the end of the input carries no position: point at the end.
    const lines = source.split('\n');
    const line = e.lineno ?? lines.length;
    const column = e.colno ?? lines[lines.length - 1].length + 1;
    return { problems: [{ message: `${expression ? 'expression' : 'template'} syntax error: ${message}`, line, column }], templateFiles: [] };
  }
  return inspectTree(root);
}

