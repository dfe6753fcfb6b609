import type { AudioCard, Device, MediaInfo, VideoNode } from '../../protocol/index.js';

/**
 * A USB interface's sysfs name: "<bus>-<port chain>:<configuration>.<interface>", e.g. "1-1.4:1.0".
 * Video nodes and sound cards hang below an interface, never below the device itself.
 */
const USB_INTERFACE_NAME = /^(\d+-\d+(?:\.\d+)*):\d+\.\d+$/;
/** A USB device's sysfs name, "1-1.4"; root hubs ("usb1") own no media nodes. */
const USB_DEVICE_NAME = /^\d+-\d+(?:\.\d+)*$/;

/**
 * The sysfs name of the USB device ("1-1.4") that owns a sysfs device path such as
 * ".../usb1/1-1/1-1.4/1-1.4:1.0"; undefined for PCI, platform and virtual devices.
 * This is the key both sides of the match share: the USB probe names a device the same way.
 */
export function usbPortFromSysfsPath(sysfsPath: string): string | undefined {
  const components = sysfsPath.split('/');
  for (let i = components.length - 1; i >= 0; i -= 1) {
    const match = USB_INTERFACE_NAME.exec(components[i] ?? '');
    if (match?.[1] !== undefined) return match[1];
  }
  return undefined;
}

/**
 * Gives every USB device the video nodes and sound cards the OS created for it. A USB device
 * with empty lists is one the OS shows no node for: for a camera that is the fault to report
 * (the driver did not bind), so the empty lists are set rather than left out. A device whose port
 * chain is unknown (named "1-addr5" when read from `lsusb -v`) is left without `media`: its nodes
 * cannot be told apart, and empty lists would claim a fault that was never observed.
 */
export function attachMediaToUsb(devices: readonly Device[], media: MediaInfo): Device[] {
  return devices.map((device) => {
    const port = usbPortOf(device);
    if (port === undefined) return device;
    return {
      ...device,
      media: {
        videoNodes: media.videoNodes.filter((node) => node.usbPort === port).map((node) => ({ ...node, capabilities: [...node.capabilities] })),
        audioCards: media.audioCards.filter((card) => card.usbPort === port).map((card) => ({ ...card })),
      },
    };
  });
}

/**
 * The nodes and cards no USB device claimed: built-in webcams on PCI or platform buses, HDMI and
 * on-board audio, and USB nodes whose device the USB probe did not list. Kept so they are reported
 * rather than lost.
 */
export function unmatchedMedia(devices: readonly Device[], media: MediaInfo): MediaInfo {
  const claimedPorts = new Set(devices.map(usbPortOf).filter((port): port is string => port !== undefined));
  const unclaimed = (item: VideoNode | AudioCard): boolean => item.usbPort === undefined || !claimedPorts.has(item.usbPort);
  return {
    videoNodes: media.videoNodes.filter(unclaimed),
    audioCards: media.audioCards.filter(unclaimed),
  };
}

/** The sysfs name of a USB device ("1-1.4"), when its port chain is known. */
export function usbPortOf(device: Device): string | undefined {
  if (device.connection.type !== 'usb' || !USB_DEVICE_NAME.test(device.connection.portPath)) return undefined;
  return device.connection.portPath;
}
