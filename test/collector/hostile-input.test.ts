import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import type { RejectReason } from '../../cloud/metrics.js';
import { agentKey } from '../../cloud/store/store.js';
import { SECURED_INGRESSES, type SecuredIngress } from '../helpers/secured-ingress.js';
import { payloadOf, SENDER, topicOf, validMessage, type Sender } from './agent-traffic.js';
import { metricValue, startTestCollector, type Backend, type CollectorUnderTest } from './cloud-under-test.js';

/** An enrolled agent gone rogue (or a device that took its credentials): it sends garbage on its own topics. */
const ROGUE: Sender = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-66' };
const topic = topicOf(validMessage('health', ROGUE));

function deepNesting(levels: number): Buffer {
  return Buffer.from('['.repeat(levels) + ']'.repeat(levels));
}

/** Every kind of bad input the issue names, with the reason it must be counted under. */
function hostileMessages(): Array<{ name: string; reason: RejectReason; topic: string; payload: Buffer }> {
  const { schemaVersion: _absent, ...noVersion } = validMessage('health');
  return [
    { name: 'bad JSON', reason: 'bad-json', topic, payload: Buffer.from('{"schemaVersion":1,"type":"health",') },
    { name: 'binary garbage', reason: 'bad-json', topic, payload: Buffer.from([0x00, 0xff, 0x13, 0x37, 0xc3, 0x28, 0x80]) },
    { name: 'wrong schema', reason: 'schema', topic, payload: payloadOf({ ...validMessage('health'), system: { cpu: 'hot' } }) },
    { name: 'no schema version', reason: 'schema', topic, payload: payloadOf(noVersion) },
    { name: '10,000-deep nesting', reason: 'schema', topic, payload: deepNesting(10_000) },
    { name: 'wrong version', reason: 'version', topic, payload: payloadOf({ ...validMessage('health'), schemaVersion: 99 }) },
    { name: 'oversize', reason: 'oversize', topic, payload: Buffer.alloc(300 * 1024, 0x61) },
    { name: 'unknown topic', reason: 'unknown-topic', topic: 'avcare/v1/sch-1/r101/pc-66/shell', payload: payloadOf(validMessage('health', ROGUE)) },
    // On its own topic, with a body that claims to be another agent: the collector's check against the body.
    { name: 'an agent writing as another agent', reason: 'topic-mismatch', topic, payload: payloadOf(validMessage('health', SENDER)) },
  ];
}

async function connectAs(url: string, credentials: { username: string; password: string; clientId: string }): Promise<MqttClient> {
  return mqtt.connectAsync(url, { clientId: credentials.clientId, username: credentials.username, password: credentials.password, protocolVersion: 4, reconnectPeriod: 0 });
}

const ROUNDS = 3;
const VALID = 300;

// The two ways MQTT reaches the collector, both with authentication on.
describe.each(Object.keys(SECURED_INGRESSES))('hostile input through %s', (ingressName) => {
  describe.each<Backend>(['sqlite', 'postgres'])('into %s', (backend) => {
    let cloud: CollectorUnderTest | undefined;
    let ingress: SecuredIngress | undefined;
    const clients: MqttClient[] = [];
    afterEach(async () => {
      await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
      await ingress?.close();
      await cloud?.dispose();
      ingress = undefined;
      cloud = undefined;
    });

    it('counts every hostile kind under its reason and keeps storing the valid traffic sent at the same time', async () => {
      cloud = await startTestCollector(backend, { maxDelayMs: 10 });
      const { collector, store, metrics, security } = cloud;
      const startIngress = SECURED_INGRESSES[ingressName];
      if (!startIngress) throw new Error(`no ingress ${ingressName}`);
      ingress = await startIngress(collector, security, 'avcare-collector-hostile');
      const agent = await connectAs(ingress.url, await ingress.enroll(SENDER));
      const attacker = await connectAs(ingress.url, await ingress.enroll(ROGUE));
      clients.push(agent, attacker);

      const valid = Array.from({ length: VALID }, (_, index) => validMessage(index % 15 === 0 ? 'fault' : 'health', SENDER, index + 1));
      const agentTraffic = (async () => {
        for (let start = 0; start < valid.length; start += 25) {
          await Promise.all(valid.slice(start, start + 25).map((message) => agent.publishAsync(topicOf(message), payloadOf(message), { qos: 1 })));
        }
      })();
      const hostile = hostileMessages();
      const attack = (async () => {
        for (let round = 0; round < ROUNDS; round += 1) {
          // Awaiting each PUBACK shows the hostile messages are acknowledged, not left to be resent forever.
          for (const message of hostile) await attacker.publishAsync(message.topic, message.payload, { qos: 1 });
        }
      })();
      await Promise.all([agentTraffic, attack]);

      const key = agentKey(SENDER.schoolId, SENDER.agentId);
      await expect.poll(() => store.countEvents(), { timeout: 10_000 }).toBe(VALID);
      const stored = await store.events(key, { limit: 1_000 });
      expect(stored.map((event) => event.eventId)).toEqual(valid.map((message) => message.eventId));

      const expected = new Map<RejectReason, number>();
      for (const message of hostile) expected.set(message.reason, (expected.get(message.reason) ?? 0) + ROUNDS);
      await expect.poll(() => metricValue(metrics, 'avcare_messages_rejected_total', { reason: 'topic-mismatch' })).toBe(expected.get('topic-mismatch'));
      for (const [reason, count] of expected) {
        expect({ reason, count: await metricValue(metrics, 'avcare_messages_rejected_total', { reason }) }).toEqual({ reason, count });
      }

      // Still running: a message sent after the flood is stored too.
      const after = validMessage('measurement', SENDER, VALID + 1);
      await agent.publishAsync(topicOf(after), payloadOf(after), { qos: 1 });
      await expect.poll(() => store.countEvents(), { timeout: 5_000 }).toBe(VALID + 1);
    });
  });
});
