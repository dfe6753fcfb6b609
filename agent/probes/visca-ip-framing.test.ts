import { describe, expect, it } from 'vitest';
import { decodeSonyDatagram, looksLikeSonyDatagram, readSonyMessage, sequenceReset, wrapVisca } from './visca-ip-framing.js';
import { fromHex, powerInquiry, toHex } from './visca.js';

describe("Sony's VISCA-over-IP header", () => {
  it('writes the sequence reset exactly as the camera expects it', () => {
    expect(toHex(sequenceReset())).toBe('020000010000000001');
  });

  it('marks inquiries and commands with their own payload types and a big-endian sequence number', () => {
    expect(toHex(wrapVisca(powerInquiry(1), 1))).toBe('0110000500000001' + '81090400ff');
    expect(toHex(wrapVisca(fromHex('81 01 00 01 ff'), 0x01020304))).toBe('0100000501020304' + '81010001ff');
    expect(() => wrapVisca(powerInquiry(1), -1)).toThrow(/sequence number/);
  });

  it('reads replies, the reset acknowledgement and both control errors', () => {
    expect(readSonyMessage(fromHex('0111 0004 00000007 90 50 02 ff'))).toEqual({ kind: 'reply', sequence: 7, payload: fromHex('905002ff') });
    expect(readSonyMessage(fromHex('0201 0001 00000000 01'))).toEqual({ kind: 'reset-ack', sequence: 0 });
    expect(readSonyMessage(fromHex('0201 0002 00000003 0f 01'))).toEqual({ kind: 'sequence-error', sequence: 3 });
    expect(readSonyMessage(fromHex('0201 0002 00000003 0f 02'))).toEqual({ kind: 'message-error', sequence: 3 });
  });

  it('says why a datagram is not Sony framing', () => {
    expect(readSonyMessage(fromHex('90 50 02 ff'))).toEqual({ kind: 'garbled', reason: 'datagram of 4 bytes is shorter than the 8-byte header' });
    expect(readSonyMessage(fromHex('0111 0005 00000001 90 50 02 ff'))).toMatchObject({ reason: 'header says 5 payload bytes, datagram carries 4' });
    expect(readSonyMessage(fromHex('9050 0000 00000001'))).toMatchObject({ reason: 'unknown payload type 9050' });
    expect(readSonyMessage(fromHex('0110 0004 00000001 81 09 04 00'))).toMatchObject({ reason: 'a camera does not send payload type 0110' });
    expect(readSonyMessage(fromHex('0201 0001 00000001 07'))).toMatchObject({ reason: 'unknown control reply' });
    expect(decodeSonyDatagram(fromHex('0111 0020 00000001'))).toMatchObject({ garbled: 'payload length 32 is longer than a VISCA packet' });
  });

  it('tells a Sony datagram from a bare VISCA packet', () => {
    expect(looksLikeSonyDatagram(fromHex('0201 0002 00000001 0f 02'))).toBe(true);
    expect(looksLikeSonyDatagram(fromHex('90 50 02 ff'))).toBe(false);
    expect(looksLikeSonyDatagram(fromHex('90 50 00 04 00 00 00 00 00 ff'))).toBe(false);
  });
});
