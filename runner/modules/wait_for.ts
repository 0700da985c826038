// Waits for a TCP port to accept connections (or stop) or for a path to appear (or go), on the host.
import { integer, number, object, oneOf, string, withDefault, type ArgsOf } from './args.js';
import type { Module, ModuleContext } from './types.js';
import { commandConnection, shellQuote } from './util.js';
import { pythonRegex } from '../template/regex.js';
import { sleep } from '../sleep.js';

const schema = object({
  host: withDefault(string(), '127.0.0.1'),
  port: integer({ minimum: 1, maximum: 65535 }),
  path: string(),
  state: withDefault(oneOf(['started', 'stopped', 'present', 'absent', 'drained']), 'started'),
  search_regex: string(),
  timeout: withDefault(number({ minimum: 0 }), 300),
  delay: withDefault(number({ minimum: 0 }), 0),
  sleep: withDefault(number({ minimum: 0 }), 1),
  msg: string(),
});
type WaitForArgs = ArgsOf<typeof schema>;

/** What the wait saw: whether the state was reached before the timeout, after how long, and the match. */
interface WaitFacts {
  reached: boolean;
  elapsed: number;
  match?: RegExpExecArray;
}

/**
 * One probe, run on the host itself so that "reachable" means reachable from there. A port is "drained"
 * when nothing listens on it any more (no connection can be opened): meshplay does not count established ones.
 * With search_regex, a path is present when its content matches (the match is returned).
 */
async function probe(ctx: ModuleContext, args: WaitForArgs): Promise<{ up: boolean; match?: RegExpExecArray }> {
  const conn = await commandConnection(ctx);
  if (args.port !== undefined) {
    const host = args.host;
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

const waitFor: Module<typeof schema, WaitFacts> = {
  name: 'wait_for',
  schema,
  // Waiting is reading: probe until the state is reached or the timeout passes.
  async facts(ctx, args) {
    const started = Date.now();
    const elapsed = () => Math.floor((Date.now() - started) / 1000);
    if (args.delay) await sleep(args.delay * 1000, ctx.signal);
    // Neither port nor path: Ansible's wait_for sleeps for the timeout and succeeds.
    if (args.port === undefined && args.path === undefined) {
      await sleep(args.timeout * 1000, ctx.signal);
      return { reached: true, elapsed: elapsed() };
    }
    const want = !(args.state === 'stopped' || args.state === 'absent' || args.state === 'drained');
    for (;;) {
      const p = await probe(ctx, args);
      if (p.up === want) return { reached: true, elapsed: elapsed(), match: p.match };
      if (Date.now() - started >= args.timeout * 1000 || ctx.signal.aborted) return { reached: false, elapsed: elapsed() };
      await sleep(args.sleep * 1000, ctx.signal);
    }
  },
  plan(facts, args) {
    if (args.port === undefined && args.path === undefined) return { changed: false, result: { elapsed: facts.elapsed } };
    if (!facts.reached) {
      const what = args.port !== undefined ? `port ${args.port}` : `path ${args.path}`;
      return { changed: false, result: { failed: true, elapsed: facts.elapsed, msg: args.msg ?? `Timeout when waiting for ${what} to be ${args.state}` } };
    }
    const result: Record<string, unknown> = { elapsed: facts.elapsed, state: args.state };
    if (args.path !== undefined) result.path = args.path;
    if (args.port !== undefined) result.port = args.port;
    if (args.search_regex !== undefined) {
      result.search_regex = args.search_regex;
      result.match_groups = facts.match ? facts.match.slice(1).map((g) => g ?? null) : [];
      result.match_groupdict = facts.match?.groups ? { ...facts.match.groups } : {};
    }
    return { changed: false, result };
  },
};

export default waitFor;
