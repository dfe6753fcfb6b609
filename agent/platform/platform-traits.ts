/**
 * What the probes and actions may count on from the system they run on: plain facts, chosen once
 * at start, so no probe tests `process.platform` itself.
 */
export interface PlatformTraits {
  /** Linux's sysfs: /sys/bus/usb lists devices, interfaces and their strings, readable by anyone. */
  sysfs: boolean;
  /** How the control socket names its client: SO_PEERCRED (Linux), getpeereid (macOS), or a proof file on a named pipe (Windows). */
  peerCredentials: 'so_peercred' | 'getpeereid' | 'proof-file';
  /** Why libusb cannot reset a classroom device here; undefined where it can (Linux). */
  noUsbReset?: string;
  /** How ffmpeg reads the room's camera and microphone (a session's snapshot and clip); null where the service may not. */
  captureDevices: 'v4l2-alsa' | 'dshow' | null;
  /** Why not, where captureDevices is null. */
  noCapture?: string;
  /**
   * Why the A/V sync room chain cannot run here (it flashes the desktop's display and captures the
   * room); undefined on Linux.
   */
  noRoomChain?: string;
}

const LINUX: PlatformTraits = { sysfs: true, peerCredentials: 'so_peercred', captureDevices: 'v4l2-alsa' };
const WINDOWS: PlatformTraits = {
  sysfs: false,
  peerCredentials: 'proof-file',
  // libusb opens only devices bound to WinUSB; cameras and microphones have Windows' own drivers.
  noUsbReset: 'no USB reset on Windows: the device belongs to its Windows driver (libusb reaches only WinUSB devices); unplug it and plug it in again, or disable and enable it in Device Manager',
  captureDevices: 'dshow',
  noRoomChain: "the A/V sync room chain flashes the desktop's display, which a Windows service cannot reach (it runs outside the teachers' sessions); on Windows the A/V sync test runs through the pipeline, without the room",
};
const MACOS: PlatformTraits = {
  sysfs: false,
  peerCredentials: 'getpeereid',
  noUsbReset: "no USB reset on macOS: the system's own drivers hold cameras and microphones and refuse libusb a reset; unplug the device and plug it in again",
  captureDevices: null,
  // Camera and microphone permissions can be denied to a daemon by a school's MDM, never granted.
  noCapture: "macOS does not let a background service use the camera or the microphone (their permission cannot be granted to a daemon); ask the teacher to check them in Photo Booth or a meeting program",
  noRoomChain: "the A/V sync room chain needs the room's camera and microphone, which macOS does not let a background service use; on macOS the A/V sync test runs through the pipeline, without the room",
};

export function traitsFor(platform: NodeJS.Platform): PlatformTraits {
  if (platform === 'win32') return WINDOWS;
  if (platform === 'darwin') return MACOS;
  return LINUX;
}

/** This PC's. */
export const PLATFORM_TRAITS: PlatformTraits = traitsFor(process.platform);
