import { generateKeyPairSync, randomBytes, randomUUID, sign } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CommandPayload, SessionRequestPayload, SignedSessionPayload } from '../../protocol/remote-session.js';
import { ConsentStore } from './consent-store.js';
import { NonceStore } from './nonce-store.js';
import { checkSessionMessage } from './session-message-check.js';
import { sessionRequest } from '../../test/helpers/session-request.js';

function keyPair() {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { privateKey, publicKeyPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), keyId: randomBytes(8).toString('hex') };
}

const cloud = keyPair();
const NOW = new Date('2026-12-04T09:00:00Z');
const at = (minutes: number): string => new Date(NOW.getTime() + minutes * 60_000).toISOString();
const nonce = (): string => randomBytes(16).toString('base64url');

function signed(payload: SignedSessionPayload, key = cloud): unknown {
  const text = JSON.stringify(payload);
  return { type: 'signed', signed: { payload: text, signature: sign(null, Buffer.from(text), key.privateKey).toString('base64'), keyId: key.keyId } };
}

const request = (overrides: Partial<SessionRequestPayload> = {}): SessionRequestPayload => sessionRequest(overrides, NOW);

function command(sessionId: string, overrides: Partial<CommandPayload> = {}): CommandPayload {
  return {
    kind: 'command',
    commandId: randomUUID(),
    sessionId,
    schoolId: 'sch-1',
    agentId: 'pc-01',
    engineer: { accountId: 'A-1', name: 'engineer-wang', teamId: 'east' },
    action: 'reprobe',
    args: {},
    nonce: nonce(),
    issuedAt: at(1),
    expiresAt: at(6),
    consent: { approvedBy: 'pc:teacher', approvedAt: at(1), scopes: ['reprobe', 'network-test', 'visca-power-cycle'], sessionExpiresAt: at(61) },
    ...overrides,
  };
}

function context(nonces = NonceStore.open(join(mkdtempSync(join(tmpdir(), 'avcare-nonces-')), 'nonces.jsonl'), NOW), now = NOW) {
  return { signingKey: { publicKeyPem: cloud.publicKeyPem, keyId: cloud.keyId }, schoolId: 'sch-1', agentId: 'pc-01', nonces, now };
}

describe('checkSessionMessage', () => {
  it('accepts a command signed by the pinned key, addressed to this agent, within its time', () => {
    const result = checkSessionMessage(signed(command(randomUUID())), context());
    expect(result.ok && result.payload.kind).toBe('command');
  });

  it('refuses a forged signature, another key, another agent, an expired command and one from the future, each with its code', () => {
    const message = signed(command(randomUUID())) as { signed: { signature: string } };
    const forged = { ...message, signed: { ...message.signed, signature: sign(null, Buffer.from('something else'), cloud.privateKey).toString('base64') } };
    expect(checkSessionMessage(forged, context())).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    const other = keyPair();
    expect(checkSessionMessage(signed(command(randomUUID()), { ...other, keyId: cloud.keyId }), context())).toMatchObject({ ok: false, code: 'BAD_SIGNATURE' });
    expect(checkSessionMessage(signed(command(randomUUID()), other), context())).toMatchObject({ ok: false, code: 'WRONG_KEY' });
    expect(checkSessionMessage(signed(command(randomUUID(), { agentId: 'pc-02' })), context())).toMatchObject({ ok: false, code: 'WRONG_AGENT' });
    expect(checkSessionMessage(signed(command(randomUUID(), { issuedAt: at(-10), expiresAt: at(-1) })), context())).toMatchObject({ ok: false, code: 'EXPIRED' });
    expect(checkSessionMessage(signed(command(randomUUID(), { issuedAt: at(5), expiresAt: at(9) })), context())).toMatchObject({ ok: false, code: 'NOT_YET_VALID' });
    expect(checkSessionMessage(signed(command(randomUUID(), { expiresAt: at(120) })), context())).toMatchObject({ ok: false, code: 'MALFORMED' });
    expect(checkSessionMessage({ type: 'signed', signed: { payload: 'x' } }, context())).toMatchObject({ ok: false, code: 'MALFORMED' });
  });

  it('refuses a replayed nonce, also after the agent restarted', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-nonces-')), 'nonces.jsonl');
    const message = signed(command(randomUUID()));
    expect(checkSessionMessage(message, context(NonceStore.open(file, NOW))).ok).toBe(true);
    const restarted = NonceStore.open(file, NOW);
    expect(checkSessionMessage(message, context(restarted))).toMatchObject({ ok: false, code: 'REPLAYED' });
    // Nonces of expired messages are forgotten at the next start: the expiry check refuses those anyway.
    expect(NonceStore.open(file, new Date(NOW.getTime() + 3600_000)).size).toBe(0);
  });

  it('claims no nonce for a forged message, so a forger cannot burn a real command', () => {
    const real = command(randomUUID());
    const forged = { ...(signed({ ...real, action: 'restart-agent' }) as { signed: object }), signed: { ...(signed(real) as { signed: { payload: string } }).signed, payload: JSON.stringify({ ...real, action: 'restart-agent' }) } };
    const nonces = NonceStore.open(join(mkdtempSync(join(tmpdir(), 'avcare-nonces-')), 'nonces.jsonl'), NOW);
    expect(checkSessionMessage(forged, context(nonces))).toMatchObject({ code: 'BAD_SIGNATURE' });
    expect(checkSessionMessage(signed(real), context(nonces)).ok).toBe(true);
  });
});

describe('ConsentStore', () => {
  const store = (): ConsentStore => ConsentStore.open(join(mkdtempSync(join(tmpdir(), 'avcare-consent-')), 'sessions.json'));

  it('runs nothing for a session it never heard of, one still pending, or one denied', () => {
    const consents = store();
    expect(consents.refusalFor(command(randomUUID()), NOW)?.code).toBe('NO_CONSENT');
    const asked = request();
    consents.recordRequest(asked);
    expect(consents.refusalFor(command(asked.sessionId), NOW)?.code).toBe('NO_CONSENT');
    consents.deny(asked.sessionId, 'pc:teacher', NOW);
    expect(consents.refusalFor(command(asked.sessionId), NOW)?.code).toBe('NO_CONSENT');
  });

  it('allows the granted actions after approval at the PC, and refuses others, privacy ones by name', () => {
    const consents = store();
    const asked = request();
    consents.recordRequest(asked);
    consents.approveAtPc(asked.sessionId, 'pc:teacher', new Date(at(1)));
    expect(consents.refusalFor(command(asked.sessionId), NOW)).toBeNull();
    expect(consents.refusalFor(command(asked.sessionId, { action: 'restart-agent' }), NOW)?.code).toBe('OUT_OF_SCOPE');
    expect(consents.refusalFor(command(asked.sessionId, { action: 'camera-snapshot' }), NOW)?.code).toBe('PRIVACY_SCOPE_MISSING');
    // A stamp claiming more than this PC granted.
    const stamp = { approvedBy: 'pc:teacher', approvedAt: at(1), scopes: ['reprobe', 'restart-agent'] as CommandPayload['consent']['scopes'], sessionExpiresAt: at(61) };
    expect(consents.refusalFor(command(asked.sessionId, { consent: stamp }), NOW)?.code).toBe('CONSENT_MISMATCH');
  });

  it('keeps a revocation at the PC final: a later approval from the cloud does not reopen it', () => {
    const consents = store();
    const asked = request({ approvers: 'school-admin' });
    consents.recordRequest(asked);
    consents.revoke(asked.sessionId, 'pc:teacher', 'lesson starting', NOW);
    const applied = consents.recordCloudApproval(asked.sessionId, { approvedBy: 'user:admin-li', approvedAt: at(1), scopes: ['reprobe'], sessionExpiresAt: at(61) }, NOW);
    expect(applied.applied).toBe(false);
    expect(consents.refusalFor(command(asked.sessionId), NOW)?.code).toBe('SESSION_REVOKED');
  });

  it('follows the school policy on who approves, times out an unanswered request, and expires an approval', () => {
    const consents = store();
    const adminsOnly = request({ approvers: 'school-admin' });
    consents.recordRequest(adminsOnly);
    expect(() => consents.approveAtPc(adminsOnly.sessionId, 'pc:teacher', NOW)).toThrow(/only its admins approve/);
    expect(consents.get(adminsOnly.sessionId, new Date(at(11)))?.effectiveState).toBe('timed-out');
    expect(() => consents.approveAtPc(adminsOnly.sessionId, 'pc:teacher', new Date(at(11)))).toThrow(/timed-out/);

    const asked = request();
    consents.recordRequest(asked);
    consents.recordCloudApproval(asked.sessionId, { approvedBy: 'user:admin-li', approvedAt: at(1), scopes: ['reprobe'], sessionExpiresAt: at(61) }, NOW);
    const late = new Date(at(62));
    expect(consents.refusalFor(command(asked.sessionId, { consent: { approvedBy: 'user:admin-li', approvedAt: at(1), scopes: ['reprobe'], sessionExpiresAt: at(61) } }), late)?.code).toBe('SESSION_EXPIRED');
  });

  it('keeps its record across a restart', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-consent-')), 'sessions.json');
    const asked = request();
    const first = ConsentStore.open(file);
    first.recordRequest(asked);
    first.revoke(asked.sessionId, 'pc:teacher', null, NOW);
    expect(ConsentStore.open(file).get(asked.sessionId, NOW)?.effectiveState).toBe('revoked');
  });
});
