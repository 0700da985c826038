// Waits for a TCP port to accept connections (or stop) or for a path to appear (or go), on the host.
import type { Module, ModuleContext } from './types.js';
import { commandConnection, shellQuote } from './util.js';

interface WaitForArgs {
  host?: string;
  port?: number;
  path?: string;
  state?: 'started' | 'stopped' | 'present' | 'absent';
  timeout?: number;
  delay?: number;
  sleep?: number;
  msg?: string;
}

/** One probe, run on the host itself so that "reachable" means reachable from there. */
async function probe(ctx: ModuleContext, args: WaitForArgs): Promise<boolean> {
  const conn = await commandConnection(ctx);
  if (args.port !== undefined) {
    const host = args.host ?? '127.0.0.1';
    const script = `exec 3<>/dev/tcp/${host}/${args.port}`;
    const r = await conn.exec(['bash', '-c', script], { timeoutMs: 2000 });
    return r.code === 0;
  }
  const r = await conn.exec(`test -e ${shellQuote(args.path!)}`);
  return r.code === 0;
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
      state: { enum: ['started', 'stopped', 'present', 'absent'] },
      timeout: { type: 'number', minimum: 0 },
      delay: { type: 'number', minimum: 0 },
      sleep: { type: 'number', minimum: 0 },
      msg: { type: 'string' },
    },
  },
  async plan(ctx, args) {
    if (args.port === undefined && args.path === undefined) throw new Error('wait_for needs port or path');
    const want = !(args.state === 'stopped' || args.state === 'absent');
    const timeout = (args.timeout ?? 300) * 1000;
    const started = Date.now();
    if (args.delay) await new Promise((r) => setTimeout(r, args.delay! * 1000));
    for (;;) {
      if ((await probe(ctx, args)) === want) return { changed: false, result: { elapsed: Math.round((Date.now() - started) / 1000) } };
      if (Date.now() - started >= timeout || ctx.signal.aborted) {
        const what = args.port !== undefined ? `port ${args.port}` : `path ${args.path}`;
        return { changed: false, result: { failed: true, elapsed: Math.round((Date.now() - started) / 1000), msg: args.msg ?? `Timeout when waiting for ${what} to be ${args.state ?? (args.port !== undefined ? 'started' : 'present')}` } };
      }
      await new Promise((r) => setTimeout(r, (args.sleep ?? 1) * 1000));
    }
  },
  async apply() {
    return { changed: false };
  },
};

export default waitFor;
