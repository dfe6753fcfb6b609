import { describe, expect, it } from 'vitest';
import { parsePjlinkTarget, parseSerialTarget } from './adhoc-targets.js';

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

  it('never echoes the password in an error', () => {
    expect(() => parsePjlinkTarget(`10.0.0.5,${'p'.repeat(40)}`)).toThrow(/^(?!.*ppppp).*$/s);
  });
});
