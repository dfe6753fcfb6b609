/**
 * Remote sessions as the HTTP API serves them (GET /api/sessions, /api/sessions/ID, their events):
 * the cloud builds these, the console reads them. JSON, times as ISO strings.
 */
import type { SessionAction } from '../session-actions.js';

/** Who may answer a session's request: the school admin in the cloud, or also a teacher at the PC. */
export const APPROVER_POLICIES = ['school-admin', 'school-admin-or-pc'] as const;
export type ApproverPolicy = (typeof APPROVER_POLICIES)[number];

/** pending -> active -> (closed | revoked | expired); pending -> (denied | timed-out | revoked). */
export const SESSION_STATES = ['pending', 'active', 'denied', 'timed-out', 'revoked', 'closed', 'expired'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export interface RemoteSession {
  id: string;
  schoolId: string;
  agentId: string;
  roomId: string | null;
  engineer: { accountId: string; name: string; teamId: string | null };
  reason: string;
  scopes: SessionAction[];
  durationMinutes: number;
  approvers: ApproverPolicy;
  state: SessionState;
  requestedAt: string;
  answerBy: string;
  /** Who approved or denied: `user:NAME` in the cloud, `pc:USER` at the classroom PC. */
  answeredBy: string | null;
  answeredAt: string | null;
  expiresAt: string | null;
  endedAt: string | null;
  endedBy: string | null;
  endReason: string | null;
}

export const COMMAND_STATUSES = ['sent', 'ok', 'failed', 'refused', 'unanswered'] as const;
export type CommandStatus = (typeof COMMAND_STATUSES)[number];

export interface RemoteCommand {
  id: string;
  sessionId: string;
  action: SessionAction;
  args: Record<string, unknown>;
  issuedBy: string;
  issuedAt: string;
  expiresAt: string;
  status: CommandStatus;
  result: unknown;
  error: { code: string; message: string } | null;
  finishedAt: string | null;
}

