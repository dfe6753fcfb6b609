import { describe, expect, it } from 'vitest';
import { agentInboxFilter, agentInboxTopic, agentPublishFilter, topicFor } from '../../protocol/index.js';
import { agentMayPublish, agentMaySubscribe } from './agent-acl.js';

const PC01 = { schoolId: 'sch-1', agentId: 'pc-01' };

describe('agent ACL (the embedded broker; Mosquitto gets the same filters as a role)', () => {
  it('lets an agent publish its own telemetry in any room of its school', () => {
    expect(agentMayPublish(PC01, topicFor({ school: 'sch-1', room: 'r101', agent: 'pc-01', kind: 'health' }))).toBe(true);
    expect(agentMayPublish(PC01, topicFor({ school: 'sch-1', room: 'moved-to-r205', agent: 'pc-01', kind: 'fault' }))).toBe(true);
    // An unknown kind under its own prefix is not impersonation: the collector counts it as unknown-topic.
    expect(agentMayPublish(PC01, 'avcare/v1/sch-1/r101/pc-01/shell')).toBe(true);
    expect(agentPublishFilter('sch-1', 'pc-01')).toBe('avcare/v1/sch-1/+/pc-01/+');
  });

  it('refuses another agent, another school, other depths and other roots', () => {
    for (const topic of [
      'avcare/v1/sch-1/r101/pc-02/health',
      'avcare/v1/sch-2/r101/pc-01/health',
      'avcare/v1/sch-1/r101/pc-01/health/extra',
      'avcare/v1/sch-1/r101/pc-01',
      'avcare/v1/sch-1//pc-01/health',
      'avcare/v2/sch-1/r101/pc-01/health',
      'avcare/to/v1/sch-1/pc-01/command',
      '$SYS/broker/clients',
    ]) {
      expect({ topic, allowed: agentMayPublish(PC01, topic) }).toEqual({ topic, allowed: false });
    }
  });

  it('lets an agent subscribe only to what is addressed to it', () => {
    expect(agentMaySubscribe(PC01, agentInboxFilter('sch-1', 'pc-01'))).toBe(true);
    expect(agentMaySubscribe(PC01, agentInboxTopic('sch-1', 'pc-01', 'signal'))).toBe(true);
    for (const filter of ['#', 'avcare/#', 'avcare/v1/+/+/+/+', 'avcare/to/v1/sch-1/+/#', 'avcare/to/v1/sch-1/pc-02/#', 'avcare/to/v1/sch-1/pc-01', '$share/g/avcare/to/v1/sch-1/pc-01/#', 'avcare/to/v1/sch-1/pc-01-evil/#']) {
      expect({ filter, allowed: agentMaySubscribe(PC01, filter) }).toEqual({ filter, allowed: false });
    }
  });
});
