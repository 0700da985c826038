// JUnit XML for CI: a testsuite per play, a testcase per task × host.
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { HostStatus, Reporter, RunEvent } from './events.js';
import { dumpResult, safeStringify, taskTitle } from './format.js';
import { worseStatus } from './json.js';
import { append } from '../arrays.js';

interface Case {
  task: string;
  host: string;
  status: HostStatus;
  durationMs: number;
  results: Record<string, unknown>[];
}

interface Suite {
  play: string;
  cases: Map<string, Case>;
}

export class JunitReporter implements Reporter {
  private readonly suites: Suite[] = [];
  /** Role of each task seen in task_start, so case names read `role : task` as in the text output. */
  private readonly roles = new Map<string, string>();
  private problems: string[] = [];
  private durationMs = 0;
  private closed = false;

  constructor(private readonly file: string) {}

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'play_start':
        this.suites.push({ play: event.play, cases: new Map() });
        break;
      case 'task_start':
        if (event.role) this.roles.set(`${event.play}\0${event.task}`, event.role);
        break;
      case 'task_result': {
        const suite = this.suite(event.play);
        const key = `${event.task}\0${event.host}`;
        let c = suite.cases.get(key);
        if (!c) {
          const role = this.roles.get(`${event.play}\0${event.task}`);
          c = { task: taskTitle({ task: event.task, role }), host: event.host, status: event.status, durationMs: 0, results: [] };
          suite.cases.set(key, c);
        } else {
          c.status = worseStatus(c.status, event.status);
        }
        c.durationMs += Number.isFinite(event.durationMs) ? event.durationMs : 0;
        const result = event.result ?? {};
        c.results.push(event.item === undefined ? result : { item: event.item, ...result });
        break;
      }
      case 'recap':
        this.problems = event.problems ?? [];
        this.durationMs = event.durationMs;
        break;
      default:
        break;
    }
  }

  private suite(play: string): Suite {
    let suite = this.suites.at(-1);
    if (!suite || suite.play !== play) {
      suite = { play, cases: new Map() };
      this.suites.push(suite);
    }
    return suite;
  }

  /** The XML document for what has been seen so far. */
  toXml(): string {
    const out: string[] = [];
    let total = 0;
    let failures = 0;
    let skipped = 0;
    const suites: string[] = [];
    for (const suite of this.suites) {
      const cases = [...suite.cases.values()];
      const f = cases.filter((c) => isFailure(c.status)).length;
      const s = cases.filter((c) => c.status === 'skipped').length;
      const time = cases.reduce((sum, c) => sum + c.durationMs, 0);
      total += cases.length;
      failures += f;
      skipped += s;
      suites.push(
        `  <testsuite name="${attr(suite.play)}" tests="${cases.length}" failures="${f}" errors="0" skipped="${s}" time="${seconds(time)}">`,
      );
      for (const c of cases) append(suites, caseXml(suite.play, c));
      suites.push('  </testsuite>');
    }
    if (this.problems.length) {
      total += this.problems.length;
      failures += this.problems.length;
      suites.push(
        `  <testsuite name="validation" tests="${this.problems.length}" failures="${this.problems.length}" errors="0" skipped="0" time="0.000">`,
      );
      for (const problem of this.problems) {
        suites.push(`    <testcase classname="validation" name="${attr(problem)}" time="0.000">`);
        suites.push(`      <failure message="${attr(problem)}" type="validation">${text(problem)}</failure>`);
        suites.push('    </testcase>');
      }
      suites.push('  </testsuite>');
    }
    out.push('<?xml version="1.0" encoding="UTF-8"?>');
    out.push(
      `<testsuites name="meshplay" tests="${total}" failures="${failures}" errors="0" skipped="${skipped}" time="${seconds(this.durationMs)}">`,
    );
    append(out, suites);
    out.push('</testsuites>');
    return out.join('\n') + '\n';
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await mkdir(dirname(this.file), { recursive: true });
    await writeFile(this.file, this.toXml(), 'utf8');
  }
}

function isFailure(status: HostStatus): boolean {
  return status === 'failed' || status === 'unreachable';
}

function caseXml(play: string, c: Case): string[] {
  const open = `    <testcase classname="${attr(play)}" name="${attr(`[${c.host}] ${c.task}`)}" time="${seconds(c.durationMs)}"`;
  const body = c.results.length === 1 ? dumpResult(c.results[0], 3) : safeStringify(c.results, 4);
  if (isFailure(c.status)) {
    const failed = c.results.find((r) => r.failed === true || r.unreachable === true) ?? c.results.at(-1) ?? {};
    const message = typeof failed.msg === 'string' ? failed.msg : safeStringify(failed.msg ?? c.status);
    return [
      `${open}>`,
      `      <failure message="${attr(message)}" type="${c.status}">${text(body)}</failure>`,
      '    </testcase>',
    ];
  }
  if (c.status === 'skipped') {
    const r = c.results.at(-1) ?? {};
    const reason = typeof r.skip_reason === 'string' ? r.skip_reason : typeof r.msg === 'string' ? r.msg : 'skipped';
    return [`${open}>`, `      <skipped message="${attr(reason)}"/>`, '    </testcase>'];
  }
  return [`${open}>`, `      <system-out>${text(body)}</system-out>`, '    </testcase>'];
}

function seconds(ms: number): string {
  return (Math.max(0, Number.isFinite(ms) ? ms : 0) / 1000).toFixed(3);
}

/** Characters XML 1.0 cannot carry at all (control characters, lone surrogates) become U+FFFD. */
const INVALID_XML = /[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export function text(s: string): string {
  return String(s).replace(INVALID_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function attr(s: string): string {
  return text(s).replace(/"/g, '&quot;').replace(/'/g, '&apos;').replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;');
}
