/**
 * What the parts of the session service share: the database, the audit log, the signing key,
 * the way to an agent and the live stream, and the one way a session ends (state, audit entry,
 * signed end to the agent, event), so every ending is recorded and told alike.
 */
import type { Logger } from 'pino';
import { agentSessionInbox, type SignedSessionPayload } from '../../protocol/remote-session.js';
import type { AuditFloodGuard } from '../audit/audit-flood-guard.js';
import type { AuditLog, AuditOutcome } from '../audit/audit-log.js';
import type { Dialect } from '../store/dialect.js';
import type { SessionEvents } from './session-events.js';
import { signedSessionMessage, type SessionSigner } from './session-messages.js';
import { moveSession, sessionById, type RemoteSession, type SessionState } from './session-store.js';

export interface SessionContext {
  db: Dialect;
  audit: AuditLog;
  /** Refusals (which an agent or a person with a token can cause at will) go through it: bounded per actor and minute. */
  refusals: Pick<AuditFloodGuard, 'append'>;
  signer: SessionSigner;
  /** Publishes to an agent's inbox (the embedded broker, or the feed's connection). */
  publish(topic: string, payload: Buffer): Promise<void>;
  events: SessionEvents;
  log: Logger;
  now(): Date;
}

/** The acting party as the audit log names it, and where the act came from. */
export interface SessionActor {
  actor: string;
  source?: string | null;
}

export function sessionTarget(sessionId: string): string {
  return `session:${sessionId}`;
}

/** Sends a signed message to the session's agent; a broker that is down is logged, not thrown: the state change stands and the agent's own checks still hold. */
export async function tellAgent(context: SessionContext, session: Pick<RemoteSession, 'id' | 'schoolId' | 'agentId'>, payload: Parameters<typeof signedSessionMessage>[1]): Promise<boolean> {
  try {
    await context.publish(agentSessionInbox(session.schoolId, session.agentId), signedSessionMessage(context.signer, payload));
    return true;
  } catch (error) {
    context.log.warn({ err: error, sessionId: session.id, kind: payload.kind }, 'could not send a session message to the agent');
    return false;
  }
}

/**
 * Records a refusal in the audit log, so every "no" is on the record with its reason; repeated
 * ones of one actor and action are counted into one entry a minute past the first few.
 */
export async function auditRefusal(context: SessionContext, by: SessionActor, action: string, session: Pick<RemoteSession, 'id' | 'schoolId'> | { id: null; schoolId: string | null }, reason: string, detail: Record<string, unknown> = {}): Promise<void> {
  // Per actor, action and session: a flood against one session is bounded, and one actor's refusals in one session never hide another session's.
  await context.refusals.append(`${by.actor}|${action}|${session.id ?? '-'}`, {
    actor: by.actor,
    source: by.source ?? null,
    action,
    target: session.id === null ? null : sessionTarget(session.id),
    outcome: 'denied',
    schoolId: session.schoolId,
    detail: { reason, ...detail },
  });
}

export type EndReason = Extract<SignedSessionPayload, { kind: 'session-end' }>['reason'];

const END_STATE: Record<EndReason, SessionState> = { revoked: 'revoked', closed: 'closed', expired: 'expired', denied: 'denied', 'timed-out': 'timed-out' };

/**
 * Ends an open session: moved from the state it was read in (so a racing answer cannot undo it),
 * recorded, told to the agent (unless the agent itself ended it), shown live. Undefined when
 * another move won the race.
 */
export async function endSession(
  context: SessionContext,
  session: RemoteSession,
  end: { reason: EndReason; by: SessionActor; auditAction: string; note?: string | null; outcome?: AuditOutcome; tellAgent?: boolean },
): Promise<RemoteSession | undefined> {
  const at = context.now();
  const moved = await context.db.transaction(async (tx) => {
    const ok = await moveSession(tx, session.id, session.state, { state: END_STATE[end.reason], endedAt: at.getTime(), endedBy: end.by.actor, endReason: end.note ?? end.reason });
    if (!ok) return false;
    await context.audit.appendIn(tx, {
      actor: end.by.actor,
      source: end.by.source ?? null,
      action: end.auditAction,
      target: sessionTarget(session.id),
      outcome: end.outcome ?? 'success',
      schoolId: session.schoolId,
      detail: { agentId: session.agentId, engineer: session.engineer.name, from: session.state, reason: end.reason, ...(end.note ? { note: end.note } : {}) },
    });
    return true;
  });
  if (!moved) return undefined;
  if (end.tellAgent !== false) {
    await tellAgent(context, session, { kind: 'session-end', sessionId: session.id, schoolId: session.schoolId, agentId: session.agentId, reason: end.reason, by: end.by.actor, at: at.toISOString() });
  }
  const ended = await sessionById(context.db, session.id);
  if (ended) context.events.emit({ type: 'session', session: ended });
  return ended;
}
