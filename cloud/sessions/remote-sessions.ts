/**
 * Remote sessions in the cloud: an engineer asks, the school answers (its admins here, or the
 * teacher at the PC where its policy allows), commands are checked against the consent and then
 * signed, and every step goes into the audit log and the live stream. The agent checks all of it
 * again against its own record before it acts (agent/session/).
 */
import { randomUUID } from 'node:crypto';
import { ACTION_ARGUMENTS, isPrivacyAction, type SessionAction } from '../../protocol/remote-session.js';
import { AvcareError } from '../../protocol/index.js';
import { may, type Principal } from '../accounts/access-policy.js';
import { auditRefusal, endSession, sessionTarget, tellAgent, type SessionActor, type SessionContext } from './session-context.js';
import type { RemoteSessionPolicy } from './session-policy.js';
import type { SessionEvent } from './session-events.js';
import { changedSince, commandById, commandsOf, insertCommand, insertSession, listSessions, moveSession, sessionById, type RemoteCommand, type RemoteSession, type SessionFilter } from './session-store.js';

/** How long a signed command stays valid for the agent to start it (the session's end caps it). */
const COMMAND_LIFETIME_MS = 2 * 60_000;

export interface AgentLookup {
  /** The agent's room and whether its identity was revoked; undefined when the cloud never heard of it. */
  find(schoolId: string, agentId: string): Promise<{ roomId: string | null; revoked: boolean } | undefined>;
}

export interface RemoteSessionsOptions extends SessionContext {
  policy(schoolId: string): RemoteSessionPolicy;
  schoolsOfTeam(teamId: string): ReadonlySet<string> | undefined;
  agents: AgentLookup;
  /** The account as it is now: a disabled engineer's session stops even if their token were still good. */
  account(accountId: string): Promise<{ disabled: boolean; teamId: string | null } | undefined>;
}

export interface SessionRequestInput {
  schoolId: string;
  agentId: string;
  reason: string;
  scopes: SessionAction[];
  durationMinutes?: number | undefined;
}

type Person = Pick<Principal, 'accountId' | 'name' | 'role' | 'schoolId' | 'teamId'>;

function personActor(person: Person, source?: string | null): SessionActor {
  return { actor: `user:${person.name}`, source: source ?? null };
}

export class RemoteSessions {
  constructor(private readonly options: RemoteSessionsOptions) {}

  get context(): SessionContext {
    return this.options;
  }

  /** An engineer asks for a session on one agent: checked, recorded, signed and sent to the PC. */
  async request(engineer: Person, input: SessionRequestInput, source?: string | null): Promise<RemoteSession> {
    const by = personActor(engineer, source);
    const refuse = async (code: 'FORBIDDEN' | 'AGENT_REVOKED' | 'SESSION_STATE_CONFLICT', reason: string): Promise<never> => {
      await auditRefusal(this.options, by, 'session.request', { id: null, schoolId: input.schoolId }, reason, { agentId: input.agentId, scopes: input.scopes });
      throw new AvcareError(code, reason);
    };
    if (!may(engineer, 'sessions.request')) return refuse('FORBIDDEN', `only an engineer may request a remote session, not a ${engineer.role.replace('_', ' ')}`);
    if (!this.teamCovers(engineer.teamId, input.schoolId)) return refuse('FORBIDDEN', `school ${input.schoolId} is not served by team ${engineer.teamId ?? '(none)'}`);
    const agent = await this.options.agents.find(input.schoolId, input.agentId);
    if (!agent) throw new AvcareError('AGENT_NOT_FOUND', `no agent ${input.agentId} at school ${input.schoolId}`);
    if (agent.revoked) return refuse('AGENT_REVOKED', `agent ${input.agentId} at school ${input.schoolId} is revoked`);
    const policy = this.options.policy(input.schoolId);
    const durationMinutes = input.durationMinutes ?? Math.min(policy.defaultMinutes, policy.maxMinutes);
    if (durationMinutes > policy.maxMinutes) throw new AvcareError('INVALID_ARGUMENT', `durationMinutes: ${durationMinutes} is over the ${policy.maxMinutes} minutes school ${input.schoolId} allows`);
    const open = await listSessions(this.options.db, { schoolIds: [input.schoolId], states: ['pending', 'active'] });
    const busy = open.find((session) => session.agentId === input.agentId);
    if (busy) return refuse('SESSION_STATE_CONFLICT', `agent ${input.agentId} already has an open session (${busy.id}, ${busy.state}, requested by ${busy.engineer.name})`);

    const now = this.options.now();
    const session: RemoteSession = {
      id: randomUUID(),
      schoolId: input.schoolId,
      agentId: input.agentId,
      roomId: agent.roomId,
      engineer: { accountId: engineer.accountId, name: engineer.name, teamId: engineer.teamId },
      reason: input.reason,
      scopes: [...new Set(input.scopes)],
      durationMinutes,
      approvers: policy.approvers,
      state: 'pending',
      requestedAt: now.toISOString(),
      answerBy: new Date(now.getTime() + policy.answerMinutes * 60_000).toISOString(),
      answeredBy: null,
      answeredAt: null,
      expiresAt: null,
      endedAt: null,
      endedBy: null,
      endReason: null,
    };
    await this.options.db.transaction(async (tx) => {
      await insertSession(tx, session);
      await this.options.audit.appendIn(tx, {
        ...by,
        action: 'session.request',
        target: sessionTarget(session.id),
        outcome: 'success',
        schoolId: session.schoolId,
        detail: { agentId: session.agentId, reason: session.reason, scopes: session.scopes, privacyScopes: session.scopes.filter(isPrivacyAction), durationMinutes, approvers: session.approvers, answerBy: session.answerBy },
      });
    });
    await this.sendRequest(session);
    this.options.events.emit({ type: 'session', session });
    return session;
  }

  /** Sends (or sends again, for an agent that was offline) the signed consent request. */
  async sendRequest(session: RemoteSession): Promise<boolean> {
    return tellAgent(this.options, session, {
      kind: 'session-request',
      sessionId: session.id,
      schoolId: session.schoolId,
      agentId: session.agentId,
      engineer: session.engineer,
      reason: session.reason,
      scopes: session.scopes,
      requestedAt: session.requestedAt,
      answerBy: session.answerBy,
      durationMinutes: session.durationMinutes,
      approvers: session.approvers,
    });
  }

  /**
   * A school admin answers in the cloud. Privacy scopes are granted only when named in `grant`;
   * without `grant`, every asked action but those.
   */
  async answer(admin: Person, sessionId: string, decision: 'approve' | 'deny', options: { grant?: SessionAction[]; source?: string | null } = {}): Promise<RemoteSession> {
    const by = personActor(admin, options.source);
    const action = decision === 'approve' ? 'session.approve' : 'session.deny';
    const session = await this.visible(admin, sessionId, { action, source: options.source });
    if (!may(admin, 'sessions.consent') || admin.schoolId !== session.schoolId) {
      await auditRefusal(this.options, by, action, session, `only a school admin of ${session.schoolId} may answer for the school, not a ${admin.role.replace('_', ' ')}`);
      throw new AvcareError('FORBIDDEN', `only a school admin of ${session.schoolId} may answer a remote session request`);
    }
    if (session.state !== 'pending' || Date.parse(session.answerBy) <= this.options.now().getTime()) {
      throw new AvcareError('SESSION_STATE_CONFLICT', `session ${sessionId} is ${session.state === 'pending' ? 'past its answer time' : session.state}: only a pending session can be answered`);
    }
    if (decision === 'deny') {
      return (await endSession(this.options, session, { reason: 'denied', by, auditAction: action })) ?? this.changedMeanwhile(sessionId);
    }
    const granted = options.grant === undefined ? session.scopes.filter((scope) => !isPrivacyAction(scope)) : [...new Set(options.grant)];
    const notAsked = granted.filter((scope) => !session.scopes.includes(scope));
    if (notAsked.length > 0) throw new AvcareError('INVALID_ARGUMENT', `grant: ${notAsked.join(', ')} ${notAsked.length === 1 ? 'was' : 'were'} not asked for`);
    if (granted.length === 0) throw new AvcareError('INVALID_ARGUMENT', 'grant: nothing left to grant (privacy scopes must be named to be granted); deny the request instead');
    return this.activate(session, { answeredBy: by.actor, scopes: granted, expiresAt: new Date(this.options.now().getTime() + session.durationMinutes * 60_000), by, action, tellAgent: true });
  }

  /** Moves a pending session to active with what was granted; the agent is told when the approval came from the cloud. */
  async activate(session: RemoteSession, approval: { answeredBy: string; scopes: SessionAction[]; expiresAt: Date; by: SessionActor; action: string; tellAgent: boolean }): Promise<RemoteSession> {
    const now = this.options.now();
    const moved = await this.options.db.transaction(async (tx) => {
      // The granted scopes replace the asked ones: commands are checked against what the school said yes to.
      const ok = await moveSession(tx, session.id, 'pending', { state: 'active', answeredBy: approval.answeredBy, answeredAt: now.getTime(), expiresAt: approval.expiresAt.getTime() });
      if (!ok) return false;
      await tx.execute('UPDATE remote_sessions SET scopes = $1 WHERE session_id = $2', [JSON.stringify(approval.scopes), session.id]);
      await this.options.audit.appendIn(tx, {
        ...approval.by,
        action: approval.action,
        target: sessionTarget(session.id),
        outcome: 'success',
        schoolId: session.schoolId,
        detail: { agentId: session.agentId, engineer: session.engineer.name, granted: approval.scopes, privacyGranted: approval.scopes.filter(isPrivacyAction), expiresAt: approval.expiresAt.toISOString() },
      });
      return true;
    });
    if (!moved) return this.changedMeanwhile(session.id);
    const active = (await sessionById(this.options.db, session.id)) as RemoteSession;
    if (approval.tellAgent) {
      await tellAgent(this.options, active, {
        kind: 'session-approved',
        sessionId: active.id,
        schoolId: active.schoolId,
        agentId: active.agentId,
        consent: { approvedBy: approval.answeredBy, approvedAt: active.answeredAt as string, scopes: active.scopes, sessionExpiresAt: active.expiresAt as string },
      });
    }
    this.options.events.emit({ type: 'session', session: active });
    return active;
  }

  /** The school admin ends a session (pending or active): final, and the PC is told. */
  async revoke(admin: Person, sessionId: string, note: string | null, source?: string | null): Promise<RemoteSession> {
    const by = personActor(admin, source);
    const session = await this.visible(admin, sessionId, { action: 'session.revoke', source });
    if (!may(admin, 'sessions.consent') || admin.schoolId !== session.schoolId) {
      await auditRefusal(this.options, by, 'session.revoke', session, `only a school admin of ${session.schoolId} may revoke for the school`);
      throw new AvcareError('FORBIDDEN', `only a school admin of ${session.schoolId} may revoke a remote session (the engineer closes their own)`);
    }
    if (session.state !== 'pending' && session.state !== 'active') throw new AvcareError('SESSION_STATE_CONFLICT', `session ${sessionId} is already ${session.state}`);
    return (await endSession(this.options, session, { reason: 'revoked', by, auditAction: 'session.revoke', note })) ?? this.changedMeanwhile(sessionId);
  }

  /** The engineer is done: only the session's own engineer closes it. */
  async close(engineer: Person, sessionId: string, source?: string | null): Promise<RemoteSession> {
    const by = personActor(engineer, source);
    const session = await this.visible(engineer, sessionId, { action: 'session.close', source });
    if (session.engineer.accountId !== engineer.accountId) {
      await auditRefusal(this.options, by, 'session.close', session, `the session belongs to ${session.engineer.name}`);
      throw new AvcareError('FORBIDDEN', `session ${sessionId} belongs to ${session.engineer.name}: only they close it (the school may revoke it)`);
    }
    if (session.state !== 'pending' && session.state !== 'active') throw new AvcareError('SESSION_STATE_CONFLICT', `session ${sessionId} is already ${session.state}`);
    return (await endSession(this.options, session, { reason: 'closed', by, auditAction: 'session.close' })) ?? this.changedMeanwhile(sessionId);
  }

  /**
   * Runs one allowlisted action inside an active session: the consent is checked here, stamped on
   * the command with the engineer's identity, and the command signed. Each refusal is audited.
   */
  async run(engineer: Person, sessionId: string, action: SessionAction, rawArgs: unknown, source?: string | null): Promise<RemoteCommand> {
    const by = personActor(engineer, source);
    const session = await this.visible(engineer, sessionId, { action: 'session.command', source });
    const refuse = async (code: 'FORBIDDEN' | 'SESSION_STATE_CONFLICT' | 'SESSION_SCOPE_DENIED' | 'INVALID_ARGUMENT', reason: string): Promise<never> => {
      await auditRefusal(this.options, by, 'session.command', session, reason, { agentId: session.agentId, action });
      throw new AvcareError(code, reason);
    };
    if (session.engineer.accountId !== engineer.accountId) return refuse('FORBIDDEN', `session ${sessionId} was granted to ${session.engineer.name}, not to ${engineer.name}`);
    const account = await this.options.account(engineer.accountId);
    if (!account || account.disabled) return refuse('FORBIDDEN', `account ${engineer.name} is disabled`);
    if (!this.teamCovers(account.teamId, session.schoolId)) return refuse('FORBIDDEN', `school ${session.schoolId} is no longer served by team ${account.teamId ?? '(none)'}`);
    const now = this.options.now();
    if (session.state !== 'active') return refuse('SESSION_STATE_CONFLICT', `session ${sessionId} is ${session.state}: commands run only in an active session`);
    const sessionEnd = Date.parse(session.expiresAt as string);
    if (sessionEnd <= now.getTime()) return refuse('SESSION_STATE_CONFLICT', `session ${sessionId} expired at ${session.expiresAt}`);
    if (!session.scopes.includes(action)) {
      return refuse('SESSION_SCOPE_DENIED', isPrivacyAction(action) ? `${action} sees or hears the classroom and the school did not grant it by name` : `${action} is not among the granted actions (${session.scopes.join(', ')})`);
    }
    const parsed = ACTION_ARGUMENTS[action].safeParse(rawArgs ?? {});
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return refuse('INVALID_ARGUMENT', `args.${issue?.path.join('.') || ''}: ${issue?.message ?? 'invalid'}`.replace('args.:', 'args:'));
    }
    const args = parsed.data as Record<string, unknown>;
    const command: RemoteCommand = {
      id: randomUUID(),
      sessionId,
      action,
      args,
      issuedBy: by.actor,
      issuedAt: now.toISOString(),
      expiresAt: new Date(Math.min(now.getTime() + COMMAND_LIFETIME_MS, sessionEnd)).toISOString(),
      status: 'sent',
      result: null,
      error: null,
      finishedAt: null,
    };
    await this.options.db.transaction(async (tx) => {
      await insertCommand(tx, command);
      await this.options.audit.appendIn(tx, { ...by, action: 'session.command', target: sessionTarget(sessionId), outcome: 'success', schoolId: session.schoolId, detail: { agentId: session.agentId, commandId: command.id, action, args } });
    });
    await tellAgent(this.options, session, {
      kind: 'command',
      commandId: command.id,
      sessionId,
      schoolId: session.schoolId,
      agentId: session.agentId,
      engineer: session.engineer,
      action,
      args,
      issuedAt: command.issuedAt,
      expiresAt: command.expiresAt,
      consent: { approvedBy: session.answeredBy as string, approvedAt: session.answeredAt as string, scopes: session.scopes, sessionExpiresAt: session.expiresAt as string },
    });
    this.options.events.emit({ type: 'command', schoolId: session.schoolId, command });
    return command;
  }

  async list(scope: { schoolIds?: readonly string[] }, filter: Omit<SessionFilter, 'schoolIds'> = {}): Promise<RemoteSession[]> {
    return listSessions(this.options.db, { ...filter, ...(scope.schoolIds === undefined ? {} : { schoolIds: scope.schoolIds }) });
  }

  /** A session with its commands, if the person's scope includes its school. */
  async show(person: Person, sessionId: string): Promise<{ session: RemoteSession; commands: RemoteCommand[] }> {
    const session = await this.visible(person, sessionId);
    return { session, commands: await commandsOf(this.options.db, sessionId) };
  }

  async command(commandId: string): Promise<RemoteCommand | undefined> {
    return commandById(this.options.db, commandId);
  }

  /** The steps since `since` in these schools (undefined: every school), as the live stream shows them. */
  async stepsSince(since: number, schoolIds: ReadonlySet<string> | undefined): Promise<SessionEvent[]> {
    const changed = await changedSince(this.options.db, since, schoolIds === undefined ? undefined : [...schoolIds]);
    return [...changed.sessions.map((session): SessionEvent => ({ type: 'session', session })), ...changed.commands.map(({ schoolId, command }): SessionEvent => ({ type: 'command', schoolId, command }))];
  }

  async schoolOfSession(sessionId: string): Promise<string | undefined> {
    return (await sessionById(this.options.db, sessionId))?.schoolId;
  }

  /** The engineer's account as it is now (disabled, team). */
  account(accountId: string): Promise<{ disabled: boolean; teamId: string | null } | undefined> {
    return this.options.account(accountId);
  }

  /** Operators see every school; school roles their own; engineers their team's. */
  schoolsVisibleTo(person: Person): ReadonlySet<string> | undefined {
    switch (person.role) {
      case 'operator':
        return undefined;
      case 'school_admin':
      case 'it_teacher':
        return new Set(person.schoolId === null ? [] : [person.schoolId]);
      case 'engineer':
        return person.teamId === null ? new Set() : (this.options.schoolsOfTeam(person.teamId) ?? new Set());
    }
  }

  teamCovers(teamId: string | null, schoolId: string): boolean {
    return teamId !== null && (this.options.schoolsOfTeam(teamId)?.has(schoolId) ?? false);
  }

  /** The session, or "not found" for anyone whose scope does not include its school (its existence is no one else's business). */
  private async visible(person: Person, sessionId: string, attempt?: { action: string; source?: string | null | undefined }): Promise<RemoteSession> {
    const session = await sessionById(this.options.db, sessionId);
    const schools = this.schoolsVisibleTo(person);
    if (session && schools !== undefined && !schools.has(session.schoolId) && attempt) {
      // An act on another team's or school's session is worth a record even though the answer is "not found".
      await auditRefusal(this.options, personActor(person, attempt.source), attempt.action, session, `school ${session.schoolId} is outside ${person.name}'s scope`);
    }
    if (!session || (schools !== undefined && !schools.has(session.schoolId))) throw new AvcareError('SESSION_NOT_FOUND', `no session ${sessionId} in your scope`);
    return session;
  }

  private async changedMeanwhile(sessionId: string): Promise<never> {
    const now = await sessionById(this.options.db, sessionId);
    throw new AvcareError('SESSION_STATE_CONFLICT', `session ${sessionId} changed meanwhile: it is ${now?.state ?? 'gone'}`);
  }
}
