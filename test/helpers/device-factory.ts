import type { Device, PjlinkInfo, SourceStatus, SystemSnapshot, UsbInfo } from '../../protocol/index.js';

/** Builders for protocol objects in unit tests: only what a test names differs from a healthy default. */
export function usbDevice(overrides: Omit<Partial<Device>, 'usb'> & { usb?: Partial<UsbInfo> } = {}): Device {
  const usb: UsbInfo = {
    vendorId: 0x046d,
    productId: 0x0843,
    deviceClass: 0xef,
    deviceSubClass: 2,
    deviceProtocol: 1,
    interfaces: [
      { number: 0, alternate: 0, class: 0x0e, subClass: 1, protocol: 0 },
      { number: 1, alternate: 0, class: 0x0e, subClass: 2, protocol: 0 },
      { number: 2, alternate: 0, class: 0x01, subClass: 1, protocol: 0 },
      { number: 3, alternate: 0, class: 0x01, subClass: 2, protocol: 0 },
    ],
    busNumber: 1,
    deviceAddress: 4,
    portPath: [1, 4],
    ...overrides.usb,
  };
  const { usb: _ignored, ...rest } = overrides;
  return {
    id: `usb:${usb.vendorId.toString(16).padStart(4, '0')}:${usb.productId.toString(16).padStart(4, '0')}:1-1.4`,
    kind: 'camera',
    name: 'Logitech Webcam C930e',
    connection: { type: 'usb', bus: usb.busNumber, portPath: `${usb.busNumber}-${usb.portPath.join('.')}` },
    status: 'ok',
    ...rest,
    usb,
  };
}

export function pjlinkInfo(overrides: Partial<PjlinkInfo> = {}): PjlinkInfo {
  return {
    pjlinkClass: '1',
    power: 'on',
    errors: { fan: 'ok', lamp: 'ok', temperature: 'ok', cover: 'ok', filter: 'ok', other: 'ok' },
    lamps: [{ hours: 1200, on: true }],
    authenticated: false,
    ...overrides,
  };
}

export function projector(overrides: Partial<Device> = {}, host = '10.0.0.5'): Device {
  return {
    id: `pjlink:${host}:4352`,
    kind: 'projector',
    name: 'Room 101 projector',
    connection: { type: 'network', host, port: 4352, protocol: 'pjlink' },
    status: 'ok',
    pjlink: pjlinkInfo(),
    ...overrides,
  };
}

export function viscaCamera(overrides: Partial<Device> = {}): Device {
  return {
    id: 'serial:/dev/ttyUSB0',
    kind: 'camera',
    name: 'VISCA camera on /dev/ttyUSB0',
    connection: { type: 'serial', path: '/dev/ttyUSB0', protocol: 'visca', baudRate: 9600 },
    status: 'ok',
    visca: { address: 1, power: 'on' },
    ...overrides,
  };
}

export function systemSnapshot(overrides: Partial<SystemSnapshot> = {}): SystemSnapshot {
  return {
    os: { platform: 'linux', distro: 'Debian GNU/Linux', release: '12', arch: 'x64', hostname: 'room101' },
    cpu: { cores: 4, loadPercent: 12 },
    memory: { totalBytes: 8e9, availableBytes: 4e9 },
    disks: [{ mount: '/', fsType: 'ext4', sizeBytes: 100e9, usedBytes: 40e9, usePercent: 40 }],
    cpuTemperatureC: null,
    network: [],
    uptimeSeconds: 1000,
    agentVersion: '0.1.0',
    ...overrides,
  };
}

export function okSources(...sources: SourceStatus['source'][]): SourceStatus[] {
  return sources.map((source) => ({ source, state: 'ok', durationMs: 1 }));
}
