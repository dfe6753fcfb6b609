import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../protocol/log.js';
import { startEmbeddedBroker, type EmbeddedBroker } from '../../cloud/broker/embedded-broker.js';
import { attachBroker, brokerLogins } from '../../cloud/security.js';
import type { MqttCredentials } from '../../protocol/index.js';
import { agentKey } from '../../cloud/store/store.js';
import { AvcareError, topicFilter, type StatusMessage } from '../../protocol/index.js';
import { freePort } from '../helpers/free-port.js';
import { payloadOf, SENDER, topicOf, validMessage } from './agent-traffic.js';
import { startTestCollector, type CollectorUnderTest } from './cloud-under-test.js';

const KEY = agentKey(SENDER.schoolId, SENDER.agentId);

describe('embedded broker (aedes) in front of the collector and the real SQLite store', () => {
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

  /** The broker as the cloud runs it: enrolled agents only (or, with `open`, as --insecure-open-broker runs it). */
  async function start(maxDelayMs: number, mode: 'agents' | 'open' = 'agents'): Promise<{ cloud: CollectorUnderTest; url: string; agent: MqttCredentials }> {
    const started = await startTestCollector('sqlite', { maxDelayMs, agentsOnlineIntervalMs: 20 });
    cloud = started;
    broker = await startEmbeddedBroker({
      port: 0,
      host: '127.0.0.1',
      collector: started.collector,
      log: silentLogger,
      authentication: mode === 'open' ? { mode: 'open' } : brokerLogins(started.security),
    });
    attachBroker(started.security, broker);
    const { token } = await started.security.enrollTokens.create({ schoolId: SENDER.schoolId }, { actor: 'test', source: null });
    const enrolled = await started.security.enrollment.enroll({ token, installationId: randomUUID(), requestedAgentId: SENDER.agentId, roomId: SENDER.roomId }, '127.0.0.1', '127.0.0.1');
    return { cloud: started, url: `mqtt://127.0.0.1:${broker.port}`, agent: enrolled.mqtt };
  }

  async function connect(url: string, options: mqtt.IClientOptions = {}): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...options });
    clients.push(client);
    return client;
  }

  const as = (credentials: MqttCredentials): mqtt.IClientOptions => ({ clientId: credentials.clientId, username: credentials.username, password: credentials.password });

  it('sends the PUBACK only after the event is committed', async () => {
    const { cloud, url, agent: credentials } = await start(300);
    const agent = await connect(url, as(credentials));
    const message = validMessage('fault', SENDER, 1);
    const started = Date.now();
    await agent.publishAsync(topicOf(message), payloadOf(message), { qos: 1 });
    // The PUBACK waited for the batch delay, and the row was written before it.
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    const stored = await cloud.store.events(KEY);
    expect(stored.map((event) => event.eventId)).toEqual([message.eventId]);
  });

  it('acknowledges a hostile publish after counting it, and keeps the connection', async () => {
    const { cloud, url, agent } = await start(5);
    const attacker = await connect(url, as(agent));
    await attacker.publishAsync(topicOf(validMessage('health')), Buffer.from('not json'), { qos: 1 });
    expect(attacker.connected).toBe(true);
    expect(await cloud.store.countEvents()).toBe(0);
  });

  it('stores the last will of an agent whose connection drops as status offline, and keeps it retained', async () => {
    // Open mode, as --insecure-open-broker: the dashboard below subscribes to every agent's status.
    const { cloud, url } = await start(5, 'open');
    const online = validMessage('status', SENDER);
    const will: StatusMessage = { ...(validMessage('status', SENDER) as StatusMessage), state: 'offline', reason: 'connection lost' };
    const agent = await connect(url, { clientId: 'pc-01', will: { topic: topicOf(will), payload: payloadOf(will), qos: 1, retain: true } });
    await agent.publishAsync(topicOf(online), payloadOf(online), { qos: 1, retain: true });
    expect((await cloud.store.getAgent(KEY))?.state).toBe('online');

    // A crash or a pulled cable: the socket ends without DISCONNECT, so the broker publishes the will.
    agent.stream.destroy();
    await expect.poll(async () => (await cloud.store.getAgent(KEY))?.state, { timeout: 5_000 }).toBe('offline');
    expect((await cloud.store.getAgent(KEY))?.stateReason).toBe('connection lost');
    expect((await cloud.store.events(KEY, { type: 'status' })).map((event) => event.eventId).sort()).toEqual([online.eventId, will.eventId].sort());

    // Retained: a dashboard subscribing now is told the agent is offline.
    const dashboard = await connect(url, { clientId: 'dashboard' });
    const received = new Promise<Buffer>((resolve) => dashboard.once('message', (_topic, payload) => resolve(payload)));
    await dashboard.subscribeAsync(topicFilter('status'), { qos: 1 });
    expect(JSON.parse((await received).toString())).toMatchObject({ eventId: will.eventId, state: 'offline' });
  });

  it('stores the last will of an enrolled agent whose connection drops', async () => {
    const { cloud, url, agent: credentials } = await start(5);
    // Made after "online": the store keeps the newer status.
    const online = validMessage('status', SENDER);
    const will: StatusMessage = { ...(validMessage('status', SENDER) as StatusMessage), state: 'offline', reason: 'connection lost' };
    const agent = await connect(url, { ...as(credentials), will: { topic: topicOf(will), payload: payloadOf(will), qos: 1, retain: true } });
    await agent.publishAsync(topicOf(online), payloadOf(online), { qos: 1, retain: true });
    agent.stream.destroy();
    await expect.poll(async () => (await cloud.store.getAgent(KEY))?.stateReason, { timeout: 5_000 }).toBe('connection lost');
  });

  it('in open mode (--insecure-open-broker) forwards agent publishes to other subscribers', async () => {
    const { url } = await start(5, 'open');
    const dashboard = await connect(url, { clientId: 'dashboard' });
    await dashboard.subscribeAsync(topicFilter('+'), { qos: 1 });
    const received = new Promise<string>((resolve) => dashboard.once('message', (topic) => resolve(topic)));
    const agent = await connect(url, { clientId: 'pc-01' });
    const message = validMessage('measurement', SENDER, 1);
    await agent.publishAsync(topicOf(message), payloadOf(message), { qos: 1 });
    expect(await received).toBe(topicOf(message));
  });

  it('names the port and the --mqtt-port flag when the port is taken', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      cloud = await startTestCollector('sqlite');
      const failure = startEmbeddedBroker({ port, host: '127.0.0.1', collector: cloud.collector, log: silentLogger, authentication: { mode: 'open' } });
      await expect(failure).rejects.toBeInstanceOf(AvcareError);
      await expect(failure).rejects.toMatchObject({ code: 'PORT_IN_USE', message: `port ${port} is already in use; choose another with --mqtt-port` });
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
