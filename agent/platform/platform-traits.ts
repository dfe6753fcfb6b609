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
  /**
   * Why the room's own camera and microphone cannot be captured here (the A/V sync room chain, the
   * session's snapshot and clip read v4l2 and ALSA and flash an X display); undefined on Linux.
   */
  noRoomCapture?: string;
}

const LINUX: PlatformTraits = { sysfs: true, peerCredentials: 'so_peercred' };
const WINDOWS: PlatformTraits = {
  sysfs: false,
  peerCredentials: 'proof-file',
  // libusb opens only devices bound to WinUSB; cameras and microphones have Windows' own drivers.
  noUsbReset: 'no USB reset on Windows: the device belongs to its Windows driver (libusb reaches only WinUSB devices); unplug it and plug it in again, or disable and enable it in Device Manager',
  noRoomCapture: "the room's camera and microphone are captured on Linux only for now (v4l2, ALSA, an X display); on Windows the A/V sync test runs through the pipeline, without the room",
};
const MACOS: PlatformTraits = {
  sysfs: false,
  peerCredentials: 'getpeereid',
  noUsbReset: "no USB reset on macOS: the system's own drivers hold cameras and microphones and refuse libusb a reset; unplug the device and plug it in again",
  noRoomCapture: "the room's camera and microphone are captured on Linux only for now (v4l2, ALSA, an X display); on macOS the A/V sync test runs through the pipeline, without the room",
};

export function traitsFor(platform: NodeJS.Platform): PlatformTraits {
  if (platform === 'win32') return WINDOWS;
  if (platform === 'darwin') return MACOS;
  return LINUX;
}

/** This PC's. */
export const PLATFORM_TRAITS: PlatformTraits = traitsFor(process.platform);
