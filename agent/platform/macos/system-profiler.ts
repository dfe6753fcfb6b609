/**
 * macOS's own account of its USB devices, cameras and audio devices: `system_profiler
 * SPUSBDataType SPCameraDataType SPAudioDataType`, as JSON (`-json`, what the agent runs) or as the
 * text a Mac user pastes. macOS 26 renamed the USB report SPUSBHostDataType with other key names;
 * both are read. A node that says too little is skipped, never thrown on.
 */
import type { UsbInfo } from '../../../protocol/index.js';

export interface MacCamera {
  name: string;
  /** AVFoundation's unique id: for a USB camera the location id followed by the vendor and product ids. */
  uniqueId: string;
  vendorId?: number;
  productId?: number;
  /** The USB location id when the unique id carries one. */
  locationId?: number;
}

export type MacAudioTransport = 'builtin' | 'usb' | 'bluetooth' | 'hdmi' | 'displayport' | 'airplay' | 'virtual' | 'aggregate' | 'thunderbolt' | 'unknown';

export interface MacAudioDevice {
  name: string;
  manufacturer?: string;
  transport: MacAudioTransport;
  inputChannels: number;
  outputChannels: number;
  defaultInput: boolean;
  defaultOutput: boolean;
}

export interface SystemProfilerReport {
  usb: UsbInfo[];
  cameras: MacCamera[];
  audio: MacAudioDevice[];
  /** Which reports the output held ("usb", "camera", "audio"), so an absent one is not read as "none". */
  sections: Array<'usb' | 'camera' | 'audio'>;
}

type Node = Record<string, unknown>;

const isNode = (value: unknown): value is Node => typeof value === 'object' && value !== null && !Array.isArray(value);
const text = (value: unknown): string | undefined => (typeof value === 'string' && value.trim() !== '' ? value.trim() : typeof value === 'number' ? String(value) : undefined);
const first = (node: Node, ...keys: string[]): string | undefined => keys.map((key) => text(node[key])).find((value) => value !== undefined);
const children = (node: Node): Node[] => (Array.isArray(node._items) ? node._items.filter(isNode) : []);

/** "0x046d  (Logitech Inc.)", "0x046d", 1133 or Apple's "apple_vendor_id". */
function usbId(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (/^apple_vendor_id$/i.test(value)) return 0x05ac;
  const hex = /^0x([0-9a-f]{1,4})\b/i.exec(value);
  if (hex?.[1]) return parseInt(hex[1], 16);
  return /^\d{1,5}$/.test(value) && Number(value) <= 0xffff ? Number(value) : undefined;
}

/**
 * A location id, "0x14310000 / 5": the top byte is the bus, each following nibble a port until a
 * zero one (libusb names the bus and ports the same way on a Mac); after the slash, the address.
 */
export function readLocation(value: string | undefined): { locationId: number; busNumber: number; portPath: number[]; deviceAddress: number } | undefined {
  const match = /^0x([0-9a-f]{1,8})(?:\s*\/\s*(\d+))?/i.exec(value ?? '');
  if (!match?.[1]) return undefined;
  const locationId = parseInt(match[1], 16);
  return { locationId, ...locationPorts(locationId), deviceAddress: match[2] ? Number(match[2]) : 0 };
}

export function locationPorts(locationId: number): { busNumber: number; portPath: number[] } {
  const portPath: number[] = [];
  for (let shift = 20; shift >= 0; shift -= 4) {
    const port = (locationId >>> shift) & 0xf;
    if (port === 0) break;
    portPath.push(port);
  }
  return { busNumber: locationId >>> 24, portPath };
}

/** One USB node of either report; buses and other nodes without both ids are not devices. */
function usbInfoOf(node: Node): UsbInfo | null {
  const vendorId = usbId(first(node, 'vendor_id', 'USBDeviceKeyVendorID'));
  const productId = usbId(first(node, 'product_id', 'USBDeviceKeyProductID'));
  if (vendorId === undefined || productId === undefined) return null;
  const location = readLocation(first(node, 'location_id', 'USBKeyLocationID'));
  const info: UsbInfo = {
    vendorId,
    productId,
    // system_profiler does not print the class codes or the interfaces: the device is classified by its ids and name.
    deviceClass: 0,
    deviceSubClass: 0,
    deviceProtocol: 0,
    interfaces: [],
    busNumber: location?.busNumber ?? 0,
    deviceAddress: location?.deviceAddress ?? 0,
    portPath: location?.portPath ?? [],
  };
  const name = text(node._name);
  // Hubs of some makers are named by their role only.
  if (name && name !== 'hub_device') info.product = name.slice(0, 256);
  const manufacturer = first(node, 'manufacturer', 'USBDeviceKeyVendorName');
  if (manufacturer) info.manufacturer = manufacturer.slice(0, 256);
  const serial = first(node, 'serial_num', 'USBDeviceKeySerialNumber');
  // Masked serials ("********") and "Not Provided" identify nothing.
  if (serial && !/^\*+$|^not provided$/i.test(serial)) info.serialNumber = serial.slice(0, 256);
  return info;
}

function usbTree(nodes: readonly Node[], into: UsbInfo[], depth = 0): void {
  // USB allows seven tiers; a deeper tree is not one system_profiler printed.
  if (depth > 8) return;
  for (const node of nodes) {
    const info = usbInfoOf(node);
    if (info) into.push(info);
    usbTree(children(node), into, depth + 1);
  }
}

/** "UVC Camera VendorID_1133 ProductID_2093" (decimal), else the unique id's last eight hex digits. */
function cameraOf(node: Node): MacCamera | null {
  const name = text(node._name);
  const uniqueId = first(node, 'spcamera_unique-id');
  if (!name || !uniqueId) return null;
  const camera: MacCamera = { name: name.slice(0, 256), uniqueId: uniqueId.slice(0, 128) };
  const model = /VendorID_(\d+)\s+ProductID_(\d+)/i.exec(first(node, 'spcamera_model-id') ?? '');
  const hex = /^0x([0-9a-f]{9,16})$/i.exec(uniqueId)?.[1];
  if (model?.[1] && model[2]) {
    camera.vendorId = Number(model[1]);
    camera.productId = Number(model[2]);
  } else if (hex) {
    camera.vendorId = parseInt(hex.slice(-8, -4), 16);
    camera.productId = parseInt(hex.slice(-4), 16);
  }
  const location = hex ? parseInt(hex.slice(0, -8), 16) : 0;
  if (location > 0) camera.locationId = location;
  return camera;
}

const TRANSPORTS: ReadonlySet<string> = new Set(['builtin', 'usb', 'bluetooth', 'hdmi', 'displayport', 'airplay', 'virtual', 'aggregate', 'thunderbolt']);

/** "coreaudio_device_type_usb" in JSON, "USB" or "Built-in" in text. */
function transportOf(value: string | undefined): MacAudioTransport {
  const word = (value ?? '').toLowerCase().replace(/^coreaudio_device_type_/, '').replace(/[^a-z]/g, '');
  return TRANSPORTS.has(word) ? (word as MacAudioTransport) : 'unknown';
}

const yes = (value: unknown): boolean => typeof value === 'string' && /^(spaudio_yes|yes)$/i.test(value.trim());
const channels = (value: unknown): number => {
  const count = typeof value === 'number' ? value : Number(text(value));
  return Number.isInteger(count) && count > 0 ? count : 0;
};

function audioOf(node: Node): MacAudioDevice | null {
  const name = text(node._name);
  const inputChannels = channels(node.coreaudio_device_input);
  const outputChannels = channels(node.coreaudio_device_output);
  if (!name || (inputChannels === 0 && outputChannels === 0 && node.coreaudio_device_transport === undefined)) return null;
  const device: MacAudioDevice = {
    name: name.slice(0, 256),
    transport: transportOf(text(node.coreaudio_device_transport)),
    inputChannels,
    outputChannels,
    defaultInput: yes(node.coreaudio_default_audio_input_device),
    defaultOutput: yes(node.coreaudio_default_audio_output_device),
  };
  const manufacturer = text(node.coreaudio_device_manufacturer);
  if (manufacturer) device.manufacturer = manufacturer.slice(0, 256);
  return device;
}

/** The audio report nests devices one level (or, on older macOS, two) below a "coreaudio_device" group. */
function audioLeaves(nodes: readonly Node[], depth = 0): Node[] {
  if (depth > 3) return [];
  return nodes.flatMap((node) => (children(node).length > 0 ? audioLeaves(children(node), depth + 1) : [node]));
}

/** `system_profiler ... -json`: null when none of the three reports is in it. */
export function readSystemProfilerJson(json: unknown): SystemProfilerReport | null {
  if (!isNode(json)) return null;
  const list = (key: string): Node[] | undefined => (Array.isArray(json[key]) ? json[key].filter(isNode) : undefined);
  const usbNodes = [...(list('SPUSBDataType') ?? []), ...(list('SPUSBHostDataType') ?? [])];
  const cameraNodes = list('SPCameraDataType');
  const audioNodes = list('SPAudioDataType');
  const report: SystemProfilerReport = { usb: [], cameras: [], audio: [], sections: [] };
  if (list('SPUSBDataType') || list('SPUSBHostDataType')) {
    report.sections.push('usb');
    usbTree(usbNodes, report.usb);
  }
  if (cameraNodes) {
    report.sections.push('camera');
    report.cameras = cameraNodes.flatMap((node) => cameraOf(node) ?? []);
  }
  if (audioNodes) {
    report.sections.push('audio');
    report.audio = audioLeaves(audioNodes).flatMap((node) => audioOf(node) ?? []);
  }
  return report.sections.length > 0 ? report : null;
}

/** The text report's labels as the JSON report's keys, so one reader serves both. */
const TEXT_KEYS: Readonly<Record<string, string>> = {
  'product id': 'product_id',
  'usb product id': 'product_id',
  'vendor id': 'vendor_id',
  'usb vendor id': 'vendor_id',
  'serial number': 'serial_num',
  manufacturer: 'manufacturer',
  'usb vendor name': 'manufacturer',
  'location id': 'location_id',
  'model id': 'spcamera_model-id',
  'unique id': 'spcamera_unique-id',
  'default input device': 'coreaudio_default_audio_input_device',
  'default output device': 'coreaudio_default_audio_output_device',
  'input channels': 'coreaudio_device_input',
  'output channels': 'coreaudio_device_output',
  transport: 'coreaudio_device_transport',
};

const SECTION_OF_HEADING: Readonly<Record<string, 'usb' | 'camera' | 'audio'>> = { usb: 'usb', 'usb device tree': 'usb', camera: 'camera', audio: 'audio' };

/**
 * The text report: each report's heading at the left margin ("USB:", "Camera:", "Audio:"), then a
 * tree by indentation whose branches are "Name:" lines and whose leaves are "Key: Value" lines.
 */
export function readSystemProfilerText(pasted: string): SystemProfilerReport | null {
  const roots: Record<'usb' | 'camera' | 'audio', Node[]> = { usb: [], camera: [], audio: [] };
  const sections: SystemProfilerReport['sections'] = [];
  let section: 'usb' | 'camera' | 'audio' | undefined;
  let stack: Array<{ indent: number; node: Node }> = [];
  for (const line of pasted.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const indent = line.length - line.trimStart().length;
    const heading = /^(\S[^:]*):\s*$/.exec(line);
    if (indent === 0) {
      // Any other text at the margin (a prompt, prose, another report) ends the report being read.
      section = heading?.[1] ? SECTION_OF_HEADING[heading[1].trim().toLowerCase()] : undefined;
      if (section && !sections.includes(section)) sections.push(section);
      stack = [];
      continue;
    }
    if (!section) continue;
    while (stack.length > 0 && (stack.at(-1)?.indent ?? 0) >= indent) stack.pop();
    const branch = /^\s+(.+?):\s*$/.exec(line);
    if (branch?.[1]) {
      const node: Node = { _name: branch[1] };
      const parent = stack.at(-1)?.node;
      if (parent) {
        if (!Array.isArray(parent._items)) parent._items = [];
        (parent._items as Node[]).push(node);
      } else roots[section].push(node);
      stack.push({ indent, node });
      continue;
    }
    const pair = /^\s+([^:]+?):\s+(.+)$/.exec(line);
    const owner = stack.at(-1)?.node;
    const key = pair?.[1] ? TEXT_KEYS[pair[1].toLowerCase()] : undefined;
    if (owner && key && pair?.[2]) owner[key] = pair[2].trim();
  }
  if (sections.length === 0) return null;
  const json: Node = {};
  if (sections.includes('usb')) json.SPUSBDataType = roots.usb;
  if (sections.includes('camera')) json.SPCameraDataType = roots.camera;
  if (sections.includes('audio')) json.SPAudioDataType = roots.audio;
  return readSystemProfilerJson(json);
}

export function looksLikeSystemProfiler(pasted: string): boolean {
  return /"SP(USB|USBHost|Camera|Audio)DataType"\s*:/.test(pasted) || (/^(USB|Camera|Audio):\s*$/m.test(pasted) && /^\s+(Product ID|USB Product ID|Model ID|Unique ID|Transport|Input Channels|Output Channels):\s/m.test(pasted));
}
