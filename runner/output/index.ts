// Output formats. Each is a Reporter fed the (already redacted) run events.
import type { Reporter, RunEvent } from './events.js';
import { JsonReporter, NdjsonReporter } from './json.js';
import { JunitReporter } from './junit.js';
import { PlainReporter, type TextReporterOptions } from './plain.js';
import type { Redactor } from '../secrets/redact.js';

export type ReporterKind = 'pretty' | 'plain' | 'json' | 'ndjson';
export const REPORTER_KINDS: readonly ReporterKind[] = ['pretty', 'plain', 'json', 'ndjson'];
export type ReporterOptions = TextReporterOptions;

/**
 * Creates the reporter for an output format. `pretty` needs a terminal: on anything else it falls back
 * to `plain`, whose lines are the same. Colour defaults to on only for a terminal.
 */
export function createReporter(kind: ReporterKind, opts: ReporterOptions): Reporter {
  const tty = Boolean((opts.stream as { isTTY?: boolean }).isTTY);
  const withColor = { ...opts, color: opts.color ?? (tty && !process.env.NO_COLOR) };
  switch (kind) {
    case 'pretty': {
      if (!tty) return new PlainReporter(withColor);
      return lazyReporter(import('./pretty.js').then(({ PrettyReporter }) => new PrettyReporter(withColor)));
    }
    case 'plain':
      return new PlainReporter(withColor);
    case 'json':
      return new JsonReporter(opts.stream);
    case 'ndjson':
      return new NdjsonReporter(opts.stream);
    default:
      throw new Error(`unknown output format '${String(kind)}' (expected one of: ${REPORTER_KINDS.join(', ')})`);
  }
}

/** A reporter whose module loads in the background; events that arrive meanwhile are replayed in order. */
function lazyReporter(loading: Promise<Reporter>): Reporter {
  let loaded: Reporter | undefined;
  const queued: RunEvent[] = [];
  const ready = loading.then((r) => {
    loaded = r;
    for (const e of queued.splice(0)) r.onEvent(e);
    return r;
  });
  return {
    onEvent(event: RunEvent) {
      if (loaded) loaded.onEvent(event);
      else queued.push(event);
    },
    async close() {
      await (await ready).close();
    },
  };
}

export function createJunitReporter(file: string): Reporter {
  return new JunitReporter(file);
}

/** Feeds every event to several reporters (e.g. the terminal output and a JUnit file). */
export function fanOut(...reporters: Reporter[]): Reporter {
  return {
    onEvent(event: RunEvent) {
      for (const r of reporters) r.onEvent(event);
    },
    async close() {
      await Promise.all(reporters.map((r) => r.close()));
    },
  };
}

/** Redacts each event before the reporter sees it (for callers that do not redact themselves). */
export function redacting(reporter: Reporter, redactor: Redactor): Reporter {
  return {
    onEvent(event: RunEvent) {
      reporter.onEvent(redactor.redact(event));
    },
    close: () => reporter.close(),
  };
}

export { PlainReporter } from './plain.js';
export { JsonReporter, NdjsonReporter } from './json.js';
export { JunitReporter } from './junit.js';
export { Redactor, noLog } from '../secrets/redact.js';
export { tally } from './recap.js';
