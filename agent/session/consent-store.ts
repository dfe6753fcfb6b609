/**
 * This PC's own record of remote sessions: what was asked, what the school answered, and whether
 * it still holds. Commands are checked against it, not only against the consent the cloud stamps
 * on them: a revocation at the PC is final even if the cloud disagrees, and a session the PC never
 * heard of runs nothing.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AvcareError } from '../../protocol/errors.js';
import { isPrivacyAction, type CommandPayload, type ConsentStamp, type RefusalCode, type SessionAction, type SessionEndPayload, type SessionRequestPayload } from '../../protocol/remote-session.js';

export type SessionState = 'pending' | 'approved' | 'denied' | 'timed-out' | 'revoked' | 'expired' | 'ended';

export interface SessionRecord {
  request: SessionRequestPayload;
  state: 'pending' | 'approved' | 'denied' | 'revoked' | 'ended';
  approvedBy?: string;
  approvedAt?: string;
  /** What the approval granted (never more than was asked). */
  scopes?: SessionAction[];
  expiresAt?: string;
  closedBy?: string;
  closedAt?: string;
  closeReason?: string;
}

/** Records whose session ended this long ago are dropped; the audit log in the cloud keeps the history. */
const KEEP_ENDED_MS = 30 * 24 * 3600 * 1000;
/** How much later than this PC's record the cloud's stamp may say the session ends: clocks drift. */
const STAMP_SKEW_MS = 60_000;

export interface ConsentStoreOptions {
  /**
   * Windows: a file every person at the PC may read, holding the requests waiting for an answer,
   * so a teacher's `consent watch` (which cannot open the administrators' pipe) can show them.
   */
  noticeBoard?: string | undefined;
}

export class ConsentStore {
  private constructor(
    private readonly file: string,
    private readonly records: Map<string, SessionRecord>,
    private readonly options: ConsentStoreOptions,
  ) {}

  static open(file: string, options: ConsentStoreOptions = {}): ConsentStore {
    let records: SessionRecord[] = [];
    try {
      records = JSON.parse(readFileSync(file, 'utf8')) as SessionRecord[];
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new AvcareError('CONFIG_UNREADABLE', `cannot read the session record ${file}: ${(error as Error).message}`);
    }
    return new ConsentStore(file, new Map(records.map((record) => [record.request.sessionId, record])), options);
  }

  /** Each session with its state as of `now`: an unanswered request past its time is timed out, an approval past its end expired. */
  list(now: Date): Array<SessionRecord & { effectiveState: SessionState }> {
    return [...this.records.values()].map((record) => ({ ...record, effectiveState: effectiveState(record, now) }));
  }

  get(sessionId: string, now: Date): (SessionRecord & { effectiveState: SessionState }) | undefined {
    const record = this.records.get(sessionId);
    return record ? { ...record, effectiveState: effectiveState(record, now) } : undefined;
  }

  /** A signed request arrived: kept as pending (a repeat of one already known changes nothing). */
  recordRequest(request: SessionRequestPayload): boolean {
    if (this.records.has(request.sessionId)) return false;
    this.records.set(request.sessionId, { request, state: 'pending' });
    this.save();
    return true;
  }

  /**
   * Approval by the person at the PC, where the school's policy allows it. A camera snapshot or
   * audio clip is granted only when the person said so (`withPrivacy`), never by default.
   */
  approveAtPc(sessionId: string, by: string, now: Date, options: { withPrivacy?: boolean } = {}): SessionRecord {
    const record = this.pending(sessionId, now);
    if (record.request.approvers !== 'school-admin-or-pc') throw new AvcareError('SESSION_APPROVAL_NOT_ALLOWED', `session ${sessionId}: this school's policy lets only its admins approve`);
    const scopes = record.request.scopes.filter((scope) => options.withPrivacy === true || !isPrivacyAction(scope));
    if (scopes.length === 0) throw new AvcareError('INVALID_ARGUMENT', `session ${sessionId} asks only to see or hear the classroom: approve with --with-privacy, or deny`);
    const expiresAt = new Date(now.getTime() + record.request.durationMinutes * 60_000).toISOString();
    return this.update(sessionId, { state: 'approved', approvedBy: by, approvedAt: now.toISOString(), scopes, expiresAt });
  }

  /** The school's admin approved in the cloud (signed by the cloud). A session closed here stays closed. */
  recordCloudApproval(sessionId: string, consent: ConsentStamp, now: Date): { applied: boolean; reason?: string } {
    const record = this.records.get(sessionId);
    if (!record) return { applied: false, reason: 'this PC never received the request' };
    const state = effectiveState(record, now);
    if (state !== 'pending') return { applied: false, reason: `the session is ${state} here` };
    const asked = new Set(record.request.scopes);
    if (!consent.scopes.every((scope) => asked.has(scope))) return { applied: false, reason: 'the approval grants more than was asked' };
    this.update(sessionId, { state: 'approved', approvedBy: consent.approvedBy, approvedAt: consent.approvedAt, scopes: [...consent.scopes], expiresAt: consent.sessionExpiresAt });
    return { applied: true };
  }

  deny(sessionId: string, by: string, now: Date): SessionRecord {
    this.pending(sessionId, now);
    return this.update(sessionId, { state: 'denied', closedBy: by, closedAt: now.toISOString(), closeReason: 'denied' });
  }

  /** Final: nothing the cloud sends afterwards reopens it. */
  revoke(sessionId: string, by: string, reason: string | null, now: Date): SessionRecord {
    const record = this.records.get(sessionId);
    if (!record) throw new AvcareError('SESSION_NOT_FOUND', `no session ${sessionId} on this PC`);
    const state = effectiveState(record, now);
    if (state !== 'pending' && state !== 'approved') throw new AvcareError('SESSION_NOT_PENDING', `session ${sessionId} is already ${state}`);
    return this.update(sessionId, { state: 'revoked', closedBy: by, closedAt: now.toISOString(), closeReason: reason ?? 'revoked at the PC' });
  }

  /** The cloud ended it (closed by the engineer, revoked by the school, expired, timed out). */
  recordEnd(end: SessionEndPayload): void {
    const record = this.records.get(end.sessionId);
    if (!record || record.state === 'revoked' || record.state === 'denied' || record.state === 'ended') return;
    this.update(end.sessionId, { state: 'ended', closedBy: end.by, closedAt: end.at, closeReason: end.reason });
  }

  /** Whether this PC's record allows the command; null when it does. */
  refusalFor(command: CommandPayload, now: Date): { code: RefusalCode; reason: string } | null {
    const record = this.records.get(command.sessionId);
    if (!record) return { code: 'NO_CONSENT', reason: 'this PC has no record of the session' };
    const state = effectiveState(record, now);
    if (state === 'revoked') return { code: 'SESSION_REVOKED', reason: `the session was revoked${record.closedBy ? ` by ${record.closedBy}` : ''}` };
    if (state === 'expired' || state === 'ended') return { code: 'SESSION_EXPIRED', reason: `the session has ${state === 'ended' ? `ended (${record.closeReason ?? ''})` : 'expired'}` };
    if (state !== 'approved') return { code: 'NO_CONSENT', reason: `the session is ${state}, not approved` };
    const scopes = new Set(record.scopes ?? []);
    if (!scopes.has(command.action)) {
      return isPrivacyAction(command.action)
        ? { code: 'PRIVACY_SCOPE_MISSING', reason: `${command.action} sees or hears the classroom and was not granted by name` }
        : { code: 'OUT_OF_SCOPE', reason: `${command.action} is not among the granted actions (${[...scopes].join(', ')})` };
    }
    // The cloud's stamp must not claim more than this PC recorded (a minute's clock drift aside).
    if (!command.consent.scopes.every((scope) => scopes.has(scope)) || Date.parse(command.consent.sessionExpiresAt) > Date.parse(record.expiresAt ?? '') + STAMP_SKEW_MS) {
      return { code: 'CONSENT_MISMATCH', reason: "the cloud's consent stamp differs from this PC's record" };
    }
    return null;
  }

  private pending(sessionId: string, now: Date): SessionRecord {
    const record = this.records.get(sessionId);
    if (!record) throw new AvcareError('SESSION_NOT_FOUND', `no session ${sessionId} on this PC`);
    const state = effectiveState(record, now);
    if (state !== 'pending') throw new AvcareError('SESSION_NOT_PENDING', `session ${sessionId} is ${state}`);
    return record;
  }

  private update(sessionId: string, change: Partial<SessionRecord>): SessionRecord {
    const record = { ...(this.records.get(sessionId) as SessionRecord), ...change };
    this.records.set(sessionId, record);
    this.save();
    return record;
  }

  private save(): void {
    const cutoff = Date.now() - KEEP_ENDED_MS;
    const kept = [...this.records.values()].filter((record) => record.closedAt === undefined || Date.parse(record.closedAt) > cutoff);
    writeFileSync(`${this.file}.tmp`, JSON.stringify(kept, null, 1), { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
    this.postNotices();
  }

  /** The pending requests as people read them; a board that cannot be written costs the notice, never the record. */
  private postNotices(): void {
    const board = this.options.noticeBoard;
    if (board === undefined) return;
    const pending = this.list(new Date()).filter((record) => record.effectiveState === 'pending').map(sessionView);
    try {
      writeFileSync(`${board}.tmp`, JSON.stringify(pending), { mode: 0o644 });
      renameSync(`${board}.tmp`, board);
    } catch {
      // No board folder (a developer's agent, not the installed service): nothing to tell.
    }
  }
}

/** A session as people read it: `consent list`, the console's view, the Windows notice board. */
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

function effectiveState(record: SessionRecord, now: Date): SessionState {
  if (record.state === 'pending' && now.getTime() > Date.parse(record.request.answerBy)) return 'timed-out';
  if (record.state === 'approved' && now.getTime() >= Date.parse(record.expiresAt ?? '')) return 'expired';
  return record.state;
}
