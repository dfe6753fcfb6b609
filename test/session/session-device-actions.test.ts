/**
 * The session actions that touch devices, for real where this machine allows: a VISCA power
 * cycle against the simulated camera over a socat pty pair; a USB reset through the resetter
 * interface (this machine has no USB bus, which the real resetter reports); the diagnostic bundle
 * with secrets removed and its size bounded to one answer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_RESULT_BYTES } from '../../protocol/remote-session.js';
import { sessionActions, type ActionHooks } from '../../agent/session/session-actions.js';
import { actionHooks } from '../helpers/action-hooks.js';
import type { UsbResetter } from '../../agent/remediation/usb-reset.js';
import type { Device } from '../../protocol/index.js';
import { openPtyPair, type PtyPair } from '../helpers/pty-pair.js';
import { startViscaCamera, type SimulatedViscaCamera } from '../sim/visca-camera.js';

const FAST = { offMs: 200, commandTimeoutMs: 2_000, comeBackMs: 3_000 };
const signal = (): AbortSignal => new AbortController().signal;

function hooks(overrides: Partial<ActionHooks> = {}): ActionHooks {
  return actionHooks({ powerCycle: FAST, ...overrides });
}

describe('visca-power-cycle against the simulated camera', () => {
  let pair: PtyPair;
  let camera: SimulatedViscaCamera;

  beforeAll(async () => {
    pair = await openPtyPair();
    camera = await startViscaCamera(pair.b, { mode: 'on', address: 1 });
  });

  afterAll(async () => {
    await camera?.close();
    await pair?.close();
  });

  const cameras = (): ActionHooks['cameras'] => ({ serialPorts: [{ path: pair.a, protocol: 'visca', baudRate: 9600, address: 1, name: 'front camera' }], viscaIp: [] });

  it('puts the camera in standby, waits, powers it on and sees it on again', async () => {
    camera.received.length = 0;
    const result = (await sessionActions(hooks({ cameras: cameras() }))('visca-power-cycle', { camera: 'front camera' }, signal())) as { before: string; after: string; steps: string[]; camera: string };
    expect(result).toMatchObject({ camera: pair.a, before: 'on', after: 'on' });
    expect(result.steps).toEqual(['power before: on', 'standby: done', 'power on: done', 'power after: on']);
    const sent = camera.received.map((packet) => packet.toString('hex'));
    expect(sent.indexOf('8101040003ff')).toBeGreaterThan(-1);
    expect(sent.indexOf('8101040002ff')).toBeGreaterThan(sent.indexOf('8101040003ff'));
  });

  it('brings a camera in standby back on', async () => {
    camera.setMode('standby');
    const result = await sessionActions(hooks({ cameras: cameras() }))('visca-power-cycle', { camera: pair.a }, signal());
    expect(result).toMatchObject({ before: 'standby', after: 'on' });
  });

  it('says so when the camera cannot power on, and touches nothing it is not configured for', async () => {
    camera.setMode('power-error');
    await expect(sessionActions(hooks({ cameras: cameras() }))('visca-power-cycle', { camera: pair.a }, signal())).rejects.toMatchObject({ code: 'VISCA_ERROR_REPLY' });
    camera.setMode('on');
    await expect(sessionActions(hooks({ cameras: cameras() }))('visca-power-cycle', { camera: '/dev/ttyS0' }, signal())).rejects.toThrow(`camera "/dev/ttyS0" is not a VISCA camera this agent is configured for (${pair.a})`);
  });
});

describe('usb-reset and diagnostic-bundle', () => {
  const webcam = {
    id: 'usb:046d:082d:1-1.4',
    kind: 'camera',
    name: 'HD Pro Webcam C920',
    connection: { type: 'usb', bus: 1, portPath: '1-1.4' },
    usb: { vendorId: 0x046d, productId: 0x082d, busNumber: 1, deviceAddress: 7, portPath: [1, 4] },
  } as unknown as Device;

  it('resets only the device the inventory shows on that port, checking it is the same device', async () => {
    const asked: unknown[] = [];
    const resetter: UsbResetter = { reset: (target) => (asked.push(target), Promise.resolve({ reset: true, result: 'reset bus 1 address 7' })) };
    const actions = sessionActions(hooks({ reprobe: () => Promise.resolve({ at: new Date().toISOString(), devices: [webcam], sources: [{ source: 'usb', state: 'ok', durationMs: 3 }] }), usbResetter: resetter }));
    expect(await actions('usb-reset', { port: '1-1.4' }, signal())).toMatchObject({ port: '1-1.4', device: webcam.id, reset: true, devicesAfter: 1 });
    expect(asked).toEqual([{ busNumber: 1, deviceAddress: 7, vendorId: 0x046d, productId: 0x082d, port: '1-1.4' }]);
    await expect(actions('usb-reset', { port: '2-3' }, signal())).rejects.toThrow('no USB device on port 2-3 (devices are on 1-1.4)');
  });

  it('reports a PC without a USB bus as such (the real resetter, on this machine)', async () => {
    const actions = sessionActions(hooks({ reprobe: () => Promise.resolve({ at: new Date().toISOString(), devices: [webcam], sources: [{ source: 'usb', state: 'ok', durationMs: 3 }] }) }));
    await expect(actions('usb-reset', { port: '1-1.4' }, signal())).rejects.toMatchObject({ code: 'ACTION_UNAVAILABLE', message: expect.stringContaining('no USB bus') as unknown });
  });

  it('says a USB bus the PC does not have is unavailable, rather than that nothing is plugged in there', async () => {
    const noBus = { at: new Date().toISOString(), devices: [], sources: [{ source: 'usb' as const, state: 'unavailable' as const, reason: 'no USB bus: /sys/bus/usb is absent', durationMs: 1 }] };
    await expect(sessionActions(hooks({ reprobe: () => Promise.resolve(noBus) }))('usb-reset', { port: '1-1.4' }, signal())).rejects.toMatchObject({
      code: 'ACTION_UNAVAILABLE',
      message: 'USB is unavailable on this PC: no USB bus: /sys/bus/usb is absent',
    });
    const bundle = (await sessionActions(hooks({ reprobe: () => Promise.resolve(noBus) }))('diagnostic-bundle', {}, signal())) as { sources: unknown[] };
    expect(bundle.sources).toEqual(noBus.sources);
  });

  it('collects the bundle with the secrets removed and fits it into one answer', async () => {
    const secret = 'avc_ms_TopSecretValue123';
    const log = Array.from({ length: 500 }, (_, index) => `line ${index}: connected with ${secret} ${'x'.repeat(300)}`);
    const bundle = (await sessionActions(hooks({ reprobe: () => Promise.resolve({ at: new Date().toISOString(), devices: [webcam], sources: [{ source: 'usb', state: 'ok', durationMs: 3 }] }), recentLog: () => log, secrets: [secret] }))('diagnostic-bundle', {}, signal())) as { inventory: Device[]; logExcerpt: string[] };
    const text = JSON.stringify(bundle);
    expect(text).not.toContain(secret);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(MAX_RESULT_BYTES - 2048);
    expect(bundle.inventory.map((device) => device.id)).toEqual([webcam.id]);
    expect(bundle.logExcerpt.length).toBeGreaterThan(0);
    expect(bundle.logExcerpt.at(-1)).toContain('line 499');
  });
});

describe('camera-snapshot and audio-clip through ffmpeg', () => {
  const sources = { videoInput: ['-f', 'lavfi', '-i', 'testsrc2=size=1920x1080:rate=30'], audioInput: ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000'] };

  it('takes one JPEG frame scaled to fit one answer', async () => {
    const shot = (await sessionActions(hooks({ captureSources: sources }))('camera-snapshot', {}, signal())) as { format: string; width: number; bytes: number; base64: string };
    expect(shot).toMatchObject({ format: 'jpeg', width: 640 });
    const jpeg = Buffer.from(shot.base64, 'base64');
    expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
    expect(jpeg.length).toBe(shot.bytes);
    expect(shot.bytes).toBeLessThanOrEqual(44 * 1024);
  });

  it('records the asked seconds as Opus, small enough for one answer', async () => {
    const clip = (await sessionActions(hooks({ captureSources: sources }))('audio-clip', { seconds: 10 }, signal())) as { format: string; seconds: number; bytes: number; base64: string };
    expect(clip).toMatchObject({ format: 'ogg/opus', seconds: 10 });
    expect(Buffer.from(clip.base64, 'base64').subarray(0, 4).toString()).toBe('OggS');
    expect(clip.bytes).toBeLessThanOrEqual(44 * 1024);
    expect(clip.bytes).toBeGreaterThan(5 * 1024);
  });

  it('opens only capture devices, never a file', async () => {
    await expect(sessionActions(hooks())('camera-snapshot', { camera: '/etc/passwd' }, signal())).rejects.toThrow('camera "/etc/passwd" is not a video capture node (/dev/videoN)');
    await expect(sessionActions(hooks({ cameras: { serialPorts: [], viscaIp: [], measure: { room: { microphone: '/var/lib/avcare/identity.json' } } } }))('audio-clip', { seconds: 1 }, signal())).rejects.toThrow('is not an ALSA device name');
  });
});
