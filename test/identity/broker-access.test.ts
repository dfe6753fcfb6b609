/**
 * Agent impersonation at the broker, on both brokers the cloud runs with (the embedded aedes and
 * a Mosquitto with dynamic security started here and provisioned by the cloud) and both
 * databases: an enrolled agent cannot publish as another, cannot subscribe to another's topics,
 * and nobody connects anonymously, with a wrong or revoked credential, or as another's client id.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { agentInboxFilter, agentInboxTopic, topicFilter, type MqttCredentials } from '../../protocol/index.js';
import { agentKey } from '../../cloud/store/store.js';
import { payloadOf, topicOf, validMessage, type Sender } from '../collector/agent-traffic.js';
import { startTestCollector, type Backend, type CollectorUnderTest } from '../collector/cloud-under-test.js';
import { SECURED_INGRESSES, type SecuredIngress } from '../helpers/secured-ingress.js';
import { grantedQos } from '../helpers/subscribe-grants.js';

const PC01: Sender = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const PC02: Sender = { schoolId: 'sch-1', roomId: 'r102', agentId: 'pc-02' };

describe.each(Object.keys(SECURED_INGRESSES))('broker access through %s', (ingressName) => {
  describe.each<Backend>(['sqlite', 'postgres'])('with %s', (backend) => {
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

    async function setUp(): Promise<{ cloud: CollectorUnderTest; ingress: SecuredIngress; pc01: MqttCredentials; pc02: MqttCredentials }> {
      cloud = await startTestCollector(backend, { maxDelayMs: 5 });
      const start = SECURED_INGRESSES[ingressName];
      if (!start) throw new Error(`no ingress ${ingressName}`);
      ingress = await start(cloud.collector, cloud.security, 'avcare-collector-access');
      return { cloud, ingress, pc01: await ingress.enroll(PC01), pc02: await ingress.enroll(PC02) };
    }

    async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
      const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
      clients.push(client);
      return client;
    }

    /** Resolves with the broker's refusal; fails the test if the broker let it in. */
    async function refusedConnect(url: string, options: IClientOptions): Promise<string> {
      try {
        const client = await connect(url, options);
        throw new Error(`the broker accepted ${client.options.clientId ?? '?'}`);
      } catch (error) {
        return (error as Error).message;
      }
    }

    const as = (credentials: MqttCredentials): IClientOptions => ({ clientId: credentials.clientId, username: credentials.username, password: credentials.password });

    it('stores nothing an enrolled agent publishes as another agent, and still stores its own', async () => {
      const { cloud, ingress, pc01 } = await setUp();
      const agent = await connect(ingress.url, as(pc01));
      // A forged fault for pc-02, body and topic consistent: only the broker's check against the credentials can stop it.
      const forged = validMessage('fault', PC02, 1);
      const closed = new Promise<void>((resolve) => agent.once('close', () => resolve()));
      agent.publish(topicOf(forged), payloadOf(forged), { qos: 1 }, () => undefined);
      if (ingress.kind === 'embedded') {
        // aedes refuses by closing the connection (MQTT 3.1.1 has no negative PUBACK).
        await closed;
      } else {
        // Mosquitto acknowledges and drops it.
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
      const honest = await connect(ingress.url, as(pc01));
      const own = validMessage('fault', PC01, 2);
      await honest.publishAsync(topicOf(own), payloadOf(own), { qos: 1 });
      await expect.poll(async () => (await cloud.store.events(agentKey(PC01.schoolId, PC01.agentId))).map((event) => event.eventId), { timeout: 5_000 }).toEqual([own.eventId]);
      expect(await cloud.store.events(agentKey(PC02.schoolId, PC02.agentId))).toEqual([]);
      expect(await cloud.store.countEvents()).toBe(1);
    });

    it('refuses subscriptions to other agents\' topics and lets an agent receive only what is addressed to it', async () => {
      const { ingress, pc01 } = await setUp();
      const agent = await connect(ingress.url, as(pc01));
      expect(await grantedQos(agent, [agentInboxFilter('sch-1', 'pc-02'), topicFilter('+'), '#'])).toEqual([128, 128, 128]);
      expect(await grantedQos(agent, [agentInboxFilter('sch-1', 'pc-01')])).toEqual([1]);
      const received = new Promise<string>((resolve) => agent.once('message', (topic) => resolve(topic)));
      await ingress.publish(agentInboxTopic('sch-1', 'pc-02', 'hello'), Buffer.from('{}'));
      await ingress.publish(agentInboxTopic('sch-1', 'pc-01', 'hello'), Buffer.from('{}'));
      expect(await received).toBe(agentInboxTopic('sch-1', 'pc-01', 'hello'));
    });

    it('refuses anonymous connections, wrong secrets, unknown users and another agent\'s client id', async () => {
      const { ingress, pc01, pc02 } = await setUp();
      expect(await refusedConnect(ingress.url, { clientId: 'anonymous-device' })).toMatch(/not authorized|bad user/i);
      expect(await refusedConnect(ingress.url, { ...as(pc01), password: `${pc01.password.slice(0, -4)}XXXX` })).toMatch(/not authorized|bad user/i);
      expect(await refusedConnect(ingress.url, { ...as(pc01), username: 'sch-1:pc-99' })).toMatch(/not authorized|bad user/i);
      // pc-01's credentials with pc-02's client id would take over (disconnect) pc-02's session.
      const victim = await connect(ingress.url, as(pc02));
      expect(await refusedConnect(ingress.url, { ...as(pc01), clientId: pc02.clientId })).toMatch(/not authorized|identifier rejected|bad user/i);
      expect(victim.connected).toBe(true);
    });

    it('drops a revoked agent at once and refuses its credentials from then on', async () => {
      const { cloud, ingress, pc01 } = await setUp();
      const agent = await connect(ingress.url, as(pc01));
      const dropped = new Promise<void>((resolve) => agent.once('close', () => resolve()));
      await cloud.security.registry.revoke(agentKey(PC01.schoolId, PC01.agentId), { actor: 'user:admin', source: '127.0.0.1' }, 'PC stolen');
      await dropped;
      expect(await refusedConnect(ingress.url, as(pc01))).toMatch(/not authorized|bad user/i);
      const entries = await cloud.security.audit.list({ action: 'agent.revoke' });
      expect(entries).toMatchObject([{ actor: 'user:admin', target: 'agent:sch-1:pc-01', outcome: 'success', detail: { reason: 'PC stolen' } }]);
    });
  });
});
