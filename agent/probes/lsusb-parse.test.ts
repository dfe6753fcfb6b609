import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { AvcareError } from '../../protocol/index.js';
import { parseLsusbVerbose } from './lsusb-parse.js';

const fixture = (name: string): string => readFileSync(new URL(`../../test/fixtures/usb/${name}`, import.meta.url), 'utf8');

function parseError(text: string): AvcareError {
  try {
    parseLsusbVerbose(text);
  } catch (error) {
    if (error instanceof AvcareError) return error;
    throw error;
  }
  throw new Error('expected parseLsusbVerbose to throw');
}

describe('parseLsusbVerbose', () => {
  it('reads the device descriptor, strings and every interface of a webcam with a microphone', () => {
    const [camera, ...rest] = parseLsusbVerbose(fixture('webcam-logitech-c270-with-mic.lsusb.txt'));
    expect(rest).toHaveLength(0);
    expect(camera).toMatchObject({ vendorId: 0x046d, productId: 0x0825, deviceClass: 239, deviceSubClass: 2, deviceProtocol: 1, busNumber: 2, deviceAddress: 19, portPath: [] });
    expect(camera?.vendorName).toBe('Logitech, Inc.');
    // iProduct 0 and "iSerial 2 " with nothing after it: no strings to report.
    expect(camera?.product).toBeUndefined();
    expect(camera?.serialNumber).toBeUndefined();
    expect(camera?.interfaces.map((i) => [i.number, i.alternate, i.class, i.subClass])).toEqual([
      [0, 0, 14, 1],
      [1, 0, 14, 2],
      [1, 1, 14, 2],
      [1, 2, 14, 2],
      [1, 3, 14, 2],
      [2, 0, 1, 1],
      [3, 0, 1, 2],
      [3, 1, 1, 2],
    ]);
  });

  it('reads every device of a whole-PC dump, root hubs included', () => {
    const devices = parseLsusbVerbose(fixture('pc-asus-et2410-with-root-hubs.lsusb.txt'));
    expect(devices.map((d) => `${d.busNumber}:${d.deviceAddress} ${d.vendorId.toString(16)}:${d.productId.toString(16)}`)).toEqual([
      '2:5 45e:39',
      '2:4 174f:1447',
      '4:1 1d6b:3',
      '1:3 413c:2106',
      '1:2 8087:24',
      '1:1 1d6b:2',
    ]);
    const rootHub = devices.find((d) => d.busNumber === 1 && d.deviceAddress === 1);
    expect(rootHub).toMatchObject({ deviceClass: 9, manufacturer: 'Linux 5.15.0-46-generic ehci_hcd', product: 'EHCI Host Controller' });
    expect(rootHub?.interfaces).toEqual([{ number: 0, alternate: 0, class: 9, subClass: 0, protocol: 0 }]);
  });

  it('does not let the Device Qualifier overwrite the device protocol', () => {
    const devices = parseLsusbVerbose(fixture('pc-asus-et2410-with-root-hubs.lsusb.txt'));
    const rateMatchingHub = devices.find((d) => d.vendorId === 0x8087);
    // Device Descriptor says protocol 1 (Single TT); the qualifier for full speed says 0.
    expect(rateMatchingHub?.deviceProtocol).toBe(1);
  });

  it('skips the "Couldn\'t open device" note and still reads the strings lsusb printed', () => {
    const [pad] = parseLsusbVerbose(fixture('gamepad-dualsense-with-audio.lsusb.txt'));
    expect(pad).toMatchObject({ vendorId: 0x054c, productId: 0x0ce6, manufacturer: 'Sony Interactive Entertainment', product: 'Wireless Controller' });
    expect(new Set(pad?.interfaces.map((i) => i.number))).toEqual(new Set([0, 1, 2, 3]));
  });

  it('reads class-specific noise without taking it for interface fields (HID, AudioControl, VideoControl descriptors)', () => {
    const [capture] = parseLsusbVerbose(fixture('capture-elgato-camlink-4k.lsusb.txt'));
    expect(capture?.interfaces.map((i) => `${i.number}/${i.alternate}:${i.class}.${i.subClass}`)).toEqual(['0/0:14.1', '1/0:14.2', '2/0:3.0', '3/0:1.1', '4/0:1.2', '4/1:1.2']);
    expect(capture?.serialNumber).toBe('0005AC52FE000');
  });

  it('gives the same result for CRLF line endings (a dump saved on Windows)', () => {
    const text = fixture('headset-plantronics-655.lsusb.txt');
    expect(parseLsusbVerbose(text.replace(/\n/g, '\r\n'))).toEqual(parseLsusbVerbose(text));
  });

  it('keeps a valid block and drops the next one when the paste is cut off inside it', () => {
    const serial = fixture('serial-ftdi-ft232r.lsusb.txt');
    const headset = fixture('headset-plantronics-655.lsusb.txt');
    const cutAt = headset.indexOf('  idProduct');
    const devices = parseLsusbVerbose(`${serial}\n${headset.slice(0, cutAt)}`);
    expect(devices).toHaveLength(1);
    expect(devices[0]).toMatchObject({ vendorId: 0x0403, productId: 0x6001, serialNumber: 'A900N7DV' });
  });

  it('keeps a device whose last interface is cut off, without that interface', () => {
    const headset = fixture('headset-plantronics-655.lsusb.txt');
    const lastInterface = headset.lastIndexOf('bInterfaceClass');
    const [device] = parseLsusbVerbose(headset.slice(0, lastInterface));
    expect(device?.interfaces.map((i) => i.number)).toEqual([0, 1, 1, 2, 2]);
  });

  it('rejects text that holds no USB device with REPLAY_UNRECOGNISED and says what it expected', () => {
    const error = parseError('Hello, our projector is broken.\r\nPlease help.\n\x00\x01binary');
    expect(error.code).toBe('REPLAY_UNRECOGNISED');
    expect(error.message).toContain('lsusb -v');
    expect(error.message).toContain('Device Descriptor:');
  });

  it('tells plain `lsusb` apart from `lsusb -v`', () => {
    const error = parseError('Bus 001 Device 002: ID 046d:085e Logitech, Inc. BRIO Ultra HD Webcam\nBus 001 Device 001: ID 1d6b:0002 Linux Foundation 2.0 root hub\n');
    expect(error.code).toBe('REPLAY_UNRECOGNISED');
    expect(error.message).toMatch(/2 "Bus NNN Device NNN.*plain `lsusb`/);
  });

  it('rejects a block whose descriptor ids disagree with its "Bus ... ID" line', () => {
    const serial = fixture('serial-ftdi-ft232r.lsusb.txt').replace('ID 0403:6001', 'ID 0403:6010');
    expect(() => parseLsusbVerbose(serial)).toThrowError(AvcareError);
  });
});
