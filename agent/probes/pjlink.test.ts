import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import {
  authPrefix,
  buildCommand,
  parseClass,
  parseErrorStatus,
  parseFilterHours,
  parseGreeting,
  parseLamps,
  parsePower,
  parseResponse,
  sanitizeDeviceText,
} from './pjlink.js';

// Exchanges as printed in the PJLink class 1 / class 2 specifications (JBMIA); not captures
// from a particular device.
const SPEC_RANDOM = '498e4a67';
const SPEC_PASSWORD = 'JBMIAProjectorLink';
const SPEC_DIGEST = '5d8409bc1c3fa39749434aa3a5c38682';

function thrown(fn: () => unknown): AvcareError {
  try {
    fn();
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('expected an AvcareError, nothing was thrown');
}

describe('authPrefix', () => {
  it("matches the specification's example, checked independently with node:crypto", () => {
    const independent = createHash('md5').update(SPEC_RANDOM + SPEC_PASSWORD).digest('hex');
    expect(independent).toBe(SPEC_DIGEST);
    expect(authPrefix(SPEC_RANDOM, SPEC_PASSWORD)).toBe(SPEC_DIGEST);
  });

  it('is 32 lower-case hex characters and changes with the random number', () => {
    const prefix = authPrefix('00000000', 'x');
    expect(prefix).toMatch(/^[0-9a-f]{32}$/);
    expect(prefix).not.toBe(authPrefix('00000001', 'x'));
  });

  it('hashes a non-ASCII password as UTF-8', () => {
    expect(authPrefix('12345678', '投影仪')).toBe(createHash('md5').update(Buffer.from('12345678投影仪', 'utf8')).digest('hex'));
  });
});

describe('buildCommand', () => {
  it('builds class 1 and class 2 queries ending in CR', () => {
    expect(buildCommand('1', 'POWR')).toBe('%1POWR ?\r');
    expect(buildCommand('2', 'SNUM')).toBe('%2SNUM ?\r');
    expect(buildCommand('1', 'POWR', '1')).toBe('%1POWR 1\r');
  });

  it('refuses a parameter that would end the command early and inject another', () => {
    expect(thrown(() => buildCommand('1', 'POWR', '1\r%1POWR 0')).code).toBe('INVALID_ARGUMENT');
  });

  it('refuses a body that is not four upper-case letters or digits', () => {
    expect(thrown(() => buildCommand('1', 'POW')).code).toBe('INVALID_ARGUMENT');
    expect(thrown(() => buildCommand('1', 'powr')).code).toBe('INVALID_ARGUMENT');
  });
});

describe('parseGreeting', () => {
  it('reads "no authentication"', () => {
    expect(parseGreeting('PJLINK 0')).toEqual({ auth: false });
  });

  it('reads the random number of an authentication request', () => {
    expect(parseGreeting(`PJLINK 1 ${SPEC_RANDOM}`)).toEqual({ auth: true, random: SPEC_RANDOM });
  });

  it('tolerates the trailing CR', () => {
    expect(parseGreeting('PJLINK 0\r')).toEqual({ auth: false });
  });

  it('reads PJLINK ERRA', () => {
    expect(parseGreeting('PJLINK ERRA')).toEqual({ error: 'ERRA' });
  });

  it('marks other text as garbled and keeps it', () => {
    expect(parseGreeting('SSH-2.0-OpenSSH_9.6')).toEqual({ garbled: true, raw: 'SSH-2.0-OpenSSH_9.6' });
    expect(parseGreeting('PJLINK 1 zz')).toEqual({ garbled: true, raw: 'PJLINK 1 zz' });
    expect(parseGreeting('PJLINK 2')).toEqual({ garbled: true, raw: 'PJLINK 2' });
  });
});

describe('parseResponse', () => {
  it('reads a value reply', () => {
    expect(parseResponse('%1POWR=1')).toEqual({ cls: '1', command: 'POWR', value: '1' });
    expect(parseResponse('%1LAMP=1200 1 0 0')).toEqual({ cls: '1', command: 'LAMP', value: '1200 1 0 0' });
    expect(parseResponse('%2SNUM=X5K1234567')).toEqual({ cls: '2', command: 'SNUM', value: 'X5K1234567' });
  });

  it('reads an empty value (a projector without a name)', () => {
    expect(parseResponse('%1NAME=')).toEqual({ cls: '1', command: 'NAME', value: '' });
  });

  it('reads each ERRn reply as an error', () => {
    expect(parseResponse('%1ABCD=ERR1')).toEqual({ cls: '1', command: 'ABCD', error: 'ERR1' });
    expect(parseResponse('%1POWR=ERR2')).toEqual({ cls: '1', command: 'POWR', error: 'ERR2' });
    expect(parseResponse('%1LAMP=ERR3')).toEqual({ cls: '1', command: 'LAMP', error: 'ERR3' });
    expect(parseResponse('%1ERST=ERR4')).toEqual({ cls: '1', command: 'ERST', error: 'ERR4' });
  });

  it('reads PJLINK ERRA after the first command as an authentication error', () => {
    expect(parseResponse('PJLINK ERRA')).toEqual({ authError: true });
  });

  it('marks text that is not a PJLink reply as garbled', () => {
    expect(parseResponse('HTTP/1.1 400 Bad Request')).toEqual({ garbled: true, raw: 'HTTP/1.1 400 Bad Request' });
    expect(parseResponse('%3POWR=1')).toEqual({ garbled: true, raw: '%3POWR=1' });
    expect(parseResponse('%1POWR 1')).toEqual({ garbled: true, raw: '%1POWR 1' });
  });
});

describe('value parsers', () => {
  it('maps POWR 0-3 to standby, on, cooling, warm-up', () => {
    expect(['0', '1', '2', '3'].map(parsePower)).toEqual(['standby', 'on', 'cooling', 'warm-up']);
  });

  it('maps the six ERST digits in the order fan, lamp, temperature, cover, filter, other', () => {
    expect(parseErrorStatus('000000')).toEqual({ fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' });
    expect(parseErrorStatus('010000')).toEqual({ fan: 'ok', lamp: 'warning', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' });
    expect(parseErrorStatus('200012')).toEqual({ fan: 'error', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'warning', other: 'error' });
  });

  it('reads lamp pairs, one to eight lamps', () => {
    expect(parseLamps('1200 1')).toEqual([{ hours: 1200, on: true }]);
    expect(parseLamps('1200 1 0 0')).toEqual([{ hours: 1200, on: true }, { hours: 0, on: false }]);
    expect(parseLamps(Array.from({ length: 8 }, () => '99999 0').join(' '))).toHaveLength(8);
  });

  it('reads class and filter hours', () => {
    expect(parseClass('1')).toBe('1');
    expect(parseClass('2')).toBe('2');
    expect(parseFilterHours('340')).toBe(340);
  });

  it.each([
    ['POWR', () => parsePower('4'), '"4"'],
    ['ERST', () => parseErrorStatus('01000'), '"01000"'],
    ['ERST', () => parseErrorStatus('013000'), '"013000"'],
    ['LAMP', () => parseLamps('1200'), '"1200"'],
    ['LAMP', () => parseLamps('1200 2'), '"1200 2"'],
    ['LAMP', () => parseLamps('-5 1'), '"-5 1"'],
    ['LAMP', () => parseLamps(Array.from({ length: 9 }, () => '1 0').join(' ')), '"1 0 1 0'],
    ['CLSS', () => parseClass('3'), '"3"'],
    ['FILT', () => parseFilterHours('abc'), '"abc"'],
  ])('rejects a malformed %s value with an error naming the command and the raw text', (command, parse, rawShown) => {
    const error = thrown(parse);
    expect(error.code).toBe('PJLINK_PROTOCOL_ERROR');
    expect(error.message).toContain(command);
    expect(error.message).toContain(rawShown);
    expect(error.context.command).toBe(command);
  });
});

describe('sanitizeDeviceText', () => {
  it('removes control characters, terminal escapes and bidirectional overrides', () => {
    expect(sanitizeDeviceText('Room\u0007 1\u001b[31m01\u0000\u202e')).toBe('Room 1 [31m01');
  });

  it('caps at 64 characters without splitting a multi-byte character', () => {
    const name = '教室投影仪'.repeat(20);
    const cleaned = sanitizeDeviceText(name);
    expect(Array.from(cleaned ?? '')).toHaveLength(64);
    expect(cleaned).toBe(name.slice(0, 64));
  });

  it('keeps UTF-8 names intact and returns undefined for nothing left', () => {
    expect(sanitizeDeviceText('三年级二班 投影机')).toBe('三年级二班 投影机');
    expect(sanitizeDeviceText('')).toBeUndefined();
    expect(sanitizeDeviceText('\u0001\u0002  ')).toBeUndefined();
  });
});
