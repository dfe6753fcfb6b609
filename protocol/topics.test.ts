import { describe, expect, it } from 'vitest';
import { isAvcareError } from './errors.js';
import { parseTopic, topicFilter, topicFor } from './topics.js';

describe('topics', () => {
  it('builds avcare/v1/<school>/<room>/<agent>/<kind> and parses it back', () => {
    const address = { school: 'sch-001', room: 'r101', agent: 'pc-01', kind: 'fault' } as const;
    const topic = topicFor(address);
    expect(topic).toBe('avcare/v1/sch-001/r101/pc-01/fault');
    expect(parseTopic(topic)).toEqual(address);
  });

  it('refuses ids that would break the topic tree and names the part', () => {
    for (const bad of ['a/b', '+', '#', '', 'x y']) {
      try {
        topicFor({ school: 's', room: bad, agent: 'a', kind: 'status' });
        expect.unreachable(`"${bad}" was accepted`);
      } catch (error) {
        expect(isAvcareError(error) && error.code).toBe('INVALID_TOPIC_ID');
        expect((error as Error).message).toContain('room id');
      }
    }
  });

  it('gives a teacher\'s report a topic of its own kind', () => {
    const topic = topicFor({ school: 'sch-001', room: 'r101', agent: 'pc-01', kind: 'report' });
    expect(topic).toBe('avcare/v1/sch-001/r101/pc-01/report');
    expect(parseTopic(topic)?.kind).toBe('report');
    expect(topicFilter('report')).toBe('avcare/v1/+/+/+/report');
  });

  it('rejects topics that are not ours', () => {
    expect(parseTopic('avcare/v1/s/r/a/unknown')).toBeNull();
    expect(parseTopic('avcare/v2/s/r/a/fault')).toBeNull();
    expect(parseTopic('avcare/v1/s/r/fault')).toBeNull();
    expect(parseTopic('other/v1/s/r/a/fault')).toBeNull();
  });

  it('builds subscription filters per kind and school', () => {
    expect(topicFilter('health')).toBe('avcare/v1/+/+/+/health');
    expect(topicFilter('+', 'sch-001')).toBe('avcare/v1/sch-001/+/+/+');
  });
});
