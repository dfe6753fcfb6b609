import { AvcareError, type UsbInfo, type UsbInterface } from '../../protocol/index.js';

/**
 * Parses the text of `lsusb -v`: what a school can send a support engineer when the agent is
 * not installed. Each device starts with a line like
 *   Bus 001 Device 004: ID 046d:085e Logitech, Inc. Logitech BRIO
 * followed by its Device Descriptor and Interface Descriptors. lsusb -v does not print the
 * port chain, so `portPath` stays empty and `deviceAddress` identifies the device on its bus.
 *
 * Lines that are not understood are skipped (class-specific descriptors, "Couldn't open
 * device" notes, endpoint details). A block without a complete device descriptor (a cut-off
 * paste) is dropped and the other blocks are kept. Text with no device at all throws
 * REPLAY_UNRECOGNISED.
 */
export function parseLsusbVerbose(text: string): UsbInfo[] {
  const lines = text.split(/\r\n|\r|\n/);
  const blocks: string[][] = [];
  let current: string[] | undefined;
  let busLines = 0;
  for (const line of lines) {
    if (BUS_LINE.test(line)) {
      busLines += 1;
      current = [line];
      blocks.push(current);
    } else {
      current?.push(line);
    }
  }

  const devices = blocks.map(parseBlock).filter((device): device is UsbInfo => device !== undefined);
  if (devices.length > 0) return devices;
  if (busLines > 0) {
    throw new AvcareError(
      'REPLAY_UNRECOGNISED',
      `Found ${busLines} "Bus NNN Device NNN: ID vvvv:pppp" line(s) but no complete Device Descriptor under them: this looks like plain \`lsusb\` or a cut-off paste. Send the full output of \`lsusb -v\` (run as root to see every string).`,
      { busLines },
    );
  }
  throw new AvcareError(
    'REPLAY_UNRECOGNISED',
    'No USB device found in the text: expected the output of `lsusb -v`, where each device starts with a line like "Bus 001 Device 004: ID 046d:085e ..." followed by "Device Descriptor:".',
    { length: text.length },
  );
}

// "Bus 002 Device 003: ID 0fd9:0066 Elgato Systems GmbH Cam Link 4K" (name may be absent).
const BUS_LINE = /^\s*Bus (\d{1,3}) Device (\d{1,3}): ID ([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\b/;
// "  idVendor           0x046d Logitech, Inc." / "  bInterfaceClass       255 Vendor Specific Class"
const FIELD_LINE = /^\s*([A-Za-z]\w*)\s+(\S+)(?:\s+(.*?))?\s*$/;

type Section = 'none' | 'device' | 'config' | 'interface' | 'other';

/** Section headers are matched on the whole trimmed line: "HID Device Descriptor:" is not one. */
const SECTION_HEADERS: ReadonlyMap<string, Section> = new Map([
  ['Device Descriptor:', 'device'],
  ['Configuration Descriptor:', 'config'],
  ['Interface Descriptor:', 'interface'],
  ['Interface Association:', 'other'],
  // The qualifier repeats bDeviceClass & co. for the other speed; it must not overwrite them.
  ['Device Qualifier (for other device speed):', 'other'],
  ['Binary Object Store Descriptor:', 'other'],
  ['Hub Descriptor:', 'other'],
  ['Debug descriptor:', 'other'],
]);

interface PartialInterface {
  number?: number;
  alternate?: number;
  class?: number;
  subClass?: number;
  protocol?: number;
}

/** `| undefined`: a field lsusb printed but that did not parse is as good as absent. */
interface PartialDevice {
  vendorId?: number | undefined;
  productId?: number | undefined;
  deviceClass?: number | undefined;
  deviceSubClass?: number | undefined;
  deviceProtocol?: number | undefined;
  vendorName?: string;
  productName?: string;
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
}

function parseBlock(lines: string[]): UsbInfo | undefined {
  const [busLine, ...body] = lines;
  const header = busLine === undefined ? null : BUS_LINE.exec(busLine);
  if (header?.[1] === undefined || header[2] === undefined || header[3] === undefined || header[4] === undefined) return undefined;

  const device: PartialDevice = {};
  const interfaces: PartialInterface[] = [];
  let section: Section = 'none';
  let sawDeviceDescriptor = false;

  for (const line of body) {
    const trimmed = line.trim();
    const next = SECTION_HEADERS.get(trimmed) ?? (trimmed.startsWith('Device Status:') ? 'other' : undefined);
    if (next !== undefined) {
      // A second device descriptor in one block means the text lost a "Bus" line: stop here.
      if (next === 'device' && sawDeviceDescriptor) break;
      if (next === 'device') sawDeviceDescriptor = true;
      if (next === 'interface') interfaces.push({});
      section = next;
      continue;
    }
    const field = FIELD_LINE.exec(line);
    if (field?.[1] === undefined || field[2] === undefined) continue;
    const [, key, value, rest] = field;
    if (section === 'device') readDeviceField(device, key, value, rest);
    else if (section === 'interface') {
      const iface = interfaces[interfaces.length - 1];
      if (iface !== undefined) readInterfaceField(iface, key, value);
    }
  }

  const vendorId = parseInt(header[3], 16);
  const productId = parseInt(header[4], 16);
  if (
    !sawDeviceDescriptor ||
    device.vendorId !== vendorId ||
    device.productId !== productId ||
    device.deviceClass === undefined ||
    device.deviceSubClass === undefined ||
    device.deviceProtocol === undefined
  ) {
    return undefined;
  }

  const info: UsbInfo = {
    vendorId,
    productId,
    deviceClass: device.deviceClass,
    deviceSubClass: device.deviceSubClass,
    deviceProtocol: device.deviceProtocol,
    interfaces: interfaces.flatMap(completeInterface),
    busNumber: parseInt(header[1], 10),
    deviceAddress: parseInt(header[2], 10),
    portPath: [],
  };
  for (const key of ['manufacturer', 'product', 'serialNumber', 'vendorName', 'productName'] as const) {
    const value = device[key];
    if (value !== undefined) info[key] = value;
  }
  return info;
}

function readDeviceField(device: PartialDevice, key: string, value: string, rest: string | undefined): void {
  switch (key) {
    case 'idVendor':
      device.vendorId = parseNumber(value);
      if (rest) device.vendorName = rest;
      break;
    case 'idProduct':
      device.productId = parseNumber(value);
      if (rest) device.productName = rest;
      break;
    case 'bDeviceClass':
      device.deviceClass = parseNumber(value);
      break;
    case 'bDeviceSubClass':
      device.deviceSubClass = parseNumber(value);
      break;
    case 'bDeviceProtocol':
      device.deviceProtocol = parseNumber(value);
      break;
    case 'iManufacturer':
      assignString(device, 'manufacturer', value, rest);
      break;
    case 'iProduct':
      assignString(device, 'product', value, rest);
      break;
    case 'iSerial':
      assignString(device, 'serialNumber', value, rest);
      break;
  }
}

/** "iProduct 2 BRIO" holds a string; index 0 means none; "(error)" means it could not be read. */
function assignString(device: PartialDevice, key: 'manufacturer' | 'product' | 'serialNumber', index: string, rest: string | undefined): void {
  if (index === '0' || !rest || rest === '(error)') return;
  device[key] = rest.slice(0, 256);
}

function readInterfaceField(iface: PartialInterface, key: string, value: string): void {
  const keys: Record<string, keyof PartialInterface> = {
    bInterfaceNumber: 'number',
    bAlternateSetting: 'alternate',
    bInterfaceClass: 'class',
    bInterfaceSubClass: 'subClass',
    bInterfaceProtocol: 'protocol',
  };
  const target = keys[key];
  if (target === undefined) return;
  const parsed = parseNumber(value);
  if (parsed !== undefined) iface[target] = parsed;
}

/** An interface cut off before its class codes is dropped; a missing alternate setting is 0. */
function completeInterface(iface: PartialInterface): UsbInterface[] {
  const { number, alternate = 0, class: interfaceClass, subClass, protocol } = iface;
  if (number === undefined || interfaceClass === undefined || subClass === undefined || protocol === undefined) return [];
  return [{ number, alternate, class: interfaceClass, subClass, protocol }];
}

/** lsusb prints ids in hex ("0x046d") and classes in decimal ("239"); values are u8/u16. */
function parseNumber(value: string): number | undefined {
  const parsed = /^0x[0-9a-f]+$/i.test(value) ? parseInt(value, 16) : /^\d+$/.test(value) ? parseInt(value, 10) : NaN;
  return Number.isInteger(parsed) && parsed >= 0 && parsed <= 0xffff ? parsed : undefined;
}
