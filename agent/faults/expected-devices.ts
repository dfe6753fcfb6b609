import type { Device, DeviceKind, ProbeSource } from '../../protocol/index.js';
import type { ExpectedDevice } from '../config.js';

/** A device the room should have: from the configuration, or learned because it was here before. */
export interface Expectation {
  kind: DeviceKind;
  label: string;
  source: ProbeSource;
  vendorId?: number;
  productId?: number;
  serialNumber?: string;
  origin: 'config' | 'learned';
  lastSeenAt?: string;
  /** How many such devices the room should have (a cart of 30 headsets); 1 when absent. */
  count?: number;
}

const NETWORK_KINDS: ReadonlySet<DeviceKind> = new Set(['projector', 'display']);

export function expectationFromConfig(entry: ExpectedDevice): Expectation {
  const connection = entry.connection ?? (NETWORK_KINDS.has(entry.kind) ? 'network' : entry.kind === 'vr-headset' ? 'adb' : 'usb');
  const expectation: Expectation = {
    kind: entry.kind,
    label: entry.label ?? describeExpected(entry),
    source: connection === 'network' ? (entry.kind === 'camera' ? 'visca-ip' : 'pjlink') : connection,
    origin: 'config',
  };
  if (entry.count > 1) expectation.count = entry.count;
  if (entry.vendorId !== undefined) expectation.vendorId = entry.vendorId;
  if (entry.productId !== undefined) expectation.productId = entry.productId;
  if (entry.serialNumber !== undefined) expectation.serialNumber = entry.serialNumber;
  return expectation;
}

function describeExpected(entry: ExpectedDevice): string {
  const ids = entry.vendorId !== undefined ? ` ${hex4(entry.vendorId)}:${entry.productId !== undefined ? hex4(entry.productId) : '*'}` : '';
  return `${entry.kind}${ids}`;
}

export function hex4(value: number): string {
  return value.toString(16).padStart(4, '0');
}

export function sourceOfDevice(device: Device): ProbeSource {
  // A standalone headset is known by what ADB read, whether it sits on USB or on Wi-Fi.
  if (device.vr) return 'adb';
  switch (device.connection.type) {
    case 'usb':
      return 'usb';
    case 'serial':
      return 'serial';
    case 'network':
      return device.connection.protocol === 'visca' ? 'visca-ip' : device.connection.protocol === 'adb' ? 'adb' : 'pjlink';
    case 'os':
      return 'media';
  }
}

function matches(expectation: Expectation, device: Device): boolean {
  if (device.kind !== expectation.kind || sourceOfDevice(device) !== expectation.source) return false;
  if (expectation.vendorId !== undefined && device.usb?.vendorId !== expectation.vendorId) return false;
  if (expectation.productId !== undefined && device.usb?.productId !== expectation.productId) return false;
  if (expectation.serialNumber !== undefined && (device.serialNumber ?? device.usb?.serialNumber) !== expectation.serialNumber) return false;
  return true;
}

/**
 * Pairs expectations with present devices, each device satisfying at most one expectation, so
 * "two cameras expected" with one plugged in reports one missing. Most specific expectations
 * pick first so a generic "a camera" does not take the device a specific one names.
 */
export function findMissing(expectations: readonly Expectation[], devices: readonly Device[]): Expectation[] {
  const available = [...devices];
  // An expectation of N devices is N expectations; the missing ones come back as the same object, counted by the caller.
  const each = expectations.flatMap((expectation) => Array.from({ length: expectation.count ?? 1 }, () => expectation));
  const bySpecificity = each.sort((a, b) => specificity(b) - specificity(a));
  const missing: Expectation[] = [];
  for (const expectation of bySpecificity) {
    const index = available.findIndex((device) => matches(expectation, device));
    if (index === -1) missing.push(expectation);
    else available.splice(index, 1);
  }
  return missing;
}

function specificity(expectation: Expectation): number {
  return (expectation.vendorId !== undefined ? 1 : 0) + (expectation.productId !== undefined ? 1 : 0) + (expectation.serialNumber !== undefined ? 2 : 0);
}

/** A stable name for one expectation, used as the missing fault's device id. */
export function expectationId(expectation: Expectation): string {
  const parts = [`expected:${expectation.source}:${expectation.kind}`];
  if (expectation.vendorId !== undefined) parts.push(hex4(expectation.vendorId));
  if (expectation.productId !== undefined) parts.push(hex4(expectation.productId));
  if (expectation.serialNumber !== undefined) parts.push(expectation.serialNumber);
  return parts.join(':');
}
