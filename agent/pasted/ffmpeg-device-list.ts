/**
 * `ffmpeg -list_devices true -f dshow -i dummy` (Windows) and `ffmpeg -f avfoundation
 * -list_devices true -i ""` (macOS): the cameras and microphones a program can open, by name, which
 * support engineers ask for first. Both ffmpeg's older layout (a "DirectShow video devices" heading,
 * then names) and the newer one (each name followed by "(video)" or "(audio)") are read.
 */
import type { Device, DeviceKind } from '../../protocol/index.js';

export type FfmpegBackend = 'dshow' | 'avfoundation';

export interface FfmpegDevice {
  backend: FfmpegBackend;
  media: 'video' | 'audio';
  name: string;
  /** DirectShow's alternative name: for a USB device the PnP path with its vendor and product ids. */
  alternativeName?: string;
}

const LINE = /^\s*\[(dshow|AVFoundation (?:indev|input device)) @ [0-9a-fx]+\]\s?(.*)$/i;

export function looksLikeFfmpegDeviceList(text: string): boolean {
  return /^\s*\[(dshow|AVFoundation (?:indev|input device)) @ [0-9a-fx]+\]/im.test(text);
}

export function readFfmpegDeviceList(text: string): FfmpegDevice[] {
  const devices: FfmpegDevice[] = [];
  let heading: 'video' | 'audio' | undefined;
  // The device an "Alternative name" line belongs to; none after a device that was left out.
  let owner: FfmpegDevice | undefined;
  for (const raw of text.split(/\r?\n/)) {
    const match = LINE.exec(raw);
    if (!match) continue;
    const backend: FfmpegBackend = match[1]?.toLowerCase() === 'dshow' ? 'dshow' : 'avfoundation';
    const body = (match[2] ?? '').trim();
    const section = /(DirectShow|AVFoundation) (video|audio) devices/i.exec(body);
    if (section?.[2]) {
      heading = section[2].toLowerCase() as 'video' | 'audio';
      continue;
    }
    const alternative = /^Alternative name "(.*)"$/.exec(body);
    if (alternative?.[1] !== undefined) {
      if (owner?.backend === 'dshow') owner.alternativeName = alternative[1].slice(0, 512);
      owner = undefined;
      continue;
    }
    // dshow: "Name" (video) | "Name" (audio) | "Name" under a heading; avfoundation: [0] Name under a heading.
    const dshow = /^"(.+)"(?:\s+\((video|audio|none)\))?/.exec(body);
    const indexed = /^\[(\d+)\]\s+(.+)$/.exec(body);
    const name = (dshow?.[1] ?? indexed?.[2])?.trim();
    const media = (dshow?.[2] as 'video' | 'audio' | 'none' | undefined) ?? heading;
    owner = undefined;
    // A DirectShow filter with no pins ("none"), and AVFoundation's screens, are not cameras or microphones.
    if (!name || !media || media === 'none' || (backend === 'avfoundation' && /^Capture screen \d+$/i.test(name))) continue;
    owner = { backend, media, name: name.slice(0, 256) };
    devices.push(owner);
  }
  return devices;
}

/** USB ids from a DirectShow alternative name: @device_pnp_\\?\usb#vid_046d&pid_082d&mi_00#... */
function usbIdsOf(alternativeName: string | undefined): string | undefined {
  const match = /vid_([0-9a-f]{4})&pid_([0-9a-f]{4})/i.exec(alternativeName ?? '');
  return match?.[1] && match[2] ? `${match[1].toLowerCase()}:${match[2].toLowerCase()}` : undefined;
}

function kindOf(device: FfmpegDevice): DeviceKind {
  const name = device.name.toLowerCase();
  if (device.media === 'video') return /capture|hdmi|采集/.test(name) ? 'capture-card' : 'camera';
  if (/speakerphone|jabra speak|全向麦|会议/.test(name)) return 'speakerphone';
  if (/headset|耳机|耳麦/.test(name)) return 'headset';
  return 'microphone';
}

/** The listed devices as inventory devices: names only, so their state is not known beyond "a program can open it". */
export function ffmpegDevices(list: readonly FfmpegDevice[]): Device[] {
  return list.map((device, index) => {
    const ids = usbIdsOf(device.alternativeName);
    const path = device.alternativeName ?? `${device.backend}:${device.media}:${device.name}`;
    return {
      id: `${device.backend}:${device.media}:${ids ?? index}:${device.name}`.slice(0, 256),
      kind: kindOf(device),
      name: device.name,
      connection: { type: 'os', path: path.slice(0, 512) },
      status: 'ok',
    };
  });
}
