// Events the executor emits; every output format (pretty, plain, ndjson, junit) is a consumer of them.
// Events are redacted before any consumer sees them.

export type HostStatus = 'ok' | 'changed' | 'failed' | 'skipped' | 'unreachable' | 'ignored' | 'rescued';

export interface HostStats {
  ok: number;
  changed: number;
  unreachable: number;
  failed: number;
  skipped: number;
  rescued: number;
  ignored: number;
}

export type RunEvent =
  | { type: 'playbook_start'; file: string; check: boolean }
  | { type: 'play_start'; play: string; hosts: string[] }
  | { type: 'task_start'; play: string; task: string; hosts: string[]; role?: string; handler?: boolean }
  | {
      type: 'task_result';
      play: string;
      task: string;
      host: string;
      status: HostStatus;
      durationMs: number;
      item?: unknown;
      delegatedTo?: string;
      result: Record<string, unknown>;
    }
  | { type: 'task_end'; play: string; task: string; durationMs: number }
  | { type: 'warning'; message: string; host?: string }
  | { type: 'log'; level: number; message: string; host?: string }
  | { type: 'play_end'; play: string }
  | {
      type: 'recap';
      stats: Record<string, HostStats>;
      durationMs: number;
      exitCode: number;
      /** What decided the exit code: ok, failed, unreachable, validation, interrupted, drift, internal. */
      reason: string;
      /** Transport figures (connections opened, command and request counts by kind/verb). */
      transport?: Record<string, unknown>;
      problems?: string[];
    };

export interface Reporter {
  onEvent(event: RunEvent): void;
  close(): Promise<void>;
}

export function emptyStats(): HostStats {
  return { ok: 0, changed: 0, unreachable: 0, failed: 0, skipped: 0, rescued: 0, ignored: 0 };
}
