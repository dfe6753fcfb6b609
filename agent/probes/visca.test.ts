import { describe, expect, it } from 'vitest';
import {
  ViscaFrameSplitter,
  addressSet,
  camerasOnChain,
  commandTarget,
  fromHex,
  ifClear,
  parseReply,
  powerInquiry,
  replyHeader,
  toHex,
  versionInquiry,
  zoomPositionInquiry,
} from './visca.js';

// Byte exchanges as given in Sony's VISCA command lists (EVI-D70 / BRC / SRG technical manuals).
// No camera was at hand to capture them, so they are the documented bytes, not a recording.

describe('VISCA command builders', () => {
  it('address camera 1 with header 0x81 and camera 7 with 0x87', () => {
    expect(toHex(powerInquiry(1))).toBe('81090400ff');
    expect(toHex(zoomPositionInquiry(1))).toBe('81090447ff');
    expect(toHex(versionInquiry(1))).toBe('81090002ff');
    expect(toHex(powerInquiry(7))).toBe('87090400ff');
  });

  it('build the broadcast packets with header 0x88', () => {
    expect(toHex(ifClear())).toBe('88010001ff');
    expect(toHex(addressSet())).toBe('883001ff');
  });

  it('reject addresses outside 1-7', () => {
    expect(() => powerInquiry(0)).toThrow(RangeError);
    expect(() => powerInquiry(8)).toThrow(RangeError);
  });

  it('computes the reply header as (address + 8) << 4', () => {
    expect(replyHeader(1)).toBe(0x90);
    expect(replyHeader(7)).toBe(0xf0);
  });

  it('reads the target camera back from a command', () => {
    expect(commandTarget(powerInquiry(3))).toBe(3);
    expect(commandTarget(ifClear())).toBe('broadcast');
    expect(() => commandTarget(fromHex('9050ff'))).toThrow(RangeError);
  });
});

describe('parseReply on documented replies from camera 1', () => {
  it.each([
    ['90 50 02 FF', 'on'],
    ['90 50 03 FF', 'standby'],
    ['90 50 04 FF', 'power-error'],
  ] as const)('power inquiry reply %s means %s', (hex, power) => {
    expect(parseReply(fromHex(hex), 1, 'power')).toEqual({ type: 'power', power });
  });

  it('decodes zoom position nibbles 0p 0q 0r 0s into a 16-bit value', () => {
    expect(parseReply(fromHex('90 50 04 00 00 00 FF'), 1, 'zoom')).toEqual({ type: 'zoom', position: 0x4000 });
    expect(parseReply(fromHex('90 50 00 00 00 00 FF'), 1, 'zoom')).toEqual({ type: 'zoom', position: 0 });
    expect(parseReply(fromHex('90 50 0F 0F 0F 0F FF'), 1, 'zoom')).toEqual({ type: 'zoom', position: 0xffff });
  });

  it('decodes the version reply into vendor, model, ROM version and socket count', () => {
    expect(parseReply(fromHex('90 50 00 01 05 19 01 30 02 FF'), 1, 'version')).toEqual({
      type: 'version',
      vendorId: 0x0001,
      modelId: 0x0519,
      romVersion: 0x0130,
      socketCount: 2,
    });
  });

  it.each([
    ['90 60 02 FF', 'syntax', 0x02, 0],
    ['90 60 03 FF', 'buffer-full', 0x03, 0],
    ['90 61 04 FF', 'cancelled', 0x04, 1],
    ['90 62 05 FF', 'no-socket', 0x05, 2],
    ['90 61 41 FF', 'not-executable', 0x41, 1],
    ['90 60 7E FF', 'unknown', 0x7e, 0],
  ] as const)('error reply %s is %s', (hex, error, code, socket) => {
    expect(parseReply(fromHex(hex), 1)).toEqual({ type: 'error', error, code, socket });
  });

  it('tells ack and completion of a command apart by socket', () => {
    expect(parseReply(fromHex('90 41 FF'), 1)).toEqual({ type: 'ack', socket: 1 });
    expect(parseReply(fromHex('90 52 FF'), 1)).toEqual({ type: 'completion', socket: 2, payload: new Uint8Array() });
  });

  it('returns the bare payload when the caller does not say which inquiry it sent', () => {
    expect(parseReply(fromHex('90 50 02 FF'), 1)).toEqual({ type: 'completion', socket: 0, payload: Uint8Array.of(2) });
  });

  it('decodes the address-set and IF_Clear broadcast replies', () => {
    expect(parseReply(fromHex('88 30 02 FF'), 1)).toEqual({ type: 'address-set', nextAddress: 2 });
    expect(parseReply(fromHex('88 01 00 01 FF'), 1)).toEqual({ type: 'if-clear' });
  });

  it('marks a reply from camera 2 as foreign, not as an answer or an error', () => {
    expect(parseReply(fromHex('A0 50 02 FF'), 1, 'power')).toEqual({ type: 'foreign', address: 2, raw: fromHex('a05002ff') });
  });
});

describe('VISCA re-init exchange (IF_Clear and Address Set broadcasts)', () => {
  // Sony VISCA command list: IF_Clear (broadcast) 88 01 00 01 FF comes back unchanged once it has
  // passed every camera; Address Set 88 30 01 FF comes back as 88 30 0n FF, n = last address + 1.
  it.each([
    ['IF_Clear', ifClear(), '88 01 00 01 FF', '88 01 00 01 FF', { type: 'if-clear' }],
    ['Address Set, one camera', addressSet(), '88 30 01 FF', '88 30 02 FF', { type: 'address-set', nextAddress: 2 }],
    ['Address Set, seven cameras', addressSet(), '88 30 01 FF', '88 30 08 FF', { type: 'address-set', nextAddress: 8 }],
  ] as const)('%s: sends the documented bytes and decodes the documented reply', (_name, command, sent, reply, decoded) => {
    expect(command).toEqual(fromHex(sent));
    expect(commandTarget(command)).toBe('broadcast');
    // Broadcast replies carry no camera address, whichever camera the client is talking to.
    expect(parseReply(fromHex(reply), 1)).toEqual(decoded);
    expect(parseReply(fromHex(reply), 5)).toEqual(decoded);
  });

  it('counts the cameras on the chain from the Address Set reply', () => {
    expect(camerasOnChain({ type: 'address-set', nextAddress: 2 })).toBe(1);
    expect(camerasOnChain({ type: 'address-set', nextAddress: 4 })).toBe(3);
  });

  it.each([
    ['an address beyond seven cameras', '88 30 09 FF'],
    ['address 0', '88 30 00 FF'],
    ['a truncated IF_Clear', '88 01 00 FF'],
  ])('treats a broadcast reply with %s as garbled', (_name, hex) => {
    expect(parseReply(fromHex(hex), 1)).toMatchObject({ type: 'garbled', reason: 'unknown broadcast reply' });
  });
});

describe('parseReply on garbage', () => {
  it.each([
    ['truncated power reply', '90 50 FF', 'power'],
    ['power code out of range', '90 50 07 FF', 'power'],
    ['zoom digit above a nibble', '90 50 04 10 00 00 FF', 'zoom'],
    ['version with too few bytes', '90 50 00 01 05 FF', 'version'],
    ['inquiry answer on a command socket', '90 51 02 FF', 'power'],
    ['our own command echoed back', '81 09 04 00 FF', 'power'],
    ['header with a low nibble', '91 50 02 FF', 'power'],
    ['two-byte packet', '90 FF', 'any'],
    ['unknown reply type', '90 70 FF', 'any'],
    ['error without a code', '90 60 FF', 'any'],
  ] as const)('%s (%s) is garbled and keeps the raw bytes', (_name, hex, expectation) => {
    expect(parseReply(fromHex(hex), 1, expectation)).toMatchObject({ type: 'garbled', raw: fromHex(hex) });
  });
});

describe('ViscaFrameSplitter', () => {
  it('joins a reply split across three chunks', () => {
    const splitter = new ViscaFrameSplitter();
    expect(splitter.feed(fromHex('90')).packets).toEqual([]);
    expect(splitter.feed(fromHex('50 04')).packets).toEqual([]);
    expect(toHex(splitter.pending())).toBe('905004');
    const { packets, junk } = splitter.feed(fromHex('00 00 00 FF'));
    expect(packets.map(toHex)).toEqual(['905004000000ff']);
    expect(junk).toEqual([]);
  });

  it('splits two replies that arrive in one chunk', () => {
    const { packets } = new ViscaFrameSplitter().feed(fromHex('90 41 FF 90 51 FF'));
    expect(packets.map(toHex)).toEqual(['9041ff', '9051ff']);
  });

  it('reports noise before a header as junk and still finds the reply after it', () => {
    const { packets, junk } = new ViscaFrameSplitter().feed(fromHex('00 3A FF 90 50 02 FF'));
    expect(packets.map(toHex)).toEqual(['905002ff']);
    expect(junk.map(toHex)).toEqual(['003aff']);
  });

  it('drops an over-long run at 16 bytes and resynchronises after the next FF', () => {
    const splitter = new ViscaFrameSplitter();
    const noise = new Uint8Array(20).fill(0x90);
    const first = splitter.feed(noise);
    expect(first.packets).toEqual([]);
    expect(first.junk.reduce((sum, chunk) => sum + chunk.length, 0)).toBe(20);
    expect(splitter.pending().length).toBe(0);
    const second = splitter.feed(fromHex('90 50 FF 90 50 03 FF'));
    // "90 50 FF" ends the over-long packet, so it is junk too; the next packet is clean.
    expect(second.packets.map(toHex)).toEqual(['905003ff']);
    expect(second.junk.map(toHex)).toEqual(['9050ff']);
  });

  it('never buffers more than one packet for an endless stream without FF', () => {
    const splitter = new ViscaFrameSplitter();
    for (let i = 0; i < 1000; i += 1) splitter.feed(new Uint8Array(64).fill(0x85));
    expect(splitter.pending().length).toBeLessThan(16);
  });

  it('forgets a half packet on reset', () => {
    const splitter = new ViscaFrameSplitter();
    splitter.feed(fromHex('90 50'));
    splitter.reset();
    expect(splitter.feed(fromHex('02 FF')).packets).toEqual([]);
  });
});

describe('hex helpers', () => {
  it('writes lowercase hex without spaces and reads spaced or upper-case hex', () => {
    expect(toHex(Uint8Array.of(0x90, 0x50, 0xff))).toBe('9050ff');
    expect(fromHex('90 50 FF')).toEqual(Uint8Array.of(0x90, 0x50, 0xff));
    expect(() => fromHex('9g')).toThrow(RangeError);
  });
});
