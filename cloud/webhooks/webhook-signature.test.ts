import { describe, expect, it } from 'vitest';
import { isAvcareError } from '../../protocol/index.js';
import { signWebhook, verifyWebhook } from './webhook-signature.js';

const SECRET = 'avcare-test-secret-0001';
const NEW_SECRET = 'avcare-test-secret-0002';
const BODY = '{"id":"evt_1","type":"ticket.opened"}';
const SIGNED_AT = new Date(1_700_000_000_000);

/** The headers as node:http hands them to a receiver: lowercase names. */
function received(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));
}

describe('signWebhook', () => {
  it('matches the example in the documentation, which was computed with openssl', () => {
    // printf '%s' '1700000000.{"id":"evt_1","type":"ticket.opened"}' | openssl dgst -sha256 -hmac avcare-test-secret-0001
    expect(signWebhook({ secret: SECRET, body: BODY, timestamp: SIGNED_AT })).toEqual({
      'X-Avcare-Timestamp': '1700000000',
      'X-Avcare-Signature': 'v1=2a4afc590bd48c97911ea4083d08fe4b609b42e430b9380908c4fe8d20b66f77',
    });
  });

  it('signs the UTF-8 bytes of the body, so a string and its bytes give the same signature', () => {
    const body = '{"room":"三年级二班","fault":"投影仪无信号"}';
    expect(signWebhook({ secret: SECRET, body, timestamp: SIGNED_AT })).toEqual(signWebhook({ secret: SECRET, body: Buffer.from(body, 'utf8'), timestamp: SIGNED_AT }));
  });
});

describe('verifyWebhook', () => {
  const headers = signWebhook({ secret: SECRET, body: BODY, timestamp: SIGNED_AT });

  it('accepts what signWebhook signed, from node:http headers, a Headers object or the raw bytes', () => {
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: received({ ...headers }), now: SIGNED_AT })).toEqual({ ok: true, timestamp: SIGNED_AT, secretIndex: 0 });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: new Headers({ ...headers }), now: SIGNED_AT })).toMatchObject({ ok: true });
    expect(verifyWebhook({ secret: SECRET, body: Buffer.from(BODY), headers: { ...headers }, now: SIGNED_AT })).toMatchObject({ ok: true });
  });

  it('refuses a changed body, a changed timestamp and the wrong secret', () => {
    const changedBody = BODY.replace('opened', 'closed');
    expect(verifyWebhook({ secret: SECRET, body: changedBody, headers: { ...headers }, now: SIGNED_AT })).toMatchObject({ ok: false, reason: 'signature-mismatch' });
    // Moving the timestamp forward to get past the tolerance breaks the signature.
    const later = { ...headers, 'X-Avcare-Timestamp': '1700000600' };
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: later, now: new Date(1_700_000_600_000) })).toMatchObject({ ok: false, reason: 'signature-mismatch' });
    expect(verifyWebhook({ secret: NEW_SECRET, body: BODY, headers: { ...headers }, now: SIGNED_AT })).toMatchObject({ ok: false, reason: 'signature-mismatch' });
  });

  it('refuses a genuine request older or newer than the tolerance, and accepts one at its edge', () => {
    const at = (seconds: number) => new Date(SIGNED_AT.getTime() + seconds * 1000);
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: { ...headers }, now: at(300) })).toMatchObject({ ok: true });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: { ...headers }, now: at(301) })).toMatchObject({ ok: false, reason: 'stale-timestamp' });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: { ...headers }, now: at(-301) })).toMatchObject({ ok: false, reason: 'future-timestamp' });
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: { ...headers }, now: at(60), toleranceSeconds: 30 })).toMatchObject({ ok: false, reason: 'stale-timestamp' });
  });

  it('accepts either secret during a rotation and says which one matched', () => {
    expect(verifyWebhook({ secret: [NEW_SECRET, SECRET], body: BODY, headers: { ...headers }, now: SIGNED_AT })).toMatchObject({ ok: true, secretIndex: 1 });
    const signedWithNew = signWebhook({ secret: NEW_SECRET, body: BODY, timestamp: SIGNED_AT });
    expect(verifyWebhook({ secret: [NEW_SECRET, SECRET], body: BODY, headers: { ...signedWithNew }, now: SIGNED_AT })).toMatchObject({ ok: true, secretIndex: 0 });
    expect(verifyWebhook({ secret: [NEW_SECRET], body: BODY, headers: { ...headers }, now: SIGNED_AT })).toMatchObject({ ok: false, reason: 'signature-mismatch' });
  });

  it('accepts a header with several signatures and ignores schemes it does not know', () => {
    const other = signWebhook({ secret: NEW_SECRET, body: BODY, timestamp: SIGNED_AT })['X-Avcare-Signature'];
    const several = { ...headers, 'X-Avcare-Signature': `v2=abc, ${other}, ${headers['X-Avcare-Signature']}` };
    expect(verifyWebhook({ secret: SECRET, body: BODY, headers: several, now: SIGNED_AT })).toMatchObject({ ok: true });
  });

  it('gives a reason for every malformed request', () => {
    const check = (changed: Record<string, string | undefined>) => verifyWebhook({ secret: SECRET, body: BODY, headers: { ...headers, ...changed }, now: SIGNED_AT });
    expect(check({ 'X-Avcare-Timestamp': undefined })).toMatchObject({ ok: false, reason: 'missing-timestamp' });
    expect(check({ 'X-Avcare-Timestamp': '1.7e9' })).toMatchObject({ ok: false, reason: 'malformed-timestamp' });
    expect(check({ 'X-Avcare-Timestamp': '9'.repeat(400) })).toMatchObject({ ok: false, reason: 'malformed-timestamp' });
    expect(check({ 'X-Avcare-Signature': undefined })).toMatchObject({ ok: false, reason: 'missing-signature' });
    expect(check({ 'X-Avcare-Signature': 'v1=abcd' })).toMatchObject({ ok: false, reason: 'malformed-signature' });
    expect(check({ 'X-Avcare-Signature': 'sha256=' + '0'.repeat(64) })).toMatchObject({ ok: false, reason: 'malformed-signature' });
    const failed = check({ 'X-Avcare-Signature': 'v1=' + '0'.repeat(64) });
    expect(failed).toMatchObject({ ok: false, reason: 'signature-mismatch' });
    expect(failed.ok ? '' : failed.message).not.toContain(SECRET);
  });

  it('throws on a receiver without a secret instead of calling every request forged', () => {
    const verify = () => verifyWebhook({ secret: [], body: BODY, headers: { ...headers }, now: SIGNED_AT });
    expect(verify).toThrow(/at least one non-empty secret/);
    try {
      verify();
    } catch (error) {
      expect(isAvcareError(error) && error.code).toBe('INVALID_ARGUMENT');
    }
  });
});
