import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { deviceSchema, type Device, type UsbInfo } from '../../protocol/index.js';
import { parseLsusbVerbose } from './lsusb-parse.js';
import { audioKindFromDirections, classifyUsb, cleanUsbString, refineAudioKindWithMedia, usbDeviceFromInfo, usbPortName } from './usb-classify.js';

const fixture = (name: string): UsbInfo[] => parseLsusbVerbose(readFileSync(new URL(`../../test/fixtures/usb/${name}`, import.meta.url), 'utf8'));
const only = (name: string): UsbInfo => {
  const [device, ...rest] = fixture(name);
  if (device === undefined || rest.length > 0) throw new Error(`${name} should hold exactly one device`);
  return device;
};
const kinds = (devices: UsbInfo[]): string[] => devices.map((device) => classifyUsb(device).kind);

describe('classifyUsb on recorded devices', () => {
  it('calls a webcam with a built-in microphone a camera, named from the catalog when it has no strings', () => {
    expect(classifyUsb(only('webcam-logitech-c270-with-mic.lsusb.txt'))).toEqual({ kind: 'camera', name: 'Webcam C270', make: 'Logitech', model: 'Webcam C270' });
  });

  it('calls a USB headset with call buttons (audio + HID) a headset', () => {
    expect(classifyUsb(only('headset-plantronics-655.lsusb.txt'))).toMatchObject({ kind: 'headset', name: 'Plantronics .Audio 655 DSP', make: 'Poly (Plantronics)' });
  });

  it('calls a conference speakerphone a speakerphone although it has the same interfaces as a headset', () => {
    expect(classifyUsb(only('speakerphone-jabra-speak510.constructed.lsusb.txt'))).toMatchObject({ kind: 'speakerphone', name: 'Jabra SPEAK 510 USB', make: 'Jabra' });
  });

  it('does not call a game pad that carries audio a microphone or headset', () => {
    const pad = only('gamepad-dualsense-with-audio.lsusb.txt');
    expect(classifyUsb(pad)).toMatchObject({ kind: 'other', name: 'Wireless Controller', model: 'DualSense' });
    // A pad missing from the catalog is still caught by its name.
    expect(classifyUsb({ ...pad, productId: 0x0fff }).kind).toBe('other');
  });

  it('calls an HDMI capture device a capture card although its interfaces look like a webcam with a microphone', () => {
    const camLink = only('capture-elgato-camlink-4k.lsusb.txt');
    expect(classifyUsb(camLink)).toMatchObject({ kind: 'capture-card', name: 'Cam Link 4K', make: 'Elgato' });
    // An Elgato product the catalog does not know is decided by its name.
    expect(classifyUsb({ ...camLink, productId: 0x0fff, product: 'Elgato Cam Link Pro' }).kind).toBe('capture-card');
  });

  it('calls an FTDI chip a serial adapter', () => {
    expect(classifyUsb(only('serial-ftdi-ft232r.lsusb.txt'))).toMatchObject({ kind: 'serial-adapter', name: 'FT232R USB UART', make: 'FTDI' });
  });

  it('calls root hubs and other hubs hubs, and keyboards, mice and a plain webcam what they are', () => {
    expect(kinds(fixture('pc-asus-et2410-with-root-hubs.lsusb.txt'))).toEqual(['other', 'camera', 'hub', 'other', 'hub', 'hub']);
  });

  it('sorts a Vive set into its hub, tracking receiver, headset, controller dongles and headset audio', () => {
    const set = fixture('vr-htc-vive-set.constructed.lsusb.txt');
    expect(set.map((device) => [classifyUsb(device).name, classifyUsb(device).kind])).toEqual([
      ['CB USB2', 'hub'],
      ['BCM2045A0', 'other'],
      ['Lighthouse FPGA RX', 'vr-tracking'],
      ['USB Audio Device', 'headset'],
      ['HTC Vive', 'vr-headset'],
      ['Watchman Dongle', 'vr-controller'],
      ['Watchman Dongle', 'vr-controller'],
    ]);
  });

  it('calls any Oculus device a VR headset part, even one the catalog does not list', () => {
    const tracker = only('vr-oculus-rift-dk1-tracker.lsusb.txt');
    expect(classifyUsb(tracker)).toMatchObject({ kind: 'vr-headset', name: 'Tracker DK', make: 'Meta (Oculus)' });
    expect(classifyUsb({ ...tracker, productId: 0x7777 }).kind).toBe('vr-headset');
  });
});

describe('classifyUsb rules', () => {
  const speak = only('speakerphone-jabra-speak510.constructed.lsusb.txt');
  const unlisted = { ...speak, productId: 0x9999 };
  const withoutNames = (info: UsbInfo): UsbInfo => {
    const copy = { ...info };
    delete copy.product;
    delete copy.productName;
    return copy;
  };

  it('takes "Speak" in the product name as a speakerphone when the catalog does not list the product', () => {
    expect(classifyUsb(unlisted).kind).toBe('speakerphone');
  });

  it("falls back to the vendor's default for audio when no name helps (Jabra: headset)", () => {
    expect(classifyUsb(withoutNames(unlisted)).kind).toBe('headset');
  });

  it('does not apply an audio vendor default to a video device (a Jabra camera is a camera)', () => {
    const webcam = only('webcam-logitech-c270-with-mic.lsusb.txt');
    expect(classifyUsb({ ...webcam, vendorId: 0x0b0e, productId: 0x9999 }).kind).toBe('camera');
  });

  it('calls a generic two-way audio device a headset and a one-way one a microphone, unless its name says speaker', () => {
    const generic = { ...withoutNames(unlisted), vendorId: 0x0d8c, productId: 0x0014 };
    expect(classifyUsb(generic).kind).toBe('headset');
    const oneWay = { ...generic, interfaces: generic.interfaces.filter((i) => i.number !== 2) };
    expect(classifyUsb(oneWay).kind).toBe('microphone');
    expect(classifyUsb({ ...oneWay, product: 'USB Speaker' }).kind).toBe('speaker');
    expect(classifyUsb({ ...generic, product: 'USB PnP Sound Device' }, { productName: 'Conference Speakerphone' }).kind).toBe('speakerphone');
  });

  it('maps ALSA directions to an audio kind for the media probe to correct a guess', () => {
    expect(audioKindFromDirections(true, false)).toBe('microphone');
    expect(audioKindFromDirections(false, true)).toBe('speaker');
    expect(audioKindFromDirections(true, true)).toBe('headset');
  });

  it('names an unknown device by its ids, and prefers usb.ids names to nothing', () => {
    const bare: UsbInfo = { vendorId: 0x1234, productId: 0x00ab, deviceClass: 0xff, deviceSubClass: 0, deviceProtocol: 0, interfaces: [], busNumber: 1, deviceAddress: 5, portPath: [2] };
    expect(classifyUsb(bare)).toEqual({ kind: 'other', name: 'USB device 1234:00ab' });
    expect(classifyUsb(bare, { vendorName: 'Acme', productName: 'Thing' })).toEqual({ kind: 'other', name: 'Thing', make: 'Acme', model: 'Thing' });
  });

  it('strips control and bidi characters from device strings and caps their length', () => {
    const hostile = { ...only('serial-ftdi-ft232r.lsusb.txt'), product: `Evil\u0000Cam\u001b[31m\u202Egnp.exe${'x'.repeat(500)}` };
    const { name } = classifyUsb(hostile);
    expect(name).toMatch(/^Evil Cam \[31mgnp\.exex+$/);
    expect(name.length).toBeLessThanOrEqual(128);
    expect(cleanUsbString('--')).toBeUndefined();
    expect(cleanUsbString('  A900N7DV\n')).toBe('A900N7DV');
  });
});

describe('classifyUsb with ids and a name only (plain lsusb, macOS system_profiler)', () => {
  const named = (product: string | undefined, vendorId = 0x1b3f): UsbInfo => ({ vendorId, productId: 0x2247, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, interfaces: [], busNumber: 1, deviceAddress: 3, portPath: [], ...(product === undefined ? {} : { product }) });

  it('takes the kind from the name when no descriptor says otherwise', () => {
    expect(classifyUsb(named('USB 2.0 Camera')).kind).toBe('camera');
    expect(classifyUsb(named('4-Port USB 2.0 Hub')).kind).toBe('hub');
    expect(classifyUsb(named('USB3.0 HDMI Capture')).kind).toBe('capture-card');
    expect(classifyUsb(named('USB PnP Sound Device Microphone')).kind).toBe('microphone');
    expect(classifyUsb(named('Conference Speakerphone')).kind).toBe('speakerphone');
  });

  it('stays "other" without a telling name, and the catalog still wins over a name', () => {
    expect(classifyUsb(named(undefined)).kind).toBe('other');
    expect(classifyUsb(named('Generic USB Device')).kind).toBe('other');
    expect(classifyUsb({ ...named('Camera Controller'), vendorId: 0x0b0e, productId: 0x0422 }).kind).toBe('speakerphone');
  });
});

describe('usbPortName', () => {
  it('uses the sysfs name: bus, then the port chain', () => {
    expect(usbPortName({ busNumber: 1, portPath: [1, 4], deviceAddress: 7 })).toBe('1-1.4');
  });
  it('names a root hub usbN', () => {
    expect(usbPortName({ busNumber: 2, portPath: [], deviceAddress: 1 })).toBe('usb2');
  });
  it('names a device with an unknown port by its address, so two of them do not collide', () => {
    expect(usbPortName({ busNumber: 2, portPath: [], deviceAddress: 19 })).toBe('2-addr19');
  });
});

describe('usbDeviceFromInfo', () => {
  it('builds a schema-valid Device whose id holds the serial number', () => {
    const device = usbDeviceFromInfo({ ...only('serial-ftdi-ft232r.lsusb.txt'), portPath: [1] });
    expect(deviceSchema.parse(device)).toEqual(device);
    expect(device).toMatchObject({
      id: 'usb:0403:6001:A900N7DV',
      kind: 'serial-adapter',
      name: 'FT232R USB UART',
      make: 'FTDI',
      serialNumber: 'A900N7DV',
      connection: { type: 'usb', bus: 3, portPath: '3-1' },
      status: 'ok',
    });
  });

  it('falls back to the port for the id when the serial is a placeholder, and records usb.ids names', () => {
    const rootHub = fixture('pc-asus-et2410-with-root-hubs.lsusb.txt').find((d) => d.busNumber === 1 && d.deviceAddress === 1);
    if (rootHub === undefined) throw new Error('root hub missing from fixture');
    const device = usbDeviceFromInfo(rootHub, { vendorName: 'Linux Foundation', productName: '2.0 root hub' });
    expect(deviceSchema.parse(device)).toEqual(device);
    expect(device.id).toBe('usb:1d6b:0002:usb1');
    expect(device.serialNumber).toBeUndefined();
    expect(device.usb?.serialNumber).toBeUndefined();
    expect(device).toMatchObject({ kind: 'hub', name: 'EHCI Host Controller', usb: { productName: '2.0 root hub' } });
  });
});

describe('refineAudioKindWithMedia', () => {
  const card = (capture: boolean, playback: boolean) => ({ index: 1, id: 'Device', name: 'USB Audio Device', capture, playback });
  const generic = (kind: 'microphone' | 'headset', audioCards: ReturnType<typeof card>[]): Device => ({
    id: 'usb:0d8c:0014:1-1.2',
    kind,
    name: 'USB Audio Device',
    connection: { type: 'usb', bus: 1, portPath: '1-1.2' },
    status: 'ok',
    usb: { vendorId: 0x0d8c, productId: 0x0014, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, interfaces: [{ number: 0, alternate: 0, class: 1, subClass: 1, protocol: 0 }, { number: 1, alternate: 0, class: 1, subClass: 2, protocol: 0 }], product: 'USB Audio Device', busNumber: 1, deviceAddress: 3, portPath: [1, 2] },
    media: { videoNodes: [], audioCards },
  });

  it('turns a guessed microphone whose sound card only plays into a speaker', () => {
    expect(refineAudioKindWithMedia(generic('microphone', [card(false, true)])).kind).toBe('speaker');
    expect(refineAudioKindWithMedia(generic('headset', [card(true, false)])).kind).toBe('microphone');
  });

  it('leaves a guess alone without sound cards, and never overrides a named kind', () => {
    expect(refineAudioKindWithMedia(generic('microphone', [])).kind).toBe('microphone');
    const named = generic('microphone', [card(false, true)]);
    if (named.usb) named.usb = { ...named.usb, product: 'Wireless Microphone Receiver' };
    expect(refineAudioKindWithMedia(named).kind).toBe('microphone');
  });

  it('leaves a kind its terminals decided: they were read, not guessed', () => {
    const decided = generic('microphone', [card(true, true)]);
    if (decided.usb) decided.usb = { ...decided.usb, terminals: [{ function: 'audio', direction: 'input', type: 0x0201 }, { function: 'audio', direction: 'output', type: 0x0101 }, { function: 'audio', direction: 'input', type: 0x0101 }] };
    expect(refineAudioKindWithMedia(decided).kind).toBe('microphone');
  });
});
