// A real headless Chromium (Debian's `chromium` package, never a downloaded browser) driven over the DevTools
// protocol: load a page, collect every console error, uncaught exception, Log error (CSP violations land there)
// and every request the page makes, query the DOM, take a full-page screenshot. One browser per `launch`.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

export const CHROMIUM = process.env.MESHPLAY_CHROMIUM ?? '/usr/bin/chromium';

export function chromiumMissing(): string | false {
  return existsSync(CHROMIUM) ? false : `${CHROMIUM} not installed (scripts/install-deps.sh installs Debian's chromium)`;
}

export interface PageLoad {
  /** Console errors, uncaught exceptions and Log errors (a blocked request, a CSP violation). */
  errors: string[];
  /** Every URL the page requested besides itself. */
  requests: string[];
}

export interface Browser {
  load(file: string): Promise<PageLoad>;
  /** Evaluates an expression in the page; returns its value (JSON-serialisable). */
  evaluate<T = unknown>(expression: string): Promise<T>;
  screenshot(file: string, width?: number): Promise<void>;
  close(): Promise<void>;
}

async function until<T>(what: string, f: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function launch(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'meshplay-chromium-'));
  const proc: ChildProcess = spawn(
    CHROMIUM,
    ['--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--hide-scrollbars', `--user-data-dir=${profile}`, '--remote-debugging-port=0', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  const stop = async () => {
    if (proc.exitCode === null && proc.pid) proc.kill('SIGKILL');
    await rm(profile, { recursive: true, force: true }).catch(() => undefined);
  };
  try {
    // Chromium writes the port it chose (and the browser target's path) to DevToolsActivePort.
    const port = await until('Chromium DevTools port', async () => {
      if (proc.exitCode !== null) throw new Error(`chromium exited ${proc.exitCode}: ${stderr.slice(-500)}`);
      const text = await readFile(join(profile, 'DevToolsActivePort'), 'utf8');
      const p = Number(text.split('\n')[0]);
      return p > 0 ? p : undefined;
    });
    const target = await until('a page target', async () => {
      const list = (await (await fetch(`http://127.0.0.1:${port}/json/list`)).json()) as { type: string; webSocketDebuggerUrl: string }[];
      return list.find((t) => t.type === 'page');
    });
    const ws = new WebSocket(target.webSocketDebuggerUrl, { perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    let nextId = 1;
    const pending = new Map<number, { resolve(v: any): void; reject(e: Error): void }>();
    const listeners: ((method: string, params: any) => void)[] = [];
    ws.on('message', (data) => {
      const msg = JSON.parse(String(data));
      if (msg.id && pending.has(msg.id)) {
        const p = pending.get(msg.id)!;
        pending.delete(msg.id);
        if (msg.error) p.reject(new Error(`${msg.error.message} (${msg.error.code})`));
        else p.resolve(msg.result);
      } else if (msg.method) for (const l of listeners) l(msg.method, msg.params);
    });
    const send = (method: string, params: Record<string, unknown> = {}): Promise<any> =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        ws.send(JSON.stringify({ id, method, params }));
      });
    let current: PageLoad = { errors: [], requests: [] };
    let pageUrl = '';
    listeners.push((method, params) => {
      if (method === 'Runtime.consoleAPICalled' && (params.type === 'error' || params.type === 'assert')) current.errors.push(`console.${params.type}: ${params.args.map((a: any) => a.value ?? a.description).join(' ')}`);
      else if (method === 'Runtime.exceptionThrown') current.errors.push(`exception: ${params.exceptionDetails?.exception?.description ?? params.exceptionDetails?.text}`);
      else if (method === 'Log.entryAdded' && params.entry.level === 'error') current.errors.push(`${params.entry.source}: ${params.entry.text}${params.entry.url ? ` (${params.entry.url})` : ''}`);
      else if (method === 'Network.requestWillBeSent' && params.request.url !== pageUrl) current.requests.push(params.request.url);
    });
    await Promise.all([send('Page.enable'), send('Runtime.enable'), send('Log.enable'), send('Network.enable')]);
    const evaluate = async <T>(expression: string): Promise<T> => {
      const r = await send('Runtime.evaluate', { expression, returnByValue: true });
      if (r.exceptionDetails) throw new Error(`evaluating ${expression}: ${r.exceptionDetails.text}`);
      return r.result.value as T;
    };
    return {
      evaluate,
      async load(file: string): Promise<PageLoad> {
        current = { errors: [], requests: [] };
        pageUrl = pathToFileURL(file).href;
        const loaded = new Promise<void>((resolve) => {
          const l = (method: string) => {
            if (method === 'Page.loadEventFired') {
              listeners.splice(listeners.indexOf(l), 1);
              resolve();
            }
          };
          listeners.push(l);
        });
        const nav = await send('Page.navigate', { url: pageUrl });
        if (nav.errorText) throw new Error(`navigating to ${pageUrl}: ${nav.errorText}`);
        await loaded;
        await new Promise((r) => setTimeout(r, 200)); // late console messages (CSP reports arrive after load)
        return current;
      },
      async screenshot(file: string, width = 1400): Promise<void> {
        // The page's height at the screenshot's width, then the whole page in one image.
        await send('Emulation.setDeviceMetricsOverride', { width, height: 800, deviceScaleFactor: 1, mobile: false });
        const height = Math.min(16_000, Math.ceil(Number(await evaluate('document.documentElement.scrollHeight'))));
        await send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
        const shot = await send('Page.captureScreenshot', { format: 'png' });
        await writeFile(file, Buffer.from(shot.data, 'base64'));
      },
      async close(): Promise<void> {
        await send('Browser.close').catch(() => undefined);
        ws.close();
        await new Promise((r) => setTimeout(r, 100));
        await stop();
      },
    };
  } catch (e) {
    await stop();
    throw e;
  }
}

/** Where tests keep what a person should be able to look at after CI (screenshots): test-artifacts/ at the root. */
export async function artifactPath(name: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  const { repoRoot } = await import('./cli.js');
  const dir = process.env.MESHPLAY_TEST_ARTIFACTS ?? join(repoRoot, 'test-artifacts');
  await mkdir(dir, { recursive: true });
  return join(dir, name);
}

/** The checks every report page must pass in the browser: loads clean, no request, the sections there. */
export async function checkReportPage(b: Browser, file: string): Promise<{ load: PageLoad; sections: string[]; cells: number; kind: string }> {
  const load = await b.load(file);
  const sections = await b.evaluate<string[]>("[...document.querySelectorAll('main > section')].map((s) => s.id)");
  const cells = await b.evaluate<number>("document.querySelectorAll('#route-matrix td[data-state]').length");
  const kind = await b.evaluate<string>('document.body.dataset.kind');
  return { load, sections, cells, kind };
}
