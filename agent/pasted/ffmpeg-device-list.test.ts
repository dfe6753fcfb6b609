import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadReplay } from '../replay.js';
import { readFfmpegDeviceList } from './ffmpeg-device-list.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures');

describe('probe --replay of ffmpeg -list_devices', () => {
  it("DirectShow on Windows (ffmpeg 6's layout): cameras and microphones by name, the camera's USB ids from its alternative name; a filter without pins left out", async () => {
    const replay = await loadReplay(join(FIXTURES, 'windows/ffmpeg-dshow-list.txt'));
    expect(replay.cycle.devices.map((device) => [device.kind, device.name, device.id])).toEqual([
      ['camera', 'USB2.0 HD UVC WebCam', 'dshow:video:13d3:56a6:USB2.0 HD UVC WebCam'],
      ['microphone', '麦克风 (Realtek(R) Audio)', 'dshow:audio:1:麦克风 (Realtek(R) Audio)'],
      ['speakerphone', '麦克风 (Jabra SPEAK 510 USB)', 'dshow:audio:2:麦克风 (Jabra SPEAK 510 USB)'],
    ]);
    expect(replay.cycle.devices[0]?.connection).toEqual({ type: 'os', path: '@device_pnp_\\\\?\\usb#vid_13d3&pid_56a6&mi_00#6&1b9a2e5c&0&0000#{65e8773d-8f56-11d0-a3b9-00a0c9223196}\\global' });
    expect(replay.conclusions).toEqual([{ tool: 'ffmpeg -list_devices (DirectShow)', key: 'ffmpegDevices', params: { video: 1, audio: 2 } }]);
  });

  it('AVFoundation on a Mac: the screens are not cameras; the error ffmpeg ends with is not a device', async () => {
    const replay = await loadReplay(join(FIXTURES, 'macos/ffmpeg-avfoundation-list.txt'));
    expect(replay.cycle.devices.map((device) => [device.kind, device.name])).toEqual([
      ['camera', 'FaceTime HD Camera'],
      ['camera', 'HD Pro Webcam C920'],
      ['microphone', 'MacBook Air Microphone'],
      ['microphone', 'HD Pro Webcam C920'],
      ['speakerphone', 'Jabra SPEAK 510 USB'],
      ['microphone', 'Microsoft Teams Audio'],
    ]);
    expect(replay.conclusions[0]).toMatchObject({ tool: 'ffmpeg -list_devices (AVFoundation)', params: { video: 2, audio: 4 } });
  });

  it("reads ffmpeg's older DirectShow layout, with a heading per kind and names without a suffix", () => {
    const older = [
      '[dshow @ 0000000000d5a3a0] DirectShow video devices (some may be both video and audio devices)',
      '[dshow @ 0000000000d5a3a0]  "HD Pro Webcam C920"',
      '[dshow @ 0000000000d5a3a0]     Alternative name "@device_pnp_\\\\?\\usb#vid_046d&pid_082d&mi_00#7&2a4b3c1d&0&0000#{65e8773d-8f56-11d0-a3b9-00a0c9223196}\\global"',
      '[dshow @ 0000000000d5a3a0] DirectShow audio devices',
      '[dshow @ 0000000000d5a3a0]  "Microphone (HD Pro Webcam C920)"',
    ].join('\n');
    expect(readFfmpegDeviceList(older).map((device) => [device.media, device.name, device.alternativeName?.includes('vid_046d')])).toEqual([
      ['video', 'HD Pro Webcam C920', true],
      ['audio', 'Microphone (HD Pro Webcam C920)', undefined],
    ]);
    expect(readFfmpegDeviceList('ffmpeg version 6.1 Copyright (c) 2000-2023\n[dshow @ 0] Could not enumerate video devices (or none found).')).toEqual([]);
  });
});
