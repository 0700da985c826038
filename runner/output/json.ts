// Machine-readable outputs: one JSON document at the end (json), or one JSON line per event as it happens (ndjson).
import type { HostStats, HostStatus, Reporter, RunEvent } from './events.js';
import { safeStringify, writeOut } from './format.js';

interface JsonTask {
  task: string;
  role?: string;
  handler?: boolean;
  durationMs?: number;
  /** Each host's result; a loop's per-item results are under `results`, as Ansible shows them. */
  hosts: Record<string, Record<string, unknown>>;
  /** Each host's outcome (ok, changed, failed...), kept apart so module keys are never shadowed. */
  status: Record<string, HostStatus>;
}

interface JsonPlay {
  play: string;
  hosts?: string[];
  tasks: JsonTask[];
}

export interface JsonDocument {
  plays: JsonPlay[];
  stats: Record<string, HostStats>;
  durationMs: number;
  exitCode: number;
  reason: string;
  check?: boolean;
  warnings: { message: string; host?: string }[];
  problems?: string[];
  transport?: Record<string, unknown>;
}

/** Worst outcome wins when a loop's items differ. */
const SEVERITY: HostStatus[] = ['skipped', 'ok', 'changed', 'rescued', 'ignored', 'failed', 'unreachable'];
export function worseStatus(a: HostStatus | undefined, b: HostStatus): HostStatus {
  if (a === undefined) return b;
  return SEVERITY.indexOf(b) > SEVERITY.indexOf(a) ? b : a;
}

export class JsonReporter implements Reporter {
  private readonly doc: JsonDocument = {
    plays: [],
    stats: {},
    durationMs: 0,
    exitCode: 0,
    reason: 'ok',
    warnings: [],
  };
  private closed = false;

  constructor(private readonly stream: NodeJS.WritableStream) {}

  onEvent(event: RunEvent): void {
    switch (event.type) {
      case 'playbook_start':
        this.doc.check = event.check;
        break;
      case 'play_start':
        this.doc.plays.push({ play: event.play, hosts: event.hosts, tasks: [] });
        break;
      case 'task_start': {
        const task: JsonTask = { task: event.task, hosts: {}, status: {} };
        if (event.role) task.role = event.role;
        if (event.handler) task.handler = true;
        this.play(event.play).tasks.push(task);
        break;
      }
      case 'task_result': {
        const task = this.task(event.play, event.task);
        const result = { ...(event.result ?? {}) };
        if (event.item !== undefined) {
          const entry = (task.hosts[event.host] ??= {});
          const results = Array.isArray(entry.results) ? entry.results : (entry.results = []);
          results.push({ item: event.item, status: event.status, ...result });
        } else {
          const previous = task.hosts[event.host];
          // A loop's final summary keeps the per-item results already collected.
          task.hosts[event.host] = previous?.results ? { ...result, results: previous.results } : result;
        }
        task.status[event.host] = worseStatus(task.status[event.host], event.status);
        break;
      }
      case 'task_end':
        this.task(event.play, event.task).durationMs = event.durationMs;
        break;
      case 'warning':
        this.doc.warnings.push(event.host ? { message: event.message, host: event.host } : { message: event.message });
        break;
      case 'recap':
        this.doc.stats = event.stats;
        this.doc.durationMs = event.durationMs;
        this.doc.exitCode = event.exitCode;
        this.doc.reason = event.reason;
        if (event.problems?.length) this.doc.problems = event.problems;
        if (event.transport) this.doc.transport = event.transport;
        break;
      default:
        break;
    }
  }

  private play(name: string): JsonPlay {
    let play = this.doc.plays.at(-1);
    if (!play || play.play !== name) {
      play = { play: name, tasks: [] };
      this.doc.plays.push(play);
    }
    return play;
  }

  private task(playName: string, taskName: string): JsonTask {
    const play = this.play(playName);
    let task = [...play.tasks].reverse().find((t) => t.task === taskName);
    if (!task) {
      task = { task: taskName, hosts: {}, status: {} };
      play.tasks.push(task);
    }
    return task;
  }

  /** The document so far (for tests and embedding). */
  document(): JsonDocument {
    return this.doc;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await write(this.stream, safeStringify(this.doc, 2) + '\n');
  }
}

export class NdjsonReporter implements Reporter {
  constructor(private readonly stream: NodeJS.WritableStream) {}

  onEvent(event: RunEvent): void {
    writeOut(this.stream, safeStringify(event) + '\n');
  }

  async close(): Promise<void> {
    await write(this.stream, '');
  }
}

/** Resolves once the chunk is handed to the stream, so nothing is lost when the process exits right after. */
function write(stream: NodeJS.WritableStream, chunk: string): Promise<void> {
  return new Promise((resolve) => {
    if (chunk === '') {
      if ((stream as { writableNeedDrain?: boolean }).writableNeedDrain) stream.once('drain', () => resolve());
      else resolve();
      return;
    }
    writeOut(stream, chunk, resolve);
  });
}
