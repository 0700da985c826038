// Terminal output through listr2: one line per task with a spinner and its timing, the task's hosts as
// subtasks that settle as their results arrive. The executor pushes events; each task becomes a small
// Listr run whose host subtasks wait on promises the events resolve. Details that need room (failures,
// diffs, warnings) print between tasks, and the recap at the end, like the plain output.
import { Listr, ListrLogger, PRESET_TIMER, ProcessOutput, type ListrTaskWrapper } from 'listr2';
import type { HostStatus, Reporter, RunEvent } from './events.js';
import { formatDuration, logLine, painter, recapLines, resultLines, taskTitle, warningLine, writeOut, type Paint, type TaskResultEvent } from './format.js';
import type { TextReporterOptions } from './plain.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

const WORD: Record<HostStatus, string> = {
  ok: 'ok',
  changed: 'changed',
  skipped: 'skipped',
  failed: 'failed',
  unreachable: 'unreachable',
  ignored: 'failed (ignored)',
  rescued: 'rescued',
};

interface LiveTask {
  hosts: Map<string, Deferred<TaskResultEvent | undefined>>;
  details: string[];
}

export class PrettyReporter implements Reporter {
  private readonly paint: Paint;
  /** Everything renders in order through this chain: a task's Listr run, then text between tasks. */
  private chain: Promise<void> = Promise.resolve();
  private live: LiveTask | undefined;
  /** listr2 writes to the reporter's stream, not to process.stdout. */
  private readonly logger: ListrLogger;

  constructor(private readonly opts: TextReporterOptions) {
    this.paint = painter(opts.color ?? true);
    const stream = opts.stream as NodeJS.WriteStream;
    this.logger = new ListrLogger({ processOutput: new ProcessOutput(stream, stream, { leaveEmptyLine: false }) });
  }

  private print(lines: string[]): void {
    if (!lines.length) return;
    const text = `${lines.join('\n')}\n`;
    this.chain = this.chain.then(() => new Promise<void>((r) => writeOut(this.opts.stream, text, r)));
  }

  onEvent(event: RunEvent): void {
    const paint = this.paint;
    switch (event.type) {
      case 'play_start':
        this.print(['', paint('bold', `PLAY [${event.play}]`)]);
        break;
      case 'task_start':
        this.startTask(taskTitle(event), event.hosts);
        break;
      case 'task_result': {
        const live = this.live;
        const d = live?.hosts.get(event.host);
        if (live && d) {
          d.resolve(event);
          const show = event.status === 'failed' || event.status === 'unreachable' || event.status === 'ignored' || (this.opts.diff && event.result?.diff) || this.opts.verbosity > 0;
          if (show) live.details.push(...resultLines(event, { verbosity: this.opts.verbosity, diff: this.opts.diff, paint }));
        } else this.print(resultLines(event, { verbosity: this.opts.verbosity, diff: this.opts.diff, paint }));
        break;
      }
      case 'task_end':
        this.endTask();
        break;
      case 'warning':
        if (this.live) this.live.details.push(warningLine(event, paint));
        else this.print([warningLine(event, paint)]);
        break;
      case 'log':
        if (event.level <= this.opts.verbosity) {
          if (this.live) this.live.details.push(logLine(event, paint));
          else this.print([logLine(event, paint)]);
        }
        break;
      case 'recap':
        this.endTask();
        this.print(['', ...recapLines(event, { verbosity: this.opts.verbosity, paint })]);
        break;
      default:
        break;
    }
  }

  private startTask(title: string, hosts: string[]): void {
    this.endTask();
    const live: LiveTask = { hosts: new Map(hosts.map((h) => [h, deferred<TaskResultEvent | undefined>()])), details: [] };
    this.live = live;
    const list = new Listr(
      [
        {
          title,
          task: (_ctx, task) =>
            task.newListr(
              hosts.map((host) => ({
                title: host,
                task: async (_c: unknown, sub: ListrTaskWrapper<unknown, any, any>) => {
                  const result = await live.hosts.get(host)!.promise;
                  if (!result) {
                    sub.skip(`${host}: not run`);
                    return;
                  }
                  const label = `${host}: ${WORD[result.status]} ${this.paint('gray', formatDuration(result.durationMs))}`;
                  if (result.status === 'skipped') sub.skip(label);
                  else if (result.status === 'failed' || result.status === 'unreachable') throw new Error(label);
                  else sub.title = label;
                },
              })),
              { concurrent: true, exitOnError: false },
            ),
        },
      ],
      {
        exitOnError: false,
        renderer: 'default',
        fallbackRenderer: 'default',
        rendererOptions: { collapseSubtasks: false, collapseErrors: false, collapseSkips: false, timer: PRESET_TIMER, logger: this.logger },
        silentRendererCondition: false,
        fallbackRendererCondition: false,
      },
    );
    this.chain = this.chain.then(async () => {
      await list.run().catch(() => undefined);
    });
  }

  private endTask(): void {
    const live = this.live;
    if (!live) return;
    this.live = undefined;
    // Hosts that produced no result (run_once, interrupted) settle as "not run".
    for (const d of live.hosts.values()) d.resolve(undefined);
    this.chain = this.chain.then(() => undefined);
    this.print(live.details);
  }

  async close(): Promise<void> {
    this.endTask();
    await this.chain;
  }
}
