import { existsSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { usbDevice } from '../../test/helpers/device-factory.js';
import { LearnedDevices } from './learned-devices.js';

const day = 86_400_000;

describe('learned devices', () => {
  it('remembers AV devices across restarts and expects them while recently seen', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'avcare-learn-')), 'learned.json');
    const first = new LearnedDevices(file);
    expect(first.observe([usbDevice({ usb: { serialNumber: 'A1B2' } }), usbDevice({ kind: 'hub', usb: { vendorId: 0x05e3, productId: 0x0608 } })], new Date(0))).toBe(true);
    first.save();
    const reloaded = new LearnedDevices(file);
    expect(reloaded.list().map((d) => d.key)).toEqual(['usb:046d:0843:A1B2']);
    expect(reloaded.expectations(new Date(13 * day), 14)).toHaveLength(1);
    expect(reloaded.expectations(new Date(15 * day), 14)).toHaveLength(0);
  });

  it('forgets one device or all of them', () => {
    const learned = new LearnedDevices(null);
    learned.observe([usbDevice(), usbDevice({ kind: 'speakerphone', usb: { vendorId: 0x0b0e, productId: 0x0422 } })], new Date(0));
    expect(learned.forget('usb:046d:0843')).toBe(1);
    expect(learned.forget('nope')).toBe(0);
    expect(learned.forgetAll()).toBe(1);
  });

  it('moves a damaged state file aside instead of crashing or overwriting it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'avcare-learn-'));
    const file = join(dir, 'learned.json');
    writeFileSync(file, '{"version":1,"devices":[{"key":');
    const learned = new LearnedDevices(file);
    expect(learned.loadWarning).toMatch(/unreadable/);
    expect(existsSync(file)).toBe(false);
    expect(readdirSync(dir).some((name) => name.startsWith('learned.json.corrupt-'))).toBe(true);
  });
});
