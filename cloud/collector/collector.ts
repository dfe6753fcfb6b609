import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import { AvcareError, parseTopic, untrustedText } from '../../protocol/index.js';
import type { CloudMetrics } from '../metrics.js';
import type { AcceptedEvent, IngestResult, Store } from '../store/store.js';
import { gateMessage, type MessageSender } from './message-gate.js';
import { RateLimitedLog } from './rate-limited-log.js';

/**
 * - stored: committed in a batch that wrote new rows (in a batch mixing new and repeated events
 *   the store reports only counts, so each event of it reads "stored");
 * - duplicate: its eventId was stored before (at-least-once delivery resent it);
 * - rejected: malformed or hostile, counted and dropped.
 */
export type AcceptOutcome = 'stored' | 'duplicate' | 'rejected';

export interface CollectorOptions {
  store: Store;
  metrics: CloudMetrics;
  log: Logger;
  /** A batch is written as soon as it holds this many events. */
  maxBatch?: number;
  /** ... or this long after its first event arrived when no batch is being written (0, the default: on the next turn of the event loop). */
  maxDelayMs?: number;
  /**
   * Batches start at most this often unless one is full (default 0: no pacing). Under load a
   * pause of a few ms lets the next socket reads join the batch: the commit's fixed cost (BEGIN,
   * the WAL write of every touched page, the agents upsert) is then shared by hundreds of events
   * instead of the ~20 one read carries. Idle, it adds at most this much latency. The broker's
   * window of unacknowledged messages must exceed maxBatch or the pause caps the rate
   * (window / interval): the MQTT feed asks for 1,000.
   */
  minCommitIntervalMs?: number;
  maxPayloadBytes?: number;
  /** Waits between attempts while the database refuses a batch: doubling from the first to the last. */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** agentsOnline is recounted at most this often. */
  agentsOnlineIntervalMs?: number;
  /** Interval of the rate-limited log lines (rejects, database failures). */
  logIntervalMs?: number;
  /**
   * Batches written at once (default 1). PostgreSQL gains from 2: one batch is parsed and sent
   * while the server commits the other. The store is safe with concurrent batches (rows locked in
   * key order, newest-wins upserts), as it is with two collector processes.
   */
  maxConcurrentBatches?: number;
  /** Told after each committed batch what it changed (the ticket engine follows up). Must not throw. */
  onCommitted?: (result: IngestResult) => void;
}

interface Pending {
  event: AcceptedEvent;
  resolve(outcome: 'stored' | 'duplicate'): void;
  reject(error: Error): void;
  done: Promise<unknown>;
}

/**
 * Gates every MQTT message, writes accepted ones to the store in batches, and resolves each
 * `accept` only once its batch is committed, so the caller acknowledges (PUBACK) only what is
 * safe on disk: a crash anywhere before that makes the broker or the agent send it again, and the
 * store's de-duplication by eventId turns that into exactly one row.
 */
export class Collector {
  private readonly store: Store;
  private readonly metrics: CloudMetrics;
  private readonly log: Logger;
  private readonly limitedLog: RateLimitedLog;
  private readonly maxBatch: number;
  private readonly maxDelayMs: number;
  private readonly minCommitIntervalMs: number;
  private readonly maxPayloadBytes: number;
  private readonly retryInitialMs: number;
  private readonly retryMaxMs: number;
  private readonly agentsOnlineIntervalMs: number;
  private readonly onCommitted: ((result: IngestResult) => void) | undefined;

  private queue: Pending[] = [];
  private batchTimer: NodeJS.Timeout | undefined;
  /** The queue is to be written as soon as the batch in flight is done. */
  private due = false;
  private readonly writing = new Set<Promise<void>>();
  private readonly maxConcurrentBatches: number;
  private closing = false;
  private lastBatchStartedAt = Number.NEGATIVE_INFINITY;
  private wakeRetry: (() => void) | undefined;

  private agentsOnlineTimer: NodeJS.Timeout | undefined;
  private agentsOnlineRefreshedAt = Number.NEGATIVE_INFINITY;
  private agentsOnlineRefresh: Promise<void> | undefined;

  constructor(options: CollectorOptions) {
    this.store = options.store;
    this.metrics = options.metrics;
    this.log = options.log.child({ module: 'collector' });
    this.limitedLog = new RateLimitedLog(this.log, options.logIntervalMs === undefined ? {} : { intervalMs: options.logIntervalMs });
    this.maxBatch = options.maxBatch ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 0;
    this.minCommitIntervalMs = options.minCommitIntervalMs ?? 0;
    this.maxPayloadBytes = options.maxPayloadBytes ?? 256 * 1024;
    this.retryInitialMs = options.retryInitialMs ?? 100;
    this.retryMaxMs = options.retryMaxMs ?? 5_000;
    this.agentsOnlineIntervalMs = options.agentsOnlineIntervalMs ?? 1_000;
    this.onCommitted = options.onCommitted;
    this.maxConcurrentBatches = options.maxConcurrentBatches ?? 1;
  }

  /**
   * Resolves 'rejected' at once for a bad message (acknowledge it: resending cannot fix it), and
   * otherwise only after the batch holding the message is committed. While the database is down
   * it does not resolve at all. Rejects only when the collector is closed or gave up at shutdown:
   * then the message must not be acknowledged.
   */
  accept(topic: string, payload: Buffer, sender?: MessageSender): Promise<AcceptOutcome> {
    if (this.closing) {
      return Promise.reject(new AvcareError('COLLECTOR_CLOSED', 'the collector is closed: the message was not stored and must not be acknowledged', { topic: untrustedText(topic, 128) }));
    }
    const gate = gateMessage(topic, payload, this.maxPayloadBytes, sender);
    if (!gate.ok) {
      this.metrics.messagesIn.inc({ kind: parseTopic(topic)?.kind ?? 'unknown' });
      this.metrics.rejected.inc({ reason: gate.reason });
      this.limitedLog.warn(
        `rejected:${gate.reason}`,
        { reason: gate.reason, topic: untrustedText(topic, 128) ?? '(empty)', size: payload.length, detail: gate.detail.slice(0, 200) },
        'dropped a malformed or hostile message',
      );
      return Promise.resolve('rejected');
    }
    this.metrics.messagesIn.inc({ kind: gate.message.type });
    let resolve!: Pending['resolve'];
    let reject!: Pending['reject'];
    const outcome = new Promise<'stored' | 'duplicate'>((resolveOutcome, rejectOutcome) => {
      resolve = resolveOutcome;
      reject = rejectOutcome;
    });
    // `done` never rejects, so flush() can wait on it without an unhandled rejection.
    const done = outcome.then(
      () => undefined,
      () => undefined,
    );
    this.enqueue({ event: { message: gate.message, receivedAt: new Date() }, resolve, reject, done });
    return outcome;
  }

  /** Writes everything accepted so far and resolves when it is committed (or given up at shutdown). */
  async flush(): Promise<void> {
    const waiting = this.queue.map((pending) => pending.done);
    if (this.queue.length > 0) this.markDue();
    await Promise.all([...waiting, ...this.writing]);
  }

  /**
   * Stops taking messages, writes what is queued, then stops. If the database fails during the
   * close, the unwritten messages are given up (their accept rejects, so they were never
   * acknowledged and will be sent again) instead of holding the shutdown forever.
   */
  async close(): Promise<void> {
    if (this.closing) return this.flush();
    this.closing = true;
    this.wakeRetry?.();
    await this.flush();
    clearTimeout(this.batchTimer);
    clearTimeout(this.agentsOnlineTimer);
    this.agentsOnlineTimer = undefined;
    await this.agentsOnlineRefresh;
  }

  private enqueue(pending: Pending): void {
    this.queue.push(pending);
    if (this.queue.length >= this.maxBatch) this.markDue();
    // Group commit: with no write under way, the batch goes out after this turn of the event loop
    // (gathering everything one socket read delivered); during a write, messages wait for it and
    // go right after. A fixed delay would cap throughput at (broker in-flight limit / delay):
    // Mosquitto sends a subscriber at most max_inflight_messages (20 by default) unacknowledged.
    else if (this.writing.size >= this.maxConcurrentBatches) return;
    else this.scheduleBatch();
  }

  private scheduleBatch(): void {
    if (this.due || this.batchTimer) return;
    const paced = this.lastBatchStartedAt + this.minCommitIntervalMs - performance.now();
    this.batchTimer = setTimeout(() => this.markDue(), Math.max(this.maxDelayMs, paced));
  }

  private markDue(): void {
    clearTimeout(this.batchTimer);
    this.batchTimer = undefined;
    this.due = true;
    this.startNextBatch();
  }

  /** At most maxConcurrentBatches in flight; the next one fills meanwhile. */
  private startNextBatch(): void {
    if (this.writing.size >= this.maxConcurrentBatches || !this.due) return;
    const batch = this.queue.splice(0, this.maxBatch);
    // What is left has waited a whole write already: it goes right after this batch.
    this.due = this.queue.length > 0;
    if (batch.length === 0) return;
    this.lastBatchStartedAt = performance.now();
    const writing: Promise<void> = this.write(batch).finally(() => {
      this.writing.delete(writing);
      // What arrived during the write has waited a whole write already: it goes now (also when the
      // write outlasted the pacing interval), or once that interval since this batch started has passed.
      if (this.queue.length === 0) return;
      if (this.queue.length >= this.maxBatch || performance.now() >= this.lastBatchStartedAt + this.minCommitIntervalMs) this.markDue();
      else this.scheduleBatch();
    });
    this.writing.add(writing);
    // A free slot takes what is due at once (a second batch while the first commits).
    if (this.due) this.startNextBatch();
  }

  private async write(batch: Pending[]): Promise<void> {
    const { unique, repeated } = splitRepeatedEvents(batch);
    const events = unique.map((pending) => pending.event);
    let failures = 0;
    for (;;) {
      const started = performance.now();
      let result: IngestResult;
      try {
        result = await this.store.ingest(events);
      } catch (error) {
        failures += 1;
        if (this.closing) {
          this.giveUp(batch, error);
          return;
        }
        const waitMs = Math.min(this.retryMaxMs, this.retryInitialMs * 2 ** Math.min(failures - 1, 20));
        this.limitedLog.error('database-write', { err: error, events: events.length, failures, retryInMs: waitMs }, 'writing a batch failed; nothing is acknowledged, retrying');
        await this.sleepUnlessClosing(waitMs);
        continue;
      }
      this.metrics.writeLatency.observe((performance.now() - started) / 1000);
      this.metrics.batchSize.observe(batch.length);
      this.metrics.stored.inc(result.stored);
      this.metrics.duplicates.inc(result.duplicates + repeated.length);
      if (failures > 0) this.log.info({ failures }, 'writing batches works again');
      const outcome = result.stored === 0 && events.length > 0 ? 'duplicate' : 'stored';
      for (const pending of unique) pending.resolve(outcome);
      for (const pending of repeated) pending.resolve('duplicate');
      if (events.some((event) => event.message.type === 'status')) this.requestAgentsOnlineRefresh();
      if (result.stored > 0) this.onCommitted?.(result);
      return;
    }
  }

  private giveUp(batch: Pending[], error: unknown): void {
    this.log.error({ err: error, events: batch.length }, 'writing a batch failed at shutdown; its messages were not acknowledged and will be sent again');
    const reason = new AvcareError('COLLECTOR_CLOSED', 'the collector closed before the message could be stored', {}, { cause: error });
    for (const pending of batch) pending.reject(reason);
  }

  private sleepUnlessClosing(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = setTimeout(wake, ms);
      this.wakeRetry = wake;
      function wake(): void {
        clearTimeout(timer);
        resolve();
      }
    }).finally(() => {
      this.wakeRetry = undefined;
    });
  }

  /** Leading edge at once, then at most once per interval, with a trailing refresh so the gauge ends right. */
  private requestAgentsOnlineRefresh(): void {
    if (this.agentsOnlineTimer || this.closing) return;
    const waitMs = Math.max(0, this.agentsOnlineRefreshedAt + this.agentsOnlineIntervalMs - Date.now());
    this.agentsOnlineTimer = setTimeout(() => {
      this.agentsOnlineTimer = undefined;
      this.agentsOnlineRefreshedAt = Date.now();
      const refresh = this.refreshAgentsOnline();
      this.agentsOnlineRefresh = refresh;
      void refresh.finally(() => {
        if (this.agentsOnlineRefresh === refresh) this.agentsOnlineRefresh = undefined;
      });
    }, waitMs);
  }

  private async refreshAgentsOnline(): Promise<void> {
    try {
      const online = await this.store.listAgents({ state: 'online' });
      this.metrics.agentsOnline.set(online.length);
    } catch (error) {
      this.limitedLog.warn('agents-online', { err: error }, 'counting online agents failed; the gauge keeps its last value');
    }
  }
}

/** The same eventId twice in one batch (a resend that caught up with the original) is written once. */
function splitRepeatedEvents(batch: Pending[]): { unique: Pending[]; repeated: Pending[] } {
  const seen = new Set<string>();
  const unique: Pending[] = [];
  const repeated: Pending[] = [];
  for (const pending of batch) {
    const id = pending.event.message.eventId;
    if (seen.has(id)) repeated.push(pending);
    else {
      seen.add(id);
      unique.push(pending);
    }
  }
  return { unique, repeated };
}
