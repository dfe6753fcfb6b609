import { z } from 'zod';

/**
 * What happens after an attempt: delivered, retried after a wait, or given up. Pure: the
 * deliverer passes in the time and the random source.
 */
export const webhookBackoffSchema = z
  .object({
    initialMs: z.number().int().min(1).max(3_600_000).default(5_000).describe('Wait after the first failed attempt; it doubles after each further failure'),
    maxMs: z.number().int().min(1).max(86_400_000).default(3_600_000).describe('The longest wait between attempts, Retry-After included'),
    // "Nothing lost while the receiver is down": with the defaults, 100 attempts span about two days
    // on average (full jitter halves the mean wait of 1 h), four at most; a helpdesk down over a
    // weekend still gets its backlog, and a given-up delivery stays as a dead letter for a manual retry.
    maxAttempts: z.number().int().min(1).max(1_000).default(100).describe('Attempts before a delivery is given up (kept as a dead letter)'),
    jitter: z.boolean().default(true).describe('Full jitter: each wait is uniform between 0 and its ceiling; off only for tests'),
  })
  .refine((backoff) => backoff.maxMs >= backoff.initialMs, { message: 'maxMs must be at least initialMs', path: ['maxMs'] });

export type WebhookBackoff = z.infer<typeof webhookBackoffSchema>;

/** The ceiling of the wait after `failedAttempts` failures (1 after the first): doubling from initialMs, capped at maxMs. */
export function retryCeilingMs(failedAttempts: number, backoff: Pick<WebhookBackoff, 'initialMs' | 'maxMs'>): number {
  // 2^n reaches Infinity long after the cap; min() keeps the result finite.
  return Math.min(backoff.maxMs, backoff.initialMs * 2 ** Math.max(0, failedAttempts - 1));
}

/**
 * Full jitter (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015): every school's
 * deliveries to a helpdesk fail together when it goes down, and would otherwise all come back in
 * the same second. At least 1 ms, so a retry is never due at the instant its attempt failed.
 */
export function retryDelayMs(failedAttempts: number, backoff: WebhookBackoff, random: () => number = Math.random): number {
  const ceiling = retryCeilingMs(failedAttempts, backoff);
  return Math.max(1, backoff.jitter ? Math.floor(random() * ceiling) : ceiling);
}

/**
 * Retry-After (RFC 9110 section 10.2.3) as a wait in ms: either delay-seconds or an HTTP-date.
 * A date in the past is 0; anything unreadable is undefined (the header is then ignored).
 */
export function parseRetryAfterMs(value: string | null | undefined, now: Date): number | undefined {
  const text = value?.trim();
  if (text === undefined || text === '') return undefined;
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Only an HTTP-date (it names a weekday or a month in letters), not a bare number in another form.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now.getTime());
}

export type AttemptOutcome =
  | { kind: 'response'; status: number; retryAfter: string | null }
  | { kind: 'network-error' }
  | { kind: 'timeout' };

export type NextStep =
  | { action: 'delivered' }
  | { action: 'retry'; delayMs: number }
  | { action: 'give-up'; reason: 'permanent-status' | 'attempts-exhausted' };

/**
 * A 4xx that is about the request itself (400 bad payload, 410 gone, 422) says it will never be
 * accepted as it is: retrying only delays the deliveries queued behind it. 401/403 (a secret
 * rotated in the wrong order) and 404 (a reverse proxy answering while the helpdesk app restarts)
 * are about the receiver's state, and are retried like 408 and 429, so a backlog is not
 * dead-lettered in seconds by a configuration slip. A 3xx is retried: redirects are not followed (the POST could land on another host), and the
 * usual cause (a moved helpdesk, http that became https) is fixed by correcting the URL, after
 * which the backlog drains in order.
 */
const RETRIED_CLIENT_STATUSES = new Set([401, 403, 404, 408, 429]);

export function isPermanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && !RETRIED_CLIENT_STATUSES.has(status);
}

/** Retry-After is honoured on 429 and 503, the answers that carry it (RFC 9110, RFC 6585). */
const RETRY_AFTER_STATUSES = new Set([429, 503]);

/**
 * @param attempts attempts made, this one included
 */
export function nextStep(outcome: AttemptOutcome, attempts: number, backoff: WebhookBackoff, now: Date, random: () => number = Math.random): NextStep {
  if (outcome.kind === 'response') {
    if (outcome.status >= 200 && outcome.status < 300) return { action: 'delivered' };
    if (isPermanentStatus(outcome.status)) return { action: 'give-up', reason: 'permanent-status' };
  }
  if (attempts >= backoff.maxAttempts) return { action: 'give-up', reason: 'attempts-exhausted' };
  const delayMs = retryDelayMs(attempts, backoff, random);
  const retryAfterMs = outcome.kind === 'response' && RETRY_AFTER_STATUSES.has(outcome.status) ? parseRetryAfterMs(outcome.retryAfter, now) : undefined;
  // Retry-After is a minimum: a receiver answering "Retry-After: 0" to every attempt must not use
  // up the whole budget of attempts in a minute. Capped, so a receiver cannot park a delivery.
  return { action: 'retry', delayMs: retryAfterMs === undefined ? delayMs : Math.max(delayMs, Math.min(retryAfterMs, backoff.maxMs)) };
}
