import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { UsbResetTarget } from './remediation-plan.js';
import { traitsFor } from '../platform/platform-traits.js';
import { LibusbResetter } from './usb-reset.js';

// This machine has no USB bus, so only the paths that meet no device can run here; the reset
// itself is exercised through MockUsbResetter in the remediator's tests.

const target: UsbResetTarget = { busNumber: 1, deviceAddress: 4, vendorId: 0x046d, productId: 0x0843, port: '1-1.4' };
const noUsbBus = !existsSync('/sys/bus/usb');
const scratch = mkdtempSync(join(tmpdir(), 'avcare-usb-reset-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('LibusbResetter', () => {
  it.skipIf(!noUsbBus)('reports "no USB bus" as its result on a PC without /sys/bus/usb (this machine)', async () => {
    const outcome = await new LibusbResetter().reset(target, new AbortController().signal);
    expect(outcome).toEqual({ reset: false, result: 'no USB reset: this PC exposes no USB bus (/sys/bus/usb is absent)' });
  });

  it('reports a configured bus path that does not exist', async () => {
    const outcome = await new LibusbResetter({ sysBusUsb: join(scratch, 'missing'), traits: traitsFor('linux') }).reset(target, new AbortController().signal);
    expect(outcome.reset).toBe(false);
    expect(outcome.result).toContain(join(scratch, 'missing'));
  });

  it('reports a device that is no longer at its bus and address, without touching anything else', async () => {
    // The bus path exists, so libusb is asked; it lists no device with these ids here.
    const outcome = await new LibusbResetter({ sysBusUsb: scratch }).reset({ ...target, vendorId: 0xdead, productId: 0xbeef }, new AbortController().signal);
    expect(outcome).toEqual({ reset: false, result: 'no USB reset: the device is no longer at bus 1 address 4 (port 1-1.4)' });
  });

  it('says plainly where a platform cannot reset a device (Windows, macOS), never failing obscurely', async () => {
    const windows = await new LibusbResetter({ sysBusUsb: scratch, traits: traitsFor('win32') }).reset(target, new AbortController().signal);
    expect(windows.reset).toBe(false);
    expect(windows.result).toMatch(/^no USB reset on Windows: the device belongs to its Windows driver .*Device Manager$/);
    const mac = await new LibusbResetter({ sysBusUsb: scratch, traits: traitsFor('darwin') }).reset(target, new AbortController().signal);
    expect(mac.result).toMatch(/^no USB reset on macOS: .*unplug the device and plug it in again$/);
  });

  it('does not start when the remediation has no time left', async () => {
    const outcome = await new LibusbResetter({ sysBusUsb: scratch }).reset(target, AbortSignal.abort());
    expect(outcome).toEqual({ reset: false, result: 'no USB reset: no time left' });
  });
});
