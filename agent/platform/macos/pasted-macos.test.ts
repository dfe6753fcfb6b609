import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../../config.js';
import { FaultMonitor } from '../../fault-monitor.js';
import { loadReplay } from '../../replay.js';
import { readLocation, readSystemProfilerJson, readSystemProfilerText } from './system-profiler.js';
import { readTcc } from './tcc.js';

const FIXTURES = join(import.meta.dirname, '../../../test/fixtures/macos');

async function replayed(file: string) {
  const replay = await loadReplay(join(FIXTURES, file));
  const faults = new FaultMonitor(parseAgentConfig({}), null).detect(replay.cycle);
  const devices = replay.cycle.devices.map((device) => [device.kind, device.name, device.connection.type === 'usb' ? device.connection.portPath : device.connection.type === 'os' ? device.connection.path : '']);
  return { replay, devices, faults: faults.map((fault) => [fault.code, fault.message]) };
}

describe('probe --replay of what Mac users paste about their devices', () => {
  it("system_profiler's JSON on macOS 14: the USB camera and speakerphone carry the camera and audio devices macOS made of them; built-in ones are devices of their own; meeting apps' virtual audio is left out", async () => {
    const { replay, devices, faults } = await replayed('system-profiler-macbook-air-room105.json');
    expect(devices).toEqual([
      ['hub', '4-Port USB 2.0 Hub', '1-1'],
      ['camera', 'HD Pro Webcam C920', '1-1.1'],
      ['speakerphone', 'Jabra SPEAK 510 USB', '1-1.2'],
      ['camera', 'FaceTime HD Camera', '47B4B64B70674B9CAD2BAE273A71F4B5'],
      ['microphone', 'MacBook Air Microphone', 'builtin:MacBook Air Microphone'],
      ['speaker', 'MacBook Air Speakers', 'builtin:MacBook Air Speakers'],
    ]);
    const camera = replay.cycle.devices[1];
    expect(camera?.media?.videoNodes).toEqual([{ path: '0x1110000046d082d', name: 'HD Pro Webcam C920', capabilities: ['video-capture'], canCapture: true, usbPort: '1-1.1' }]);
    expect(camera?.media?.audioCards.map((card) => [card.name, card.capture, card.playback])).toEqual([['HD Pro Webcam C920', true, false]]);
    expect(camera?.serialNumber).toBe('8D3F1E2F');
    expect(replay.cycle.devices[2]?.media?.audioCards.map((card) => [card.capture, card.playback])).toEqual([[true, true]]);
    expect(faults).toEqual([]);
    expect(replay.conclusions).toEqual([{ tool: 'system_profiler (JSON)', key: 'systemProfiler', params: { usb: 3, cameras: 2, audio: 6 } }]);
  });

  it("macOS 26's SPUSBHostDataType: a BRIO on USB that macOS made no camera of is the fault a Linux PC gets for a camera without a video node", async () => {
    const { devices, faults } = await replayed('system-profiler-usbhost-mac-mini-lab.json');
    expect(devices).toEqual([
      ['camera', 'Logitech BRIO', '2-1'],
      ['speakerphone', 'Jabra SPEAK 510 USB', '2-2'],
      ['speaker', 'Mac mini Speakers', 'builtin:Mac mini Speakers'],
      ['speaker', 'DELL P2422H', 'hdmi:DELL P2422H'],
    ]);
    expect(faults).toEqual([['CAMERA_NO_VIDEO_NODE', 'Logitech BRIO is on USB but the system offers no usable video device for it: the driver did not bind or the camera failed to start']]);
  });

  it('the text report pasted with prose and a prompt (CR LF): a speakerphone macOS made no audio device of', async () => {
    const { replay, devices, faults } = await replayed('system-profiler-imac-text.txt');
    expect(devices).toEqual([
      ['camera', 'HD Pro Webcam C920', '20-2'],
      ['speakerphone', 'Jabra SPEAK 510 USB', '20-3'],
      ['camera', 'FaceTime HD Camera (Built-in)', 'CC26311ECQHLGGJCA'],
      ['microphone', 'Built-in Microphone', 'builtin:Built-in Microphone'],
      ['speaker', 'Built-in Output', 'builtin:Built-in Output'],
    ]);
    expect(faults).toEqual([['MICROPHONE_NO_CAPTURE', 'Jabra SPEAK 510 USB is present but the system has no capture device for it']]);
    expect(replay.conclusions[0]).toMatchObject({ tool: 'system_profiler (text)', key: 'systemProfiler' });
  });

  it('judges nothing about missing cameras or audio devices when the paste lacks those reports', async () => {
    const json = JSON.stringify({ SPUSBDataType: [{ _name: 'USB31Bus', _items: [{ _name: 'Logitech BRIO', vendor_id: '0x046d  (Logitech Inc.)', product_id: '0x085e', location_id: '0x01100000 / 1' }] }] });
    const { writeFile, mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'avcare-sp-'));
    try {
      await writeFile(join(dir, 'usb-only.json'), `Here is the USB list:\n${json}\nthanks`);
      const replay = await loadReplay(join(dir, 'usb-only.json'));
      expect(replay.cycle.devices.map((device) => [device.kind, device.media])).toEqual([['camera', undefined]]);
      expect(new FaultMonitor(parseAgentConfig({}), null).detect(replay.cycle)).toEqual([]);
      expect(replay.conclusions).toEqual([{ tool: 'system_profiler (JSON)', key: 'systemProfilerPartial', params: { usb: 1, cameras: 0, audio: 0, missing: 'SPCameraDataType, SPAudioDataType' } }]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("macOS's camera and microphone permissions (TCC)", () => {
  it("a class's meeting program refused the camera is CAMERA_BLOCKED_BY_PRIVACY naming it; another program's refusal is only listed", async () => {
    const { replay, faults } = await replayed('tcc-camera-denied-meeting.txt');
    expect(replay.cycle.privacy?.camera.deniedApps).toEqual(['com.tencent.meeting', 'com.example.puzzlegame']);
    expect(replay.cycle.privacy?.microphone.deniedApps).toEqual([]);
    expect(faults).toEqual([['CAMERA_BLOCKED_BY_PRIVACY', "macOS's privacy settings do not let com.tencent.meeting use the camera"]]);
    expect(replay.conclusions).toEqual([{ tool: 'sqlite3 TCC.db (access)', key: 'macPermissions', params: { camera: 'com.tencent.meeting, com.example.puzzlegame', microphone: '-' } }]);
    // A school's own program counts once it is named in classApps.
    const own = new FaultMonitor(parseAgentConfig({ classApps: ['com.example.puzzlegame'] }), null).detect(replay.cycle).map((fault) => fault.message);
    expect(own).toEqual(["macOS's privacy settings do not let com.tencent.meeting, com.example.puzzlegame use the camera"]);
    expect(() => parseAgentConfig({ classApps: ['/Applications/Zoom.app'] })).toThrow(/bundle id/);
  });

  it('reads the -json form and the older "allowed" column; ignores other services and garbage', () => {
    const privacy = readTcc('[{"service":"kTCCServiceMicrophone","client":"us.zoom.xos","auth_value":0},{"service":"kTCCServiceScreenCapture","client":"us.zoom.xos","auth_value":0}]\nkTCCServiceCamera|/Applications/Old.app/Contents/MacOS/Old|0\nkTCCServiceCamera|broken');
    expect(privacy?.microphone.deniedApps).toEqual(['us.zoom.xos']);
    expect(privacy?.camera.deniedApps).toEqual(['/Applications/Old.app/Contents/MacOS/Old']);
    expect(readTcc('kTCCServiceScreenCapture|us.zoom.xos|0')).toBeNull();
  });
});

describe('system_profiler readers', () => {
  it('reads a location id as libusb names the bus and ports on a Mac', () => {
    expect(readLocation('0x14313000 / 5')).toEqual({ locationId: 0x14313000, busNumber: 0x14, portPath: [3, 1, 3], deviceAddress: 5 });
    expect(readLocation('0x02100000')).toEqual({ locationId: 0x02100000, busNumber: 2, portPath: [1], deviceAddress: 0 });
    expect(readLocation('somewhere')).toBeUndefined();
  });

  it("reads Apple's own vendor id, drops masked serials, and skips nodes without both ids", () => {
    const report = readSystemProfilerJson({
      SPUSBDataType: [
        { _name: 'T2Bus', _items: [{ _name: 'FaceTime HD Camera (Built-in)', vendor_id: 'apple_vendor_id', product_id: '0x8514', location_id: '0x80200000', serial_num: '*****' }, { _name: 'no ids' }, 'garbage', 7] },
      ],
    });
    expect(report?.usb).toEqual([{ vendorId: 0x05ac, productId: 0x8514, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, interfaces: [], busNumber: 0x80, deviceAddress: 0, portPath: [2], product: 'FaceTime HD Camera (Built-in)' }]);
  });

  it('reads nothing, and throws nothing, from what is not system_profiler output', () => {
    expect(readSystemProfilerJson({ hello: 'world' })).toBeNull();
    expect(readSystemProfilerJson('text')).toBeNull();
    expect(readSystemProfilerJson(null)).toBeNull();
    expect(readSystemProfilerText('USB devices: none\nPlease help')).toBeNull();
    // A hostile tree: deeper than USB allows, and huge.
    let deep: Record<string, unknown> = { _name: 'leaf', vendor_id: '0x046d', product_id: '0x082d' };
    for (let level = 0; level < 200; level += 1) deep = { _name: `hub ${level}`, _items: [deep] };
    expect(readSystemProfilerJson({ SPUSBDataType: [deep] })?.usb).toEqual([]);
  });
});
