import { describe, expect, it } from 'vitest';
import type { Device, VrInfo } from '../../protocol/index.js';
import { okSources } from '../../test/helpers/device-factory.js';
import { parseAgentConfig } from '../config.js';
import { FaultMonitor } from '../fault-monitor.js';

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
});
