import type { Dialect, SqlRunner } from '../store/dialect.js';
import type { NewWebhookDelivery, WebhookDelivery, WebhookFailure, WebhookQueue } from './webhook-queue.js';

interface DeliveryRowData {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  body: string;
  attempts: number;
  next_attempt_at: number;
  created_at: number;
}

export interface SqlWebhookQueueOptions {
  db: Dialect;
  /** Longer than the deliverer's timeout: a claim older than this belongs to a process that died. */
  leaseMs?: number;
}

/**
 * The webhook queue in the cloud's database (SQLite or PostgreSQL), the contract of WebhookQueue:
 * per endpoint only the oldest pending delivery is handed out, claims are leases, and a delivery
 * exists at most once per (endpoint, event). Ticket events are queued by `enqueue` inside the
 * transaction that records them, so an event is queued exactly when it happened.
 */
export class SqlWebhookQueue implements WebhookQueue {
  private readonly db: Dialect;
  private readonly leaseMs: number;

  constructor(options: SqlWebhookQueueOptions) {
    this.db = options.db;
    this.leaseMs = options.leaseMs ?? 300_000;
  }

  /** Within the caller's transaction; a repeat of (endpoint, event) is skipped. */
  async enqueue(tx: SqlRunner, deliveries: readonly NewWebhookDelivery[]): Promise<void> {
    for (const delivery of deliveries) {
      const createdAt = delivery.createdAt.getTime();
      await tx.execute(
        `INSERT INTO webhook_deliveries (id, endpoint_id, event_id, event_type, body, state, attempts, next_attempt_at, created_at)
         VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6) ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
        [delivery.id, delivery.endpointId, delivery.eventId, delivery.eventType, delivery.body, createdAt],
      );
    }
  }

  async claimDue(now: Date, limit: number, endpointIds?: readonly string[]): Promise<WebhookDelivery[]> {
    if (endpointIds?.length === 0) return [];
    const at = now.getTime();
    return this.db.transaction(async (tx) => {
      const params: (string | number)[] = [at, limit];
      let endpointFilter = '';
      if (endpointIds !== undefined) {
        params.push(this.db.textList(endpointIds) as string);
        endpointFilter = ` AND ${this.db.inTextList('d.endpoint_id', params.length)}`;
      }
      // The oldest pending delivery of each endpoint, if it is due and not leased to another attempt.
      const rows = await tx.query<DeliveryRowData>(
        `SELECT d.id, d.endpoint_id, d.event_id, d.event_type, d.body, d.attempts, d.next_attempt_at, d.created_at
         FROM webhook_deliveries d
         WHERE d.state = 'pending'${endpointFilter}
           AND d.next_attempt_at <= $1 AND (d.claimed_until IS NULL OR d.claimed_until <= $1)
           AND NOT EXISTS (SELECT 1 FROM webhook_deliveries o WHERE o.endpoint_id = d.endpoint_id AND o.state = 'pending'
                           AND (o.created_at < d.created_at OR (o.created_at = d.created_at AND o.event_id < d.event_id)))
         ORDER BY d.created_at, d.event_id LIMIT $2${this.db.forUpdate}`,
        params,
      );
      for (const row of rows) await tx.execute('UPDATE webhook_deliveries SET claimed_until = $1 WHERE id = $2', [at + this.leaseMs, row.id]);
      return rows.map((row) => ({
        id: row.id,
        endpointId: row.endpoint_id,
        eventId: row.event_id,
        eventType: row.event_type,
        body: row.body,
        attempts: Number(row.attempts),
        nextAttemptAt: new Date(Number(row.next_attempt_at)),
        createdAt: new Date(Number(row.created_at)),
      }));
    });
  }

  async markDelivered(id: string, at: Date, status: number): Promise<void> {
    await this.db.execute(
      `UPDATE webhook_deliveries SET state = 'delivered', attempts = attempts + 1, claimed_until = NULL, last_attempt_at = $1, last_status = $2, last_error = NULL, delivered_at = $1 WHERE id = $3`,
      [at.getTime(), status, id],
    );
  }

  async markFailed(id: string, failure: WebhookFailure): Promise<void> {
    await this.db.execute(
      `UPDATE webhook_deliveries SET state = $1, attempts = $2, next_attempt_at = $3, claimed_until = NULL, last_attempt_at = $4, last_status = $5, last_error = $6
       WHERE id = $7 AND state <> 'delivered'`,
      [
        failure.nextAttemptAt === null ? 'given-up' : 'pending',
        failure.attempts,
        failure.nextAttemptAt?.getTime() ?? failure.at.getTime(),
        failure.at.getTime(),
        failure.status ?? null,
        failure.error,
        id,
      ],
    );
  }

  /** Counts by state, for /metrics and the operator. */
  async counts(): Promise<Record<'pending' | 'delivered' | 'given-up', number>> {
    const rows = await this.db.query<{ state: 'pending' | 'delivered' | 'given-up'; n: number }>('SELECT state, COUNT(*) AS n FROM webhook_deliveries GROUP BY state');
    const counts = { pending: 0, delivered: 0, 'given-up': 0 };
    for (const row of rows) counts[row.state] = Number(row.n);
    return counts;
  }
}
