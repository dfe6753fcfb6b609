import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../agent/config.js';
import { silentLogger } from '../../protocol/log.js';
import { MqttTransport } from '../../agent/transport/mqtt-transport.js';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import type { OwnMosquitto } from '../helpers/mosquitto.js';
import { provisionedMosquitto, type ProvisionedMosquitto } from '../helpers/provisioned-mosquitto.js';
import { fault, health, IDENTITY, inventory } from './agent-messages.js';
import { firstArrivals, record, until, type Recorder } from './recorder.js';

describe('agent transport across an outage of a Mosquitto with authentication on', () => {
  let provisioned: ProvisionedMosquitto;
  let mosquitto: OwnMosquitto;
  let recorder: Recorder;
  let outbox: Outbox;
  let transport: MqttTransport;

  beforeAll(async () => {
    provisioned = await provisionedMosquitto();
    mosquitto = provisioned.mosquitto;
    // A persistent session with the collector's account, as the collector has: what arrives while it is reconnecting is queued for it.
    recorder = await record(mosquitto.url, { ...(await provisioned.collector('outage-test-subscriber')), clean: false, reconnectPeriod: 100 });
    outbox = new Outbox({ path: outboxFile(mkdtempSync(join(tmpdir(), 'avcare-outage-'))), maxEvents: 10_000 });
    const credentials = await provisioned.agent(IDENTITY);
    const config = parseAgentConfig({ ...IDENTITY, broker: { url: mosquitto.url, username: credentials.username, password: credentials.password } });
    transport = new MqttTransport({ identity: config, broker: { ...config.broker, url: mosquitto.url }, outbox, log: silentLogger, backoff: { baseMs: 100, capMs: 1000, stableAfterMs: 5000 } });
    transport.start();
  });

  afterAll(async () => {
    await transport.stop();
    outbox.close();
    await recorder.close();
    await provisioned.close();
  });

  function produce(count: number): void {
    for (let i = 0; i < count; i++) {
      outbox.enqueue(i % 25 === 0 ? fault() : i % 40 === 1 ? inventory() : health(i % 100), { retain: false });
      transport.wake();
    }
  }

  it('delivers every event in seq order with no gaps after the broker was down while the agent kept producing', async () => {
    await until(() => transport.status().connected, 10_000, 'the first connection');
    produce(20);
    await recorder.waitFor((received) => firstArrivals(received).length === 20);

    await mosquitto.stop();
    await until(() => !transport.status().connected, 10_000, 'the agent to notice the outage');
    produce(200);
    expect(outbox.stats().pending).toBe(200);

    await mosquitto.start();
    await recorder.waitFor((received) => firstArrivals(received).length === 220, 20_000);
    expect(firstArrivals(recorder.received)).toEqual(Array.from({ length: 220 }, (_, i) => i + 1));
    await until(() => outbox.stats().pending === 0, 5000, 'the outbox to empty');
    expect(transport.status()).toMatchObject({ connected: true, connects: 2, inFlight: 0 });
  }, 60_000);

  it('sends again what was in flight when the broker stopped in the middle of a backlog', async () => {
    await until(() => transport.status().connected && outbox.stats().pending === 0, 10_000, 'a drained outbox');
    const before = firstArrivals(recorder.received).length;
    produce(2000);
    await until(() => outbox.stats().pending < 2000, 10_000, 'the drain to start');
    await mosquitto.stop();
    expect(outbox.stats().pending).toBeGreaterThan(0);
    await mosquitto.start();
    await recorder.waitFor((received) => firstArrivals(received).length === before + 2000, 30_000);
    expect(firstArrivals(recorder.received)).toEqual(Array.from({ length: before + 2000 }, (_, i) => i + 1));
    await until(() => outbox.stats().pending === 0, 5000, 'the outbox to empty');
  }, 60_000);
});
