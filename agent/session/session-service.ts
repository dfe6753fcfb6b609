/**
 * The agent's side of remote sessions: every signed message from the cloud goes through the
 * checks (signature, addressee, time, nonce), requests and approvals update this PC's consent
 * record, commands run only when that record allows them, and every step lands in the PC's own
 * log and is answered on the agent's session topic with the command's id.
 */
import { join } from 'node:path';
import { isAvcareError } from '../../protocol/errors.js';
import type { Logger } from '../../protocol/log.js';
import { ACTION_ARGUMENTS, agentSessionTopic, MAX_RESULT_BYTES, type AgentSessionMessage, type CommandPayload, type RefusalCode, type SessionAction } from '../../protocol/remote-session.js';
import { ConsentStore, type SessionRecord } from './consent-store.js';
import { PLATFORM_PATHS } from '../platform/platform-paths.js';
import { NonceStore } from './nonce-store.js';
import { SessionLog } from './session-log.js';
import { checkSessionMessage } from './session-message-check.js';

/** Runs one allowlisted action; throws an AvcareError with a code when it cannot. */
export type ActionRunner = (action: SessionAction, args: Record<string, unknown>, signal: AbortSignal) => Promise<unknown>;

export interface SessionServiceOptions {
  identity: { schoolId: string; roomId: string; agentId: string };
  signingKey: { publicKeyPem: string; keyId: string };
  stateDir: string;
  publish: (topic: string, payload: string) => Promise<void>;
  runAction: ActionRunner;
  log: Logger;
  /** Told of a new request, so a desktop session can show it to the teacher. */
  onRequest?: (record: SessionRecord) => void;
  now?: () => Date;
  /** The longest any action may take before it is stopped and reported as failed. */
  actionTimeoutMs?: number;
}

export class SessionService {
  readonly consents: ConsentStore;
  readonly journal: SessionLog;
  private readonly nonces: NonceStore;
  private readonly log: Logger;
  private readonly now: () => Date;
  private readonly topic: string;
  private readonly refusalReports = new MinuteBudget(10);

  constructor(private readonly options: SessionServiceOptions) {
    this.now = options.now ?? (() => new Date());
    this.nonces = NonceStore.open(join(options.stateDir, 'session-nonces.jsonl'), this.now());
    // The installed Windows service posts pending requests where a teacher's session can read them.
    const noticeBoard = options.stateDir === PLATFORM_PATHS.serviceStateDir ? PLATFORM_PATHS.noticeBoardFile : undefined;
    this.consents = ConsentStore.open(join(options.stateDir, 'sessions.json'), { noticeBoard });
    this.journal = new SessionLog(join(options.stateDir, 'session-log.jsonl'));
    this.log = options.log.child({ module: 'remote-session' });
    const { schoolId, roomId, agentId } = options.identity;
    this.topic = agentSessionTopic({ school: schoolId, room: roomId, agent: agentId });
  }

  /** A message from the agent's session inbox. Never throws: a bad message is refused, logged and answered where it can be. */
  async receive(payload: Buffer): Promise<void> {
    let raw: unknown;
    try {
      raw = JSON.parse(payload.toString('utf8'));
    } catch {
      raw = undefined;
    }
    const now = this.now();
    const { schoolId, agentId } = this.options.identity;
    const checked = checkSessionMessage(raw, { signingKey: this.options.signingKey, schoolId, agentId, nonces: this.nonces, now });
    if (!checked.ok) {
      this.log.warn({ code: checked.code, reason: checked.reason, sessionId: checked.sessionId }, 'refused a session message');
      this.journal.append({ at: now.toISOString(), sessionId: checked.sessionId ?? null, event: 'message-refused', outcome: 'refused', detail: `${checked.code}: ${checked.reason}`, ...(checked.commandId ? { commandId: checked.commandId } : {}) });
      if (checked.commandId !== undefined) {
        // Signed by the cloud, so its id is true: the engineer waiting on it hears why.
        await this.answer({ type: 'command-result', commandId: checked.commandId, sessionId: checked.sessionId ?? null, status: 'refused', error: { code: checked.code, message: checked.reason }, startedAt: now.toISOString(), finishedAt: now.toISOString() });
      } else if (this.refusalReports.take(now)) {
        // Not trustworthy (forged, another key, malformed): reported for the cloud's audit, a few a minute at most.
        await this.answer({ type: 'message-refused', code: checked.code, reason: checked.reason.slice(0, 500), at: now.toISOString(), ...claimedCommandId(raw) });
      }
      return;
    }
    const message = checked.payload;
    switch (message.kind) {
      case 'session-request':
        if (this.consents.recordRequest(message)) {
          this.journal.append({ at: now.toISOString(), sessionId: message.sessionId, event: 'request', by: message.engineer.name, detail: `${message.reason} [${message.scopes.join(', ')}] for ${message.durationMinutes} min, answer by ${message.answerBy}` });
          const record = this.consents.get(message.sessionId, now);
          if (record) this.options.onRequest?.(record);
        }
        return;
      case 'session-approved': {
        const applied = this.consents.recordCloudApproval(message.sessionId, message.consent, now);
        this.journal.append({ at: now.toISOString(), sessionId: message.sessionId, event: applied.applied ? 'approved' : 'message-refused', by: message.consent.approvedBy, ...(applied.reason ? { detail: `approval not taken: ${applied.reason}` } : { detail: `[${message.consent.scopes.join(', ')}] until ${message.consent.sessionExpiresAt}` }) });
        return;
      }
      case 'session-end':
        this.consents.recordEnd(message);
        this.journal.append({ at: now.toISOString(), sessionId: message.sessionId, event: 'ended', by: message.by, detail: message.reason });
        return;
      case 'command':
        await this.runCommand(message, now);
        return;
    }
  }

  /** The person at the PC approves (where the school's policy lets them). */
  async approve(sessionId: string, by: string, options: { withPrivacy?: boolean } = {}): Promise<SessionRecord> {
    const now = this.now();
    const record = this.consents.approveAtPc(sessionId, by, now, options);
    this.journal.append({ at: now.toISOString(), sessionId, event: 'approved', by, detail: `[${(record.scopes ?? []).join(', ')}] until ${record.expiresAt ?? ''}` });
    await this.answer({ type: 'consent-answer', sessionId, decision: 'approve', by, at: now.toISOString(), ...(record.expiresAt ? { expiresAt: record.expiresAt } : {}), ...(record.scopes ? { scopes: record.scopes } : {}) });
    return record;
  }

  async deny(sessionId: string, by: string): Promise<SessionRecord> {
    const now = this.now();
    const record = this.consents.deny(sessionId, by, now);
    this.journal.append({ at: now.toISOString(), sessionId, event: 'denied', by });
    await this.answer({ type: 'consent-answer', sessionId, decision: 'deny', by, at: now.toISOString() });
    return record;
  }

  /** Final at this PC: recorded before the cloud is told, so a lost message cannot undo it. */
  async revoke(sessionId: string, by: string, reason: string | null): Promise<SessionRecord> {
    const now = this.now();
    const record = this.consents.revoke(sessionId, by, reason, now);
    this.journal.append({ at: now.toISOString(), sessionId, event: 'revoked', by, ...(reason ? { detail: reason } : {}) });
    await this.answer({ type: 'session-revoked', sessionId, by, at: now.toISOString(), reason });
    return record;
  }

  private async runCommand(command: CommandPayload, now: Date): Promise<void> {
    const startedAt = now.toISOString();
    const refuse = (code: RefusalCode, reason: string): Promise<void> => {
      this.journal.append({ at: startedAt, sessionId: command.sessionId, event: 'refused', by: command.engineer.name, action: command.action, commandId: command.commandId, outcome: 'refused', detail: `${code}: ${reason}` });
      return this.answer({ type: 'command-result', commandId: command.commandId, sessionId: command.sessionId, status: 'refused', error: { code, message: reason }, startedAt, finishedAt: this.now().toISOString() });
    };
    const refusal = this.consents.refusalFor(command, now);
    if (refusal) return refuse(refusal.code, refusal.reason);
    const args = ACTION_ARGUMENTS[command.action].safeParse(command.args);
    if (!args.success) return refuse('BAD_ARGUMENTS', `${command.action}: ${args.error.issues.map((issue) => `${issue.path.join('.') || '(arguments)'} ${issue.message}`).join('; ')}`);

    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('the action took too long')), this.options.actionTimeoutMs ?? 120_000);
    let message: AgentSessionMessage;
    try {
      const result = await this.options.runAction(command.action, args.data, controller.signal);
      const size = Buffer.byteLength(JSON.stringify(result ?? null));
      message =
        size > MAX_RESULT_BYTES
          ? { type: 'command-result', commandId: command.commandId, sessionId: command.sessionId, status: 'failed', error: { code: 'RESULT_TOO_LARGE', message: `the result is ${size} bytes, over the ${MAX_RESULT_BYTES} a command may answer with` }, startedAt, finishedAt: this.now().toISOString() }
          : { type: 'command-result', commandId: command.commandId, sessionId: command.sessionId, status: 'ok', result, startedAt, finishedAt: this.now().toISOString() };
    } catch (error) {
      const code = isAvcareError(error) ? error.code : controller.signal.aborted ? 'ACTION_TIMEOUT' : 'ACTION_FAILED';
      message = { type: 'command-result', commandId: command.commandId, sessionId: command.sessionId, status: 'failed', error: { code, message: (error instanceof Error ? error.message : String(error)).slice(0, 2000) }, startedAt, finishedAt: this.now().toISOString() };
    } finally {
      clearTimeout(timer);
    }
    this.journal.append({ at: startedAt, sessionId: command.sessionId, event: 'command', by: command.engineer.name, action: command.action, commandId: command.commandId, outcome: message.status, ...(message.error ? { detail: `${message.error.code}: ${message.error.message}` } : {}) });
    await this.answer(message);
  }

  private async answer(message: AgentSessionMessage): Promise<void> {
    try {
      await this.options.publish(this.topic, JSON.stringify(message));
    } catch (error) {
      // The PC's record and log already hold it; the cloud hears of it when it asks again.
      this.log.warn({ err: error, type: message.type }, 'could not send a session answer to the cloud');
    }
  }
}

/** At most `perMinute` events a minute: what a flood of hostile messages can make this agent send. */
class MinuteBudget {
  private windowStart = 0;
  private used = 0;

  constructor(private readonly perMinute: number) {}

  take(now: Date): boolean {
    if (now.getTime() - this.windowStart >= 60_000) {
      this.windowStart = now.getTime();
      this.used = 0;
    }
    if (this.used >= this.perMinute) return false;
    this.used += 1;
    return true;
  }
}

/** The command id an untrusted message claims, when it claims a well-formed one (for the cloud to match with what it sent). */
function claimedCommandId(raw: unknown): { claimedCommandId?: string } {
  try {
    const payload = JSON.parse((raw as { signed: { payload: string } }).signed.payload) as { commandId?: unknown };
    return typeof payload.commandId === 'string' && /^[0-9a-f-]{36}$/i.test(payload.commandId) ? { claimedCommandId: payload.commandId } : {};
  } catch {
    return {};
  }
}

