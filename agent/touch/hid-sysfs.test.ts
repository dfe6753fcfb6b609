import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readHidDevices, touchFrames } from './hid-sysfs.js';

/** A Windows 8 style touch screen descriptor with one finger and Contact Count Maximum 10 (HID 1.11 items). */
const TOUCH_DESCRIPTOR = Buffer.from([
  0x05, 0x0d, 0x09, 0x04, 0xa1, 0x01, // Usage Page (Digitizers), Usage (Touch Screen), Collection (Application)
  0x09, 0x22, 0xa1, 0x02, 0x09, 0x42, 0x81, 0x02, 0x09, 0x51, 0x81, 0x02, 0xc0, // Finger: Tip Switch, Contact Id
  0x25, 0x0a, 0x09, 0x55, 0xb1, 0x02, // Logical Maximum (10), Usage (Contact Count Maximum), Feature
  0xc0,
]);
const MOUSE_DESCRIPTOR = Buffer.from([0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x01, 0xa1, 0x00, 0x81, 0x02, 0xc0, 0xc0]);

/** A sysfs tree as the kernel lays it out under /sys/bus/hid/devices. */
function sysfs(devices: Array<{ id: string; uevent: string; descriptor?: Buffer; inputs?: string[] }>): string {
  const root = mkdtempSync(join(tmpdir(), 'avcare-hid-sysfs-'));
  for (const device of devices) {
    const dir = join(root, 'bus', 'hid', 'devices', device.id);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'uevent'), device.uevent);
    if (device.descriptor) writeFileSync(join(dir, 'report_descriptor'), device.descriptor);
    for (const input of device.inputs ?? []) mkdirSync(join(dir, 'input', input), { recursive: true });
  }
  return root;
}

const uevent = (driver: string | null, id: string, name: string, phys: string) =>
  [...(driver ? [`DRIVER=${driver}`] : []), `HID_ID=${id}`, `HID_NAME=${name}`, `HID_PHYS=${phys}`, 'HID_UNIQ=', `MODALIAS=hid:b0003g0004v0000${id.slice(9, 13)}p0000${id.slice(18)}`].join('\n') + '\n';

describe('HID devices in sysfs', () => {
  it('reads each device\'s ids, name, port, driver and input devices, and what its descriptor says it is', async () => {
    const root = sysfs([
      { id: '0003:0EEF:C000.0009', uevent: uevent('hid-multitouch', '0003:00000EEF:0000C000', 'eGalax Inc. eGalaxTouch EXC3000', 'usb-0000:00:14.0-1.4/input0'), descriptor: TOUCH_DESCRIPTOR, inputs: ['input31'] },
      { id: '0003:046D:C077.0001', uevent: uevent('hid-generic', '0003:0000046D:0000C077', 'Logitech USB Optical Mouse', 'usb-0000:00:14.0-2/input0'), descriptor: MOUSE_DESCRIPTOR, inputs: ['input5'] },
    ]);
    const devices = await readHidDevices(root);
    expect(devices.map((device) => [device.id, device.vendorId, device.productId, device.driver, device.inputs, device.descriptor?.touchClass, device.descriptor?.maxContacts])).toEqual([
      ['0003:046D:C077.0001', 0x046d, 0xc077, 'hid-generic', ['input5'], 'mouse-emulation', null],
      ['0003:0EEF:C000.0009', 0x0eef, 0xc000, 'hid-multitouch', ['input31'], 'touch-screen', 10],
    ]);
    expect(touchFrames(devices).map((frame) => [frame.device.name, frame.noInput])).toEqual([['eGalax Inc. eGalaxTouch EXC3000', null]]);
  });

  it('finds a touch frame that no driver took, or that made no input device', async () => {
    const root = sysfs([
      { id: '0003:2621:4501.000A', uevent: uevent(null, '0003:00002621:00004501', 'IRTOUCH InfraRed Touch', 'usb-0000:00:14.0-3/input0'), descriptor: TOUCH_DESCRIPTOR },
      { id: '0003:222A:0001.000B', uevent: uevent('hid-multitouch', '0003:0000222A:00000001', 'ILITEK Multi-Touch', 'usb-0000:00:14.0-4/input0'), descriptor: TOUCH_DESCRIPTOR },
    ]);
    expect(touchFrames(await readHidDevices(root)).map((frame) => [frame.device.vendorId.toString(16), frame.noInput])).toEqual([
      ['222a', 'the hid-multitouch driver made no input device of it'],
      ['2621', 'no driver took the device'],
    ]);
  });

  it('says why a descriptor could not be read, and reads a PC without a HID bus as none', async () => {
    const root = sysfs([
      { id: '0003:1111:2222.0001', uevent: uevent('hid-generic', '0003:00001111:00002222', 'no descriptor', 'usb-x/input0') },
      { id: '0003:1111:3333.0002', uevent: uevent('hid-generic', '0003:00001111:00003333', 'huge', 'usb-x/input0'), descriptor: Buffer.alloc(5000, 0x05) },
      { id: 'not-a-hid-device', uevent: 'DRIVER=x\n' },
    ]);
    expect((await readHidDevices(root)).map((device) => [device.productId.toString(16), device.descriptor, device.descriptorProblem])).toEqual([
      ['2222', null, 'the kernel shows no report descriptor'],
      ['3333', null, 'the report descriptor is 5000 bytes, more than a HID descriptor can be (4096)'],
    ]);
    expect(await readHidDevices(mkdtempSync(join(tmpdir(), 'avcare-no-hid-')))).toEqual([]);
  });
});
