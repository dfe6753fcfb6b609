import { describe, expect, it } from 'vitest';
import { adhocSources, parsePjlinkTarget, parseSerialTarget, parseViscaIpTarget } from './adhoc-targets.js';

describe('ad hoc probe targets', () => {
  it('parses --serial PATH:visca with an optional baud rate', () => {
    expect(parseSerialTarget('/dev/ttyUSB0:visca')).toEqual({ path: '/dev/ttyUSB0', protocol: 'visca' });
    expect(parseSerialTarget('/dev/serial/by-id/usb-FTDI_FT232R-if00-port0:visca@38400')).toEqual({ path: '/dev/serial/by-id/usb-FTDI_FT232R-if00-port0', protocol: 'visca', baudRate: 38400 });
    expect(() => parseSerialTarget('/dev/ttyUSB0')).toThrow(/PATH:visca/);
    expect(() => parseSerialTarget('/dev/ttyUSB0:visca@1200')).toThrow(/9600, 19200 or 38400/);
  });

  it('parses --pjlink HOST[:PORT][,PASSWORD] including IPv6 in brackets', () => {
    expect(parsePjlinkTarget('10.0.0.5')).toEqual({ host: '10.0.0.5' });
    expect(parsePjlinkTarget('proj-101.school.local:4353,secret')).toEqual({ host: 'proj-101.school.local', port: 4353, password: 'secret' });
    expect(parsePjlinkTarget('[fd00::5]:4352')).toEqual({ host: 'fd00::5', port: 4352 });
    expect(() => parsePjlinkTarget('10.0.0.5:99999')).toThrow(/port must be 1-65535/);
    expect(() => parsePjlinkTarget('10.0.0.5,')).toThrow(/password must be 1-32/);
    expect(() => parsePjlinkTarget(':4352')).toThrow(/HOST:PORT/);
  });

  it('parses --visca-ip HOST[:PORT][@FRAMING], "auto" when no framing is named', () => {
    expect(parseViscaIpTarget('10.0.0.9')).toEqual({ host: '10.0.0.9', framing: 'auto' });
    expect(parseViscaIpTarget('ptz-3.school.local:52381@sony-ip')).toEqual({ host: 'ptz-3.school.local', port: 52381, framing: 'sony-ip' });
    expect(parseViscaIpTarget('[fd00::9]:5678@raw-tcp')).toEqual({ host: 'fd00::9', port: 5678, framing: 'raw-tcp' });
    expect(parseViscaIpTarget('10.0.0.9:1259@raw-udp')).toEqual({ host: '10.0.0.9', port: 1259, framing: 'raw-udp' });
    expect(() => parseViscaIpTarget('10.0.0.9@visca')).toThrow(/framing must be one of sony-ip, raw-udp, raw-tcp, auto/);
    expect(() => parseViscaIpTarget('10.0.0.9:0')).toThrow(/--visca-ip "10.0.0.9:0": port must be 1-65535/);
    expect(() => parseViscaIpTarget('')).toThrow(/--visca-ip "" must look like HOST/);
  });

  it('runs only the probes of the targets named', () => {
    expect(adhocSources({ serial: [], pjlink: ['p'], viscaIp: ['c'] })).toEqual(['pjlink', 'visca-ip']);
    expect(adhocSources({ serial: ['s'], pjlink: [], viscaIp: [] })).toEqual(['serial']);
  });

  it('never echoes the password in an error', () => {
    expect(() => parsePjlinkTarget(`10.0.0.5,${'p'.repeat(40)}`)).toThrow(/^(?!.*ppppp).*$/s);
  });
});
