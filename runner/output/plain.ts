// Ansible-like text output, line by line as events arrive: for logs, CI and anything that is not a terminal.
import type { Reporter, RunEvent } from './events.js';
import { banner, logLine, writeOut, painter, recapLines, resultLines, taskBanner, warningLine, type Paint } from './format.js';

export interface TextReporterOptions {
  stream: NodeJS.WritableStream;
  verbosity: number;
  diff: boolean;
  check: boolean;
  color?: boolean;
}

export class PlainReporter implements Reporter {
  private readonly paint: Paint;

  constructor(private readonly opts: TextReporterOptions) {
    this.paint = painter(opts.color ?? false);
  }

  onEvent(event: RunEvent): void {
    const lines = this.format(event);
    if (lines.length) writeOut(this.opts.stream, lines.join('\n') + '\n');
  }

  /** The lines one event prints (exposed for the pretty reporter, which prints the same text around its spinner). */
  format(event: RunEvent): string[] {
    const { verbosity } = this.opts;
    const paint = this.paint;
    switch (event.type) {
      case 'playbook_start':
        return verbosity > 0 ? [banner(`PLAYBOOK: ${event.file}${event.check ? ' (check mode)' : ''}`)] : [];
      case 'play_start':
        return ['', banner(`PLAY [${event.play}]`)];
      case 'task_start':
        return ['', taskBanner(event)];
      case 'task_result':
        return resultLines(event, { verbosity, diff: this.opts.diff, paint });
      case 'task_end':
      case 'play_end':
        return [];
      case 'warning':
        return [warningLine(event, paint)];
      case 'log':
        return event.level <= verbosity ? [logLine(event, paint)] : [];
      case 'recap':
        return ['', ...recapLines(event, { verbosity, paint })];
      default:
        return [];
    }
  }

  async close(): Promise<void> {}
}
