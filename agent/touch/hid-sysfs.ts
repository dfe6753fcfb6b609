/**
 * The HID devices the kernel knows (/sys/bus/hid/devices/BUS:VENDOR:PRODUCT.N): for each, what
 * its report descriptor says it is, which driver took it, and which input devices it made. A touch
 * frame without a driver or without an input device is plugged in but cannot be touched.
 */
import { readdir, readFile, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import { usbPortFromSysfsPath } from '../probes/media-match.js';
import { readOptionalText, whenPresent } from '../probes/sysfs.js';
import { readHidDescriptor, type HidDescriptorReading } from './hid-descriptor.js';

/** The largest report descriptor the kernel keeps (HID_MAX_DESCRIPTOR_SIZE): anything longer is not one. */
const MAX_DESCRIPTOR_BYTES = 4096;
const BUS_USB = 0x0003;

export interface HidDevice {
  /** The sysfs name, e.g. 0003:0EEF:C000.0009. */
  id: string;
  bus: number;
  vendorId: number;
  productId: number;
  name: string;
  /** HID_PHYS: where it hangs, e.g. usb-0000:00:14.0-1.4/input0 (the controller, the port path, the interface). */
  phys: string;
  /** The USB device it belongs to ("1-1.4"), from where sysfs places it; absent off USB or when not resolvable. */
  usbPort?: string;
  /** The bound driver (hid-multitouch, hid-generic, ...); null when none took it. */
  driver: string | null;
  /** input31, ...: the input devices the kernel made of it. */
  inputs: string[];
  descriptor: HidDescriptorReading | null;
  /** Why the descriptor could not be read, when it could not. */
  descriptorProblem?: string;
}

function field(uevent: string, name: string): string | undefined {
  return new RegExp(`^${name}=(.*)$`, 'm').exec(uevent)?.[1]?.trim();
}

/** Every HID device under `sysRoot` (default /sys); none when the kernel has no HID bus. */
export async function readHidDevices(sysRoot = '/sys'): Promise<HidDevice[]> {
  const root = join(sysRoot, 'bus', 'hid', 'devices');
  const names = (await whenPresent(() => readdir(root))) ?? [];
  const devices: HidDevice[] = [];
  for (const id of names.sort()) {
    const dir = join(root, id);
    const uevent = (await readOptionalText(join(dir, 'uevent'))) ?? '';
    const ids = /^([0-9A-Fa-f]{4,8}):([0-9A-Fa-f]{4,8}):([0-9A-Fa-f]{4,8})$/.exec(field(uevent, 'HID_ID') ?? '');
    if (!ids) continue;
    let descriptor: HidDescriptorReading | null = null;
    let descriptorProblem: string | undefined;
    const bytes = await whenPresent(() => readFile(join(dir, 'report_descriptor')));
    if (bytes === undefined) descriptorProblem = 'the kernel shows no report descriptor';
    else if (bytes.length === 0) descriptorProblem = 'the report descriptor is empty';
    else if (bytes.length > MAX_DESCRIPTOR_BYTES) descriptorProblem = `the report descriptor is ${bytes.length} bytes, more than a HID descriptor can be (${MAX_DESCRIPTOR_BYTES})`;
    else descriptor = readHidDescriptor(bytes);
    const usbPort = usbPortFromSysfsPath((await whenPresent(() => realpath(dir))) ?? '');
    devices.push({
      id,
      bus: parseInt(ids[1] ?? '0', 16),
      vendorId: parseInt(ids[2] ?? '0', 16),
      productId: parseInt(ids[3] ?? '0', 16),
      name: field(uevent, 'HID_NAME') ?? '',
      phys: field(uevent, 'HID_PHYS') ?? '',
      driver: field(uevent, 'DRIVER') ?? null,
      inputs: ((await whenPresent(() => readdir(join(dir, 'input')))) ?? []).filter((entry) => /^input\d+$/.test(entry)).sort(),
      descriptor,
      ...(descriptorProblem === undefined ? {} : { descriptorProblem }),
      ...(usbPort === undefined ? {} : { usbPort }),
    });
  }
  return devices;
}

export interface TouchFrame {
  device: HidDevice;
  /** The frame reaches the PC but makes no touch input: TOUCH_NO_INPUT, with why. */
  noInput: string | null;
}

/** The USB HID devices that are touch screens, pens or touch pads, and whether each made an input device. */
export function touchFrames(devices: readonly HidDevice[]): TouchFrame[] {
  return devices
    .filter((device) => device.bus === BUS_USB && device.descriptor !== null && ['touch-screen', 'pen', 'touch-pad'].includes(device.descriptor.touchClass))
    .map((device) => ({
      device,
      noInput: device.driver === null ? 'no driver took the device' : device.inputs.length === 0 ? `the ${device.driver} driver made no input device of it` : null,
    }));
}
