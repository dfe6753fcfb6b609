/**
 * PJLink codec (JBMIA PJLink class 1 and class 2): builds commands and parses greetings,
 * responses and values. No I/O; the client in pjlink-client.ts does the talking.
 */
import { createHash } from 'node:crypto';
import { AvcareError, untrustedText, type PjlinkErrorLevel, type PjlinkInfo } from '../../protocol/index.js';

export type PjlinkClass = '1' | '2';
export type PjlinkErrorCode = 'ERR1' | 'ERR2' | 'ERR3' | 'ERR4';
export type PjlinkPower = PjlinkInfo['power'];
export type PjlinkErrorStatus = PjlinkInfo['errors'];
export type PjlinkLamp = PjlinkInfo['lamps'][number];

export const PJLINK_PORT = 4352;
/** Every PJLink message ends with CR (0x0D). */
export const PJLINK_TERMINATOR = '\r';
/** PJLink limits names to 64 bytes; other strings (INF1, INF2, SNUM, SVER) are shorter still. */
export const PJLINK_MAX_TEXT_CHARS = 64;

/** What each ERRn means, for messages a person reads. */
export const PJLINK_ERROR_MEANINGS: Readonly<Record<PjlinkErrorCode, string>> = {
  ERR1: 'undefined command',
  ERR2: 'out of parameter',
  ERR3: 'unavailable time (e.g. standby or warm-up)',
  ERR4: 'projector/display failure',
};

const POWER_STATES: Readonly<Record<string, PjlinkPower>> = { '0': 'standby', '1': 'on', '2': 'cooling', '3': 'warm-up' };
const ERROR_LEVELS: readonly PjlinkErrorLevel[] = ['ok', 'warning', 'error'];
const MAX_LAMPS = 8;
/** Lamp and filter hours are at most five digits in the specification. */
const MAX_HOURS = 99_999;

/** md5hex(random + password): the 32 lowercase hex characters sent before the first command. */
export function authPrefix(random: string, password: string): string {
  return createHash('md5').update(random + password, 'utf8').digest('hex');
}

/** `%<class><BODY> <param>\r`, e.g. buildCommand('1', 'POWR') -> "%1POWR ?\r". */
export function buildCommand(cls: PjlinkClass, body: string, param = '?'): string {
  if (!/^[A-Z0-9]{4}$/.test(body)) {
    throw new AvcareError('INVALID_ARGUMENT', `PJLink command body must be four upper-case letters or digits, got ${JSON.stringify(body)}`, { body });
  }
  // A CR inside the parameter would end the command early and smuggle in a second one.
  if (/[\r\n]/.test(param) || param.length === 0 || param.length > 128) {
    throw new AvcareError('INVALID_ARGUMENT', `PJLink parameter for ${body} must be 1-128 characters without CR or LF`, { body });
  }
  return `%${cls}${body} ${param}${PJLINK_TERMINATOR}`;
}

export type PjlinkGreeting = { auth: false } | { auth: true; random: string } | { error: 'ERRA' } | { garbled: true; raw: string };

/** Parses the line a device sends on connect (without its CR). */
export function parseGreeting(line: string): PjlinkGreeting {
  const text = stripTerminator(line).trim();
  // Some implementations write the keyword in lower case; the random number stays as sent.
  if (/^PJLINK 0$/i.test(text)) return { auth: false };
  if (/^PJLINK ERRA$/i.test(text)) return { error: 'ERRA' };
  const match = /^PJLINK 1 ([0-9A-Fa-f]{8})$/i.exec(text);
  if (match?.[1] !== undefined) return { auth: true, random: match[1] };
  return { garbled: true, raw: text };
}

export type PjlinkResponse =
  | { cls: PjlinkClass; command: string; value: string }
  | { cls: PjlinkClass; command: string; error: PjlinkErrorCode }
  | { authError: true }
  | { garbled: true; raw: string };

/** Parses one reply line (without its CR): `%1POWR=1`, `%1LAMP=ERR3`, `PJLINK ERRA`. */
export function parseResponse(line: string): PjlinkResponse {
  const text = stripTerminator(line);
  if (/^PJLINK ERRA$/i.test(text.trim())) return { authError: true };
  const match = /^%([12])([A-Za-z0-9]{4})=(.*)$/s.exec(text);
  const [, cls, body, value] = match ?? [];
  if (cls === undefined || body === undefined || value === undefined) return { garbled: true, raw: text };
  // Commands and error codes arrive in lower case from some implementations (`%1powr=err3`).
  const command = body.toUpperCase();
  const upper = value.trim().toUpperCase();
  if (isPjlinkErrorCode(upper)) return { cls: cls as PjlinkClass, command, error: upper };
  return { cls: cls as PjlinkClass, command, value };
}

export function isPjlinkErrorCode(value: string): value is PjlinkErrorCode {
  return value === 'ERR1' || value === 'ERR2' || value === 'ERR3' || value === 'ERR4';
}

/** POWR: 0 standby, 1 on, 2 cooling, 3 warm-up. */
export function parsePower(value: string): PjlinkPower {
  const power = POWER_STATES[value.trim()];
  if (power === undefined) throw malformed('POWR', value, 'expected 0, 1, 2 or 3');
  return power;
}

/** ERST: six digits fan, lamp, temperature, cover, filter, other; 0 ok, 1 warning, 2 error. */
export function parseErrorStatus(value: string): PjlinkErrorStatus {
  value = value.trim();
  if (!/^[0-2]{6}$/.test(value)) throw malformed('ERST', value, 'expected six digits 0-2');
  // The regex above guarantees each digit indexes ERROR_LEVELS.
  const level = (index: number): PjlinkErrorLevel => ERROR_LEVELS[Number(value[index])] ?? 'error';
  return { fan: level(0), lamp: level(1), temperature: level(2), cover: level(3), filter: level(4), other: level(5) };
}

/** LAMP: pairs `<hours> <on 0|1>` for up to 8 lamps, e.g. "1200 1 0 0". */
export function parseLamps(value: string): PjlinkLamp[] {
  const tokens = value.trim().split(/ +/);
  if (tokens.length < 2 || tokens.length % 2 !== 0 || tokens.length > MAX_LAMPS * 2) {
    throw malformed('LAMP', value, `expected 1 to ${MAX_LAMPS} pairs "<hours> <0|1>"`);
  }
  const lamps: PjlinkLamp[] = [];
  for (let index = 0; index < tokens.length; index += 2) {
    const hours = tokens[index] ?? '';
    const on = tokens[index + 1] ?? '';
    if (!/^\d{1,5}$/.test(hours) || (on !== '0' && on !== '1')) {
      throw malformed('LAMP', value, `lamp ${index / 2 + 1} is not "<hours 0-${MAX_HOURS}> <0|1>"`);
    }
    lamps.push({ hours: Number(hours), on: on === '1' });
  }
  return lamps;
}

/**
 * CLSS: "1" or "2", also as devices write it in words ("Class 1", "class2", "2.0"): the first
 * digit 1 or 2. Anything else is not a class.
 */
export function parseClass(value: string): PjlinkClass {
  const digit = /^(?:class\s*)?([12])(?:\.0)?$/i.exec(value.trim())?.[1];
  if (digit === '1' || digit === '2') return digit;
  throw malformed('CLSS', value, 'expected 1 or 2');
}

/** FILT (class 2): cumulative filter hours, 0-99999. */
export function parseFilterHours(value: string): number {
  value = value.trim();
  if (!/^\d{1,5}$/.test(value)) throw malformed('FILT', value, `expected hours 0-${MAX_HOURS}`);
  return Number(value);
}

/**
 * Makes a device string safe to store and show: drops C0/C1 controls (terminal escapes) and
 * bidirectional overrides (they make a name display as something else), trims, caps the length
 * in code points so a multi-byte character is never cut in half. Empty -> undefined.
 */
export function sanitizeDeviceText(text: string, maxChars = PJLINK_MAX_TEXT_CHARS): string | undefined {
  return untrustedText(text, maxChars);
}

function stripTerminator(line: string): string {
  return line.endsWith(PJLINK_TERMINATOR) ? line.slice(0, -1) : line;
}

function malformed(command: string, raw: string, expectation: string): AvcareError {
  const shown = JSON.stringify(raw.slice(0, PJLINK_MAX_TEXT_CHARS));
  return new AvcareError('PJLINK_PROTOCOL_ERROR', `PJLink ${command} reply ${shown} is malformed: ${expectation}`, {
    command,
    raw: raw.slice(0, PJLINK_MAX_TEXT_CHARS),
  });
}
