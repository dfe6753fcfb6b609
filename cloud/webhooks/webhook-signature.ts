import { createHmac, timingSafeEqual } from 'node:crypto';
import { AvcareError } from '../../protocol/index.js';

/**
 * How a receiver knows a webhook came from avcare and is fresh (the scheme of Stripe and GitHub):
 *
 *     X-Avcare-Timestamp: 1700000000
 *     X-Avcare-Signature: v1=2a4afc590bd48c97911ea4083d08fe4b609b42e430b9380908c4fe8d20b66f77
 *
 * 1. Take the timestamp header exactly as sent (unix seconds, decimal digits).
 * 2. Compute HMAC-SHA256 with the endpoint's secret (its UTF-8 bytes) as key over the bytes
 *    `<timestamp>.<raw request body>`; hex-encode it (lowercase, 64 characters).
 *    Use the raw body bytes as received: JSON parsed and serialised again is not the same bytes.
 * 3. Compare it in constant time with each `v1=` entry of the signature header (entries are
 *    separated by commas; entries of other schemes are ignored, so a `v2` can be added later
 *    without breaking receivers). One match is enough.
 * 4. Refuse a timestamp more than 5 minutes from your clock. It is signed, so it cannot be changed
 *    without breaking the signature: a captured request can be replayed only within that window.
 *    Inside it, drop repeats by `X-Avcare-Delivery`, which you need anyway because delivery is
 *    at-least-once. Each retry is signed again with a new timestamp and keeps its delivery id.
 *
 * Example, to check an implementation: secret `avcare-test-secret-0001`, timestamp `1700000000`,
 * body `{"id":"evt_1","type":"ticket.opened"}` give the signature above.
 *
 * Rotating a secret without losing a delivery: the receiver first accepts the old and the new
 * secret, then avcare is switched to the new one, then the receiver drops the old one.
 */
export const TIMESTAMP_HEADER = 'X-Avcare-Timestamp';
export const SIGNATURE_HEADER = 'X-Avcare-Signature';
export const DEFAULT_TOLERANCE_SECONDS = 300;

const SCHEME = 'v1';
const DIGEST_HEX_LENGTH = 64;

export interface WebhookSignatureHeaders {
  [TIMESTAMP_HEADER]: string;
  [SIGNATURE_HEADER]: string;
}

export interface SignWebhookInput {
  secret: string;
  /** Exactly the bytes that are sent (a string is sent and signed as UTF-8). */
  body: string | Uint8Array;
  /** The time of this attempt: a retry is signed again, or a receiver would refuse it as stale. */
  timestamp: Date;
}

export function signWebhook({ secret, body, timestamp }: SignWebhookInput): WebhookSignatureHeaders {
  const seconds = String(Math.floor(timestamp.getTime() / 1000));
  return {
    [TIMESTAMP_HEADER]: seconds,
    [SIGNATURE_HEADER]: `${SCHEME}=${digest(secret, seconds, body).toString('hex')}`,
  };
}

/** Headers as fetch gives them (Headers) or as node:http gives them (lowercase keys). */
export type ReceivedHeaders = Headers | Readonly<Record<string, string | readonly string[] | undefined>>;

export interface VerifyWebhookInput {
  /** Every secret currently accepted: during a rotation, the new one and the old one. */
  secret: string | readonly string[];
  /** The raw body as received. */
  body: string | Uint8Array;
  headers: ReceivedHeaders;
  now?: Date;
  toleranceSeconds?: number;
}

export type WebhookVerifyFailure =
  | 'missing-timestamp'
  | 'malformed-timestamp'
  | 'missing-signature'
  | 'malformed-signature'
  | 'signature-mismatch'
  | 'stale-timestamp'
  | 'future-timestamp';

export type WebhookVerifyResult =
  | { ok: true; timestamp: Date; /** Which of the secrets matched: tells when the old one is no longer used. */ secretIndex: number }
  | { ok: false; reason: WebhookVerifyFailure; message: string };

/**
 * The signature is checked before the timestamp, so "stale" and "future" are reported only for
 * requests that really came from avcare: then they mean a replay or a clock that is off, and the
 * reason says which.
 */
export function verifyWebhook({ secret, body, headers, now = new Date(), toleranceSeconds = DEFAULT_TOLERANCE_SECONDS }: VerifyWebhookInput): WebhookVerifyResult {
  const secrets = typeof secret === 'string' ? [secret] : secret;
  if (secrets.length === 0 || secrets.some((candidate) => candidate.length === 0)) {
    // A configuration bug on the receiver's side, not a bad request: it must not read as "forged".
    throw new AvcareError('INVALID_ARGUMENT', 'verifyWebhook needs at least one non-empty secret');
  }
  if (!(toleranceSeconds >= 0)) throw new AvcareError('INVALID_ARGUMENT', 'toleranceSeconds must be a number of seconds, 0 or more', { toleranceSeconds });

  const timestamp = headerValue(headers, TIMESTAMP_HEADER);
  if (timestamp === undefined) return failure('missing-timestamp', `no ${TIMESTAMP_HEADER} header`);
  // Bounded length: a huge number would turn into Infinity or lose precision before the comparison.
  if (!/^\d{1,12}$/.test(timestamp)) return failure('malformed-timestamp', `${TIMESTAMP_HEADER} must be unix seconds in decimal digits`);

  const signatureHeader = headerValue(headers, SIGNATURE_HEADER);
  if (signatureHeader === undefined) return failure('missing-signature', `no ${SIGNATURE_HEADER} header`);
  const offered = parseSignatures(signatureHeader);
  if (offered.length === 0) return failure('malformed-signature', `${SIGNATURE_HEADER} holds no ${SCHEME}=<64 hex digits> entry`);

  const secretIndex = secrets.findIndex((candidate) => {
    const expected = digest(candidate, timestamp, body);
    // Every offered signature is compared, without stopping at the first match, so the time taken
    // says nothing about which one matched. Lengths are equal (32 bytes) by construction.
    return offered.map((signature) => timingSafeEqual(signature, expected)).includes(true);
  });
  if (secretIndex < 0) return failure('signature-mismatch', 'the signature matches none of the secrets: wrong secret, or the body or timestamp was changed');

  const ageSeconds = Math.floor(now.getTime() / 1000) - Number(timestamp);
  if (ageSeconds > toleranceSeconds) return failure('stale-timestamp', `signed ${ageSeconds} s ago, more than the ${toleranceSeconds} s allowed: a replay, or a clock that is off`);
  if (-ageSeconds > toleranceSeconds) return failure('future-timestamp', `signed ${-ageSeconds} s in the future, more than the ${toleranceSeconds} s allowed: a clock that is off`);
  return { ok: true, timestamp: new Date(Number(timestamp) * 1000), secretIndex };
}

function digest(secret: string, timestamp: string, body: string | Uint8Array): Buffer {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
}

function parseSignatures(header: string): Buffer[] {
  const signatures: Buffer[] = [];
  for (const entry of header.split(',')) {
    const separator = entry.indexOf('=');
    if (separator < 0 || entry.slice(0, separator).trim() !== SCHEME) continue;
    const hex = entry.slice(separator + 1).trim();
    if (hex.length === DIGEST_HEX_LENGTH && /^[0-9a-f]+$/i.test(hex)) signatures.push(Buffer.from(hex, 'hex'));
  }
  return signatures;
}

function headerValue(headers: ReceivedHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  const wanted = name.toLowerCase();
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === wanted);
  const value = key === undefined ? undefined : headers[key];
  // node:http joins repeated unknown headers with ", " itself; a list means a caller built it.
  return typeof value === 'string' ? value : value?.join(', ');
}

function failure(reason: WebhookVerifyFailure, message: string): WebhookVerifyResult {
  return { ok: false, reason, message };
}
