// Collects what a run contributes to its report from the run's events, which reach every reporter already
// masked: the changes (with their diffs), when each task started and ended on each host, the pod_cidr_routes
// pings, warnings and the recap.
import type { Reporter, RunEvent } from '../output/events.js';
import { diffLines, isFileDiffList, taskTitle } from '../output/format.js';
import type { RunFacts } from './model.js';

/** The pod_cidr_routes role's reachability task prints one `ADDRESS ok|fail` line per pinged pod. */
const PING_LINE = /^(\S+) (ok|fail)$/;
const PING_TASK = 'Ping a pod address of every other cluster';

export class RunCollector implements Reporter {
  readonly facts: RunFacts;
  private t0 = performance.now();
  private readonly roles = new Map<string, string>();

  constructor(playbooks: string[], check: boolean) {
    this.facts = { playbooks, check, changes: [], timeline: [], pings: new Map(), warnings: [] };
  }

  onEvent(event: RunEvent): void {
    const now = performance.now() - this.t0;
    switch (event.type) {
      case 'playbook_start':
        if (!this.facts.timeline.length) this.t0 = performance.now();
        break;
      case 'task_start':
        if (event.role) this.roles.set(`${event.play}\0${event.task}`, event.role);
        break;
      case 'task_result': {
        const task = taskTitle({ task: event.task, role: this.roles.get(`${event.play}\0${event.task}`) });
        const durationMs = Number.isFinite(event.durationMs) ? Math.max(0, event.durationMs) : 0;
        const entry = this.facts.timeline.find((e) => e.play === event.play && e.task === task && e.host === event.host);
        if (entry) {
          // Loop items of one task on one host: one bar from the first start to the last end.
          const end = Math.max(entry.startMs + entry.durationMs, now);
          entry.durationMs = end - entry.startMs;
          if (event.status === 'failed' || event.status === 'unreachable' || (event.status === 'changed' && entry.status !== 'failed')) entry.status = event.status;
        } else {
          this.facts.timeline.push({ play: event.play, task, host: event.host, status: event.status, startMs: Math.max(0, now - durationMs), durationMs });
        }
        const r = event.result ?? {};
        if (event.status === 'changed') {
          const diff = isFileDiffList(r.diff) ? diffLines(r.diff, (_s, text) => text).join('\n') : undefined;
          this.facts.changes.push({ play: event.play, task, host: event.host, ...(typeof r.msg === 'string' ? { msg: r.msg } : {}), ...(diff ? { diff } : {}) });
        }
        if ((event.task === PING_TASK || event.task.endsWith(` : ${PING_TASK}`)) && Array.isArray(r.stdout_lines)) {
          const answered = this.facts.pings.get(event.host) ?? new Map<string, boolean>();
          for (const line of r.stdout_lines) {
            const m = PING_LINE.exec(String(line));
            if (m) answered.set(m[1]!, m[2] === 'ok');
          }
          this.facts.pings.set(event.host, answered);
        }
        break;
      }
      case 'warning':
        this.facts.warnings.push(event.host ? `${event.host}: ${event.message}` : event.message);
        break;
      case 'recap':
        this.facts.recap = { exitCode: event.exitCode, reason: event.reason, durationMs: event.durationMs, stats: event.stats };
        break;
      default:
        break;
    }
  }

  async close(): Promise<void> {}
}
