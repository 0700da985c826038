// The faults suite's combined table (issue 19 point 5). Each scenario of test/faults/* keeps one row of what it
// measured: how many times the fault was injected (read from the proxy's log, the listener, the Lease read back, the
// signals delivered), every run's exit code, and how many of the expected objects/routes/hosts were missing when the
// lab (or the recap, for hosts) was compared with what the runs should have left. Rows go to the JSON-lines file named by MESHPLAY_FAULT_ROWS, which
// scripts/run-tests.mjs sets, and it prints one table for every file once they all ran (formatFaultTable).
// Nothing here is a constant: a row with nothing measured says so (0 runs, 0 checked).
import fs from 'node:fs';
import type { Test } from 'tap';

export const FAULT_ROWS_ENV = 'MESHPLAY_FAULT_ROWS';

export interface FaultRowData {
  /** The test file, e.g. api-faults. */
  suite: string;
  fault: string;
  /** Times the fault was injected, as counted by what injected it. */
  injected: number;
  /** Every run's outcome in order: its exit code, or the signal that ended it. */
  exits: (number | string)[];
  /** Expected items missing (or holding other data) at a comparison; the most seen at once. */
  lost: number;
  /** How many expected items the comparison looked at (the largest set compared), and what they are. */
  checked: number;
  unit: string;
  /** False when the scenario ended (an exception, a failed prerequisite) before it recorded its last comparison. */
  complete: boolean;
}

export class FaultRow implements FaultRowData {
  injected = 0;
  exits: (number | string)[] = [];
  lost = 0;
  checked = 0;
  complete = false;
  written = false;
  constructor(
    readonly suite: string,
    readonly fault: string,
    readonly unit: string,
  ) {}

  /** One run ended with `code` (or by `signal`). Returns the code. */
  ran<C extends number | null>(code: C, signal?: string | null): C {
    this.exits.push(code ?? signal ?? 'none');
    return code;
  }

  /**
   * Compares what the lab holds with what it should hold (each item a string, e.g. `name {"a":"1"}` or
   * `node 10.1.0.0/24 via 10.0.0.2`); counts the expected items missing, keeps the largest count as `lost`.
   * Duplicates count: an item expected twice and present once is one lost.
   */
  compare(expected: Iterable<string>, actual: Iterable<string>): number {
    const have = new Map<string, number>();
    for (const a of actual) have.set(a, (have.get(a) ?? 0) + 1);
    const want = [...expected];
    let missing = 0;
    for (const e of want) {
      const n = have.get(e) ?? 0;
      if (n > 0) have.set(e, n - 1);
      else missing++;
    }
    this.lost = Math.max(this.lost, missing);
    this.checked = Math.max(this.checked, want.length);
    return missing;
  }

  /** Asserts nothing was lost, marks the row complete and writes it (so rows keep the order scenarios ran in). */
  done(t: Test): void {
    t.equal(this.lost, 0, `${this.fault}: ${this.unit} lost (of ${this.checked} compared)`);
    this.complete = true;
    this.write();
  }

  write(): void {
    if (this.written) return;
    this.written = true;
    writeFaultRow(this.toJSON());
  }

  toJSON(): FaultRowData {
    const { suite, fault, injected, exits, lost, checked, unit, complete } = this;
    return { suite, fault, injected, exits, lost, checked, unit, complete };
  }
}

/**
 * A row for one scenario of `suite`, written by `row.done(t)`, or when `t` ends if the scenario never got there (then
 * marked incomplete), to the shared rows file; when run outside scripts/run-tests.mjs, printed as a comment.
 */
export function faultRow(t: Test, suite: string, fault: string, unit: string): FaultRow {
  const row = new FaultRow(suite, fault, unit);
  t.teardown(() => row.write());
  return row;
}

export function writeFaultRow(row: FaultRowData): void {
  const file = process.env[FAULT_ROWS_ENV];
  if (file) fs.appendFileSync(file, JSON.stringify(row) + '\n');
  else console.log(formatFaultTable([row]).map((l) => `# ${l}`).join('\n'));
}

export function readFaultRows(file: string): FaultRowData[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as FaultRowData);
}

/** The table as lines: one row per scenario, then the totals. */
export function formatFaultTable(rows: FaultRowData[]): string[] {
  const head = ['suite', 'fault injected', 'injected', 'runs', 'survived', 'exits', 'lost'];
  const survived = (r: FaultRowData) => r.exits.filter((e) => e === 0).length;
  const cells = rows.map((r) => [
    r.suite,
    r.fault + (r.complete ? '' : ' (INCOMPLETE)'),
    String(r.injected),
    String(r.exits.length),
    String(survived(r)),
    r.exits.join(' ') || '-',
    `${r.lost} of ${r.checked} ${r.unit}`,
  ]);
  const sum = (f: (r: FaultRowData) => number) => String(rows.reduce((a, r) => a + f(r), 0));
  cells.push(['total', `${rows.length} faults`, sum((r) => r.injected), sum((r) => r.exits.length), sum(survived), '', `${sum((r) => r.lost)} lost`]);
  const right = new Set([2, 3, 4]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (right.has(i) ? v.padStart(widths[i]!) : v.padEnd(widths[i]!))).join('  ').trimEnd();
  const rule = widths.map((w) => '-'.repeat(w)).join('  ');
  return [line(head), rule, ...cells.slice(0, -1).map(line), rule, line(cells.at(-1)!)];
}
