// The recap's transport summary: per connection kind, how many connections, commands and API requests a run used.
import { isRequestCounter, type Connection } from '../connection/types.js';

type Counter = Record<string, number>;

interface KindSummary {
  connections: number;
  connectMs: number;
  commands: number;
  commandMs: number;
  requests?: Counter;
}

export function transportSummary(conns: Connection[]): Record<string, unknown> {
  const byKind: Record<string, KindSummary> = {};
  const round = (n: number) => Math.round(n * 10) / 10;
  for (const c of conns) {
    const t = c.timings();
    const k = (byKind[c.kind] ??= { connections: 0, connectMs: 0, commands: 0, commandMs: 0 });
    k.connections++;
    k.connectMs = round(k.connectMs + t.connectMs);
    k.commands += t.commands;
    k.commandMs = round(k.commandMs + t.commandMs);
    if (!isRequestCounter(c)) continue;
    const counts = c.requestCounts();
    const req = (k.requests ??= { persisting: 0, dryRun: 0, lock: 0, total: 0 });
    for (const [verb, n] of Object.entries(counts.byVerb)) req[verb] = (req[verb] ?? 0) + (n ?? 0);
    req.persisting += counts.persisting;
    req.dryRun += counts.dryRun;
    req.lock += counts.lock;
    req.total += counts.total;
  }
  return byKind;
}
