/**
 * What macOS's reports mean for the room: a USB camera or microphone gets the camera and audio
 * device macOS made of it (as a Linux one gets its video node and sound card, so the same faults
 * follow when macOS made none), and the built-in and Bluetooth ones are devices of their own.
 */
import type { AudioCard, Device, DeviceKind, MediaInfo, UsbInfo, VideoNode } from '../../../protocol/index.js';
import { audioKindFromDirections, usbPortName } from '../../probes/usb-classify.js';
import { locationPorts, type MacAudioDevice, type MacCamera, type SystemProfilerReport } from './system-profiler.js';

export interface MacMedia {
  /** Cameras and audio devices that are not on USB: the Mac's own, Bluetooth, a display's. */
  devices: Device[];
  /** USB ones, named by the port of the USB device they belong to. */
  media: MediaInfo;
}

/** Software devices (meeting apps' virtual drivers, aggregates, AirPlay) are not the room's hardware. */
const SOFTWARE_TRANSPORTS: ReadonlySet<MacAudioDevice['transport']> = new Set(['virtual', 'aggregate', 'airplay']);

const portOf = (info: UsbInfo): string | undefined => (info.portPath.length > 0 ? usbPortName(info) : undefined);

/** A camera's USB device: by the location in its unique id, else the only USB device with its ids. */
function usbOfCamera(camera: MacCamera, usb: readonly UsbInfo[]): UsbInfo | undefined {
  if (camera.locationId !== undefined) {
    const { busNumber, portPath } = locationPorts(camera.locationId);
    const atLocation = usb.find((info) => info.busNumber === busNumber && info.portPath.join('.') === portPath.join('.'));
    if (atLocation) return atLocation;
  }
  const sameIds = usb.filter((info) => info.vendorId === camera.vendorId && info.productId === camera.productId);
  return sameIds.length === 1 ? sameIds[0] : undefined;
}

/** Core Audio names a USB device by its product string, sometimes shortened or lengthened: the one USB device whose name matches. */
function usbOfAudio(device: MacAudioDevice, usb: readonly UsbInfo[]): UsbInfo | undefined {
  const name = device.name.toLowerCase();
  const matches = usb.filter((info) => {
    const product = info.product?.toLowerCase();
    return product !== undefined && product.length > 2 && (product === name || product.includes(name) || name.includes(product));
  });
  return matches.length === 1 ? matches[0] : undefined;
}

function audioKind(device: MacAudioDevice): DeviceKind {
  const name = device.name.toLowerCase();
  if (/speakerphone|jabra speak|全向麦|会议/.test(name)) return 'speakerphone';
  return audioKindFromDirections(device.inputChannels > 0, device.outputChannels > 0);
}

export function macMedia(report: SystemProfilerReport): MacMedia {
  const devices: Device[] = [];
  const videoNodes: VideoNode[] = [];
  const audioCards: AudioCard[] = [];
  for (const camera of report.cameras) {
    const usb = usbOfCamera(camera, report.usb);
    const port = usb ? portOf(usb) : undefined;
    if (port !== undefined) {
      videoNodes.push({ path: camera.uniqueId, name: camera.name, capabilities: ['video-capture'], canCapture: true, usbPort: port });
      continue;
    }
    devices.push({ id: `avfoundation:${camera.uniqueId}`.slice(0, 256), kind: 'camera', name: camera.name, connection: { type: 'os', path: camera.uniqueId }, status: 'ok' });
  }
  report.audio.forEach((device, index) => {
    if (SOFTWARE_TRANSPORTS.has(device.transport)) return;
    const usb = device.transport === 'usb' ? usbOfAudio(device, report.usb) : undefined;
    const port = usb ? portOf(usb) : undefined;
    if (port !== undefined) {
      audioCards.push({ index, id: device.name.slice(0, 64), name: device.name, capture: device.inputChannels > 0, playback: device.outputChannels > 0, usbPort: port });
      return;
    }
    const found: Device = { id: `coreaudio:${device.transport}:${device.name}`.slice(0, 256), kind: audioKind(device), name: device.name, connection: { type: 'os', path: `${device.transport}:${device.name}`.slice(0, 512) }, status: 'ok' };
    if (device.manufacturer) found.make = device.manufacturer;
    devices.push(found);
  });
  return { devices, media: { videoNodes, audioCards } };
}
