import { describe, expect, it } from 'vitest';
import { MESSAGE_KINDS, topicFor } from '../../protocol/index.js';
import { payloadOf, SENDER, topicOf, validMessage } from '../../test/collector/agent-traffic.js';
import { gateMessage, jsonDepth, MAX_JSON_DEPTH } from './message-gate.js';

const LIMIT = 256 * 1024;

describe('gateMessage', () => {
  it.each(MESSAGE_KINDS)('accepts a valid %s message on its own topic', (kind) => {
    const message = validMessage(kind, SENDER, 7);
    const result = gateMessage(topicOf(message), payloadOf(message), LIMIT);
    expect(result).toMatchObject({ ok: true, message: { eventId: message.eventId, type: kind }, address: { school: 'sch-1', room: 'r101', agent: 'pc-01', kind } });
  });

  it('rejects an oversize payload before parsing it', () => {
    // Not JSON at all: had it been parsed, the reason would be bad-json.
    const result = gateMessage(topicOf(validMessage('health')), Buffer.alloc(LIMIT + 1, 0x7b), LIMIT);
    expect(result).toEqual({ ok: false, reason: 'oversize', detail: `${LIMIT + 1} bytes is over the limit of ${LIMIT}` });
  });

  it('accepts a payload of exactly the size limit', () => {
    const message = validMessage('health');
    const payload = payloadOf(message);
    expect(gateMessage(topicOf(message), payload, payload.length).ok).toBe(true);
  });

  it.each([
    ['another application', 'home/kitchen/temperature'],
    ['an unknown kind', 'avcare/v1/sch-1/r101/pc-01/shell'],
    ['an older topic root', 'avcare/v0/sch-1/r101/pc-01/health'],
    ['an extra level', 'avcare/v1/sch-1/r101/pc-01/health/x'],
    ['an id with a space', 'avcare/v1/sch 1/r101/pc-01/health'],
  ])('rejects %s as unknown-topic', (_name, topic) => {
    expect(gateMessage(topic, payloadOf(validMessage('health')), LIMIT)).toMatchObject({ ok: false, reason: 'unknown-topic' });
  });

  it.each([
    ['truncated JSON', Buffer.from('{"schemaVersion":1,"type":"hea')],
    ['binary garbage', Buffer.from([0xff, 0xfe, 0x00, 0x81, 0x13, 0x37])],
    ['an empty payload', Buffer.alloc(0)],
    ['invalid UTF-8 inside a JSON string', Buffer.concat([Buffer.from('{"a":"'), Buffer.from([0xc3, 0x28]), Buffer.from('"}')])],
  ])('rejects %s as bad-json', (_name, payload) => {
    expect(gateMessage(topicOf(validMessage('health')), payload, LIMIT)).toMatchObject({ ok: false, reason: 'bad-json' });
  });

  it('rejects a schemaVersion other than 1 as version', () => {
    const message = { ...validMessage('fault'), schemaVersion: 2 };
    expect(gateMessage(topicOf(validMessage('fault')), payloadOf(message), LIMIT)).toEqual({ ok: false, reason: 'version', detail: 'schemaVersion 2 is not 1' });
  });

  it('rejects a message without schemaVersion as schema, naming the field', () => {
    const { schemaVersion: _dropped, ...message } = validMessage('health');
    expect(gateMessage(topicOf(validMessage('health')), payloadOf(message), LIMIT)).toMatchObject({ ok: false, reason: 'schema', detail: expect.stringMatching(/^schemaVersion: /) as unknown });
  });

  it('rejects a wrong field as schema and names the first failing path', () => {
    const message = validMessage('health');
    const broken = { ...message, system: { ...('system' in message ? message.system : {}), cpu: { cores: 4, loadPercent: 400 } } };
    expect(gateMessage(topicOf(message), payloadOf(broken), LIMIT)).toMatchObject({ ok: false, reason: 'schema', detail: expect.stringMatching(/^system\.cpu\.loadPercent: /) as unknown });
  });

  it('rejects JSON that is not an object as schema', () => {
    expect(gateMessage(topicOf(validMessage('health')), Buffer.from('[1,2,3]'), LIMIT)).toMatchObject({ ok: false, reason: 'schema', detail: expect.stringMatching(/^\(root\): /) as unknown });
  });

  it('rejects 10,000-deep nesting as schema, even inside a free-form field', () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const topLevel = gateMessage(topicOf(validMessage('fault')), Buffer.from(deep), LIMIT);
    expect(topLevel).toMatchObject({ ok: false, reason: 'schema', detail: `JSON nests 10000 levels deep, more than ${MAX_JSON_DEPTH}` });

    const fault = validMessage('fault');
    const inEvidence = JSON.stringify(fault).replace('"evidence":{', `"evidence":{"x":${deep},`);
    expect(gateMessage(topicOf(fault), Buffer.from(inEvidence), LIMIT)).toMatchObject({ ok: false, reason: 'schema' });
  });

  it.each([
    ['school', { schoolId: 'sch-2' }],
    ['room', { roomId: 'r999' }],
    ['agent', { agentId: 'pc-99' }],
  ])('rejects a body whose %s differs from the topic as topic-mismatch', (part, change) => {
    const message = { ...validMessage('health'), ...change };
    expect(gateMessage(topicOf(validMessage('health')), payloadOf(message), LIMIT)).toEqual({ ok: false, reason: 'topic-mismatch', detail: `topic and body differ in ${part}` });
  });

  it('rejects a fault published on the health topic as topic-mismatch', () => {
    const fault = validMessage('fault');
    const topic = topicFor({ school: SENDER.schoolId, room: SENDER.roomId, agent: SENDER.agentId, kind: 'health' });
    expect(gateMessage(topic, payloadOf(fault), LIMIT)).toEqual({ ok: false, reason: 'topic-mismatch', detail: 'topic and body differ in kind' });
  });

  it('rejects a message whose topic is not the authenticated sender\'s as sender-mismatch, body and topic consistent or not', () => {
    const forged = validMessage('fault', { schoolId: 'sch-1', roomId: 'r101', agentId: 'pc-02' });
    expect(gateMessage(topicOf(forged), payloadOf(forged), LIMIT, { schoolId: 'sch-1', agentId: 'pc-01' })).toEqual({
      ok: false,
      reason: 'sender-mismatch',
      detail: 'published by sch-1:pc-01 on the topic of sch-1:pc-02',
    });
    const otherSchool = validMessage('health', { schoolId: 'sch-9', roomId: 'r101', agentId: 'pc-01' });
    expect(gateMessage(topicOf(otherSchool), payloadOf(otherSchool), LIMIT, { schoolId: 'sch-1', agentId: 'pc-01' })).toMatchObject({ ok: false, reason: 'sender-mismatch' });
    const own = validMessage('health', SENDER);
    expect(gateMessage(topicOf(own), payloadOf(own), LIMIT, { schoolId: SENDER.schoolId, agentId: SENDER.agentId })).toMatchObject({ ok: true });
  });
});

describe('jsonDepth', () => {
  it('counts brackets outside strings only', () => {
    expect(jsonDepth('{"a":[1,{"b":"[[[{{{\\"]]]"}]}')).toBe(3);
    expect(jsonDepth('"just a string"')).toBe(0);
  });
});
