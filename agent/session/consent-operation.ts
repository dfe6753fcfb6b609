/**
 * What `avcare-agent consent ...` asks of the running agent, done: the person's answer or
 * revocation goes through the session service (so the cloud hears of it), and the reply is the
 * sessions as they now stand, or the PC's session log.
 */
import { AvcareError } from '../../protocol/errors.js';
import { untrustedText } from '../../protocol/untrusted-text.js';
import type { ConsentOperation } from '../control/control-messages.js';
import type { PeerUser } from '../control/peer-credentials.js';
import { sessionView } from './consent-store.js';

export { sessionView };
import type { SessionService } from './session-service.js';

export interface ConsentRequest {
  operation: ConsentOperation;
  sessionId?: string | undefined;
  /** The name the client sent: a note at most, never who answered. */
  by: string;
  reason?: string | undefined;
  /** Approve also the privacy scopes asked for. */
  withPrivacy?: boolean | undefined;
}

/** One session as a person reads it: who asks, why, for what (privacy scopes named), and where it stands. */

/**
 * Who answered at the PC, for the record: the OS user the kernel names, with the name the client
 * sent only as a note when it differs. Approving needs a known user; denying and revoking (which can
 * only take access away) are recorded as an unknown user when the kernel cannot say.
 */
export function personAtPc(peer: PeerUser | undefined, claimed: string, operation: ConsentOperation): string {
  if (!peer) {
    if (operation === 'approve') {
      throw new AvcareError('SESSION_APPROVAL_NOT_ALLOWED', 'the agent cannot tell which user of this PC is asking (no peer credentials from the kernel, or on Windows no proof file from an administrator), so nobody can approve here', {}, {
        hint: 'Approve in the cloud as the school admin (avcare-cloud session approve ID); at this PC you can still deny or revoke.',
      });
    }
    return `pc:unknown-user${note(claimed)}`;
  }
  return peer.name === claimed ? `pc:${peer.name}` : `pc:${peer.name}${note(claimed)}`;
}

/** The client's own name for itself, short and printable: it travels in a field of 128 characters. */
function note(claimed: string): string {
  const cleaned = untrustedText(claimed, 32);
  return cleaned === undefined ? '' : ` (says "${cleaned}")`;
}

export async function consentOperation(sessions: SessionService, request: ConsentRequest, peer: PeerUser | undefined): Promise<{ type: 'consent'; sessions: Record<string, unknown>[]; log?: Record<string, unknown>[] }> {
  const { operation, sessionId, by } = request;
  if (operation !== 'list' && operation !== 'log' && sessionId === undefined) throw new AvcareError('INVALID_ARGUMENT', `consent ${operation} needs the session id (see consent list)`);
  const person = personAtPc(peer, by, operation);
  if (operation === 'approve') await sessions.approve(sessionId ?? '', person, { withPrivacy: request.withPrivacy === true });
  if (operation === 'deny') await sessions.deny(sessionId ?? '', person);
  if (operation === 'revoke') await sessions.revoke(sessionId ?? '', person, request.reason ?? null);
  const now = new Date();
  const listed = sessions.consents.list(now).map(sessionView);
  return operation === 'log' ? { type: 'consent', sessions: listed, log: sessions.journal.read().map((entry) => ({ ...entry })) } : { type: 'consent', sessions: listed };
}
