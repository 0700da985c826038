// Waits for a TCP port to accept connections (or stop) or for a path to appear (or go), on the host.
import type { Module, ModuleContext } from './types.js';
import { commandConnection, shellQuote } from './util.js';
import { pythonRegex } from '../template/regex.js';
import { sleep } from '../sleep.js';

interface WaitForArgs {
  host?: string;
  port?: number;
  path?: string;
  state?: 'started' | 'stopped' | 'present' | 'absent' | 'drained';
  search_regex?: string;
  timeout?: number;
  delay?: number;
  sleep?: number;
  msg?: string;
}

/**
 * One probe, run on the host itself so that "reachable" means reachable from there. A port is "drained"
 * when nothing listens on it any more (no connection can be opened): meshplay does not count established ones.
 * With search_regex, a path is present when its content matches (the match is returned).
 */
async function probe(ctx: ModuleContext, args: WaitForArgs): Promise<{ up: boolean; match?: RegExpExecArray }> {
  const conn = await commandConnection(ctx);
  if (args.port !== undefined) {
    const host = args.host ?? '127.0.0.1';
    const script = `exec 3<>/dev/tcp/${host}/${args.port}`;
    const r = await conn.exec(['bash', '-c', script], { timeoutMs: 2000 });
    return { up: r.code === 0 };
  }
  if (args.search_regex !== undefined) {
    const r = await conn.exec(`cat ${shellQuote(args.path!)}`);
    if (r.code !== 0) return { up: false };
    const match = pythonRegex(args.search_regex, 'm').exec(r.stdout) ?? undefined;
    return { up: match !== undefined, match };
  }
  const r = await conn.exec(`test -e ${shellQuote(args.path!)}`);
  return { up: r.code === 0 };
}

const waitFor: Module<WaitForArgs> = {
  name: 'wait_for',
  schema: {
    type: 'object',
    additionalProperties: false,
    properties: {
      host: { type: 'string' },
      port: { type: 'integer', minimum: 1, maximum: 65535 },
      path: { type: 'string' },
      state: { enum: ['started', 'stopped', 'present', 'absent', 'drained'] },
      search_regex: { type: 'string' },
      timeout: { type: 'number', minimum: 0 },
      delay: { type: 'number', minimum: 0 },
      sleep: { type: 'number', minimum: 0 },
      msg: { type: 'string' },
    },
  },
  async plan(ctx, args) {
    const timeoutS = args.timeout ?? 300;
    const started = Date.now();
    const elapsed = () => Math.floor((Date.now() - started) / 1000);
    if (args.delay) await sleep(args.delay * 1000, ctx.signal);
    // Neither port nor path: Ansible's wait_for sleeps for the timeout and succeeds.
    if (args.port === undefined && args.path === undefined) {
      await sleep(timeoutS * 1000, ctx.signal);
      return { changed: false, result: { elapsed: elapsed() } };
    }
    const state = args.state ?? 'started';
    const want = !(state === 'stopped' || state === 'absent' || state === 'drained');
    for (;;) {
      const p = await probe(ctx, args);
      if (p.up === want) {
        const result: Record<string, unknown> = { elapsed: elapsed(), state };
        if (args.path !== undefined) result.path = args.path;
        if (args.port !== undefined) result.port = args.port;
        if (args.search_regex !== undefined) {
          result.search_regex = args.search_regex;
          result.match_groups = p.match ? p.match.slice(1).map((g) => g ?? null) : [];
          result.match_groupdict = p.match?.groups ? { ...p.match.groups } : {};
        }
        return { changed: false, result };
      }
      if (Date.now() - started >= timeoutS * 1000 || ctx.signal.aborted) {
        const what = args.port !== undefined ? `port ${args.port}` : `path ${args.path}`;
        return { changed: false, result: { failed: true, elapsed: elapsed(), msg: args.msg ?? `Timeout when waiting for ${what} to be ${state}` } };
      }
      await sleep((args.sleep ?? 1) * 1000, ctx.signal);
    }
  },
  async apply() {
    return { changed: false };
  },
};

export default waitFor;
