import { describe, expect, it } from 'vitest';
import { hasTouchInput, readInputDevices } from './input-devices.js';

// As /proc/bus/input/devices prints them (drivers/input/input.c, input_devices_seq_show): an
// eGalax multi-touch frame bound by hid-multitouch, the mouse interface of an IR frame that
// emulates one, and a keyboard; 64-bit kernel bitmaps.
const PROC = `I: Bus=0003 Vendor=0eef Product=c000 Version=0100
N: Name="eGalax Inc. eGalaxTouch EXC3000-0368-41.00.00"
P: Phys=usb-0000:00:14.0-1.4/input0
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4:1.0/0003:0EEF:C000.0009/input/input31
U: Uniq=
H: Handlers=mouse2 event7
B: PROP=2
B: EV=1b
B: KEY=400 0 0 0 0 0
B: ABS=260800000000003
B: MSC=20

I: Bus=0003 Vendor=2621 Product=4501 Version=0110
N: Name="IRTOUCH InfraRed Touch Screen Mouse"
P: Phys=usb-0000:00:14.0-2/input1
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-2/1-2:1.1/0003:2621:4501.000A/input/input32
U: Uniq=
H: Handlers=mouse3 event8
B: PROP=0
B: EV=17
B: KEY=70000 0 0 0 0
B: REL=903
B: MSC=10

I: Bus=0011 Vendor=0001 Product=0001 Version=ab41
N: Name="AT Translated Set 2 keyboard"
P: Phys=isa0060/serio0/input0
S: Sysfs=/devices/platform/i8042/serio0/input/input0
U: Uniq=
H: Handlers=sysrq kbd event0 leds
B: PROP=0
B: EV=120013
`;

describe('the kernel\'s input devices', () => {
  it('reads each device with its USB ids, port, handlers and whether it reports touches', () => {
    const devices = readInputDevices(PROC);
    expect(devices.map((device) => [device.name, device.bus, device.vendorId.toString(16), device.touch, device.multiTouch])).toEqual([
      ['eGalax Inc. eGalaxTouch EXC3000-0368-41.00.00', 3, 'eef', true, true],
      ['IRTOUCH InfraRed Touch Screen Mouse', 3, '2621', false, false],
      ['AT Translated Set 2 keyboard', 0x11, '1', false, false],
    ]);
    expect(devices[0]?.handlers).toEqual(['mouse2', 'event7']);
  });

  it('finds the touch input of a USB frame by ids and port, and not for a frame that only made a mouse', () => {
    const devices = readInputDevices(PROC);
    expect(hasTouchInput(devices, { vendorId: 0x0eef, productId: 0xc000, port: '1-1.4' })).toBe(true);
    expect(hasTouchInput(devices, { vendorId: 0x0eef, productId: 0xc000, port: '1-2' })).toBe(false);
    expect(hasTouchInput(devices, { vendorId: 0x2621, productId: 0x4501 })).toBe(false);
  });

  it('reads nothing from text that is not the list, and survives garbled bitmaps', () => {
    expect(readInputDevices('the board does not react to touch')).toEqual([]);
    const garbled = readInputDevices('I: Bus=0003 Vendor=0eef Product=c000 Version=0100\nN: Name="x"\nB: PROP=zz\nB: ABS=not hex');
    expect(garbled).toMatchObject([{ touch: false, multiTouch: false }]);
  });
});
