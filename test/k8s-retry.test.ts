// The retry rule for Kubernetes API requests (runner/k8s/retry.ts): which outcomes are sent again, for which verbs,
// after how long. The end-to-end behaviour against a real API server is in test/faults/api-faults.test.ts.
import t from 'tap';
import { DEFAULT_RETRY_POLICY, retryAfterMs, retryDelay } from '../runner/k8s/retry.js';

t.test('Retry-After: seconds or an HTTP date', async (t) => {
  t.equal(retryAfterMs('3'), 3000);
  t.equal(retryAfterMs('0'), 0);
  const now = Date.parse('2026-12-07T01:00:00Z');
  t.equal(retryAfterMs('Mon, 07 Dec 2026 01:00:05 GMT', now), 5000);
  t.equal(retryAfterMs('Mon, 07 Dec 2026 00:59:00 GMT', now), 0, 'a date in the past: at once');
  t.equal(retryAfterMs(undefined), undefined);
  t.equal(retryAfterMs('soon'), undefined);
});

t.test('which outcomes are retried, per verb', async (t) => {
  const r = (method: string, o: Parameters<typeof retryDelay>[1], attempt = 1) => retryDelay(method, o, attempt) !== undefined;
  t.ok(r('POST', { kind: 'response', status: 429 }), '429: the server did not act, any verb');
  t.ok(r('POST', { kind: 'response', status: 503, retryAfter: '1' }), '5xx with Retry-After: any verb');
  t.notOk(r('POST', { kind: 'response', status: 503 }), '5xx without Retry-After: not a POST');
  t.ok(r('PATCH', { kind: 'response', status: 500 }), '5xx without Retry-After: a PATCH is');
  t.notOk(r('GET', { kind: 'response', status: 404 }), 'never a 4xx');
  t.notOk(r('GET', { kind: 'response', status: 409 }), 'never a conflict');
  t.ok(r('GET', { kind: 'reset' }), 'a reset GET');
  t.notOk(r('POST', { kind: 'reset' }), 'not a reset POST (the server may have acted)');
  t.ok(r('DELETE', { kind: 'stalled' }), 'a stalled DELETE');
  t.notOk(r('GET', { kind: 'connect-failed' }), 'never a connection that could not be opened');
  t.notOk(r('GET', { kind: 'response', status: 503 }, DEFAULT_RETRY_POLICY.maxTries), 'not after the last try');
});

t.test('how long: what the server asks, capped; else backoff', async (t) => {
  t.equal(retryDelay('GET', { kind: 'response', status: 429, retryAfter: '2' }, 1), 2000);
  t.equal(retryDelay('GET', { kind: 'response', status: 429, retryAfter: '3600' }, 1), DEFAULT_RETRY_POLICY.maxRetryAfterMs, 'capped');
  const b1 = retryDelay('GET', { kind: 'reset' }, 1)!;
  const b3 = retryDelay('GET', { kind: 'reset' }, 3)!;
  t.ok(b1 >= 200 && b1 < 300, `first backoff ~200 ms (${b1})`);
  t.ok(b3 >= 800 && b3 < 900, `third ~800 ms (${b3})`);
});
