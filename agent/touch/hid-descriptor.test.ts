import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { readHidDescriptor } from './hid-descriptor.js';

/** HID short items as the spec encodes them (HID 1.11, 6.2.2.2): prefix = tag << 4 | type << 2 | size code. */
const MAIN = 0;
const GLOBAL = 1;
const LOCAL = 2;
function item(type: number, tag: number, value: number, size: 0 | 1 | 2 | 4 = value > 0xffff ? 4 : value > 0xff ? 2 : 1): number[] {
  const code = size === 4 ? 3 : size;
  const bytes = [(tag << 4) | (type << 2) | code];
  for (let index = 0; index < size; index += 1) bytes.push(Math.floor(value / 256 ** index) & 0xff);
  return bytes;
}
const usagePage = (page: number) => item(GLOBAL, 0x0, page);
const usage = (value: number) => item(LOCAL, 0x0, value);
const collection = (kind: number) => item(MAIN, 0xa, kind);
const endCollection = () => item(MAIN, 0xc, 0, 0);
const logicalMaximum = (value: number, size: 1 | 2 = 1) => item(GLOBAL, 0x2, value, size);
const input = () => item(MAIN, 0x8, 0x02);
const feature = () => item(MAIN, 0xb, 0x02);

/** One finger of a Windows 8 style multi-touch report: tip switch, contact id, X, Y. */
const finger = (): number[] => [...usagePage(0x0d), ...usage(0x22), ...collection(0x02), ...usage(0x42), ...input(), ...usage(0x51), ...input(), ...usagePage(0x01), ...usage(0x30), ...usage(0x31), ...input(), ...endCollection()];

function touchScreen(options: { fingers: number; contactMax?: number; mouse?: boolean }): Uint8Array {
  const bytes = [...usagePage(0x0d), ...usage(0x04), ...collection(0x01)];
  for (let index = 0; index < options.fingers; index += 1) bytes.push(...finger());
  bytes.push(...usagePage(0x0d), ...usage(0x54), ...input());
  if (options.contactMax !== undefined) bytes.push(...logicalMaximum(options.contactMax), ...usage(0x55), ...feature());
  bytes.push(...endCollection());
  // Many IR frames add a mouse application for systems without multi-touch support.
  if (options.mouse) bytes.push(...usagePage(0x01), ...usage(0x02), ...collection(0x01), ...usage(0x01), ...collection(0x00), ...input(), ...endCollection(), ...endCollection());
  return Uint8Array.from(bytes);
}

describe('reading a HID report descriptor', () => {
  it('names a multi-touch screen and its contacts from the Contact Count Maximum feature', () => {
    expect(readHidDescriptor(touchScreen({ fingers: 2, contactMax: 10 }))).toEqual({
      applications: [{ usagePage: 0x0d, usage: 0x04, name: 'touch-screen' }],
      touchClass: 'touch-screen',
      maxContacts: 10,
      problems: [],
    });
  });

  it('counts the finger collections when the device gives no maximum, and keeps a touch screen with a mouse fallback a touch screen', () => {
    const reading = readHidDescriptor(touchScreen({ fingers: 6, mouse: true }));
    expect(reading.touchClass).toBe('touch-screen');
    expect(reading.maxContacts).toBe(6);
    expect(reading.applications.map((application) => application.name)).toEqual(['touch-screen', 'mouse']);
  });

  it('tells a frame that only emulates a mouse, and a pen', () => {
    const mouseOnly = Uint8Array.from([...usagePage(0x01), ...usage(0x02), ...collection(0x01), ...usage(0x01), ...collection(0x00), ...input(), ...endCollection(), ...endCollection()]);
    expect(readHidDescriptor(mouseOnly)).toMatchObject({ touchClass: 'mouse-emulation', maxContacts: null, problems: [] });
    const pen = Uint8Array.from([...usagePage(0x0d), ...usage(0x02), ...collection(0x01), ...usage(0x20), ...collection(0x00), ...usage(0x42), ...input(), ...endCollection(), ...endCollection()]);
    expect(readHidDescriptor(pen)).toMatchObject({ touchClass: 'pen', maxContacts: 1 });
  });

  it('reads a usage with its own page (4-byte usage) and a signed Logical Maximum', () => {
    const extended = Uint8Array.from([...item(LOCAL, 0x0, 0x000d0004, 4), ...collection(0x01), ...logicalMaximum(0xff), ...usage(0x55), ...feature(), ...endCollection()]);
    // 0xFF in one byte is -1: no maximum, so the single touch of a touch screen without finger collections.
    expect(readHidDescriptor(extended)).toMatchObject({ touchClass: 'touch-screen', maxContacts: 1, problems: [] });
  });

  it('reports a descriptor that lies about its length or leaves collections open, keeping what it read', () => {
    const whole = touchScreen({ fingers: 2, contactMax: 5 });
    const truncated = readHidDescriptor(Uint8Array.from([...whole.slice(0, whole.length - 5), 0x26]));
    expect(truncated.applications.map((application) => application.name)).toEqual(['touch-screen']);
    expect(truncated.problems[0]).toMatch(/^the item at byte \d+ says it has 2 byte\(s\) of data but the descriptor ends at byte \d+$/);
    expect(truncated.problems).toContain('1 collection(s) never closed');
    expect(readHidDescriptor(Uint8Array.from([...endCollection()])).problems).toEqual(['an End Collection at byte 0 closes no collection']);
    expect(readHidDescriptor(Uint8Array.from([0xfe, 0x40, 0x00])).problems[0]).toContain('runs past the end');
  });

  it('never throws on whatever bytes a device sends', () => {
    for (let round = 0; round < 2_000; round += 1) {
      const reading = readHidDescriptor(randomBytes(round % 97));
      expect(Array.isArray(reading.problems)).toBe(true);
    }
  });
});
