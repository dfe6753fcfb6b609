import { describe, expect, it } from 'vitest';
import { deviceSchema, type Device, type MediaInfo } from '../../protocol/index.js';
import { attachMediaToUsb, unmatchedMedia, usbPortFromSysfsPath } from './media-match.js';

function usbDevice(id: string, kind: Device['kind'], portPath: string): Device {
  return { id, kind, name: id, connection: { type: 'usb', bus: 1, portPath }, status: 'ok' };
}

const webcam = usbDevice('usb:046d:082d:8A2B3C4D', 'camera', '1-1.4');
const deadCamera = usbDevice('usb:046d:0843:1-1.3', 'camera', '1-1.3');
const speakerphone = usbDevice('usb:0b0e:0422:1-1.2', 'speakerphone', '1-1.2');
const projector: Device = {
  id: 'pjlink:10.0.0.5:4352',
  kind: 'projector',
  name: 'front projector',
  connection: { type: 'network', host: '10.0.0.5', port: 4352, protocol: 'pjlink' },
  status: 'ok',
};

const media: MediaInfo = {
  videoNodes: [
    { path: '/dev/video0', name: 'HD Pro Webcam C920', capabilities: ['video-capture', 'streaming'], canCapture: true, usbPort: '1-1.4' },
    { path: '/dev/video1', name: 'HD Pro Webcam C920', capabilities: ['metadata-capture', 'streaming'], canCapture: false, usbPort: '1-1.4' },
    // A laptop's built-in camera behind an IPU: a platform device, no USB port.
    { path: '/dev/video2', name: 'Intel MIPI Camera', capabilities: ['video-capture', 'streaming'], canCapture: true },
  ],
  audioCards: [
    { index: 0, id: 'HDMI', name: 'HDA Intel HDMI', capture: false, playback: true },
    { index: 1, id: 'C920', name: 'HD Pro Webcam C920', capture: true, playback: false, captureMuted: false, usbPort: '1-1.4' },
    { index: 2, id: 'USB', name: 'Jabra SPEAK 510 USB', capture: true, playback: true, captureMuted: true, usbPort: '1-1.2' },
  ],
};

describe('usbPortFromSysfsPath', () => {
  it('names the USB device that owns an interface, behind a hub or on a root port', () => {
    expect(usbPortFromSysfsPath('/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4:1.0')).toBe('1-1.4');
    expect(usbPortFromSysfsPath('/sys/devices/pci0000:00/0000:00:14.0/usb2/2-3/2-3:1.2')).toBe('2-3');
  });

  it('finds the interface below the node itself (…/1-1.4:1.0/video4linux/video0)', () => {
    expect(usbPortFromSysfsPath('/sys/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4:1.0/video4linux/video0')).toBe('1-1.4');
  });

  it('gives undefined for PCI and virtual devices', () => {
    expect(usbPortFromSysfsPath('/sys/devices/pci0000:00/0000:00:1f.3')).toBeUndefined();
    expect(usbPortFromSysfsPath('/sys/devices/virtual/video4linux/video7')).toBeUndefined();
  });
});

describe('attachMediaToUsb', () => {
  const devices = [webcam, deadCamera, speakerphone, projector];
  const attached = attachMediaToUsb(devices, media);

  it('gives the webcam its capture node, its metadata node and its mic card', () => {
    expect(attached[0]?.media?.videoNodes.map((node) => [node.path, node.canCapture])).toEqual([
      ['/dev/video0', true],
      ['/dev/video1', false],
    ]);
    expect(attached[0]?.media?.audioCards.map((card) => card.id)).toEqual(['C920']);
  });

  it('gives a camera the OS made no node for empty lists, so the missing node can be reported', () => {
    expect(attached[1]?.media).toEqual({ videoNodes: [], audioCards: [] });
  });

  it('gives the speakerphone its card with capture, playback and the muted mic', () => {
    expect(attached[2]?.media).toEqual({
      videoNodes: [],
      audioCards: [{ index: 2, id: 'USB', name: 'Jabra SPEAK 510 USB', capture: true, playback: true, captureMuted: true, usbPort: '1-1.2' }],
    });
  });

  it('leaves a USB device with an unknown port chain (read from lsusb) without media rather than "no node"', () => {
    const fromLsusb = usbDevice('usb:046d:0843:1-addr5', 'camera', '1-addr5');
    const rootHub = usbDevice('usb:1d6b:0002:usb1', 'hub', 'usb1');
    const [camera, hub] = attachMediaToUsb([fromLsusb, rootHub], media);
    expect(camera).toBe(fromLsusb);
    expect(hub).toBe(rootHub);
  });

  it('leaves a non-USB device as it was', () => {
    expect(attached[3]).toBe(projector);
    expect(attached[3]?.media).toBeUndefined();
  });

  it('returns new objects and leaves the inputs untouched', () => {
    const before = structuredClone({ devices, media });
    const again = attachMediaToUsb(devices, media);
    expect({ devices, media }).toEqual(before);
    expect(again[0]).not.toBe(webcam);
    again[0]?.media?.videoNodes[0]?.capabilities.push('tampered');
    expect(media.videoNodes[0]?.capabilities).toEqual(['video-capture', 'streaming']);
  });

  it('produces devices that still match the device schema', () => {
    for (const device of attached) expect(deviceSchema.safeParse(device).success).toBe(true);
  });
});

describe('unmatchedMedia', () => {
  it('keeps the HDMI card and the built-in platform camera that no USB device claimed', () => {
    const rest = unmatchedMedia([webcam, deadCamera, speakerphone, projector], media);
    expect(rest.videoNodes.map((node) => node.path)).toEqual(['/dev/video2']);
    expect(rest.audioCards.map((card) => card.id)).toEqual(['HDMI']);
  });

  it('keeps USB nodes whose device the USB probe did not list', () => {
    const rest = unmatchedMedia([projector], media);
    expect(rest.videoNodes).toHaveLength(3);
    expect(rest.audioCards.map((card) => card.id)).toEqual(['HDMI', 'C920', 'USB']);
  });
});
