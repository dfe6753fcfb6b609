/**
 * What `avcare-agent consent ...` asks of the running agent, done: the person's answer or
 * revocation goes through the session service (so the cloud hears of it), and the reply is the
 * sessions as they now stand, or the PC's session log.
 */
import { AvcareError } from '../../protocol/errors.js';
import { isPrivacyAction } from '../../protocol/remote-session.js';
import type { ConsentOperation } from '../control/control-messages.js';
import type { SessionRecord, SessionState } from './consent-store.js';
import type { SessionService } from './session-service.js';

export interface ConsentRequest {
  operation: ConsentOperation;
  sessionId?: string | undefined;
  by: string;
  reason?: string | undefined;
  /** Approve also the privacy scopes asked for. */
  withPrivacy?: boolean | undefined;
}

/** One session as a person reads it: who asks, why, for what (privacy scopes named), and where it stands. */
export function sessionView(record: SessionRecord & { effectiveState: SessionState }): Record<string, unknown> {
  const { request } = record;
  return {
    sessionId: request.sessionId,
    state: record.effectiveState,
    engineer: request.engineer.name,
    team: request.engineer.teamId,
    reason: request.reason,
    scopes: record.scopes ?? request.scopes,
    privacyScopes: (record.scopes ?? request.scopes).filter((scope) => isPrivacyAction(scope)),
    durationMinutes: request.durationMinutes,
    answerBy: request.answerBy,
    approvers: request.approvers,
    ...(record.approvedBy ? { approvedBy: record.approvedBy, approvedAt: record.approvedAt, expiresAt: record.expiresAt } : {}),
    ...(record.closedBy ? { closedBy: record.closedBy, closedAt: record.closedAt, closeReason: record.closeReason } : {}),
  };
}

export async function consentOperation(sessions: SessionService, request: ConsentRequest): Promise<{ type: 'consent'; sessions: Record<string, unknown>[]; log?: Record<string, unknown>[] }> {
  const { operation, sessionId, by } = request;
  if (operation !== 'list' && operation !== 'log' && sessionId === undefined) throw new AvcareError('INVALID_ARGUMENT', `consent ${operation} needs the session id (see consent list)`);
  const person = `pc:${by}`;
  if (operation === 'approve') await sessions.approve(sessionId ?? '', person, { withPrivacy: request.withPrivacy === true });
  if (operation === 'deny') await sessions.deny(sessionId ?? '', person);
  if (operation === 'revoke') await sessions.revoke(sessionId ?? '', person, request.reason ?? null);
  const now = new Date();
  const listed = sessions.consents.list(now).map(sessionView);
  return operation === 'log' ? { type: 'consent', sessions: listed, log: sessions.journal.read().map((entry) => ({ ...entry })) } : { type: 'consent', sessions: listed };
}
