/**
 * The checks every signed session message passes before the agent believes a word of it, in the
 * order that keeps a forger from changing any state: the envelope's shape, the signature against
 * the key pinned at enrolment, that it is addressed to this agent, that it is within its time,
 * and only then the nonce (claimed on disk, so a replay is refused also after a restart). A
 * command then still needs this PC's own record of the consent and arguments that fit its action.
 */
import { cloudSessionMessageSchema, signedSessionPayloadSchema, type RefusalCode, type SignedSessionPayload } from '../../protocol/remote-session.js';
import { checkSignature } from '../../protocol/signed-payload.js';
import type { NonceStore } from './nonce-store.js';

export interface CheckContext {
  signingKey: { publicKeyPem: string; keyId: string };
  schoolId: string;
  agentId: string;
  nonces: NonceStore;
  now: Date;
}

export type MessageCheck = { ok: true; payload: SignedSessionPayload } | { ok: false; code: RefusalCode; reason: string; commandId?: string; sessionId?: string };

/** Clocks of a PC and the cloud drift; a message up to this far in the future is still taken. */
export const CLOCK_SKEW_MS = 60_000;
/** A command is valid for minutes, not hours: the nonce store holds each one that long. */
export const MAX_COMMAND_LIFETIME_MS = 15 * 60_000;
/** Nonces of messages without an expiry of their own (approval, end) are kept this long. */
const NONCE_KEEP_MS = 24 * 3600_000;

export function checkSessionMessage(raw: unknown, context: CheckContext): MessageCheck {
  const envelope = cloudSessionMessageSchema.safeParse(raw);
  if (!envelope.success) return { ok: false, code: 'MALFORMED', reason: `not a signed session message: ${envelope.error.issues[0]?.message ?? 'invalid'}` };
  const signature = checkSignature(envelope.data.signed, context.signingKey);
  if (!signature.ok) {
    return signature.reason === 'wrong-key'
      ? { ok: false, code: 'WRONG_KEY', reason: `signed with key ${envelope.data.signed.keyId.slice(0, 32)}, not the cloud key ${context.signingKey.keyId} this agent pinned at enrolment` }
      : { ok: false, code: 'BAD_SIGNATURE', reason: 'the signature does not match the message and the pinned cloud key' };
  }
  let parsedJson: unknown;
  try {
    parsedJson = JSON.parse(envelope.data.signed.payload);
  } catch {
    return { ok: false, code: 'MALFORMED', reason: 'the signed payload is not JSON' };
  }
  const parsed = signedSessionPayloadSchema.safeParse(parsedJson);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, code: 'MALFORMED', reason: `the signed payload is invalid at ${issue?.path.join('.') || '(top)'}: ${issue?.message ?? 'invalid'}` };
  }
  const payload = parsed.data;
  const ids = { sessionId: payload.sessionId, ...(payload.kind === 'command' ? { commandId: payload.commandId } : {}) };
  if (payload.schoolId !== context.schoolId || payload.agentId !== context.agentId) {
    return { ok: false, code: 'WRONG_AGENT', reason: `addressed to ${payload.schoolId}:${payload.agentId}, not this agent`, ...ids };
  }
  const now = context.now.getTime();
  const { validFrom, expiresAt } = validity(payload);
  if (validFrom - CLOCK_SKEW_MS > now) return { ok: false, code: 'NOT_YET_VALID', reason: `issued ${new Date(validFrom).toISOString()}, in the future by this PC's clock`, ...ids };
  if (expiresAt <= now) return { ok: false, code: 'EXPIRED', reason: `expired at ${new Date(expiresAt).toISOString()}`, ...ids };
  if (payload.kind === 'command' && expiresAt - validFrom > MAX_COMMAND_LIFETIME_MS) {
    return { ok: false, code: 'MALFORMED', reason: `valid for ${Math.round((expiresAt - validFrom) / 60_000)} min: a command may be valid for at most ${MAX_COMMAND_LIFETIME_MS / 60_000}`, ...ids };
  }
  if (!context.nonces.claim(payload.nonce, new Date(Math.max(expiresAt, now) + CLOCK_SKEW_MS))) {
    return { ok: false, code: 'REPLAYED', reason: 'this message was received before (its nonce is used)', ...ids };
  }
  return { ok: true, payload };
}

function validity(payload: SignedSessionPayload): { validFrom: number; expiresAt: number } {
  switch (payload.kind) {
    case 'command':
      return { validFrom: Date.parse(payload.issuedAt), expiresAt: Date.parse(payload.expiresAt) };
    case 'session-request':
      return { validFrom: Date.parse(payload.requestedAt), expiresAt: Date.parse(payload.answerBy) };
    case 'session-approved':
      return { validFrom: Date.parse(payload.consent.approvedAt), expiresAt: Date.parse(payload.consent.sessionExpiresAt) };
    case 'session-end':
      return { validFrom: Date.parse(payload.at), expiresAt: Date.parse(payload.at) + NONCE_KEEP_MS };
  }
}
