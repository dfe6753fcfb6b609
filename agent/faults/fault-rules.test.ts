import { describe, expect, it } from 'vitest';
import { FAULT_CODES, type Device, type PjlinkInfo } from '../../protocol/index.js';
import { parseAgentConfig, type AgentConfigInput } from '../config.js';
import { okSources, pjlinkInfo, projector, systemSnapshot, usbDevice, viscaCamera } from '../../test/helpers/device-factory.js';
import { expectationFromConfig } from './expected-devices.js';
import type { CycleSnapshot } from './fault-condition.js';
import { evaluateFaults, type RuleContext } from './fault-rules.js';

function context(config: AgentConfigInput = {}, lastPjlinkAnswer = new Map<string, PjlinkInfo>()): RuleContext {
  const parsed = parseAgentConfig(config);
  return { config: parsed, expectations: parsed.expectedDevices.map(expectationFromConfig), lastPjlinkAnswer };
}

function snapshot(devices: Device[], extra: Partial<CycleSnapshot> = {}): CycleSnapshot {
  return { at: new Date('2026-11-23T08:00:00Z'), devices, sources: okSources('usb', 'media', 'serial', 'pjlink', 'system'), system: systemSnapshot(), ...extra };
}

const codes = (snap: CycleSnapshot, ctx: RuleContext) => evaluateFaults(snap, ctx).map((f) => `${f.code}@${f.deviceId ?? 'pc'}`);

describe('fault rules', () => {
  it('reports nothing for a healthy room', () => {
    const camera = usbDevice({ media: { videoNodes: [{ path: '/dev/video0', name: 'C930e', capabilities: ['video-capture'], canCapture: true }], audioCards: [{ index: 1, id: 'C930e', name: 'C930e', capture: true, playback: false, captureMuted: false }] } });
    expect(codes(snapshot([camera, projector(), viscaCamera()]), context({ expectedDevices: [{ kind: 'camera' }] }))).toEqual([]);
  });

  it('raises DEVICE_MISSING for each configured device that is absent, one device per expectation', () => {
    const ctx = context({ expectedDevices: [{ kind: 'camera', label: 'front camera' }, { kind: 'camera', label: 'rear camera' }, { kind: 'projector' }] });
    const faults = evaluateFaults(snapshot([usbDevice()]), ctx);
    expect(faults.map((f) => `${f.code}@${f.deviceId}`)).toEqual(['DEVICE_MISSING@expected:usb:camera', 'DEVICE_MISSING@expected:pjlink:projector']);
    expect(faults[0]?.message).toContain('camera');
    expect(faults[0]?.source).toBe('usb');
  });

  it('matches expected devices by vendor and product so another camera does not stand in', () => {
    const ctx = context({ expectedDevices: [{ kind: 'camera', vendorId: 0x046d, productId: 0x085e, label: 'BRIO' }] });
    expect(codes(snapshot([usbDevice()]), ctx)).toEqual(['DEVICE_MISSING@expected:usb:camera:046d:085e']);
    expect(codes(snapshot([usbDevice({ usb: { productId: 0x085e } })]), ctx)).toEqual([]);
  });

  it('flags a USB camera with no capture-capable video node, but not one without media info', () => {
    const broken = usbDevice({ media: { videoNodes: [{ path: '/dev/video1', name: 'meta', capabilities: ['metadata-capture'], canCapture: false }], audioCards: [{ index: 1, id: 'c', name: 'c', capture: true, playback: false }] } });
    expect(codes(snapshot([broken]), context())).toEqual([`CAMERA_NO_VIDEO_NODE@${broken.id}`]);
    expect(codes(snapshot([usbDevice()]), context())).toEqual([]);
  });

  it('flags a microphone without a capture device, and a muted one', () => {
    const mic = (captureMuted: boolean | undefined, capture = true): Device => {
      const card = { index: 2, id: 'Speak', name: 'Jabra SPEAK 510', capture, playback: true, ...(captureMuted === undefined ? {} : { captureMuted }) };
      return usbDevice({ kind: 'speakerphone', name: 'Jabra SPEAK 510', usb: { vendorId: 0x0b0e, productId: 0x0422, interfaces: [{ number: 0, alternate: 0, class: 1, subClass: 1, protocol: 0 }, { number: 1, alternate: 0, class: 1, subClass: 2, protocol: 0 }, { number: 3, alternate: 0, class: 3, subClass: 0, protocol: 0 }] }, media: { videoNodes: [], audioCards: [card] } });
    };
    expect(codes(snapshot([mic(false, false)]), context())[0]).toMatch(/^MICROPHONE_NO_CAPTURE@/);
    expect(codes(snapshot([mic(true)]), context())[0]).toMatch(/^MICROPHONE_MUTED@/);
    expect(codes(snapshot([mic(undefined)]), context())).toEqual([]);
  });

  it('raises VISCA power error and camera not answering with the raw bytes as evidence', () => {
    const powerError = viscaCamera({ status: 'faulty', visca: { address: 1, power: 'power-error' } });
    const silent = viscaCamera({ id: 'serial:/dev/ttyUSB1', status: 'unreachable', connection: { type: 'serial', path: '/dev/ttyUSB1', protocol: 'visca', baudRate: 9600 }, error: { code: 'VISCA_GARBLED', message: 'garbled reply', raw: '9050' } });
    const faults = evaluateFaults(snapshot([powerError, silent]), context());
    expect(faults.map((f) => f.code)).toEqual(['VISCA_POWER_ERROR', 'VISCA_NOT_ANSWERING']);
    expect(faults[1]?.evidence.error).toMatchObject({ raw: '9050' });
  });

  it('maps each PJLink error status part and level to its own code', () => {
    const hot = projector({ status: 'faulty', pjlink: pjlinkInfo({ errors: { fan: 'warning', lamp: 'error', temperature: 'error', cover: 'ok', filter: 'warning', other: 'ok' } }) });
    expect(codes(snapshot([hot]), context()).map((c) => c.split('@')[0])).toEqual(['PJLINK_FAN_WARNING', 'PJLINK_LAMP_ERROR', 'PJLINK_TEMPERATURE_ERROR', 'PJLINK_FILTER_WARNING']);
  });

  it('predicts lamp end of life from lamp hours and the configured rated life', () => {
    const worn = projector({ pjlink: pjlinkInfo({ lamps: [{ hours: 1850, on: true }] }) });
    const ctx = context({ pjlink: [{ host: '10.0.0.5', lampLifeHours: 2000 }] });
    const faults = evaluateFaults(snapshot([worn]), ctx);
    expect(faults.map((f) => f.code)).toEqual(['LAMP_END_OF_LIFE']);
    expect(faults[0]?.message).toBe('Room 101 projector: lamp 1 (1850 h) of 2000 h rated life; plan a replacement');
    // The same fault as data: a reader's language renders it from the key and the numbers.
    expect(faults[0]).toMatchObject({ messageKey: 'faults.LAMP_END_OF_LIFE', params: { lamps: '1 (1850 h)', lifeHours: 2000 } });
    expect(codes(snapshot([worn]), context({ pjlink: [{ host: '10.0.0.5', lampLifeHours: 4000 }] }))).toEqual([]);
  });

  it('treats a projector silent after a standby answer as sleeping, and a wrong password as its own fault', () => {
    const silent = projector({ status: 'unreachable', error: { code: 'PJLINK_TIMEOUT', message: 'no answer' } });
    delete silent.pjlink;
    expect(codes(snapshot([silent]), context())).toEqual([`PJLINK_NOT_ANSWERING@${silent.id}`]);
    const asleep = new Map([[silent.id, pjlinkInfo({ power: 'standby' })]]);
    expect(codes(snapshot([silent]), context({}, asleep))).toEqual([]);
    const denied = { ...silent, error: { code: 'PJLINK_AUTH_FAILED', message: 'ERRA' } };
    expect(codes(snapshot([denied]), context())).toEqual([`PJLINK_AUTH_FAILED@${silent.id}`]);
  });

  it('keeps silence, refusal, a rejected password and a garbled answer four faults, none contradicting itself', () => {
    const outcome = (code: string, message: string, raw?: string): Device => {
      const device = projector({ status: 'unreachable', error: { code, message, ...(raw === undefined ? {} : { raw }) } });
      delete device.pjlink;
      return device;
    };
    const faults = evaluateFaults(
      snapshot([
        { ...outcome('PJLINK_TIMEOUT', '10.0.0.5:4352 sent no PJLink greeting within 9000 ms'), id: 'pjlink:a' },
        { ...outcome('PJLINK_REFUSED', '10.0.0.5:4352 refused the connection: nothing listens for PJLink there'), id: 'pjlink:b' },
        { ...outcome('PJLINK_AUTH_FAILED', 'ERRA'), id: 'pjlink:c' },
        { ...outcome('PJLINK_PROTOCOL_ERROR', '10.0.0.5:4352 answered POWR with "HTTP/1.1 400": not a PJLink reply', '485454502f312e31'), id: 'pjlink:d' },
      ]),
      context(),
    );
    expect(faults.map((fault) => [fault.code, FAULT_CODES[fault.code].severity])).toEqual([
      ['PJLINK_NOT_ANSWERING', 'urgent'],
      ['PJLINK_REFUSED', 'general'],
      ['PJLINK_AUTH_FAILED', 'general'],
      ['PJLINK_BAD_REPLY', 'general'],
    ]);
    const badReply = faults[3];
    expect(badReply?.message).toContain('answers PJLink with something unexpected');
    expect(badReply?.message).toContain('"HTTP/1.1 400"');
    expect(badReply?.message).not.toMatch(/does not answer/);
    expect(faults[0]?.message).not.toMatch(/answered/);
  });

  it('raises PJLINK_BAD_REPLY for a projector that answered, quoting what it sent, next to what it answered well', () => {
    const odd = projector({ pjlink: pjlinkInfo({ badReplies: [{ command: 'ERST', raw: '%1ERST=0000', rawHex: '2531455253543d30303030' }], errors: { fan: 'warning', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' } }) });
    const faults = evaluateFaults(snapshot([odd]), context());
    expect(faults.map((fault) => fault.code)).toEqual(['PJLINK_BAD_REPLY', 'PJLINK_FAN_WARNING']);
    expect(faults[0]?.message).toBe(`${odd.name} answered PJLink with something unexpected: ERST -> "%1ERST=0000"`);
  });

  it('flags a nearly full disk and high CPU against the configured thresholds', () => {
    const system = systemSnapshot({ cpu: { cores: 2, loadPercent: 97 }, disks: [{ mount: '/', fsType: 'ext4', sizeBytes: 1e9, usedBytes: 0.95e9, usePercent: 95 }] });
    expect(codes(snapshot([], { system }), context())).toEqual(['DISK_NEARLY_FULL@pc', 'CPU_SUSTAINED_HIGH@pc']);
    expect(codes(snapshot([], { system }), context({ thresholds: { diskUsePercent: 96, cpuLoadPercent: 98 } }))).toEqual([]);
  });
});
