/**
 * Time moves sessions too: a request nobody answered is refused (never accepted), an approved
 * session ends at its expiry, a session whose engineer was disabled or left the school's team
 * is revoked, commands nobody answered are marked so, and a pending request is sent again for an
 * agent that was offline when it was made.
 */
import type { RemoteSessions } from './remote-sessions.js';
import { endSession, sessionTarget } from './session-context.js';
import { dueSessions, finishCommand, openSessions, staleCommands } from './session-store.js';

/** How long after its expiry a command may still be answered (a long test started just in time). */
const ANSWER_GRACE_MS = 5 * 60_000;
const RESEND_EVERY_MS = 30_000;

export interface SweepCounts {
  timedOut: number;
  expired: number;
  revoked: number;
  unanswered: number;
}

export class SessionSweeper {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private lastResend = 0;

  constructor(private readonly sessions: RemoteSessions) {}

  async sweep(): Promise<SweepCounts> {
    const context = this.sessions.context;
    const now = context.now().getTime();
    const counts: SweepCounts = { timedOut: 0, expired: 0, revoked: 0, unanswered: 0 };
    const system = { actor: 'system' };
    for (const session of await dueSessions(context.db, now)) {
      const timedOut = session.state === 'pending';
      const ended = await endSession(context, session, timedOut ? { reason: 'timed-out', by: system, auditAction: 'session.timeout', note: 'no answer in time: refused', outcome: 'denied' } : { reason: 'expired', by: system, auditAction: 'session.expire' });
      if (ended) counts[timedOut ? 'timedOut' : 'expired'] += 1;
    }
    const resend = now - this.lastResend >= RESEND_EVERY_MS;
    if (resend) this.lastResend = now;
    for (const session of await openSessions(context.db)) {
      const account = await this.sessions.account(session.engineer.accountId);
      const why = !account || account.disabled ? `engineer ${session.engineer.name} was disabled` : !this.sessions.teamCovers(account.teamId, session.schoolId) ? `engineer ${session.engineer.name} no longer serves school ${session.schoolId}` : undefined;
      if (why !== undefined) {
        if (await endSession(context, session, { reason: 'revoked', by: system, auditAction: 'session.revoke', note: why })) counts.revoked += 1;
      } else if (resend && session.state === 'pending') {
        await this.sessions.sendRequest(session);
      }
    }
    for (const command of await staleCommands(context.db, now - ANSWER_GRACE_MS)) {
      if (await context.db.transaction((tx) => finishCommand(tx, command.id, { status: 'unanswered', error: { code: 'UNANSWERED', message: 'the agent did not answer: it was offline or never received the command' }, at: now }))) {
        counts.unanswered += 1;
        const finished = await this.sessions.command(command.id);
        const schoolId = (await this.sessions.schoolOfSession(command.sessionId)) ?? null;
        await context.audit.append({ ...system, action: 'session.result', target: sessionTarget(command.sessionId), outcome: 'failure', schoolId, detail: { commandId: command.id, action: command.action, status: 'unanswered' } });
        if (finished && schoolId !== null) context.events.emit({ type: 'command', schoolId, command: finished });
      }
    }
    return counts;
  }

  start(intervalMs = 5_000): void {
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sweep()
        .catch((error: unknown) => this.sessions.context.log.warn({ err: error }, 'the session sweep failed; it runs again shortly'))
        .finally(() => (this.running = undefined));
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
