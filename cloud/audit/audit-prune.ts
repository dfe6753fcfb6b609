import { z } from 'zod';
import type { CloudSigningKey } from '../identity/signing-key.js';
import type { Dialect } from '../store/dialect.js';
import type { AuditLog } from './audit-log.js';

/** The audit log is kept at least this long: a prune of younger entries is refused by verification. */
export const AUDIT_MIN_RETENTION_DAYS = 365;

const DAY_MS = 86_400_000;

/**
 * A retention prune as the cloud signed it: "entries up to #baseSeq (the last written at
 * lastRemovedAt, before `before`) were removed; the removal is entry #entrySeq". The chain's base
 * (where verification starts) may only be where such a record says; the database's base row alone
 * is not believed, since whoever can write the database can move it past entries they deleted.
 */
export interface AuditPruneRecord {
  baseSeq: number;
  baseHash: string;
  lastRemovedAt: string;
  before: string;
  /** The `audit.prune` entry that recorded the removal: the chain must reach at least it. */
  entrySeq: number;
  at: string;
  keyId: string;
  signature: string;
}

/** A prune record as a line of the anchors file (besides the heads, which have no `type`). */
export const auditPruneLineSchema = z.strictObject({
  type: z.literal('prune'),
  baseSeq: z.number().int().min(1),
  baseHash: z.string().regex(/^[0-9a-f]{64}$/),
  lastRemovedAt: z.iso.datetime(),
  before: z.iso.datetime(),
  entrySeq: z.number().int().min(2),
  at: z.iso.datetime(),
  keyId: z.string(),
  signature: z.string(),
});

/** The exact bytes a prune record's signature covers. */
export function pruneStatement(record: Omit<AuditPruneRecord, 'keyId' | 'signature'>): string {
  return `avcare-audit-prune:v1:${record.baseSeq}:${record.baseHash}:${record.lastRemovedAt}:${record.before}:${record.entrySeq}:${record.at}`;
}

export interface AuditPrunerOptions {
  audit: AuditLog;
  key: Pick<CloudSigningKey, 'sign' | 'keyId'>;
  /** Where the record goes besides the database (the anchors file), and the head recorded after it. */
  anchors?: { keepPrune(record: AuditPruneRecord): void; record(): Promise<unknown> };
  now?: () => Date;
}

/**
 * Retention of the audit log: removes entries written before a time, moves the chain's base to the
 * last one removed, and records that as a signed prune record (database and anchors file) and as an
 * `audit.prune` entry, all in one transaction with the removal; then the new head is anchored.
 */
export class AuditPruner {
  private readonly now: () => Date;

  constructor(private readonly options: AuditPrunerOptions) {
    this.now = options.now ?? (() => new Date());
  }

  async prune(before: Date, actor = 'system'): Promise<{ removed: number; record?: AuditPruneRecord }> {
    const { audit, key } = this.options;
    const db = audit.database;
    const outcome = await db.transaction(async (tx) => {
      const [last] = await tx.query<{ seq: number; hash: string; at: number }>('SELECT seq, hash, at FROM audit_log WHERE at < $1 ORDER BY seq DESC LIMIT 1', [before.getTime()]);
      if (!last) return { removed: 0 };
      // The head row is locked first, as by every append, so the two never interleave.
      await tx.query(`SELECT head_seq FROM audit_chain WHERE id = 1${db.forUpdate}`);
      const baseSeq = Number(last.seq);
      const removed = await tx.execute('DELETE FROM audit_log WHERE seq <= $1', [baseSeq]);
      await tx.execute('UPDATE audit_chain SET base_seq = $1, base_hash = $2 WHERE id = 1', [baseSeq, last.hash]);
      await tx.execute('DELETE FROM audit_anchors WHERE seq <= $1', [baseSeq]);
      const entry = await audit.appendIn(tx, { actor, action: 'audit.prune', outcome: 'success', detail: { removedEntries: removed, upToSeq: baseSeq, before: before.toISOString() } });
      const unsigned = { baseSeq, baseHash: last.hash, lastRemovedAt: new Date(Number(last.at)).toISOString(), before: before.toISOString(), entrySeq: entry.seq, at: this.now().toISOString() };
      const record: AuditPruneRecord = { ...unsigned, keyId: key.keyId, signature: key.sign(pruneStatement(unsigned)) };
      await tx.execute('INSERT INTO audit_prunes (base_seq, base_hash, last_removed_at, before_at, entry_seq, at, key_id, signature) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        record.baseSeq,
        record.baseHash,
        Date.parse(record.lastRemovedAt),
        before.getTime(),
        record.entrySeq,
        Date.parse(record.at),
        record.keyId,
        record.signature,
      ]);
      return { removed, record };
    });
    if (outcome.record) {
      this.options.anchors?.keepPrune(outcome.record);
      await this.options.anchors?.record();
    }
    return outcome;
  }
}

/** Whether a prune removed entries younger than the retention period allows (a signed record cannot be altered, but a cloud misconfigured or run with a wrong clock can do this). */
export function prunedTooEarly(record: Pick<AuditPruneRecord, 'lastRemovedAt' | 'at'>, minRetentionDays: number): boolean {
  return Date.parse(record.lastRemovedAt) > Date.parse(record.at) - minRetentionDays * DAY_MS;
}

export async function prunesInDatabase(db: Dialect): Promise<AuditPruneRecord[]> {
  const rows = await db.query<{ base_seq: number; base_hash: string; last_removed_at: number; before_at: number; entry_seq: number; at: number; key_id: string; signature: string }>(
    'SELECT base_seq, base_hash, last_removed_at, before_at, entry_seq, at, key_id, signature FROM audit_prunes ORDER BY base_seq',
  );
  return rows.map((row) => ({
    baseSeq: Number(row.base_seq),
    baseHash: row.base_hash,
    lastRemovedAt: new Date(Number(row.last_removed_at)).toISOString(),
    before: new Date(Number(row.before_at)).toISOString(),
    entrySeq: Number(row.entry_seq),
    at: new Date(Number(row.at)).toISOString(),
    keyId: row.key_id,
    signature: row.signature,
  }));
}
