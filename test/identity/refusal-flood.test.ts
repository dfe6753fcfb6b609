/**
 * One classroom PC's credentials against the audit log, on SQLite and PostgreSQL, through the
 * embedded broker: a flood of refused subscriptions and publishes writes the first few refusals a
 * minute and one entry counting the rest, the client is disconnected after repeated refusals and
 * kept out for a while, and a flood of wrong sign-ins and enrollments from many addresses is
 * bounded the same way.
 */
import { randomUUID } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { auditBrokerRefusals } from '../../cloud/broker/broker-refusals.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../cloud/broker/embedded-broker.js';
import { attachBroker, brokerLogins } from '../../cloud/security.js';
import { UNMANAGED_BROKER } from '../../cloud/broker/broker-access.js';
import { openTestStore, startTestCollector, type Backend, type CollectorUnderTest } from '../collector/cloud-under-test.js';
import { testSecurity } from '../helpers/security.js';

describe.each<Backend>(['sqlite', 'postgres'])('refusals against the audit log on %s', (backend) => {
  let cloud: CollectorUnderTest | undefined;
  let broker: EmbeddedBroker | undefined;
  const clients: MqttClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.endAsync(true)));
    await broker?.close();
    await cloud?.dispose();
    broker = undefined;
    cloud = undefined;
  });

  async function setUp() {
    cloud = await startTestCollector(backend, { maxDelayMs: 5 });
    const { security } = cloud;
    broker = await startEmbeddedBroker({
      port: 0,
      host: '127.0.0.1',
      collector: cloud.collector,
      log: silentLogger,
      metrics: cloud.metrics,
      authentication: brokerLogins(security),
      onRefused: auditBrokerRefusals(security.auditGuard, () => undefined),
      refusalLimits: { perMinute: 10, coolDownMs: 2_000 },
    });
    attachBroker(security, broker);
    const { token } = await security.enrollTokens.create({ schoolId: 'sch-1', uses: 5 }, { actor: 'test', source: null });
    const credentials = (await security.enrollment.enroll({ token, installationId: randomUUID(), requestedAgentId: 'pc-01', roomId: 'r1' }, '127.0.0.1', '127.0.0.1')).mqtt;
    return { cloud, broker, security, credentials, url: `mqtt://127.0.0.1:${broker.port}` };
  }

  const entries = async (action: string) => (await cloud?.security.audit.list({ action })) ?? [];

  it('writes a few entries and one count for a flood of refused subscriptions, disconnects the client and keeps it out for a while', async () => {
    const { security, credentials, url } = await setUp();
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: credentials.clientId, username: credentials.username, password: credentials.password });
    clients.push(client);
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    // Subscriptions outside its inbox, one after another until the broker cuts the client off (at
    // most 500): each waits for its refusal, so how many got in does not depend on how many one
    // socket read happened to carry on a busy machine.
    let cutOff = false;
    void closed.then(() => (cutOff = true));
    for (let index = 0; index < 500 && !cutOff; index += 1) {
      await client.subscribeAsync(`avcare/to/v1/sch-1/pc-02/${index}`, { qos: 1 }).catch(() => undefined);
    }
    await closed;
    await expect(mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, clientId: credentials.clientId, username: credentials.username, password: credentials.password })).rejects.toThrow(/not authori[sz]ed/i);
    await security.auditGuard.flush();
    const refused = await entries('broker.refused');
    // At most the first five one by one, then one entry that counts the rest this client got in before it was cut off.
    expect(refused.length).toBeLessThanOrEqual(6);
    expect(refused.length).toBeGreaterThanOrEqual(5);
    const counted = refused.reduce((sum, entry) => sum + (typeof entry.detail['repeated'] === 'number' ? entry.detail['repeated'] : 1), 0);
    expect(counted).toBeGreaterThanOrEqual(10);
    // Cut off right after the limit of 10 a minute, not after all 500.
    expect(counted).toBeLessThan(20);
    expect(refused.every((entry) => entry.actor === 'agent:sch-1:pc-01' && entry.outcome === 'denied')).toBe(true);
    // After the cool-down the agent may come back (a PC that misbehaved once is not shut out for good).
    await new Promise((resolve) => setTimeout(resolve, 2_100));
    const back = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, clientId: credentials.clientId, username: credentials.username, password: credentials.password });
    clients.push(back);
    expect(back.connected).toBe(true);
  });

  it('keeps a reconnect-and-publish loop outside its own topics to a few entries and a count, then refuses to connect', async () => {
    const { security, credentials, url } = await setUp();
    let refusedConnects = 0;
    for (let round = 0; round < 30; round += 1) {
      let client: MqttClient;
      try {
        client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 3_000, clientId: credentials.clientId, username: credentials.username, password: credentials.password });
      } catch {
        refusedConnects += 1;
        continue;
      }
      const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
      client.publish(`avcare/v1/sch-1/r2/pc-02/fault`, '{}', { qos: 1 });
      await closed;
      await client.endAsync(true);
    }
    expect(refusedConnects).toBe(20);
    await security.auditGuard.flush();
    const refused = await entries('broker.refused');
    expect(refused.length).toBe(6);
    expect(refused[5]?.detail).toMatchObject({ repeated: 5 });
  });

  it('bounds the entries of wrong enrollments from one address, and of wrong sign-ins spread over many addresses', async () => {
    const opened = await openTestStore(backend);
    try {
      const { security } = await testSecurity(opened.store, { auditFloodLimits: { maxPerWindow: 20 } });
      security.registry.attachBroker(UNMANAGED_BROKER);
      // One address guessing tokens: the limiter stops it at 30, the guard writes five of those and counts the rest.
      for (let index = 0; index < 20; index += 1) {
        await expect(security.enrollment.enroll({ token: 'avc_et_not-a-real-token-at-all-0000000000', installationId: randomUUID(), requestedAgentId: 'pc' }, '198.51.100.2', '127.0.0.1')).rejects.toThrow();
      }
      await security.auditGuard.flush();
      const enrollments = (await security.audit.list({ action: 'agent.enroll' })).filter((entry) => entry.source === '198.51.100.2');
      expect(enrollments).toHaveLength(6);
      expect(enrollments[5]?.detail).toMatchObject({ repeated: 15 });
      // Guesses from 60 addresses, each too few to be throttled: the audit log takes 20 a minute in all and says what it left out.
      for (let index = 0; index < 60; index += 1) {
        await expect(security.signIn.login({ name: `teacher-${index}`, password: `guess ${index}` }, `203.0.113.${index}`)).rejects.toThrow();
      }
      await security.auditGuard.flush();
      const logins = await security.audit.list({ action: 'auth.login' });
      const suppressed = await security.audit.list({ action: 'audit.suppressed' });
      expect(logins).toHaveLength(20);
      expect(suppressed).toHaveLength(1);
      // Every guess is on the record, one by one or counted.
      expect(logins.length + Number((suppressed[0]?.detail['byAction'] as Record<string, number>)['auth.login'])).toBe(60);
    } finally {
      await opened.dispose();
    }
  });
});
