import { existsSync } from 'node:fs';
import type { Device as LibusbDevice } from 'usb';
import { silentLogger, type Logger } from '../../protocol/log.js';
import { DEFAULT_SYS_BUS_USB } from '../probes/usb-probe.js';
import type { UsbResetTarget } from './remediation-plan.js';
import { PLATFORM_TRAITS, type PlatformTraits } from '../platform/platform-traits.js';

export interface UsbResetOutcome {
  /** true when the device went through a reset (and so needs time to come back before it is probed). */
  reset: boolean;
  /** What happened, for the fault's evidence: never an exception. */
  result: string;
}

/**
 * Resets one USB device, like unplugging and replugging it. Behind an interface because the
 * real one needs a USB bus and permission to open the device; tests use MockUsbResetter.
 */
export interface UsbResetter {
  /** Never rejects: a missing bus, a missing permission or a vanished device is an outcome. */
  reset(target: UsbResetTarget, signal: AbortSignal): Promise<UsbResetOutcome>;
}

/** libusb error names say little to a person; these are the ones a reset meets in a classroom. */
const LIBUSB_HINTS: Readonly<Record<string, string>> = {
  LIBUSB_ERROR_ACCESS: 'no permission to open the device (the agent needs root or a udev rule)',
  LIBUSB_ERROR_BUSY: 'another program holds the device',
  LIBUSB_ERROR_NO_DEVICE: 'the device was unplugged',
  LIBUSB_ERROR_NOT_SUPPORTED: 'this platform cannot reset USB devices',
};

/**
 * Resets through libusb (`usb` 2.x): find the device by bus and address, check it is still the
 * same vendor and product, open it and call libusb_reset_device.
 */
export class LibusbResetter implements UsbResetter {
  private readonly sysBusUsb: string;
  private readonly log: Logger;

  private readonly traits: PlatformTraits;

  constructor(options: { sysBusUsb?: string; log?: Logger; traits?: PlatformTraits } = {}) {
    this.sysBusUsb = options.sysBusUsb ?? DEFAULT_SYS_BUS_USB;
    this.traits = options.traits ?? PLATFORM_TRAITS;
    this.log = options.log ?? silentLogger;
  }

  async reset(target: UsbResetTarget, signal: AbortSignal): Promise<UsbResetOutcome> {
    const where = `bus ${target.busNumber} address ${target.deviceAddress} (port ${target.port})`;
    if (this.traits.noUsbReset) return { reset: false, result: this.traits.noUsbReset };
    if (this.traits.sysfs && !existsSync(this.sysBusUsb)) {
      return { reset: false, result: `no USB reset: this PC exposes no USB bus (${this.sysBusUsb} is absent)` };
    }
    if (signal.aborted) return { reset: false, result: 'no USB reset: no time left' };
    let device: LibusbDevice | undefined;
    try {
      // Loaded here, as in the USB probe: a broken native binding must not stop the agent.
      const { getDeviceList } = await import('usb');
      device = getDeviceList().find(
        (candidate) =>
          candidate.busNumber === target.busNumber &&
          candidate.deviceAddress === target.deviceAddress &&
          candidate.deviceDescriptor.idVendor === target.vendorId &&
          candidate.deviceDescriptor.idProduct === target.productId,
      );
    } catch (error) {
      return { reset: false, result: `no USB reset: libusb is not usable here (${reasonOf(error)})` };
    }
    if (device === undefined) return { reset: false, result: `no USB reset: the device is no longer at ${where}` };
    try {
      device.open(false);
    } catch (error) {
      return { reset: false, result: `could not open the device at ${where} to reset it: ${reasonOf(error)}` };
    }
    try {
      await untilAborted(resetDevice(device), signal);
      return { reset: true, result: `reset the device at ${where} through libusb` };
    } catch (error) {
      // libusb answers NOT_FOUND when the reset made the device enumerate afresh: that is the replug we wanted.
      if (libusbName(error) === 'LIBUSB_ERROR_NOT_FOUND') return { reset: true, result: `reset the device at ${where} through libusb; it enumerated afresh` };
      if (signal.aborted) return { reset: false, result: `the USB reset of the device at ${where} did not finish in time` };
      return { reset: false, result: `libusb could not reset the device at ${where}: ${reasonOf(error)}` };
    } finally {
      try {
        device.close();
      } catch (error) {
        // After a reset that re-enumerated the device the handle is stale; closing it may fail.
        this.log.debug({ err: error, where }, 'closing the USB device after its reset failed');
      }
    }
  }
}

function resetDevice(device: LibusbDevice): Promise<void> {
  return new Promise((resolve, reject) => device.reset((error) => (error ? reject(error) : resolve())));
}

/** libusb cannot cancel a reset; the caller stops waiting for it instead. */
function untilAborted(work: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function libusbName(error: unknown): string | undefined {
  return error instanceof Error ? /LIBUSB_ERROR_[A-Z_]+/.exec(error.message)?.[0] : undefined;
}

function reasonOf(error: unknown): string {
  const name = libusbName(error);
  const hint = name === undefined ? undefined : LIBUSB_HINTS[name];
  if (name !== undefined && hint !== undefined) return `${name}: ${hint}`;
  return error instanceof Error ? error.message : String(error);
}

/** For tests: records each reset and answers with a chosen outcome; `onReset` plays the device's side. */
export class MockUsbResetter implements UsbResetter {
  readonly calls: UsbResetTarget[] = [];
  outcome: UsbResetOutcome = { reset: true, result: 'reset the device through libusb' };
  onReset: ((target: UsbResetTarget) => void) | undefined;

  reset(target: UsbResetTarget): Promise<UsbResetOutcome> {
    this.calls.push(target);
    this.onReset?.(target);
    return Promise.resolve(this.outcome);
  }
}
