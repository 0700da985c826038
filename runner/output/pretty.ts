// Terminal output: one live line per task with its hosts beneath, a spinner and timings; the finished
// task stays on screen as a summary. Hand-rolled rather than driven through listr2, whose renderer wants
// to own the task lifecycle and stdout while here the executor pushes events at it.
import type { HostStatus, Reporter, RunEvent } from './events.js';
import {
  formatDuration,
  logLine,
  painter,
  recapLines,
  resultLines,
  taskTitle,
  warningLine,
  writeOut,
  type Color,
  type Paint,
  type TaskResultEvent,
} from './format.js';
import { worseStatus } from './json.js';
import type { TextReporterOptions } from './plain.js';

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const SYMBOL: Record<HostStatus, [string, Color]> = {
  ok: ['✔', 'green'],
  changed: ['●', 'yellow'],
  skipped: ['↓', 'cyan'],
  failed: ['✖', 'red'],
  unreachable: ['✖', 'brightRed'],
  ignored: ['!', 'magenta'],
  rescued: ['↺', 'magenta'],
};

interface HostLine {
  status?: HostStatus;
  durationMs: number;
  items: number;
}

interface LiveTask {
  play: string;
  task: string;
  title: string;
  started: number;
  hosts: Map<string, HostLine>;
}

export class PrettyReporter implements Reporter {
  private readonly paint: Paint;
  private live: LiveTask | undefined;
  private liveLines = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: TextReporterOptions) {
    this.paint = painter(opts.color ?? true);
  }

  onEvent(event: RunEvent): void {
    if (this.closed) return;
    const paint = this.paint;
    switch (event.type) {
      case 'playbook_start':
        if (event.check) this.print([paint('cyan', 'Check mode: nothing will be changed.')]);
        break;
      case 'play_start':
        this.finishTask();
        this.print(['', paint('bold', `PLAY [${event.play}]`)]);
        break;
      case 'task_start': {
        this.finishTask();
        const hosts = new Map<string, HostLine>();
        for (const h of event.hosts) hosts.set(h, { durationMs: 0, items: 0 });
        const title = `${event.handler ? 'handler ' : ''}${taskTitle(event)}`;
        this.live = { play: event.play, task: event.task, title, started: Date.now(), hosts };
        this.startTimer();
        this.redraw();
        break;
      }
      case 'task_result':
        this.onResult(event);
        break;
      case 'task_end':
        if (this.live && this.live.task === event.task && this.live.play === event.play) this.finishTask(event.durationMs);
        break;
      case 'warning':
        this.print([warningLine(event, paint)]);
        break;
      case 'log':
        if (event.level <= this.opts.verbosity) this.print([logLine(event, paint)]);
        break;
      case 'recap':
        this.finishTask();
        this.print(['', ...recapLines(event, { verbosity: this.opts.verbosity, paint })]);
        break;
      default:
        break;
    }
  }

  private onResult(event: TaskResultEvent): void {
    if (!this.live || this.live.task !== event.task || this.live.play !== event.play) {
      this.finishTask();
      this.live = { play: event.play, task: event.task, title: event.task, started: Date.now(), hosts: new Map() };
      this.startTimer();
    }
    const line = this.live.hosts.get(event.host) ?? { durationMs: 0, items: 0 };
    line.status = worseStatus(line.status, event.status);
    line.durationMs += Number.isFinite(event.durationMs) ? event.durationMs : 0;
    if (event.item !== undefined) line.items++;
    this.live.hosts.set(event.host, line);
    // Failures, diffs and -v results are printed in full, as in the plain output; plain ok/changed lines
    // are represented by the host's symbol alone.
    const detailed =
      this.opts.verbosity > 0 ||
      !['ok', 'changed', 'skipped'].includes(event.status) ||
      (this.opts.diff && Array.isArray(event.result?.diff) && event.result.diff.length > 0);
    if (detailed) {
      const lines = resultLines(event, { verbosity: this.opts.verbosity, diff: this.opts.diff, paint: this.paint });
      this.print(lines.map((l) => `    ${l}`));
    } else {
      this.redraw();
    }
  }

  private taskLines(task: LiveTask, finalDurationMs?: number): string[] {
    const width = Math.max(20, ((this.opts.stream as { columns?: number }).columns || 100) - 1);
    const running = finalDurationMs === undefined;
    let worst: HostStatus | undefined;
    let pending = false;
    for (const h of task.hosts.values()) {
      if (h.status) worst = worseStatus(worst, h.status);
      else pending = true;
    }
    const elapsed = formatDuration(finalDurationMs ?? Date.now() - task.started);
    const spinner = this.paint('cyan', SPINNER[this.frame % SPINNER.length]);
    const head = running ? spinner : this.symbol(worst ?? (pending ? 'skipped' : 'ok'));
    const lines = [`${head} ${fit(`${task.title}  ${elapsed}`, width - 2)}`];
    for (const [host, h] of task.hosts) {
      const mark = h.status ? this.symbol(h.status) : running ? spinner : this.symbol('skipped');
      const what = h.status ?? (running ? 'running' : 'no result');
      const items = h.items ? ` (${h.items} item${h.items === 1 ? '' : 's'})` : '';
      const time = h.status ? `  ${formatDuration(h.durationMs)}` : '';
      lines.push(`  ${mark} ${fit(`${host}  ${what}${items}${time}`, width - 4)}`);
    }
    return lines;
  }

  private symbol(status: HostStatus): string {
    const [sym, color] = SYMBOL[status];
    return this.paint(color, sym);
  }

  private finishTask(durationMs?: number): void {
    if (!this.live) return;
    const task = this.live;
    this.live = undefined;
    this.stopTimer();
    const lines = this.taskLines(task, durationMs ?? Date.now() - task.started);
    writeOut(this.opts.stream, this.clearSequence() + lines.join('\n') + '\n');
    this.liveLines = 0;
  }

  /** Prints permanent lines above the live task. */
  private print(lines: string[]): void {
    if (!lines.length) return;
    const live = this.live ? this.taskLines(this.live) : [];
    writeOut(this.opts.stream, this.clearSequence() + lines.join('\n') + '\n' + (live.length ? live.join('\n') + '\n' : ''));
    this.liveLines = live.length;
  }

  private redraw(): void {
    if (!this.live) return;
    const live = this.taskLines(this.live);
    writeOut(this.opts.stream, this.clearSequence() + live.join('\n') + '\n');
    this.liveLines = live.length;
  }

  private clearSequence(): string {
    return this.liveLines > 0 ? `\x1b[${this.liveLines}A\r\x1b[J` : '';
  }

  /** Shows the cursor again if the process exits while a task is still drawn (an uncaught error, exit()). */
  private readonly restoreCursor = () => {
    if (this.timer) writeOut(this.opts.stream, '\x1b[?25h');
  };

  private startTimer(): void {
    if (this.timer) return;
    process.once('exit', this.restoreCursor);
    writeOut(this.opts.stream, '\x1b[?25l');
    this.timer = setInterval(() => {
      this.frame++;
      this.redraw();
    }, 100);
    this.timer.unref();
  }

  private stopTimer(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    process.removeListener('exit', this.restoreCursor);
    writeOut(this.opts.stream, '\x1b[?25h');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.finishTask();
    this.stopTimer();
    this.closed = true;
  }
}

/** Cuts a line to the terminal width so the live region's line count stays exact. */
function fit(s: string, width: number): string {
  return s.length <= width ? s : s.slice(0, Math.max(0, width - 1)) + '…';
}
