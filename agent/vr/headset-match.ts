import type { Device } from '../../protocol/index.js';

/**
 * A headset on the cart's USB is seen twice: by the USB probe (ids, port) and over ADB (everything
 * else). They are one device: the ADB reading keeps its id (`adb:SERIAL`, the same over USB and
 * Wi-Fi, so faults and expectations follow the headset) and takes the USB port, so hotplug events
 * on that port are the headset's. Paired by the serial number, which Android gives USB and ADB alike.
 */
export function attachHeadsetsToUsb(devices: readonly Device[]): Device[] {
  const headsets = devices.filter((device) => device.vr && device.serialNumber);
  if (headsets.length === 0) return [...devices];
  const absorbed = new Set<Device>();
  const merged = new Map<Device, Device>();
  for (const headset of headsets) {
    const usb = devices.find((device) => device.usb && !device.vr && !absorbed.has(device) && (device.usb.serialNumber ?? device.serialNumber) === headset.serialNumber);
    if (!usb?.usb) continue;
    absorbed.add(usb);
    merged.set(headset, { ...headset, connection: usb.connection, usb: usb.usb, ...(headset.make || !usb.make ? {} : { make: usb.make }) });
  }
  return devices.filter((device) => !absorbed.has(device)).map((device) => merged.get(device) ?? device);
}
