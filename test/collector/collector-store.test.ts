import { afterEach, describe, expect, it } from 'vitest';
import { agentKey } from '../../cloud/store/store.js';
import { MESSAGE_KINDS } from '../../protocol/index.js';
import { payloadOf, SENDER, topicOf, validMessage } from './agent-traffic.js';
import { histogram, metricValue, startTestCollector, type Backend, type CollectorUnderTest } from './cloud-under-test.js';

const KEY = agentKey(SENDER.schoolId, SENDER.agentId);

describe.each<Backend>(['sqlite', 'postgres'])('Collector with the real %s store', (backend) => {
  let cloud: CollectorUnderTest | undefined;
  afterEach(async () => {
    await cloud?.dispose();
    cloud = undefined;
  });

  it('resolves accept only once the event is committed: the row is there the moment it resolves', async () => {
    cloud = await startTestCollector(backend, { maxDelayMs: 5 });
    const { collector, store } = cloud;
    for (const [index, kind] of [...MESSAGE_KINDS, ...MESSAGE_KINDS].entries()) {
      const message = validMessage(kind, SENDER, kind === 'status' ? undefined : index + 1);
      await expect(collector.accept(topicOf(message), payloadOf(message))).resolves.toBe('stored');
      const stored = await store.events(KEY, { limit: 1_000 });
      expect(stored.map((event) => event.eventId)).toContain(message.eventId);
    }
  });

  it('holds accept while the batch waits for its delay, and nothing is in the database meanwhile', async () => {
    cloud = await startTestCollector(backend, { maxDelayMs: 60_000 });
    const { collector, store } = cloud;
    const messages = [1, 2, 3].map((seq) => validMessage('health', SENDER, seq));
    let settled = 0;
    const accepted = messages.map((message) => collector.accept(topicOf(message), payloadOf(message)).finally(() => (settled += 1)));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(settled).toBe(0);
    expect(await store.countEvents()).toBe(0);

    await collector.flush();
    expect(await Promise.all(accepted)).toEqual(['stored', 'stored', 'stored']);
    expect((await store.events(KEY)).map((event) => event.eventId)).toEqual(messages.map((message) => message.eventId));
  });

  it('writes in batches of at most maxBatch and stores every event once', async () => {
    cloud = await startTestCollector(backend, { maxBatch: 500, maxDelayMs: 50 });
    const { collector, store, metrics } = cloud;
    const messages = Array.from({ length: 1_200 }, (_, index) => validMessage(index % 10 === 0 ? 'measurement' : 'health', SENDER, index + 1));
    const outcomes = await Promise.all(messages.map((message) => collector.accept(topicOf(message), payloadOf(message))));
    expect(new Set(outcomes)).toEqual(new Set(['stored']));
    expect(await store.countEvents()).toBe(1_200);
    expect(await histogram(metrics.batchSize)).toEqual({ count: 3, sum: 1_200 });
    expect(await metricValue(metrics, 'avcare_events_stored_total')).toBe(1_200);
    expect(await metricValue(metrics, 'avcare_messages_in_total', { kind: 'measurement' })).toBe(120);
    expect((await histogram(metrics.writeLatency)).count).toBe(3);
    const seqs = (await store.events(KEY, { limit: 2_000 })).map((event) => event.seq);
    expect(seqs).toEqual(messages.map((_, index) => index + 1));
  });

  it('counts a resent event as a duplicate and stores it once', async () => {
    cloud = await startTestCollector(backend, { maxDelayMs: 5 });
    const { collector, store, metrics } = cloud;
    const message = validMessage('fault', SENDER, 1);
    await expect(collector.accept(topicOf(message), payloadOf(message))).resolves.toBe('stored');
    await expect(collector.accept(topicOf(message), payloadOf(message))).resolves.toBe('duplicate');
    expect(await store.countEvents()).toBe(1);
    expect(await metricValue(metrics, 'avcare_messages_duplicate_total')).toBe(1);
    expect(await metricValue(metrics, 'avcare_events_stored_total')).toBe(1);
  });

  it('counts agents online after status messages', async () => {
    cloud = await startTestCollector(backend, { maxDelayMs: 5, agentsOnlineIntervalMs: 50 });
    const { collector, metrics } = cloud;
    for (const agentId of ['pc-01', 'pc-02', 'pc-03']) {
      const status = validMessage('status', { ...SENDER, agentId });
      await collector.accept(topicOf(status), payloadOf(status));
    }
    await expect.poll(() => metricValue(metrics, 'avcare_agents_online')).toBe(3);
  });
});
