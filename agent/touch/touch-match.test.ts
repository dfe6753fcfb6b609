import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Device } from '../../protocol/index.js';
import { usbDevice } from '../../test/helpers/device-factory.js';
import { parseAgentConfig } from '../config.js';
import { runProbeCycle } from '../cycle.js';
import { FaultMonitor } from '../fault-monitor.js';
import { silentLogger } from '../../protocol/log.js';
import { createMediaProbe } from '../probes/media-probe.js';
import type { Probe } from '../probes/probe.js';
import { classifyUsb } from '../probes/usb-classify.js';
import { attachTouchToUsb } from './touch-match.js';
import type { TouchNode } from './touch-nodes.js';

const HID_ONLY = [{ number: 0, alternate: 0, class: 0x03, subClass: 0, protocol: 0 }];

/** A touch frame at port 1-1.4 as the USB probe lists it, kind as the classifier decides from ids and names alone. */
function frame(vendorId: number, productId: number, name: string): Device {
  const device = usbDevice({ name, kind: 'other', usb: { vendorId, productId, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, interfaces: HID_ONLY, product: name } });
  return { ...device, kind: classifyUsb(device.usb!).kind };
}

const node = (overrides: Omit<Partial<TouchNode>, 'touch'> & { touch?: Partial<TouchNode['touch']> } = {}): TouchNode => ({
  vendorId: 0x1ff7,
  productId: 0x0f21,
  usbPort: '1-1.4',
  name: 'HID 1ff7:0f21',
  ...overrides,
  touch: { touchClass: 'touch-screen', maxContacts: 20, hidId: '0003:1FF7:0F21.0003', driver: 'hid-multitouch', inputDevices: ['input17'], touchInput: true, ...overrides.touch },
});

describe('touch nodes matched to USB devices', () => {
  it('makes an unbranded frame a touch panel because its report descriptor says touch screen, not because of a vendor list', () => {
    const unbranded = frame(0x1ff7, 0x0f21, 'USB2IIC_CTP_CONTROL');
    expect(unbranded.kind).toBe('other');
    const [matched] = attachTouchToUsb([unbranded], [node()]);
    expect(matched?.kind).toBe('touch-panel');
    expect(matched?.touch).toEqual({ touchClass: 'touch-screen', maxContacts: 20, hidId: '0003:1FF7:0F21.0003', driver: 'hid-multitouch', inputDevices: ['input17'], touchInput: true });
  });

  it('leaves a mouse a mouse, and a camera a camera even with a touch-like HID interface', () => {
    const mouse = frame(0x046d, 0xc077, 'USB Optical Mouse');
    const camera = usbDevice({ usb: { interfaces: [...usbDevice().usb!.interfaces, { number: 4, alternate: 0, class: 0x03, subClass: 0, protocol: 0 }] } });
    const devices = attachTouchToUsb([mouse, camera], [node({ vendorId: 0x046d, productId: 0xc077, usbPort: '1-1.4', touch: { touchClass: 'mouse-emulation' } })]);
    expect(devices.map((device) => [device.kind, device.touch?.touchClass])).toEqual([
      ['other', undefined],
      ['camera', undefined],
    ]);
  });

  it('knows a catalogued frame the kernel never took (no HID device at all) as one without a driver or input', () => {
    const ilitek = frame(0x222a, 0x0001, 'ILITEK Multi-Touch');
    expect(ilitek.kind).toBe('touch-panel');
    const [matched] = attachTouchToUsb([ilitek], []);
    expect(matched?.touch).toEqual({ touchClass: 'unknown', driver: null, inputDevices: [] });
  });

  it('matches by ids when the HID device\'s port is not known, and picks the touch interface of a frame that also emulates a mouse', () => {
    const egalax = frame(0x0eef, 0xc000, 'eGalaxTouch EXC3000');
    const nodes = [
      node({ vendorId: 0x0eef, productId: 0xc000, touch: { touchClass: 'mouse-emulation', hidId: '0003:0EEF:C000.0008', inputDevices: ['input30'], touchInput: false } }),
      node({ vendorId: 0x0eef, productId: 0xc000, touch: { touchClass: 'touch-screen', hidId: '0003:0EEF:C000.0009', inputDevices: ['input31'] } }),
    ].map(({ usbPort: _port, ...rest }) => rest);
    const [matched] = attachTouchToUsb([egalax], nodes);
    expect(matched?.touch?.hidId).toBe('0003:0EEF:C000.0009');
    expect(matched?.touch?.touchInput).toBe(true);
  });
});

/** /sys laid out as the kernel does: the HID device under its USB interface, linked from /sys/bus/hid/devices. */
function hidTree(options: { driver: string | null; inputs: string[]; inputText: string }): string {
  const root = mkdtempSync(join(tmpdir(), 'avcare-touch-'));
  const id = '0003:222A:0001.0004';
  const real = join(root, 'sys', 'devices', 'pci0000:00', '0000:00:14.0', 'usb1', '1-1', '1-1.4', '1-1.4:1.0', id);
  mkdirSync(real, { recursive: true });
  writeFileSync(join(real, 'uevent'), [...(options.driver ? [`DRIVER=${options.driver}`] : []), 'HID_ID=0003:0000222A:00000001', 'HID_NAME=ILITEK ILITEK-TP', 'HID_PHYS=usb-0000:00:14.0-1.4/input0'].join('\n'));
  // Usage Page (Digitizers), Usage (Touch Screen), Collection (Application), Logical Maximum (10), Usage (Contact Count Maximum), Feature, End Collection.
  writeFileSync(join(real, 'report_descriptor'), Buffer.from([0x05, 0x0d, 0x09, 0x04, 0xa1, 0x01, 0x25, 0x0a, 0x09, 0x55, 0xb1, 0x02, 0xc0]));
  for (const input of options.inputs) mkdirSync(join(real, 'input', input), { recursive: true });
  mkdirSync(join(root, 'sys', 'bus', 'hid', 'devices'), { recursive: true });
  symlinkSync(real, join(root, 'sys', 'bus', 'hid', 'devices', id));
  mkdirSync(join(root, 'proc', 'bus', 'input'), { recursive: true });
  writeFileSync(join(root, 'proc', 'bus', 'input', 'devices'), options.inputText);
  return root;
}

const ILITEK_INPUT = `I: Bus=0003 Vendor=222a Product=0001 Version=0110
N: Name="ILITEK ILITEK-TP"
P: Phys=usb-0000:00:14.0-1.4/input0
S: Sysfs=/devices/pci0000:00/0000:00:14.0/usb1/1-1/1-1.4/1-1.4:1.0/0003:222A:0001.0004/input/input17
U: Uniq=
H: Handlers=mouse2 event15
B: PROP=2
B: EV=1b
B: KEY=400 0 0 0 0 0
B: ABS=260800000000003
B: MSC=20
`;

const roots: string[] = [];
afterEach(() => {
  for (const root of roots.splice(0)) rmSync(root, { recursive: true, force: true });
});

async function cycleWith(tree: string) {
  roots.push(tree);
  const usb: Probe = { id: 'usb', run: () => Promise.resolve({ state: 'ok', devices: [frame(0x222a, 0x0001, 'ILITEK-TP')] }) };
  const media = createMediaProbe({ sysRoot: join(tree, 'sys'), procRoot: join(tree, 'proc') });
  const config = parseAgentConfig({});
  const cycle = await runProbeCycle([usb, media], { config, log: silentLogger });
  return { cycle, faults: new FaultMonitor(config, null).detect(cycle) };
}

describe('a touch panel through a probe cycle', () => {
  it('reads the frame from sysfs, classes it from its descriptor, and raises nothing while it makes touch input', async () => {
    const { cycle, faults } = await cycleWith(hidTree({ driver: 'hid-multitouch', inputs: ['input17'], inputText: ILITEK_INPUT }));
    expect(cycle.sources.find((source) => source.source === 'media')?.state).toBe('ok');
    expect(cycle.devices[0]?.kind).toBe('touch-panel');
    expect(cycle.devices[0]?.touch).toMatchObject({ touchClass: 'touch-screen', maxContacts: 10, driver: 'hid-multitouch', inputDevices: ['input17'], touchInput: true });
    expect(faults).toEqual([]);
  });

  it('raises TOUCH_NO_INPUT with the reason when the driver made no input device, or no driver took the frame', async () => {
    const noInput = await cycleWith(hidTree({ driver: 'hid-multitouch', inputs: [], inputText: '' }));
    expect(noInput.faults.map((fault) => [fault.code, fault.deviceId, fault.evidence.reason])).toEqual([['TOUCH_NO_INPUT', noInput.cycle.devices[0]?.id, 'the hid-multitouch driver made no input device of it']]);
    expect(noInput.faults[0]?.message).toBe('ILITEK-TP is on USB but the system made no touch input of it');
    const unbound = await cycleWith(hidTree({ driver: null, inputs: [], inputText: '' }));
    expect(unbound.faults.map((fault) => fault.evidence.reason)).toEqual(['no driver took the device']);
  });
});
