// What `meshplay` runs (dist/bin/cli.js): the CLI bundle, dist/bin/meshplay.cjs, compiled with a V8 code cache.
//
// Node 20 has no compile cache for ES modules (module.enableCompileCache is 22.1+), and compiling meshplay's own code
// was a visible share of every run: ~80 ms of parse and bytecode at start-up, more for each function on its first
// call. A script compiled by vm.Script can take V8's cached data instead. The cache is made by the first run (none,
// or V8 refused it), after that run's first second or at its exit if sooner, so it holds the functions that run
// used; a cache made by a short run (`--version`) is made again once by a longer one. V8 checks that the cache
// belongs to its own version and flags; the bundle's content is checked by name (its hash, put in by
// scripts/bundle.mjs, since V8 itself compares only the source's length). MESHPLAY_CODE_CACHE=0 turns it off.
//
// Where: beside the bundle when that directory is writable, else in $XDG_CACHE_HOME/meshplay (~/.cache/meshplay),
// a directory only its user can write: cached code is run as is, so it is never read from a place others can write.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import vm from 'node:vm';
import { BEFORE_FULL_SPEED } from './startup.js';

/** The bundle's content hash, defined by scripts/bundle.mjs when it builds this file into dist/bin/cli.js. */
declare const MESHPLAY_BUNDLE_ID: string | undefined;

/** What the first byte of a cache file says about the run that made it. */
type Made = typeof SHORT_RUN | typeof LONG_RUN;
/** At the exit of a run shorter than a second: it holds the start-up and that command's code. */
const SHORT_RUN = 0;
/** At the end of a run's first second: what a playbook run compiles by then. */
const LONG_RUN = 1;

// The CLI starts with Turbofan off (runner/startup.ts). The flags a cache was made under must be the ones it is read
// under, so they are set before anything is compiled, and the cache is made before they change.
setFlagsFromString('--no-turbofan');

const bundle = join(dirname(fileURLToPath(import.meta.url)), 'meshplay.cjs');
// The bundle is compiled as the body of a function, as Node's CommonJS loader does. Its import() calls of packages
// left outside it were renamed by the build to __meshplayImport: a script's own import() needs an experimental vm
// option, whose callback V8 drops when the script comes from a cache.
const source = `(function (exports, require, module, __filename, __dirname, __meshplayImport) {${readFileSync(bundle, 'utf8')}\n})`;
const id = typeof MESHPLAY_BUNDLE_ID === 'string' && process.env.MESHPLAY_CODE_CACHE !== '0' ? MESHPLAY_BUNDLE_ID : undefined;
const name = `meshplay-${id}-${process.version}-${process.arch}.v8cache`;
const dirs = [dirname(bundle), join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'meshplay')];

let found: { made: Made; data: Buffer } | undefined;
if (id) {
  for (const dir of dirs) {
    try {
      const file = readFileSync(join(dir, name));
      if (file.length > 1) found = { made: file[0] as Made, data: file.subarray(1) };
      break;
    } catch {
      // not there: the next place, or none
    }
  }
}

const script = new vm.Script(source, { filename: bundle, cachedData: found?.data });
const usable = found !== undefined && !script.cachedDataRejected;

let saved = false;
function save(made: Made): void {
  if (saved || !id) return;
  saved = true;
  if (usable && !(found!.made === SHORT_RUN && made === LONG_RUN)) return;
  try {
    const data = Buffer.concat([Buffer.from([made]), script.createCachedData()]);
    for (const dir of dirs) {
      try {
        if (dir !== dirs[0]) mkdirSync(dir, { recursive: true, mode: 0o700 });
        // Written whole, then renamed: a run starting meanwhile reads the old file or the new one, never half.
        const tmp = join(dir, `${name}.${process.pid}.tmp`);
        writeFileSync(tmp, data, { mode: 0o600 });
        renameSync(tmp, join(dir, name));
        return;
      } catch {
        // not writable: the next place
      }
    }
  } catch {
    // a cache is only ever a saving: the run goes on without one
  }
}

(globalThis as Record<symbol, unknown>)[BEFORE_FULL_SPEED] = () => save(LONG_RUN);
process.once('exit', () => save(SHORT_RUN));

const module = { exports: {} };
const run = script.runInThisContext() as (...args: unknown[]) => void;
run(module.exports, createRequire(bundle), module, bundle, dirname(bundle), (specifier: string) => import(specifier));
