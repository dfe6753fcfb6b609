import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SCHEMA_VERSION, type FaultMessage } from '../protocol/index.js';
import type { AgentSink } from './agent-sink.js';
import { consoleSink, FAULT_LOG_LINES, withLogExcerpt } from './output.js';

function capture(): { out: Writable; text: () => string } {
  const chunks: string[] = [];
  const out = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(chunk.toString('utf8'));
      done();
    },
  });
  return { out, text: () => chunks.join('') };
}

const raised: FaultMessage = {
  schemaVersion: SCHEMA_VERSION,
  eventId: '00000000-0000-4000-8000-000000000000',
  agentId: 'pc-101',
  schoolId: 'sch',
  roomId: 'r101',
  at: '2025-03-03T08:00:00.000Z',
  type: 'fault',
  state: 'raised',
  code: 'VISCA_NOT_ANSWERING',
  category: 'hardware',
  severity: 'urgent',
  deviceId: 'serial:/dev/ttyUSB0',
  message: 'Front camera does not answer on /dev/ttyUSB0',
  evidence: { actions: [{ action: 'visca-reinit', at: '2025-03-03T08:00:00.000Z', result: 'no answer to IF_Clear or Address Set\u001b[2J' }, { bogus: true }] },
  firstSeenAt: '2025-03-03T07:59:00.000Z',
};

describe('consoleSink', () => {
  it('shows under a raised fault what the agent tried first, escaping control characters', () => {
    const { out, text } = capture();
    consoleSink(out).fault(raised);
    expect(text().split('\n').slice(1)).toEqual(['           tried visca-reinit: no answer to IF_Clear or Address Set\\x1b[2J', '']);
  });

  it('shows nothing tried for a cleared fault', () => {
    const { out, text } = capture();
    consoleSink(out).fault({ ...raised, state: 'cleared' });
    expect(text()).not.toContain('tried');
  });
});

describe('withLogExcerpt', () => {
  it('gives a raised fault the recent log lines, and leaves a clear as it is', () => {
    const faults: FaultMessage[] = [];
    const sink: AgentSink = { inventory: () => undefined, health: () => undefined, fault: (message) => faults.push(message) };
    const asked: number[] = [];
    const enriched = withLogExcerpt(sink, (limit) => {
      asked.push(limit);
      return ['08:00:01 WARN serial port /dev/ttyUSB0: no reply', '08:00:02 INFO probe cycle done'];
    });
    enriched.fault(raised);
    enriched.fault({ ...raised, state: 'cleared' });
    expect(asked).toEqual([FAULT_LOG_LINES]);
    expect(faults[0]?.evidence.logExcerpt).toEqual(['08:00:01 WARN serial port /dev/ttyUSB0: no reply', '08:00:02 INFO probe cycle done']);
    expect(faults[1]?.evidence).not.toHaveProperty('logExcerpt');
  });
});
