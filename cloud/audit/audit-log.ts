import { createHash } from 'node:crypto';
import type { Dialect, SqlParam, SqlRunner } from '../store/dialect.js';

export const AUDIT_OUTCOMES = ['success', 'failure', 'denied'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** The hash before the first entry (and the base of an empty chain). */
export const GENESIS_HASH = '0'.repeat(64);

/**
 * One security-relevant act. `actor` is who did it (`user:NAME`, `agent:SCHOOL:AGENT`, `system`,
 * `local:OS-USER` for a command run on the server); `action` a stable dotted name
 * (`auth.login`, `agent.enroll`, `ticket.ack`); `target` what it was done to.
 */
export interface AuditEvent {
  actor: string;
  action: string;
  target?: string | null;
  outcome: AuditOutcome;
  /** The network address the act came from. */
  source?: string | null;
  /** The school it concerns, so that school's admin can read it. */
  schoolId?: string | null;
  detail?: Record<string, unknown>;
}

export interface AuditEntry {
  seq: number;
  at: string;
  actor: string;
  action: string;
  target: string | null;
  outcome: AuditOutcome;
  source: string | null;
  schoolId: string | null;
  detail: Record<string, unknown>;
  prevHash: string;
  hash: string;
}

/** An entry as stored: detail is the JSON text that was hashed, so verification needs no canonical form. */
export interface AuditRow {
  seq: number;
  at: number;
  actor: string;
  action: string;
  target: string | null;
  outcome: string;
  source: string | null;
  school_id: string | null;
  detail: string;
  prev_hash: string;
  hash: string;
}

export const AUDIT_COLUMNS = 'seq, at, actor, action, target, outcome, source, school_id, detail, prev_hash, hash';

/** SHA-256 over every stored field and the previous entry's hash: changing any of them breaks the link to the next. */
export function entryHash(row: Omit<AuditRow, 'hash'>): string {
  const fields = [row.seq, row.at, row.actor, row.action, row.target, row.outcome, row.source, row.school_id, row.detail, row.prev_hash];
  return createHash('sha256').update(JSON.stringify(fields), 'utf8').digest('hex');
}

export function toAuditEntry(row: AuditRow): AuditEntry {
  let detail: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(row.detail);
    detail = typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : { value: parsed };
  } catch {
    // A tampered entry may hold anything; `audit verify` says so, reading it must not fail.
    detail = { unparsable: row.detail.slice(0, 200) };
  }
  return {
    seq: Number(row.seq),
    at: new Date(Number(row.at)).toISOString(),
    actor: row.actor,
    action: row.action,
    target: row.target,
    outcome: row.outcome as AuditOutcome,
    source: row.source,
    schoolId: row.school_id,
    detail,
    prevHash: row.prev_hash,
    hash: row.hash,
  };
}

export interface AuditQuery {
  /** Only entries of these schools (a school admin's view); undefined for all. */
  schoolIds?: readonly string[];
  since?: Date;
  afterSeq?: number;
  action?: string;
  limit?: number;
}

/**
 * The append-only audit log. Each entry carries the hash of the one before; appends take the
 * chain's head row under lock (PostgreSQL FOR UPDATE, SQLite's write lock), so two cloud
 * processes on one database never fork the chain. Nothing here updates or deletes an entry; only
 * retention (audit-prune.ts) removes the oldest, under a signed record of what it removed.
 */
export class AuditLog {
  constructor(
    private readonly db: Dialect,
    private readonly now: () => Date = () => new Date(),
  ) {}

  get database(): Dialect {
    return this.db;
  }

  /** Appends in its own transaction. */
  append(event: AuditEvent): Promise<AuditEntry> {
    return this.db.transaction((tx) => this.appendIn(tx, event));
  }

  /** Appends inside the caller's transaction, so the act and its record commit (or roll back) together. */
  async appendIn(tx: SqlRunner, event: AuditEvent): Promise<AuditEntry> {
    const [head] = await tx.query<{ head_seq: number; head_hash: string }>(`SELECT head_seq, head_hash FROM audit_chain WHERE id = 1${this.db.forUpdate}`);
    if (!head) throw new Error('the audit chain has no head row: the database was not migrated');
    const row: Omit<AuditRow, 'hash'> = {
      seq: Number(head.head_seq) + 1,
      at: this.now().getTime(),
      actor: event.actor,
      action: event.action,
      target: event.target ?? null,
      outcome: event.outcome,
      source: event.source ?? null,
      school_id: event.schoolId ?? null,
      detail: JSON.stringify(event.detail ?? {}),
      prev_hash: head.head_hash,
    };
    const hash = entryHash(row);
    await tx.execute(
      `INSERT INTO audit_log (${AUDIT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
      [row.seq, row.at, row.actor, row.action, row.target, row.outcome, row.source, row.school_id, row.detail, row.prev_hash, hash],
    );
    await tx.execute('UPDATE audit_chain SET head_seq = $1, head_hash = $2 WHERE id = 1', [row.seq, hash]);
    return toAuditEntry({ ...row, hash });
  }

  async head(): Promise<{ seq: number; hash: string; baseSeq: number; baseHash: string }> {
    const [row] = await this.db.query<{ head_seq: number; head_hash: string; base_seq: number; base_hash: string }>('SELECT head_seq, head_hash, base_seq, base_hash FROM audit_chain WHERE id = 1');
    if (!row) throw new Error('the audit chain has no head row: the database was not migrated');
    return { seq: Number(row.head_seq), hash: row.head_hash, baseSeq: Number(row.base_seq), baseHash: row.base_hash };
  }

  /** Entries in seq order, newest last. */
  async list(query: AuditQuery = {}): Promise<AuditEntry[]> {
    const where: string[] = [];
    const params: SqlParam[] = [];
    const param = (value: string | number): string => {
      params.push(value);
      return `$${params.length}`;
    };
    if (query.schoolIds !== undefined) {
      params.push(this.db.textList(query.schoolIds));
      where.push(this.db.inTextList('school_id', params.length));
    }
    if (query.since !== undefined) where.push(`at >= ${param(query.since.getTime())}`);
    if (query.afterSeq !== undefined) where.push(`seq > ${param(query.afterSeq)}`);
    if (query.action !== undefined) where.push(`action = ${param(query.action)}`);
    const limit = Math.min(Math.max(query.limit ?? 1000, 1), 10_000);
    const sql = `SELECT ${AUDIT_COLUMNS} FROM audit_log ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq LIMIT ${limit}`;
    const rows = await this.db.query<AuditRow>(sql, params);
    return rows.map(toAuditEntry);
  }

  /** Raw rows from a seq on, for verification and export (pages of `limit`). */
  rowsAfter(seq: number, limit: number): Promise<AuditRow[]> {
    return this.db.query<AuditRow>(`SELECT ${AUDIT_COLUMNS} FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT ${Math.max(1, Math.floor(limit))}`, [seq]);
  }

  /** The seq of the first entry written at or after `since`; undefined when there is none. */
  async firstSeqSince(since: Date): Promise<number | undefined> {
    const [row] = await this.db.query<{ seq: number | null }>('SELECT MIN(seq) AS seq FROM audit_log WHERE at >= $1', [since.getTime()]);
    return row?.seq === null || row?.seq === undefined ? undefined : Number(row.seq);
  }
}
