import { randomBytes } from 'node:crypto';
import type { FaultCategory, Severity } from '../../protocol/index.js';
import type { Dialect, SqlParam, SqlRunner, SqlValue } from '../store/dialect.js';
import type { AgentAction, ResolutionReport, ServiceRating, Ticket, TicketDevice, TicketHistoryEntry, TicketStatus } from '../../protocol/views/ticket-view.js';

export type { AgentAction, ResolutionReport, ServiceRating, Ticket, TicketDevice, TicketHistoryEntry };

export interface TicketFilter {
  schoolId?: string;
  /** Only tickets of these schools (a person's scope). */
  schoolIds?: readonly string[];
  status?: TicketStatus;
  severity?: Severity;
  teamId?: string;
  agentKey?: string;
  /** Only tickets not closed (open, acknowledged, in progress, resolved). */
  activeOnly?: boolean;
  limit?: number;
  /** Skip this many of the newest first (paging). */
  offset?: number;
}

/** The row as stored; the engine works on it, the API on `Ticket`. */
export interface TicketRow {
  id: string;
  agent_key: string;
  code: string;
  device_key: string;
  school_id: string;
  room_id: string;
  active: number;
  status: TicketStatus;
  category: FaultCategory;
  severity: Severity;
  severity_reasons: string;
  region_id: string | null;
  team_id: string | null;
  title: string;
  description: string;
  device: string | null;
  occurrences: number;
  first_occurrence_at: number;
  last_occurrence_at: number;
  episode_raised_at: number | null;
  fault_cleared_at: number | null;
  flaps: number;
  reopens: number;
  opened_at: number;
  acknowledged_at: number | null;
  first_response_at: number | null;
  resolved_at: number | null;
  closed_at: number | null;
  agent_actions: string;
  bundle: string | null;
  resolution: string | null;
  rating: string | null;
  escalations: string;
  updated_at: number;
  on_site_requested_at: number | null;
  on_site_arrived_at: number | null;
}

const COLUMNS: readonly (keyof TicketRow)[] = [
  'id', 'agent_key', 'code', 'device_key', 'school_id', 'room_id', 'active', 'status', 'category', 'severity', 'severity_reasons',
  'region_id', 'team_id', 'title', 'description', 'device', 'occurrences', 'first_occurrence_at', 'last_occurrence_at',
  'episode_raised_at', 'fault_cleared_at', 'flaps', 'reopens', 'opened_at', 'acknowledged_at', 'first_response_at', 'resolved_at',
  'closed_at', 'agent_actions', 'bundle', 'resolution', 'rating', 'escalations', 'updated_at', 'on_site_requested_at', 'on_site_arrived_at',
];
const UPDATABLE = new Set<keyof TicketRow>(COLUMNS.filter((column) => column !== 'id' && column !== 'agent_key' && column !== 'code' && column !== 'device_key'));

/** Readable in a phone call ("TK-7F3K9QXM"), random so ids do not reveal a provider's volume. */
export function newTicketId(): string {
  const alphabet = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
  return `TK-${[...randomBytes(8)].map((byte) => alphabet[byte % 32]).join('')}`;
}

/** How a ticket's service went, as the service-quality report counts it (migration 0014). */
export interface ServiceOutcome {
  sla_first_response_met: number | null;
  sla_resolution_met: number | null;
  sla_on_site_met: number | null;
  resolved_via: 'agent' | 'remote' | 'on-site' | null;
  rating_score: number | null;
}

/** A change to one of these can change the outcome: the outcome is worked out again after it. */
const OUTCOME_INPUTS = new Set<keyof TicketRow>(['first_response_at', 'resolved_at', 'on_site_requested_at', 'on_site_arrived_at', 'resolution', 'rating', 'severity']);

/** The SQL of tickets, over the one query layer (the same statements on SQLite and PostgreSQL). */
export class TicketStore {
  /**
   * outcomeOf: the outcome of a ticket as it now stands (the engine knows the SLA terms); without
   * it (tests of the store alone) outcomes are not written.
   */
  constructor(
    readonly db: Dialect,
    private readonly outcomeOf?: (row: TicketRow) => ServiceOutcome,
  ) {}

  async activeTicket(tx: SqlRunner, subject: { agentKey: string; code: string; deviceKey: string }): Promise<TicketRow | undefined> {
    const [row] = await tx.query<TicketRow>(
      `SELECT * FROM tickets WHERE agent_key = $1 AND code = $2 AND device_key = $3 AND active = 1${this.db.forUpdate}`,
      [subject.agentKey, subject.code, subject.deviceKey],
    );
    return row;
  }

  async lockTicket(tx: SqlRunner, id: string): Promise<TicketRow | undefined> {
    const [row] = await tx.query<TicketRow>(`SELECT * FROM tickets WHERE id = $1${this.db.forUpdate}`, [id]);
    return row;
  }

  /** False when another active ticket holds the subject (a concurrent collector got there first). */
  async insert(tx: SqlRunner, row: TicketRow): Promise<boolean> {
    const values = COLUMNS.map((column) => row[column]);
    const placeholders = COLUMNS.map((_, index) => `$${index + 1}`).join(', ');
    const changed = await tx.execute(
      `INSERT INTO tickets (${COLUMNS.join(', ')}) VALUES (${placeholders}) ON CONFLICT (agent_key, code, device_key) WHERE active = 1 DO NOTHING`,
      values,
    );
    return changed === 1;
  }

  /**
   * Applies `patch` if the ticket still has `expectStatus` (when given): two collectors sweeping at
   * once both find a ticket due, and only the first update may count.
   */
  async update(tx: SqlRunner, id: string, patch: Partial<TicketRow>, expectStatus?: TicketStatus): Promise<boolean> {
    const entries = Object.entries(patch).filter(([column]) => UPDATABLE.has(column as keyof TicketRow));
    const params: SqlValue[] = entries.map(([, value]) => value);
    const sets = entries.map(([column], index) => `${column} = $${index + 1}`);
    params.push(id);
    let sql = `UPDATE tickets SET ${sets.join(', ')} WHERE id = $${params.length}`;
    if (expectStatus !== undefined) {
      params.push(expectStatus);
      sql += ` AND status = $${params.length}`;
    }
    const updated = (await tx.execute(sql, params)) === 1;
    if (updated && this.outcomeOf && entries.some(([column]) => OUTCOME_INPUTS.has(column as keyof TicketRow))) await this.writeOutcome(tx, id, this.outcomeOf);
    return updated;
  }

  private async writeOutcome(tx: SqlRunner, id: string, outcomeOf: (row: TicketRow) => ServiceOutcome): Promise<void> {
    const [row] = await tx.query<TicketRow>('SELECT * FROM tickets WHERE id = $1', [id]);
    if (!row) return;
    const outcome = outcomeOf(row);
    await tx.execute('UPDATE tickets SET sla_first_response_met = $1, sla_resolution_met = $2, sla_on_site_met = $3, resolved_via = $4, rating_score = $5 WHERE id = $6', [
      outcome.sla_first_response_met,
      outcome.sla_resolution_met,
      outcome.sla_on_site_met,
      outcome.resolved_via,
      outcome.rating_score,
      id,
    ]);
  }

  async appendHistory(
    tx: SqlRunner,
    entry: { ticketId: string; at: number; actor: string; action: string; fromStatus?: TicketStatus | null; toStatus?: TicketStatus | null; detail?: Record<string, unknown> },
  ): Promise<number> {
    const [last] = await tx.query<{ step: number | null }>('SELECT MAX(step) AS step FROM ticket_history WHERE ticket_id = $1', [entry.ticketId]);
    const step = Number(last?.step ?? 0) + 1;
    await tx.execute('INSERT INTO ticket_history (ticket_id, at, step, actor, action, from_status, to_status, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      entry.ticketId,
      entry.at,
      step,
      entry.actor,
      entry.action,
      entry.fromStatus ?? null,
      entry.toStatus ?? null,
      JSON.stringify(entry.detail ?? {}),
    ]);
    return step;
  }

  async list(filter: TicketFilter = {}): Promise<Ticket[]> {
    const { where, params } = this.conditions(filter);
    params.push(filter.limit ?? 500, filter.offset ?? 0);
    const rows = await this.db.query<TicketRow>(`SELECT * FROM tickets${where} ORDER BY opened_at DESC, id LIMIT $${params.length - 1} OFFSET $${params.length}`, params);
    return rows.map(toTicket);
  }

  /** How many tickets the filter matches in all (its limit and offset aside). */
  async count(filter: TicketFilter = {}): Promise<number> {
    const { where, params } = this.conditions(filter);
    const [row] = await this.db.query<{ total: number | string }>(`SELECT COUNT(*) AS total FROM tickets${where}`, params);
    return Number(row?.total ?? 0);
  }

  private conditions(filter: TicketFilter): { where: string; params: SqlParam[] } {
    const conditions: string[] = [];
    const params: SqlParam[] = [];
    const add = (sql: string, value: SqlValue): void => {
      params.push(value);
      conditions.push(sql.replace('?', `$${params.length}`));
    };
    if (filter.schoolId !== undefined) add('school_id = ?', filter.schoolId);
    if (filter.schoolIds !== undefined) {
      params.push(this.db.textList(filter.schoolIds));
      conditions.push(this.db.inTextList('school_id', params.length));
    }
    if (filter.status !== undefined) add('status = ?', filter.status);
    if (filter.severity !== undefined) add('severity = ?', filter.severity);
    if (filter.teamId !== undefined) add('team_id = ?', filter.teamId);
    if (filter.agentKey !== undefined) add('agent_key = ?', filter.agentKey);
    if (filter.activeOnly) conditions.push('active = 1');
    return { where: conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : '', params };
  }

  async get(id: string): Promise<{ ticket: Ticket; bundle: unknown; history: TicketHistoryEntry[] } | null> {
    const [row] = await this.db.query<TicketRow>('SELECT * FROM tickets WHERE id = $1', [id]);
    if (!row) return null;
    const history = await this.db.query<{ at: number; step: number; actor: string; action: string; from_status: TicketStatus | null; to_status: TicketStatus | null; detail: string }>(
      'SELECT at, step, actor, action, from_status, to_status, detail FROM ticket_history WHERE ticket_id = $1 ORDER BY step',
      [id],
    );
    return {
      ticket: toTicket(row),
      bundle: row.bundle === null ? null : (JSON.parse(row.bundle) as unknown),
      history: history.map((entry) => ({
        at: iso(entry.at),
        step: Number(entry.step),
        actor: entry.actor,
        action: entry.action,
        fromStatus: entry.from_status,
        toStatus: entry.to_status,
        detail: JSON.parse(entry.detail) as Record<string, unknown>,
      })),
    };
  }

  /** Active tickets whose fault stayed clear or whose reopen window may have passed: the sweep's work list. */
  async dueForSweep(tx: SqlRunner, clearedBefore: number, resolvedBefore: number): Promise<TicketRow[]> {
    return tx.query<TicketRow>(
      `SELECT * FROM tickets WHERE active = 1 AND ((fault_cleared_at IS NOT NULL AND fault_cleared_at <= $1 AND status <> 'resolved') OR (status = 'resolved' AND resolved_at <= $2))`,
      [clearedBefore, resolvedBefore],
    );
  }
}

export function toTicket(row: TicketRow): Ticket {
  return {
    id: row.id,
    agentKey: row.agent_key,
    code: row.code,
    deviceId: row.device_key === '' || row.code === 'TEACHER_REPORT' ? null : (JSON.parse(row.device_key) as string),
    schoolId: row.school_id,
    roomId: row.room_id,
    status: row.status,
    category: row.category,
    severity: row.severity,
    severityReasons: JSON.parse(row.severity_reasons) as string[],
    regionId: row.region_id,
    teamId: row.team_id,
    title: row.title,
    description: row.description,
    device: row.device === null ? null : (JSON.parse(row.device) as TicketDevice),
    occurrences: Number(row.occurrences),
    flaps: Number(row.flaps),
    reopens: Number(row.reopens),
    firstOccurrenceAt: iso(row.first_occurrence_at),
    lastOccurrenceAt: iso(row.last_occurrence_at),
    faultClearedAt: isoOrNull(row.fault_cleared_at),
    openedAt: iso(row.opened_at),
    acknowledgedAt: isoOrNull(row.acknowledged_at),
    firstResponseAt: isoOrNull(row.first_response_at),
    resolvedAt: isoOrNull(row.resolved_at),
    closedAt: isoOrNull(row.closed_at),
    onSiteRequestedAt: isoOrNull(row.on_site_requested_at),
    onSiteArrivedAt: isoOrNull(row.on_site_arrived_at),
    agentActions: JSON.parse(row.agent_actions) as AgentAction[],
    resolution: row.resolution === null ? null : (JSON.parse(row.resolution) as ResolutionReport),
    rating: row.rating === null ? null : (JSON.parse(row.rating) as ServiceRating),
    updatedAt: iso(row.updated_at),
  };
}

function iso(ms: number): string {
  return new Date(Number(ms)).toISOString();
}

function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : iso(ms);
}
