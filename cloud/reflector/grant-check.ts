import { readGrantPayload, type GrantPayload, type SignalSender, type SignedGrant } from '../../protocol/measure-signal.js';
import { verifySignature } from '../identity/signing-key.js';

export interface GrantCheckContext {
  /** Who sent the offer: the topic it came on, which the broker's ACL ties to the agent's account. */
  from: SignalSender;
  reflectorId: string;
  /** The cloud's public key (PEM): the one key whose grants this reflector honours. */
  cloudPublicKeyPem: string;
  now: Date;
  /** Sessions already begun: a grant opens one session, once. */
  isUsed(sessionId: string): boolean;
}

export type GrantCheck = { ok: true; grant: GrantPayload } | { ok: false; reason: string };

/**
 * A reflector takes only sessions the cloud announced for this very agent: signed with the
 * cloud's key, naming this reflector and the agent whose topic the offer came on, in time, unused.
 */
export function checkGrant(signed: SignedGrant, sessionId: string, context: GrantCheckContext): GrantCheck {
  if (!verifySignature(context.cloudPublicKeyPem, signed.payload, signed.signature)) return { ok: false, reason: 'the grant is not signed by this cloud' };
  const grant = readGrantPayload(signed);
  if ('error' in grant) return { ok: false, reason: grant.error };
  if (grant.sessionId !== sessionId) return { ok: false, reason: 'the grant is for another session' };
  if (grant.schoolId !== context.from.school || grant.agentId !== context.from.agent) return { ok: false, reason: 'the grant is for another agent' };
  if (grant.reflectorId !== context.reflectorId) return { ok: false, reason: `the grant names reflector "${grant.reflectorId}", not this one` };
  if (Date.parse(grant.expiresAt) <= context.now.getTime()) return { ok: false, reason: 'the grant has expired' };
  if (Date.parse(grant.issuedAt) > context.now.getTime() + 60_000) return { ok: false, reason: 'the grant is issued in the future (check the clocks)' };
  if (context.isUsed(sessionId)) return { ok: false, reason: 'the session was already used' };
  return { ok: true, grant };
}
