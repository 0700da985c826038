// The module contract: read facts, plan the difference, apply only that.
// The executor, not the module, decides whether to apply: under --check it reports the plan and stops,
// so check mode and --diff always come from the same plan as a real run.
import type { Connection } from '../connection/types.js';
import type { Host, Inventory } from '../inventory/types.js';
import type { ArgsOf } from './args.js';
import type { RunScope } from './run-scope.js';

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

interface PlanBase {
  /** Whether applying would change anything. */
  changed: boolean;
  /** Set when the module cannot know without running (e.g. `command`): skipped under --check. */
  unpredictable?: boolean;
  /** Nothing to change, but apply still runs outside check mode (e.g. k8s waiting on a converged object's condition). */
  settle?: boolean;
  diff?: FileDiff[];
  msg?: string;
  /** Values returned whether or not apply runs (facts read, current state...). */
  result?: Record<string, unknown>;
  /**
   * What the decision was read from (an object's resourceVersion or absence, a node's managed routes, a file's
   * digest): a saved plan re-reads each before its first write and refuses when one moved (runner/plan).
   */
  fingerprints?: Fingerprint[];
  /**
   * What apply would change, as a value that is the same when the plan is made again from the same facts: a
   * saved plan keeps its digest and apply refuses a different one. Default: `data` (set it when data holds
   * generated key material, or reads that an earlier task of the same run may change without changing the outcome).
   */
  changes?: unknown;
}

/**
 * A module's decision: what it would change. `data` is what apply sends (the exact commands or requests):
 * required whenever the module has data, so apply never guesses.
 */
export type Plan<P = undefined> = PlanBase & (undefined extends P ? { data?: P } : { data: P });

/** One fact a plan depends on, as read, and how to read it again (runner/plan/fingerprints.ts). */
export type Fingerprint =
  | { kind: 'k8s'; host: string; apiVersion: string; resource: string; namespace?: string; name: string; resourceVersion: string | null; digest: string | null }
  | { kind: 'routes'; host: string; protocol: number; digest: string }
  | { kind: 'file'; host: string; path: string; digest: string | null };

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
  /**
   * What this playbook run shares between tasks and hosts (runner/modules/run-scope.ts): one per run, made by the
   * executor, gone with the run. A module keeps per-run state in its own typed slot here, never in a module global.
   */
  run: RunScope;
}

/**
 * What a pure plan may use: the task's host, variables and templating, never a connection. `run` is there for
 * memos of pure computations shared between the hosts of a run (ip_routes' overlap check), not for reading state.
 */
export type PlanContext = Pick<ModuleContext, 'host' | 'inventory' | 'vars' | 'check' | 'diff' | 'warn' | 'log' | 'secret' | 'render' | 'condition' | 'run'>;

/**
 * A module: `schema` declares the arguments once (runner/modules/args.ts: validation, the TypeScript type,
 * defaults, documentation). The executor validates and defaults the arguments, then calls `facts` (reads the
 * host or the API; may block), then the pure `plan` (decides from facts and arguments: testable without a
 * host), then, outside check mode and only when the plan changes something, `apply(plan)`.
 */
export interface Module<S = any, F = any, P = any> {
  name: string;
  schema: S;
  /** Runs on the controller itself rather than on the task's host connection (debug, set_fact...). */
  local?: boolean;
  /** Argument names whose values are secrets (always redacted). */
  secretArgs?: string[];
  /**
   * The task's arguments as written, before templating (default: as they are). set_fact reads a literal
   * yes/no/true/false there as a boolean, so that a template's result keeps its type.
   */
  literalArgs?(args: Record<string, unknown>): Record<string, unknown>;
  facts(ctx: ModuleContext, args: ArgsOf<S>): Promise<F>;
  plan(facts: F, args: ArgsOf<S>, ctx: PlanContext): Plan<P>;
  /** Absent for modules that never change anything. */
  apply?(ctx: ModuleContext, args: ArgsOf<S>, plan: Plan<P>): Promise<ModuleResult>;
}
