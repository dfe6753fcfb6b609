import { createHmac, pbkdf2Sync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { agentMqttClientId, agentMqttUsername } from '../../protocol/index.js';
import { agentAcls, AGENT_ROLE_PREFIX, collectorAcls, COLLECTOR_ROLE } from '../../cloud/broker/mosquitto-dynsec.js';
import { startMosquitto, type OwnMosquitto } from '../helpers/mosquitto.js';

/**
 * The two brokers a benchmark compares in one run: Mosquitto open to anyone (the cloud with
 * --insecure-open-broker, as before identity), and Mosquitto with dynamic security, one client
 * and role per agent as the cloud provisions them, every agent publishing over its own
 * authenticated connection.
 */
export type AccessMode = 'open' | 'authenticated';

export interface BenchIdentity {
  school: string;
  agent: string;
}

export interface AgentPublisher {
  /** QoS 1 as `as` would publish it; `done` gets the PUBACK (or the error). */
  publish(as: BenchIdentity, topic: string, payload: string, done: (error?: Error) => void): void;
  /** Connections opened so far (1 when open). */
  connections(): number;
  end(): Promise<void>;
}

export interface BenchBroker {
  readonly mode: AccessMode;
  readonly url: string;
  readonly mosquitto: OwnMosquitto;
  /** `avcare-cloud start` flags for this broker. */
  readonly cloudArgs: readonly string[];
  /** A client acting as the collector before the cloud starts (to create its persistent session). */
  collectorOptions(clientId: string): IClientOptions;
  publisher(): AgentPublisher;
  close(): Promise<void>;
}

/** mosquitto 2.0 plugins/dynamic-security: PBKDF2-HMAC-SHA512 of the password, 12-byte salt, 101 iterations, 64-byte hash. */
function dynsecPassword(password: string): { password: string; salt: string; iterations: number } {
  const salt = randomBytes(12);
  return { password: pbkdf2Sync(password, salt, 101, 64, 'sha512').toString('base64'), salt: salt.toString('base64'), iterations: 101 };
}

/**
 * Writes thousands of agents' clients and roles into the dynamic-security file before Mosquitto
 * starts, with exactly the ACLs the cloud grants (agentAcls, collectorAcls). Provisioning them
 * one by one over $CONTROL costs ~0.1 s each at 2,000 agents (the plugin rewrites its whole
 * file per command): fine for PCs enrolling over a day, minutes for a benchmark's start.
 */
function seedDynsec(file: string, agents: ReadonlyArray<BenchIdentity & { password: string }>, collectors: ReadonlyArray<{ username: string; password: string }>): void {
  const config = JSON.parse(readFileSync(file, 'utf8')) as { clients: unknown[]; roles: unknown[]; defaultACLAccess: unknown };
  config.defaultACLAccess = { publishClientSend: false, publishClientReceive: true, subscribe: false, unsubscribe: true };
  config.roles.push({ rolename: COLLECTOR_ROLE, acls: collectorAcls() });
  for (const collector of collectors) config.clients.push({ username: collector.username, roles: [{ rolename: COLLECTOR_ROLE, priority: 0 }], ...dynsecPassword(collector.password) });
  for (const agent of agents) {
    const rolename = `${AGENT_ROLE_PREFIX}${agent.school}:${agent.agent}`;
    config.roles.push({ rolename, acls: agentAcls({ schoolId: agent.school, agentId: agent.agent }) });
    config.clients.push({ username: agentMqttUsername(agent.school, agent.agent), clientid: agentMqttClientId(agent.school, agent.agent), roles: [{ rolename, priority: 0 }], ...dynsecPassword(agent.password) });
  }
  writeFileSync(file, JSON.stringify(config));
}

export async function startBenchBroker(mode: AccessMode, identities: readonly BenchIdentity[], collectorIds: readonly string[]): Promise<BenchBroker> {
  if (mode === 'open') {
    const mosquitto = await startMosquitto();
    return {
      mode,
      url: mosquitto.url,
      mosquitto,
      cloudArgs: ['--broker', mosquitto.url, '--insecure-open-broker'],
      collectorOptions: (clientId) => ({ clientId }),
      publisher: () => sharedPublisher(mosquitto.url),
      close: () => mosquitto.stop(),
    };
  }
  const runKey = randomBytes(32);
  const secretOf = (name: string): string => `avc_ms_${createHmac('sha256', runKey).update(name).digest('base64url')}`;
  const collectors = collectorIds.map((clientId) => ({ username: clientId, password: secretOf(`collector:${clientId}`) }));
  const mosquitto = await startMosquitto({
    dynsec: true,
    seed: (file) => seedDynsec(file, identities.map((identity) => ({ ...identity, password: secretOf(`${identity.school}:${identity.agent}`) })), collectors),
  });
  const admin = mosquitto.admin ?? fail('no dynamic-security admin');
  const passwordFile = join(mosquitto.dir, 'admin-password');
  writeFileSync(passwordFile, `${admin.password}\n`, { mode: 0o600 });
  return {
    mode,
    url: mosquitto.url,
    mosquitto,
    cloudArgs: ['--broker', mosquitto.url, '--broker-user', admin.username, '--broker-password-file', passwordFile],
    collectorOptions: (clientId) => ({ clientId, username: clientId, password: collectors.find((collector) => collector.username === clientId)?.password ?? fail(`no collector ${clientId}`) }),
    publisher: () => perAgentPublisher(mosquitto.url, (identity) => secretOf(`${identity.school}:${identity.agent}`)),
    close: () => mosquitto.stop(),
  };
}

/** One connection for every simulated agent: how the benchmarks published before identity. */
function sharedPublisher(url: string): AgentPublisher {
  const connecting = mqtt.connectAsync(url, { clientId: `bench-pub-${process.pid}-${randomBytes(3).toString('hex')}`, protocolVersion: 4, writeCache: false });
  return {
    publish(_as, topic, payload, done) {
      connecting.then((client) => client.publish(topic, payload, { qos: 1 }, (error) => done(error)), (error: unknown) => done(error as Error));
    },
    connections: () => 1,
    end: async () => (await connecting).endAsync(),
  };
}

/**
 * Each agent over its own connection, opened at its first publish and kept; with its own
 * credentials when `secretOf` gives them (an open broker takes none).
 */
export function perAgentPublisher(url: string, secretOf?: (identity: BenchIdentity) => string): AgentPublisher {
  const clients = new Map<string, Promise<MqttClient>>();
  return {
    publish(as, topic, payload, done) {
      const key = `${as.school}:${as.agent}`;
      let connecting = clients.get(key);
      if (!connecting) {
        const credentials = secretOf ? { username: agentMqttUsername(as.school, as.agent), password: secretOf(as) } : {};
        connecting = mqtt.connectAsync(url, { clientId: agentMqttClientId(as.school, as.agent), ...credentials, protocolVersion: 4, writeCache: false, reconnectPeriod: 1_000, keepalive: 60 });
        clients.set(key, connecting);
      }
      connecting.then((client) => client.publish(topic, payload, { qos: 1 }, (error) => done(error)), (error: unknown) => done(error as Error));
    },
    connections: () => clients.size,
    async end() {
      await Promise.all([...clients.values()].map(async (connecting) => (await connecting).endAsync()));
    },
  };
}

function fail(message: string): never {
  throw new Error(message);
}
