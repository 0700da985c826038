// Errors that carry everything an operator needs to act on them.

/** One thing wrong with an input, with where it is and what was expected there. */
export interface Problem {
  file?: string;
  line?: number;
  column?: number;
  message: string;
  expected?: string;
}

export function formatProblem(p: Problem): string {
  const where = p.file ? `${p.file}:${p.line ?? 0}:${p.column ?? 0}: ` : '';
  return `${where}${p.message}${p.expected ? ` (expected ${p.expected})` : ''}`;
}

/** Inputs failed validation; nothing ran. Carries every problem found, not just the first. */
export class ValidationError extends Error {
  readonly problems: Problem[];
  constructor(problems: Problem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ValidationError';
    this.problems = problems;
  }
}

/** A bad command-line option (exit 5, as ansible-playbook). */
export class OptionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OptionError';
  }
}

/** A template referenced a variable that is not defined. */
export class UndefinedVariableError extends Error {
  readonly variable: string;
  constructor(variable: string, message?: string) {
    super(message ?? `'${variable}' is undefined`);
    this.name = 'UndefinedVariableError';
    this.variable = variable;
  }
}

export class TemplateError extends Error {
  readonly template: string;
  constructor(template: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateError';
    this.template = template;
  }
}

/** Exit codes, as ansible-playbook uses them. */
export const ExitCode = {
  ok: 0,
  error: 1,
  hostFailed: 2,
  unreachable: 4,
  /** Ansible also exits 4 for parse/validation errors. */
  parseError: 4,
  badOption: 5,
  /** Another run holds the mesh's Lease (runner/k8s/lease.ts) past --lock-timeout. */
  locked: 7,
  /** --check --detailed-exitcode: something would change. */
  drift: 10,
  /** --plan FILE: a fact the saved plan was read from moved, or a task would change what the plan does not hold. */
  planDrift: 11,
  interrupted: 99,
  internal: 250,
} as const;
