// Which variables a template or expression needs from outside: every name it reads that is not
// bound inside it (loop variables, {% set %}, macro arguments) and not a global function.

import { nj } from './compile.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type AnyNode = any;

const { nodes } = nj;

export const GLOBAL_NAMES = new Set(['lookup', 'query', 'q', 'range', 'dict', 'omit', 'True', 'False', 'None']);

function targets(node: AnyNode): string[] {
  if (Array.isArray(node)) return node.flatMap(targets);
  if (node instanceof nodes.Symbol) return [node.value];
  if (node instanceof nodes.Array || node instanceof nodes.NodeList) return node.children.flatMap(targets);
  return [];
}

function walk(node: AnyNode, bound: Set<string>, found: Set<string>): void {
  if (!node || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const child of node) walk(child, bound, found);
    return;
  }
  if (!(node instanceof nodes.Node)) return;

  if (node instanceof nodes.Symbol) {
    if (!bound.has(node.value) && !GLOBAL_NAMES.has(node.value)) found.add(node.value);
    return;
  }
  if (node instanceof nodes.Filter) {
    walk(node.args, bound, found); // node.name is the filter, not a variable
    return;
  }
  if (node instanceof nodes.Is) {
    walk(node.left, bound, found);
    if (node.right instanceof nodes.FunCall) walk(node.right.args, bound, found); // the test name is not a variable
    return;
  }
  if (node instanceof nodes.Pair) {
    if (!(node.key instanceof nodes.Symbol)) walk(node.key, bound, found); // {name: 1} and f(key=1) keys are literal
    walk(node.value, bound, found);
    return;
  }
  if (node instanceof nodes.For) {
    walk(node.arr, bound, found);
    const inner = new Set([...bound, ...targets(node.name), 'loop']);
    walk(node.body, inner, found);
    walk(node.else_, bound, found);
    return;
  }
  if (node instanceof nodes.Set) {
    walk(node.value, bound, found);
    walk(node.body, bound, found);
    for (const name of targets(node.targets)) bound.add(name);
    return;
  }
  if (node instanceof nodes.Macro) {
    const inner = new Set([...bound, ...targets(node.args), 'caller']);
    if (node.args?.children) {
      for (const arg of node.args.children) if (arg instanceof nodes.KeywordArgs) for (const pair of arg.children) inner.add(pair.key.value);
    }
    walk(node.body, inner, found);
    if (node.name instanceof nodes.Symbol) bound.add(node.name.value);
    return;
  }
  for (const field of node.fields as string[]) walk(node[field], bound, found);
}

/** Names read from outside, in order of first use. */
export function freeVariables(root: AnyNode): string[] {
  const found = new Set<string>();
  walk(root, new Set(), found);
  return [...found];
}

const IMPURE_CALLS = new Set(['lookup', 'query', 'q']);

/**
 * Whether a template's output depends only on the variables it reads: no lookups (files, environment,
 * commands), no includes or imports. Only such templates may share a render between hosts. Filters and tests
 * are pure functions of their arguments (runner/template/filters.ts keeps them so).
 */
export function readsOnlyVariables(root: AnyNode): boolean {
  let pure = true;
  const visit = (node: AnyNode): void => {
    if (!pure || !node || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach(visit);
    if (!(node instanceof nodes.Node)) return;
    if (node instanceof nodes.Include || node instanceof nodes.Import || node instanceof nodes.FromImport || node instanceof nodes.Extends) {
      pure = false;
      return;
    }
    if (node instanceof nodes.FunCall && node.name instanceof nodes.Symbol && IMPURE_CALLS.has(node.name.value)) {
      pure = false;
      return;
    }
    for (const field of node.fields as string[]) visit(node[field]);
  };
  visit(root);
  return pure;
}
