import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAgentConfig } from '../config.js';
import { FaultMonitor } from '../fault-monitor.js';
import { loadReplay } from '../replay.js';
import { readDescriptorDumps } from './hid-descriptor-dumps.js';
import { fromEvtest, fromLibinput, fromUdevadm } from './input-listings.js';
import { readUsbDevices } from './usb-devices-text.js';

const FIXTURES = join(import.meta.dirname, '../../test/fixtures/touch');

/** Replays a fixture the way `probe --replay` does and detects the faults, kernel log included. */
async function replay(name: string) {
  const loaded = await loadReplay(join(FIXTURES, name));
  const monitor = new FaultMonitor(parseAgentConfig({}), null);
  for (const event of loaded.connectionEvents) monitor.recordConnectionEvent(event);
  return { ...loaded, faults: monitor.detect(loaded.cycle) };
}

function pasted(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), 'avcare-pasted-')), 'paste.txt');
  writeFileSync(file, text);
  return file;
}

describe('probe --replay of what schools paste from Linux tools', () => {
  it('reads lsusb, usb-devices and /proc/bus/input/devices together: a working ILITEK panel at port 1-1.4, no fault', async () => {
    const { cycle, faults, conclusions, skipped } = await replay('classroom-panel-ilitek-working.paste.txt');
    const panel = cycle.devices.find((device) => device.kind === 'touch-panel');
    expect(panel).toMatchObject({ name: 'ILITEK-TP', connection: { type: 'usb', portPath: '1-1.4' }, touch: { driver: 'usbhid', inputDevices: ['input17'], touchInput: true } });
    expect(cycle.devices.map((device) => device.kind).sort()).toEqual(['hub', 'other', 'touch-panel']);
    expect(faults).toEqual([]);
    expect(conclusions.map((c) => [c.tool, c.key])).toEqual([
      ['usb-devices', 'usbDevices'],
      ['/proc/bus/input/devices', 'inputs'],
    ]);
    expect(conclusions[1]?.params).toEqual({ count: 2, touch: 'ILITEK ILITEK-TP (222a:0001)' });
    // The mail's prose around the tools is not reported as skipped lsusb lines.
    expect(skipped).toEqual([]);
  });

  it('raises TOUCH_NO_INPUT for an eGalax whiteboard whose HID interface no driver took', async () => {
    const { cycle, faults } = await replay('classroom-panel-egalax-no-input.paste.txt');
    expect(cycle.devices).toHaveLength(1);
    expect(cycle.devices[0]).toMatchObject({ kind: 'touch-panel', connection: { portPath: '1-2' }, touch: { driver: null, inputDevices: [] } });
    expect(faults.map((fault) => [fault.code, fault.evidence.reason])).toEqual([['TOUCH_NO_INPUT', 'no driver took the device']]);
  });

  it('classes an unbranded frame from its usbhid-dump descriptor, and says touch input cannot be judged without an input listing', async () => {
    const { cycle, faults, conclusions } = await replay('touch-frame-descriptor-only.paste.txt');
    expect(cycle.devices.map((device) => [device.kind, device.usb?.vendorId.toString(16), device.touch])).toEqual([['touch-panel', '1ff7', undefined]]);
    expect(conclusions.map((c) => c.key)).toEqual(['lsusbPlain', 'descriptor', 'noInputListing']);
    expect(conclusions[1]?.params).toMatchObject({ ids: 'bus 1 device 9 interface 0', class: 'touch-screen', contacts: 20, problems: '-' });
    expect(faults).toEqual([]);
  });

  it('raises DEVICE_UNSTABLE_CONNECTION from a dmesg excerpt of a loose cable, with the count and the times', async () => {
    const { faults, conclusions } = await replay('touch-frame-loose-cable.dmesg.txt');
    expect(conclusions.map((c) => c.params)).toEqual([{ connects: 4, disconnects: 4, ports: '1-1.4' }]);
    expect(faults.map((fault) => [fault.code, fault.deviceId, fault.message])).toEqual([['DEVICE_UNSTABLE_CONNECTION', 'usb-port:1-1.4', 'ILITEK-TP disconnected 4 times in 10 minutes (USB port 1-1.4)']]);
    expect((faults[0]?.evidence as { disconnectedAt: string[] }).disconnectedAt).toHaveLength(4);
  });

  it('does not call three drops over an hour unstable: the window is ten minutes', async () => {
    const lines = [0, 1500, 3000].flatMap((seconds) => [`[${seconds + 100}.000000] usb 1-2: USB disconnect, device number 4`, `[${seconds + 102}.000000] usb 1-2: new full-speed USB device number 5 using xhci_hcd`]);
    const loaded = await loadReplay(pasted(lines.join('\n')));
    const monitor = new FaultMonitor(parseAgentConfig({}), null);
    for (const event of loaded.connectionEvents) monitor.recordConnectionEvent(event);
    expect(monitor.detect(loaded.cycle)).toEqual([]);
  });

  it('reads libinput, udevadm and evtest headers as one touch panel with touch input, and never the events after the header', async () => {
    const { cycle, faults, conclusions } = await replay('libinput-udevadm-evtest.paste.txt');
    expect(cycle.devices).toHaveLength(1);
    expect(cycle.devices[0]).toMatchObject({ kind: 'touch-panel', connection: { portPath: '1-1.4' }, touch: { touchInput: true, inputDevices: ['event15'] } });
    expect(conclusions.map((c) => c.tool)).toEqual(['libinput', 'udevadm', 'evtest']);
    expect(faults).toEqual([]);
  });

  it('keeps a hid-recorder descriptor whose stated length lies, and says so', async () => {
    const { cycle, conclusions } = await replay('hid-recorder-length-lies.paste.txt');
    expect(cycle.devices.map((device) => [device.kind, device.name, device.connection])).toEqual([['touch-panel', 'SMART Technologies Inc. SMART Board', { type: 'usb', bus: 0, portPath: 'unknown' }]]);
    expect(String(conclusions[0]?.params.problems)).toContain('hid-recorder says 40 bytes but the line has 15');
  });

  it('refuses text that no reader recognises, naming what it reads', async () => {
    await expect(loadReplay(pasted('the board is broken, please come'))).rejects.toThrow(/usb-devices, usbhid-dump, hid-recorder, \/proc\/bus\/input\/devices/);
  });
});

describe('the pasted-tool readers on bad input', () => {
  it('rebuilds port chains from usb-devices and leaves a chain unknown when the paste starts below its hub', () => {
    const cut = ['T:  Bus=01 Lev=02 Prnt=02 Port=03 Cnt=01 Dev#=  5 Spd=12  MxCh= 0', 'P:  Vendor=222a ProdID=0001 Rev=01.10', 'I:  If#=0x0 Alt= 0 #EPs= 2 Cls=03(HID  ) Sub=00 Prot=00 Driver=usbhid'].join('\n');
    expect(readUsbDevices(cut).map((entry) => [entry.info.portPath, [...entry.drivers]])).toEqual([[[], [[0, 'usbhid']]]]);
    expect(readUsbDevices('T:  Bus=01 Lev=01 Prnt=01 Port=00 Cnt=01 Dev#=  2\nno vendor line')).toEqual([]);
  });

  it('caps a usbhid-dump longer than any descriptor and keeps what came before', () => {
    const long = Array.from({ length: 300 }, (): string => ' 05 0D 09 04 A1 01 C0 05 0D 09 04 A1 01 C0 05 0D').join('\n');
    const [dump] = readDescriptorDumps(`001:002:000:DESCRIPTOR         1.0\n${long}\n`);
    expect(dump?.bytes.length).toBe(4096);
    expect(dump?.problems[0]).toMatch(/4800 bytes, more than a HID descriptor can have/);
  });

  it('takes no coordinates from evtest and no touch from a libinput pointer or a udevadm block without ID_INPUT', () => {
    const evtest = fromEvtest('Input device ID: bus 0x3 vendor 0x46d product 0xc077 version 0x111\nInput device name: "Mouse"\n  Event type 2 (EV_REL)\nTesting ... (interrupt to exit)\nEvent: time 1.0, type 3 (EV_ABS), code 53 (ABS_MT_POSITION_X), value 8123');
    expect(evtest).toEqual([{ tool: 'evtest', name: 'Mouse', vendorId: 0x46d, productId: 0xc077, usb: true, touch: false }]);
    expect(fromLibinput('Device:           Mouse\nKernel:           /dev/input/event4\nCapabilities:     pointer')).toMatchObject([{ touch: false, node: 'event4' }]);
    expect(fromLibinput('Device: ID 046d:085e Logitech, Inc. BRIO')).toEqual([]);
    expect(fromUdevadm('P: /devices/virtual/misc/uinput\nE: ID_INPUT_TOUCHSCREEN=1')).toEqual([]);
  });
});
