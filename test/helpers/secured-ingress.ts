import { randomUUID } from 'node:crypto';
import type { MqttCredentials } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import { startEmbeddedBroker } from '../../cloud/broker/embedded-broker.js';
import { MosquittoDynsec } from '../../cloud/broker/mosquitto-dynsec.js';
import type { Collector } from '../../cloud/collector/collector.js';
import { startMqttFeed } from '../../cloud/collector/mqtt-feed.js';
import type { CloudMetrics } from '../../cloud/metrics.js';
import { attachBroker, brokerLogins, type Security } from '../../cloud/security.js';
import { startMosquitto, type OwnMosquitto } from './mosquitto.js';

export interface EnrolledSender {
  schoolId: string;
  agentId: string;
  roomId: string;
}

/**
 * The way MQTT reaches the collector, with authentication on as in production: the embedded
 * broker checking the registry, or a Mosquitto with dynamic security that the cloud provisions
 * and the collector's feed on it with its own credentials.
 */
export interface SecuredIngress {
  url: string;
  kind: 'embedded' | 'mosquitto';
  /** Enrolls an agent through the real enrollment (token, use, broker grant) and returns its credentials. */
  enroll(sender: EnrolledSender): Promise<MqttCredentials>;
  /** Publishes as the cloud does to an agent's inbox. */
  publish(topic: string, payload: Buffer): Promise<void>;
  /** Present for Mosquitto: stop/start it to test outages. */
  mosquitto?: OwnMosquitto;
  close(): Promise<void>;
}

async function enrollWith(security: Security, sender: EnrolledSender): Promise<MqttCredentials> {
  const { token } = await security.enrollTokens.create({ schoolId: sender.schoolId }, { actor: 'test', source: null });
  const answer = await security.enrollment.enroll({ token, installationId: randomUUID(), requestedAgentId: sender.agentId, roomId: sender.roomId }, '127.0.0.1', '127.0.0.1');
  if (answer.agentId !== sender.agentId) throw new Error(`enrolled as ${answer.agentId}, not ${sender.agentId}: the id was taken`);
  return answer.mqtt;
}

export async function securedEmbeddedBroker(collector: Pick<Collector, 'accept'>, security: Security, metrics?: CloudMetrics): Promise<SecuredIngress> {
  const broker = await startEmbeddedBroker({
    port: 0,
    host: '127.0.0.1',
    collector,
    log: silentLogger,
    ...(metrics ? { metrics } : {}),
    authentication: brokerLogins(security),
  });
  attachBroker(security, broker);
  return { url: `mqtt://127.0.0.1:${broker.port}`, kind: 'embedded', enroll: (sender) => enrollWith(security, sender), publish: (topic, payload) => broker.publish(topic, payload), close: () => broker.close() };
}

export async function securedMosquitto(collector: Pick<Collector, 'accept'>, security: Security, options: { clientId: string; reconnectPeriodMs?: number }): Promise<SecuredIngress> {
  const mosquitto = await startMosquitto({ dynsec: true });
  if (!mosquitto.admin) throw new Error('the test Mosquitto has no dynamic-security admin');
  const dynsec = await MosquittoDynsec.connect({ url: mosquitto.url, ...mosquitto.admin }, silentLogger);
  await dynsec.secureDefaults();
  const collectorPassword = `avc_bs_${randomUUID()}`;
  await dynsec.grantCollector(options.clientId, collectorPassword);
  attachBroker(security, dynsec);
  const feed = startMqttFeed({
    url: mosquitto.url,
    collector,
    log: silentLogger,
    clientId: options.clientId,
    username: options.clientId,
    password: collectorPassword,
    ...(options.reconnectPeriodMs === undefined ? {} : { reconnectPeriodMs: options.reconnectPeriodMs }),
  });
  await feed.ready;
  return {
    url: mosquitto.url,
    kind: 'mosquitto',
    mosquitto,
    enroll: (sender) => enrollWith(security, sender),
    publish: (topic, payload) => feed.publish(topic, payload),
    async close() {
      await feed.close();
      await dynsec.close();
      await mosquitto.stop();
    },
  };
}

/** Both ways MQTT reaches the collector with authentication on, for suites run once through each. */
export const SECURED_INGRESSES: Record<string, (collector: Pick<Collector, 'accept'>, security: Security, clientId: string) => Promise<SecuredIngress>> = {
  'the embedded broker (aedes)': (collector, security) => securedEmbeddedBroker(collector, security),
  'Mosquitto with dynamic security and the MQTT feed': (collector, security, clientId) => securedMosquitto(collector, security, { clientId }),
};
