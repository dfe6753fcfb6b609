import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DeviceDescriptor, InterfaceDescriptor, Device as LibusbDevice } from 'usb';
import type { Device, UsbInfo } from '../../protocol/index.js';
import type { Logger } from '../../protocol/log.js';
import { PLATFORM_TRAITS } from '../platform/platform-traits.js';
import type { Probe, ProbeContext, ProbeFindings } from './probe.js';
import { usbDeviceFromInfo, usbPortName } from './usb-classify.js';
import { terminalsFromClassDescriptors } from './usb-terminals.js';
import { loadUsbIds, type UsbIds } from './usb-ids.js';

export interface UsbProbeOptions {
  /** usb.ids names; undefined loads the system copy, null disables names. */
  usbIds?: UsbIds | null;
  /** Where Linux exposes the USB bus; a test can point it elsewhere. */
  sysBusUsb?: string;
}

export const DEFAULT_SYS_BUS_USB = '/sys/bus/usb';

/** The parts of a libusb device the probe reads, so the mapping can be tested with recorded data. */
export interface LibusbDeviceSnapshot {
  busNumber: number;
  deviceAddress: number;
  portNumbers?: number[] | undefined;
  deviceDescriptor: Pick<DeviceDescriptor, 'idVendor' | 'idProduct' | 'bDeviceClass' | 'bDeviceSubClass' | 'bDeviceProtocol'>;
  configDescriptor?: { interfaces: LibusbInterface[][] } | undefined;
}

/** An interface as libusb gives it; `extra` holds its class-specific descriptors (the terminals). */
export type LibusbInterface = Pick<InterfaceDescriptor, 'bInterfaceNumber' | 'bAlternateSetting' | 'bInterfaceClass' | 'bInterfaceSubClass' | 'bInterfaceProtocol'> & {
  extra?: Uint8Array | undefined;
};

export interface UsbStrings {
  manufacturer?: string;
  product?: string;
  serialNumber?: string;
}

export function usbInfoFromLibusb(device: LibusbDeviceSnapshot, strings: UsbStrings = {}): UsbInfo {
  const descriptor = device.deviceDescriptor;
  const info: UsbInfo = {
    vendorId: descriptor.idVendor,
    productId: descriptor.idProduct,
    deviceClass: descriptor.bDeviceClass,
    deviceSubClass: descriptor.bDeviceSubClass,
    deviceProtocol: descriptor.bDeviceProtocol,
    interfaces: interfacesOf(device).map((iface) => ({
      number: iface.bInterfaceNumber,
      alternate: iface.bAlternateSetting,
      class: iface.bInterfaceClass,
      subClass: iface.bInterfaceSubClass,
      protocol: iface.bInterfaceProtocol,
    })),
    busNumber: device.busNumber,
    deviceAddress: device.deviceAddress,
    portPath: device.portNumbers ?? [],
  };
  const terminals = interfacesOf(device).flatMap((iface) =>
    iface.extra === undefined ? [] : terminalsFromClassDescriptors({ class: iface.bInterfaceClass, subClass: iface.bInterfaceSubClass }, iface.extra),
  );
  if (terminals.length > 0) info.terminals = terminals.slice(0, 64);
  return { ...info, ...strings };
}

function interfacesOf(device: LibusbDeviceSnapshot): LibusbInterface[] {
  return (device.configDescriptor?.interfaces ?? []).flat();
}

/**
 * Lists USB devices through libusb (the `usb` 2.x package) and classifies them.
 * A PC without /sys/bus/usb (containers, some thin clients) reports "unavailable" with the
 * reason instead of an empty success: an empty list would read as "every camera unplugged".
 */
export function createUsbProbe(options: UsbProbeOptions = {}): Probe {
  const sysBusUsb = options.sysBusUsb ?? DEFAULT_SYS_BUS_USB;
  return {
    id: 'usb',
    async run(context: ProbeContext, signal: AbortSignal): Promise<ProbeFindings> {
      if (PLATFORM_TRAITS.sysfs && !existsSync(sysBusUsb)) {
        return {
          state: 'unavailable',
          reason: `no USB bus: ${sysBusUsb} is absent, so this PC (or the container the agent runs in) exposes no USB devices`,
          reasonKey: 'sourceReason.noUsbBus',
          reasonParams: { path: sysBusUsb },
          devices: [],
        };
      }
      signal.throwIfAborted();
      // Loaded here, not at the top: a broken native binding must fail this probe, not the agent.
      const { getDeviceList } = await import('usb');
      const usbIds = options.usbIds === undefined ? loadUsbIds() : options.usbIds;
      const log = context.log.child({ probe: 'usb' });
      const devices: Device[] = [];
      for (const libusbDevice of getDeviceList()) {
        signal.throwIfAborted();
        const snapshot = snapshotOf(libusbDevice, log);
        const portName = usbPortName({ busNumber: snapshot.busNumber, deviceAddress: snapshot.deviceAddress, portPath: snapshot.portNumbers ?? [] });
        const strings = await readStrings(libusbDevice, sysBusUsb, portName, log, signal);
        const info = usbInfoFromLibusb(snapshot, strings);
        const names = usbIds?.lookup(info.vendorId, info.productId) ?? {};
        devices.push(usbDeviceFromInfo(info, names));
      }
      return { state: 'ok', devices };
    },
  };
}

function snapshotOf(device: LibusbDevice, log: Logger): LibusbDeviceSnapshot {
  const snapshot: LibusbDeviceSnapshot = {
    busNumber: device.busNumber,
    deviceAddress: device.deviceAddress,
    portNumbers: device.portNumbers,
    deviceDescriptor: device.deviceDescriptor,
  };
  try {
    snapshot.configDescriptor = device.configDescriptor;
  } catch (error) {
    // An unconfigured device (no driver chose a configuration yet) has no active descriptor:
    // its first configuration still tells what it is.
    log.debug({ err: error, bus: device.busNumber, address: device.deviceAddress }, 'no active configuration, reading the first one');
    try {
      snapshot.configDescriptor = device.allConfigDescriptors[0];
    } catch (innerError) {
      log.warn({ err: innerError, bus: device.busNumber, address: device.deviceAddress }, 'configuration descriptors unreadable; classifying by device class only');
    }
  }
  return snapshot;
}

/**
 * Linux caches the strings in sysfs, readable by anyone and without waking the device; libusb
 * needs the device opened (root or a udev rule) and is the fallback for other systems.
 */
async function readStrings(device: LibusbDevice, sysBusUsb: string, portName: string, log: Logger, signal: AbortSignal): Promise<UsbStrings> {
  if (PLATFORM_TRAITS.sysfs) {
    const fromSysfs = readSysfsStrings(join(sysBusUsb, 'devices', portName));
    if (fromSysfs.product !== undefined || device.deviceDescriptor.iProduct === 0) return fromSysfs;
  }
  return readLibusbStrings(device, log, signal);
}

export function readSysfsStrings(deviceDir: string): UsbStrings {
  const strings: UsbStrings = {};
  const files = { manufacturer: 'manufacturer', product: 'product', serialNumber: 'serial' } as const;
  for (const [key, file] of Object.entries(files) as [keyof UsbStrings, string][]) {
    try {
      const value = readFileSync(join(deviceDir, file), 'utf8').trim();
      if (value !== '') strings[key] = value;
    } catch (error) {
      // The kernel omits the file when the device has no such string.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  return strings;
}

async function readLibusbStrings(device: LibusbDevice, log: Logger, signal: AbortSignal): Promise<UsbStrings> {
  const descriptor = device.deviceDescriptor;
  const wanted = { manufacturer: descriptor.iManufacturer, product: descriptor.iProduct, serialNumber: descriptor.iSerialNumber };
  if (Object.values(wanted).every((index) => index === 0)) return {};
  try {
    device.open(false);
  } catch (error) {
    // LIBUSB_ERROR_ACCESS without root or a udev rule; usb.ids and the catalog still name it.
    log.debug({ err: error, bus: device.busNumber, address: device.deviceAddress }, 'cannot open device to read its strings');
    return {};
  }
  const strings: UsbStrings = {};
  try {
    for (const [key, index] of Object.entries(wanted) as [keyof UsbStrings, number][]) {
      signal.throwIfAborted();
      if (index === 0) continue;
      const value = await getStringDescriptor(device, index);
      if (value !== undefined) strings[key] = value;
    }
  } catch (error) {
    if (signal.aborted) throw error;
    log.debug({ err: error, bus: device.busNumber, address: device.deviceAddress }, 'string descriptor unreadable');
  } finally {
    try {
      device.close();
    } catch (error) {
      log.warn({ err: error, bus: device.busNumber, address: device.deviceAddress }, 'closing the USB device failed');
    }
  }
  return strings;
}

function getStringDescriptor(device: LibusbDevice, index: number): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    device.getStringDescriptor(index, (error, value) => {
      if (error) reject(error);
      else resolve(value);
    });
  });
}
