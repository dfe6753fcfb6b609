/**
 * Input devices as the usual Linux tools list them, for `probe --replay`: `/proc/bus/input/devices`
 * (read by touch/input-devices.ts), `libinput list-devices`, `udevadm info` and the header `evtest`
 * prints before its events. Each says whether a device reports touches on a screen; the events
 * evtest prints after its header (with coordinates) are never read.
 */
import { usbPortFromSysfsPath } from '../probes/media-match.js';
import { readInputDevices } from '../touch/input-devices.js';

export type InputTool = '/proc/bus/input/devices' | 'libinput' | 'udevadm' | 'evtest';

export interface InputListing {
  tool: InputTool;
  name: string;
  /** Absent where the tool does not print ids (libinput). */
  vendorId?: number;
  productId?: number;
  usb?: boolean;
  /** The USB device ("1-1.4") it came from, when the tool prints a sysfs path. */
  usbPort?: string;
  /** input17 or event15: what to call it. */
  node?: string;
  touch: boolean;
}

const BUS_USB = 0x03;

function clean(text: string): string[] {
  return text.split(/\r?\n/).map((line) => line.replace(/^[\s>]*/, '').trimEnd());
}

export function fromProcInputDevices(text: string): InputListing[] {
  if (!/^[\s>]*I:\s+Bus=/m.test(text)) return [];
  return readInputDevices(clean(text).join('\n')).map((device) => {
    const port = usbPortFromSysfsPath(device.sysfs);
    const node = /\/(input\d+)$/.exec(device.sysfs)?.[1];
    return {
      tool: '/proc/bus/input/devices' as const,
      name: device.name,
      vendorId: device.vendorId,
      productId: device.productId,
      usb: device.bus === BUS_USB,
      ...(port === undefined ? {} : { usbPort: port }),
      ...(node === undefined ? {} : { node }),
      touch: device.touch,
    };
  });
}

/** "Device: NAME" / "Kernel: /dev/input/eventN" / "Capabilities: touch": no ids, only the name. */
export function fromLibinput(text: string): InputListing[] {
  const listings: InputListing[] = [];
  let current: InputListing | undefined;
  for (const line of clean(text)) {
    const device = /^Device:\s{2,}(.+)$/.exec(line);
    // `lsusb -D` prints "Device: ID vvvv:pppp": that is not libinput.
    if (device && !/^ID [0-9a-f]{4}:[0-9a-f]{4}/i.test(device[1] ?? '')) {
      current = { tool: 'libinput', name: (device[1] ?? '').trim(), touch: false };
      listings.push(current);
      continue;
    }
    if (!current) continue;
    const kernel = /^Kernel:\s+\/dev\/input\/(event\d+)/.exec(line);
    if (kernel?.[1]) current.node = kernel[1];
    const capabilities = /^Capabilities:\s+(.*)$/.exec(line);
    if (capabilities) current.touch = /\btouch\b/.test(capabilities[1] ?? '');
  }
  return listings.filter((listing) => listing.node !== undefined);
}

/** `udevadm info` of input devices ("P: /devices/...", "E: ID_INPUT_TOUCHSCREEN=1"), one or many blocks. */
export function fromUdevadm(text: string): InputListing[] {
  const listings: InputListing[] = [];
  for (const block of clean(text).join('\n').split(/\n\s*\n/)) {
    const env = new Map<string, string>();
    let path: string | undefined;
    for (const line of block.split('\n')) {
      const property = /^E:\s+([A-Z0-9_]+)=(.*)$/.exec(line);
      if (property) env.set(property[1] ?? '', (property[2] ?? '').replace(/^"|"$/g, ''));
      const sysfs = /^P:\s+(\/devices\/\S+)$/.exec(line);
      if (sysfs) path = sysfs[1];
    }
    if (env.get('ID_INPUT') !== '1' || path === undefined) continue;
    const node = /\/(event\d+|input\d+)$/.exec(path)?.[1];
    const port = usbPortFromSysfsPath(path);
    const vendor = env.get('ID_VENDOR_ID') ?? env.get('ID_USB_VENDOR_ID');
    const product = env.get('ID_MODEL_ID') ?? env.get('ID_USB_MODEL_ID');
    listings.push({
      tool: 'udevadm',
      name: env.get('NAME') ?? env.get('ID_MODEL') ?? env.get('ID_SERIAL') ?? node ?? path,
      ...(vendor && /^[0-9a-f]{4}$/i.test(vendor) ? { vendorId: parseInt(vendor, 16) } : {}),
      ...(product && /^[0-9a-f]{4}$/i.test(product) ? { productId: parseInt(product, 16) } : {}),
      usb: env.get('ID_BUS') === 'usb' || port !== undefined,
      ...(port === undefined ? {} : { usbPort: port }),
      ...(node === undefined ? {} : { node }),
      touch: env.get('ID_INPUT_TOUCHSCREEN') === '1',
    });
  }
  return listings;
}

/** evtest's header: ids, name, supported events, properties. Only up to "Testing ..." or the first event. */
export function fromEvtest(text: string): InputListing[] {
  const listings: InputListing[] = [];
  let current: (InputListing & { direct: boolean | null; touchAxes: boolean }) | undefined;
  const finish = (): void => {
    if (!current) return;
    // An old evtest prints no Properties: then the multi-touch axes alone decide.
    current.touch = current.touchAxes && current.direct !== false;
    const { direct: _direct, touchAxes: _axes, ...listing } = current;
    listings.push(listing);
    current = undefined;
  };
  for (const line of clean(text)) {
    const ids = /^Input device ID: bus 0x([0-9a-f]+) vendor 0x([0-9a-f]+) product 0x([0-9a-f]+)/i.exec(line);
    if (ids) {
      finish();
      current = { tool: 'evtest', name: '', vendorId: parseInt(ids[2] ?? '0', 16), productId: parseInt(ids[3] ?? '0', 16), usb: parseInt(ids[1] ?? '0', 16) === BUS_USB, touch: false, direct: null, touchAxes: false };
      continue;
    }
    if (!current) continue;
    const name = /^Input device name: "(.*)"$/.exec(line);
    if (name) current.name = name[1] ?? '';
    if (/\((BTN_TOUCH|ABS_MT_POSITION_X)\)/.test(line)) current.touchAxes = true;
    if (/^Properties:/.test(line)) current.direct = false;
    if (/\(INPUT_PROP_DIRECT\)/.test(line)) current.direct = true;
    if (/^(Testing \.\.\.|Event: time)/.test(line)) finish();
  }
  finish();
  return listings;
}

export function readInputListings(text: string): InputListing[] {
  return [...fromProcInputDevices(text), ...fromLibinput(text), ...fromUdevadm(text), ...fromEvtest(text)];
}
