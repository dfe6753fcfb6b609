import { AvcareError } from '../../protocol/index.js';

/**
 * One event on its way to one endpoint. The body is serialised once, when the event is queued,
 * so every attempt sends (and signs) the same bytes and a receiver can de-duplicate on `id`.
 */
export interface WebhookDelivery {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: string;
  body: string;
  /** Attempts made so far. */
  attempts: number;
  nextAttemptAt: Date;
  createdAt: Date;
}

export type NewWebhookDelivery = Pick<WebhookDelivery, 'id' | 'endpointId' | 'eventId' | 'eventType' | 'body' | 'createdAt'>;

export interface WebhookFailure {
  at: Date;
  /** Attempts made, this one included. */
  attempts: number;
  /** null: given up (a dead letter, kept for inspection and manual retry). */
  nextAttemptAt: Date | null;
  /** Short and free of secrets: "HTTP 503", "timeout after 10000 ms", ... */
  error: string;
  status?: number;
}

/**
 * The durable queue the deliverer drains; the database backs it, so nothing is lost while a
 * receiver (or the cloud itself) is down. Deliveries are added by whoever records the ticket
 * event, ideally in the same transaction (an outbox), and at most once per (endpointId, eventId):
 * a unique index there makes re-running that transaction harmless.
 *
 * The contract every implementation keeps (MemoryWebhookQueue is the reference, and its tests
 * state it):
 */
export interface WebhookQueue {
  /**
   * Hands out deliveries to attempt now, oldest first (createdAt, then insertion order), at most
   * `limit`, and only for the endpoints named (all endpoints when omitted: a disabled endpoint is
   * left out, so its deliveries wait, in order, until it is enabled again).
   *
   * Order per endpoint: only the endpoint's oldest pending delivery (not delivered, not given up)
   * may be handed out, and only once it is due (nextAttemptAt <= now). So a delivery is never
   * attempted while an older one for its endpoint waits for a retry, and at most one delivery per
   * endpoint is handed out at a time.
   *
   * A claim is a lease: a claimed delivery is not handed out again until it is marked, or until
   * the lease runs out (the process died mid-attempt; it is then attempted again, which
   * at-least-once delivery allows). The lease must be longer than the deliverer's timeout. In SQL:
   * `FOR UPDATE SKIP LOCKED` plus a claimed-until column, so two cloud processes never send the
   * same delivery at once.
   */
  claimDue(now: Date, limit: number, endpointIds?: readonly string[]): Promise<WebhookDelivery[]>;
  /** Counts the attempt; the delivery is never handed out again. */
  markDelivered(id: string, at: Date, status: number): Promise<void>;
  /**
   * Ends the lease; the delivery is due again at nextAttemptAt, or never (given up) when it is
   * null. Ignored for a delivery already delivered (a claimer whose lease ran out may report late).
   */
  markFailed(id: string, failure: WebhookFailure): Promise<void>;
}

export type WebhookDeliveryState = 'pending' | 'delivered' | 'given-up';

/** Everything the queue keeps about a delivery: what an operator inspects. */
export interface WebhookDeliveryRecord extends WebhookDelivery {
  state: WebhookDeliveryState;
  claimedUntil: Date | null;
  lastAttemptAt: Date | null;
  lastStatus: number | null;
  lastError: string | null;
  deliveredAt: Date | null;
}

export interface MemoryWebhookQueueOptions {
  /** How long a claim holds when the claimer never marks it. */
  leaseMs?: number;
}

/**
 * The queue in memory: for tests, and the reference behaviour for the SQL implementation. Every
 * Date goes in and out as a copy, so a caller can never change the queue's state by accident.
 */
export class MemoryWebhookQueue implements WebhookQueue {
  private readonly leaseMs: number;
  /** In insertion order, which breaks ties between equal createdAt. */
  private readonly records: WebhookDeliveryRecord[] = [];

  constructor(options: MemoryWebhookQueueOptions = {}) {
    this.leaseMs = options.leaseMs ?? 5 * 60_000;
  }

  /** Adds deliveries; one already queued for the same endpoint and event is skipped. Returns how many were added. */
  enqueue(deliveries: readonly NewWebhookDelivery[]): Promise<number> {
    let added = 0;
    for (const delivery of deliveries) {
      const exists = this.records.some(
        (record) => record.id === delivery.id || (record.endpointId === delivery.endpointId && record.eventId === delivery.eventId),
      );
      if (exists) continue;
      this.records.push({
        ...delivery,
        createdAt: new Date(delivery.createdAt),
        attempts: 0,
        nextAttemptAt: new Date(delivery.createdAt),
        state: 'pending',
        claimedUntil: null,
        lastAttemptAt: null,
        lastStatus: null,
        lastError: null,
        deliveredAt: null,
      });
      added += 1;
    }
    return Promise.resolve(added);
  }

  claimDue(now: Date, limit: number, endpointIds?: readonly string[]): Promise<WebhookDelivery[]> {
    const wanted = endpointIds === undefined ? undefined : new Set(endpointIds);
    const heads = new Map<string, WebhookDeliveryRecord>();
    for (const record of this.ordered()) {
      if (record.state === 'pending' && !heads.has(record.endpointId)) heads.set(record.endpointId, record);
    }
    const claimed = [...heads.values()]
      .filter((head) => wanted === undefined || wanted.has(head.endpointId))
      .filter((head) => head.nextAttemptAt <= now && (head.claimedUntil === null || head.claimedUntil <= now))
      .slice(0, Math.max(0, limit));
    for (const record of claimed) record.claimedUntil = new Date(now.getTime() + this.leaseMs);
    return Promise.resolve(claimed.map(toDelivery));
  }

  markDelivered(id: string, at: Date, status: number): Promise<void> {
    const record = this.records.find((candidate) => candidate.id === id);
    if (record === undefined) return Promise.reject(unknownDelivery(id));
    record.state = 'delivered';
    record.attempts += 1;
    record.claimedUntil = null;
    record.lastAttemptAt = new Date(at);
    record.lastStatus = status;
    record.lastError = null;
    record.deliveredAt = new Date(at);
    return Promise.resolve();
  }

  markFailed(id: string, failure: WebhookFailure): Promise<void> {
    const record = this.records.find((candidate) => candidate.id === id);
    if (record === undefined) return Promise.reject(unknownDelivery(id));
    if (record.state === 'delivered') return Promise.resolve();
    record.attempts = failure.attempts;
    record.claimedUntil = null;
    record.lastAttemptAt = new Date(failure.at);
    record.lastStatus = failure.status ?? null;
    record.lastError = failure.error;
    if (failure.nextAttemptAt === null) record.state = 'given-up';
    else record.nextAttemptAt = new Date(failure.nextAttemptAt);
    return Promise.resolve();
  }

  /**
   * The operator's manual retry of a dead letter: due at once with a fresh budget of attempts. It
   * keeps its createdAt, so it goes before its endpoint's other pending deliveries, but after the
   * newer ones delivered while it was dead: a dead letter has lost its place in the order.
   */
  retryGivenUp(id: string, now: Date): Promise<void> {
    const record = this.records.find((candidate) => candidate.id === id);
    if (record === undefined) return Promise.reject(unknownDelivery(id));
    if (record.state !== 'given-up') {
      return Promise.reject(new AvcareError('INVALID_ARGUMENT', `webhook delivery ${id} is ${record.state}, not given up: only a dead letter can be retried`, { id }));
    }
    record.state = 'pending';
    record.attempts = 0;
    record.nextAttemptAt = new Date(now);
    return Promise.resolve();
  }

  get(id: string): WebhookDeliveryRecord | undefined {
    const record = this.records.find((candidate) => candidate.id === id);
    return record === undefined ? undefined : copyRecord(record);
  }

  list(): WebhookDeliveryRecord[] {
    return this.records.map(copyRecord);
  }

  private ordered(): WebhookDeliveryRecord[] {
    // Array.prototype.sort is stable: equal createdAt keep insertion order.
    return [...this.records].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime());
  }
}

/** The deliverer marks only what it claimed: an unknown id is a bug, not a state to tolerate. */
function unknownDelivery(id: string): Error {
  return new Error(`no webhook delivery ${id}`);
}

function toDelivery(record: WebhookDeliveryRecord): WebhookDelivery {
  return {
    id: record.id,
    endpointId: record.endpointId,
    eventId: record.eventId,
    eventType: record.eventType,
    body: record.body,
    attempts: record.attempts,
    nextAttemptAt: new Date(record.nextAttemptAt),
    createdAt: new Date(record.createdAt),
  };
}

function copyRecord(record: WebhookDeliveryRecord): WebhookDeliveryRecord {
  const copyDate = (date: Date | null): Date | null => (date === null ? null : new Date(date));
  return {
    ...toDelivery(record),
    state: record.state,
    claimedUntil: copyDate(record.claimedUntil),
    lastAttemptAt: copyDate(record.lastAttemptAt),
    lastStatus: record.lastStatus,
    lastError: record.lastError,
    deliveredAt: copyDate(record.deliveredAt),
  };
}
