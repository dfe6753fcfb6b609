import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { chooseUsbHotplugMode, watchUsbHotplug, type UsbHotplugEvent } from './usb-hotplug.js';

describe('chooseUsbHotplugMode', () => {
  it('is unavailable on Linux without a USB bus', () => {
    expect(chooseUsbHotplugMode({ platform: 'linux', usbBusPresent: false, udevRunning: true })).toEqual({
      mode: 'unavailable',
      reason: expect.stringContaining('/sys/bus/usb') as string,
      reasonKey: 'hotplug.noUsbBus',
    });
  });

  it('polls on Linux when udev is not running, because libusb hotplug needs udev', () => {
    const decision = chooseUsbHotplugMode({ platform: 'linux', usbBusPresent: true, udevRunning: false }, 1500);
    expect(decision.mode).toBe('polling');
    expect(decision.reason).toContain('1500 ms');
  });

  it('uses libusb events on Linux with udev, and on other systems', () => {
    expect(chooseUsbHotplugMode({ platform: 'linux', usbBusPresent: true, udevRunning: true })).toEqual({ mode: 'events' });
    expect(chooseUsbHotplugMode({ platform: 'win32', usbBusPresent: false, udevRunning: false })).toEqual({ mode: 'events' });
  });
});

describe('watchUsbHotplug', () => {
  it.skipIf(existsSync('/sys/bus/usb'))('is unavailable on this machine, which has no USB bus', () => {
    const watch = watchUsbHotplug(() => undefined);
    expect(watch.mode).toBe('unavailable');
    expect(watch.reason).toContain('/sys/bus/usb');
    watch.stop();
  });

  it('polls the real libusb device list when told udev is absent, reports no change when nothing changes, and stops', async () => {
    const events: UsbHotplugEvent[] = [];
    const watch = watchUsbHotplug((event) => events.push(event), { pollIntervalMs: 20, facts: { platform: 'linux', usbBusPresent: true, udevRunning: false } });
    expect(watch.mode).toBe('polling');
    await new Promise((resolve) => setTimeout(resolve, 100));
    watch.stop();
    expect(events).toEqual([]);
  });
});
