// The module contract: read facts, plan the difference, apply only that.
// The executor, not the module, decides whether to apply: under --check it reports the plan and stops,
// so check mode and --diff always come from the same plan as a real run.
import type { Connection } from '../connection/types.js';
import type { Host, Inventory } from '../inventory/types.js';

/** A before/after pair, shown as a unified diff under --diff. */
export interface FileDiff {
  before: string;
  after: string;
  beforeHeader?: string;
  afterHeader?: string;
}

export interface ModuleResult {
  changed: boolean;
  failed?: boolean;
  skipped?: boolean;
  msg?: string;
  diff?: FileDiff[];
  /** Module-specific return values (stdout, rc, routes, resources, ansible_facts, ...). */
  [key: string]: unknown;
}

export interface Plan<P = unknown> {
  /** Whether applying would change anything. */
  changed: boolean;
  /** Set when the module cannot know without running (e.g. `command`): skipped under --check. */
  unpredictable?: boolean;
  diff?: FileDiff[];
  msg?: string;
  /** Values returned whether or not apply runs (facts read, current state...). */
  result?: Record<string, unknown>;
  /** Module-private data handed to apply (the exact commands or requests to send). */
  data?: P;
}

export interface ModuleContext {
  host: Host;
  inventory: Inventory;
  /** Fully merged variables of this host for this task (already templated args are passed separately). */
  vars: Record<string, unknown>;
  check: boolean;
  diff: boolean;
  become: boolean;
  becomePassword?: string;
  /** Task `environment:`. */
  environment?: Record<string, string>;
  /** Directory of the playbook, and of the role when the task comes from one (for relative src paths). */
  playbookDir: string;
  roleDir?: string;
  /** Opens (once, then reuses) the connection of the host the task runs on (its delegate when delegated). */
  connection(): Promise<Connection>;
  /** Connection to another inventory host (e.g. the control plane cluster from a remote's task). */
  connectionTo(hostName: string): Promise<Connection>;
  warn(message: string): void;
  /** Verbose log line, shown at -v levels >= level. */
  log(level: number, message: string): void;
  /** Registers a value that must never appear in any output. */
  secret(value: string): void;
  signal: AbortSignal;
  /** Render a template string or structure with this host's variables. */
  render(value: unknown, extraVars?: Record<string, unknown>): unknown;
  /** Evaluates a condition as `when:` does (runner/template: conditionValue, Ansible's Conditional). */
  condition(expression: unknown, extraVars?: Record<string, unknown>): boolean;
}

export interface Module<A = Record<string, unknown>, P = unknown> {
  name: string;
  /** JSON Schema of the arguments; unknown keys are rejected. */
  schema: Record<string, unknown>;
  /** Runs on the controller itself rather than on the task's host connection (debug, set_fact...). */
  local?: boolean;
  /** Argument names whose values are secrets (always redacted). */
  secretArgs?: string[];
  /** Top-level variable names this module may set through `ansible_facts` (for the undefined-variable check). */
  provides?: string[];
  plan(ctx: ModuleContext, args: A): Promise<Plan<P>>;
  /** Called only when the plan says changed and not in check mode. */
  apply(ctx: ModuleContext, args: A, plan: Plan<P>): Promise<ModuleResult>;
}
