// V8 tuning for the life of one meshplay process.
//
// Most runs last about a second, and Turbofan, V8's optimizing compiler, spent CPU (on a background thread,
// competing with SSH handshakes on small machines) on code that finished before the optimized version paid off:
// the 4x12 routes run used 0.45 s of CPU with it and 0.35 s without, 30-40 ms less wall time (Node 20). So the CLI
// starts with it off and turns it back on after a second, for long runs (V8 reads the flag at each tier-up decision).
// The timer cannot fire while one long synchronous step runs: parsing a 20 MB inventory took twice the CPU
// without Turbofan. Code that is about to do such a step calls fullSpeedAhead() first.
import { setFlagsFromString } from 'node:v8';

let optimizing = true;

/**
 * Where the launcher (runner/launch.ts) leaves the function that makes its code cache: called just before Turbofan is
 * turned on, while V8's flags are still the ones the cache is read under.
 */
export const BEFORE_FULL_SPEED = Symbol.for('meshplay.beforeFullSpeed');

/** Turbofan off for the start-up second (called once, by the CLI entry point). */
export function quickStart(): void {
  setFlagsFromString('--no-turbofan');
  optimizing = false;
  setTimeout(fullSpeedAhead, 1000).unref();
}

/** Turbofan on from now: a long step (a big input file) is coming. */
export function fullSpeedAhead(): void {
  if (optimizing) return;
  const beforeFullSpeed = (globalThis as Record<symbol, unknown>)[BEFORE_FULL_SPEED];
  if (typeof beforeFullSpeed === 'function') beforeFullSpeed();
  setFlagsFromString('--turbofan');
  optimizing = true;
}
