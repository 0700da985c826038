// Interface of the templating engine (nunjucks with Ansible's filters and tests).

export interface RenderOptions {
  /** Directories searched by lookup('file'|'template') and the template module, in order. */
  searchPaths?: string[];
  /** Lets hosts share renders of variable-only templates (runner/template/memo.ts). */
  memo?: import('./memo.js').RenderMemo;
}

export interface Templater {
  /**
   * Render a value: strings are templates, arrays/objects are rendered recursively, other values pass through.
   * A string that is exactly one `{{ expression }}` keeps the expression's native type.
   * Undefined variables throw UndefinedVariableError naming the variable.
   */
  render(value: unknown, vars: Record<string, unknown>, options?: RenderOptions): unknown;
  /** Evaluate a bare Jinja expression (as in `when:`, `changed_when:`, `until:`, `that:`) to its native value. */
  evaluate(expression: string, vars: Record<string, unknown>, options?: RenderOptions): unknown;
  /** Evaluate a condition (bare expression or a bool) with Ansible's truthiness. */
  condition(expression: unknown, vars: Record<string, unknown>, options?: RenderOptions): boolean;
  /** Whether the string contains template syntax. */
  isTemplate(value: string): boolean;
  /** Names of variables a template or expression references at top level (for validation before running). */
  variablesOf(value: string): string[];
}
