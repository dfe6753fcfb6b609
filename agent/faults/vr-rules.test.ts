import { describe, expect, it } from 'vitest';
import type { Device, VrInfo } from '../../protocol/index.js';
import { okSources } from '../../test/helpers/device-factory.js';
import { parseAgentConfig } from '../config.js';
import { FaultMonitor } from '../fault-monitor.js';
import { attachHeadsetsToUsb } from '../vr/headset-match.js';

function headset(serial: string, vr: Partial<VrInfo> = {}): Device {
  return {
    id: `adb:${serial}`,
    kind: 'vr-headset',
    name: `Pico 4 ${serial}`,
    connection: { type: 'usb', bus: 1, portPath: `1-1.${serial.length}` },
    status: 'ok',
    vr: { authorized: true, controllers: [], apps: [], battery: { level: 90, charging: 'full', powered: true, health: 'good', temperatureC: 30 }, ...vr },
  };
}

const app = (versionName: string): VrInfo['apps'][number] => ({ packageName: 'com.school.chemlab', installed: true, versionName, crashes: [] });

function detect(devices: Device[]) {
  return new FaultMonitor(parseAgentConfig({}), null).detect({ at: new Date('2026-12-07T08:00:00Z'), devices, sources: okSources('usb') });
}

describe('VR headset faults', () => {
  it('finds the one headset of a class set whose app is on another version, and says which the rest have', () => {
    const faults = detect([headset('A1', { apps: [app('1.4.2')] }), headset('A2', { apps: [app('1.4.2')] }), headset('A3', { apps: [app('1.3.9')] })]);
    expect(faults.map((fault) => [fault.code, fault.deviceId, fault.message])).toEqual([['VR_APP_VERSION_MISMATCH', 'adb:A3/app:com.school.chemlab:version', 'com.school.chemlab on Pico 4 A3 is version 1.3.9; the rest of the class set has 1.4.2']]);
    // Two against two: no majority, nothing to say.
    expect(detect([headset('A1', { apps: [app('1.4.2')] }), headset('A2', { apps: [app('1.3.9')] })])).toEqual([]);
  });

  it('raises overheating from the thermal status or the battery, storage low, and a low controller battery', () => {
    const hot = headset('H1', { thermal: { status: 'severe', hottestC: 52, hottestSensor: 'skin' }, storage: { freeBytes: 1024 ** 3, totalBytes: 128 * 1024 ** 3, usePercent: 99 }, controllers: [{ side: 'right', name: 'right controller', connected: true, batteryPercent: 10 }] });
    expect(detect([hot]).map((fault) => [fault.code, fault.message])).toEqual([
      ['VR_OVERHEATING', 'Pico 4 H1 is overheating: thermal status severe (skin 52 °C)'],
      ['VR_STORAGE_LOW', 'Pico 4 H1 has 1.0 GB free (99% used)'],
      ['VR_CONTROLLER_BATTERY_LOW', 'The right controller of Pico 4 H1 has 10% battery'],
    ]);
    const warm = headset('H2', { battery: { level: 80, charging: 'charging', powered: true, health: 'good', temperatureC: 46.5 } });
    expect(detect([warm]).map((fault) => fault.message)).toEqual(['Pico 4 H2 is overheating: battery at 46.5 °C']);
  });

  it('reads a low battery that is charging differently from one that is not, and a missing app', () => {
    const charging = headset('C1', { battery: { level: 25, charging: 'charging', powered: true, health: 'good' }, apps: [{ packageName: 'com.school.physics', installed: false, crashes: [] }] });
    expect(detect([charging]).map((fault) => fault.message)).toEqual(['Pico 4 C1 battery at 25% (charging)', 'com.school.physics is not installed on Pico 4 C1']);
  });

  it('a cart expected to hold 30 headsets with 27 seen is one fault, "30 expected, 27 seen", and none when all are back', () => {
    const config = parseAgentConfig({ expectedDevices: [{ kind: 'vr-headset', label: 'Cart A', count: 30 }] });
    const cart = Array.from({ length: 30 }, (_, index) => headset(`A${index + 1}`));
    const at = new Date('2026-12-07T08:00:00Z');
    const monitor = new FaultMonitor(config, null);
    const faults = monitor.detect({ at, devices: cart.slice(3), sources: okSources('adb') });
    expect(faults.map((fault) => [fault.code, fault.deviceId, fault.message])).toEqual([['DEVICE_MISSING', 'expected:adb:vr-headset', 'Cart A: 30 expected, 27 seen']]);
    expect(faults[0]?.evidence).toMatchObject({ expectedCount: 30, seenCount: 27 });
    expect(monitor.detect({ at, devices: cart, sources: okSources('adb') })).toEqual([]);
  });

  it('a headset seen on USB and over ADB is one device: the ADB reading, on the USB port', () => {
    const overAdb: Device = { ...headset('2G0YC5ZF8B0K4S'), connection: { type: 'os', path: 'adb:2G0YC5ZF8B0K4S' }, serialNumber: '2G0YC5ZF8B0K4S' };
    const onUsb: Device = { id: 'usb:1-1.4', kind: 'vr-headset', name: 'Meta (Oculus) Quest 3', make: 'Meta (Oculus)', connection: { type: 'usb', bus: 1, portPath: '1-1.4' }, status: 'ok', usb: { vendorId: 0x2833, productId: 0x0186, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, busNumber: 1, deviceAddress: 7, portPath: [1, 4], serialNumber: '2G0YC5ZF8B0K4S', interfaces: [] } };
    const camera: Device = { id: 'usb:1-2', kind: 'camera', name: 'C920', connection: { type: 'usb', bus: 1, portPath: '1-2' }, status: 'ok' };
    const merged = attachHeadsetsToUsb([onUsb, camera, overAdb]);
    expect(merged.map((device) => device.id)).toEqual(['usb:1-2', 'adb:2G0YC5ZF8B0K4S']);
    expect(merged[1]).toMatchObject({ connection: { type: 'usb', portPath: '1-1.4' }, make: 'Meta (Oculus)', usb: { vendorId: 0x2833 } });
    expect(merged[1]?.vr?.authorized).toBe(true);
  });
});
