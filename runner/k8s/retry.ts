// When a Kubernetes API request is sent again, and how long meshplay waits first. Pure: the connection
// (runner/connection/kubernetes.ts) reports what happened to one attempt, this decides.
//
// The rule follows client-go's (k8s.io/client-go/rest): a 429, or a 5xx carrying Retry-After, means the server
// did not act on the request, so any verb may be sent again after the time it asks for. Beyond client-go, meshplay
// also retries, with bounded backoff, what is safe to repeat: every verb but POST after a 5xx without Retry-After,
// a connection reset or a response that stalled. A POST (a create, a TokenRequest) that may have been acted on is
// never repeated blindly: the next run reads the state and converges instead. A connection that cannot be opened
// at all is not retried either: the cluster is unreachable, and the run says so after one connect timeout.

export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfter?: string }
  /** The connection broke after the request may have reached the server (ECONNRESET, EPIPE). */
  | { kind: 'reset' }
  /** Connected, then no answer within the request timeout. */
  | { kind: 'stalled' }
  /** No connection at all (refused, no route, connect timeout, TLS failure). */
  | { kind: 'connect-failed' };

export interface RetryPolicy {
  /** Attempts in all, the first one included. */
  maxTries: number;
  /** The longest single wait a Retry-After may ask for; a longer one is waited this long. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxTries: 5, maxRetryAfterMs: 30_000 };

/** A status the server answers when it is overloaded or failing, not about the request itself. */
export function isServerTrouble(status: number): boolean {
  return status === 429 || (status >= 500 && status <= 599);
}

/** Retry-After as seconds or an HTTP date, in ms from `now`; undefined when absent or unreadable. */
export function retryAfterMs(header: string | undefined, now = Date.now()): number | undefined {
  if (header === undefined || header.trim() === '') return undefined;
  const s = header.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  const at = Date.parse(s);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Exponential backoff with jitter: 200 ms, 400 ms, 800 ms, ... capped at 3.2 s. */
export function backoffMs(attempt: number, random = Math.random): number {
  return Math.min(200 * 2 ** (attempt - 1), 3200) + Math.floor(random() * 100);
}

/**
 * How long to wait before attempt `attempt + 1`, or undefined when the request must not be sent again.
 * `attempt` counts from 1 (the attempt that just ended).
 */
export function retryDelay(method: string, outcome: AttemptOutcome, attempt: number, policy: RetryPolicy = DEFAULT_RETRY_POLICY): number | undefined {
  if (attempt >= policy.maxTries) return undefined;
  const repeatable = method.toUpperCase() !== 'POST';
  switch (outcome.kind) {
    case 'connect-failed':
      return undefined;
    case 'reset':
    case 'stalled':
      return repeatable ? backoffMs(attempt) : undefined;
    case 'response': {
      if (!isServerTrouble(outcome.status)) return undefined;
      const asked = retryAfterMs(outcome.retryAfter);
      if (asked !== undefined) return Math.min(asked, policy.maxRetryAfterMs);
      if (outcome.status === 429 || repeatable) return backoffMs(attempt);
      return undefined;
    }
  }
}
