import { describe, expect, it } from 'vitest';
import { agentMessageSchema, parseTopic } from '../../protocol/index.js';
import { nextMessage, simulatedFleet } from './telemetry.js';

describe('simulated telemetry for the benchmarks', () => {
  it('produces messages that pass the protocol schemas, on their own agents\' topics, with contiguous seqs', () => {
    const fleet = simulatedFleet(50);
    const kinds = new Set<string>();
    for (let index = 0; index < 400; index += 1) {
      const agent = fleet[index % fleet.length];
      if (!agent) throw new Error('fleet too small');
      const { topic, payload } = nextMessage(agent, index);
      const message = agentMessageSchema.parse(JSON.parse(payload));
      expect(parseTopic(topic)).toEqual({ school: message.schoolId, room: message.roomId, agent: message.agentId, kind: message.type });
      kinds.add(message.type);
    }
    expect([...kinds].sort()).toEqual(['fault', 'health', 'inventory', 'measurement']);
    expect(fleet.every((agent) => agent.seq === 8)).toBe(true);
  });
});
