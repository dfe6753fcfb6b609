/**
 * What agents say about sessions: a consent given or refused at the PC, a revocation at the PC
 * (final), a command's result, a message the agent refused. Every one is checked against the
 * session it names: an agent answers only for its own sessions and commands, so one agent cannot
 * speak for another even on a broker that does not enforce topics.
 */
import { isPrivacyAction, type AgentSessionMessage } from '../../protocol/remote-session.js';
import { untrustedText } from '../../protocol/index.js';
import type { RemoteSessions } from './remote-sessions.js';
import { auditRefusal, endSession, sessionTarget, type SessionActor } from './session-context.js';
import { commandById, finishCommand, sessionById, type RemoteSession } from './session-store.js';

/** Who answered at the PC, as the audit log names them: `pc:USER` (the agent already says so; a bare name gets the prefix). */
function atPc(by: string): string {
  const name = untrustedText(by, 128) ?? '?';
  return name.startsWith('pc:') ? name : `pc:${name}`;
}

export interface AgentAddress {
  school: string;
  room: string;
  agent: string;
}

/** Results are kept as the agent sent them but never trusted as text: the API serves JSON with nosniff, the CLI prints through untrustedText. */
export class AgentAnswers {
  constructor(private readonly sessions: RemoteSessions) {}

  async handle(from: AgentAddress, message: AgentSessionMessage): Promise<void> {
    const context = this.sessions.context;
    const by: SessionActor = { actor: `agent:${from.school}:${from.agent}` };
    switch (message.type) {
      case 'consent-answer': {
        const session = await this.ownSession(from, message.sessionId, by, message.decision === 'approve' ? 'session.approve' : 'session.deny');
        if (!session) return;
        const person = atPc(message.by);
        if (session.state !== 'pending') {
          await auditRefusal(context, by, 'session.consent', session, `an answer at the PC came for a session that is ${session.state}`, { by: person, decision: message.decision });
          return;
        }
        if (message.decision === 'deny') {
          await endSession(context, session, { reason: 'denied', by: { actor: person }, auditAction: 'session.deny', note: `denied at the PC (${from.agent})`, tellAgent: false });
          return;
        }
        if (session.approvers !== 'school-admin-or-pc') {
          await auditRefusal(context, { actor: person }, 'session.approve', session, "the school's policy lets only its admins approve; an approval at the PC does not count", { agentId: from.agent });
          return;
        }
        // The PC says what it granted and until when: the stamp on commands must not claim more than its record.
        const granted = (message.scopes ?? session.scopes.filter((scope) => !isPrivacyAction(scope))).filter((scope) => session.scopes.includes(scope));
        const longest = context.now().getTime() + session.durationMinutes * 60_000;
        const pcEnd = message.expiresAt === undefined ? longest : Math.min(Date.parse(message.expiresAt), longest);
        if (granted.length === 0 || pcEnd <= context.now().getTime()) {
          await auditRefusal(context, { actor: person }, 'session.approve', session, 'the approval at the PC granted nothing that was asked, or had already ended', { scopes: message.scopes ?? null, expiresAt: message.expiresAt ?? null });
          return;
        }
        await this.sessions
          .activate(session, { answeredBy: person, scopes: granted, expiresAt: new Date(pcEnd), by: { actor: person }, action: 'session.approve', tellAgent: false })
          .catch((error: unknown) => context.log.info({ err: error, sessionId: session.id }, 'an approval at the PC lost a race with another answer'));
        return;
      }
      case 'session-revoked': {
        const session = await this.ownSession(from, message.sessionId, by, 'session.revoke');
        if (!session || (session.state !== 'pending' && session.state !== 'active')) return;
        // Final, whatever the cloud thinks: the PC has already stopped accepting commands.
        await endSession(context, session, { reason: 'revoked', by: { actor: atPc(message.by) }, auditAction: 'session.revoke', note: message.reason === null ? 'revoked at the PC' : `revoked at the PC: ${untrustedText(message.reason, 300) ?? ''}`, tellAgent: false });
        return;
      }
      case 'command-result':
        await this.result(from, by, message);
        return;
      case 'message-refused': {
        const claimed = message.claimedCommandId === undefined ? undefined : await commandById(context.db, message.claimedCommandId);
        const session = claimed ? await sessionById(context.db, claimed.sessionId) : undefined;
        const ours = session && session.schoolId === from.school && session.agentId === from.agent;
        await context.refusals.append(`${by.actor}|session.message-refused`, {
          ...by,
          action: 'session.message-refused',
          target: ours ? sessionTarget(session.id) : null,
          outcome: 'denied',
          schoolId: from.school,
          detail: { code: message.code, reason: untrustedText(message.reason, 500), ...(message.claimedCommandId ? { claimedCommandId: message.claimedCommandId } : {}) },
        });
        if (ours && claimed) await this.finish(session, claimed.id, { status: 'refused', error: { code: message.code, message: message.reason }, at: context.now().getTime() });
        return;
      }
    }
  }

  private async result(from: AgentAddress, by: SessionActor, message: Extract<AgentSessionMessage, { type: 'command-result' }>): Promise<void> {
    const context = this.sessions.context;
    const command = await commandById(context.db, message.commandId);
    const session = command ? await sessionById(context.db, command.sessionId) : undefined;
    const error = message.error ? { code: message.error.code, message: message.error.message } : null;
    const said = { commandId: message.commandId, status: message.status, agentStartedAt: message.startedAt, agentFinishedAt: message.finishedAt, ...(error ? { error: { code: untrustedText(error.code, 64), message: untrustedText(error.message, 500) } } : {}) };
    if (!command || !session || session.schoolId !== from.school || session.agentId !== from.agent) {
      await auditRefusal(context, by, 'session.result', session && command ? session : { id: null, schoolId: from.school }, `agent ${from.agent} answered for a command it was not sent`, said);
      return;
    }
    const outcome = message.status === 'ok' ? 'success' : message.status === 'failed' ? 'failure' : 'denied';
    // finished_at is when the cloud heard the answer, on the cloud's clock (the agent's clock may be off; its own times stay in the audit entry).
    const recorded = await this.finish(session, command.id, { status: message.status, result: message.result, error, at: context.now().getTime() });
    // A second answer (a replay the agent refused) does not change the result, but is on the record;
    // an agent can send those at will, so they go through the flood guard like any refusal.
    const entry = { ...by, action: 'session.result', target: sessionTarget(session.id), outcome, schoolId: session.schoolId, detail: { action: command.action, ...said, ...(recorded ? {} : { recorded: false }) } } as const;
    if (recorded) await context.audit.append(entry);
    else await context.refusals.append(`${by.actor}|session.result-replayed`, entry);
  }

  private async finish(session: RemoteSession, commandId: string, outcome: Parameters<typeof finishCommand>[2]): Promise<boolean> {
    const context = this.sessions.context;
    const recorded = await context.db.transaction((tx) => finishCommand(tx, commandId, outcome));
    if (!recorded) return false;
    const command = await commandById(context.db, commandId);
    if (command) context.events.emit({ type: 'command', schoolId: session.schoolId, command });
    return true;
  }

  /** The session, if it exists and is this agent's; otherwise the attempt is audited and nothing happens. */
  private async ownSession(from: AgentAddress, sessionId: string, by: SessionActor, action: string): Promise<RemoteSession | undefined> {
    const context = this.sessions.context;
    const session = await sessionById(context.db, sessionId);
    if (session && session.schoolId === from.school && session.agentId === from.agent) return session;
    await auditRefusal(context, by, action, session ?? { id: null, schoolId: from.school }, session ? `agent ${from.agent} answered for a session of agent ${session.agentId}` : `no session ${sessionId}`);
    return undefined;
  }
}
