/**
 * Credentials never cross a network in clear: with a certificate the cloud serves https and mqtts
 * and the agent verifies it against a CA it was given; without one, passwords, tokens,
 * enrollment and MQTT secrets are refused from other machines (unless --insecure-plaintext), and
 * still work from this machine (a local reverse proxy, npm start).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { enrollAgent } from '../../agent/identity/enroll.js';
import { readIdentity } from '../../agent/identity/identity-file.js';
import { MqttTransport } from '../../agent/transport/mqtt-transport.js';
import { Outbox, outboxFile } from '../../agent/transport/outbox.js';
import { parseAgentConfig } from '../../agent/config.js';
import { AvcareError, type LoginResponse } from '../../protocol/index.js';
import { requestJson, trustedCas } from '../../protocol/http-json.js';
import { silentLogger } from '../../protocol/log.js';
import { startCloud, type RunningCloud } from '../../cloud/main.js';
import { TEST_SCRYPT } from '../helpers/security.js';
import { makeTestCertificates, nonLoopbackAddress } from '../helpers/test-certificates.js';
import { operatorPasswordFile, TEST_OPERATOR_PASSWORD } from '../cloud/cloud-process.js';

const remote = nonLoopbackAddress();
const running: RunningCloud[] = [];
const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  for (const cloud of running.splice(0)) await cloud.stop();
});

async function cloud(options: { tls?: { certFile: string; keyFile: string }; insecurePlaintext?: boolean } = {}): Promise<RunningCloud> {
  const started = await startCloud({
    host: '0.0.0.0',
    httpPort: 0,
    mqttPort: 0,
    mqttsPort: 0,
    dataDir: mkdtempSync(join(tmpdir(), 'avcare-tls-cloud-')),
    adminPasswordFile: operatorPasswordFile(),
    scryptCost: TEST_SCRYPT,
    insecurePlaintext: options.insecurePlaintext ?? false,
    ...(options.tls ? { tlsCert: options.tls.certFile, tlsKey: options.tls.keyFile } : {}),
  });
  running.push(started);
  return started;
}

async function login(url: string, ca?: string[]): Promise<LoginResponse> {
  const { body } = await requestJson<LoginResponse>({ method: 'POST', url: new URL('/api/auth/login', url), body: { name: 'operator', password: TEST_OPERATOR_PASSWORD }, ...(ca ? { ca } : {}) });
  return body;
}

async function enrollmentToken(url: string, ca?: string[]): Promise<string> {
  const { token } = await login(url, ca);
  const { body } = await requestJson<{ token: string }>({ method: 'POST', url: new URL('/api/enroll-tokens', url), body: { school: 'sch-tls', uses: 5 }, bearerToken: token, ...(ca ? { ca } : {}) });
  return body.token;
}

async function refusal(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (error) {
    return error instanceof AvcareError ? `${error.code}: ${error.message}` : (error as Error).message;
  }
  return 'accepted';
}

describe.skipIf(remote === undefined)('transport security (this machine reached at its own address %s counts as another machine)', () => {
  const host = remote ?? '';

  it('serves https and mqtts with a certificate; the agent enrolls with the CA it was given and publishes over mqtts', async () => {
    const certificates = makeTestCertificates([host]);
    const started = await cloud({ tls: certificates });
    expect(started.httpUrl).toMatch(/^https:/);
    const apiUrl = `https://${host}:${started.httpPort}`;
    const ca = trustedCas(certificates.caFile);
    expect((await login(apiUrl, ca)).account.name).toBe('operator');
    // Without the private CA the certificate is not trusted, and the error says how to fix it.
    expect(await refusal(login(apiUrl, trustedCas()))).toMatch(/CLOUD_UNREACHABLE: .*give its CA with --ca FILE/);

    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-tls-pc-'));
    const enrolled = await enrollAgent({ cloudUrl: apiUrl, token: await enrollmentToken(apiUrl, ca), stateDir, requestedAgentId: 'pc-tls', roomId: 'r1', caFile: certificates.caFile });
    expect(enrolled.identity.mqtt.url).toBe(`mqtts://${host}:${started.mqtt.mode === 'embedded' ? started.mqtt.tlsPort : 0}`);
    expect(readIdentity(stateDir)?.caFile).toBe(certificates.caFile);

    const outbox = new Outbox({ path: outboxFile(stateDir), maxEvents: 1000 });
    closers.push(() => Promise.resolve(outbox.close()));
    const { identity } = enrolled;
    const config = parseAgentConfig({ schoolId: identity.schoolId, agentId: identity.agentId, roomId: identity.roomId, broker: { url: identity.mqtt.url, username: identity.mqtt.username, password: identity.mqtt.password, caFile: certificates.caFile } });
    const transport = new MqttTransport({ identity: config, broker: { ...config.broker, url: identity.mqtt.url }, outbox, log: silentLogger });
    closers.push(() => transport.stop());
    transport.start();
    await expect.poll(() => transport.status().connected, { timeout: 10_000 }).toBe(true);
    await expect.poll(async () => (await started.store.getAgent(`sch-tls:${identity.agentId}`))?.state, { timeout: 10_000 }).toBe('online');
  });

  it('without a certificate refuses credentials from another machine over http and mqtt, and accepts them from this one', async () => {
    const started = await cloud();
    const fromHere = `http://127.0.0.1:${started.httpPort}`;
    const fromNetwork = `http://${host}:${started.httpPort}`;
    expect(await refusal(login(fromNetwork))).toMatch(/^INSECURE_TRANSPORT: /);
    const token = await enrollmentToken(fromHere);
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-plain-pc-'));
    // The agent does not even send the token in clear to another machine...
    expect(await refusal(enrollAgent({ cloudUrl: fromNetwork, token, stateDir, requestedAgentId: 'pc-plain' }))).toMatch(/^INSECURE_TRANSPORT: the enrollment token would cross the network in clear/);
    // ...and the cloud refuses it if it is sent anyway.
    expect(await refusal(enrollAgent({ cloudUrl: fromNetwork, token, stateDir, requestedAgentId: 'pc-plain', insecurePlaintext: true }))).toMatch(/^INSECURE_TRANSPORT: /);
    const { identity } = await enrollAgent({ cloudUrl: fromHere, token, stateDir, requestedAgentId: 'pc-plain' });

    const port = started.mqtt.mode === 'embedded' ? started.mqtt.port : 0;
    const options = { protocolVersion: 4 as const, clientId: identity.mqtt.clientId, username: identity.mqtt.username, password: identity.mqtt.password, reconnectPeriod: 0 };
    expect(await refusal(mqtt.connectAsync(`mqtt://${host}:${port}`, options))).toMatch(/not authorized/i);
    const local = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, options);
    await local.endAsync();
  });

  it('with --insecure-plaintext accepts credentials over plain connections from other machines', async () => {
    const started = await cloud({ insecurePlaintext: true });
    const fromNetwork = `http://${host}:${started.httpPort}`;
    expect((await login(fromNetwork)).account.name).toBe('operator');
    const stateDir = mkdtempSync(join(tmpdir(), 'avcare-lax-pc-'));
    const { identity } = await enrollAgent({ cloudUrl: fromNetwork, token: await enrollmentToken(fromNetwork), stateDir, requestedAgentId: 'pc-lax', insecurePlaintext: true });
    const client = await mqtt.connectAsync(identity.mqtt.url, { protocolVersion: 4, clientId: identity.mqtt.clientId, username: identity.mqtt.username, password: identity.mqtt.password, reconnectPeriod: 0 });
    await client.endAsync();
  });
});
