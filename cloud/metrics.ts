import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type RejectReason = 'bad-json' | 'schema' | 'version' | 'oversize' | 'unknown-topic' | 'topic-mismatch' | 'sender-mismatch';

/** Prometheus metrics of one cloud process; a registry per instance so tests do not share counters. */
export class CloudMetrics {
  readonly registry = new Registry();
  readonly messagesIn = new Counter({ name: 'avcare_messages_in_total', help: 'MQTT messages received by the collector', labelNames: ['kind'] as const, registers: [this.registry] });
  readonly rejected = new Counter({ name: 'avcare_messages_rejected_total', help: 'Messages dropped as malformed or hostile, by reason', labelNames: ['reason'] as const, registers: [this.registry] });
  readonly duplicates = new Counter({ name: 'avcare_messages_duplicate_total', help: 'Messages whose event id was already stored', registers: [this.registry] });
  readonly stored = new Counter({ name: 'avcare_events_stored_total', help: 'Events written to the database', registers: [this.registry] });
  readonly writeLatency = new Histogram({
    name: 'avcare_write_batch_seconds',
    help: 'Time to write one batch to the database',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({ name: 'avcare_write_batch_size', help: 'Events per database batch', buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000], registers: [this.registry] });
  readonly brokerRefused = new Counter({
    name: 'avcare_broker_refused_total',
    help: 'Connections, publishes and subscriptions the embedded broker refused, by what and why',
    labelNames: ['what', 'reason'] as const,
    registers: [this.registry],
  });
  readonly loginsThrottled = new Counter({ name: 'avcare_logins_throttled_total', help: 'Sign-ins refused by the rate limit, by account or address', labelNames: ['by'] as const, registers: [this.registry] });
  readonly auditHeldBack = new Counter({ name: 'avcare_audit_held_back_total', help: 'Audit entries caused by outside parties counted into a summary entry instead of written one by one, by action', labelNames: ['action'] as const, registers: [this.registry] });
  readonly agentsOnline = new Gauge({ name: 'avcare_agents_online', help: 'Agents whose last status is online', registers: [this.registry] });

  constructor() {
    // RejectReason values are pre-set so a dashboard sees zeros rather than missing series.
    for (const reason of ['bad-json', 'schema', 'version', 'oversize', 'unknown-topic', 'topic-mismatch', 'sender-mismatch'] satisfies RejectReason[]) this.rejected.inc({ reason }, 0);
  }
}
