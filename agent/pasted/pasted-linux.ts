/**
 * What a school pastes from the usual Linux tools, read together: USB devices from `lsusb -v`,
 * plain `lsusb` and `usb-devices`; report descriptors from `usbhid-dump`, `hid-recorder` and
 * debugfs `rdesc`; input devices from /proc/bus/input/devices, `libinput list-devices`,
 * `udevadm info` and `evtest`; and connects and disconnects from the kernel log. The tools may
 * come in any order, some missing, with prose and `$ command` lines around them. Each tool read
 * says what it concluded, so the engineer sees what the verdict rests on.
 */
import type { Device, UsbInfo } from '../../protocol/index.js';
import type { ConnectionEvent } from '../faults/unstable-connection.js';
import { readKernelUsbLog } from '../probes/kernel-usb-log.js';
import { usbPortOf } from '../probes/media-match.js';
import { usbDeviceFromInfo } from '../probes/usb-classify.js';
import type { UsbIds } from '../probes/usb-ids.js';
import { readHidDescriptor } from '../touch/hid-descriptor.js';
import { attachTouchToUsb } from '../touch/touch-match.js';
import type { TouchNode } from '../touch/touch-nodes.js';
import { readDescriptorDumps, type DescriptorDump } from './hid-descriptor-dumps.js';
import { readInputListings, type InputListing } from './input-listings.js';
import { readUsbDevices, type UsbDevicesEntry } from './usb-devices-text.js';

/** One tool's conclusion: a catalog key (agent i18n `replay.tool.*`) and its parameters, rendered in the reader's language. */
export interface PastedConclusion {
  tool: string;
  key: 'lsusbVerbose' | 'lsusbPlain' | 'usbDevices' | 'descriptor' | 'inputs' | 'inputsNoTouch' | 'kernelLog' | 'noInputListing' | 'headset' | 'pnp' | 'privacy' | 'systemProfiler' | 'systemProfilerPartial' | 'ffmpegDevices' | 'macPermissions';
  params: Record<string, string | number>;
}

export interface PastedLinux {
  devices: Device[];
  connectionEvents: ConnectionEvent[];
  /** When the paste's own clock says it ended (the last kernel log line), else now. */
  at: Date;
  conclusions: PastedConclusion[];
}

const HID_CLASS = 0x03;
const BUS_LINE = /^[\s>]*Bus (\d{1,3}) Device (\d{1,3}): ID ([0-9a-f]{4}):([0-9a-f]{4})\s*(.*)$/gim;
const ids = (vendorId: number, productId: number): string => `${vendorId.toString(16).padStart(4, '0')}:${productId.toString(16).padStart(4, '0')}`;

export function looksLikePastedLinux(text: string): boolean {
  return readInputListings(text).length > 0 || readDescriptorDumps(text).length > 0 || readUsbDevices(text).length > 0 || readKernelUsbLog(text).events.length > 0 || [...text.matchAll(BUS_LINE)].length > 0;
}

/** Plain `lsusb` lines of devices no fuller listing described: ids and the name lsusb.ids gave, no descriptors. */
function plainLsusb(text: string, known: ReadonlySet<string>): UsbInfo[] {
  const infos: UsbInfo[] = [];
  for (const match of text.matchAll(BUS_LINE)) {
    const [bus, address, vendorId, productId] = [Number(match[1]), Number(match[2]), parseInt(match[3] ?? '0', 16), parseInt(match[4] ?? '0', 16)];
    // A root hub (1d6b) is the bus itself, not a device in the room.
    if (known.has(`${bus}:${address}`) || vendorId === 0x1d6b) continue;
    const name = (match[5] ?? '').trim().slice(0, 256);
    infos.push({ vendorId, productId, deviceClass: 0, deviceSubClass: 0, deviceProtocol: 0, interfaces: [], busNumber: bus, deviceAddress: address, portPath: [], ...(name ? { productName: name } : {}) });
  }
  return infos;
}

/** The USB devices from every listing, one per bus and address: lsusb -v's descriptors with usb-devices' port chain. */
function usbInfos(verbose: readonly UsbInfo[], usbDevices: readonly UsbDevicesEntry[], text: string): { infos: UsbInfo[]; plain: number } {
  const byAddress = new Map<string, UsbInfo>();
  for (const entry of usbDevices) byAddress.set(`${entry.info.busNumber}:${entry.info.deviceAddress}`, entry.info);
  for (const info of verbose) {
    const key = `${info.busNumber}:${info.deviceAddress}`;
    const chain = byAddress.get(key)?.portPath;
    byAddress.set(key, chain && chain.length > 0 && info.portPath.length === 0 ? { ...info, portPath: chain } : info);
  }
  const plain = plainLsusb(text, new Set(byAddress.keys()));
  return { infos: [...byAddress.values(), ...plain], plain: plain.length };
}

function matchesDevice(info: UsbInfo, port: string | undefined, candidate: { vendorId?: number; productId?: number; usbPort?: string; bus?: number; address?: number }): boolean {
  if (candidate.bus !== undefined && candidate.address !== undefined) return candidate.bus === info.busNumber && candidate.address === info.deviceAddress;
  if (port !== undefined && candidate.usbPort !== undefined) return candidate.usbPort === port;
  return candidate.vendorId === info.vendorId && candidate.productId === info.productId;
}

/** libinput prints names only: a listing belongs to a device whose product name it contains (or the reverse). */
function sameName(listing: InputListing, device: Device): boolean {
  const a = listing.name.toLowerCase();
  const b = (device.usb?.product ?? device.name).toLowerCase();
  return a.length > 2 && b.length > 2 && (a.includes(b) || b.includes(a));
}

function touchNode(device: Device, dumps: readonly DescriptorDump[], inputs: readonly InputListing[], drivers: Map<number, string | null> | undefined): TouchNode | null {
  const info = device.usb;
  if (!info) return null;
  const port = usbPortOf(device);
  const readings = dumps.filter((dump) => matchesDevice(info, port, dump)).map((dump) => ({ dump, reading: readHidDescriptor(dump.bytes) }));
  const order = ['touch-screen', 'pen', 'touch-pad', 'mouse-emulation', 'not-touch'];
  const best = readings.sort((a, b) => order.indexOf(a.reading.touchClass) - order.indexOf(b.reading.touchClass))[0];
  const own = inputs.filter((listing) => (listing.tool === 'libinput' ? sameName(listing, device) : listing.vendorId !== undefined && matchesDevice(info, port, listing)));
  const hidDrivers = [...(drivers?.entries() ?? [])].filter(([number]) => info.interfaces.some((i) => i.number === number && i.class === HID_CLASS)).map(([, driver]) => driver);
  const driver = hidDrivers.find((name) => name !== null) ?? (hidDrivers.length > 0 ? null : own.length > 0 ? '(not in the paste)' : null);
  const problems = best ? [...best.dump.problems, ...best.reading.problems] : [];
  return {
    vendorId: info.vendorId,
    productId: info.productId,
    ...(port === undefined ? {} : { usbPort: port }),
    name: device.name,
    touch: {
      touchClass: best?.reading.touchClass ?? 'unknown',
      ...(best?.reading.maxContacts != null ? { maxContacts: Math.min(best.reading.maxContacts, 255) } : {}),
      driver,
      // Kernel nodes where the tools name them; a name only where none does (evtest of a device alone).
      inputDevices: [...new Set(own.some((listing) => listing.node) ? own.flatMap((listing) => listing.node ?? []) : own.map((listing) => listing.name))].slice(0, 16),
      touchInput: own.some((listing) => listing.touch),
      ...(problems.length > 0 ? { descriptorProblems: problems.slice(0, 8).map((problem) => problem.slice(0, 256)) } : {}),
    },
  };
}

/**
 * USB devices known only from an input listing that reports touches or from a descriptor dump with
 * ids (no USB listing pasted for them): one per vendor and product, with the port and name the
 * listings give.
 */
function devicesOnlyListed(known: readonly UsbInfo[], inputs: readonly InputListing[], dumps: readonly DescriptorDump[]): UsbInfo[] {
  const seen = new Map<string, { vendorId: number; productId: number; port?: string; name?: string }>();
  const sightings = [
    ...inputs.filter((listing) => listing.usb === true && listing.touch).map((listing) => ({ vendorId: listing.vendorId, productId: listing.productId, port: listing.usbPort, name: listing.name })),
    ...dumps.map((dump) => ({ vendorId: dump.vendorId, productId: dump.productId, port: undefined, name: dump.name })),
  ];
  for (const sighting of sightings) {
    const { vendorId, productId } = sighting;
    if (vendorId === undefined || productId === undefined || known.some((info) => info.vendorId === vendorId && info.productId === productId)) continue;
    const key = ids(vendorId, productId);
    const entry = seen.get(key) ?? { vendorId, productId };
    if (entry.port === undefined && sighting.port !== undefined) entry.port = sighting.port;
    if (entry.name === undefined && sighting.name) entry.name = sighting.name;
    seen.set(key, entry);
  }
  return [...seen.values()].map((entry) => {
    const chain = entry.port ? /^(\d+)-([\d.]+)$/.exec(entry.port) : null;
    return {
      vendorId: entry.vendorId,
      productId: entry.productId,
      deviceClass: 0,
      deviceSubClass: 0,
      deviceProtocol: 0,
      interfaces: [],
      busNumber: chain ? Number(chain[1]) : 0,
      deviceAddress: 0,
      portPath: chain ? (chain[2] ?? '').split('.').map(Number) : [],
      ...(entry.name ? { product: entry.name.slice(0, 256) } : {}),
    };
  });
}

/** A device no USB listing placed: its port is unknown, not root hub 0 ("usb0"). */
function atUnknownPort(device: Device): Device {
  if (!device.usb || device.usb.portPath.length > 0) return device;
  const id = `usb:${ids(device.usb.vendorId, device.usb.productId)}:pasted`;
  return { ...device, id, connection: { type: 'usb', bus: device.usb.busNumber, portPath: 'unknown' } };
}

function kernelEvents(text: string): { events: ConnectionEvent[]; at: Date; conclusion: PastedConclusion | null } {
  const log = readKernelUsbLog(text);
  if (log.events.length === 0) return { events: [], at: new Date(), conclusion: null };
  const times = log.events.map((event) => (event.at.kind === 'wall' ? event.at.ms : event.at.seconds * 1000));
  const last = Math.max(...times);
  // Seconds since boot carry no date: the log is placed so that its last line is now, gaps kept.
  const wall = log.events.every((event) => event.at.kind === 'wall');
  const shift = wall ? 0 : Date.now() - last;
  const events = log.events.map((event, index): ConnectionEvent => {
    const label = event.product ?? (event.vendorId !== undefined && event.productId !== undefined ? `USB device ${ids(event.vendorId, event.productId)}` : undefined);
    return { port: event.port, type: event.type, atMs: (times[index] ?? 0) + shift, ...(label === undefined ? {} : { label }) };
  });
  const ports = [...new Set(events.map((event) => event.port))];
  const conclusion: PastedConclusion = {
    tool: 'kernel log',
    key: 'kernelLog',
    params: { connects: events.filter((event) => event.type === 'connect').length, disconnects: events.filter((event) => event.type === 'disconnect').length, ports: ports.join(', ') },
  };
  return { events, at: new Date(last + shift), conclusion };
}

export function readPastedLinux(text: string, verbose: readonly UsbInfo[], usbIds: UsbIds | null): PastedLinux {
  const conclusions: PastedConclusion[] = [];
  const usbDevices = readUsbDevices(text);
  const { infos, plain } = usbInfos(verbose, usbDevices, text);
  if (verbose.length > 0) conclusions.push({ tool: 'lsusb -v', key: 'lsusbVerbose', params: { count: verbose.length } });
  if (plain > 0) conclusions.push({ tool: 'lsusb', key: 'lsusbPlain', params: { count: plain } });
  if (usbDevices.length > 0) {
    const hid = usbDevices.flatMap((entry) => entry.info.interfaces.filter((i) => i.class === HID_CLASS && i.alternate === 0).map((i) => `${ids(entry.info.vendorId, entry.info.productId)}#${i.number} ${entry.drivers.get(i.number) ?? '(none)'}`));
    conclusions.push({ tool: 'usb-devices', key: 'usbDevices', params: { count: usbDevices.length, drivers: hid.length > 0 ? hid.join(', ') : '-' } });
  }
  const dumps = readDescriptorDumps(text);
  for (const dump of dumps) {
    const reading = readHidDescriptor(dump.bytes);
    const where = dump.vendorId !== undefined && dump.productId !== undefined ? ids(dump.vendorId, dump.productId) : `bus ${dump.bus ?? '?'} device ${dump.address ?? '?'} interface ${dump.interfaceNumber ?? '?'}`;
    const problems = [...dump.problems, ...reading.problems];
    conclusions.push({ tool: dump.tool, key: 'descriptor', params: { ids: where, class: reading.touchClass, contacts: reading.maxContacts ?? '-', problems: problems.length > 0 ? problems.join('; ') : '-' } });
  }
  const inputs = readInputListings(text);
  for (const tool of [...new Set(inputs.map((listing) => listing.tool))]) {
    const listed = inputs.filter((listing) => listing.tool === tool);
    const touch = listed.filter((listing) => listing.touch).map((listing) => (listing.vendorId !== undefined && listing.productId !== undefined ? `${listing.name} (${ids(listing.vendorId, listing.productId)})` : listing.name));
    conclusions.push(touch.length > 0 ? { tool, key: 'inputs', params: { count: listed.length, touch: touch.join(', ') } } : { tool, key: 'inputsNoTouch', params: { count: listed.length } });
  }

  const drivers = new Map(usbDevices.map((entry) => [`${entry.info.busNumber}:${entry.info.deviceAddress}`, entry.drivers]));
  const fromUsb = (info: UsbInfo): Device => usbDeviceFromInfo(info, usbIds?.lookup(info.vendorId, info.productId));
  let devices = [...infos.map(fromUsb), ...devicesOnlyListed(infos, inputs, dumps).map(fromUsb).map(atUnknownPort)];
  const nodes = devices.map((device) => touchNode(device, dumps, inputs, device.usb ? drivers.get(`${device.usb.busNumber}:${device.usb.deviceAddress}`) : undefined)).filter((node): node is TouchNode => node !== null);
  devices = attachTouchToUsb(devices, nodes);
  // Whether a frame makes touch input is only known from an input listing; without one, only
  // usb-devices' "(none)" driver still proves the kernel took nothing.
  if (inputs.length === 0) {
    const unbound = (device: Device): boolean => device.touch?.driver === null && device.usb !== undefined && drivers.has(`${device.usb.busNumber}:${device.usb.deviceAddress}`);
    if (devices.some((device) => device.kind === 'touch-panel' && !unbound(device))) conclusions.push({ tool: 'probe --replay', key: 'noInputListing', params: {} });
    devices = devices.map(({ touch, ...device }) => (touch && unbound({ ...device, touch }) ? { ...device, touch } : device));
  }
  const kernel = kernelEvents(text);
  if (kernel.conclusion) conclusions.push(kernel.conclusion);
  return { devices, connectionEvents: kernel.events, at: kernel.at, conclusions };
}
