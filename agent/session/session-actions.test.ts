import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { actionHooks } from '../../test/helpers/action-hooks.js';
import { sessionActions, setConfigKey, type ActionHooks } from './session-actions.js';
import { parseAgentConfig } from '../config.js';
import type { FfmpegDevice } from '../pasted/ffmpeg-device-list.js';
import { traitsFor } from '../platform/platform-traits.js';
import { clipInput, snapshotInput } from './privacy-capture.js';

function hooks(overrides: Partial<ActionHooks> = {}): ActionHooks {
  return actionHooks({ recentLog: () => ['connected to mqtts://agent:avc_ms_TopSecretValue123@cloud.example:8883', 'probe cycle took 1.2 s'], ...overrides });
}

describe('session actions', () => {
  it('returns the recent log with secrets removed', async () => {
    const result = (await sessionActions(hooks())('fetch-logs', { lines: 50 }, new AbortController().signal)) as { lines: string[] };
    expect(result.lines).toHaveLength(2);
    expect(result.lines.join('\n')).not.toContain('TopSecretValue123');
  });

  it('says what this PC lacks, with a code, instead of pretending (no camera, no microphone here)', async () => {
    const empty = { sysRoot: '/nonexistent', devRoot: '/nonexistent', procRoot: '/nonexistent' };
    await expect(sessionActions(hooks({ captureSources: empty }))('camera-snapshot', {}, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: 'no camera: no video capture device (/dev/video*) on this PC' });
    await expect(sessionActions(hooks({ captureSources: empty }))('audio-clip', { seconds: 2 }, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: 'no microphone: no sound card that records on this PC' });
  });

  it('on macOS says a background service may not use the camera or microphone, before looking for them', async () => {
    const sources = { sysRoot: '/nonexistent', devRoot: '/nonexistent', procRoot: '/nonexistent', traits: traitsFor('darwin') };
    await expect(sessionActions(hooks({ captureSources: sources }))('camera-snapshot', {}, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: expect.stringMatching(/^macOS does not let a background service use the camera/) as unknown });
    await expect(sessionActions(hooks({ captureSources: sources }))('audio-clip', { seconds: 2 }, new AbortController().signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE' });
  });

  it('on Windows captures through DirectShow: the named device, else the first ffmpeg lists; a name that is not one is refused', async () => {
    const signal = new AbortController().signal;
    const listed: FfmpegDevice[] = [
      { backend: 'dshow', media: 'video', name: 'USB2.0 HD UVC WebCam' },
      { backend: 'dshow', media: 'audio', name: '麦克风 (Jabra SPEAK 510 USB)' },
    ];
    const windows = { traits: traitsFor('win32'), listDshowDevices: () => Promise.resolve(listed) };
    expect(await snapshotInput(undefined, windows, signal)).toEqual({ device: 'USB2.0 HD UVC WebCam', input: ['-f', 'dshow', '-i', 'video=USB2.0 HD UVC WebCam'] });
    expect(await clipInput(windows, signal)).toEqual({ device: '麦克风 (Jabra SPEAK 510 USB)', input: ['-f', 'dshow', '-i', 'audio=麦克风 (Jabra SPEAK 510 USB)'] });
    expect(await snapshotInput('HD Pro Webcam C920', windows, signal)).toMatchObject({ input: ['-f', 'dshow', '-i', 'video=HD Pro Webcam C920'] });
    await expect(snapshotInput('x" -i C:\\secret.txt', windows, signal)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(snapshotInput(undefined, { ...windows, listDshowDevices: () => Promise.resolve([]) }, signal)).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: 'no camera: ffmpeg lists no DirectShow video device on this PC' });
    expect(parseAgentConfig({ measure: { room: { camera: 'HD Pro Webcam C920', microphone: '麦克风 (Jabra SPEAK 510 USB)' } } }).measure.room.camera).toBe('HD Pro Webcam C920');
    expect(() => parseAgentConfig({ measure: { room: { camera: 'bad"name' } } })).toThrow(/measure\.room\.camera/);
  });

  it('re-probes through the daemon and gives the devices found with each source\'s state', async () => {
    const device = { id: 'usb:046d:082d:1-1.4' } as never;
    const snapshot = { at: '2026-12-07T08:00:00.000Z', devices: [device], sources: [{ source: 'usb' as const, state: 'unavailable' as const, reason: 'no USB bus', durationMs: 1 }] };
    expect(await sessionActions(hooks({ reprobe: () => Promise.resolve(snapshot) }))('reprobe', {}, new AbortController().signal)).toEqual(snapshot);
    // Before the first cycle the inventory says why it has none, rather than an empty list.
    expect(await sessionActions(hooks())('inventory', {}, new AbortController().signal)).toMatchObject({ devices: null, reason: expect.stringContaining('first probe cycle') as unknown });
  });
});

describe('setConfigKey', () => {
  const file = (): string => {
    const path = join(mkdtempSync(join(tmpdir(), 'avcare-config-')), 'agent.json');
    writeFileSync(path, JSON.stringify({ schoolId: 'sch-1', measure: { durationSeconds: 20 } }));
    return path;
  };

  it('sets a nested key, keeps the rest of the file, and says it applies at the next start', () => {
    const path = file();
    expect(setConfigKey(path, 'measure.room.camera', '/dev/video2')).toMatchObject({ appliesAt: 'next-start' });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual({ schoolId: 'sch-1', measure: { durationSeconds: 20, room: { camera: '/dev/video2' } } });
  });

  it('refuses a value the agent\'s schema refuses, naming the field, and leaves the file as it was', () => {
    const path = file();
    const before = readFileSync(path, 'utf8');
    expect(() => setConfigKey(path, 'measure.durationSeconds', 9999)).toThrow(/measure\.durationSeconds/);
    expect(() => setConfigKey(path, 'measure.room.camera', '/etc/shadow')).toThrow(/measure\.room\.camera/);
    expect(readFileSync(path, 'utf8')).toBe(before);
  });
});
