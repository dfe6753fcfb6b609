import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { validMessage, payloadOf, topicOf } from '../collector/agent-traffic.js';
import { freePort } from '../helpers/free-port.js';
import { startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';
import type { MqttCredentials } from '../../protocol/index.js';
import { CLOUD_CLI, enrollmentToken, enrollThroughApi as enrollWithToken, eventually, getJson, operatorPasswordFile as adminPasswordFile, runNodeEntry, signIn, TEST_OPERATOR_PASSWORD, type RunningProcess } from './cloud-process.js';

const running: RunningProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cloud of running.splice(0)) cloud.kill();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

function startCloudCli(args: string[]): RunningProcess {
  const cloud = runNodeEntry(CLOUD_CLI, ['start', ...args], { env: { AVCARE_LOG_LEVEL: 'warn' } });
  running.push(cloud);
  return cloud;
}

async function enrollThroughApi(baseUrl: string, sender: { schoolId: string; roomId: string; agentId: string }): Promise<MqttCredentials> {
  return enrollWithToken(baseUrl, await enrollmentToken(baseUrl, sender.schoolId), sender);
}

/** Publishes one valid status message at QoS 1, as the enrolled agent, and resolves once the broker acknowledged it. */
async function publishStatus(url: string, sender: { schoolId: string; roomId: string; agentId: string }, credentials: MqttCredentials): Promise<void> {
  const client = await mqtt.connectAsync(url, { protocolVersion: 4, clientId: credentials.clientId, username: credentials.username, password: credentials.password });
  try {
    const message = validMessage('status', sender);
    await client.publishAsync(topicOf(message), payloadOf(message), { qos: 1, retain: true });
  } finally {
    await client.endAsync();
  }
}

function occupy(port: number): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolveServer(server));
  });
}

describe('avcare-cloud start (the built binary)', () => {
  it('serves /healthz, stores what an agent publishes to its embedded broker, and stops cleanly on SIGTERM', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const cloud = startCloudCli(['--port', String(httpPort), '--mqtt-port', String(mqttPort), '--host', '127.0.0.1', '--admin-password-file', adminPasswordFile()]);
    await cloud.waitForOutput(/Ctrl-C stops/);
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    expect(cloud.stdout()).toContain(`API       ${baseUrl}/api/agents`);
    expect(cloud.stdout()).toContain(`MQTT      mqtt://127.0.0.1:${mqttPort}`);
    expect(cloud.stdout()).toMatch(/database {2}sqlite:.*avcare-data\/avcare\.db/);
    expect(cloud.stdout()).toContain('Created the operator account "operator" with the password from --admin-password-file');

    expect(await getJson(`${baseUrl}/healthz`)).toEqual({ status: 200, body: { status: 'ok', db: 'ok' } });
    // Anonymous: refused by the broker and by the API.
    await expect(mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { protocolVersion: 4, clientId: 'anonymous', reconnectPeriod: 0 })).rejects.toThrow(/not authorized/i);
    expect((await getJson(`${baseUrl}/api/agents`)).status).toBe(401);

    const sender = { schoolId: 'sch-cli', roomId: 'r1', agentId: 'pc-1' };
    await publishStatus(`mqtt://127.0.0.1:${mqttPort}`, sender, await enrollThroughApi(baseUrl, sender));
    // The embedded broker acknowledges only once the collector committed: the agent is there already.
    const token = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    const { body } = await getJson<{ agents: { id: string; state: string }[] }>(`${baseUrl}/api/agents`, token);
    expect(body.agents).toEqual([expect.objectContaining({ id: 'sch-cli:pc-1', state: 'online' })]);

    cloud.child.kill('SIGTERM');
    expect(await cloud.exited).toBe(0);
    expect(cloud.stdout()).toContain('avcare cloud stopped');
  });

  it('refuses an HTTP port that is taken, naming the port and --port, and exits', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const blocker = await occupy(httpPort);
    cleanups.push(() => new Promise((done) => blocker.close(() => done())));
    const cloud = startCloudCli(['--port', String(httpPort), '--mqtt-port', String(mqttPort)]);
    // Exiting at all shows the failed start closed the database and everything else it had opened.
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain(`port ${httpPort} is already in use; choose another with --port`);
  });

  it('refuses an MQTT port that is taken, naming the port and --mqtt-port, and exits', async () => {
    const [httpPort, mqttPort] = [await freePort(), await freePort()];
    const blocker = await occupy(mqttPort);
    cleanups.push(() => new Promise((done) => blocker.close(() => done())));
    const cloud = startCloudCli(['--port', String(httpPort), '--mqtt-port', String(mqttPort)]);
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain(`port ${mqttPort} is already in use; choose another with --mqtt-port`);
  });

  it('refuses an out-of-range option naming its flag', async () => {
    const cloud = startCloudCli(['--retention-raw-days', '0', '--port', '70000']);
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain('--port: must be a port number from 0 to 65535');
    expect(cloud.stderr()).toContain('--retention-raw-days');
  });

  it('refuses --shared-group without --broker: only an external broker shares a stream', async () => {
    const cloud = startCloudCli(['--shared-group', 'avcare', '--port', '0', '--mqtt-port', '0']);
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain('--shared-group and --collector-id apply to an external broker: give --broker too');
  });

  it('refuses a service configuration it cannot read or that is wrong, naming the file and the field', async () => {
    const missing = startCloudCli(['--service', '/nonexistent/service.json', '--port', '0', '--mqtt-port', '0']);
    expect(await missing.exited).toBe(1);
    expect(missing.stderr()).toContain('cannot read the service configuration /nonexistent/service.json');
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-service-')), 'service.json');
    writeFileSync(file, JSON.stringify({ schools: [{ id: 'sch-1', region: 'atlantis' }] }));
    const wrong = startCloudCli(['--service', file, '--port', '0', '--mqtt-port', '0']);
    expect(await wrong.exited).toBe(1);
    expect(wrong.stderr()).toContain('schools.0.region: no region atlantis in regions');
  });

  it('refuses --mqtt-port together with --broker, which replaces the embedded broker', async () => {
    const cloud = startCloudCli(['--broker', 'mqtt://127.0.0.1:1', '--mqtt-port', '1884']);
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain('--mqtt-port sets the embedded broker, which --broker replaces');
  });

  it('refuses an external broker it cannot manage, unless told it is open', async () => {
    const cloud = startCloudCli(['--broker', 'mqtt://127.0.0.1:1', '--port', '0']);
    expect(await cloud.exited).toBe(1);
    expect(cloud.stderr()).toContain("--broker-user: an external broker needs the dynamic-security admin the cloud manages agents' access with (--broker-user and --broker-password-file), or --insecure-open-broker");
  });

  it('with --broker subscribes to an external Mosquitto with dynamic security, which it provisions for each agent', async () => {
    const mosquitto: OwnMosquitto = await startMosquitto({ dynsec: true });
    cleanups.push(() => mosquitto.stop());
    const passwordFile = join(mkdtempSync(join(tmpdir(), 'avcare-broker-')), 'dynsec-admin');
    writeFileSync(passwordFile, `${mosquitto.admin?.password ?? ''}\n`, { mode: 0o600 });
    const httpPort = await freePort();
    const baseUrl = `http://127.0.0.1:${httpPort}`;
    // No --mqtt-port: were it embedding a broker, the default 1883 (this machine's Mosquitto) would refuse it.
    const cloud = startCloudCli(['--port', String(httpPort), '--broker', mosquitto.url, '--broker-user', mosquitto.admin?.username ?? '', '--broker-password-file', passwordFile, '--admin-password-file', adminPasswordFile()]);
    await cloud.waitForOutput(/Ctrl-C stops/);
    expect(cloud.stdout()).toContain(`mqtt://127.0.0.1:${mosquitto.port}   (external broker, subscribed)`);
    expect(cloud.stdout()).toContain('access    Mosquitto dynamic security: one client and role per agent');

    const sender = { schoolId: 'sch-ext', roomId: 'r1', agentId: 'pc-2' };
    await publishStatus(mosquitto.url, sender, await enrollThroughApi(baseUrl, sender));
    const token = await signIn(baseUrl, 'operator', TEST_OPERATOR_PASSWORD);
    const agents = await eventually(
      async () => {
        const { body } = await getJson<{ agents: { id: string }[] }>(`${baseUrl}/api/agents`, token);
        return body.agents.length > 0 ? body.agents : undefined;
      },
      10_000,
      'the agent to appear through Mosquitto',
    );
    expect(agents.map((a) => a.id)).toEqual(['sch-ext:pc-2']);

    cloud.child.kill('SIGTERM');
    expect(await cloud.exited).toBe(0);
  });
});
