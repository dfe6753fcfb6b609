import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Device as LibusbDevice } from 'usb';
import type { UsbInfo } from '../../protocol/index.js';
import { DEFAULT_SYS_BUS_USB } from './usb-probe.js';
import { traitsFor } from '../platform/platform-traits.js';

export interface UsbHotplugEvent {
  type: 'attach' | 'detach';
  info?: Partial<UsbInfo>;
}

export type UsbHotplugMode = 'events' | 'polling' | 'unavailable';

export interface UsbHotplugWatch {
  mode: UsbHotplugMode;
  reason?: string;
  /** The reason as a catalog key, for a person reading in their language. */
  reasonKey?: HotplugReasonKey;
  reasonParams?: Record<string, string | number>;
  stop(): void;
}

/** What the mode decision depends on, gathered from the PC or injected by a test. */
export interface UsbHotplugFacts {
  platform: NodeJS.Platform;
  usbBusPresent: boolean;
  udevRunning: boolean;
}

export interface UsbHotplugOptions {
  sysBusUsb?: string;
  /** udevd's control socket: present when udev runs. */
  udevControlPath?: string;
  pollIntervalMs?: number;
  /** Overrides the facts read from the PC. */
  facts?: Partial<UsbHotplugFacts>;
}

export const DEFAULT_UDEV_CONTROL_PATH = '/run/udev/control';

/** The catalog keys (agent/i18n hotplug.*) of the reasons a watch is not event-driven, for people reading in their language. */
export type HotplugReasonKey = 'hotplug.noUsbBus' | 'hotplug.noUdev';
export const DEFAULT_POLL_INTERVAL_MS = 2000;

export function chooseUsbHotplugMode(facts: UsbHotplugFacts, pollIntervalMs = DEFAULT_POLL_INTERVAL_MS): { mode: UsbHotplugMode; reason?: string; reasonKey?: HotplugReasonKey; reasonParams?: Record<string, string | number> } {
  const linux = traitsFor(facts.platform).sysfs;
  if (linux && !facts.usbBusPresent) {
    return { mode: 'unavailable', reason: 'no USB bus (/sys/bus/usb is absent): there is nothing to watch', reasonKey: 'hotplug.noUsbBus' };
  }
  // libusb's Linux hotplug listens to udev's netlink messages; without udevd (containers,
  // minimal images) no attach/detach ever arrives, so we compare device lists instead.
  if (linux && !facts.udevRunning) {
    return { mode: 'polling', reason: `udev is not running (no /run/udev/control): comparing the device list every ${pollIntervalMs} ms`, reasonKey: 'hotplug.noUdev', reasonParams: { ms: pollIntervalMs } };
  }
  return { mode: 'events' };
}

type UsbModule = typeof import('usb');

/**
 * Calls `onChange` when a USB device is plugged in or out. The watch never keeps the process
 * alive on its own, and `stop()` removes every listener and timer it added.
 */
export function watchUsbHotplug(onChange: (event: UsbHotplugEvent) => void, options: UsbHotplugOptions = {}): UsbHotplugWatch {
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const facts: UsbHotplugFacts = {
    platform: options.facts?.platform ?? process.platform,
    usbBusPresent: options.facts?.usbBusPresent ?? existsSync(options.sysBusUsb ?? DEFAULT_SYS_BUS_USB),
    udevRunning: options.facts?.udevRunning ?? existsSync(options.udevControlPath ?? DEFAULT_UDEV_CONTROL_PATH),
  };
  const decision = chooseUsbHotplugMode(facts, pollIntervalMs);
  if (decision.mode === 'unavailable') return { ...decision, stop: () => undefined };

  let usbModule: UsbModule;
  try {
    // Loaded on demand and synchronously: a broken native binding must make the watch
    // unavailable, not crash the agent when this module is imported.
    usbModule = createRequire(import.meta.url)('usb') as UsbModule;
  } catch (error) {
    return { mode: 'unavailable', reason: `libusb could not be loaded: ${error instanceof Error ? error.message : String(error)}`, stop: () => undefined };
  }
  if (decision.mode === 'events') return watchEvents(usbModule, onChange);
  return { ...watchByPolling(usbModule, onChange, pollIntervalMs, decision.reason), ...(decision.reasonKey ? { reasonKey: decision.reasonKey } : {}), ...(decision.reasonParams ? { reasonParams: decision.reasonParams } : {}) };
}

function hotplugInfo(device: LibusbDevice): Partial<UsbInfo> {
  const info: Partial<UsbInfo> = { busNumber: device.busNumber, deviceAddress: device.deviceAddress };
  if (device.portNumbers !== undefined) info.portPath = [...device.portNumbers];
  // On detach libusb may hand over a device whose descriptor is already gone.
  const descriptor = device.deviceDescriptor as LibusbDevice['deviceDescriptor'] | undefined;
  if (descriptor !== undefined) {
    info.vendorId = descriptor.idVendor;
    info.productId = descriptor.idProduct;
    info.deviceClass = descriptor.bDeviceClass;
  }
  return info;
}

function watchEvents(usbModule: UsbModule, onChange: (event: UsbHotplugEvent) => void): UsbHotplugWatch {
  const { usb } = usbModule;
  const onAttach = (device: LibusbDevice): void => onChange({ type: 'attach', info: hotplugInfo(device) });
  const onDetach = (device: LibusbDevice): void => onChange({ type: 'detach', info: hotplugInfo(device) });
  usb.on('attach', onAttach);
  usb.on('detach', onDetach);
  // libusb's hotplug thread would otherwise hold the event loop open forever.
  usb.unrefHotplugEvents();
  return {
    mode: 'events',
    stop() {
      // usb@2 disables libusb hotplug when the last attach/detach listener goes.
      usb.off('attach', onAttach);
      usb.off('detach', onDetach);
    },
  };
}

/**
 * usb@2 has its own polling (`usb.pollHotplug`), but its timer is not unref'd and keeps the
 * agent alive after stop(); this one is, and it keys devices by bus and address so a device
 * replugged into the same port still shows as detach + attach.
 */
function watchByPolling(usbModule: UsbModule, onChange: (event: UsbHotplugEvent) => void, pollIntervalMs: number, reason: string | undefined): UsbHotplugWatch {
  const snapshot = (): Map<string, LibusbDevice> =>
    new Map(usbModule.getDeviceList().map((device) => [`${device.busNumber}:${device.deviceAddress}`, device]));
  let known = snapshot();
  const timer = setInterval(() => {
    const current = snapshot();
    for (const [key, device] of current) if (!known.has(key)) onChange({ type: 'attach', info: hotplugInfo(device) });
    for (const [key, device] of known) if (!current.has(key)) onChange({ type: 'detach', info: hotplugInfo(device) });
    known = current;
  }, pollIntervalMs);
  timer.unref();
  const watch: UsbHotplugWatch = { mode: 'polling', stop: () => clearInterval(timer) };
  if (reason !== undefined) watch.reason = reason;
  return watch;
}
