/**
 * `avcare-cloud reflector` as a provider runs it: its own process (the built CLI), its own broker
 * connection, only the cloud's public key. The agent's side and the cloud's grants talk to it
 * through a real Mosquitto; the test plays both.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttSignalLink } from '../../agent/measure/mqtt-signal-link.js';
import { runNetworkTest } from '../../agent/measure/network-test.js';
import { agentSignalInbox, agentSignalSchema, parseSignalTopic, signalFilter } from '../../protocol/measure-signal.js';
import { silentLogger } from '../../protocol/log.js';
import { CloudSigningKey } from '../../cloud/identity/signing-key.js';
import { MeasureGrants } from '../../cloud/measurements/measure-grants.js';
import { CLOUD_CLI, runNodeEntry } from '../cloud/cloud-process.js';
import { startMosquitto } from '../helpers/mosquitto.js';

const cleanup: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

describe('a reflector in its own process', () => {
  it('answers a granted session over the broker and measures both ways; an offer under a grant for another reflector gets no answer', async () => {
    const broker = await startMosquitto();
    cleanup.push(() => broker.stop());
    const keyFile = join(mkdtempSync(join(tmpdir(), 'avcare-reflector-key-')), 'signing-key.pem');
    const { key } = CloudSigningKey.loadOrCreate(keyFile);
    // The probe port on every address (the default): the agent reaches it where its media reached the reflector.
    const reflector = runNodeEntry(CLOUD_CLI, ['reflector', '--broker', broker.url, '--id', 'near-school', '--cloud-key', keyFile], { env: { AVCARE_LOG_LEVEL: 'warn' } });
    cleanup.push(() => reflector.kill());
    await reflector.waitForOutput(/connected to the broker/);

    // The cloud's part: grants for the reflector near the school.
    const cloud = await mqtt.connectAsync(broker.url, { clientId: 'test-cloud' });
    cleanup.push(() => cloud.endAsync());
    let reflectorFor = 'near-school';
    const grants = new MeasureGrants({ signingKey: key, reflectorFor: () => reflectorFor, log: silentLogger });
    await cloud.subscribeAsync(signalFilter(), { qos: 1 });
    cloud.on('message', (topic, payload) => {
      const from = parseSignalTopic(topic);
      const signal = agentSignalSchema.parse(JSON.parse(payload.toString()));
      if (from && signal.type === 'measure-request') void cloud.publishAsync(agentSignalInbox(from.school, from.agent), JSON.stringify(grants.answer(from, signal.requestId, signal.test)), { qos: 1 });
    });

    // The agent's part, over its own connection.
    const agent = await mqtt.connectAsync(broker.url, { clientId: 'test-agent' });
    cleanup.push(() => agent.endAsync());
    const link = new MqttSignalLink({ identity: { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' }, publish: (topic, payload) => agent.publishAsync(topic, payload, { qos: 1 }).then(() => undefined), log: silentLogger });
    agent.on('message', (topic, payload) => link.receive(topic, payload));
    await agent.subscribeAsync(agentSignalInbox('sch-1', 'pc-01'), { qos: 1 });

    const result = await runNetworkTest({ link, durationMs: 4_000 });
    expect(result.reflectorId).toBe('near-school');
    expect(result.up).not.toBeNull();
    expect(result.down.lossPercent).toBe(0);
    expect(result.throttle?.throttled).toBe(false);
    expect(result.throttle?.steps, result.throttle?.note).toHaveLength(4);

    reflectorFor = 'elsewhere';
    await expect(runNetworkTest({ link, durationMs: 2_000 })).rejects.toThrow(/reflector "elsewhere" did not answer the offer/);
  }, 90_000);
});
