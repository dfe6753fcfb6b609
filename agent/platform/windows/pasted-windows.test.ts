import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../config.js';
import { FaultMonitor } from '../../fault-monitor.js';
import { loadReplay } from '../../replay.js';
import { readPnpJson, readPnpList, readPnpTable } from './pnp-devices.js';
import { readPrivacySettings } from './privacy-settings.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/windows');

async function replayed(file: string) {
  const replay = await loadReplay(join(FIXTURES, file));
  const faults = new FaultMonitor(parseAgentConfig({}), null).detect(replay.cycle);
  return { replay, devices: replay.cycle.devices, faults: faults.map((fault) => [fault.code, fault.message]) };
}

describe('probe --replay of what Windows users paste about their devices', () => {
  it("Get-PnpDevice's JSON: the disabled camera, the speakerphone Windows stopped, a working microphone; unplugged history and non-AV classes left out", async () => {
    const { replay, devices, faults } = await replayed('get-pnpdevice-room203.json');
    expect(devices.map((device) => [device.kind, device.name, device.status, device.pnp?.problemCode])).toEqual([
      ['camera', 'HD Pro Webcam C920', 'faulty', 22],
      ['microphone', '麦克风 (Realtek(R) Audio)', 'ok', 0],
      ['speakerphone', 'Jabra SPEAK 510 USB', 'faulty', 43],
    ]);
    expect(devices[0]?.connection).toEqual({ type: 'os', path: 'USB\\VID_046D&PID_082D&MI_00\\7&2A4B3C1D&0&0000' });
    expect(faults).toEqual([
      ['WINDOWS_DEVICE_DISABLED', 'HD Pro Webcam C920 is disabled in Device Manager (code 22)'],
      ['WINDOWS_DEVICE_NOT_STARTED', 'Windows could not start Jabra SPEAK 510 USB (Device Manager code 43)'],
    ]);
    expect(replay.conclusions).toEqual([{ tool: 'Get-PnpDevice / Win32_PnPEntity (JSON)', key: 'pnp', params: { count: 3, problems: 2 } }]);
  });

  it("Win32_PnPEntity's single object (ConvertTo-Json of one device): a camera without its driver", async () => {
    const { devices, faults } = await replayed('win32-pnpentity-no-driver.json');
    expect(devices.map((device) => [device.kind, device.name, device.pnp?.class])).toEqual([['camera', 'USB Video Device', 'Camera']]);
    expect(faults).toEqual([['WINDOWS_DRIVER_MISSING', 'USB Video Device has no working driver in Windows (Device Manager code 28)']]);
  });

  it('the default table with its prompt around it, where only Status says a device is in error', async () => {
    const { devices, faults } = await replayed('get-pnpdevice-table.txt');
    expect(devices.map((device) => [device.kind, device.name, device.status])).toEqual([
      ['camera', 'Integrated Camera', 'ok'],
      ['camera', 'HD Pro Webcam C920', 'faulty'],
      ['microphone', 'Microphone (HD Pro Webcam C920)', 'ok'],
    ]);
    // Without the problem code nothing more precise than "faulty" can be said: no guessed fault.
    expect(faults).toEqual([]);
  });

  it("wmic's list as Windows writes it to a file (UTF-16 with a byte-order mark)", async () => {
    const { devices, faults } = await replayed('wmic-list-utf16.txt');
    expect(devices.map((device) => [device.kind, device.name, device.pnp?.problemCode])).toEqual([
      ['camera', 'USB Camera', 10],
      ['speaker', '扬声器 (Realtek(R) Audio)', 0],
    ]);
    expect(faults).toEqual([['WINDOWS_DEVICE_NOT_STARTED', 'Windows could not start USB Camera (Device Manager code 10)']]);
  });

  it("dxdiag /t's report (CR LF, Chinese device names): its cameras and sound devices, the camera Windows could not start", async () => {
    const { replay, devices, faults } = await replayed('dxdiag-classroom-pc.txt');
    expect(devices.map((device) => [device.kind, device.name, device.pnp?.class, device.pnp?.problemCode])).toEqual([
      ['speaker', '扬声器 (Realtek(R) Audio)', 'AudioEndpoint', null],
      ['speakerphone', '扬声器 (Jabra SPEAK 510 USB)', 'AudioEndpoint', null],
      ['microphone', '麦克风 (Realtek(R) Audio)', 'AudioEndpoint', null],
      ['speakerphone', '麦克风 (Jabra SPEAK 510 USB)', 'AudioEndpoint', null],
      ['camera', 'USB2.0 HD UVC WebCam', 'Camera', 0],
      ['camera', 'HD Pro Webcam C920', 'Camera', 10],
    ]);
    // The camera's instance id from its symbolic link, as Get-PnpDevice names it; the driver's maker is not the camera's.
    expect(devices[5]?.pnp?.instanceId).toBe('USB\\VID_046D&PID_082D&MI_00\\7&2A4B3C1D&0&0000');
    expect(devices[5]?.make).toBeUndefined();
    expect(faults).toEqual([['WINDOWS_DEVICE_NOT_STARTED', 'Windows could not start HD Pro Webcam C920 (Device Manager code 10)']]);
    expect(replay.conclusions).toEqual([{ tool: 'dxdiag /t', key: 'pnp', params: { count: 6, problems: 1 } }]);
  });

  it('a program that started using the camera and never stopped: CAMERA_HELD_BY_APP once it has held it longer than a lesson, unless it is expected to', async () => {
    const replay = await loadReplay(join(FIXTURES, 'reg-query-camera-held.txt'));
    expect(replay.cycle.privacy?.camera.inUseBy).toEqual([{ app: 'EasiCamera.exe', since: '2026-12-07T06:05:12.000Z' }]);
    const detect = (at: string, raw: Record<string, unknown> = {}) => new FaultMonitor(parseAgentConfig(raw), null).detect({ ...replay.cycle, at: new Date(at) }).map((fault) => [fault.code, fault.message]);
    expect(detect('2026-12-07T08:10:00Z')).toEqual([['CAMERA_HELD_BY_APP', "EasiCamera.exe has held the camera since 2026-12-07 06:05 UTC: the next program that opens it (the class's meeting or teaching app) is refused"]]);
    // Within a lesson's length, and for the school's lecture recorder, holding the camera is what it is for.
    expect(detect('2026-12-07T06:50:00Z')).toEqual([]);
    expect(detect('2026-12-07T08:10:00Z', { cameraHoldersExpected: ['easicamera.exe'] })).toEqual([]);
    expect(() => parseAgentConfig({ cameraHoldersExpected: ['C:\\Program Files\\rec.exe'] })).toThrow(/file name/);
    expect(replay.conclusions[0]?.params.camera).toBe('allowed, in use by EasiCamera.exe since 2026-12-07 06:05 UTC');
  });

  it('reads nothing, and throws nothing, from what is not a device listing', () => {
    expect(readPnpJson({ hello: 'world' })).toBeNull();
    expect(readPnpJson('not json')).toBeNull();
    expect(readPnpTable('Status Class\n------ -----\nOK Camera')).toEqual([]);
    expect(readPnpList('DeviceID=\nName=x')).toEqual([]);
    expect(readPnpJson([{ InstanceId: 'USB\\X', Class: 'Camera', Problem: 'CM_PROB_FAILED_INSTALL' }])?.[0]?.problemCode).toBe(28);
  });

  it('reg query of the privacy keys: desktop apps may not use the camera, whatever Device Manager says', async () => {
    const { replay, faults } = await replayed('reg-query-camera-desktop-apps-denied.txt');
    expect(replay.cycle.privacy?.camera).toEqual({ policy: null, device: 'allow', apps: 'allow', desktopApps: 'deny' });
    expect(faults).toEqual([['CAMERA_BLOCKED_BY_PRIVACY', "Windows' privacy settings do not let desktop apps (meeting and teaching programs) use the camera"]]);
    expect(replay.conclusions).toEqual([{ tool: 'reg query / Get-ItemProperty (ConsentStore)', key: 'privacy', params: { camera: 'blocked (desktopApps)', microphone: 'allowed' } }]);
  });

  it("Get-ItemProperty's lists and the group policy that forces deny, the broadest switch named first", () => {
    const pasted = [
      'PS C:\\> Get-ItemProperty HKLM:\\SOFTWARE\\Policies\\Microsoft\\Windows\\AppPrivacy',
      '',
      'LetAppsAccessMicrophone : 2',
      'PSPath                  : Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Policies\\Microsoft\\Windows\\AppPrivacy',
      '',
      'Value        : Deny',
      'PSPath       : Microsoft.PowerShell.Core\\Registry::HKEY_LOCAL_MACHINE\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\CapabilityAccessManager\\ConsentStore\\microphone',
    ].join('\n');
    // Get-ItemProperty prints Value before PSPath: the block is read whole.
    expect(readPrivacySettings(pasted)?.microphone).toEqual({ policy: 'deny', device: 'deny', apps: null, desktopApps: null });
    expect(readPrivacySettings('nothing of the kind')).toBeNull();
  });
});

