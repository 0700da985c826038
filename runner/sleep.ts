/**
 * Waits `ms`, or less when `signal` aborts: it resolves either way, and the caller checks `signal.aborted`
 * (an interrupted run stops waiting at once instead of sleeping out retries, pauses or polls).
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
