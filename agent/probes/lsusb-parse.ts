import { AvcareError, type UsbInfo, type UsbInterface, type UsbTerminal } from '../../protocol/index.js';
import { lsusbLines, type LsusbLine, type SkippedLine } from './lsusb-lines.js';

export type { SkippedLine } from './lsusb-lines.js';

/**
 * Parses the text of `lsusb -v` as schools really send it: what a support engineer gets when the
 * agent is not installed, pasted from mail, forums and bug trackers. A device starts at a line
 * like "Bus 001 Device 004: ID 046d:085e Logitech, Inc. BRIO", at "Device: ID 046d:085e" (`lsusb
 * -D`), or at a bare "Device Descriptor:" when the paste began there; its Device Descriptor and
 * Interface Descriptors follow. Indentation may be lost or changed, long lines wrapped, and mail
 * quoting, prose, lsusb's own complaints ("Couldn't open device") may surround the dump: the
 * lines that are not part of any device are reported as skipped, never silently used.
 *
 * `lsusb -v` does not print the port chain. With a Bus line, `deviceAddress` identifies the device
 * on its bus; without one, devices are numbered in the order of the text (bus 0, port n).
 */
export interface LsusbDump {
  devices: UsbInfo[];
  skipped: SkippedLine[];
}

export function parseLsusbDump(text: string): LsusbDump {
  const { lines, skipped } = lsusbLines(text);
  const blocks = splitIntoDevices(lines, skipped);
  const devices: UsbInfo[] = [];
  let headerless = 0;
  for (const block of blocks) {
    if (block.header === undefined) headerless += 1;
    const device = parseBlock(block, headerless);
    if (device !== undefined) devices.push(device);
    else skipped.push(...incompleteBlock(block));
  }
  skipped.sort((a, b) => a.line - b.line);
  if (devices.length > 0) return { devices, skipped };

  const withHeader = blocks.filter((block) => block.header !== undefined).length;
  if (withHeader > 0) {
    throw new AvcareError(
      'REPLAY_UNRECOGNISED',
      `Found ${withHeader} "Bus NNN Device NNN: ID vvvv:pppp" line(s) but no complete Device Descriptor under them: this looks like plain \`lsusb\` or a cut-off paste. Send the full output of \`lsusb -v\` (run as root to see every string).`,
      { busLines: withHeader },
    );
  }
  throw new AvcareError(
    'REPLAY_UNRECOGNISED',
    'No USB device found in the text: expected the output of `lsusb -v`, where each device has a "Device Descriptor:" with idVendor, idProduct and bDeviceClass, usually after a line like "Bus 001 Device 004: ID 046d:085e ...".',
    { length: text.length },
  );
}

/** The devices only, for callers that do not report skipped lines. */
export function parseLsusbVerbose(text: string): UsbInfo[] {
  return parseLsusbDump(text).devices;
}

// "Bus 002 Device 003: ID 0fd9:0066 Elgato Systems GmbH Cam Link 4K" (name may be absent).
const BUS_LINE = /^Bus (\d{1,3}) Device (\d{1,3}): ID ([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\b/;
// `lsusb -D /dev/bus/usb/001/004` prints "Device: ID 046d:085e Logitech, Inc. ...".
const DEVICE_ID_LINE = /^Device: ID ([0-9a-fA-F]{4}):([0-9a-fA-F]{4})\b/;
// "idVendor           0x046d Logitech, Inc." / "bInterfaceClass       255 Vendor Specific Class"
const FIELD_LINE = /^([A-Za-z]\w*)\s+(\S+)(?:\s+(.*?))?\s*$/;

/** Looks like lsusb -v text at all: what `probe --replay` checks before choosing this parser. */
export function looksLikeLsusb(text: string): boolean {
  return /^[\s>]*(?:Bus \d{1,3} Device \d{1,3}: ID [0-9a-f]{4}:[0-9a-f]{4}|Device: ID [0-9a-f]{4}:[0-9a-f]{4}|Device Descriptor:)/im.test(text);
}

interface DeviceBlock {
  header?: { bus?: number; address?: number; vendorId: number; productId: number; line: number };
  lines: LsusbLine[];
}

/** Cuts the lines into devices; lines before the first device are skipped. */
function splitIntoDevices(lines: readonly LsusbLine[], skipped: SkippedLine[]): DeviceBlock[] {
  const blocks: DeviceBlock[] = [];
  let current: (DeviceBlock & { sawDescriptor: boolean }) | undefined;
  for (const line of lines) {
    const bus = BUS_LINE.exec(line.text);
    const deviceId = bus ? null : DEVICE_ID_LINE.exec(line.text);
    if (bus?.[1] && bus[2] && bus[3] && bus[4]) {
      current = { header: { bus: Number(bus[1]), address: Number(bus[2]), vendorId: parseInt(bus[3], 16), productId: parseInt(bus[4], 16), line: line.number }, lines: [], sawDescriptor: false };
      blocks.push(current);
    } else if (deviceId?.[1] && deviceId[2]) {
      current = { header: { vendorId: parseInt(deviceId[1], 16), productId: parseInt(deviceId[2], 16), line: line.number }, lines: [], sawDescriptor: false };
      blocks.push(current);
    } else if (line.text === 'Device Descriptor:' && (current === undefined || current.sawDescriptor)) {
      // A second descriptor without a header line: the next device of a paste that lost its Bus lines.
      current = { lines: [line], sawDescriptor: true };
      blocks.push(current);
    } else if (current === undefined) {
      skipped.push({ line: line.number, text: line.raw, kind: 'preamble', reason: 'before the first device' });
    } else {
      if (line.text === 'Device Descriptor:') current.sawDescriptor = true;
      current.lines.push(line);
    }
  }
  return blocks;
}

type Section = 'none' | 'device' | 'config' | 'interface' | 'audio-control' | 'video-control' | 'other';

/** Section headers are matched on the whole trimmed line: "HID Device Descriptor:" is not one. */
const SECTION_HEADERS: ReadonlyMap<string, Section> = new Map([
  ['Device Descriptor:', 'device'],
  ['Configuration Descriptor:', 'config'],
  ['Interface Descriptor:', 'interface'],
  ['AudioControl Interface Descriptor:', 'audio-control'],
  ['VideoControl Interface Descriptor:', 'video-control'],
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

/** One class-specific descriptor of a control interface, read until the next header. */
interface ClassDescriptor {
  fn: UsbTerminal['function'];
  subtype?: number | undefined;
  type?: number | undefined;
}

function parseBlock(block: DeviceBlock, headerlessOrdinal: number): UsbInfo | undefined {
  const device: PartialDevice = {};
  const interfaces: PartialInterface[] = [];
  const classDescriptors: ClassDescriptor[] = [];
  let section: Section = 'none';
  let sawDeviceDescriptor = false;

  for (const { text } of block.lines) {
    const next = SECTION_HEADERS.get(text) ?? (text.startsWith('Device Status:') ? 'other' : undefined);
    if (next !== undefined) {
      if (next === 'device') sawDeviceDescriptor = true;
      if (next === 'interface') interfaces.push({});
      if (next === 'audio-control' || next === 'video-control') classDescriptors.push({ fn: next === 'audio-control' ? 'audio' : 'video' });
      section = next;
      continue;
    }
    const field = FIELD_LINE.exec(text);
    if (field?.[1] === undefined || field[2] === undefined) continue;
    const [, key, value, rest] = field;
    if (section === 'device') readDeviceField(device, key, value, rest);
    else if (section === 'interface') {
      const iface = interfaces[interfaces.length - 1];
      if (iface !== undefined) readInterfaceField(iface, key, value);
    } else if (section === 'audio-control' || section === 'video-control') {
      const descriptor = classDescriptors[classDescriptors.length - 1];
      if (descriptor !== undefined && key === 'bDescriptorSubtype') descriptor.subtype = parseNumber(value);
      if (descriptor !== undefined && key === 'wTerminalType') descriptor.type = parseNumber(value);
    }
  }

  const { header } = block;
  const { vendorId, productId, deviceClass, deviceSubClass, deviceProtocol } = device;
  if (!sawDeviceDescriptor || vendorId === undefined || productId === undefined || deviceClass === undefined || deviceSubClass === undefined || deviceProtocol === undefined) return undefined;
  if (header !== undefined && (header.vendorId !== vendorId || header.productId !== productId)) return undefined;

  const info: UsbInfo = {
    vendorId,
    productId,
    deviceClass,
    deviceSubClass,
    deviceProtocol,
    interfaces: interfaces.flatMap(completeInterface),
    busNumber: header?.bus ?? 0,
    deviceAddress: header?.address ?? 0,
    portPath: header?.bus === undefined ? [headerlessOrdinal] : [],
  };
  const terminals = classDescriptors.flatMap(terminalOf);
  if (terminals.length > 0) info.terminals = terminals.slice(0, 64);
  for (const key of ['manufacturer', 'product', 'serialNumber', 'vendorName', 'productName'] as const) {
    const value = device[key];
    if (value !== undefined) info[key] = value;
  }
  return info;
}

/** Subtype 2 is an input terminal and 3 an output terminal in both the audio and the video class. */
function terminalOf(descriptor: ClassDescriptor): UsbTerminal[] {
  const { fn, subtype, type } = descriptor;
  if (type === undefined || (subtype !== 2 && subtype !== 3)) return [];
  return [{ function: fn, direction: subtype === 2 ? 'input' : 'output', type }];
}

/** A block that did not give a device: its lines say which device was lost and why. */
function incompleteBlock(block: DeviceBlock): SkippedLine[] {
  const first = block.header?.line ?? block.lines[0]?.number ?? 0;
  const last = block.lines.at(-1)?.number ?? first;
  const ids = block.header ? `${hex4(block.header.vendorId)}:${hex4(block.header.productId)}` : '';
  const reason = `device${ids ? ` ${ids}` : ''} without a complete Device Descriptor (cut off, or its ids differ from its Bus line)`;
  return [{ line: first, text: `lines ${first}-${last}`, kind: 'incomplete', reason, ...(ids ? { ids } : {}) }];
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

function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}
