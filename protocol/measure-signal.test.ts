import { describe, expect, it } from 'vitest';
import { MAX_SIGNAL_BYTES, parseSignalTopic, readAgentSignal } from './measure-signal.js';

describe("reading an agent's signalling", () => {
  it('takes a well-formed message and names what is wrong with any other', () => {
    const requestId = crypto.randomUUID();
    expect(readAgentSignal(Buffer.from(JSON.stringify({ type: 'measure-request', requestId, test: 'network' })))).toEqual({ signal: { type: 'measure-request', requestId, test: 'network' } });
    expect(readAgentSignal(Buffer.from('{not json'))).toMatchObject({ reason: 'bad-json' });
    expect(readAgentSignal(Buffer.from(JSON.stringify({ type: 'offer', sessionId: crypto.randomUUID(), grant: { payload: '{}', signature: 'x', keyId: 'k' }, sdp: 'hello' })))).toEqual({ reason: 'schema', detail: "sdp: is not SDP (must start with \"v=0\")" });
    expect(readAgentSignal(Buffer.from(JSON.stringify({ type: 'shell', command: 'rm -rf /' })))).toMatchObject({ reason: 'schema' });
    expect(readAgentSignal(Buffer.alloc(MAX_SIGNAL_BYTES + 1, 0x20))).toMatchObject({ reason: 'oversize' });
  });

  it('knows a signalling topic and its sender, and nothing else', () => {
    expect(parseSignalTopic('avcare/v1/sch-1/r101/pc-01/signal')).toEqual({ school: 'sch-1', room: 'r101', agent: 'pc-01' });
    expect(parseSignalTopic('avcare/v1/sch-1/r101/pc-01/fault')).toBeNull();
    expect(parseSignalTopic('avcare/v1/sch-1/+/pc-01/signal')).toBeNull();
  });
});
