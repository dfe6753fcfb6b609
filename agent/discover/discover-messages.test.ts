import type { NetworkInterfaceInfo } from 'node:os';
import { describe, expect, it } from 'vitest';
import { broadcastOf, contains, localNetworks } from './local-networks.js';
import { PJLINK_SEARCH, SONY_NETWORK_INQUIRY, parsePjlinkAckn, parseSonyNetworkReply } from './search-messages.js';

describe('search messages', () => {
  it('sends the bytes the two protocols define', () => {
    expect(PJLINK_SEARCH.toString('latin1')).toBe('%2SRCH\r');
    expect(SONY_NETWORK_INQUIRY.toString('hex')).toBe(`02${Buffer.from('ENQ:network').toString('hex')}ff03`);
  });

  it('reads a projector\'s ACKN in the forms devices send it, and nothing else', () => {
    expect(parsePjlinkAckn(Buffer.from('%2ACKN=00:0B:5D:12:34:56\r'))).toBe('00:0b:5d:12:34:56');
    expect(parsePjlinkAckn(Buffer.from('%2ackn=000b5d123456\r\n'))).toBe('000b5d123456');
    expect(parsePjlinkAckn(Buffer.from('%2SRCH\r'))).toBeUndefined();
    expect(parsePjlinkAckn(Buffer.from('%2ACKN=not-a-mac\r'))).toBeUndefined();
  });

  it('reads a camera\'s fields, and ignores our own inquiry looped back', () => {
    const reply = Buffer.concat([Buffer.from([0x02]), ...['MAC:08-00-46-AA-BB-CC', 'MODEL:SRG-300H', 'NAME:CAM1'].map((field) => Buffer.concat([Buffer.from(field), Buffer.from([0xff])])), Buffer.from([0x03])]);
    expect(parseSonyNetworkReply(reply)).toEqual({ MAC: '08-00-46-AA-BB-CC', MODEL: 'SRG-300H', NAME: 'CAM1' });
    expect(parseSonyNetworkReply(SONY_NETWORK_INQUIRY)).toBeUndefined();
    expect(parseSonyNetworkReply(Buffer.from([0x02, 0x41, 0x03]))).toBeUndefined();
  });
});

describe('local networks', () => {
  it('computes broadcast addresses and membership', () => {
    expect(broadcastOf('192.168.1.23', 24)).toBe('192.168.1.255');
    expect(broadcastOf('10.1.2.3', 20)).toBe('10.1.15.255');
    expect(contains({ address: '10.1.2.3', prefix: 20 }, '10.1.14.9')).toBe(true);
    expect(contains({ address: '10.1.2.3', prefix: 20 }, '10.1.16.1')).toBe(false);
    expect(contains({ address: '10.1.2.3', prefix: 20 }, 'fd00::1')).toBe(false);
  });

  it('searches IPv4 networks only: no loopback, no point-to-point, no IPv6', () => {
    const entry = (address: string, cidr: string, family: 'IPv4' | 'IPv6' = 'IPv4', internal = false): NetworkInterfaceInfo =>
      family === 'IPv4' ? { address, netmask: '', family, mac: '00:00:00:00:00:00', internal, cidr } : { address, netmask: '', family, mac: '00:00:00:00:00:00', internal, cidr, scopeid: 0 };
    const interfaces = {
      lo: [entry('127.0.0.1', '127.0.0.1/8', 'IPv4', true)],
      eth0: [entry('192.168.1.23', '192.168.1.23/24'), entry('fd00::23', 'fd00::23/64', 'IPv6')],
      wg0: [entry('10.9.0.2', '10.9.0.2/32')],
      wlan0: [entry('10.0.0.5', '10.0.0.5/22')],
    };
    expect(localNetworks({}, interfaces)).toEqual([
      { interface: 'eth0', address: '192.168.1.23', prefix: 24, broadcast: '192.168.1.255' },
      { interface: 'wlan0', address: '10.0.0.5', prefix: 22, broadcast: '10.0.3.255' },
    ]);
    expect(localNetworks({ interface: 'wlan0' }, interfaces).map((network) => network.interface)).toEqual(['wlan0']);
  });
});
