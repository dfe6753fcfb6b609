import { describe, expect, it } from 'vitest';
import { isPermanentStatus, nextStep, parseRetryAfterMs, retryCeilingMs, retryDelayMs, webhookBackoffSchema, type AttemptOutcome } from './webhook-retry-policy.js';

const BACKOFF = webhookBackoffSchema.parse({});
const NOW = new Date('2025-03-03T08:00:00Z');
const response = (status: number, retryAfter: string | null = null): AttemptOutcome => ({ kind: 'response', status, retryAfter });

describe('backoff', () => {
  it('defaults to 5 s doubling up to 1 h, 100 attempts (days of downtime), full jitter', () => {
    expect(BACKOFF).toEqual({ initialMs: 5_000, maxMs: 3_600_000, maxAttempts: 100, jitter: true });
  });

  it('doubles from initialMs and never exceeds maxMs, however many attempts failed', () => {
    const ceilings = [1, 2, 3, 4, 5].map((failed) => retryCeilingMs(failed, BACKOFF));
    expect(ceilings).toEqual([5_000, 10_000, 20_000, 40_000, 80_000]);
    expect(retryCeilingMs(10, BACKOFF)).toBe(2_560_000);
    for (const failed of [11, 20, 100, 1_100, 1e6]) expect(retryCeilingMs(failed, BACKOFF)).toBe(3_600_000);
    let previous = 0;
    for (let failed = 1; failed <= 60; failed += 1) {
      const ceiling = retryCeilingMs(failed, BACKOFF);
      expect(ceiling).toBeGreaterThanOrEqual(previous);
      expect(ceiling).toBeLessThanOrEqual(BACKOFF.maxMs);
      previous = ceiling;
    }
  });

  it('draws each wait uniformly below the ceiling, at least 1 ms', () => {
    expect(retryDelayMs(3, BACKOFF, () => 0)).toBe(1);
    expect(retryDelayMs(3, BACKOFF, () => 0.5)).toBe(10_000);
    expect(retryDelayMs(3, BACKOFF, () => 0.999_999)).toBe(19_999);
    expect(retryDelayMs(50, BACKOFF, () => 0.999_999)).toBeLessThan(BACKOFF.maxMs);
    expect(retryDelayMs(3, { ...BACKOFF, jitter: false })).toBe(20_000);
  });

  it('refuses settings whose range is wrong', () => {
    expect(webhookBackoffSchema.safeParse({ initialMs: 10_000, maxMs: 5_000 }).success).toBe(false);
    expect(webhookBackoffSchema.safeParse({ maxAttempts: 0 }).success).toBe(false);
    expect(webhookBackoffSchema.safeParse({ initialMs: 0.5 }).success).toBe(false);
  });
});

describe('parseRetryAfterMs', () => {
  it('reads delay-seconds and HTTP-dates', () => {
    expect(parseRetryAfterMs('120', NOW)).toBe(120_000);
    expect(parseRetryAfterMs(' 0 ', NOW)).toBe(0);
    expect(parseRetryAfterMs(new Date(NOW.getTime() + 90_000).toUTCString(), NOW)).toBe(90_000);
    expect(parseRetryAfterMs('Mon, 03 Mar 2025 07:00:00 GMT', NOW)).toBe(0);
  });

  it('ignores what it cannot read', () => {
    for (const value of [null, undefined, '', '-5', '1.5', '1e3', 'soon', '2025-13-45']) expect(parseRetryAfterMs(value, NOW)).toBeUndefined();
  });
});

describe('nextStep', () => {
  const fixed = { ...BACKOFF, jitter: false };

  it('counts any 2xx as delivered', () => {
    for (const status of [200, 201, 202, 204, 299]) expect(nextStep(response(status), 1, fixed, NOW)).toEqual({ action: 'delivered' });
  });

  it('gives up at once on a 4xx about the request itself: retrying cannot help', () => {
    for (const status of [400, 410, 413, 422]) {
      expect(isPermanentStatus(status)).toBe(true);
      expect(nextStep(response(status), 1, fixed, NOW)).toEqual({ action: 'give-up', reason: 'permanent-status' });
    }
  });

  it('retries 401, 403, 404 (receiver state), 408, 429, 5xx, redirects, network errors and timeouts with growing waits', () => {
    for (const status of [401, 403, 404]) expect(isPermanentStatus(status)).toBe(false);
    const outcomes: AttemptOutcome[] = [response(401), response(403), response(404), response(408), response(429), response(500), response(502), response(503), response(301), response(307), { kind: 'network-error' }, { kind: 'timeout' }];
    for (const outcome of outcomes) {
      expect(nextStep(outcome, 1, fixed, NOW)).toEqual({ action: 'retry', delayMs: 5_000 });
      expect(nextStep(outcome, 4, fixed, NOW)).toEqual({ action: 'retry', delayMs: 40_000 });
    }
  });

  it('gives up a retryable failure after maxAttempts attempts', () => {
    expect(nextStep(response(503), 99, fixed, NOW)).toMatchObject({ action: 'retry' });
    expect(nextStep(response(503), 100, fixed, NOW)).toEqual({ action: 'give-up', reason: 'attempts-exhausted' });
    expect(nextStep({ kind: 'timeout' }, 3, { ...fixed, maxAttempts: 3 }, NOW)).toEqual({ action: 'give-up', reason: 'attempts-exhausted' });
  });

  it('waits at least Retry-After on 429 and 503, capped at maxMs, and ignores it elsewhere', () => {
    expect(nextStep(response(429, '120'), 1, fixed, NOW)).toEqual({ action: 'retry', delayMs: 120_000 });
    expect(nextStep(response(503, new Date(NOW.getTime() + 30_000).toUTCString()), 1, fixed, NOW)).toEqual({ action: 'retry', delayMs: 30_000 });
    expect(nextStep(response(503, '86400'), 1, fixed, NOW)).toEqual({ action: 'retry', delayMs: 3_600_000 });
    // Retry-After shorter than the backoff does not shorten it.
    expect(nextStep(response(429, '0'), 4, fixed, NOW)).toEqual({ action: 'retry', delayMs: 40_000 });
    expect(nextStep(response(500, '120'), 1, fixed, NOW)).toEqual({ action: 'retry', delayMs: 5_000 });
  });
});
