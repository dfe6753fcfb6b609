import { randomUUID } from 'node:crypto';
import { agentMqttClientId, agentMqttUsername, type MqttCredentials } from '../../protocol/index.js';
import { silentLogger } from '../../protocol/log.js';
import { MosquittoDynsec } from '../../cloud/broker/mosquitto-dynsec.js';
import { startMosquitto, type OwnMosquitto } from './mosquitto.js';

/**
 * A Mosquitto with dynamic security whose accounts the test makes the way the cloud does (an
 * agent's client and role, the collector's): for suites of the transport and the collector that
 * run without the cloud's database, with authentication on all the same.
 */
export interface ProvisionedMosquitto {
  mosquitto: OwnMosquitto;
  agent(identity: { schoolId: string; agentId: string }): Promise<MqttCredentials>;
  collector(clientId: string): Promise<{ username: string; password: string; clientId: string }>;
  close(): Promise<void>;
}

export async function provisionedMosquitto(): Promise<ProvisionedMosquitto> {
  const mosquitto = await startMosquitto({ dynsec: true });
  if (!mosquitto.admin) throw new Error('the test Mosquitto has no dynamic-security admin');
  const dynsec = await MosquittoDynsec.connect({ url: mosquitto.url, ...mosquitto.admin }, silentLogger);
  await dynsec.secureDefaults();
  return {
    mosquitto,
    async agent({ schoolId, agentId }) {
      const credentials = { url: mosquitto.url, username: agentMqttUsername(schoolId, agentId), password: `avc_ms_${randomUUID()}${randomUUID()}`, clientId: agentMqttClientId(schoolId, agentId) };
      await dynsec.grantAgent({ schoolId, agentId, username: credentials.username, clientId: credentials.clientId }, credentials.password);
      return credentials;
    },
    async collector(clientId) {
      const password = `avc_bs_${randomUUID()}`;
      await dynsec.grantCollector(clientId, password);
      return { username: clientId, password, clientId };
    },
    async close() {
      await dynsec.close();
      await mosquitto.stop();
    },
  };
}
