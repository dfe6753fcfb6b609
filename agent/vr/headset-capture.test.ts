import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { androidPackageSchema, deviceSchema } from '../../protocol/index.js';
import { parseAgentConfig } from '../config.js';
import { FaultMonitor } from '../fault-monitor.js';
import { loadReplay } from '../replay.js';
import { readAdbDevices, readBluetoothControllers, readBattery, readCrashes, readDataStorage, readQuestControllers, readThermal, readWifi } from './adb-outputs.js';
import { readHeadsetCapture } from './headset-capture.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/vr');

describe('the ADB output readers', () => {
  it('read adb devices -l, including a headset that refused the key', () => {
    expect(readAdbDevices('List of devices attached\n2G0YC5ZF8B0K4S  device usb:1-1.3 product:eureka model:Quest_3 device:eureka transport_id:2\nPA7L1  unauthorized usb:1-1.2 transport_id:5\n')).toEqual([
      { serial: '2G0YC5ZF8B0K4S', state: 'device', usb: '1-1.3', product: 'eureka', model: 'Quest_3', device: 'eureka' },
      { serial: 'PA7L1', state: 'unauthorized', usb: '1-1.2' },
    ]);
  });

  it('read dumpsys battery in percent of its scale, with the charging state, health and temperature', () => {
    expect(readBattery('Current Battery Service state:\n  AC powered: true\n  status: 2\n  health: 3\n  level: 90\n  scale: 200\n  temperature: 471\n')).toEqual({ level: 45, charging: 'charging', powered: true, health: 'overheat', temperatureC: 47.1 });
    // Garbled or cut off before the level: no reading rather than a made-up one.
    expect(readBattery('Current Battery Service state:\n  AC powered: fal')).toBeNull();
    expect(readBattery('level: lots')).toBeNull();
  });

  it('read the thermal status and the hottest sensor, df of /data with or without -h, and the Wi-Fi link', () => {
    expect(readThermal('Thermal Status: 3\n\tTemperature{mValue=48.5, mType=3, mName=skin, mStatus=3}\n\tTemperature{mValue=51.0, mType=0, mName=cpu0, mStatus=3}')).toEqual({ status: 'severe', hottest: { name: 'cpu0', celsius: 51 } });
    expect(readThermal('nothing here')).toBeNull();
    expect(readDataStorage('Filesystem  Size Used Avail Use% Mounted on\n/dev/block/dm-39  107G   105G   1.5G  99% /data')).toEqual({ totalBytes: Math.round(107 * 1024 ** 3), freeBytes: Math.round(1.5 * 1024 ** 3), usePercent: 99 });
    expect(readDataStorage('Filesystem 1K-blocks Used Available Use% Mounted on\n/dev/block/dm-39 112214608 32508124 79575100  30% /data')?.freeBytes).toBe(79575100 * 1024);
    expect(readWifi('WifiInfo: SSID: "SCHOOL", BSSID: x, RSSI: -70, Link speed: 72Mbps, Tx Link speed: 72Mbps, Frequency: 2437MHz')).toEqual({ ssid: 'SCHOOL', rssiDbm: -70, linkMbps: 72, frequencyMhz: 2437 });
    expect(readWifi('Wifi is disabled')).toBeNull();
  });

  it('read a controller that flaps: connected with its battery, then disconnected without a stale battery', () => {
    const connected = 'Paired device: 36300ad79a66d60f, Type:   Left, Model: RUBY, Battery: 71%, Status: Active, ExternalStatus: CONNECTED_ACTIVE, TrackingStatus: Tracked';
    const dropped = connected.replace('CONNECTED_ACTIVE', 'DISCONNECTED');
    expect(readQuestControllers(connected)).toEqual([{ side: 'left', name: 'left controller (RUBY)', connected: true, batteryPercent: 71 }]);
    expect(readQuestControllers(dropped)).toEqual([{ side: 'left', name: 'left controller (RUBY)', connected: false }]);
  });

  it('read crashes and ANRs of one app from dropbox and logcat, bounded however long the log', () => {
    const logcat = [
      '12-07 08:12:03.456  4321  4321 E AndroidRuntime: FATAL EXCEPTION: main',
      '12-07 08:12:03.456  4321  4321 E AndroidRuntime: Process: com.school.chemlab, PID: 4321',
      '12-07 08:12:03.456  4321  4321 E AndroidRuntime: java.lang.NullPointerException: scene root',
      '12-07 08:20:41.001  1200  1300 E ActivityManager: ANR in com.school.chemlab (com.school.chemlab/.Main)',
      '12-07 08:21:00.000  1200  1300 E ActivityManager: ANR in com.other.app',
    ].join('\n');
    expect(readCrashes(logcat, 'com.school.chemlab')).toEqual([
      { kind: 'crash', packageName: 'com.school.chemlab', at: '12-07 08:12:03.456', detail: 'java.lang.NullPointerException: scene root' },
      { kind: 'anr', packageName: 'com.school.chemlab', at: '12-07 08:20:41.001', detail: 'ANR in com.school.chemlab (com.school.chemlab/.Main)' },
    ]);
    const enormous = Array.from({ length: 5000 }, (_, index) => logcat.replaceAll('08:12:03.456', `08:12:03.${String(index % 1000).padStart(3, '0')}`).replaceAll('12-07 08:20', `12-${String(7 + Math.floor(index / 1000)).padStart(2, '0')} 08:20`)).join('\n');
    const crashes = readCrashes(enormous, 'com.school.chemlab');
    expect(crashes).toHaveLength(20);
    // The same record pasted twice is one crash.
    expect(readCrashes(`${logcat}\n${logcat}`, 'com.school.chemlab')).toHaveLength(2);
    expect(crashes.every((crash) => crash.detail.length <= 300)).toBe(true);
  });

  it('refuses an app name that is not an Android package name, saying what one looks like', () => {
    expect(androidPackageSchema.safeParse('com.school.chemlab').success).toBe(true);
    const refused = androidPackageSchema.safeParse('Chemistry Lab');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toMatch(/must be an Android package name such as com.school.vrlab/);
  });
});

async function replayed(name: string) {
  const loaded = await loadReplay(join(FIXTURES, name));
  return { ...loaded, faults: new FaultMonitor(parseAgentConfig({}), null).detect(loaded.cycle) };
}

describe('probe --replay of a headset capture', () => {
  it('reads a Quest 3 on a charging cart: battery, controllers, Wi-Fi, storage, the class app and its crash', async () => {
    const { cycle, faults, conclusions } = await replayed('quest3-cart-a3.capture.txt');
    const [headset] = cycle.devices;
    expect(deviceSchema.parse(headset)).toBeTruthy();
    expect(headset).toMatchObject({ kind: 'vr-headset', name: 'Oculus Quest 3', serialNumber: '2G0YC5ZF8B0K4S', connection: { type: 'usb', portPath: '1-1.3' } });
    expect(headset?.vr).toMatchObject({
      authorized: true,
      osBuild: 'UP1A.231005.007.A1',
      battery: { level: 22, charging: 'discharging', powered: false, health: 'good', temperatureC: 31.8 },
      thermal: { status: 'none', hottestC: 39.2 },
      storage: { usePercent: 31 },
      wifi: { ssid: 'SCHOOL-VR-5G', rssiDbm: -63, linkMbps: 390, frequencyMhz: 5745 },
      apps: [{ packageName: 'com.school.chemlab', installed: true, versionName: '1.4.2', versionCode: 142, running: false }],
    });
    expect(faults.map((fault) => [fault.code, fault.deviceId])).toEqual([
      ['VR_BATTERY_LOW', headset?.id],
      ['VR_CONTROLLER_DISCONNECTED', `${headset?.id}/controller-left`],
      ['VR_APP_CRASHED', `${headset?.id}/app:com.school.chemlab`],
    ]);
    expect(faults[2]?.message).toBe("com.school.chemlab on Oculus Quest 3 crashed at 2026-12-07 08:12:03: java.lang.IllegalStateException: Scene 'Titration_Lab' failed to load: asset bundle missing");
    expect(conclusions[0]?.params.commands).toContain('adb shell dumpsys battery');
  });

  it('reads a headset that refused the key as one fault and nothing else', async () => {
    const { cycle, faults } = await replayed('pico4-unauthorized.capture.txt');
    expect(cycle.devices[0]).toMatchObject({ status: 'unreachable', vr: { authorized: false }, connection: { portPath: '1-1.2' } });
    expect(faults.map((fault) => fault.code)).toEqual(['VR_ADB_NOT_AUTHORIZED']);
  });

  it('reads outputs pasted alone without their commands, and a missing app from its own dumpsys package', () => {
    const alone = ['[ro.product.manufacturer]: [Pico]', '[ro.product.model]: [A9210]', 'Current Battery Service state:', '  status: 5', '  level: 100', '  scale: 100'].join('\n');
    expect(readHeadsetCapture(alone).device?.vr?.battery).toMatchObject({ level: 100, charging: 'full' });
    const missing = readHeadsetCapture('$ adb shell getprop ro.product.model\n[ro.product.model]: [Quest 3]\n$ adb shell dumpsys package com.school.physics\nUnable to find package: com.school.physics\n');
    expect(missing.device?.vr?.apps).toEqual([{ packageName: 'com.school.physics', installed: false, crashes: [] }]);
  });

  it('gives a headset that dropped off mid-capture only what it answered, and no device at all for prose', () => {
    const cut = readHeadsetCapture('$ adb devices -l\nX1  device usb:1-1.4 model:Quest_2\n$ adb shell dumpsys battery\nerror: device \'X1\' not found\n');
    expect(cut.device).toMatchObject({ name: 'Quest 2', vr: { authorized: true, controllers: [], apps: [] } });
    expect(cut.device?.vr?.battery).toBeUndefined();
    expect(readHeadsetCapture('the headset is broken').device).toBeNull();
  });
});

describe('controllers from Bluetooth, where the maker\'s service does not answer (Pico, Vive)', () => {
  // The shape of AOSP's AdapterService and HidHostService dumps; newer Android masks the first octets.
  const dump = [
    'Bluetooth Status',
    '  enabled: true',
    '  state: ON',
    'Bonded devices:',
    '  XX:XX:XX:XX:5E:0A [  LE ] PICO 4 Controller-L',
    '  XX:XX:XX:XX:5E:0B [  LE ] PICO 4 Controller-R',
    '  XX:XX:XX:XX:77:10 [DUAL] Classroom Speaker',
    '',
    'Profile: HidHostService',
    '  mTargetDevice: null',
    '  mInputDevices:',
    '  XX:XX:XX:XX:5E:0A : 2',
    '  XX:XX:XX:XX:5E:0B : 0',
  ].join('\n');

  it('lists the bonded controllers with their side, connected as the HID host says, and leaves other devices out', () => {
    expect(readBluetoothControllers(dump)).toEqual([
      { side: 'left', name: 'PICO 4 Controller-L', connected: true },
      { side: 'right', name: 'PICO 4 Controller-R', connected: false },
    ]);
  });

  it('knows a controller is paired but not whether it is connected when the HID host lists nothing, and reads nothing from garbage', () => {
    expect(readBluetoothControllers(dump.split('Profile:')[0] ?? '')).toEqual([
      { side: 'left', name: 'PICO 4 Controller-L', connected: null },
      { side: 'right', name: 'PICO 4 Controller-R', connected: null },
    ]);
    expect(readBluetoothControllers('Bonded devices:\n\u0000\u0001garbage')).toEqual([]);
  });

  it('a pasted Pico capture takes its controllers from Bluetooth, and a Quest\'s own service wins where both are pasted', () => {
    const pico = `$ adb shell getprop\n[ro.product.model]: [A8150]\n[ro.product.manufacturer]: [Pico]\n[ro.serialno]: [PA8150MGD1200123]\n$ adb shell dumpsys bluetooth_manager\n${dump}\n`;
    const { device } = readHeadsetCapture(pico);
    expect(device?.vr?.controllers.map((controller) => [controller.side, controller.connected])).toEqual([
      ['left', true],
      ['right', false],
    ]);
    const quest = `${pico}$ adb shell dumpsys OVRRemoteService\nPaired device: 4e07, Type: Right, Model: RUBY, Battery: 64%, ExternalStatus: CONNECTED_ACTIVE\n`;
    expect(readHeadsetCapture(quest).device?.vr?.controllers).toEqual([{ side: 'right', name: 'right controller (RUBY)', connected: true, batteryPercent: 64 }]);
  });
});

