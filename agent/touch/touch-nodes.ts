/**
 * The touch side of the OS for the media probe: every USB HID device the kernel knows, what its
 * report descriptor says it is, the driver that took it and the input devices it made, with
 * whether one of those reports touches. Matched to the USB probe's devices after the cycle
 * (touch-match.ts), like video nodes and sound cards. Loaded only on a PC that has HID devices.
 */
import { join } from 'node:path';
import type { TouchInfo } from '../../protocol/index.js';
import { readOptionalText } from '../probes/sysfs.js';
import { readHidDevices, type HidDevice } from './hid-sysfs.js';
import { hasTouchInput, readInputDevices, type InputDevice } from './input-devices.js';

const BUS_USB = 0x0003;
const MAX_NODES = 64;

/** One USB HID device as the OS shows it, keyed by its ids and USB port for the match. */
export interface TouchNode {
  vendorId: number;
  productId: number;
  usbPort?: string;
  name: string;
  touch: TouchInfo;
}

export function touchInfoOf(device: HidDevice, inputs: readonly InputDevice[] | null): TouchInfo {
  const problems = [...(device.descriptor?.problems ?? []), ...(device.descriptorProblem === undefined ? [] : [device.descriptorProblem])];
  const info: TouchInfo = {
    touchClass: device.descriptor?.touchClass ?? 'unknown',
    hidId: device.id,
    driver: device.driver,
    inputDevices: device.inputs.slice(0, 16),
  };
  if (device.descriptor?.maxContacts != null) info.maxContacts = Math.min(device.descriptor.maxContacts, 255);
  if (inputs !== null) info.touchInput = hasTouchInput(inputs, { vendorId: device.vendorId, productId: device.productId, ...(device.usbPort === undefined ? {} : { port: device.usbPort }) });
  if (problems.length > 0) info.descriptorProblems = problems.slice(0, 8).map((problem) => problem.slice(0, 256));
  return info;
}

/** The USB HID devices of this PC (none without a HID bus), at most 64. */
export async function readTouchNodes(options: { sysRoot: string; procRoot: string }): Promise<TouchNode[]> {
  const [hid, inputText] = await Promise.all([readHidDevices(options.sysRoot), readOptionalText(join(options.procRoot, 'bus', 'input', 'devices'))]);
  const inputs = inputText === undefined ? null : readInputDevices(inputText);
  return hid
    .filter((device) => device.bus === BUS_USB)
    .slice(0, MAX_NODES)
    .map((device) => ({
      vendorId: device.vendorId,
      productId: device.productId,
      ...(device.usbPort === undefined ? {} : { usbPort: device.usbPort }),
      name: device.name.slice(0, 256),
      touch: touchInfoOf(device, inputs),
    }));
}
