/**
 * Remote sessions with Mosquitto as the broker (the larger installs' setup): the cloud grants the
 * enrolled agent its topics through dynamic security, signs the request and the command into the
 * agent's inbox, and takes the agent's answers from its session topic. The agent is played by an
 * MQTT client holding the enrolled agent's credentials, which checks each signature.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkSignature } from '../../protocol/signed-payload.js';
import { agentSessionInbox, agentSessionTopic, cloudSessionMessageSchema, signedSessionPayloadSchema, type SignedSessionPayload } from '../../protocol/remote-session.js';
import { startCloud, type RunningCloud } from '../../cloud/main.js';
import { enrollmentToken, enrollThroughApi, eventually, getJson, operatorPasswordFile, postJson } from '../cloud/cloud-process.js';
import { startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import { TEST_SCRYPT } from '../helpers/security.js';

describe('a remote session over Mosquitto with dynamic security', () => {
  let broker: OwnMosquitto;
  let cloud: RunningCloud;
  let baseUrl: string;

  beforeAll(async () => {
    broker = await startMosquitto({ dynsec: true });
    const dir = mkdtempSync(join(tmpdir(), 'avcare-session-mosquitto-'));
    writeFileSync(join(dir, 'dynsec-password'), `${broker.admin?.password ?? ''}\n`);
    writeFileSync(join(dir, 'service.json'), JSON.stringify({ regions: [{ id: 'hz', city: 'Hangzhou' }], teams: [{ id: 'team-hz', regions: ['hz'] }], schools: [{ id: 'sch-1', region: 'hz' }] }));
    cloud = await startCloud({
      host: '127.0.0.1',
      httpPort: 0,
      dataDir: dir,
      brokerUrl: broker.url,
      brokerUser: broker.admin?.username ?? '',
      brokerPasswordFile: join(dir, 'dynsec-password'),
      serviceConfig: join(dir, 'service.json'),
      adminPasswordFile: operatorPasswordFile(),
      scryptCost: TEST_SCRYPT,
      reflector: { enabled: false },
      testSchedule: { enabled: false },
    });
    baseUrl = cloud.httpUrl.replace(/\/$/, '');
  }, 60_000);

  afterAll(async () => {
    await cloud?.stop();
    await broker?.stop();
  });

  it('signs the request and the command into the agent\'s inbox and takes its answers', async () => {
    const credentials = await enrollThroughApi(baseUrl, await enrollmentToken(baseUrl, 'sch-1'), { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-01' });
    const agent = await mqtt.connectAsync(broker.url, { protocolVersion: 4, clientId: credentials.clientId, username: credentials.username, password: credentials.password, reconnectPeriod: 0 });
    const received: SignedSessionPayload[] = [];
    agent.on('message', (_topic, payload) => {
      const message = cloudSessionMessageSchema.parse(JSON.parse(payload.toString()));
      expect(checkSignature(message.signed, cloud.security.signingKey)).toEqual({ ok: true });
      received.push(signedSessionPayloadSchema.parse(JSON.parse(message.signed.payload)));
    });
    await agent.subscribeAsync(agentSessionInbox('sch-1', 'pc-01'), { qos: 1 });

    const operator = (await postJson<{ token: string }>(`${baseUrl}/api/auth/login`, { name: 'operator', password: 'operator passphrase for the test' })).body.token;
    await postJson(`${baseUrl}/api/users`, { name: 'wang-engineer', role: 'engineer', team: 'team-hz', password: 'wang-engineer passphrase' }, operator);
    const engineer = (await postJson<{ token: string }>(`${baseUrl}/api/auth/login`, { name: 'wang-engineer', password: 'wang-engineer passphrase' })).body.token;

    const requested = await postJson<{ session: { id: string } }>(`${baseUrl}/api/sessions`, { schoolId: 'sch-1', agentId: 'pc-01', reason: 'no sound in r101', scopes: ['inventory'] }, engineer);
    expect(requested.status, JSON.stringify(requested.body)).toBe(200);
    const sessionId = requested.body.session.id;
    const request = await eventually(() => Promise.resolve(received.find((payload) => payload.kind === 'session-request')), 10_000, 'the signed request');
    expect(request).toMatchObject({ sessionId, engineer: { name: 'wang-engineer' }, scopes: ['inventory'] });

    const topic = agentSessionTopic({ school: 'sch-1', room: 'r101', agent: 'pc-01' });
    const now = new Date();
    await agent.publishAsync(topic, JSON.stringify({ type: 'consent-answer', sessionId, decision: 'approve', by: 'pc:teacher', at: now.toISOString(), expiresAt: new Date(now.getTime() + 30 * 60_000).toISOString(), scopes: ['inventory'] }), { qos: 1 });
    await eventually(async () => ((await getJson<{ session: { state: string } }>(`${baseUrl}/api/sessions/${sessionId}`, engineer)).body.session.state === 'active' ? true : undefined), 10_000, 'the approval in the cloud');

    const ran = await postJson<{ command: { id: string } }>(`${baseUrl}/api/sessions/${sessionId}/commands`, { action: 'inventory' }, engineer);
    const command = await eventually(() => Promise.resolve(received.find((payload) => payload.kind === 'command')), 10_000, 'the signed command');
    expect(command).toMatchObject({ commandId: ran.body.command.id, action: 'inventory', consent: { approvedBy: 'pc:teacher', scopes: ['inventory'] } });
    await agent.publishAsync(topic, JSON.stringify({ type: 'command-result', commandId: ran.body.command.id, sessionId, status: 'ok', result: { devices: [] }, startedAt: now.toISOString(), finishedAt: new Date().toISOString() }), { qos: 1 });
    const shown = await eventually(async () => {
      const { body } = await getJson<{ commands: Array<{ status: string; result: unknown }> }>(`${baseUrl}/api/sessions/${sessionId}`, engineer);
      return body.commands[0]?.status === 'ok' ? body.commands[0] : undefined;
    }, 10_000, 'the result in the cloud');
    expect(shown.result).toEqual({ devices: [] });
    await agent.endAsync();
  }, 60_000);
});
