/**
 * Reflector accounts at both brokers the cloud runs with (the embedded aedes and a Mosquitto with
 * dynamic security that the cloud provisions): a reflector reads agents' signalling and answers into
 * their signalling inboxes, and can do nothing else; revoking it drops it at once. At the API, only
 * an operator manages them, on SQLite and PostgreSQL, and each act is in the audit log.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { agentInboxTopic, type MqttCredentials } from '../../protocol/index.js';
import { agentSignalInbox, agentSignalTopic, signalFilter } from '../../protocol/measure-signal.js';
import { buildApp } from '../../cloud/app.js';
import { UNMANAGED_BROKER } from '../../cloud/broker/broker-access.js';
import { CloudMetrics } from '../../cloud/metrics.js';
import { attachBroker } from '../../cloud/security.js';
import { agentKey } from '../../cloud/store/store.js';
import { payloadOf, topicOf, validMessage, type Sender } from '../collector/agent-traffic.js';
import { openTestStore, startTestCollector, type Backend, type CollectorUnderTest, type StoreUnderTest } from '../collector/cloud-under-test.js';
import { SECURED_INGRESSES, type SecuredIngress } from '../helpers/secured-ingress.js';
import { grantedQos } from '../helpers/subscribe-grants.js';
import { bearer, testSecurity, type TestSecurity } from '../helpers/security.js';

const PC01: Sender = { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' };
const OPERATOR = { actor: 'user:operator', source: '127.0.0.1' };

describe.each(Object.keys(SECURED_INGRESSES))('a reflector account at %s', (ingressName) => {
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

  async function setUp(): Promise<{ cloud: CollectorUnderTest; ingress: SecuredIngress; pc01: MqttCredentials; reflector: IClientOptions }> {
    cloud = await startTestCollector('sqlite', { maxDelayMs: 5 });
    const start = SECURED_INGRESSES[ingressName];
    if (!start) throw new Error(`no ingress ${ingressName}`);
    ingress = await start(cloud.collector, cloud.security, 'avcare-collector-reflectors');
    const created = await cloud.security.reflectors.create('near-school', OPERATOR);
    const reflector = { clientId: created.account.clientId, username: created.account.username, password: created.secret };
    return { cloud, ingress, pc01: await ingress.enroll(PC01), reflector };
  }

  async function connect(url: string, options: IClientOptions): Promise<MqttClient> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    clients.push(client);
    return client;
  }

  function nextMessage(client: MqttClient, topic: string, withinMs = 3_000): Promise<string | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(undefined), withinMs);
      client.on('message', (received, payload) => {
        if (received !== topic) return;
        clearTimeout(timer);
        resolve(payload.toString());
      });
    });
  }

  it('reads an agent\'s signalling and answers into its signalling inbox', async () => {
    const { ingress, pc01, reflector: account } = await setUp();
    const reflector = await connect(ingress.url, account);
    expect(await grantedQos(reflector, [signalFilter()])).toEqual([1]);
    const agent = await connect(ingress.url, { clientId: pc01.clientId, username: pc01.username, password: pc01.password });
    await agent.subscribeAsync(agentSignalInbox(PC01.schoolId, PC01.agentId), { qos: 1 });

    const offer = nextMessage(reflector, agentSignalTopic({ school: PC01.schoolId, room: PC01.roomId, agent: PC01.agentId }));
    await agent.publishAsync(agentSignalTopic({ school: PC01.schoolId, room: PC01.roomId, agent: PC01.agentId }), '{"type":"bye","sessionId":"s"}', { qos: 1 });
    expect(await offer).toContain('"bye"');

    const answer = nextMessage(agent, agentSignalInbox(PC01.schoolId, PC01.agentId));
    await reflector.publishAsync(agentSignalInbox(PC01.schoolId, PC01.agentId), '{"type":"answer"}', { qos: 1 });
    expect(await answer).toContain('"answer"');
  });

  it('may not read telemetry, publish telemetry as an agent, or write to an agent\'s other inbox topics', async () => {
    const { cloud, ingress, pc01, reflector: account } = await setUp();
    const reflector = await connect(ingress.url, account);
    expect(await grantedQos(reflector, ['avcare/v1/#'])).toEqual([128]);
    expect(await grantedQos(reflector, ['avcare/to/v1/#'])).toEqual([128]);

    const agent = await connect(ingress.url, { clientId: pc01.clientId, username: pc01.username, password: pc01.password });
    const otherInbox = agentInboxTopic(PC01.schoolId, PC01.agentId, 'config');
    await agent.subscribeAsync(otherInbox, { qos: 1 });
    const delivered = nextMessage(agent, otherInbox, 1_500);
    reflector.publish(otherInbox, '{"forged":true}', { qos: 1 }, () => undefined);
    expect(await delivered).toBeUndefined();

    const forged = validMessage('fault', PC01, 1);
    reflector.publish(topicOf(forged), payloadOf(forged), { qos: 1 }, () => undefined);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await cloud.store.events(agentKey(PC01.schoolId, PC01.agentId))).toEqual([]);
  });

  it('is dropped at once when revoked, and its secret is refused from then on', async () => {
    const { cloud, ingress, reflector: account } = await setUp();
    const reflector = await connect(ingress.url, account);
    const closed = new Promise<void>((resolve) => reflector.once('close', () => resolve()));
    await cloud.security.reflectors.revoke('near-school', OPERATOR);
    await closed;
    await expect(mqtt.connectAsync(ingress.url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000, ...account })).rejects.toThrow(/Bad username or password|Not authorized/i);
  });
});

describe.each<Backend>(['sqlite', 'postgres'])('reflector accounts at the API on %s', (backend) => {
  let opened: StoreUnderTest;
  let app: FastifyInstance;
  let auth: TestSecurity;
  const post = (url: string, payload: object, headers: { authorization: string }): Promise<LightMyRequestResponse> => app.inject({ method: 'POST', url, payload, headers });
  const get = (url: string, headers: { authorization: string }): Promise<LightMyRequestResponse> => app.inject({ method: 'GET', url, headers });
  const code = (response: LightMyRequestResponse): string | undefined => response.json<{ error?: { code: string } }>().error?.code;

  beforeAll(async () => {
    opened = await openTestStore(backend);
    auth = await testSecurity(opened.store, { agentMqttUrl: 'mqtts://cloud.example:8883' });
    attachBroker(auth.security, UNMANAGED_BROKER);
    app = buildApp({ store: opened.store, metrics: new CloudMetrics(), log: pino({ level: 'silent' }), security: auth.security });
  });
  afterAll(async () => {
    await app.close();
    await opened.dispose();
  });

  it('lets an operator add one, gives the secret once with the broker URL and the cloud key, and keeps only its hash', async () => {
    const operator = bearer(auth.operatorToken);
    const added = await post('/api/reflectors', { id: 'shanghai-1' }, operator);
    expect(added.statusCode, added.body).toBe(200);
    const body = added.json<{ reflector: { id: string; username: string; clientId: string }; secret: string; cloudPublicKey: string; brokerUrl: string }>();
    expect(body.reflector).toMatchObject({ id: 'shanghai-1', username: 'reflector:shanghai-1', clientId: 'avcare-reflector:shanghai-1' });
    expect(body.secret).toMatch(/^avc_rs_/);
    expect(body.cloudPublicKey).toContain('BEGIN PUBLIC KEY');
    expect(body.brokerUrl).toBe('mqtts://cloud.example:8883');
    const stored = await opened.store.database.query<{ secret_hash: string }>('SELECT secret_hash FROM reflector_accounts WHERE reflector_id = $1', ['shanghai-1']);
    expect(stored[0]?.secret_hash).not.toContain(body.secret);
    expect(await auth.security.reflectors.verifyMqtt('reflector:shanghai-1', body.secret)).toMatchObject({ kind: 'reflector', reflectorId: 'shanghai-1' });

    const again = await post('/api/reflectors', { id: 'shanghai-1' }, operator);
    expect([again.statusCode, code(again)]).toEqual([409, 'REFLECTOR_EXISTS']);
    const listed = (await get('/api/reflectors', operator)).json<{ reflectors: Array<{ id: string }> }>();
    expect(listed.reflectors.map((reflector) => reflector.id)).toContain('shanghai-1');
  });

  it('revokes one (its secret stops working), issues a new secret for the id afterwards, and audits each act', async () => {
    const operator = bearer(auth.operatorToken);
    const first = (await post('/api/reflectors', { id: 'beijing-1' }, operator)).json<{ secret: string }>();
    const revoked = await post('/api/reflectors/beijing-1/revoke', {}, operator);
    expect(revoked.json<{ reflector: { revokedAt: string | null } }>().reflector.revokedAt).not.toBeNull();
    expect(await auth.security.reflectors.verifyMqtt('reflector:beijing-1', first.secret)).toBeUndefined();
    const second = (await post('/api/reflectors', { id: 'beijing-1' }, operator)).json<{ secret: string }>();
    expect(second.secret).not.toBe(first.secret);
    expect(await auth.security.reflectors.verifyMqtt('reflector:beijing-1', second.secret)).toBeDefined();
    const audit = await auth.security.audit.list({ limit: 50 });
    expect(audit.filter((entry) => entry.target === 'reflector:beijing-1').map((entry) => entry.action)).toEqual(expect.arrayContaining(['reflector.create', 'reflector.revoke']));
  });

  it('refuses a school admin, an unknown id and a bad id with clear codes', async () => {
    const admin = bearer(await auth.tokenFor({ name: 'admin-sch1', role: 'school_admin', schoolId: 'sch-1' }));
    const forbidden = await post('/api/reflectors', { id: 'rogue' }, admin);
    expect([forbidden.statusCode, code(forbidden)]).toEqual([403, 'FORBIDDEN']);
    const operator = bearer(auth.operatorToken);
    const unknown = await post('/api/reflectors/nowhere/revoke', {}, operator);
    expect([unknown.statusCode, code(unknown)]).toEqual([404, 'REFLECTOR_NOT_FOUND']);
    const bad = await post('/api/reflectors', { id: 'has space' }, operator);
    expect([bad.statusCode, code(bad)]).toEqual([400, 'INVALID_ARGUMENT']);
    expect(bad.body).toContain('id');
  });
});
