/**
 * The working state of remote sessions and their commands (tables remote_sessions and
 * remote_commands). Every function takes the runner it works on, so a change and its audit entry
 * share one transaction.
 */
import type { Dialect, SqlParam, SqlRunner } from '../store/dialect.js';

/** What a query with a list parameter needs: the dialect binds a list its own way. */
type ListQueries = Pick<Dialect, 'query' | 'textList' | 'inTextList'>;

import type { ApproverPolicy, SessionAction } from '../../protocol/remote-session.js';
import { COMMAND_STATUSES, SESSION_STATES, type CommandStatus, type RemoteCommand, type RemoteSession, type SessionState } from '../../protocol/views/session-view.js';

export { COMMAND_STATUSES, SESSION_STATES, type CommandStatus, type RemoteCommand, type RemoteSession, type SessionState };
export const OPEN_STATES: readonly SessionState[] = ['pending', 'active'];

interface SessionRow {
  session_id: string;
  school_id: string;
  agent_id: string;
  room_id: string | null;
  engineer_id: string;
  engineer_name: string;
  team_id: string | null;
  reason: string;
  scopes: string;
  duration_minutes: number;
  approvers: string;
  state: string;
  requested_at: number;
  answer_by: number;
  answered_by: string | null;
  answered_at: number | null;
  expires_at: number | null;
  ended_at: number | null;
  ended_by: string | null;
  end_reason: string | null;
}

interface CommandRow {
  command_id: string;
  session_id: string;
  action: string;
  args: string;
  issued_by: string;
  issued_at: number;
  expires_at: number;
  status: string;
  result: string | null;
  error_code: string | null;
  error_message: string | null;
  finished_at: number | null;
}

const SESSION_COLUMNS =
  'session_id, school_id, agent_id, room_id, engineer_id, engineer_name, team_id, reason, scopes, duration_minutes, approvers, state, requested_at, answer_by, answered_by, answered_at, expires_at, ended_at, ended_by, end_reason';
const COMMAND_COLUMNS = 'command_id, session_id, action, args, issued_by, issued_at, expires_at, status, result, error_code, error_message, finished_at';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(Number(ms)).toISOString());

function toSession(row: SessionRow): RemoteSession {
  return {
    id: row.session_id,
    schoolId: row.school_id,
    agentId: row.agent_id,
    roomId: row.room_id,
    engineer: { accountId: row.engineer_id, name: row.engineer_name, teamId: row.team_id },
    reason: row.reason,
    scopes: JSON.parse(row.scopes) as SessionAction[],
    durationMinutes: Number(row.duration_minutes),
    approvers: row.approvers as ApproverPolicy,
    state: row.state as SessionState,
    requestedAt: iso(row.requested_at) as string,
    answerBy: iso(row.answer_by) as string,
    answeredBy: row.answered_by,
    answeredAt: iso(row.answered_at),
    expiresAt: iso(row.expires_at),
    endedAt: iso(row.ended_at),
    endedBy: row.ended_by,
    endReason: row.end_reason,
  };
}

function toCommand(row: CommandRow): RemoteCommand {
  return {
    id: row.command_id,
    sessionId: row.session_id,
    action: row.action as SessionAction,
    args: JSON.parse(row.args) as Record<string, unknown>,
    issuedBy: row.issued_by,
    issuedAt: iso(row.issued_at) as string,
    expiresAt: iso(row.expires_at) as string,
    status: row.status as CommandStatus,
    result: row.result === null ? null : (JSON.parse(row.result) as unknown),
    error: row.error_code === null ? null : { code: row.error_code, message: row.error_message ?? '' },
    finishedAt: iso(row.finished_at),
  };
}

export async function insertSession(tx: SqlRunner, session: RemoteSession): Promise<void> {
  await tx.execute(`INSERT INTO remote_sessions (${SESSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, NULL, NULL, NULL, NULL, NULL, NULL)`, [
    session.id,
    session.schoolId,
    session.agentId,
    session.roomId,
    session.engineer.accountId,
    session.engineer.name,
    session.engineer.teamId,
    session.reason,
    JSON.stringify(session.scopes),
    session.durationMinutes,
    session.approvers,
    session.state,
    Date.parse(session.requestedAt),
    Date.parse(session.answerBy),
  ]);
}

export async function sessionById(runner: SqlRunner, id: string, forUpdate = ''): Promise<RemoteSession | undefined> {
  const [row] = await runner.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM remote_sessions WHERE session_id = $1${forUpdate}`, [id]);
  return row ? toSession(row) : undefined;
}

export interface SessionFilter {
  /** Undefined: every school. */
  schoolIds?: readonly string[];
  states?: readonly SessionState[];
  engineerId?: string;
  limit?: number;
}

export async function listSessions(db: ListQueries, filter: SessionFilter): Promise<RemoteSession[]> {
  const where: string[] = [];
  const params: SqlParam[] = [];
  if (filter.schoolIds !== undefined) {
    params.push(db.textList(filter.schoolIds));
    where.push(db.inTextList('school_id', params.length));
  }
  if (filter.states !== undefined) {
    params.push(db.textList(filter.states));
    where.push(db.inTextList('state', params.length));
  }
  if (filter.engineerId !== undefined) {
    params.push(filter.engineerId);
    where.push(`engineer_id = $${params.length}`);
  }
  params.push(filter.limit ?? 200);
  const rows = await db.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM remote_sessions ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY requested_at DESC LIMIT $${params.length}`,
    params,
  );
  return rows.map(toSession);
}

/** The fields a move sets; the rest stay. */
export interface SessionMove {
  state: SessionState;
  answeredBy?: string;
  answeredAt?: number;
  expiresAt?: number;
  endedAt?: number;
  endedBy?: string;
  endReason?: string;
}

/** Moves a session only from the state it was read in, so two answers racing cannot both win. */
export async function moveSession(tx: SqlRunner, id: string, from: SessionState, move: SessionMove): Promise<boolean> {
  const changed = await tx.execute(
    `UPDATE remote_sessions SET state = $1,
       answered_by = COALESCE($2, answered_by), answered_at = COALESCE($3, answered_at), expires_at = COALESCE($4, expires_at),
       ended_at = COALESCE($5, ended_at), ended_by = COALESCE($6, ended_by), end_reason = COALESCE($7, end_reason)
     WHERE session_id = $8 AND state = $9`,
    [move.state, move.answeredBy ?? null, move.answeredAt ?? null, move.expiresAt ?? null, move.endedAt ?? null, move.endedBy ?? null, move.endReason ?? null, id, from],
  );
  return changed === 1;
}

/** Pending sessions past their answer time and active ones past their end. */
export async function dueSessions(runner: SqlRunner, now: number): Promise<RemoteSession[]> {
  const rows = await runner.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM remote_sessions WHERE (state = 'pending' AND answer_by <= $1) OR (state = 'active' AND expires_at <= $1)`,
    [now],
  );
  return rows.map(toSession);
}

export async function openSessions(runner: SqlRunner): Promise<RemoteSession[]> {
  const rows = await runner.query<SessionRow>(`SELECT ${SESSION_COLUMNS} FROM remote_sessions WHERE state = 'pending' OR state = 'active'`);
  return rows.map(toSession);
}

export async function insertCommand(tx: SqlRunner, command: RemoteCommand): Promise<void> {
  await tx.execute(`INSERT INTO remote_commands (${COMMAND_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, NULL, NULL)`, [
    command.id,
    command.sessionId,
    command.action,
    JSON.stringify(command.args),
    command.issuedBy,
    Date.parse(command.issuedAt),
    Date.parse(command.expiresAt),
    command.status,
  ]);
}

export async function commandById(runner: SqlRunner, id: string): Promise<RemoteCommand | undefined> {
  const [row] = await runner.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM remote_commands WHERE command_id = $1`, [id]);
  return row ? toCommand(row) : undefined;
}

export async function commandsOf(runner: SqlRunner, sessionId: string): Promise<RemoteCommand[]> {
  const rows = await runner.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM remote_commands WHERE session_id = $1 ORDER BY issued_at, command_id`, [sessionId]);
  return rows.map(toCommand);
}

/** Records the agent's answer, once: a second answer for the same command changes nothing. */
export async function finishCommand(
  tx: SqlRunner,
  id: string,
  outcome: { status: Exclude<CommandStatus, 'sent'>; result?: unknown; error?: { code: string; message: string } | null; at: number },
): Promise<boolean> {
  const changed = await tx.execute(
    `UPDATE remote_commands SET status = $1, result = $2, error_code = $3, error_message = $4, finished_at = $5 WHERE command_id = $6 AND status = 'sent'`,
    [outcome.status, outcome.result === undefined ? null : JSON.stringify(outcome.result), outcome.error?.code ?? null, outcome.error?.message ?? null, outcome.at, id],
  );
  return changed === 1;
}

/**
 * What changed since `since` (the cloud's clock) in these schools: sessions asked, answered or
 * ended, commands sent or answered. A watcher of several schools reads it to see the steps another
 * cloud process on the same database handled.
 */
export async function changedSince(
  db: ListQueries,
  since: number,
  schoolIds: readonly string[] | undefined,
): Promise<{ sessions: RemoteSession[]; commands: Array<{ schoolId: string; command: RemoteCommand }> }> {
  const params: SqlParam[] = [since];
  let scope = '';
  if (schoolIds !== undefined) {
    params.push(db.textList(schoolIds));
    scope = ` AND ${db.inTextList('s.school_id', 2)}`;
  }
  const sessions = await db.query<SessionRow>(
    `SELECT ${SESSION_COLUMNS} FROM remote_sessions s WHERE (requested_at >= $1 OR answered_at >= $1 OR ended_at >= $1)${scope} ORDER BY requested_at LIMIT 500`,
    params,
  );
  const commandColumns = COMMAND_COLUMNS.split(', ')
    .map((column) => `c.${column}`)
    .join(', ');
  const commands = await db.query<CommandRow & { school_id: string }>(
    `SELECT ${commandColumns}, s.school_id FROM remote_commands c JOIN remote_sessions s ON s.session_id = c.session_id WHERE (c.issued_at >= $1 OR c.finished_at >= $1)${scope} ORDER BY c.issued_at LIMIT 500`,
    params,
  );
  return { sessions: sessions.map(toSession), commands: commands.map((row) => ({ schoolId: row.school_id, command: toCommand(row) })) };
}

/** Commands nobody answered long after they expired: the agent was off or never received them. */
export async function staleCommands(runner: SqlRunner, before: number): Promise<RemoteCommand[]> {
  const rows = await runner.query<CommandRow>(`SELECT ${COMMAND_COLUMNS} FROM remote_commands WHERE status = 'sent' AND expires_at <= $1`, [before]);
  return rows.map(toCommand);
}
