import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { payloadOf, SENDER, topicOf, validMessage } from '../../test/collector/agent-traffic.js';
import { CloudMetrics } from '../metrics.js';
import type { AcceptedEvent, AgentSummary, IngestResult, Store } from '../store/store.js';
import { Collector, type CollectorOptions } from './collector.js';

/**
 * An in-memory Store for the collector's own logic (batching, ordering, retries). Everything
 * that touches a real database is in test/collector/, against the real store.
 */
class MemoryStore implements Store {
  readonly dialect = 'sqlite' as const;
  readonly batches: string[][] = [];
  readonly eventIds = new Set<string>();
  failuresLeft = 0;
  inFlight = 0;
  maxInFlight = 0;
  ingestDelayMs = 0;
  online: AgentSummary[] = [];

  get database(): never {
    throw new Error('MemoryStore has no SQL behind it');
  }

  migrate(): Promise<void> {
    return Promise.resolve();
  }

  async ingest(events: readonly AcceptedEvent[]): Promise<IngestResult> {
    this.inFlight += 1;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      await new Promise((resolve) => setTimeout(resolve, this.ingestDelayMs));
      if (this.failuresLeft > 0) {
        this.failuresLeft -= 1;
        throw new Error('connection refused');
      }
      this.batches.push(events.map((event) => event.message.eventId));
      let stored = 0;
      for (const event of events) {
        if (!this.eventIds.has(event.message.eventId)) stored += 1;
        this.eventIds.add(event.message.eventId);
      }
      return { stored, duplicates: events.length - stored };
    } finally {
      this.inFlight -= 1;
    }
  }

  listAgents(): Promise<AgentSummary[]> {
    return Promise.resolve(this.online);
  }
  agentsPage(): Promise<{ agents: AgentSummary[]; total: number }> {
    return Promise.resolve({ agents: this.online, total: this.online.length });
  }
  getAgent(): Promise<null> {
    return Promise.resolve(null);
  }
  events(): Promise<[]> {
    return Promise.resolve([]);
  }
  measurements(): Promise<[]> {
    return Promise.resolve([]);
  }
  countEvents(): Promise<number> {
    return Promise.resolve(this.eventIds.size);
  }
  prune(): Promise<{ rawHealthFolded: number; hourlyHealthDeleted: number; eventsDeleted: number }> {
    return Promise.resolve({ rawHealthFolded: 0, hourlyHealthDeleted: 0, eventsDeleted: 0 });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function setup(options: Partial<CollectorOptions> = {}) {
  const store = new MemoryStore();
  const metrics = new CloudMetrics();
  const collector = new Collector({ store, metrics, log: silentLogger, retryInitialMs: 5, retryMaxMs: 20, ...options });
  return { store, metrics, collector };
}

async function counter(metrics: CloudMetrics, name: string, labels: Record<string, string> = {}): Promise<number> {
  const metric = (await metrics.registry.getMetricsAsJSON()).find((entry) => entry.name === name);
  const value = metric?.values.find((entry) => Object.entries(labels).every(([key, label]) => entry.labels[key] === label));
  return value?.value ?? Number.NaN;
}

function onlineAgent(agentId: string): AgentSummary {
  const at = new Date().toISOString();
  return { id: `sch-1:${agentId}`, agentId, schoolId: 'sch-1', roomId: 'r101', state: 'online', stateReason: null, stateChangedAt: at, lastSeenAt: at, agentVersion: '0.1.0', deviceCount: 0, openFaultCount: 0, worstSeverity: null, lastNetwork: null, lastAvSync: null };
}

function health(seq?: number) {
  const message = validMessage('health', SENDER, seq);
  return { message, topic: topicOf(message), payload: payloadOf(message) };
}

describe('Collector', () => {
  it('resolves rejected at once for a bad message, counts it by reason and writes nothing', async () => {
    const { store, metrics, collector } = setup();
    await expect(collector.accept(topicOf(validMessage('health')), Buffer.from('{not json'))).resolves.toBe('rejected');
    await expect(collector.accept('home/kitchen', payloadOf(validMessage('health')))).resolves.toBe('rejected');
    await collector.close();
    expect(store.batches).toEqual([]);
    expect(await counter(metrics, 'avcare_messages_rejected_total', { reason: 'bad-json' })).toBe(1);
    expect(await counter(metrics, 'avcare_messages_rejected_total', { reason: 'unknown-topic' })).toBe(1);
    expect(await counter(metrics, 'avcare_messages_in_total', { kind: 'health' })).toBe(1);
    expect(await counter(metrics, 'avcare_messages_in_total', { kind: 'unknown' })).toBe(1);
  });

  it('writes a full batch at once without waiting for the delay', async () => {
    const { store, collector } = setup({ maxBatch: 3, maxDelayMs: 60_000 });
    const messages = [health(1), health(2), health(3)];
    const outcomes = await Promise.all(messages.map(({ topic, payload }) => collector.accept(topic, payload)));
    expect(outcomes).toEqual(['stored', 'stored', 'stored']);
    expect(store.batches).toEqual([messages.map(({ message }) => message.eventId)]);
    await collector.close();
  });

  it('writes a partial batch after maxDelayMs', async () => {
    const { store, collector } = setup({ maxBatch: 500, maxDelayMs: 30 });
    const started = Date.now();
    const { topic, payload } = health();
    await expect(collector.accept(topic, payload)).resolves.toBe('stored');
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(store.batches).toHaveLength(1);
    await collector.close();
  });

  it('paces batches by minCommitIntervalMs: the first goes at once, what follows gathers into one, a full batch never waits', async () => {
    const { store, collector } = setup({ maxBatch: 5, minCommitIntervalMs: 200 });
    const first = health(1);
    let started = performance.now();
    await collector.accept(first.topic, first.payload);
    expect(performance.now() - started).toBeLessThan(150);
    // Three arrivals in separate turns of the event loop join one batch once the interval has passed.
    const trickle: Promise<unknown>[] = [];
    for (const index of [2, 3, 4]) {
      const { topic, payload } = health(index);
      trickle.push(collector.accept(topic, payload));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await Promise.all(trickle);
    expect(store.batches.map((batch) => batch.length)).toEqual([1, 3]);
    // A full batch goes at once, though the interval since the last one has not passed.
    started = performance.now();
    await Promise.all([5, 6, 7, 8, 9].map((index) => health(index)).map(({ topic, payload }) => collector.accept(topic, payload)));
    expect(performance.now() - started).toBeLessThan(150);
    expect(store.batches.map((batch) => batch.length)).toEqual([1, 3, 5]);
    await collector.close();
  });

  it('keeps one batch in flight, fills the next meanwhile and keeps arrival order', async () => {
    const { store, collector } = setup({ maxBatch: 10, maxDelayMs: 1 });
    store.ingestDelayMs = 20;
    const messages = Array.from({ length: 95 }, (_, index) => health(index + 1));
    const accepted: Promise<unknown>[] = [];
    for (const { topic, payload } of messages) {
      accepted.push(collector.accept(topic, payload));
      if (accepted.length % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await Promise.all(accepted);
    expect(store.maxInFlight).toBe(1);
    expect(store.batches.every((batch) => batch.length <= 10)).toBe(true);
    expect(store.batches.flat()).toEqual(messages.map(({ message }) => message.eventId));
    await collector.close();
  });

  it('writes up to maxConcurrentBatches at once and stores every message once', async () => {
    const { store, collector } = setup({ maxBatch: 10, maxDelayMs: 1, maxConcurrentBatches: 2 });
    store.ingestDelayMs = 20;
    const messages = Array.from({ length: 95 }, (_, index) => health(index + 1));
    const accepted = messages.map(({ topic, payload }) => collector.accept(topic, payload));
    await Promise.all(accepted);
    expect(store.maxInFlight).toBe(2);
    expect(store.batches.every((batch) => batch.length <= 10)).toBe(true);
    expect(store.batches.flat().sort()).toEqual(messages.map(({ message }) => message.eventId).sort());
    await collector.close();
  });

  it('reports a resent event as duplicate and counts it, also when both copies are in one batch', async () => {
    const { metrics, collector } = setup({ maxDelayMs: 1 });
    const { topic, payload } = health(1);
    await expect(collector.accept(topic, payload)).resolves.toBe('stored');
    await expect(collector.accept(topic, payload)).resolves.toBe('duplicate');
    const other = health(2);
    const both = await Promise.all([collector.accept(other.topic, other.payload), collector.accept(other.topic, other.payload)]);
    expect(both).toEqual(['stored', 'duplicate']);
    expect(await counter(metrics, 'avcare_messages_duplicate_total')).toBe(2);
    expect(await counter(metrics, 'avcare_events_stored_total')).toBe(2);
    await collector.close();
  });

  it('does not resolve while the database fails, retries, then resolves once written', async () => {
    const { store, collector } = setup({ maxDelayMs: 1 });
    store.failuresLeft = 3;
    const { message, topic, payload } = health(1);
    let settled = false;
    const outcome = collector.accept(topic, payload).finally(() => (settled = true));
    await new Promise((resolve) => setTimeout(resolve, 15));
    expect(store.failuresLeft).toBeLessThan(3);
    expect(settled).toBe(false);
    await expect(outcome).resolves.toBe('stored');
    expect(store.failuresLeft).toBe(0);
    expect(store.batches).toEqual([[message.eventId]]);
    await collector.close();
  });

  it('gives up a failing batch at close by rejecting its accepts, so nothing is acknowledged', async () => {
    const { store, collector } = setup({ maxDelayMs: 1, retryInitialMs: 60_000, retryMaxMs: 60_000 });
    store.failuresLeft = 1_000;
    const { topic, payload } = health(1);
    const outcome = collector.accept(topic, payload);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const closing = collector.close();
    await expect(outcome).rejects.toThrow(/closed before the message could be stored/);
    await closing;
    expect(store.batches).toEqual([]);
  });

  it('refuses messages after close without acknowledging them', async () => {
    const { collector } = setup();
    await collector.close();
    const { topic, payload } = health(1);
    await expect(collector.accept(topic, payload)).rejects.toThrow(/collector is closed/);
  });

  it('writes what is queued when closed', async () => {
    const { store, collector } = setup({ maxDelayMs: 60_000 });
    const { message, topic, payload } = health(1);
    const outcome = collector.accept(topic, payload);
    await collector.close();
    await expect(outcome).resolves.toBe('stored');
    expect(store.batches).toEqual([[message.eventId]]);
  });

  it('updates agentsOnline after a batch with a status message', async () => {
    const { store, metrics, collector } = setup({ maxDelayMs: 1 });
    store.online = ['pc-01', 'pc-02'].map((agentId) => onlineAgent(agentId));
    const status = validMessage('status');
    await collector.accept(topicOf(status), payloadOf(status));
    await expect.poll(() => counter(metrics, 'avcare_agents_online')).toBe(2);
    await collector.close();
  });
});

describe('Collector group commit (the default)', () => {
  it('writes at once when idle and puts everything that arrived during a write into the next batch', async () => {
    const { store, collector } = setup();
    store.ingestDelayMs = 30;
    const send = (seq: number) => {
      const message = validMessage('health', SENDER, seq);
      return collector.accept(topicOf(message), payloadOf(message));
    };
    const first = send(1);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.inFlight).toBe(1);
    const during = [2, 3, 4, 5].map(send);
    await Promise.all([first, ...during]);
    expect(store.batches.map((batch) => batch.length)).toEqual([1, 4]);
    expect(store.maxInFlight).toBe(1);
    await collector.close();
  });
});
