import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseLsusbDump } from './lsusb-parse.js';
import { usbDeviceFromInfo } from './usb-classify.js';

// `lsusb -v` as schools really send it: pasted from mail, forums and bug trackers. The recorded
// dumps under test/fixtures/usb/ say where each came from; the variants below are made from them
// the way pasting damages text (lost Bus line, changed indentation, wrapped lines, several devices).

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/usb/${name}`, import.meta.url), 'utf8');
const WEBCAM = fixture('webcam-logitech-c270-with-mic.lsusb.txt');
const kinds = (text: string) => parseLsusbDump(text).devices.map((info) => usbDeviceFromInfo(info).kind);
const withoutComments = (text: string) => text.split('\n').filter((line) => !line.startsWith('#')).join('\n');

describe('lsusb -v dumps as pasted', () => {
  it('reads a mail: skips the sentence before, lsusb\'s complaint, the signature and the quoted reply, and says so', () => {
    const { devices, skipped } = parseLsusbDump(fixture('touchscreen-jieli-4c4a-4155.mail.txt'));
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ vendorId: 0x4c4a, productId: 0x4155, busNumber: 3, deviceAddress: 3, manufacturer: 'Jieli Technology', product: 'USB Composite Device' });
    const byReason = (reason: string) => skipped.filter((line) => line.reason === reason).map((line) => line.text.trim());
    expect(byReason('before the first device')).toContain('And here is the output from lsusb -c:');
    expect(byReason('lsusb could not read everything of this device')).toEqual(["Couldn't open device, some information will be missing"]);
    const after = byReason('not lsusb output (after a device)');
    expect(after.slice(0, 2)).toEqual(['Best regards,', 'Staffan']);
    expect(after).toContain('>> Can you have a look?');
    expect(after.at(-1)).toBe('>> Salvatore');
    // Nothing that belongs to the device was set aside.
    expect(skipped.map((line) => line.text)).not.toContainEqual(expect.stringMatching(/bInterval|Usage Type|UNAVAILABLE/));
  });

  it('reads a dump that starts at "Device Descriptor:" and numbers such devices in order', () => {
    const headerless = WEBCAM.split('\n').filter((line) => !line.startsWith('Bus ') && !line.startsWith('#')).join('\n');
    const { devices } = parseLsusbDump(`${headerless}\n${headerless}`);
    expect(devices.map((device) => [device.vendorId, device.productId, device.busNumber, device.portPath])).toEqual([
      [0x046d, 0x0825, 0, [1]],
      [0x046d, 0x0825, 0, [2]],
    ]);
    // Two identical devices still get two ids.
    const ids = devices.map((info) => usbDeviceFromInfo(info).id);
    expect(new Set(ids).size).toBe(2);
  });

  it('reads `lsusb -D` output, which names the device "Device: ID vvvv:pppp"', () => {
    const text = withoutComments(WEBCAM).replace(/^Bus \d+ Device \d+: ID/m, 'Device: ID');
    expect(parseLsusbDump(text).devices[0]).toMatchObject({ vendorId: 0x046d, productId: 0x0825, busNumber: 0 });
  });

  it('does not care about indentation: none, tabs, or shifted by a mail client', () => {
    const expected = parseLsusbDump(WEBCAM).devices[0];
    const flattened = WEBCAM.replace(/^[ \t]+/gm, '');
    const tabbed = WEBCAM.replace(/^( {2})+/gm, (spaces) => '\t'.repeat(spaces.length / 2));
    const shifted = WEBCAM.replace(/^/gm, '   ');
    for (const variant of [flattened, tabbed, shifted]) expect(parseLsusbDump(variant).devices[0]).toEqual(expected);
  });

  it('joins fields a mail client wrapped onto the next line', () => {
    const wrapped = withoutComments(WEBCAM)
      .replace(/^(\s*idVendor)\s+(0x046d Logitech, Inc\.)$/m, '$1\n        $2')
      .replace(/^(\s*bInterfaceClass)\s+(14 Video)$/m, '$1\n$2');
    const [camera] = parseLsusbDump(wrapped).devices;
    expect(camera).toMatchObject({ vendorId: 0x046d, vendorName: 'Logitech, Inc.' });
    expect(camera?.interfaces[0]).toMatchObject({ number: 0, class: 14, subClass: 1 });
    const product = 'Bus 001 Device 004: ID 05a7:1020 Bose Corp.\nDevice Descriptor:\n  idVendor 0x05a7\n  idProduct 0x1020\n  bDeviceClass 0\n  bDeviceSubClass 0\n  bDeviceProtocol 0\n  iProduct 2 Bose Companion 3\n  Series II multimedia speaker system\n  iSerial 0\n';
    expect(parseLsusbDump(product).devices[0]?.product).toBe('Bose Companion 3 Series II multimedia speaker system');
  });

  it('reads several devices pasted one after another, with trailing lsusb complaints', () => {
    const text = [
      fixture('speaker-bose-companion3.lsusb.txt'),
      "can't get debug descriptor: Resource temporarily unavailable",
      fixture('soundcard-tenx-1130-f211.flattened.lsusb.txt'),
      'cannot read device status, Resource temporarily unavailable (11)',
    ].join('\n');
    const { devices, skipped } = parseLsusbDump(text);
    expect(devices.map((device) => device.vendorId)).toEqual([0x05a7, 0x1130]);
    expect(skipped.filter((line) => line.reason === 'lsusb could not read everything of this device')).toHaveLength(2);
    // The forum's shell prompt sits between two devices: it is not part of either.
    expect(skipped.map((line) => line.text)).toContain('root@MAS500:~# lsusb -s 003:003 -v');
  });

  it('keeps the other devices when one was cut off before its descriptor, and names the lost one', () => {
    const text = `Bus 002 Device 007: ID 0fd9:0066 Elgato Systems GmbH Cam Link 4K\n\n${withoutComments(WEBCAM)}`;
    const { devices, skipped } = parseLsusbDump(text);
    expect(devices.map((device) => device.productId)).toEqual([0x0825]);
    const lost = skipped.find((line) => line.line === 1);
    expect(lost?.reason).toMatch(/^device 0fd9:0066 without a complete Device Descriptor/);
  });

  it('refuses text with no device at all, saying what it expected', () => {
    expect(() => parseLsusbDump('Bus 001 Device 002: ID 8087:0024 Intel Corp. Hub\nBus 001 Device 001: ID 1d6b:0002 Linux Foundation 2.0 root hub')).toThrow(/plain `lsusb` or a cut-off paste/);
    expect(() => parseLsusbDump('hello, the camera in room 101 is broken')).toThrow(/No USB device found/);
  });
});

describe('classification by what the descriptors say', () => {
  it('an audio function with only an output (USB speakers) is a speaker, not a microphone', () => {
    const [speakers] = parseLsusbDump(fixture('speaker-bose-companion3.lsusb.txt')).devices;
    expect(speakers?.terminals).toEqual([
      { function: 'audio', direction: 'input', type: 0x0101 },
      { function: 'audio', direction: 'output', type: 0x0301 },
    ]);
    expect(kinds(fixture('speaker-bose-companion3.lsusb.txt'))).toEqual(['speaker']);
  });

  it('a vendor known for microphones does not make a one-way output device a microphone', () => {
    // The Bose dump under Shure's vendor id (whose default is microphone): its terminals still say speaker.
    const asShure = withoutComments(fixture('speaker-bose-companion3.lsusb.txt')).replace(/05a7/g, '14ed').replace(/Bose USB Audio/, 'USB Audio');
    expect(kinds(asShure)).toEqual(['speaker']);
  });

  it('a sound card with a microphone input is a microphone, even with a speaker output', () => {
    expect(kinds(fixture('soundcard-tenx-1130-f211.flattened.lsusb.txt'))).toEqual(['microphone']);
  });

  it('terminals of type Headset make a headset, whatever the name or the vendor', () => {
    const [headset] = parseLsusbDump(fixture('headset-razer-1532-0a02.flattened.lsusb.txt')).devices;
    expect(headset?.product).toBeUndefined();
    expect(kinds(fixture('headset-razer-1532-0a02.flattened.lsusb.txt'))).toEqual(['headset']);
  });

  it('a named or catalogued headset stays a headset although its terminals are microphone and speaker', () => {
    expect(kinds(fixture('headset-plantronics-655.lsusb.txt'))).toEqual(['headset']);
  });

  it('tells two products with the same id 4c4a:4155 apart: a touchscreen and a microphone', () => {
    expect(kinds(fixture('touchscreen-jieli-4c4a-4155.mail.txt'))).toEqual(['other']);
    expect(kinds(fixture('microphone-jieli-4c4a-4155.constructed.lsusb.txt'))).toEqual(['microphone']);
  });

  it('a UVC device fed by a connector rather than a camera sensor is a capture card, even unnamed', () => {
    const anonymous = (text: string) =>
      withoutComments(text)
        .replace(/ID [0-9a-f]{4}:[0-9a-f]{4}.*$/m, 'ID 1234:5678')
        .replace(/idVendor\s+0x[0-9a-f]{4}.*$/m, 'idVendor 0x1234')
        .replace(/idProduct\s+0x[0-9a-f]{4}.*$/m, 'idProduct 0x5678')
        .replace(/iProduct\s+\d+.*$/m, 'iProduct 2 USB Video');
    const capture = anonymous(fixture('capture-elgato-camlink-4k.lsusb.txt'));
    expect(parseLsusbDump(capture).devices[0]?.terminals).toContainEqual({ function: 'video', direction: 'input', type: 0x0200 });
    expect(kinds(capture)).toEqual(['capture-card']);
    // The same treatment leaves a webcam, whose input is a camera sensor, a camera.
    expect(kinds(anonymous(WEBCAM))).toEqual(['camera']);
  });
});
