import { parseAgentConfig, type AgentConfig } from '../config.js';
import type { AgentIdentity } from './identity-file.js';

/**
 * The enrolled identity wins over the configuration file for who this agent is and how it
 * reaches the broker: those are bound to its credentials, and a school or agent id that differs
 * from them would only be refused by the broker. The room comes from enrollment unless the file
 * (or --room) names one: a PC may move rooms without enrolling again.
 */
export function applyIdentity(config: AgentConfig, identity: AgentIdentity | undefined): AgentConfig {
  if (!identity) return config;
  return parseAgentConfig(
    {
      ...config,
      schoolId: identity.schoolId,
      agentId: identity.agentId,
      roomId: identity.roomId,
      broker: {
        ...config.broker,
        url: identity.mqtt.url,
        username: identity.mqtt.username,
        password: identity.mqtt.password,
        ...(identity.caFile === undefined ? {} : { caFile: identity.caFile }),
        ...(identity.insecurePlaintext ? { insecurePlaintext: true } : {}),
      },
    },
    'the enrolled identity',
  );
}
