import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import type { AcceptOutcome } from '../../cloud/collector/collector.js';
import { startMqttFeed } from '../../cloud/collector/mqtt-feed.js';
import { startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { payloadOf, SENDER, topicOf, validMessage } from './agent-traffic.js';

/**
 * What the feed promises the broker, shown against a real Mosquitto: a message is acknowledged
 * only once the collector resolved it. The collector here is a stand-in that records what it is
 * given and resolves when told, so the test controls the moment of "committed"; the store is
 * covered by the other suites.
 */
class HeldCollector {
  readonly received: string[] = [];
  private readonly held: Array<() => void> = [];

  constructor(private readonly hold: boolean) {}

  accept(_topic: string, payload: Buffer): Promise<AcceptOutcome> {
    this.received.push((JSON.parse(payload.toString()) as { eventId: string }).eventId);
    if (!this.hold) return Promise.resolve('stored');
    return new Promise((resolve) => this.held.push(() => resolve('stored')));
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

async function publishAll(url: string, messages: ReturnType<typeof validMessage>[], protocolVersion: 4 | 5 = 4): Promise<void> {
  const agent = await mqtt.connectAsync(url, { clientId: `agent-${Math.random().toString(16).slice(2)}`, protocolVersion });
  await Promise.all(messages.map((message) => agent.publishAsync(topicOf(message), payloadOf(message), { qos: 1 })));
  await agent.endAsync();
}

describe.each([4, 5] as const)('mqtt-feed acknowledgements against Mosquitto (MQTT protocol version %i)', (protocolVersion) => {
  let mosquitto: OwnMosquitto;
  beforeAll(async () => {
    mosquitto = await startMosquitto();
  });
  afterAll(async () => {
    await mosquitto.stop();
  });

  it('does not acknowledge before the collector resolves: the broker redelivers after the feed goes away', async () => {
    const clientId = `collector-${protocolVersion}-redeliver`;
    const messages = Array.from({ length: 5 }, (_, index) => validMessage('health', SENDER, index + 1));

    const holding = new HeldCollector(true);
    const first = startMqttFeed({ url: mosquitto.url, collector: holding, log: silentLogger, clientId, protocolVersion, drainTimeoutMs: 50 });
    await first.ready;
    await publishAll(mosquitto.url, messages, protocolVersion);
    await expect.poll(() => holding.received.length).toBe(5);
    await first.close();

    const second = new HeldCollector(false);
    const again = startMqttFeed({ url: mosquitto.url, collector: second, log: silentLogger, clientId, protocolVersion });
    await again.ready;
    await expect.poll(() => [...new Set(second.received)].sort()).toEqual(messages.map((message) => message.eventId).sort());
    await again.close();
  });

  it('acknowledges once resolved: nothing is redelivered to the next session', async () => {
    const clientId = `collector-${protocolVersion}-acked`;
    const holding = new HeldCollector(true);
    const first = startMqttFeed({ url: mosquitto.url, collector: holding, log: silentLogger, clientId, protocolVersion });
    await first.ready;
    const messages = Array.from({ length: 5 }, (_, index) => validMessage('fault', SENDER, index + 1));
    await publishAll(mosquitto.url, messages, protocolVersion);
    await expect.poll(() => holding.received.length).toBe(5);
    holding.release();
    await first.close();

    const marker = validMessage('measurement', SENDER, 6);
    const second = new HeldCollector(false);
    const again = startMqttFeed({ url: mosquitto.url, collector: second, log: silentLogger, clientId, protocolVersion });
    await again.ready;
    await publishAll(mosquitto.url, [marker], protocolVersion);
    await expect.poll(() => second.received).toContain(marker.eventId);
    expect(second.received).toEqual([marker.eventId]);
    await again.close();
  });

  it('keeps many messages in flight while their acknowledgements wait (not one at a time)', async () => {
    const holding = new HeldCollector(true);
    const feed = startMqttFeed({ url: mosquitto.url, collector: holding, log: silentLogger, clientId: `collector-${protocolVersion}-window`, protocolVersion });
    await feed.ready;
    const messages = Array.from({ length: 50 }, (_, index) => validMessage('health', SENDER, index + 1));
    await publishAll(mosquitto.url, messages, protocolVersion);
    // Were the feed serial, the second message would wait for the first one's acknowledgement forever.
    await expect.poll(() => holding.received.length).toBe(50);
    holding.release();
    await feed.close();
  });

  it('holds at most maxUnacknowledged messages (and one socket read) by pausing its reads, whatever the broker sends', async () => {
    // Commits take 20 ms: acknowledgements flow while the backlog is delivered, which is when
    // Mosquitto 2.0.11 stops counting its window and would send all 3,000 at once.
    let outstanding = 0;
    let most = 0;
    let done = 0;
    const slow = {
      accept: () => {
        outstanding += 1;
        most = Math.max(most, outstanding);
        return new Promise<AcceptOutcome>((resolve) =>
          setTimeout(() => {
            outstanding -= 1;
            done += 1;
            resolve('stored');
          }, 20),
        );
      },
    };
    const clientId = `collector-${protocolVersion}-bounded`;
    const first = startMqttFeed({ url: mosquitto.url, collector: new HeldCollector(false), log: silentLogger, clientId, protocolVersion });
    await first.ready;
    await first.close();
    await publishAll(mosquitto.url, Array.from({ length: 3_000 }, (_, index) => validMessage('health', SENDER, index + 1)), protocolVersion);
    const feed = startMqttFeed({ url: mosquitto.url, collector: slow, log: silentLogger, clientId, protocolVersion, maxUnacknowledged: 200 });
    await expect.poll(() => done, { timeout: 15_000 }).toBe(3_000);
    // 200, plus what the read that crossed the limit still carried (a 64 KB read holds ~100 of these).
    expect(most).toBeGreaterThanOrEqual(200);
    expect(most).toBeLessThan(600);
    await feed.close();
  });

  it('holds a window of its own asking under MQTT 5 (Receive Maximum), the broker\'s max_inflight_messages (100 here) under 3.1.1', async () => {
    const holding = new HeldCollector(true);
    const feed = startMqttFeed({ url: mosquitto.url, collector: holding, log: silentLogger, clientId: `collector-${protocolVersion}-wide`, protocolVersion, receiveMaximum: 300 });
    await feed.ready;
    await publishAll(mosquitto.url, Array.from({ length: 400 }, (_, index) => validMessage('health', SENDER, index + 1)), protocolVersion);
    const window = protocolVersion === 5 ? 300 : 100;
    await expect.poll(() => holding.received.length).toBe(window);
    // Nothing beyond the window arrives while its acknowledgements wait.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(holding.received.length).toBe(window);
    // Each acknowledged message lets the next one in.
    await expect.poll(() => {
      holding.release();
      return holding.received.length;
    }).toBe(400);
    await feed.close();
  });
});
